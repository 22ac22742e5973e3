//! `seed --user`, `--password-file` (a file or `-` for stdin) and `REDISCLI_AUTH` against a
//! real server with `requirepass` and an ACL user; the password never appears in the output.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::server::{Kind, Server};

const DEFAULT_PASSWORD: &str = "default p@ss:w/rd";
const ALICE_PASSWORD: &str = "alice-s3cret";

fn seed(dump: &str, target: &str, args: &[&str], env: Option<&str>, stdin: &str) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rdb-convert"));
    cmd.args(["seed", dump, "--target", target, "--quiet", "--replace"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("REDISCLI_AUTH");
    if let Some(p) = env {
        cmd.env("REDISCLI_AUTH", p);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in [DEFAULT_PASSWORD, ALICE_PASSWORD, "wrong-one"] {
        assert!(!text.contains(secret), "password shown: {text}");
    }
    (out.status.success(), text)
}

#[test]
fn user_password_file_and_rediscli_auth() {
    let src = Server::start(Kind::Redis70);
    let mut scon = src.conn();
    redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query::<()>(&mut scon)
        .unwrap();
    let dump = src.save(&mut scon);
    let dump = dump.to_str().unwrap();

    let dst = Server::start(Kind::Redis70);
    let mut con = dst.conn();
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg("alice")
        .arg("on")
        .arg(format!(">{ALICE_PASSWORD}"))
        .arg("~*")
        .arg("+@all")
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg(DEFAULT_PASSWORD)
        .query::<()>(&mut con)
        .unwrap();
    let target = format!("redis://127.0.0.1:{}", dst.port);
    let pw_file = dst.dir.join("pw");
    std::fs::write(&pw_file, format!("{ALICE_PASSWORD}\n")).unwrap();
    let pw_file = pw_file.to_str().unwrap();

    // No password: refused, with the server's answer.
    let (ok, text) = seed(dump, &target, &[], None, "");
    assert!(!ok, "{text}");
    // REDISCLI_AUTH: the default user.
    let (ok, text) = seed(dump, &target, &[], Some(DEFAULT_PASSWORD), "");
    assert!(ok && text.contains(": OK"), "{text}");
    // An ACL user with the password in a file.
    let (ok, text) = seed(
        dump,
        &target,
        &["--user", "alice", "--password-file", pw_file],
        None,
        "",
    );
    assert!(ok && text.contains(": OK"), "{text}");
    // ... or on stdin; the flag wins over REDISCLI_AUTH.
    let (ok, text) = seed(
        dump,
        &target,
        &["--user", "alice", "--password-file", "-"],
        Some("wrong-one"),
        &format!("{ALICE_PASSWORD}\n"),
    );
    assert!(ok && text.contains(": OK"), "{text}");
    // A wrong password fails without showing it.
    let (ok, text) = seed(dump, &target, &["--user", "alice"], Some("wrong-one"), "");
    assert!(!ok, "{text}");
    // The URL form keeps working.
    let url = format!("redis://alice:{ALICE_PASSWORD}@127.0.0.1:{}", dst.port);
    let (ok, text) = seed(dump, &url, &[], None, "");
    assert!(ok && text.contains(": OK"), "{text}");
    // An empty password file is a clear error.
    let empty = dst.dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    let (ok, text) = seed(
        dump,
        &target,
        &["--password-file", empty.to_str().unwrap()],
        None,
        "",
    );
    assert!(!ok && text.contains("empty"), "{text}");
}
