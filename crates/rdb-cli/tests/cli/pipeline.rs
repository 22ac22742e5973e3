//! The conversion pipeline end to end on bundled dumps: filters on JSON and Parquet,
//! determinism across thread counts, row groups, and the export task's states.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdb-convert")
}

fn testdata(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(p)
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("pipeline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run(args: &[&str], threads: Option<usize>) -> Output {
    let mut c = Command::new(bin());
    c.args(args);
    if let Some(n) = threads {
        c.env("RAYON_NUM_THREADS", n.to_string());
    }
    c.output().unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "rdb-convert failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Key lines only (meta lines dropped), parsed, as a sorted set of canonical texts.
fn key_set(ndjson: &str) -> BTreeSet<String> {
    ndjson
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("key").is_some())
        .map(|v| v.to_string())
        .collect()
}

/// Runs a Python snippet (DuckDB/pyarrow reading our files) and returns its stdout.
fn python(script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn read_back(dir: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/parquet_to_ndjson.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

// Dumps a server could write (tool-made files may repeat a key, which no table can join on).
const DUMPS: [&str; 3] = [
    "sample.rdb",
    "corpus/HDT3213-rdb/memory.rdb",
    "corpus/redis-replicator/dumpV10.rdb",
];

#[test]
fn filters_on_json_and_parquet() {
    let cases: &[&[&str]] = &[
        &["--db", "1"],
        &["--key", "user:*"],
        &["--key-regex", "^(big|session):"],
        &["--type", "hash", "--type", "zset"],
        &["--expiry", "set"],
        &["--expiry", "none", "--type", "string"],
        &["--expiry", "expired-at-or-before:4102444800000"],
        &["--min-size", "100"],
        &[
            "--db",
            "0",
            "--key",
            "*e*",
            "--type",
            "list",
            "--min-size",
            "20",
        ],
    ];
    for dump in DUMPS {
        let path = testdata(dump);
        let path = path.to_str().unwrap();
        let sizes = record_sizes(path);
        let all: Vec<Value> = ok(run(&[path], None))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for args in cases {
            let mut json_args = vec![path];
            json_args.extend_from_slice(args);
            let json = key_set(&ok(run(&json_args, None)));
            // The same selection computed here from the unfiltered output.
            let expected: BTreeSet<String> = all
                .iter()
                .filter(|v| keeps(v, args, &sizes))
                .map(|v| v.to_string())
                .collect();
            assert_same(
                &json,
                &expected,
                &format!("{dump} {args:?}: JSON (left) differs from the expected selection"),
            );
            let dir = scratch("filter");
            let mut pq_args = json_args.clone();
            let d = dir.to_str().unwrap();
            pq_args.extend_from_slice(&["--format", "parquet", "-o", d]);
            ok(run(&pq_args, None));
            let pq: BTreeSet<String> = key_set(&read_back(&dir));
            assert_same(
                &pq.iter().map(|s| canon(s)).collect(),
                &json.iter().map(|s| canon(s)).collect(),
                &format!("{dump} {args:?}: Parquet (left) differs from JSON (right)"),
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// Canonical text with object keys sorted (key order in an object carries no meaning).
fn canon(s: &str) -> String {
    fn sorted(v: Value) -> Value {
        match v {
            Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
            Value::Object(o) => {
                let mut entries: Vec<(String, Value)> =
                    o.into_iter().map(|(k, v)| (k, sorted(v))).collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(entries.into_iter().collect())
            }
            other => other,
        }
    }
    sorted(serde_json::from_str(s).unwrap()).to_string()
}

fn assert_same(a: &BTreeSet<String>, b: &BTreeSet<String>, what: &str) {
    let only_a: Vec<_> = a
        .difference(b)
        .map(|s| s.chars().take(300).collect::<String>())
        .take(3)
        .collect();
    let only_b: Vec<_> = b
        .difference(a)
        .map(|s| s.chars().take(300).collect::<String>())
        .take(3)
        .collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "{what}:\n only left: {only_a:#?}\n only right: {only_b:#?}"
    );
}

/// The filter semantics, written out independently of the implementation.
fn keeps(v: &Value, args: &[&str], sizes: &Sizes) -> bool {
    let key = v["key"].as_str().unwrap_or("");
    let mut i = 0;
    let mut dbs = vec![];
    let mut types = vec![];
    let mut ok = true;
    while i < args.len() {
        let (flag, val) = (args[i], args[i + 1]);
        match flag {
            "--db" => dbs.push(val.parse::<u64>().unwrap()),
            "--type" => types.push(val),
            "--key" => ok &= simple_glob(val, key),
            "--key-regex" => ok &= regex_lite(val, key),
            "--expiry" => {
                let e = v.get("expire_ms").and_then(Value::as_i64);
                ok &= match val {
                    "set" => e.is_some(),
                    "none" => e.is_none(),
                    other => {
                        let t: i64 = other
                            .trim_start_matches("expired-at-or-before:")
                            .parse()
                            .unwrap();
                        e.is_some_and(|e| e <= t)
                    }
                }
            }
            "--min-size" => {} // checked below against the record's serialized size
            _ => unreachable!(),
        }
        i += 2;
    }
    ok && (dbs.is_empty() || dbs.contains(&v["db"].as_u64().unwrap()))
        && (types.is_empty() || types.contains(&v["type"].as_str().unwrap()))
        && match args.iter().position(|a| *a == "--min-size") {
            Some(p) => {
                let min: u64 = args[p + 1].parse().unwrap();
                sizes[&(v["db"].as_u64().unwrap(), key.to_string())] >= min
            }
            None => true,
        }
}

/// Serialized record sizes by (db, key), from an unfiltered Parquet export's keys table.
type Sizes = std::collections::HashMap<(u64, String), u64>;

fn record_sizes(dump: &str) -> Sizes {
    let dir = scratch("sizes");
    ok(run(
        &[dump, "--format", "parquet", "-o", dir.to_str().unwrap()],
        None,
    ));
    let script = format!(
        "import duckdb,json\nfor db,k,s in duckdb.sql(\"select db,key,size from read_parquet('{}/keys/**/*.parquet', hive_partitioning=true)\").fetchall(): print(json.dumps([db,k,s]))",
        dir.display()
    );
    let text = python(&script);
    let _ = std::fs::remove_dir_all(&dir);
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                (
                    v[0].as_u64().unwrap(),
                    v[1].as_str().unwrap_or("").to_string(),
                ),
                v[2].as_u64().unwrap(),
            )
        })
        .collect()
}

fn simple_glob(pattern: &str, key: &str) -> bool {
    // Only '*' is used in the cases above.
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = key;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            if !rest.starts_with(p) {
                return false;
            }
            rest = &rest[p.len()..];
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else if let Some(at) = rest.find(p) {
            rest = &rest[at + p.len()..];
        } else {
            return false;
        }
    }
    rest.is_empty()
}

fn regex_lite(re: &str, key: &str) -> bool {
    assert_eq!(re, "^(big|session):");
    key.starts_with("big:") || key.starts_with("session:")
}

/// Every file under `dir` (relative path → bytes), manifest excluded (it holds times).
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != "export_info.json" {
                out.insert(
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let dump = testdata("corpus/redis-rdb-cli/all.rdb");
    let dump = dump.to_str().unwrap();
    // Small chunks: many chunks in flight at once.
    let json = |n| {
        ok(run(
            &[dump, "--with-meta", "--chunk-bytes", "2048"],
            Some(n),
        ))
    };
    let one = json(1);
    assert!(one.lines().count() > 100);
    assert_eq!(one, json(4), "JSON differs between 1 and 4 threads");
    assert_eq!(
        one,
        ok(run(&[dump, "--with-meta"], Some(2))),
        "JSON differs with another chunk size"
    );
    let parquet = |n| {
        let dir = scratch(&format!("threads{n}"));
        ok(run(
            &[
                dump,
                "--format",
                "parquet",
                "-o",
                dir.to_str().unwrap(),
                "--chunk-bytes",
                "16384",
            ],
            Some(n),
        ));
        let t = tree(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        t
    };
    let a = parquet(1);
    assert!(
        a.len() > 10,
        "expected several part files, got {:?}",
        a.keys()
    );
    assert_eq!(
        a,
        parquet(4),
        "Parquet files differ between 1 and 4 threads"
    );
}

#[test]
fn a_list_larger_than_a_row_group_streams_through() {
    // corpus file with a 1000-element linked list; row groups of 64 rows.
    let dump = testdata("corpus/redis-rdb-tools/linkedlist.rdb");
    let dir = scratch("rowgroups");
    ok(run(
        &[
            dump.to_str().unwrap(),
            "--format",
            "parquet",
            "-o",
            dir.to_str().unwrap(),
            "--row-group-rows",
            "64",
        ],
        None,
    ));
    let script = format!(
        "import pyarrow.parquet as pq, glob\nfs=glob.glob('{}/lists/**/*.parquet', recursive=True)\nf=pq.ParquetFile(fs[0])\nt=f.read()\nprint(len(fs), f.num_row_groups, t.num_rows, t.column('index').to_pylist()==list(range(t.num_rows)))",
        dir.display()
    );
    let text = python(&script);
    let v: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(v[0], "1", "one part file");
    assert!(v[1].parse::<u32>().unwrap() >= 16, "row groups: {text}");
    assert_eq!(v[2], "1000");
    assert_eq!(v[3], "True", "list order kept");
    let _ = std::fs::remove_dir_all(&dir);
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("export_info.json")).unwrap()).unwrap()
}

fn parquet_files(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_keys()
        .filter(|k| !k.ends_with(".export.lock"))
        .collect()
}

#[test]
fn export_task_states() {
    let sample = testdata("sample.rdb");
    let sample = sample.to_str().unwrap();
    let dir = scratch("task");
    let d = dir.to_str().unwrap();

    // COMPLETE, with counts, sources and checksum state.
    let out = run(
        &[
            sample,
            "--format",
            "parquet",
            "-o",
            d,
            "--export-id",
            "first",
        ],
        None,
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.trim_end().lines().last().unwrap().contains(d),
        "last line names the output: {stderr}"
    );
    let m = manifest(&dir);
    assert_eq!(m["status"], "COMPLETE");
    assert_eq!(m["export_id"], "first");
    assert_eq!(m["progress_percent"], 100.0);
    assert_eq!(m["keys_exported"], 13);
    assert_eq!(m["rows"]["keys"], 13);
    assert_eq!(m["source_files"][0]["checksum"], "ok");
    assert!(m["output_bytes"].as_u64().unwrap() > 0);
    assert!(m["end_time_ms"].as_i64().unwrap() >= m["start_time_ms"].as_i64().unwrap());

    // A finished export is not redone without --overwrite.
    let again = run(
        &[
            sample,
            "--format",
            "parquet",
            "-o",
            d,
            "--export-id",
            "second",
        ],
        None,
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already complete"));
    assert_eq!(manifest(&dir)["export_id"], "first");
    ok(run(
        &[
            sample,
            "--format",
            "parquet",
            "-o",
            d,
            "--export-id",
            "second",
            "--overwrite",
        ],
        None,
    ));
    assert_eq!(manifest(&dir)["export_id"], "second");

    // A running export (a live process holds the lock file's flock) refuses a second one.
    std::fs::write(
        dir.join(".export.lock"),
        format!("{}\nbusy-export\n", std::process::id()),
    )
    .unwrap();
    let mut held = Command::new("python3")
        .args([
            "-c",
            "import fcntl, sys, time\nf = open(sys.argv[1])\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(120)",
        ])
        .arg(dir.join(".export.lock"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(held.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "held");
    let busy = run(
        &[sample, "--format", "parquet", "-o", d, "--overwrite"],
        None,
    );
    assert_eq!(busy.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&busy.stderr).contains("export busy-export already running"));
    held.kill().unwrap();
    held.wait().unwrap();
    std::fs::remove_file(dir.join(".export.lock")).unwrap();

    // A truncated dump: FAILED with the decoder's offset, no part file left behind.
    let bytes = std::fs::read(testdata("sample.rdb")).unwrap();
    let cut = dir.with_extension("cut.rdb");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let failed_dir = scratch("task-failed");
    let f = failed_dir.to_str().unwrap();
    let out = run(
        &[
            cut.to_str().unwrap(),
            "--format",
            "parquet",
            "-o",
            f,
            "--chunk-bytes",
            "64",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let m = manifest(&failed_dir);
    assert_eq!(m["status"], "FAILED");
    let cause = m["failure_cause"].as_str().unwrap();
    assert!(cause.contains("offset"), "cause names the offset: {cause}");
    assert!(
        parquet_files(&failed_dir).is_empty(),
        "left behind: {:?}",
        parquet_files(&failed_dir)
    );

    // Usage: Parquet needs a directory.
    let usage = run(&[sample, "--format", "parquet"], None);
    assert_eq!(usage.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&failed_dir);
    let _ = std::fs::remove_file(&cut);
}
