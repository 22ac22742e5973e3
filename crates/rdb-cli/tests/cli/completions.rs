//! `rdb-convert completions SHELL` and `rdb-convert man`.

use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("completions-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn bash_completion_sources_cleanly_and_knows_the_subcommands() {
    let script = run(&["completions", "bash"]);
    let dir = scratch("bash");
    let file = dir.join("rdb-convert.bash");
    std::fs::write(&file, &script).unwrap();
    // Sourced in a clean bash, it registers a completion for rdb-convert; asking it to
    // complete `rdb-convert me` offers `memory`.
    let probe = format!(
        "set -e; source {}; complete -p rdb-convert; \
         COMP_WORDS=(rdb-convert me); COMP_CWORD=1; COMP_LINE='rdb-convert me'; COMP_POINT=14; \
         f=$(complete -p rdb-convert | sed -E 's/.*-F ([^ ]+).*/\\1/'); \
         \"$f\" rdb-convert me rdb-convert; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", &probe])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(stdout.lines().any(|l| l == "memory"), "{stdout}");
    for shell in ["zsh", "fish", "powershell"] {
        assert!(
            run(&["completions", shell]).contains("rdb-convert"),
            "{shell}"
        );
    }
}

#[test]
fn man_page_renders() {
    let page = run(&["man"]);
    assert!(page.starts_with(".ie") || page.contains(".TH"), "{page}");
    let dir = scratch("man");
    let file = dir.join("rdb-convert.1");
    run(&["man", "-o", file.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), page);
    if Command::new("man").arg("--version").output().is_ok() {
        let out = Command::new("man")
            .arg("-l")
            .arg(&file)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("rdb-convert"), "{text}");
        assert!(text.contains("memory"), "{text}");
    }
}

/// `CMD --help` shows the command's whole description (it showed only the list's one line),
/// `CMD -h` and the command list the one line.
#[test]
fn subcommand_help_shows_the_long_description() {
    let long = [
        ("split", "owns its hash slot"),
        ("check", "intsets must be sorted"),
        ("export-status", "failure cause"),
        ("info", "keys already expired"),
    ];
    for (cmd, text) in long {
        assert!(
            run(&[cmd, "--help"]).contains(text),
            "{cmd} --help lacks {text:?}"
        );
        assert!(!run(&[cmd, "-h"]).contains(text), "{cmd} -h has {text:?}");
    }
    let list = run(&["--help"]);
    assert!(
        list.contains("Split a dump into one RDB file per cluster shard\n"),
        "{list}"
    );
}

/// The S3 part of `--help` names the credentials `aws-config` resolves (it said SSO,
/// assume-role and credential_process profiles were not supported after they were).
#[test]
fn help_names_the_supported_aws_credentials() {
    let help = run(&["--help"]);
    for source in ["SSO", "assume-role", "credential_process", "web identity"] {
        assert!(help.contains(source), "--help lacks {source:?}");
    }
    assert!(!help.contains("not supported"), "{help}");
}
