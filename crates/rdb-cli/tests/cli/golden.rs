//! Every dump in `testdata/corpus` converted with `--with-meta` and compared with its reviewed
//! output in `testdata/golden` (`.ndjson`, or `.err` holding the error for dumps that must be
//! rejected). `UPDATE_GOLDEN=1 cargo test -p rdb-cli --test cli golden::` rewrites them: review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

#[test]
fn corpus_matches_golden_outputs() {
    let corpus = testdata().join("corpus");
    let golden = testdata().join("golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs.into_iter().filter(|d| d.is_dir()) {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            if !matches!(
                file.extension().and_then(|e| e.to_str()),
                Some("rdb" | "aof")
            ) {
                continue;
            }
            let rel = file.strip_prefix(&corpus).unwrap().to_path_buf();
            let out = Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
                .arg(&file)
                .arg("--with-meta")
                .output()
                .unwrap();
            let (ext, actual) = if out.status.success() {
                ("ndjson", out.stdout)
            } else {
                // The error line names the file by its path; keep only the message after it.
                let err = String::from_utf8_lossy(&out.stderr).into_owned();
                let msg = err
                    .rsplit_once(".rdb: ")
                    .map(|(_, m)| m.to_string())
                    .unwrap_or(err);
                ("err", msg.into_bytes())
            };
            let target = golden.join(&rel).with_extension(ext);
            let other =
                golden
                    .join(&rel)
                    .with_extension(if ext == "err" { "ndjson" } else { "err" });
            if update {
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::write(&target, &actual).unwrap();
                let _ = std::fs::remove_file(&other);
            } else {
                match std::fs::read(&target) {
                    Ok(expected) if expected == actual => {}
                    Ok(_) => failures.push(format!(
                        "{}: output differs from {}",
                        rel.display(),
                        target.display()
                    )),
                    Err(_) => failures.push(format!(
                        "{}: no golden {} ({})",
                        rel.display(),
                        target.display(),
                        if ext == "err" {
                            String::from_utf8_lossy(&actual).into_owned()
                        } else {
                            "decoded".into()
                        }
                    )),
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked} corpus files found");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
