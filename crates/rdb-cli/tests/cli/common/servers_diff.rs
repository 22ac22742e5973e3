//! Reading a server's whole keyspace into comparable data (values, TTLs) and comparing two
//! servers key by key: for the seed and split tests.

use std::collections::BTreeMap;

use redis::{Connection, Value};

use super::bytes::show;
use super::fill::now_ms;

/// A key's value in a form both sides can be compared in.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    /// Sorted.
    Set(Vec<Vec<u8>>),
    /// member -> score bits.
    ZSet(BTreeMap<Vec<u8>, u64>),
    /// field -> value, and field -> absolute expiry ms for fields with a TTL.
    Hash(BTreeMap<Vec<u8>, Vec<u8>>, BTreeMap<Vec<u8>, i64>),
    /// Entries (id, flat fields), and groups (name, pending count, last delivered id).
    Stream(Vec<(Vec<u8>, Vec<Vec<u8>>)>, Vec<(Vec<u8>, i64, Vec<u8>)>),
    /// A module type name.
    Module(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct KeyData {
    pub val: Val,
    /// Absolute expiry in ms.
    pub expire_ms: Option<i64>,
}

impl KeyData {
    /// Module values and hashes with field TTLs (what an older target cannot hold).
    pub fn needs_module_or_field_ttls(&self) -> bool {
        match &self.val {
            Val::Module(_) => true,
            Val::Hash(_, ttls) => !ttls.is_empty(),
            _ => false,
        }
    }
    pub fn is_module(&self) -> bool {
        matches!(self.val, Val::Module(_))
    }
}

fn b(v: &Value) -> Vec<u8> {
    match v {
        Value::BulkString(x) => x.clone(),
        Value::SimpleString(s) => s.clone().into_bytes(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Okay => b"OK".to_vec(),
        _ => Vec::new(),
    }
}

fn arr(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        Value::Map(m) => m.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => Vec::new(),
    }
}

fn q(con: &mut Connection, name: &str, key: &[u8], rest: &[&str]) -> Value {
    let mut c = redis::cmd(name);
    c.arg(key);
    for r in rest {
        c.arg(*r);
    }
    c.query(con)
        .unwrap_or_else(|e| panic!("{name} {}: {e}", show(key)))
}

/// Whether the server has PEXPIRETIME / HPEXPIRETIME.
#[derive(Clone, Copy)]
pub struct Caps {
    pub pexpiretime: bool,
    pub hfe: bool,
}

pub fn caps_of(con: &mut Connection) -> Caps {
    let info: String = redis::cmd("INFO").arg("server").query(con).unwrap();
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let mm = |v: &str| {
        let mut it = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    match field("valkey_version:") {
        Some(v) => Caps {
            pexpiretime: true,
            hfe: mm(&v) >= (9, 0),
        },
        None => {
            let v = mm(&field("redis_version:").unwrap_or_default());
            Caps {
                pexpiretime: v >= (7, 0),
                hfe: v >= (7, 4),
            }
        }
    }
}

/// Reads one key (None: absent).
pub fn read_key(con: &mut Connection, caps: Caps, key: &[u8]) -> Option<KeyData> {
    let t = b(&q(con, "TYPE", key, &[]));
    let val = match t.as_slice() {
        b"none" => return None,
        b"string" => Val::String(b(&q(con, "GET", key, &[]))),
        b"list" => Val::List(
            arr(q(con, "LRANGE", key, &["0", "-1"]))
                .iter()
                .map(b)
                .collect(),
        ),
        b"set" => {
            let mut v: Vec<Vec<u8>> = arr(q(con, "SMEMBERS", key, &[])).iter().map(b).collect();
            v.sort();
            Val::Set(v)
        }
        b"zset" => {
            let flat = arr(q(con, "ZRANGE", key, &["0", "-1", "WITHSCORES"]));
            let mut m = BTreeMap::new();
            for p in flat.chunks(2) {
                let text = String::from_utf8_lossy(&b(&p[1])).into_owned();
                let s: f64 = match text.as_str() {
                    "inf" => f64::INFINITY,
                    "-inf" => f64::NEG_INFINITY,
                    t => t.parse().expect("score"),
                };
                m.insert(b(&p[0]), s.to_bits());
            }
            Val::ZSet(m)
        }
        b"hash" => {
            let flat = arr(q(con, "HGETALL", key, &[]));
            let values: BTreeMap<Vec<u8>, Vec<u8>> =
                flat.chunks(2).map(|p| (b(&p[0]), b(&p[1]))).collect();
            let mut ttls = BTreeMap::new();
            if caps.hfe && !values.is_empty() {
                let mut c = redis::cmd("HPEXPIRETIME");
                c.arg(key).arg("FIELDS").arg(values.len());
                for f in values.keys() {
                    c.arg(f.as_slice());
                }
                let times: Vec<i64> = c.query(con).expect("HPEXPIRETIME");
                for (f, t) in values.keys().zip(times) {
                    if t >= 0 {
                        ttls.insert(f.clone(), t);
                    }
                }
            }
            Val::Hash(values, ttls)
        }
        b"stream" => {
            let entries = arr(q(con, "XRANGE", key, &["-", "+"]))
                .into_iter()
                .map(|e| {
                    let mut p = arr(e).into_iter();
                    let id = b(&p.next().unwrap());
                    let fields = arr(p.next().unwrap()).iter().map(b).collect();
                    (id, fields)
                })
                .collect();
            let mut groups = Vec::new();
            let mut c = redis::cmd("XINFO");
            c.arg("GROUPS").arg(key);
            let v: Value = c.query(con).expect("XINFO GROUPS");
            for g in arr(v) {
                let flat = arr(g);
                let mut name = Vec::new();
                let mut pending = 0;
                let mut last = Vec::new();
                for kv in flat.chunks(2) {
                    match b(&kv[0]).as_slice() {
                        b"name" => name = b(&kv[1]),
                        b"pending" => {
                            pending = String::from_utf8_lossy(&b(&kv[1])).parse().unwrap_or(-1)
                        }
                        b"last-delivered-id" => last = b(&kv[1]),
                        _ => {}
                    }
                }
                groups.push((name, pending, last));
            }
            groups.sort();
            Val::Stream(entries, groups)
        }
        other => Val::Module(String::from_utf8_lossy(other).into_owned()),
    };
    let expire_ms = if caps.pexpiretime {
        let t: i64 = redis::cmd("PEXPIRETIME").arg(key).query(con).unwrap();
        (t >= 0).then_some(t)
    } else {
        let t: i64 = redis::cmd("PTTL").arg(key).query(con).unwrap();
        (t >= 0).then(|| now_ms() + t)
    };
    Some(KeyData { val, expire_ms })
}

/// Databases with keys (INFO keyspace).
pub fn dbs(con: &mut Connection) -> Vec<u64> {
    let info: String = redis::cmd("INFO").arg("keyspace").query(con).unwrap();
    info.lines()
        .filter_map(|l| l.strip_prefix("db")?.split_once(':')?.0.parse().ok())
        .collect()
}

/// Every key of database `db`.
pub fn keys(con: &mut Connection, db: u64) -> Vec<Vec<u8>> {
    redis::cmd("SELECT").arg(db).query::<()>(con).unwrap();
    let mut cursor = 0u64;
    let mut out = Vec::new();
    loop {
        let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query(con)
            .unwrap();
        out.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    out.sort();
    out.dedup();
    out
}

/// The whole keyspace: (db, key) -> data.
pub fn read_all(con: &mut Connection) -> BTreeMap<(u64, Vec<u8>), KeyData> {
    let caps = caps_of(con);
    let mut out = BTreeMap::new();
    for db in dbs(con) {
        for k in keys(con, db) {
            redis::cmd("SELECT").arg(db).query::<()>(con).unwrap();
            if let Some(d) = read_key(con, caps, &k) {
                out.insert((db, k), d);
            }
        }
    }
    redis::cmd("SELECT").arg(0).query::<()>(con).unwrap();
    out
}

/// Compares `source` and `target` keyspaces: values equal, TTLs within a second. Keys for
/// which `may_be_missing` holds may be absent from the target. Returns the differences.
pub fn diff(
    source: &BTreeMap<(u64, Vec<u8>), KeyData>,
    target: &BTreeMap<(u64, Vec<u8>), KeyData>,
    may_be_missing: impl Fn(&KeyData) -> bool,
    ignore_field_ttls: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for ((db, k), s) in source {
        let ctx = format!("[db {db}] {}", show(k));
        match target.get(&(*db, k.clone())) {
            None if may_be_missing(s) => {}
            None => out.push(format!("{ctx}: missing on the target")),
            Some(t) => {
                let mut sv = s.val.clone();
                let mut tv = t.val.clone();
                if ignore_field_ttls {
                    if let (Val::Hash(_, a), Val::Hash(_, b)) = (&mut sv, &mut tv) {
                        a.clear();
                        b.clear();
                    }
                }
                if let (Val::Hash(av, at), Val::Hash(bv, bt)) = (&sv, &tv) {
                    let close = at.len() == bt.len()
                        && at
                            .iter()
                            .zip(bt)
                            .all(|((fa, a), (fb, b))| fa == fb && (a - b).abs() <= 1000);
                    if av != bv || !close {
                        out.push(format!("{ctx}: hash differs"));
                    }
                } else if sv != tv {
                    out.push(format!(
                        "{ctx}: value differs: source {sv:?}, target {tv:?}"
                    ));
                }
                let ttl_ok = match (s.expire_ms, t.expire_ms) {
                    (None, None) => true,
                    (Some(a), Some(b)) => (a - b).abs() <= 1000,
                    _ => false,
                };
                if !ttl_ok {
                    out.push(format!(
                        "{ctx}: expiry source {:?}, target {:?}",
                        s.expire_ms, t.expire_ms
                    ));
                }
            }
        }
    }
    for (db, k) in target.keys() {
        if !source.contains_key(&(*db, k.clone())) {
            out.push(format!("[db {db}] {}: only on the target", show(k)));
        }
    }
    out
}
