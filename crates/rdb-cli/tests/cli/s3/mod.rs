//! `s3://` inputs and outputs against a real S3-compatible server: moto's S3 server on
//! 127.0.0.1 (`pip install 'moto[server]'`, done by scripts/test-deps.sh, which writes
//! RDB_TEST_MOTO). Buckets and objects are made and checked with boto3 (which moto brings)
//! and Parquet is read back with pyarrow from the server, as users would. A proxy in front of
//! the server injects what moto cannot: dropped connections, 403s, a region redirect, a
//! failing multipart part.
//!
//! Each test starts its own server. Without RDB_TEST_MOTO the tests skip with a message,
//! except under CI, where they fail.

mod common;
#[path = "s3_support/proxy.rs"]
mod proxy;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proxy::{s3_error, Action, Proxy};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdb-convert")
}

fn testdata(rel: &str) -> PathBuf {
    common::server::workspace_root().join("testdata").join(rel)
}

fn scratch(name: &str) -> PathBuf {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("s3-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// moto's S3 server on a free port of 127.0.0.1; killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// `None` (after saying why) when moto is not installed and this is not CI.
    fn start() -> Option<Moto> {
        let Some(launcher) = common::server::config_var("RDB_TEST_MOTO") else {
            if std::env::var_os("CI").is_some() {
                panic!("RDB_TEST_MOTO is not set: run scripts/test-deps.sh (pip install 'moto[server]')");
            }
            eprintln!(
                "skipping: RDB_TEST_MOTO not set (scripts/test-deps.sh installs moto[server])"
            );
            return None;
        };
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = Command::new(&launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {launcher}: {e}"));
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs Python with `s3` (a boto3 client for this server), `ep` and `json` at hand;
    /// returns its stdout.
    fn py(&self, code: &str) -> String {
        let prelude = "import boto3, json, os, sys\n\
            ep = os.environ['EP']\n\
            s3 = boto3.client('s3', endpoint_url=ep, region_name='us-east-1', \
            aws_access_key_id='test', aws_secret_access_key='test')\n";
        let out = Command::new("python3")
            .arg("-c")
            .arg(format!("{prelude}{code}"))
            .env("EP", self.endpoint())
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "python failed: {}\n{code}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn bucket(&self, name: &str) {
        self.py(&format!("s3.create_bucket(Bucket='{name}')"));
    }

    fn put(&self, bucket: &str, key: &str, file: &Path) {
        // put_object: one request, so the ETag is the MD5 (upload_file would go multipart).
        self.py(&format!(
            "s3.put_object(Bucket='{bucket}', Key='{key}', Body=open({:?}, 'rb'))",
            file.display().to_string()
        ));
    }

    fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let out = self.py(&format!(
            "r = s3.list_objects_v2(Bucket='{bucket}', Prefix='{prefix}')\n\
             print(json.dumps([o['Key'] for o in r.get('Contents', [])]))"
        ));
        serde_json::from_str(&out).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// rdb-convert with static test keys, no profile files, and `endpoint`.
fn convert(endpoint: &str, args: &[&str]) -> Output {
    let home = scratch("home");
    Command::new(bin())
        .args(args)
        .args(["--endpoint-url", endpoint])
        .env("HOME", &home)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap()
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "rdb-convert failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn err(out: Output) -> String {
    assert!(!out.status.success(), "rdb-convert succeeded unexpectedly");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn local_json(files: &[PathBuf]) -> Vec<u8> {
    let out = ok(Command::new(bin()).args(files).output().unwrap());
    out.stdout
}

/// A valid dump of `n` strings of `len` pseudo-random (incompressible) bytes each.
fn big_dump(n: usize, len: usize) -> Vec<u8> {
    let mut d = b"REDIS0009".to_vec();
    d.extend_from_slice(&[0xFE, 0]);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..n {
        let key = format!("big:{i:05}");
        d.push(0);
        d.push(key.len() as u8);
        d.extend_from_slice(key.as_bytes());
        d.push(0x80);
        d.extend_from_slice(&(len as u32).to_be_bytes());
        d.reserve(len);
        for _ in 0..len / 8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            d.extend_from_slice(&x.to_le_bytes());
        }
        d.extend(std::iter::repeat_n(b'x', len % 8));
    }
    d.push(0xFF);
    let crc = rdb_format::crc64(&d);
    d.extend_from_slice(&crc.to_le_bytes());
    d
}

fn write_file(path: &Path, data: &[u8]) {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(data))
        .unwrap();
}

#[test]
fn single_dump_shard_prefix_and_glob() {
    let Some(moto) = Moto::start() else { return };
    let ep = moto.endpoint();
    moto.bucket("dumps");
    let one = testdata("sample.rdb");
    moto.put("dumps", "single/dump.rdb", &one);
    // Shard numbers sort numerically: 0001, 0002, 0010 (not as text).
    let shards = [
        ("name-0010.rdb", testdata("corpus/redis/encodings.rdb")),
        ("name-0002.rdb", testdata("corpus/redis/hash-ziplist.rdb")),
        ("name-0001.rdb", testdata("corpus/redis/zset-ziplist.rdb")),
    ];
    for (name, file) in &shards {
        moto.put("dumps", &format!("shards/{name}"), file);
        moto.put("dumps", &format!("globbed/{name}"), file);
    }
    moto.put("dumps", "globbed/notes.txt", &one);
    let in_order = [
        shards[2].1.clone(),
        shards[1].1.clone(),
        shards[0].1.clone(),
    ];

    let out = ok(convert(&ep, &["s3://dumps/single/dump.rdb"]));
    assert_eq!(out.stdout, local_json(std::slice::from_ref(&one)));

    let out = ok(convert(&ep, &["s3://dumps/shards/"]));
    assert_eq!(out.stdout, local_json(&in_order));
    let out = ok(convert(&ep, &["s3://dumps/globbed/name-*.rdb"]));
    assert_eq!(out.stdout, local_json(&in_order));

    // info names the objects by URL; --keep-download keeps the copies, names kept.
    let keep = scratch("keep");
    let out = ok(convert(
        &ep,
        &[
            "info",
            "s3://dumps/shards/",
            "--keep-download",
            keep.to_str().unwrap(),
        ],
    ));
    let text = String::from_utf8_lossy(&out.stdout);
    let a = text
        .find("s3://dumps/shards/name-0001.rdb")
        .expect("0001 listed");
    let b = text
        .find("s3://dumps/shards/name-0002.rdb")
        .expect("0002 listed");
    let c = text
        .find("s3://dumps/shards/name-0010.rdb")
        .expect("0010 listed");
    assert!(a < b && b < c, "{text}");
    for (name, file) in &shards {
        assert_eq!(
            std::fs::read(keep.join(name)).unwrap(),
            std::fs::read(file).unwrap()
        );
    }
    // The reports read S3 too.
    let memory = ok(convert(&ep, &["memory", "s3://dumps/shards/"])).stdout;
    let local_memory = ok(Command::new(bin())
        .arg("memory")
        .args(&in_order)
        .output()
        .unwrap())
    .stdout;
    assert_eq!(memory, local_memory);
    let top = ok(convert(
        &ep,
        &["top", "s3://dumps/globbed/name-*.rdb", "--json"],
    ))
    .stdout;
    let top: serde_json::Value = serde_json::from_slice(&top).unwrap();
    // Reports name each dump by its URL, not by the local copy's path.
    let files: Vec<&str> = top["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert!(
        !files.is_empty()
            && files
                .iter()
                .all(|f| f.starts_with("s3://dumps/globbed/name-")),
        "{files:?}"
    );

    // Without it nothing is left in the temporary directory.
    let tmp = scratch("tmpdir");
    let out = Command::new(bin())
        .args(["s3://dumps/shards/", "--endpoint-url", &ep])
        .env("TMPDIR", &tmp)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    ok(out);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

#[test]
fn profiles_and_anonymous_requests() {
    let Some(moto) = Moto::start() else { return };
    let ep = moto.endpoint();
    moto.bucket("pub");
    let sample = testdata("sample.rdb");
    moto.put("pub", "dump.rdb", &sample);
    moto.put("pub", "private.rdb", &sample);
    moto.py("s3.put_object_acl(Bucket='pub', Key='dump.rdb', ACL='public-read')");
    let home = scratch("profile-home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        "[ci]\naws_access_key_id = AKIACI\naws_secret_access_key = secret\n",
    )
    .unwrap();
    std::fs::write(
        home.join(".aws/config"),
        format!("[profile ci]\nregion = us-east-1\nendpoint_url = {ep}\n"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(bin())
            .args(args)
            .env("HOME", &home)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION")
            .output()
            .unwrap()
    };
    let expected = local_json(std::slice::from_ref(&sample));
    // Keys, region and endpoint all from the profile.
    assert_eq!(
        ok(run(&["s3://pub/dump.rdb", "--profile", "ci"])).stdout,
        expected
    );
    // Anonymous.
    assert_eq!(
        ok(run(&[
            "s3://pub/dump.rdb",
            "--no-sign-request",
            "--endpoint-url",
            &ep
        ]))
        .stdout,
        expected
    );
    let e = err(run(&[
        "s3://pub/private.rdb",
        "--no-sign-request",
        "--endpoint-url",
        &ep,
    ]));
    assert!(
        e.contains("access denied reading s3://pub/private.rdb to anonymous requests (--no-sign-request): it is not public"),
        "{e}"
    );
    let e = err(run(&["s3://pub/dump.rdb", "--profile", "nope"]));
    assert!(e.contains("profile \"nope\" not found"), "{e}");
}

#[test]
fn parquet_export_with_sse_read_back_with_pyarrow() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("src");
    moto.bucket("exports");
    let dump = testdata("corpus/redis/encodings.rdb");
    moto.put("src", "dump.rdb", &dump);
    let puts = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let puts2 = puts.clone();
    let proxy = Proxy::start(moto.port, move |r| {
        if r.method == "PUT" || r.method == "POST" {
            puts2.lock().unwrap().push(r.target.clone());
        }
        Action::Forward
    });
    let ep = proxy.endpoint();

    let local = scratch("local-export");
    ok(Command::new(bin())
        .arg(&dump)
        .args(["--format", "parquet", "-o"])
        .arg(&local)
        .output()
        .unwrap());

    let out = ok(convert(
        &ep,
        &[
            "s3://src/dump.rdb",
            "--format",
            "parquet",
            "--output",
            "s3://exports/aes/",
            "--sse",
            "AES256",
        ],
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("without --sse"), "{stderr}");
    assert!(stderr.contains("uploaded"), "{stderr}");
    // The manifest is the last object written.
    let last_put = puts.lock().unwrap().last().cloned().unwrap();
    assert!(last_put.contains("export_info.json"), "{last_put}");

    let check = moto.py(
        "keys = [o['Key'] for o in s3.list_objects_v2(Bucket='exports', Prefix='aes/')['Contents']]\n\
         sse = {s3.head_object(Bucket='exports', Key=k).get('ServerSideEncryption') for k in keys}\n\
         m = json.loads(s3.get_object(Bucket='exports', Key='aes/export_info.json')['Body'].read())\n\
         print(json.dumps({'n': len(keys), 'sse': sorted(map(str, sse)), 'status': m['status'], 'output': m['output'], 'sources': m['sources']}))",
    );
    let v: serde_json::Value = serde_json::from_str(&check).unwrap();
    assert_eq!(v["sse"], serde_json::json!(["AES256"]), "{v}");
    assert_eq!(v["status"], "COMPLETE");
    assert_eq!(v["output"], "s3://exports/aes/");
    assert_eq!(v["sources"], serde_json::json!(["s3://src/dump.rdb"]));
    assert!(v["n"].as_u64().unwrap() > 3, "{v}");

    // pyarrow reads every table from the server and finds the local export's rows.
    let script = format!(
        "import pyarrow.dataset as ds, pyarrow.fs as pafs\n\
         fs = pafs.S3FileSystem(endpoint_override=ep, scheme='http', access_key='test', secret_key='test', region='us-east-1')\n\
         local = {local:?}\n\
         tables = sorted(d for d in os.listdir(local) if os.path.isdir(os.path.join(local, d)))\n\
         def rows(src, fsys):\n\
         \x20   t = ds.dataset(src, filesystem=fsys, format='parquet', partitioning='hive').to_table()\n\
         \x20   # `file` names the source: a local path on one side, the s3:// URL on the other.\n\
         \x20   return sorted(json.dumps({{k: v for k, v in r.items() if k != 'file'}}, sort_keys=True, default=str) for r in t.to_pylist())\n\
         n = 0\n\
         for t in tables:\n\
         \x20   a = rows(os.path.join(local, t), None)\n\
         \x20   b = rows('exports/aes/' + t, fs)\n\
         \x20   assert a == b, (t, len(a), len(b))\n\
         \x20   n += len(a)\n\
         print(len(tables), n)",
        local = local.display().to_string()
    );
    let out = moto.py(&script);
    let mut parts = out.split_whitespace();
    let tables: usize = parts.next().unwrap().parse().unwrap();
    let rows: usize = parts.next().unwrap().parse().unwrap();
    assert!(tables >= 3 && rows > 10, "{out}");

    // SSE-KMS with a key id.
    ok(convert(
        &ep,
        &[
            "s3://src/dump.rdb",
            "--format",
            "parquet",
            "--output",
            "s3://exports/kms/",
            "--sse",
            "aws:kms",
            "--kms-key-id",
            "test-key-1",
        ],
    ));
    let out = moto.py(
        "h = s3.head_object(Bucket='exports', Key='kms/export_info.json')\n\
         print(h.get('ServerSideEncryption'), h.get('SSEKMSKeyId'))",
    );
    assert!(
        out.starts_with("aws:kms ") && out.contains("test-key-1"),
        "{out}"
    );

    // A second export into the same place needs --overwrite.
    let e = err(convert(
        &ep,
        &[
            "s3://src/dump.rdb",
            "--format",
            "parquet",
            "--output",
            "s3://exports/kms/",
        ],
    ));
    assert!(e.contains("--overwrite"), "{e}");
    // With it, the old tables are replaced: a filtered export leaves only its own parts.
    let before = moto.keys("exports", "kms/").len();
    ok(convert(
        &ep,
        &[
            "s3://src/dump.rdb",
            "--format",
            "parquet",
            "--output",
            "s3://exports/kms/",
            "--overwrite",
            "--type",
            "string",
        ],
    ));
    let after = moto.keys("exports", "kms/");
    assert!(after.len() < before, "{before} -> {after:?}");
    assert!(after.iter().all(|k| !k.contains("/hashes/")), "{after:?}");

    // JSON to one object, unencrypted: warned about.
    let out = ok(convert(
        &ep,
        &["s3://src/dump.rdb", "-o", "s3://exports/dump.json"],
    ));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without --sse"));
    let body = moto.py("sys.stdout.write(s3.get_object(Bucket='exports', Key='dump.json')['Body'].read().decode())");
    assert_eq!(body.as_bytes(), local_json(std::slice::from_ref(&dump)));

    // split: one RDB per shard, uploaded; they hold every key between them.
    ok(convert(
        &ep,
        &[
            "split",
            "s3://src/dump.rdb",
            "--shards",
            "3",
            "--output-prefix",
            "s3://exports/split/dump",
            "--sse",
            "AES256",
        ],
    ));
    assert_eq!(
        moto.keys("exports", "split/"),
        [
            "split/dump-0001.rdb",
            "split/dump-0002.rdb",
            "split/dump-0003.rdb"
        ]
    );
    let split_keys = ok(convert(&ep, &["s3://exports/split/"])).stdout;
    let lines = |b: &[u8]| {
        let mut v: Vec<String> = String::from_utf8_lossy(b)
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        lines(&split_keys),
        lines(&local_json(std::slice::from_ref(&dump)))
    );
}

#[test]
fn large_object_with_ranged_gets() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("big");
    let dir = scratch("big");
    // 200 values of 1 MiB: a 200 MiB dump.
    let data = big_dump(200, 1 << 20);
    let file = dir.join("big.rdb");
    write_file(&file, &data);
    moto.put("big", "big.rdb", &file);
    let proxy = Proxy::start(moto.port, |_| Action::Forward);
    let keep = dir.join("keep");
    let started = Instant::now();
    let out = ok(convert(
        &proxy.endpoint(),
        &[
            "info",
            "s3://big/big.rdb",
            "--keep-download",
            keep.to_str().unwrap(),
        ],
    ));
    let secs = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("checksum    ok"), "{text}");
    let gets: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    // 16 MiB ranges by default: 13 of them, each GET with a Range header (one may be
    // repeated, or resumed, after a hiccup).
    assert!(gets.iter().all(|r| r.header("range").is_some()), "{gets:?}");
    for i in 0..13u64 {
        let start = format!("bytes={}-", i * (16 << 20));
        assert!(
            gets.iter()
                .any(|r| r.header("range").unwrap().starts_with(&start)),
            "no GET of {start}: {gets:?}"
        );
    }
    assert!(gets.len() < 20, "{gets:?}");
    assert!(std::fs::read(keep.join("big.rdb")).unwrap() == data);
    eprintln!("200 MiB through moto and the proxy in {secs:.1}s");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dropped_connections_are_retried() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("flaky");
    let dir = scratch("flaky");
    let data = big_dump(24, 1 << 20);
    let file = dir.join("flaky.rdb");
    write_file(&file, &data);
    moto.put("flaky", "flaky.rdb", &file);
    let seen = Arc::new(AtomicUsize::new(0));
    let cuts = Arc::new(AtomicUsize::new(0));
    let (seen2, cuts2) = (seen.clone(), cuts.clone());
    // Every third GET is cut 64 KiB into its body.
    let proxy = Proxy::start(moto.port, move |r| {
        if r.method == "GET" && seen2.fetch_add(1, Ordering::Relaxed) % 3 == 1 {
            cuts2.fetch_add(1, Ordering::Relaxed);
            Action::CutAfter(64 << 10)
        } else {
            Action::Forward
        }
    });
    let keep = dir.join("keep");
    let out = ok(convert(
        &proxy.endpoint(),
        &[
            "info",
            "s3://flaky/flaky.rdb",
            "--keep-download",
            keep.to_str().unwrap(),
            "--s3-part-size",
            "1048576",
        ],
    ));
    assert!(
        cuts.load(Ordering::Relaxed) >= 5,
        "{}",
        cuts.load(Ordering::Relaxed)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("checksum    ok"));
    assert!(std::fs::read(keep.join("flaky.rdb")).unwrap() == data);

    // Throttling and server errors: 503 SlowDown and 500 for the first requests, retried with
    // backoff.
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let busy = Proxy::start(moto.port, move |r| {
        match n2.fetch_add(1, Ordering::Relaxed) {
            0 | 2 => Action::Respond(s3_error(
                "503 Slow Down",
                "SlowDown",
                "",
                r.method == "HEAD",
            )),
            1 | 4 => Action::Respond(s3_error(
                "500 Internal Server Error",
                "InternalError",
                "",
                r.method == "HEAD",
            )),
            _ => Action::Forward,
        }
    });
    let out = ok(convert(&busy.endpoint(), &["info", "s3://flaky/flaky.rdb"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("checksum    ok"));
    assert!(n.load(Ordering::Relaxed) > 5);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_say_what_to_do() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("dumps");
    moto.bucket("denied");
    moto.bucket("faraway");
    moto.bucket("nowrite");
    let sample = testdata("sample.rdb");
    moto.put("dumps", "dump.rdb", &sample);
    moto.put("denied", "dump.rdb", &sample);
    let proxy = Proxy::start(moto.port, |r| {
        let head = r.method == "HEAD";
        let denied = r.target.starts_with("/denied")
            || (r.target.starts_with("/nowrite") && r.method == "PUT");
        if denied {
            Action::Respond(s3_error("403 Forbidden", "AccessDenied", "", head))
        } else if r.target.starts_with("/farther") {
            // What S3 answers a HEAD signed for another region: a bare 400 and the header.
            Action::Respond(
                "HTTP/1.1 400 Bad Request\r\nx-amz-bucket-region: ap-south-1\r\ncontent-length: 0\r\n\r\n".into(),
            )
        } else if r.target.starts_with("/faraway") {
            Action::Respond(s3_error(
                "301 Moved Permanently",
                "PermanentRedirect",
                "x-amz-bucket-region: eu-west-1\r\n",
                head,
            ))
        } else {
            Action::Forward
        }
    });
    let ep = proxy.endpoint();

    // Checked before any request.
    let e = err(convert(&ep, &["s3://My_Dumps/dump.rdb"]));
    assert!(
        e.contains(
            "invalid bucket name \"My_Dumps\": bucket names can consist only of lowercase letters"
        ),
        "{e}"
    );
    let e = err(convert(&ep, &["s3://ab/dump.rdb"]));
    assert!(e.contains("between 3 and 63 characters"), "{e}");
    let e = err(convert(&ep, &["s3://10.0.0.1/dump.rdb"]));
    assert!(e.contains("IP address"), "{e}");
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());

    let e = err(convert(&ep, &["s3://no-such-bucket/dump.rdb"]));
    assert!(e.contains("bucket not found: s3://no-such-bucket"), "{e}");
    let e = err(convert(&ep, &["s3://no-such-bucket/prefix/"]));
    assert!(e.contains("bucket not found: s3://no-such-bucket"), "{e}");
    let e = err(convert(&ep, &["s3://dumps/missing.rdb"]));
    assert!(
        e.contains("object not found: s3://dumps/missing.rdb"),
        "{e}"
    );
    let e = err(convert(&ep, &["s3://dumps/missing/"]));
    assert!(e.contains("no objects match s3://dumps/missing/"), "{e}");

    let e = err(convert(&ep, &["s3://denied/dump.rdb"]));
    assert!(
        e.contains("access denied reading s3://denied/dump.rdb: the credentials need s3:GetObject"),
        "{e}"
    );
    let e = err(convert(&ep, &["info", "s3://denied/backups/"]));
    assert!(
        e.contains(
            "access denied listing s3://denied/backups/: the credentials need s3:ListBucket"
        ),
        "{e}"
    );
    let e = err(convert(
        &ep,
        &["s3://dumps/dump.rdb", "-o", "s3://nowrite/out.json"],
    ));
    assert!(
        e.contains(
            "access denied writing s3://nowrite/out.json: the credentials need s3:PutObject"
        ),
        "{e}"
    );
    let e = err(convert(
        &ep,
        &[
            "s3://dumps/dump.rdb",
            "-o",
            "s3://nowrite/out.json",
            "--sse",
            "aws:kms",
        ],
    ));
    assert!(e.contains("s3:PutObject and kms:GenerateDataKey"), "{e}");

    let e = err(convert(&ep, &["s3://farther/dump.rdb"]));
    assert!(
        e.contains(
            "bucket farther is in region ap-south-1, not us-east-1: pass --region ap-south-1"
        ),
        "{e}"
    );
    let e = err(convert(&ep, &["s3://faraway/dump.rdb"]));
    assert!(
        e.contains("bucket faraway is in region eu-west-1, not us-east-1: pass --region eu-west-1"),
        "{e}"
    );
}

#[test]
fn failed_upload_leaves_only_a_failed_manifest() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("halfway");
    let dir = scratch("halfway");
    // Incompressible values: the strings table's part file is ~12 MiB, uploaded in 5 MiB
    // parts; the proxy refuses part 2.
    let file = dir.join("dump.rdb");
    write_file(&file, &big_dump(12, 1 << 20));
    let proxy = Proxy::start(moto.port, |r| {
        if r.method == "PUT" && r.target.contains("partNumber=2") {
            Action::Respond(s3_error("403 Forbidden", "AccessDenied", "", false))
        } else {
            Action::Forward
        }
    });
    let e = err(convert(
        &proxy.endpoint(),
        &[
            file.to_str().unwrap(),
            "--format",
            "parquet",
            "--compression",
            "none",
            "--output",
            "s3://halfway/export/",
            "--sse",
            "AES256",
            "--s3-part-size",
            "5242880",
        ],
    ));
    assert!(e.contains("s3:PutObject"), "{e}");
    assert!(e.contains("FAILED"), "{e}");
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r.target.contains("partNumber=1")),
        "no multipart upload was started"
    );
    assert_eq!(moto.keys("halfway", ""), ["export/export_info.json"]);
    let out = moto.py(
        "m = json.loads(s3.get_object(Bucket='halfway', Key='export/export_info.json')['Body'].read())\n\
         u = s3.list_multipart_uploads(Bucket='halfway').get('Uploads', [])\n\
         print(m['status'], len(u))",
    );
    assert_eq!(out.trim(), "FAILED 0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn interrupted_upload_is_aborted() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("stopped");
    let dir = scratch("stopped");
    let file = dir.join("dump.rdb");
    write_file(&file, &big_dump(12, 1 << 20));
    // Parts crawl, so the upload is surely under way when Ctrl-C comes.
    let proxy = Proxy::start(moto.port, |r| {
        if r.method == "PUT" && r.target.contains("partNumber=") {
            std::thread::sleep(Duration::from_secs(2));
        }
        Action::Forward
    });
    let child = Command::new(bin())
        .args([
            file.to_str().unwrap(),
            "--format",
            "parquet",
            "--compression",
            "none",
            "--output",
            "s3://stopped/export/",
            "--s3-part-size",
            "5242880",
            "--endpoint-url",
            &proxy.endpoint(),
        ])
        .env("HOME", &dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !proxy
        .requests()
        .iter()
        .any(|r| r.target.contains("partNumber=1"))
    {
        assert!(Instant::now() < deadline, "no multipart upload started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("canceled"), "{stderr}");
    assert_eq!(moto.keys("stopped", ""), ["export/export_info.json"]);
    let out = moto.py(
        "m = json.loads(s3.get_object(Bucket='stopped', Key='export/export_info.json')['Body'].read())\n\
         u = s3.list_multipart_uploads(Bucket='stopped').get('Uploads', [])\n\
         print(m['status'], len(u))",
    );
    assert_eq!(out.trim(), "FAILED 0");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Export manifest at `s3://<bucket>/<prefix>export_info.json`: its status, its rows of
/// `keys`, and the listed files that are not in the bucket.
fn remote_manifest(moto: &Moto, bucket: &str, prefix: &str) -> serde_json::Value {
    let out = moto.py(&format!(
        "m = json.loads(s3.get_object(Bucket='{bucket}', Key='{prefix}export_info.json')['Body'].read())\n\
         keys = set(o['Key'] for o in s3.list_objects_v2(Bucket='{bucket}', Prefix='{prefix}').get('Contents', []))\n\
         missing = [f['path'] for f in m.get('files', []) if '{prefix}' + f['path'] not in keys]\n\
         print(json.dumps({{'status': m['status'], 'keys': m.get('rows', {{}}).get('keys'), 'listed': len(m.get('files', [])), 'missing': missing}}))"
    ));
    serde_json::from_str(&out).unwrap()
}

/// Same file name under two prefixes: both dumps' rows are exported. --overwrite makes the
/// old manifest stop saying COMPLETE before it deletes anything, and deletes only objects
/// the old manifest lists (not the user's objects beside the tables).
#[test]
fn overwrite_never_leaves_a_complete_manifest_over_missing_objects() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("src");
    moto.bucket("replaced");
    let dir = scratch("overwrite");
    let (a, b) = (dir.join("a.rdb"), dir.join("b.rdb"));
    write_file(&a, &big_dump(3, 16));
    write_file(&b, &big_dump(5, 16));
    moto.put("src", "host1/dump.rdb", &a);
    moto.put("src", "host2/dump.rdb", &b);
    moto.put("replaced", "exp/keys/notes.txt", &a);
    let export = |endpoint: &str, overwrite: bool| {
        let mut args = vec![
            "s3://src/host1/dump.rdb",
            "s3://src/host2/dump.rdb",
            "--format",
            "parquet",
            "--output",
            "s3://replaced/exp/",
            "--sse",
            "AES256",
        ];
        if overwrite {
            args.push("--overwrite");
        }
        convert(endpoint, &args)
    };
    ok(export(&moto.endpoint(), false));
    let m = remote_manifest(&moto, "replaced", "exp/");
    assert_eq!(m["status"], "COMPLETE", "{m}");
    assert_eq!(m["keys"], 8, "both dumps named dump.rdb are counted: {m}");
    assert_eq!(m["missing"], serde_json::json!([]), "{m}");
    let parts = moto.keys("replaced", "exp/keys/");
    let parts: Vec<_> = parts.iter().filter(|k| k.ends_with(".parquet")).collect();
    assert_eq!(parts.len(), 2, "one keys part per dump: {parts:?}");

    // --overwrite, stopped after its first DELETE (as by a crash).
    let deletes = Arc::new(AtomicUsize::new(0));
    let seen = deletes.clone();
    let proxy = Proxy::start(moto.port, move |r| {
        // object_store deletes with POST ?delete (DeleteObjects).
        let delete = r.method == "DELETE" || r.target.ends_with("?delete");
        if delete && seen.fetch_add(1, Ordering::SeqCst) >= 1 {
            Action::Respond(s3_error("403 Forbidden", "AccessDenied", "", false))
        } else {
            Action::Forward
        }
    });
    let e = err(export(&proxy.endpoint(), true));
    assert!(deletes.load(Ordering::SeqCst) >= 2, "{e}");
    // One object was deleted: the manifest must not say COMPLETE any more.
    let m = remote_manifest(&moto, "replaced", "exp/");
    assert_ne!(m["status"], "COMPLETE", "{m}\n{e}");

    // A clean --overwrite: complete again, every listed object there, the user's kept.
    ok(export(&moto.endpoint(), true));
    let m = remote_manifest(&moto, "replaced", "exp/");
    assert_eq!(m["status"], "COMPLETE", "{m}");
    assert_eq!(m["keys"], 8, "{m}");
    assert_eq!(m["missing"], serde_json::json!([]), "{m}");
    assert!(moto
        .keys("replaced", "exp/keys/")
        .contains(&"exp/keys/notes.txt".to_string()));
    let _ = std::fs::remove_dir_all(&dir);
}
