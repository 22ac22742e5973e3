//! Huge collections convert in memory that does not grow with their decompressed size: a real
//! Redis 7.0 dump holding a 64 MiB list (LZF-compressed quicklist nodes) and a 64 MiB hash
//! (hashtable encoding, each value LZF-compressed), to JSON and to Parquet. Both once held a
//! collection's whole decompressed size in the record's scratch (JSON a hash's up to four
//! times, once per pass).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Kind, Server};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdb-convert")
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("huge-values-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the binary with `args`; returns its peak RSS in KiB (python's view of its child).
fn peak_rss_kib(args: &[&std::ffi::OsStr]) -> u64 {
    let script = "import resource, subprocess, sys\n\
         r = subprocess.run(sys.argv[1:], stderr=subprocess.PIPE)\n\
         sys.stderr.write(r.stderr.decode())\n\
         print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
    let run = Command::new("python3")
        .args(["-c", script, bin()])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let mut v = stdout.split_whitespace();
    let code: i32 = v.next().unwrap().parse().unwrap();
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&run.stderr));
    v.next().unwrap().parse().unwrap()
}

/// About `bytes` of log-like lines, each unlike the last but compressible together.
fn lines(bytes: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut total = 0;
    let mut i = 0u64;
    while total < bytes {
        let line = format!(
            "2026-11-29T10:{:02}:{:02}Z worker-{} handled request {} for user:{} in {} ms, status ok, \
             service checkout, region eu-west-1, build 2026.11.29-7f3e2a1, trace sampled=false, \
             cache hit, retries 0, upstream payments-v2",
            i / 60 % 60,
            i % 60,
            i % 16,
            i,
            i.wrapping_mul(2_654_435_761) % 100_000,
            i % 997
        );
        total += line.len();
        out.push(line);
        i += 1;
    }
    out
}

#[test]
fn huge_collections_convert_without_holding_them_decompressed() {
    const SIZE: usize = 64 << 20;
    let dir = scratch("collections");
    let server = Server::start(Kind::Redis70);
    let mut con = server.conn();
    let items = lines(SIZE);
    for batch in items.chunks(10_000) {
        let _: () = redis::cmd("RPUSH")
            .arg("big:list")
            .arg(batch)
            .query(&mut con)
            .unwrap();
        let mut hset = redis::cmd("HSET");
        hset.arg("big:hash");
        for line in batch.iter().step_by(2) {
            // The field is the line's request number: unique. The value says it twice, so
            // LZF halves it.
            hset.arg(line.split(' ').nth(4).unwrap())
                .arg(format!("{line} | {line}"));
        }
        let _: () = hset.query(&mut con).unwrap();
    }
    let dump = dir.join("big.rdb");
    std::fs::copy(server.save(&mut con), &dump).unwrap();
    drop(server);
    let file_kib = std::fs::metadata(&dump).unwrap().len() / 1024;

    let json = peak_rss_kib(&[
        dump.as_os_str(),
        "--no-progress".as_ref(),
        "-o".as_ref(),
        dir.join("out.json").as_os_str(),
    ]);
    let parquet = peak_rss_kib(&[
        dump.as_os_str(),
        "--format".as_ref(),
        "parquet".as_ref(),
        "--no-progress".as_ref(),
        "-o".as_ref(),
        dir.join("pq").as_os_str(),
    ]);
    eprintln!(
        "dump {file_kib} KiB holding 2 × {} KiB decompressed: peak RSS JSON {json} KiB, Parquet {parquet} KiB",
        SIZE / 1024
    );
    // The dump's pages (resident while a collection's chunk converts) plus what the writers
    // need. On a 46 MB dump the release build peaks at the file + 43 MiB (JSON) and + 59 MiB
    // (Parquet); before the reused buffers it reached the file + 252 and + 182 MiB.
    let bound = file_kib + (96 << 10);
    assert!(json < bound, "JSON peak RSS {json} KiB, bound {bound} KiB");
    assert!(
        parquet < bound,
        "Parquet peak RSS {parquet} KiB, bound {bound} KiB"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
