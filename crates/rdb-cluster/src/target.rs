//! The server being seeded: its address and credentials, the RDB version its `RESTORE`
//! reads, and, for a cluster, which primary owns each slot.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use rdb_format::{Flavor, Version};
use redis::aio::MultiplexedConnection;
use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, Value};

use crate::slot::SLOTS;

/// Why talking to the target failed.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// A command failed or a connection could not be made.
    #[error("{context}: {source}")]
    Redis {
        /// What was being done.
        context: String,
        /// The client's error.
        source: redis::RedisError,
    },
    /// The server answered something unexpected.
    #[error("{0}")]
    Protocol(String),
}

fn redis_err(context: impl Into<String>) -> impl FnOnce(redis::RedisError) -> TargetError {
    let context = context.into();
    move |source| TargetError::Redis { context, source }
}

/// TLS settings besides the `rediss://` scheme (redis-cli's `--cacert`, `--cert`, `--key`,
/// `--insecure`). Files are PEM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// CA certificate(s) to trust instead of the system's.
    pub ca_cert: Option<PathBuf>,
    /// Client certificate, for servers that ask for one (`tls-auth-clients`).
    pub cert: Option<PathBuf>,
    /// The client certificate's private key.
    pub key: Option<PathBuf>,
    /// Do not check the server's certificate or name.
    pub insecure: bool,
}

impl TlsOptions {
    /// Whether any option is set (they need a `rediss://` URL).
    pub fn any(&self) -> bool {
        self.ca_cert.is_some() || self.cert.is_some() || self.key.is_some() || self.insecure
    }

    fn certificates(&self) -> Result<Option<redis::TlsCertificates>, TargetError> {
        let read = |p: &PathBuf, what: &str| {
            std::fs::read(p).map_err(|e| {
                TargetError::Protocol(format!(
                    "{what} {}: {e}; give a readable PEM file",
                    p.display()
                ))
            })
        };
        let client_tls = match (&self.cert, &self.key) {
            (Some(c), Some(k)) => Some(redis::ClientTlsConfig {
                client_cert: read(c, "--cert")?,
                client_key: read(k, "--key")?,
            }),
            (None, None) => None,
            _ => {
                return Err(TargetError::Protocol(
                    "--cert and --key go together: give both (PEM files) or neither".into(),
                ))
            }
        };
        let root_cert = match &self.ca_cert {
            Some(p) => Some(read(p, "--cacert")?),
            None => None,
        };
        Ok(
            (client_tls.is_some() || root_cert.is_some()).then_some(redis::TlsCertificates {
                client_tls,
                root_cert,
            }),
        )
    }
}

/// A `host:port` address of a server.
pub type Addr = String;

/// A cluster's slot map: the primaries and which one owns each slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotMap {
    /// Primaries' addresses (`host:port`), in the order of their first slot.
    pub nodes: Vec<Addr>,
    /// Index into `nodes` for each of the 16384 slots; `u16::MAX` when unassigned.
    pub owner: Vec<u16>,
}

impl SlotMap {
    /// The node owning `slot`, if assigned.
    pub fn node_of(&self, slot: u16) -> Option<usize> {
        match self.owner.get(usize::from(slot)) {
            Some(&o) if o != u16::MAX => Some(usize::from(o)),
            _ => None,
        }
    }

    /// Records that `slot` now lives at `addr` (after a `MOVED`); returns the node index.
    pub fn set_owner(&mut self, slot: u16, addr: &str) -> usize {
        let i = match self.nodes.iter().position(|n| n == addr) {
            Some(i) => i,
            None => {
                self.nodes.push(addr.to_string());
                self.nodes.len() - 1
            }
        };
        if let Some(o) = self.owner.get_mut(usize::from(slot)) {
            *o = i as u16;
        }
        i
    }

    /// Each primary's inclusive slot ranges, in node order.
    pub fn ranges(&self) -> Vec<Vec<(u16, u16)>> {
        let mut out = vec![Vec::new(); self.nodes.len()];
        for (slot, &o) in self.owner.iter().enumerate() {
            let Some(ranges) = out.get_mut(usize::from(o)) else {
                continue;
            };
            match ranges.last_mut() {
                Some((_, last)) if usize::from(*last) + 1 == slot => *last = slot as u16,
                _ => ranges.push((slot as u16, slot as u16)),
            }
        }
        out
    }
}

