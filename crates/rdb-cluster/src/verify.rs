//! After seeding: count the target's keys per database (standalone) or per slot (cluster)
//! and compare with what the dump says should be there; optionally compare sampled keys
//! value by value. Differences are reported by key name and what differs, never by value.

use rdb_pipeline::now_ms;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use rdb_format::DumpFile;
use rdb_format::{DecoderOptions, Scratch, Value, Version};
use redis::aio::MultiplexedConnection;
use redis::Value as R;

use crate::error::SeedError;
use crate::show_key;
use crate::slot::key_slot;
use crate::target::{Target, TargetError};

/// Keys that should be on the target, per database or per slot.
#[derive(Clone, Debug, Default)]
pub struct Expected {
    /// Whether buckets are slots (cluster) rather than databases.
    pub by_slot: bool,
    /// Keys per bucket.
    pub counts: HashMap<u64, u64>,
    /// Keys expiring within the hour after they were read: (bucket, expiry ms). They may be
    /// gone by the time the target is counted.
    pub expiring: Vec<(u64, i64)>,
}

impl Expected {
    /// Counts one key.
    pub fn add(&mut self, bucket: u64, expire_ms: Option<i64>, now_ms: i64) {
        *self.counts.entry(bucket).or_default() += 1;
        if let Some(e) = expire_ms {
            if e < now_ms + 3_600_000 {
                self.expiring.push((bucket, e));
            }
        }
    }
}

/// A key chosen for value comparison, and where its value is in the dump.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Index of the dump file.
    pub file: usize,
    /// Offset of the serialized value in it.
    pub value_offset: u64,
    /// Length of the serialized value.
    pub value_len: u64,
    /// The value's type byte.
    pub type_byte: u8,
    /// The dump's version.
    pub version: Version,
    /// The key.
    pub key: Vec<u8>,
    /// The database it was seeded into.
    pub db: u64,
    /// Its expiry.
    pub expire_ms: Option<i64>,
    /// The record's position (file index, offset).
    pub record: (u32, u64),
}

/// What verification found.
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    /// Keys expected on the target.
    pub expected_keys: u64,
    /// Keys found on the target.
    pub found_keys: u64,
    /// Databases or slots whose count differs (first 20).
    pub count_differences: Vec<String>,
    /// How many databases or slots differ.
    pub buckets_differing: u64,
    /// Keys compared value by value.
    pub sampled: u64,
    /// Sampled keys that differ, with what differs (first 20).
    pub sample_differences: Vec<String>,
    /// How many sampled keys differ.
    pub samples_differing: u64,
}

impl VerifyReport {
    /// Whether nothing differs.
    pub fn is_clean(&self) -> bool {
        self.buckets_differing == 0 && self.samples_differing == 0
    }
}

fn redis_err(context: String) -> impl FnOnce(redis::RedisError) -> SeedError {
    move |source| SeedError::Target(TargetError::Redis { context, source })
}

