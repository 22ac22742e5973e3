//! Servers the seed and split tests need beyond `server::Server`: a process that can be
//! killed and restarted on the same port and directory (for `--resume`), a 3-primary
//! Valkey cluster made with `redis-cli --cluster create`, and running `rdb-convert`.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::server::{server_binary, Kind};

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// Ports handed out in this process: every test module shares one test binary, so tests
/// running at once must never be given the same port before their servers bind it.
static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A port whose cluster bus port (+10000) is free too.
fn free_port_pair() -> u16 {
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    let base = 20000 + (std::process::id() as u16 % 500) * 16;
    for i in 0..4000u16 {
        let p = 20000 + (base - 20000 + i * 7) % 9000;
        if !given.contains(&p)
            && TcpListener::bind(("127.0.0.1", p)).is_ok()
            && TcpListener::bind(("127.0.0.1", p + 10000)).is_ok()
        {
            given.insert(p);
            return p;
        }
    }
    panic!("no free port pair");
}

/// A server process that can be killed (SIGKILL) and restarted with its data directory.
pub struct Proc {
    pub kind: Kind,
    pub port: u16,
    pub dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl Proc {
    /// Starts `kind` with `extra` arguments (e.g. `--appendonly yes`, `--cluster-enabled yes`).
    pub fn start(kind: Kind, extra: &[&str]) -> Proc {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "seed-proc-{}-{}-{}",
            kind.label(),
            std::process::id(),
            n
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port_pair();
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            dir.to_str().unwrap(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            "server.log",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut p = Proc {
            kind,
            port,
            dir,
            args,
            child: None,
        };
        p.spawn();
        p
    }

    fn spawn(&mut self) {
        let (bin, ld) = server_binary(self.kind);
        let mut cmd = Command::new(&bin);
        cmd.args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(ld) = ld {
            cmd.env("LD_LIBRARY_PATH", ld);
        }
        self.child = Some(cmd.spawn().expect("start server"));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut c) = redis::Client::open(self.url()).and_then(|c| c.get_connection()) {
                // PONG, and not LOADING.
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return;
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                panic!("{} exited with {status}:\n{log}", self.kind.label());
            }
            assert!(
                Instant::now() < deadline,
                "{} did not start",
                self.kind.label()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, no shutdown save.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port and directory (AOF/RDB there is loaded).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn conn(&self) -> redis::Connection {
        let c = redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        c
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("keeping {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A cluster of `n` Valkey 9 primaries covering all 16384 slots.
pub struct Cluster {
    pub nodes: Vec<Proc>,
}

impl Cluster {
    pub fn start(n: usize) -> Cluster {
        let nodes: Vec<Proc> = (0..n)
            .map(|_| {
                Proc::start(
                    Kind::Valkey9,
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "5000",
                    ],
                )
            })
            .collect();
        let mut cmd = Command::new("redis-cli");
        cmd.arg("--cluster").arg("create");
        for node in &nodes {
            cmd.arg(format!("127.0.0.1:{}", node.port));
        }
        cmd.args(["--cluster-replicas", "0", "--cluster-yes"]);
        let out = cmd.output().expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        for node in &nodes {
            let mut con = node.conn();
            loop {
                let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut con).unwrap();
                let slots: Vec<redis::Value> =
                    redis::cmd("CLUSTER").arg("SLOTS").query(&mut con).unwrap();
                if info.contains("cluster_state:ok") && slots.len() == n {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "cluster did not become ok: {info}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Cluster { nodes }
    }

    /// Each node's slot ranges (from CLUSTER SLOTS), keyed by port.
    pub fn ranges(&self) -> Vec<(u16, Vec<(u16, u16)>)> {
        let mut con = self.nodes[0].conn();
        let slots: Vec<redis::Value> = redis::cmd("CLUSTER").arg("SLOTS").query(&mut con).unwrap();
        let mut out: Vec<(u16, Vec<(u16, u16)>)> = Vec::new();
        for r in slots {
            let redis::Value::Array(parts) = r else {
                panic!("CLUSTER SLOTS: {r:?}")
            };
            let (redis::Value::Int(a), redis::Value::Int(b), redis::Value::Array(node)) =
                (&parts[0], &parts[1], &parts[2])
            else {
                panic!("CLUSTER SLOTS range: {parts:?}")
            };
            let redis::Value::Int(port) = node[1] else {
                panic!("port")
            };
            let port = port as u16;
            match out.iter_mut().find(|(p, _)| *p == port) {
                Some((_, v)) => v.push((*a as u16, *b as u16)),
                None => out.push((port, vec![(*a as u16, *b as u16)])),
            }
        }
        out
    }
}

/// Runs `rdb-convert ARGS...` and returns its output (not checked).
pub fn rdb_convert(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .args(args)
        // With CI set, progress lines are the default off a terminal: tests read stderr.
        .env_remove("CI")
        .output()
        .expect("run rdb-convert")
}

/// Runs `rdb-convert ARGS...`, panicking with its stderr unless it succeeds.
pub fn rdb_convert_ok(args: &[&str]) -> String {
    let out = rdb_convert(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "rdb-convert {} failed ({}):\n{stderr}",
        args.join(" "),
        out.status
    );
    stderr
}