/// A connected target.
#[derive(Clone)]
pub struct Target {
    info: ConnectionInfo,
    /// What the server says it is, e.g. `valkey 9.1.2` or `redis 7.0.15`.
    pub server: String,
    /// The RDB version of the payloads it reads.
    pub version: Version,
    /// The slot map, for a cluster.
    pub cluster: Option<Arc<RwLock<SlotMap>>>,
    connections: Arc<Mutex<HashMap<Addr, MultiplexedConnection>>>,
    certificates: Option<redis::TlsCertificates>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("addr", &self.info.addr().to_string())
            .field("server", &self.server)
            .field("version", &self.version)
            .field("cluster", &self.cluster.is_some())
            .finish()
    }
}

/// `redis_version`/`valkey_version` → the newest RDB version that server's `RESTORE` reads.
pub fn rdb_version_of(redis_version: &str, valkey_version: Option<&str>) -> Version {
    fn major_minor(v: &str) -> (u32, u32) {
        let mut it = v.split('.').map(|p| p.trim().parse::<u32>().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    }
    let redis = |number| Version {
        flavor: Flavor::Redis,
        number,
    };
    if let Some(v) = valkey_version {
        return if major_minor(v) >= (9, 0) {
            Version {
                flavor: Flavor::Valkey,
                number: 80,
            }
        } else {
            redis(11)
        };
    }
    match major_minor(redis_version) {
        v if v >= (7, 4) => redis(12),
        v if v >= (7, 2) => redis(11),
        v if v >= (7, 0) => redis(10),
        v if v >= (5, 0) => redis(9),
        v if v >= (4, 0) => redis(8),
        v if v >= (3, 2) => redis(7),
        _ => redis(6),
    }
}

fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// The address part of a connection, `host:port`.
pub fn addr_of(info: &ConnectionInfo) -> Addr {
    match info.addr() {
        ConnectionAddr::Tcp(h, p) => format!("{h}:{p}"),
        ConnectionAddr::TcpTls { host, port, .. } => format!("{host}:{port}"),
        other => other.to_string(),
    }
}

impl Target {
    /// Connects to `url` (`redis://[user:password@]host:port`, `rediss://` for TLS), finds
    /// the server's version and whether it is a cluster (and then its slot map).
    pub async fn connect(url: &str, tls: &TlsOptions) -> Result<Target, TargetError> {
        // rustls needs a process-wide crypto provider; an error only means one is set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut info = url.into_connection_info().map_err(|e| bad_url(url, e))?;
        if tls.any() {
            match info.addr().clone() {
                ConnectionAddr::TcpTls {
                    host,
                    port,
                    tls_params,
                    ..
                } => {
                    info = info.set_addr(ConnectionAddr::TcpTls {
                        host,
                        port,
                        insecure: tls.insecure,
                        tls_params,
                    })
                }
                _ => {
                    return Err(TargetError::Protocol(format!(
                        "--cacert, --cert, --key and --insecure are for TLS: write the target as rediss://... (not {})",
                        redact(url)
                    )))
                }
            }
        }
        let mut target = Target {
            info,
            server: String::new(),
            version: rdb_version_of("0", None),
            cluster: None,
            connections: Arc::new(Mutex::new(HashMap::new())),
            certificates: tls.certificates()?,
        };
        let first = addr_of(&target.info);
        let mut con = target.connection(&first).await?;
        let text: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut con)
            .await
            .map_err(|e| not_redis(&first, e))?;
        if info_field(&text, "redis_version").is_none() {
            return Err(TargetError::Protocol(format!(
                "{first} answered INFO without a redis_version: it does not look like a Redis or Valkey server; check the host and port"
            )));
        }
        let redis_version = info_field(&text, "redis_version").unwrap_or("0");
        let valkey_version = info_field(&text, "valkey_version");
        target.version = rdb_version_of(redis_version, valkey_version);
        target.server = match valkey_version {
            Some(v) => format!("valkey {v}"),
            None => format!("redis {redis_version}"),
        };
        let cluster: redis::RedisResult<String> = redis::cmd("CLUSTER")
            .arg("INFO")
            .query_async(&mut con)
            .await;
        if let Ok(text) = cluster {
            if info_field(&text, "cluster_state").is_some() {
                let map = slot_map(&mut con, &first).await?;
                target.cluster = Some(Arc::new(RwLock::new(map)));
            }
        }
        Ok(target)
    }

    /// The first node's address.
    pub fn addr(&self) -> Addr {
        addr_of(&self.info)
    }

    /// Whether the target is a cluster.
    pub fn is_cluster(&self) -> bool {
        self.cluster.is_some()
    }

    /// A copy of the slot map (None for a standalone server).
    pub fn slot_map(&self) -> Option<SlotMap> {
        let map = self.cluster.as_ref()?;
        Some(match map.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        })
    }

    /// Reloads the slot map from the first node.
    pub async fn refresh_slots(&self) -> Result<(), TargetError> {
        let Some(shared) = &self.cluster else {
            return Ok(());
        };
        let first = self.addr();
        let mut con = self.connection(&first).await?;
        let map = slot_map(&mut con, &first).await?;
        match shared.write() {
            Ok(mut m) => *m = map,
            Err(poisoned) => *poisoned.into_inner() = map,
        }
        Ok(())
    }

    /// A shared multiplexed connection to `addr` (made once, then reused).
    pub async fn connection(&self, addr: &str) -> Result<MultiplexedConnection, TargetError> {
        if let Ok(cache) = self.connections.lock() {
            if let Some(c) = cache.get(addr) {
                return Ok(c.clone());
            }
        }
        let con = self.new_connection(addr).await?;
        if let Ok(mut cache) = self.connections.lock() {
            cache.insert(addr.to_string(), con.clone());
        }
        Ok(con)
    }

    /// A new connection of its own to `addr`, with the target's credentials and TLS settings.
    pub async fn new_connection(&self, addr: &str) -> Result<MultiplexedConnection, TargetError> {
        let (host, port) = split_addr(addr)
            .ok_or_else(|| TargetError::Protocol(format!("bad node address {addr:?}")))?;
        let new_addr = match self.info.addr() {
            ConnectionAddr::TcpTls {
                insecure,
                tls_params,
                ..
            } => ConnectionAddr::TcpTls {
                host: host.to_string(),
                port,
                insecure: *insecure,
                tls_params: tls_params.clone(),
            },
            _ => ConnectionAddr::Tcp(host.to_string(), port),
        };
        let info = self.info.clone().set_addr(new_addr);
        let client = match &self.certificates {
            Some(certs) => redis::Client::build_with_tls(info, certs.clone()),
            None => redis::Client::open(info),
        }
        .map_err(|e| connect_error(addr, e))?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(std::time::Duration::from_secs(10)))
            .set_response_timeout(None);
        client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| connect_error(addr, e))
    }
}

