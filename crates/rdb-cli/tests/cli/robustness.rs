//! The binary under hostile conditions: outputs that are devices, symlinks or the input
//! itself, signals and SIGKILL mid-write, dumps truncated while being read, directory and
//! FIFO inputs, closed pipes, usage errors, and `top`'s memory on millions of tiny keys.
//! Dumps are generated here (plain strings), so no server is needed.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::signal;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run rdb-convert")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh empty directory for one test.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rdb-robust-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// An RDB 9 dump of `keys` strings `k<i>` with `value_len`-byte values (no checksum).
fn dump(keys: usize, value_len: usize) -> Vec<u8> {
    let mut b = b"REDIS0009".to_vec();
    b.extend_from_slice(&[0xFE, 0x00]);
    let value = vec![b'v'; value_len];
    for i in 0..keys {
        b.push(0x00);
        let key = format!("k{i}");
        put_len(&mut b, key.len());
        b.extend_from_slice(key.as_bytes());
        put_len(&mut b, value.len());
        b.extend_from_slice(&value);
    }
    b.push(0xFF);
    b.extend_from_slice(&[0; 8]);
    b
}

fn put_len(b: &mut Vec<u8>, n: usize) {
    if n < 64 {
        b.push(n as u8);
    } else {
        b.push(0x80);
        b.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn write_dump(d: &Path, name: &str, keys: usize, value_len: usize) -> PathBuf {
    let p = d.join(name);
    fs::write(&p, dump(keys, value_len)).unwrap();
    p
}

fn names(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Waits for `child`, killing it after `limit`.
fn wait_limit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("rdb-convert still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn finish(mut child: Child, limit: Duration) -> (std::process::ExitStatus, String) {
    let mut err = String::new();
    let mut pipe = child.stderr.take().unwrap();
    let status = wait_limit(&mut child, limit);
    let _ = pipe.read_to_string(&mut err);
    (status, err)
}

/// Waits until `child` has a file under `dir` open (for writing: an output being made).
fn wait_for_fd_in(child: &mut Child, dir: &Path, except: &Path) -> bool {
    let fds = PathBuf::from(format!("/proc/{}/fd", child.id()));
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if let Ok(entries) = fs::read_dir(&fds) {
            for e in entries.flatten() {
                if let Ok(t) = fs::read_link(e.path()) {
                    if t.starts_with(dir) && t != except {
                        return true;
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    false
}

// ---------------------------------------------------------------------------------------
// Item 5: -o onto devices, symlinks and the input itself.

/// A character device made in the test's directory (root only; None elsewhere).
fn mknod(d: &Path, name: &str, major: u32, minor: u32) -> Option<PathBuf> {
    let p = d.join(name);
    let ok = Command::new("mknod")
        .args([s(&p), "c", &major.to_string(), &minor.to_string()])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    ok.then_some(p)
}

#[test]
fn output_to_a_device_writes_in_place() {
    let d = dir("device");
    let input = write_dump(&d, "in.rdb", 100, 10);
    // A copy of /dev/null (1,3): the test must not risk the real one on old code.
    let Some(null) = mknod(&d, "null", 1, 3) else {
        eprintln!("skipped: mknod needs root");
        return;
    };
    for args in [
        vec![s(&input), "-o", s(&null)],
        vec!["memory", s(&input), "-o", s(&null)],
        vec!["filter", s(&input), "--output", s(&null)],
    ] {
        let o = run(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let t = fs::symlink_metadata(&null).unwrap().file_type();
        assert!(t.is_char_device(), "{args:?} replaced the device");
    }
}

#[test]
fn output_to_a_full_device_names_it() {
    let d = dir("full");
    let input = write_dump(&d, "in.rdb", 20_000, 10);
    // A copy of /dev/full (1,7): every write fails with ENOSPC.
    let Some(full) = mknod(&d, "full", 1, 7) else {
        eprintln!("skipped: mknod needs root");
        return;
    };
    for args in [
        vec![s(&input), "-o", s(&full)],
        vec!["memory", s(&input), "-o", s(&full)],
        vec!["filter", s(&input), "--output", s(&full)],
    ] {
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(s(&full)), "{args:?}: no file named: {err}");
        assert!(err.contains("No space left"), "{args:?}: {err}");
        assert!(fs::symlink_metadata(&full)
            .unwrap()
            .file_type()
            .is_char_device());
    }
    assert_eq!(names(&d), ["full", "in.rdb"]);
}

#[test]
fn output_to_a_fifo_streams_into_it() {
    let d = dir("fifo-out");
    let input = write_dump(&d, "in.rdb", 1000, 10);
    let fifo = d.join("out.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(
                BufReader::new(fs::File::open(fifo).unwrap())
                    .lines()
                    .count(),
            );
        });
    }
    let o = run(&[s(&input), "-o", s(&fifo)]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Renaming over the FIFO instead would leave the reader waiting for a writer forever.
    let lines = rx.recv_timeout(Duration::from_secs(10));
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(lines, Ok(1000));
}

#[test]
fn output_through_a_symlink_replaces_its_target() {
    let d = dir("symlink");
    let input = write_dump(&d, "in.rdb", 10, 10);
    fs::create_dir(d.join("real")).unwrap();
    let target = d.join("real/out.json");
    fs::write(&target, "old").unwrap();
    let link = d.join("out.json");
    std::os::unix::fs::symlink("real/out.json", &link).unwrap();
    let o = run(&[s(&input), "-o", s(&link)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_to_string(&target).unwrap().lines().count(), 10);
    // A dangling link: its target is created.
    fs::remove_file(&target).unwrap();
    let o = run(&["filter", s(&input), "--output", s(&link)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::read(&target).unwrap().starts_with(b"REDIS"));
    assert_eq!(names(&d.join("real")), ["out.json"]);
}

#[test]
fn output_equal_to_an_input_is_refused() {
    let d = dir("same");
    let input = write_dump(&d, "x.rdb", 10, 10);
    let before = fs::read(&input).unwrap();
    let link = d.join("alias.rdb");
    std::os::unix::fs::symlink("x.rdb", &link).unwrap();
    let hard = d.join("hard.rdb");
    fs::hard_link(&input, &hard).unwrap();
    let prefix = d.join("x");
    let shard = d.join("x-0001.rdb");
    fs::hard_link(&input, &shard).unwrap();
    for args in [
        vec![s(&input), "-o", s(&input)],
        vec![s(&input), "-o", s(&link)],
        vec!["memory", s(&input), "-o", s(&hard)],
        vec!["filter", s(&input), "--output", s(&input)],
        vec!["filter", s(&link), "--output", s(&hard)],
        vec![
            "split",
            s(&input),
            "--shards",
            "1",
            "--output-prefix",
            s(&prefix),
        ],
    ] {
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("is the input"), "{args:?}: {err}");
        assert_eq!(
            fs::read(&input).unwrap(),
            before,
            "{args:?} changed the input"
        );
    }
    assert_eq!(names(&d), ["alias.rdb", "hard.rdb", "x-0001.rdb", "x.rdb"]);
}

// ---------------------------------------------------------------------------------------
// Item 16: signals and SIGKILL leave no temporary files.

/// Starts `args` (writing into `d`), waits until it is writing, sends `sig`, and checks
/// that nothing but `keep` remains in `d`.
fn interrupt(name: &str, sig: &str, make_args: impl Fn(&Path, &Path) -> Vec<String>) {
    let d = dir(name);
    let input = write_dump(&d, "in.rdb", 400_000, 40);
    let args = make_args(&d, &input);
    let mut child = bin()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for_fd_in(&mut child, &d, &input),
        "{args:?} ended before writing"
    );
    signal(&child, sig);
    let (status, err) = finish(child, Duration::from_secs(30));
    assert!(!status.success(), "{args:?} after {sig}: {err}");
    assert_eq!(names(&d), ["in.rdb"], "{args:?} after {sig}: {err}");
}

fn json_o(d: &Path, i: &Path) -> Vec<String> {
    vec![s(i).into(), "-o".into(), s(&d.join("out.json")).into()]
}

fn memory_o(d: &Path, i: &Path) -> Vec<String> {
    vec![
        "memory".into(),
        s(i).into(),
        "-o".into(),
        s(&d.join("m.csv")).into(),
    ]
}

fn filter_o(d: &Path, i: &Path) -> Vec<String> {
    let o = s(&d.join("f.rdb")).to_string();
    vec!["filter".into(), s(i).into(), "--output".into(), o]
}

fn split_o(d: &Path, i: &Path) -> Vec<String> {
    let p = s(&d.join("part")).to_string();
    let a = ["split", s(i), "--shards", "3", "--output-prefix", &p];
    a.iter().map(|x| x.to_string()).collect()
}

#[test]
fn sigterm_leaves_no_temporary_files() {
    interrupt("term-json", "-TERM", json_o);
    interrupt("term-memory", "-TERM", memory_o);
    interrupt("term-filter", "-TERM", filter_o);
    interrupt("term-split", "-TERM", split_o);
}

#[test]
fn ctrl_c_leaves_no_temporary_files() {
    interrupt("int-json", "-INT", json_o);
    interrupt("int-split", "-INT", split_o);
}

#[test]
fn sigkill_leaves_no_temporary_files() {
    interrupt("kill-json", "-KILL", json_o);
    interrupt("kill-filter", "-KILL", filter_o);
}

// ---------------------------------------------------------------------------------------
// Item 6: a dump truncated while being read.

/// Starts `args`, truncates `input` to 1 KiB as soon as the process has it mapped, and
/// returns the exit status and stderr.
fn truncate_while_read(input: &Path, args: &[String]) -> (std::process::ExitStatus, String) {
    truncate_while_read_to(input, args, Stdio::null())
}

/// [`truncate_while_read`] with standard output into `stdout`.
fn truncate_while_read_to(
    input: &Path,
    args: &[String],
    stdout: Stdio,
) -> (std::process::ExitStatus, String) {
    let mut child = bin()
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let maps = format!("/proc/{}/maps", child.id());
    let start = Instant::now();
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "{args:?} ended before the dump was mapped"
        );
        let m = fs::read_to_string(&maps).unwrap_or_default();
        if m.contains(s(input)) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_micros(200));
    }
    let f = fs::OpenOptions::new().write(true).open(input).unwrap();
    f.set_len(1024).unwrap();
    // The cut must end the run, not the end of the zeros it leaves: converting those (endless
    // empty records) took 18-38 s of a Parquet export here before the pipeline checked for it.
    finish(child, Duration::from_secs(10))
}

fn check_truncation_error(what: &str, status: std::process::ExitStatus, err: &str) {
    assert_eq!(status.code(), Some(1), "{what}: {status}: {err}");
    // "was truncated while being read"; when the cut fell between two opens of the file
    // (top and report read the first dump's header beforehand), "was modified while being
    // read" or "the file looks truncated".
    assert!(
        err.contains("while being read") || err.contains("looks truncated"),
        "{what}: {err}"
    );
    assert!(err.contains("in.rdb"), "{what}: {err}");
}

#[test]
fn truncated_while_converting_to_json() {
    let d = dir("trunc-json");
    let input = write_dump(&d, "in.rdb", 400_000, 60);
    let (st, err) = truncate_while_read(&input, &json_o(&d, &input));
    check_truncation_error("json -o", st, &err);
    assert_eq!(names(&d), ["in.rdb"]);
}

#[test]
fn truncated_while_reporting_memory_and_info() {
    let d = dir("trunc-memory");
    let input = write_dump(&d, "in.rdb", 400_000, 60);
    let (st, err) = truncate_while_read(&input, &memory_o(&d, &input));
    check_truncation_error("memory -o", st, &err);
    assert_eq!(names(&d), ["in.rdb"]);

    let input = write_dump(&d, "in.rdb", 1_500_000, 60);
    let (st, err) = truncate_while_read(&input, &["info".into(), s(&input).into()]);
    check_truncation_error("info", st, &err);
}

/// Every other command that walks a dump stops at a cut too: no report of the zeros after
/// it (`check` counted each as a problem), no output, and an error naming the file.
#[test]
fn truncated_while_checking_splitting_and_reporting() {
    let d = dir("trunc-others");
    let html = s(&d.join("r.html")).to_string();
    let part = s(&d.join("part")).to_string();
    let commands: [Vec<&str>; 6] = [
        vec!["check"],
        vec!["split", "--shards", "2", "--output-prefix", &part],
        // Without the duplicate check, which otherwise stops at the zeros' second empty key.
        vec![
            "split",
            "--shards",
            "2",
            "--no-validate",
            "--output-prefix",
            &part,
        ],
        vec!["top"],
        vec!["report", "-o", &html],
        vec!["--format", "keys"],
    ];
    for args in commands {
        let input = write_dump(&d, "in.rdb", 1_500_000, 60);
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let at = if args[0].starts_with("--") { 0 } else { 1 };
        all.insert(at, s(&input).into());
        let listed = d.with_extension("stdout");
        let (st, err) = truncate_while_read_to(&input, &all, File::create(&listed).unwrap().into());
        if args[0] == "check" {
            // check lists problems on stdout: the cut must be the one problem listed.
            let out = fs::read_to_string(&listed).unwrap();
            let head = &out[..out.len().min(2000)];
            assert_eq!(st.code(), Some(1), "check: {err} {head}");
            assert!(out.lines().count() <= 2, "check: {head}");
            assert!(
                out.contains("was truncated while being read"),
                "check: {head}"
            );
            assert!(err.contains("problems found in"), "check: {err}");
        } else {
            check_truncation_error(args[0], st, &err);
        }
        let _ = fs::remove_file(&listed);
        assert_eq!(names(&d), ["in.rdb"], "{args:?}");
    }
}

#[test]
fn truncated_while_filtering() {
    let d = dir("trunc-filter");
    let input = write_dump(&d, "in.rdb", 1_000_000, 60);
    let (st, err) = truncate_while_read(&input, &filter_o(&d, &input));
    check_truncation_error("filter", st, &err);
    assert_eq!(names(&d), ["in.rdb"]);
}

#[test]
fn truncated_while_exporting_parquet_marks_the_export_failed() {
    let d = dir("trunc-parquet");
    let input = write_dump(&d, "in.rdb", 400_000, 60);
    let out = d.join("export");
    let args: Vec<String> = [s(&input), "--format", "parquet", "-o", s(&out)]
        .iter()
        .map(|x| x.to_string())
        .collect();
    let (st, err) = truncate_while_read(&input, &args);
    check_truncation_error("parquet", st, &err);
    let manifest = fs::read_to_string(out.join("export_info.json")).unwrap();
    assert!(manifest.contains("FAILED"), "{manifest}");
    let left: Vec<String> = names(&out)
        .into_iter()
        .filter(|n| n.contains("lock") || n.contains("tmp"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

// ---------------------------------------------------------------------------------------
// Item 18: directory and FIFO inputs, closed pipes, usage errors.

#[test]
fn a_directory_input_says_so() {
    let d = dir("dir-in");
    let o = run(&[s(&d)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("is a directory"), "{err}");
    assert!(err.contains("/*.rdb)"), "{err}");
}

#[test]
fn a_fifo_input_is_refused_without_hanging() {
    let d = dir("fifo-in");
    let fifo = d.join("in.rdb");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for sub in [None, Some("info"), Some("memory"), Some("filter")] {
        let mut args: Vec<&str> = sub.into_iter().collect();
        args.push(s(&fifo));
        if sub == Some("filter") {
            args.extend(["--output", "/dev/null"]);
        }
        let child = bin()
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (st, err) = finish(child, Duration::from_secs(10));
        assert_eq!(st.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("not a regular file"), "{args:?}: {err}");
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let d = dir("pipe");
    let input = write_dump(&d, "in.rdb", 100_000, 20);
    for sub in [None, Some("memory")] {
        let mut args: Vec<&str> = sub.into_iter().collect();
        args.push(s(&input));
        let mut child = bin()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // The reader is gone (like `| head -1`).
        let (st, err) = finish(child, Duration::from_secs(30));
        assert_eq!(st.code(), Some(0), "{args:?}: {err}");
        assert_eq!(err, "", "{args:?}");
    }
}

#[test]
fn bad_values_are_usage_errors() {
    let d = dir("usage");
    let input = write_dump(&d, "in.rdb", 1, 1);
    for args in [
        vec![s(&input), "--key-regex", "("],
        vec!["memory", s(&input), "--key-regex", "("],
        vec!["split", s(&input), "--shards", "0"],
        vec!["split", s(&input), "--shards", "16385"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(names(&d), ["in.rdb"]);
}

// ---------------------------------------------------------------------------------------
// Item 14: `top` keeps only the top N per chunk.

/// Peak RSS of a finished process, from its /proc status polled while it ran.
fn peak_rss_kib(mut child: Child) -> (u64, std::process::ExitStatus) {
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(st) = fs::read_to_string(&status_path) {
            for line in st.lines() {
                if let Some(v) = line.strip_prefix("VmHWM:") {
                    let kib: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                    peak = peak.max(kib);
                }
            }
        }
        if let Some(st) = child.try_wait().unwrap() {
            return (peak, st);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn top_memory_stays_flat_on_millions_of_tiny_keys() {
    let d = dir("top");
    let keys = 1_500_000;
    let input = write_dump(&d, "in.rdb", keys, 1);
    let size_kib = fs::metadata(&input).unwrap().len() / 1024;
    let child = bin()
        .args(["top", s(&input), "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (peak, st) = peak_rss_kib(child);
    assert!(st.success());
    // The mapped dump counts in RSS; rows of every key (about 100 bytes each) must not.
    let bound = size_kib + 64 * 1024;
    assert!(
        peak < bound,
        "top peaked at {peak} KiB for a {size_kib} KiB dump of {keys} keys (bound {bound})"
    );
}