/// Counts keys on the target and compares with `expected`. On a cluster, a difference is
/// counted again (a slot being resharded meanwhile moves keys between the nodes counted).
pub async fn count_keys(target: &Target, expected: &Expected) -> Result<VerifyReport, SeedError> {
    let mut tries = 0;
    loop {
        let report = count_once(target, expected).await?;
        tries += 1;
        if report.is_clean() || !target.is_cluster() || tries >= 4 {
            return Ok(report);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Every primary's address (`CLUSTER NODES`), with those that own no slot yet (a node a
/// slot is being migrated to).
async fn primaries(target: &Target, owners: &[String]) -> Result<Vec<String>, SeedError> {
    let first = target.addr();
    let mut con = target.connection(&first).await?;
    let text: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut con)
        .await
        .map_err(redis_err(format!("CLUSTER NODES on {first}")))?;
    let mut out: Vec<String> = owners.to_vec();
    for line in text.lines() {
        let mut f = line.split(' ');
        let (Some(_id), Some(addr), Some(flags)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let flags: Vec<&str> = flags.split(',').collect();
        if !flags.contains(&"master") || flags.iter().any(|f| *f == "fail" || *f == "noaddr") {
            continue;
        }
        let addr = addr.split(['@', ',']).next().unwrap_or("");
        let addr = match addr.strip_prefix(':') {
            // No IP known: the one we reached the cluster at.
            Some(port) => match crate::target::split_addr(&first) {
                Some((host, _)) => format!("{host}:{port}"),
                None => continue,
            },
            None => addr.to_string(),
        };
        if !addr.is_empty() && !out.contains(&addr) {
            out.push(addr);
        }
    }
    Ok(out)
}

async fn count_once(target: &Target, expected: &Expected) -> Result<VerifyReport, SeedError> {
    let mut found: HashMap<u64, u64> = HashMap::new();
    match target.slot_map() {
        None => {
            let addr = target.addr();
            let mut con = target.new_connection(&addr).await?;
            let text: String = redis::cmd("INFO")
                .arg("keyspace")
                .query_async(&mut con)
                .await
                .map_err(redis_err(format!("INFO keyspace on {addr}")))?;
            for line in text.lines() {
                let Some(rest) = line.strip_prefix("db") else {
                    continue;
                };
                let Some((db, fields)) = rest.split_once(':') else {
                    continue;
                };
                let keys = fields
                    .split(',')
                    .find_map(|f| f.strip_prefix("keys="))
                    .and_then(|n| n.parse::<u64>().ok());
                if let (Ok(db), Some(keys)) = (db.parse::<u64>(), keys) {
                    found.insert(db, keys);
                }
            }
        }
        Some(map) => {
            // Every slot on every primary: during a migration, a slot's keys are split
            // between its owner and the node importing it.
            let slots: Vec<u16> = (0..crate::slot::SLOTS as u16).collect();
            for addr in primaries(target, &map.nodes).await? {
                let addr = &addr;
                let mut con = target.new_connection(addr).await?;
                for chunk in slots.chunks(2048) {
                    let mut pipe = redis::pipe();
                    for s in chunk {
                        pipe.cmd("CLUSTER").arg("COUNTKEYSINSLOT").arg(*s);
                    }
                    let counts: Vec<u64> = pipe
                        .query_async(&mut con)
                        .await
                        .map_err(redis_err(format!("CLUSTER COUNTKEYSINSLOT on {addr}")))?;
                    for (s, n) in chunk.iter().zip(counts) {
                        if n > 0 {
                            *found.entry(u64::from(*s)).or_default() += n;
                        }
                    }
                }
            }
        }
    }
    let now = now_ms();
    let mut may_expire: HashMap<u64, u64> = HashMap::new();
    for (bucket, e) in &expected.expiring {
        if *e <= now + 1000 {
            *may_expire.entry(*bucket).or_default() += 1;
        }
    }
    let mut report = VerifyReport {
        expected_keys: expected.counts.values().sum(),
        found_keys: found.values().sum(),
        ..VerifyReport::default()
    };
    let buckets: BTreeSet<u64> = expected
        .counts
        .keys()
        .chain(found.keys())
        .copied()
        .collect();
    let what = if expected.by_slot { "slot" } else { "db" };
    for b in buckets {
        let want = expected.counts.get(&b).copied().unwrap_or(0);
        let got = found.get(&b).copied().unwrap_or(0);
        let slack = may_expire.get(&b).copied().unwrap_or(0);
        if got > want || got + slack < want {
            report.buckets_differing += 1;
            if report.count_differences.len() < 20 {
                report
                    .count_differences
                    .push(format!("{what} {b}: expected {want} keys, found {got}"));
            }
        }
    }
    Ok(report)
}

/// A value as owned data, in a form both sides can be compared in (sets and hashes sorted,
/// scores by bits).
#[derive(Debug, PartialEq)]
enum Owned {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    ZSet(BTreeMap<Vec<u8>, u64>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>, BTreeMap<Vec<u8>, i64>),
    Stream(Vec<(String, Vec<Vec<u8>>)>),
    Module(String),
}

impl Owned {
    fn type_name(&self) -> &str {
        match self {
            Owned::String(_) => "string",
            Owned::List(_) => "list",
            Owned::Set(_) => "set",
            Owned::ZSet(_) => "zset",
            Owned::Hash(..) => "hash",
            Owned::Stream(_) => "stream",
            Owned::Module(name) => name,
        }
    }

    fn size(&self) -> usize {
        match self {
            Owned::String(s) => s.len(),
            Owned::List(v) | Owned::Set(v) => v.len(),
            Owned::ZSet(m) => m.len(),
            Owned::Hash(m, _) => m.len(),
            Owned::Stream(v) => v.len(),
            Owned::Module(_) => 0,
        }
    }
}

fn zero_canonical(s: f64) -> u64 {
    // Redis prints -0 as "-0" and reads it back as -0.0; compare bits.
    s.to_bits()
}

fn from_dump(v: Value<'_>) -> rdb_format::Result<Owned> {
    Ok(match v {
        Value::String(s) => Owned::String(s.to_vec()),
        Value::List(items) => Owned::List(
            items
                .map(|s| s.map(|s| s.to_vec()))
                .collect::<rdb_format::Result<_>>()?,
        ),
        Value::Set(members) => {
            let mut v: Vec<Vec<u8>> = members
                .map(|s| s.map(|s| s.to_vec()))
                .collect::<rdb_format::Result<_>>()?;
            v.sort();
            Owned::Set(v)
        }
        Value::ZSet(members) => Owned::ZSet(
            members
                .map(|r| r.map(|(m, s)| (m.to_vec(), zero_canonical(s))))
                .collect::<rdb_format::Result<_>>()?,
        ),
        Value::Hash(fields) => {
            let mut values = BTreeMap::new();
            let mut ttls = BTreeMap::new();
            for f in fields {
                let f = f?;
                if let Some(e) = f.expire_ms {
                    ttls.insert(f.field.to_vec(), e);
                }
                values.insert(f.field.to_vec(), f.value.to_vec());
            }
            Owned::Hash(values, ttls)
        }
        Value::Stream(s) => {
            let mut entries = Vec::new();
            for e in s.entries() {
                let e = e?;
                let mut flat = Vec::new();
                for f in e.fields {
                    let (f, v) = f?;
                    flat.push(f.to_vec());
                    flat.push(v.to_vec());
                }
                entries.push((e.id.to_string(), flat));
            }
            Owned::Stream(entries)
        }
        Value::Module(m) => Owned::Module(m.id.name()),
        _ => {
            return Err(rdb_format::Error::new(
                0,
                "value",
                rdb_format::ErrorKind::Invalid("a kind of value this build does not know".into()),
            ))
        }
    })
}

fn bytes(v: &R) -> Vec<u8> {
    match v {
        R::BulkString(b) => b.clone(),
        R::SimpleString(s) => s.clone().into_bytes(),
        R::Int(i) => i.to_string().into_bytes(),
        R::Double(d) => d.to_string().into_bytes(),
        _ => Vec::new(),
    }
}

fn array(v: R) -> Vec<R> {
    match v {
        R::Array(a) | R::Set(a) => a,
        R::Map(m) => m.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => Vec::new(),
    }
}

/// Sends `cmd`, preceded by `ASKING` when reading a slot being imported (after an `ASK`).
async fn query(
    con: &mut MultiplexedConnection,
    cmd: &redis::Cmd,
    asking: bool,
) -> redis::RedisResult<R> {
    if !asking {
        return cmd.query_async(con).await;
    }
    let mut pipe = redis::pipe();
    pipe.cmd("ASKING").ignore().add_command(cmd.clone());
    let mut v: Vec<R> = pipe.query_async(con).await?;
    Ok(v.pop().unwrap_or(R::Nil))
}

fn cmd(name: &str, key: &[u8]) -> redis::Cmd {
    let mut c = redis::cmd(name);
    c.arg(key);
    c
}

/// Reads a key from the target into the comparable form.
async fn from_target(
    con: &mut MultiplexedConnection,
    key: &[u8],
    hash_ttls: bool,
    asking: bool,
) -> redis::RedisResult<Option<Owned>> {
    let query = |con: &mut MultiplexedConnection, c: &redis::Cmd| {
        let c = c.clone();
        let mut con = con.clone();
        async move { query(&mut con, &c, asking).await }
    };
    let t = bytes(&query(con, &cmd("TYPE", key)).await?);
    Ok(Some(match t.as_slice() {
        b"none" => return Ok(None),
        b"string" => Owned::String(bytes(&query(con, &cmd("GET", key)).await?)),
        b"list" => {
            let mut c = cmd("LRANGE", key);
            c.arg(0).arg(-1);
            Owned::List(array(query(con, &c).await?).iter().map(bytes).collect())
        }
        b"set" => {
            let mut v: Vec<Vec<u8>> = array(query(con, &cmd("SMEMBERS", key)).await?)
                .iter()
                .map(bytes)
                .collect();
            v.sort();
            Owned::Set(v)
        }
        b"zset" => {
            let mut c = cmd("ZRANGE", key);
            c.arg(0).arg(-1).arg("WITHSCORES");
            let flat = array(query(con, &c).await?);
            let mut m = BTreeMap::new();
            for pair in flat.chunks(2) {
                if let [member, score] = pair {
                    let text = String::from_utf8_lossy(&bytes(score)).into_owned();
                    let s: f64 = match text.as_str() {
                        "inf" | "+inf" => f64::INFINITY,
                        "-inf" => f64::NEG_INFINITY,
                        t => t.parse().unwrap_or(f64::NAN),
                    };
                    m.insert(bytes(member), zero_canonical(s));
                }
            }
            Owned::ZSet(m)
        }
        b"hash" => {
            let flat = array(query(con, &cmd("HGETALL", key)).await?);
            let mut values = BTreeMap::new();
            for pair in flat.chunks(2) {
                if let [f, v] = pair {
                    values.insert(bytes(f), bytes(v));
                }
            }
            let mut ttls = BTreeMap::new();
            if hash_ttls && !values.is_empty() {
                let mut c = cmd("HPEXPIRETIME", key);
                c.arg("FIELDS").arg(values.len());
                for f in values.keys() {
                    c.arg(f.as_slice());
                }
                let times = array(query(con, &c).await?);
                for (f, t) in values.keys().zip(times) {
                    if let R::Int(t) = t {
                        if t >= 0 {
                            ttls.insert(f.clone(), t);
                        }
                    }
                }
            }
            Owned::Hash(values, ttls)
        }
        b"stream" => {
            let mut c = cmd("XRANGE", key);
            c.arg("-").arg("+");
            let mut entries = Vec::new();
            for e in array(query(con, &c).await?) {
                let mut parts = array(e).into_iter();
                let id = parts.next().map(|v| bytes(&v)).unwrap_or_default();
                let fields = parts.next().map(array).unwrap_or_default();
                entries.push((
                    String::from_utf8_lossy(&id).into_owned(),
                    fields.iter().map(bytes).collect(),
                ));
            }
            Owned::Stream(entries)
        }
        other => Owned::Module(String::from_utf8_lossy(other).into_owned()),
    }))
}

/// Compares each sampled key with the target, value and TTL.
pub async fn compare_samples(
    target: &Target,
    files: &[PathBuf],
    samples: &[Sample],
    decoder: DecoderOptions,
    report: &mut VerifyReport,
) -> Result<(), SeedError> {
    let _ = decoder;
    let mut dumps = Vec::new();
    for path in files {
        dumps.push(DumpFile::open(path).map_err(|source| SeedError::Open {
            path: path.clone(),
            source,
        })?);
    }
    let map = target.slot_map();
    let has_pexpiretime = target.version.is_valkey() || target.version.number >= 10;
    let hash_ttls = target.version.is_valkey() || target.version.number >= 12;
    let mut cons: HashMap<String, MultiplexedConnection> = HashMap::new();
    let mut scratch = Scratch::new();
    for s in samples {
        let addr = match &map {
            None => target.addr(),
            Some(m) => match m.node_of(key_slot(&s.key)).and_then(|n| m.nodes.get(n)) {
                Some(a) => a.clone(),
                None => continue,
            },
        };
        if !cons.contains_key(&addr) {
            let c = target.new_connection(&addr).await?;
            cons.insert(addr.clone(), c);
        }
        let Some(con) = cons.get_mut(&addr) else {
            continue;
        };
        if map.is_none() {
            redis::cmd("SELECT")
                .arg(s.db)
                .query_async::<()>(con)
                .await
                .map_err(redis_err(format!("SELECT {} on {addr}", s.db)))?;
        }
        let Some(dump) = dumps.get(s.file) else {
            continue;
        };
        let start = s.value_offset as usize;
        let Some(raw) = dump.data().get(start..start + s.value_len as usize) else {
            continue;
        };
        let want = Value::decode(s.type_byte, s.version, raw, &scratch)
            .and_then(from_dump)
            .map_err(|source| SeedError::Decode {
                path: files.get(s.file).cloned().unwrap_or_default(),
                source,
            })?;
        scratch.reset();
        // A slot being migrated: follow MOVED/ASK to the node that has the key now.
        let mut con = con.clone();
        let mut at = addr.clone();
        let mut asking = false;
        let mut hops = 0;
        let (got, ttl) = loop {
            match read_key(&mut con, &s.key, hash_ttls, has_pexpiretime, asking).await {
                Err(e) if hops < 5 && e.redirect_node().is_some() => {
                    let (to, _) = e.redirect_node().unwrap_or_default();
                    at = to.to_string();
                    asking = e.code() == Some("ASK");
                    con = target.connection(&at).await?;
                    hops += 1;
                }
                other => {
                    break other.map_err(redis_err(format!(
                        "reading key {} on {at}",
                        show_key(&s.key)
                    )))?
                }
            }
        };
        report.sampled += 1;
        let mut problem = match &got {
            None => {
                if s.expire_ms.is_some_and(|e| e <= now_ms() + 1000) {
                    None // expired meanwhile
                } else {
                    Some("missing on the target".to_string())
                }
            }
            Some(g) if g.type_name() != want.type_name() => Some(format!(
                "type {} on the target, {} in the dump",
                g.type_name(),
                want.type_name()
            )),
            Some(Owned::Module(_)) => None,
            Some(Owned::Hash(gv, gt)) => match &want {
                Owned::Hash(wv, wt) if gv != wv => Some(format!(
                    "hash differs ({} fields on the target, {} in the dump)",
                    gv.len(),
                    wv.len()
                )),
                Owned::Hash(_, wt2) if hash_ttls && !ttls_close(gt, wt2) => {
                    Some("hash field TTLs differ".into())
                }
                _ => None,
            },
            Some(g) if *g != want => Some(format!(
                "{} differs ({} elements/bytes on the target, {} in the dump)",
                want.type_name(),
                g.size(),
                want.size()
            )),
            Some(_) => None,
        };
        if problem.is_none() && got.is_some() {
            let close = match (ttl, s.expire_ms) {
                (None, None) => true,
                (Some(a), Some(b)) => (a - b).abs() <= 1000,
                _ => false,
            };
            if !close {
                problem = Some(format!(
                    "expiry {:?} on the target, {:?} in the dump",
                    ttl, s.expire_ms
                ));
            }
        }
        if let Some(p) = problem {
            report.samples_differing += 1;
            if report.sample_differences.len() < 20 {
                report
                    .sample_differences
                    .push(format!("key {}: {p}", show_key(&s.key)));
            }
        }
    }
    Ok(())
}

/// A key's value and absolute expiry.
async fn read_key(
    con: &mut MultiplexedConnection,
    key: &[u8],
    hash_ttls: bool,
    has_pexpiretime: bool,
    asking: bool,
) -> redis::RedisResult<(Option<Owned>, Option<i64>)> {
    let got = from_target(con, key, hash_ttls, asking).await?;
    if got.is_none() {
        return Ok((None, None));
    }
    let ttl = if has_pexpiretime {
        match query(con, &cmd("PEXPIRETIME", key), asking).await? {
            R::Int(t) if t >= 0 => Some(t),
            _ => None,
        }
    } else {
        match query(con, &cmd("PTTL", key), asking).await? {
            R::Int(t) if t >= 0 => Some(now_ms() + t),
            _ => None,
        }
    };
    Ok((got, ttl))
}

fn ttls_close(a: &BTreeMap<Vec<u8>, i64>, b: &BTreeMap<Vec<u8>, i64>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((fa, ta), (fb, tb))| fa == fb && (ta - tb).abs() <= 1000)
}