/// A URL the client rejects; passwords with reserved characters are the usual cause.
fn bad_url(url: &str, e: redis::RedisError) -> TargetError {
    TargetError::Protocol(format!(
        "target URL {}: {}; the form is redis://[user:password@]host:port[/db] (rediss:// for TLS), \
         and a password containing @ : / ? # % must be percent-encoded (@ as %40, : as %3A, / as %2F, \
         ? as %3F, # as %23, % as %25)",
        redact(url),
        e.detail().unwrap_or(&e.to_string())
    ))
}

/// A failed connection, in one line: what failed, where, and what to check.
fn connect_error(addr: &str, e: redis::RedisError) -> TargetError {
    if e.kind() == redis::ErrorKind::Parse || e.kind() == redis::ErrorKind::UnexpectedReturnType {
        return not_redis(addr, e);
    }
    let hint = if e.is_connection_refusal() {
        "; is the server running and listening there?"
    } else if e.to_string().contains("NOAUTH") || e.to_string().contains("WRONGPASS") {
        "; give the password in the URL (redis://:password@host:port, percent-encoded)"
    } else {
        ""
    };
    TargetError::Protocol(format!("connecting to {addr}: {}{hint}", short(&e)))
}

/// An answer that is not RESP: something else listens on the port (an HTTP server, a TLS
/// server reached with redis://...).
fn not_redis(addr: &str, e: redis::RedisError) -> TargetError {
    if e.kind() == redis::ErrorKind::Parse || e.kind() == redis::ErrorKind::UnexpectedReturnType {
        TargetError::Protocol(format!(
            "{addr} is not a Redis server: its answer is not the Redis protocol ({}); \
             check the host and port, and use rediss:// if the server speaks TLS",
            short(&e)
        ))
    } else {
        TargetError::Redis {
            context: format!("INFO server on {addr}"),
            source: e,
        }
    }
}

