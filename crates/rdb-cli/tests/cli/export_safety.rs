//! Parquet exports must never lose data nor report false success (issue #12): part names
//! unique per input, a manifest whose COMPLETE means every listed file is there with the
//! counted rows, an OS lock, staged parts invisible to readers until published, a killed
//! run recognised and cleaned by the next one, and only files an export wrote deleted.
//! Dumps are generated with rdb-format's writer; tables are read back with DuckDB.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rdb_format::write::{self, RdbWriter};
use rdb_format::{Flavor, Str, Version};
use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdb-convert")
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("safety-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A dump with `keys` string keys `<prefix>:<db>:<n>` in each of `dbs` databases.
fn write_dump(path: &Path, dbs: u64, keys: u64, prefix: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = BufWriter::new(std::fs::File::create(path).unwrap());
    let version = Version {
        flavor: Flavor::Redis,
        number: 11,
    };
    let mut w = RdbWriter::new(file, version).unwrap();
    for db in 0..dbs {
        w.select_db(db).unwrap();
        for n in 0..keys {
            let mut value = Vec::new();
            let t = write::string(Str::Bytes(b"value"), &mut value);
            let key = format!("{prefix}:{db}:{n}");
            w.record(key.as_bytes(), None, t, &value).unwrap();
        }
    }
    w.finish().unwrap();
}

fn export(inputs: &[&Path], out: &Path, extra: &[&str]) -> Output {
    Command::new(bin())
        .args(inputs)
        .args(["--format", "parquet", "--no-progress", "-o"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "rdb-convert failed: {stderr}");
    stderr
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("export_info.json")).unwrap()).unwrap()
}

