//! `s3://` inputs and outputs against a real S3-compatible server: moto's S3 server on
//! 127.0.0.1 (`pip install 'moto[server]'`, done by scripts/test-deps.sh, which writes
//! RDB_TEST_MOTO). Buckets and objects are made and checked with boto3 (which moto brings)
//! and Parquet is read back with pyarrow from the server, as users would. A proxy in front of
//! the server injects what moto cannot: dropped connections, 403s, a region redirect, a
//! failing multipart part.
//!
//! Each test starts its own server. Without RDB_TEST_MOTO the tests skip with a message,
//! except under CI, where they fail.

mod credentials;
mod exports;
mod faults;
mod inputs;
mod progress;
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
    crate::common::server::workspace_root()
        .join("testdata")
        .join(rel)
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
        let Some(launcher) = crate::common::server::config_var("RDB_TEST_MOTO") else {
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