/// The client's error without the repetition its Display adds (kind, then detail, then the
/// I/O error again).
fn short(e: &redis::RedisError) -> String {
    use std::error::Error as _;
    match e.source() {
        Some(io) => io.to_string(),
        None => e.to_string(),
    }
}

/// `host:port` → parts (IPv6 hosts may contain colons: the port is after the last one).
pub fn split_addr(addr: &str) -> Option<(&str, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host, port.parse().ok()?))
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

/// `CLUSTER SLOTS` → a slot map of the primaries.
async fn slot_map(con: &mut MultiplexedConnection, from: &str) -> Result<SlotMap, TargetError> {
    let v: Value = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(con)
        .await
        .map_err(redis_err(format!("CLUSTER SLOTS on {from}")))?;
    let bad = |what: &str| TargetError::Protocol(format!("CLUSTER SLOTS on {from}: {what}"));
    let Value::Array(ranges) = v else {
        return Err(bad("not an array"));
    };
    let mut spans: Vec<(u16, u16, Addr)> = Vec::new();
    for r in ranges {
        let Value::Array(parts) = r else {
            return Err(bad("range is not an array"));
        };
        let (Some(Value::Int(a)), Some(Value::Int(b)), Some(Value::Array(node))) =
            (parts.first(), parts.get(1), parts.get(2))
        else {
            return Err(bad("range without start, end and primary"));
        };
        let host = match node.first() {
            Some(Value::BulkString(h)) => String::from_utf8_lossy(h).into_owned(),
            Some(Value::SimpleString(h)) => h.clone(),
            _ => return Err(bad("node without host")),
        };
        let Some(Value::Int(port)) = node.get(1) else {
            return Err(bad("node without port"));
        };
        // An empty host means "the address you reached me at".
        let host = if host.is_empty() || host == "?" {
            split_addr(from).map(|(h, _)| h.to_string()).unwrap_or(host)
        } else {
            host
        };
        let (a, b) = (
            u16::try_from(*a).map_err(|_| bad("slot out of range"))?,
            u16::try_from(*b).map_err(|_| bad("slot out of range"))?,
        );
        spans.push((a, b, format!("{host}:{port}")));
    }
    spans.sort();
    let mut map = SlotMap {
        nodes: Vec::new(),
        owner: vec![u16::MAX; SLOTS],
    };
    for (a, b, addr) in spans {
        for slot in a..=b.min(SLOTS as u16 - 1) {
            map.set_owner(slot, &addr);
        }
    }
    Ok(map)
}

/// A live cluster's slot layout (shards in the order of their first slot) and the primaries'
/// addresses, for splitting a dump the way that cluster is sharded.
pub fn cluster_layout_blocking(
    url: &str,
    tls: &TlsOptions,
) -> Result<(crate::slot::SlotLayout, Vec<Addr>), TargetError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TargetError::Protocol(format!("starting the async runtime: {e}")))?;
    rt.block_on(async {
        let target = Target::connect(url, tls).await?;
        let Some(map) = target.slot_map() else {
            return Err(TargetError::Protocol(format!(
                "{} is not a cluster (CLUSTER INFO failed)",
                redact(url)
            )));
        };
        Ok((
            crate::slot::SlotLayout::from_ranges(&map.ranges()),
            map.nodes,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_info() {
        let v = |r, k| rdb_version_of(r, k);
        assert_eq!(v("7.0.15", None).number, 10);
        assert_eq!(v("6.2.14", None).number, 9);
        assert_eq!(v("7.4.1", None).number, 12);
        assert_eq!(v("8.2.3", None).number, 12);
        assert_eq!(v("7.2.4", Some("9.1.2")).flavor, Flavor::Valkey);
        assert_eq!(v("7.2.4", Some("8.0.1")).number, 11);
        assert_eq!(v("3.0.7", None).number, 6);
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact("redis://user:secret@host:6379"),
            "redis://user:***@host:6379"
        );
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
        assert_eq!(split_addr("[::1]:7000"), Some(("::1", 7000)));
    }
}