/// Rows DuckDB sees through `glob` (0 when no file matches).
fn duckdb_count(glob: &str) -> u64 {
    let script = "import duckdb, sys\n\
         try:\n\
         \x20   q = f\"select count(*) from read_parquet('{sys.argv[1]}')\"\n\
         \x20   print(duckdb.connect().execute(q).fetchall()[0][0])\n\
         except duckdb.IOException:\n\
         \x20   print(0)\n";
    let out = Command::new("python3")
        .args(["-c", script, glob])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "DuckDB failed (scripts/test-deps.sh installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Every path under `dir`, relative, directories with a trailing `/`.
fn entries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            if p.is_dir() {
                out.push(format!("{rel}/"));
                stack.push(p);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// `host1/dump.rdb host2/dump.rdb` is the usual layout: both inputs' rows must be there,
/// and the manifest's counts must be what the files hold.
#[test]
fn same_file_name_in_two_directories_keeps_both() {
    let dir = scratch("samename");
    let (a, b) = (dir.join("host1/dump.rdb"), dir.join("host2/dump.rdb"));
    write_dump(&a, 1, 5, "a");
    write_dump(&b, 1, 3, "b");
    let out = dir.join("out");
    ok(export(&[&a, &b], &out, &[]));
    let m = manifest(&out);
    assert_eq!(m["status"], "COMPLETE");
    let glob = format!("{}/keys/**/*.parquet", out.display());
    assert_eq!(duckdb_count(&glob), 8, "both inputs' keys are exported");
    assert_eq!(m["rows"]["keys"], 8, "{m}");
    // Every listed file is there with its size.
    let files = m["files"].as_array().expect("the manifest lists its files");
    assert_eq!(files.len() as u64, m["output_files"].as_u64().unwrap());
    for f in files {
        let path = out.join(f["path"].as_str().unwrap());
        let len = std::fs::metadata(&path).unwrap().len();
        assert_eq!(len, f["bytes"].as_u64().unwrap(), "{}", path.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A failed export leaves no empty partition folders, and the next export deletes only
/// files an export wrote: the user's own files beside the tables survive, with or without
/// --overwrite.
#[test]
fn exports_delete_only_their_own_files() {
    let dir = scratch("ownfiles");
    let good = dir.join("good.rdb");
    write_dump(&good, 3, 4, "k");
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.join("cut.rdb");
    std::fs::write(&cut, &bytes[..bytes.len() - 20]).unwrap();
    let out = dir.join("out");

    let failed = export(&[&cut], &out, &["--chunk-bytes", "64"]);
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(manifest(&out)["status"], "FAILED");
    assert_eq!(
        entries(&out),
        ["export_info.json"],
        "a failed export leaves only its manifest"
    );

    // The user's files in folders named like tables.
    std::fs::create_dir_all(out.join("keys/db=0")).unwrap();
    std::fs::write(out.join("keys/notes.txt"), b"mine").unwrap();
    std::fs::write(out.join("keys/db=0/mine.parquet.bak"), b"mine").unwrap();
    ok(export(&[&good], &out, &[]));
    assert_eq!(manifest(&out)["status"], "COMPLETE");
    assert_eq!(std::fs::read(out.join("keys/notes.txt")).unwrap(), b"mine");
    assert!(out.join("keys/db=0/mine.parquet.bak").exists());

    ok(export(&[&good], &out, &["--overwrite", "--db", "1"]));
    let m = manifest(&out);
    assert_eq!(m["rows"]["keys"], 4, "{m}");
    assert_eq!(std::fs::read(out.join("keys/notes.txt")).unwrap(), b"mine");
    assert!(out.join("keys/db=0/mine.parquet.bak").exists());
    // The old export's partitions (db=2) are gone, with their folders.
    assert!(!out.join("keys/db=2").exists(), "{:?}", entries(&out));
    assert!(!out.join("strings/db=2").exists(), "{:?}", entries(&out));
    let glob = format!("{}/keys/**/*.parquet", out.display());
    assert_eq!(duckdb_count(&glob), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One key in each of 5,000 databases (10,000 part files): open files and memory stay
/// bounded (the export once kept a writer per database open: 20,000 databases reached
/// 895 MB and "Too many open files").
#[test]
fn many_databases_stay_bounded() {
    let dir = scratch("manydbs");
    let dump = dir.join("dbs.rdb");
    write_dump(&dump, 5_000, 1, "k");
    let out = dir.join("out");
    // At most 256 open files, and report the peak RSS (python's view of its child).
    let script = "import resource, subprocess, sys\n\
         resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))\n\
         r = subprocess.run(sys.argv[1:], stderr=subprocess.PIPE)\n\
         sys.stderr.write(r.stderr.decode())\n\
         print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
    let run = Command::new("python3")
        .args(["-c", script, bin()])
        .arg(&dump)
        .args(["--format", "parquet", "--no-progress", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let mut v = stdout.split_whitespace();
    let code: i32 = v.next().unwrap().parse().unwrap();
    let max_rss_kb: u64 = v.next().unwrap().parse().unwrap();
    assert_eq!(code, 0, "export failed: {stderr}");
    assert!(
        max_rss_kb < 300 * 1024,
        "peak RSS {max_rss_kb} KiB for a 5,000-database dump"
    );
    let m = manifest(&out);
    assert_eq!(m["status"], "COMPLETE");
    assert_eq!(m["rows"]["keys"], 5_000);
    assert_eq!(m["rows"]["strings"], 5_000);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A lock file naming a live process that holds no lock is not a running export: only an
/// OS lock (held by the kernel for a living writer) counts.
#[test]
fn a_stale_lock_naming_a_live_process_does_not_block() {
    let dir = scratch("stalelock");
    let dump = dir.join("d.rdb");
    write_dump(&dump, 1, 3, "k");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    // This test's own pid: alive, and not an export.
    std::fs::write(
        out.join(".export.lock"),
        format!("{}\nold-export\n", std::process::id()),
    )
    .unwrap();
    ok(export(&[&dump], &out, &[]));
    assert_eq!(manifest(&out)["status"], "COMPLETE");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Several exports started at once into one directory holding a stale lock: exactly one
/// succeeds, and the manifest is its COMPLETE one.
#[test]
fn concurrent_exports_one_winner() {
    let dir = scratch("concurrent");
    let dump = dir.join("d.rdb");
    write_dump(&dump, 50, 20, "k");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join(".export.lock"), "999999999\ndead-export\n").unwrap();
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(bin())
                .arg(&dump)
                .args([
                    "--format",
                    "parquet",
                    "--no-progress",
                    "--chunk-bytes",
                    "512",
                ])
                .args(["--export-id", &format!("run{i}"), "-o"])
                .arg(&out)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let results: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let winners: Vec<usize> = (0..4).filter(|&i| results[i].status.success()).collect();
    let all: Vec<_> = results
        .iter()
        .map(|r| String::from_utf8_lossy(&r.stderr).into_owned())
        .collect();
    assert_eq!(winners.len(), 1, "{all:#?}");
    let m = manifest(&out);
    assert_eq!(m["status"], "COMPLETE", "{all:#?}");
    assert_eq!(m["export_id"], format!("run{}", winners[0]));
    assert_eq!(m["rows"]["keys"], 1000);
    let _ = std::fs::remove_dir_all(&dir);
}

/// kill -9 in the middle of an export: readers' globs see nothing of it, and the next
/// export (no --overwrite) recognises the dead run, cleans what it left and completes.
#[test]
fn a_killed_export_is_invisible_and_cleaned_up() {
    let dir = scratch("killed");
    let dump = dir.join("d.rdb");
    write_dump(&dump, 4_000, 10, "k");
    let out = dir.join("out");
    let mut child = Command::new(bin())
        .arg(&dump)
        .args([
            "--format",
            "parquet",
            "--no-progress",
            "--chunk-bytes",
            "2048",
        ])
        .args(["--export-id", "victim", "-o"])
        .arg(&out)
        .env("RAYON_NUM_THREADS", "1")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until chunks have been committed, then kill.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let read = std::fs::read(out.join("export_info.json"))
            .ok()
            .and_then(|t| serde_json::from_slice::<Value>(&t).ok())
            .and_then(|m| m["bytes_read"].as_u64())
            .unwrap_or(0);
        if read > 0 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the export ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(manifest(&out)["status"], "IN_PROGRESS");
    for table in ["keys", "strings"] {
        let glob = format!("{}/{table}/**/*.parquet", out.display());
        assert_eq!(
            duckdb_count(&glob),
            0,
            "{table}: the dead run's rows are visible"
        );
    }
    let glob = format!("{}/**/*.parquet", out.display());
    assert_eq!(duckdb_count(&glob), 0, "the dead run's rows are visible");

    let stderr = ok(export(&[&dump], &out, &["--export-id", "next"]));
    assert!(
        stderr.contains("victim"),
        "the dead run is reported: {stderr}"
    );
    let m = manifest(&out);
    assert_eq!(m["status"], "COMPLETE");
    assert_eq!(m["rows"]["keys"], 40_000);
    let glob = format!("{}/keys/**/*.parquet", out.display());
    assert_eq!(duckdb_count(&glob), 40_000);
    // Nothing hidden is left behind (staging, temporary files, lock).
    let hidden: Vec<_> = entries(&out)
        .into_iter()
        .filter(|e| e.split('/').any(|p| p.starts_with('.')))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
