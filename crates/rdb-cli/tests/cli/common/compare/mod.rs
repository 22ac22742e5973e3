//! Run `rdb-convert` on a dump and compare its NDJSON output, key by key,
//! with what the (still running) server reports.

use super::bytes::{base64_decode, show, trunc};
use super::fill::{now_ms, C};
use super::server::{Kind, Server};
use redis::{Connection, Value};
use serde_json::{Map, Value as J};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

/// Collected mismatches (each one line, values truncated).
#[derive(Default)]
pub struct Mismatches {
    pub list: Vec<String>,
}

impl Mismatches {
    pub fn add(&mut self, ctx: &str, msg: impl AsRef<str>) {
        let msg = msg.as_ref().replace('\n', "\\n");
        self.list.push(format!("{ctx}: {}", trunc(&msg, 400)));
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    /// Panic listing (at most 80 of) the mismatches.
    pub fn assert_none(&self, what: &str) {
        if self.list.is_empty() {
            return;
        }
        let shown: Vec<&str> = self.list.iter().take(80).map(|s| s.as_str()).collect();
        panic!(
            "{what}: {} mismatch(es) between the server and rdb-convert's JSON{}:\n  {}",
            self.list.len(),
            if self.list.len() > 80 {
                " (first 80 shown)"
            } else {
                ""
            },
            shown.join("\n  ")
        );
    }
}

// ---------------------------------------------------------------- converter

/// Run the `rdb-convert` binary and return its stdout.
pub fn run_convert(rdb: &Path, args: &[&str]) -> String {
    let bin = env!("CARGO_BIN_EXE_rdb-convert");
    let out = Command::new(bin)
        .arg(rdb)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "rdb-convert {} {} failed with {}; stderr:\n{}",
        rdb.display(),
        args.join(" "),
        out.status,
        trunc(&stderr, 4000)
    );
    String::from_utf8(out.stdout).expect("rdb-convert printed invalid UTF-8 (JSON must be UTF-8)")
}

/// Parsed NDJSON dump.
#[derive(Default, Debug)]
pub struct Dump {
    /// (db, key) -> the key's JSON object.
    pub keys: BTreeMap<(u64, Vec<u8>), Map<String, J>>,
    /// Aux fields in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Function library sources in file order.
    pub functions: Vec<String>,
    /// Number of key lines.
    pub key_lines: usize,
}

/// Decode a byte string per the spec: a JSON string (valid UTF-8) or
/// `{"base64": "..."}` for anything that is not valid UTF-8.
pub fn jbytes(v: &J) -> Result<Vec<u8>, String> {
    match v {
        J::String(s) => Ok(s.as_bytes().to_vec()),
        J::Object(m) if m.len() == 1 && m.contains_key("base64") => {
            let s = m["base64"].as_str().ok_or("base64 value is not a string")?;
            let b = base64_decode(s).ok_or_else(|| format!("bad base64 {}", trunc(s, 40)))?;
            if std::str::from_utf8(&b).is_ok() {
                return Err(format!(
                    "{{\"base64\"}} used for valid UTF-8 {} (spec: plain JSON string)",
                    show(&b)
                ));
            }
            Ok(b)
        }
        other => Err(format!(
            "expected a byte string, got {}",
            trunc(&other.to_string(), 80)
        )),
    }
}

fn jshow(v: &J) -> String {
    trunc(&v.to_string(), 120)
}

const KEY_FIELDS: &[&str] = &[
    "db",
    "key",
    "type",
    "encoding",
    "expire_ms",
    "idle",
    "freq",
    "value",
    "field_expire_ms",
];

/// Parse the converter's NDJSON output; format problems go to `mm`.
pub fn parse_ndjson(text: &str, mm: &mut Mismatches) -> Dump {
    let mut d = Dump::default();
    for (i, line) in text.lines().enumerate() {
        let ctx = format!("json line {}", i + 1);
        if line.trim().is_empty() {
            mm.add(&ctx, "empty line");
            continue;
        }
        let v: J = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                mm.add(&ctx, format!("invalid JSON ({e}): {}", trunc(line, 120)));
                continue;
            }
        };
        let Some(obj) = v.as_object() else {
            mm.add(&ctx, format!("not a JSON object: {}", trunc(line, 120)));
            continue;
        };
        if let Some(aux) = obj.get("aux") {
            match (aux.get("key").map(jbytes), aux.get("value").map(jbytes)) {
                (Some(Ok(k)), Some(Ok(v))) => d.aux.push((k, v)),
                _ => mm.add(&ctx, format!("bad aux line {}", trunc(line, 120))),
            }
            continue;
        }
        if let Some(f) = obj.get("function") {
            match f.as_str() {
                Some(s) => d.functions.push(s.to_string()),
                None => mm.add(
                    &ctx,
                    format!("function line without a string: {}", trunc(line, 120)),
                ),
            }
            continue;
        }
        let Some(k) = obj.get("key") else {
            mm.add(
                &ctx,
                format!(
                    "line is neither a key, aux nor function: {}",
                    trunc(line, 120)
                ),
            );
            continue;
        };
        d.key_lines += 1;
        let key = match jbytes(k) {
            Ok(k) => k,
            Err(e) => {
                mm.add(&ctx, format!("key: {e}"));
                continue;
            }
        };
        let Some(db) = obj.get("db").and_then(J::as_u64) else {
            mm.add(&ctx, format!("key {} without a numeric db", show(&key)));
            continue;
        };
        for f in obj.keys() {
            if !KEY_FIELDS.contains(&f.as_str()) {
                mm.add(
                    &ctx,
                    format!(
                        "key {}: unexpected field {f:?} (not in the spec)",
                        show(&key)
                    ),
                );
            }
        }
        if d.keys.insert((db, key.clone()), obj.clone()).is_some() {
            mm.add(&ctx, format!("db {db} key {} appears twice", show(&key)));
        }
    }
    d
}

// ---------------------------------------------------------------- server replies

fn vbytes(v: &Value) -> Vec<u8> {
    match v {
        Value::BulkString(b) => b.clone(),
        Value::SimpleString(s) => s.as_bytes().to_vec(),
        Value::Okay => b"OK".to_vec(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Double(d) => d.to_string().into_bytes(),
        Value::VerbatimString { text, .. } => text.as_bytes().to_vec(),
        other => panic!("expected a string reply, got {other:?}"),
    }
}

fn vstr(v: &Value) -> String {
    String::from_utf8_lossy(&vbytes(v)).to_string()
}

fn vint(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

fn varr(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        Value::Nil => &[],
        other => panic!(
            "expected an array reply, got {}",
            trunc(&format!("{other:?}"), 200)
        ),
    }
}

/// Flat `[k1, v1, k2, v2...]` (or RESP3 map) reply as a name -> value map.
fn vmap(v: &Value) -> HashMap<String, Value> {
    match v {
        Value::Map(m) => m.iter().map(|(k, v)| (vstr(k), v.clone())).collect(),
        _ => varr(v)
            .chunks(2)
            .map(|c| (vstr(&c[0]), c[1].clone()))
            .collect(),
    }
}

fn parse_score(s: &[u8]) -> f64 {
    let s = std::str::from_utf8(s).expect("score utf8");
    match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" => f64::NAN,
        _ => s.parse().unwrap_or_else(|_| panic!("server score {s:?}")),
    }
}

fn jscore(v: &J) -> Result<f64, String> {
    match v {
        J::Number(n) => n.as_f64().ok_or_else(|| format!("score {n} not a double")),
        J::String(s) if s == "inf" => Ok(f64::INFINITY),
        J::String(s) if s == "-inf" => Ok(f64::NEG_INFINITY),
        J::String(s) if s == "nan" => Ok(f64::NAN),
        other => Err(format!("bad score {}", jshow(other))),
    }
}

fn same_f64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

// ---------------------------------------------------------------- snapshot

/// What was read from the server right after SAVE, before any command that
/// touches keys (the LRU/LFU data is compared against it).
pub struct Snapshot {
    /// db -> keys (SCAN).
    pub keys: BTreeMap<u64, BTreeSet<Vec<u8>>>,
    /// OBJECT IDLETIME (LRU policies) per (db, key).
    pub idle: HashMap<(u64, Vec<u8>), i64>,
    /// OBJECT FREQ (LFU policies) per (db, key).
    pub freq: HashMap<(u64, Vec<u8>), i64>,
    pub policy: String,
}

fn select(con: &mut Connection, db: u64) {
    C::new("SELECT").a(db).run(con);
}

pub fn snapshot(con: &mut Connection) -> Snapshot {
    let policy = {
        let v = C::new("CONFIG").a("GET").a("maxmemory-policy").run(con);
        vstr(&varr(&v)[1])
    };
    let dbs = {
        let v = C::new("CONFIG").a("GET").a("databases").run(con);
        vint(&varr(&v)[1]).unwrap() as u64
    };
    let mut snap = Snapshot {
        keys: BTreeMap::new(),
        idle: HashMap::new(),
        freq: HashMap::new(),
        policy: policy.clone(),
    };
    for db in 0..dbs {
        select(con, db);
        let mut cursor = b"0".to_vec();
        let mut keys = BTreeSet::new();
        loop {
            let v = C::new("SCAN").a(cursor.clone()).a("COUNT").a(1000).run(con);
            let a = varr(&v);
            cursor = vbytes(&a[0]);
            for k in varr(&a[1]) {
                keys.insert(vbytes(k));
            }
            if cursor == b"0" {
                break;
            }
        }
        let lru = policy.contains("lru");
        let lfu = policy.contains("lfu");
        if (lru || lfu) && !keys.is_empty() {
            let mut p = redis::pipe();
            for k in &keys {
                p.cmd("OBJECT")
                    .arg(if lru { "IDLETIME" } else { "FREQ" })
                    .arg(k.as_slice());
            }
            let vals: Vec<Value> = p.query(con).expect("OBJECT IDLETIME/FREQ");
            for (k, v) in keys.iter().zip(vals) {
                let n = vint(&v).unwrap_or_else(|| panic!("OBJECT on {}: {v:?}", show(k)));
                if lru {
                    snap.idle.insert((db, k.clone()), n);
                } else {
                    snap.freq.insert((db, k.clone()), n);
                }
            }
        }
        if !keys.is_empty() {
            snap.keys.insert(db, keys);
        }
    }
    select(con, 0);
    snap
}

// ---------------------------------------------------------------- comparison

/// Per-run info printed at the end (with --nocapture).
#[derive(Default)]
pub struct Stats {
    pub keys: usize,
    /// (type, encoding) -> count
    pub encodings: BTreeMap<(String, String), usize>,
}

/// Compare everything: key sets, every key, functions, aux.
pub fn compare_all(
    server: &Server,
    con: &mut Connection,
    snap: &Snapshot,
    dump: &Dump,
    mm: &mut Mismatches,
) -> Stats {
    let kind = server.kind;
    let mut stats = Stats::default();

    // Key sets per db.
    let mut json_dbs: BTreeMap<u64, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for (db, k) in dump.keys.keys() {
        json_dbs.entry(*db).or_default().insert(k.clone());
    }
    let all_dbs: BTreeSet<u64> = snap.keys.keys().chain(json_dbs.keys()).copied().collect();
    let empty = BTreeSet::new();
    for db in &all_dbs {
        let s = snap.keys.get(db).unwrap_or(&empty);
        let j = json_dbs.get(db).unwrap_or(&empty);
        let missing: Vec<String> = s.difference(j).take(10).map(|k| show(k)).collect();
        let extra: Vec<String> = j.difference(s).take(10).map(|k| show(k)).collect();
        if !missing.is_empty() || !extra.is_empty() {
            mm.add(
                &format!("[db {db}] key set"),
                format!(
                    "server has {} keys, JSON {}; missing from JSON (first 10): [{}]; only in JSON (first 10): [{}]",
                    s.len(),
                    j.len(),
                    missing.join(", "),
                    extra.join(", ")
                ),
            );
        }
    }

    // Every key present on both sides.
    for (db, keys) in &snap.keys {
        select(con, *db);
        for key in keys {
            let Some(obj) = dump.keys.get(&(*db, key.clone())) else {
                continue;
            };
            stats.keys += 1;
            let ctx = format!("[db {db}] key {}", show(key));
            let ty = obj
                .get("type")
                .and_then(J::as_str)
                .unwrap_or("?")
                .to_string();
            let enc = obj
                .get("encoding")
                .and_then(J::as_str)
                .unwrap_or("")
                .to_string();
            *stats.encodings.entry((ty, enc)).or_default() += 1;
            compare_key(kind, con, snap, *db, key, obj, &ctx, mm);
        }
    }
    select(con, 0);

    compare_functions(kind, con, dump, mm);
    compare_aux(server, con, dump, mm);
    stats
}

#[allow(clippy::too_many_arguments)]
fn compare_key(
    kind: Kind,
    con: &mut Connection,
    snap: &Snapshot,
    db: u64,
    key: &[u8],
    obj: &Map<String, J>,
    ctx: &str,
    mm: &mut Mismatches,
) {
    let caps = kind.caps();
    let server_type = vstr(&C::new("TYPE").a(key).run(con));
    let json_type = obj.get("type").and_then(J::as_str).unwrap_or("<missing>");
    let builtin = ["string", "list", "set", "zset", "hash", "stream"];
    let expected_type = if builtin.contains(&server_type.as_str()) {
        server_type.as_str()
    } else {
        "module"
    };
    if json_type != expected_type {
        mm.add(
            ctx,
            format!("type: server {server_type:?}, JSON {json_type:?}"),
        );
        return;
    }
    match obj.get("encoding").and_then(J::as_str) {
        Some(e) if !e.is_empty() => {}
        _ => mm.add(
            ctx,
            format!("missing/empty \"encoding\": {:?}", obj.get("encoding")),
        ),
    }

    // Expiry.
    let jexp = obj.get("expire_ms");
    let jexp_val = match jexp {
        None => None,
        Some(v) => match v.as_i64() {
            Some(n) => Some(n),
            None => {
                mm.add(ctx, format!("expire_ms not an integer: {}", jshow(v)));
                None
            }
        },
    };
    if caps.pexpiretime {
        let t = vint(&C::new("PEXPIRETIME").a(key).run(con)).unwrap();
        let server = if t >= 0 { Some(t) } else { None };
        if server != jexp_val {
            mm.add(
                ctx,
                format!("expire_ms: server PEXPIRETIME {t}, JSON {jexp:?}"),
            );
        }
    } else {
        let t0 = now_ms();
        let ttl = vint(&C::new("PTTL").a(key).run(con)).unwrap();
        let t1 = now_ms();
        match (ttl >= 0, jexp_val) {
            (false, None) => {}
            (true, Some(e)) if e >= t0 + ttl - 5 && e <= t1 + ttl + 5 => {}
            _ => mm.add(
                ctx,
                format!(
                    "expire_ms: server PTTL {ttl} (=> expiry in [{}, {}]), JSON {jexp:?}",
                    t0 + ttl,
                    t1 + ttl
                ),
            ),
        }
    }

    // LRU / LFU.
    let sk = (db, key.to_vec());
    match snap.idle.get(&sk) {
        Some(&idle) => match obj.get("idle").and_then(J::as_i64) {
            Some(j) if (j - idle).abs() <= 2 => {}
            other => mm.add(
                ctx,
                format!("idle: server OBJECT IDLETIME {idle}, JSON {other:?}"),
            ),
        },
        None => {
            if obj.contains_key("idle") {
                mm.add(
                    ctx,
                    format!(
                        "idle present ({:?}) but policy {} writes no IDLE",
                        obj["idle"], snap.policy
                    ),
                );
            }
        }
    }
    match snap.freq.get(&sk) {
        Some(&freq) => match obj.get("freq").and_then(J::as_i64) {
            Some(j) if (j - freq).abs() <= 1 => {}
            other => mm.add(
                ctx,
                format!("freq: server OBJECT FREQ {freq}, JSON {other:?}"),
            ),
        },
        None => {
            if obj.contains_key("freq") {
                mm.add(
                    ctx,
                    format!(
                        "freq present ({:?}) but policy {} writes no FREQ",
                        obj["freq"], snap.policy
                    ),
                );
            }
        }
    }

    let Some(value) = obj.get("value") else {
        mm.add(ctx, "no \"value\"");
        return;
    };
    if json_type != "hash" && obj.contains_key("field_expire_ms") {
        mm.add(ctx, "field_expire_ms on a non-hash key");
    }
    match expected_type {
        "string" => cmp_string(con, key, value, ctx, mm),
        "list" => cmp_list(con, key, value, ctx, mm),
        "set" => cmp_set(con, key, value, ctx, mm),
        "zset" => cmp_zset(con, key, value, ctx, mm),
        "hash" => cmp_hash(kind, con, key, value, obj.get("field_expire_ms"), ctx, mm),
        "stream" => cmp_stream(kind, con, key, value, ctx, mm),
        _ => cmp_module(con, key, &server_type, value, ctx, mm),
    }
}

fn cmp_string(con: &mut Connection, key: &[u8], value: &J, ctx: &str, mm: &mut Mismatches) {
    let server = vbytes(&C::new("GET").a(key).run(con));
    match jbytes(value) {
        Ok(j) if j == server => {}
        Ok(j) => mm.add(
            ctx,
            format!("string value: server {}, JSON {}", show(&server), show(&j)),
        ),
        Err(e) => mm.add(ctx, format!("string value: {e}")),
    }
}

fn jbytes_array(value: &J, ctx: &str, mm: &mut Mismatches) -> Option<Vec<Vec<u8>>> {
    let Some(arr) = value.as_array() else {
        mm.add(ctx, format!("value is not an array: {}", jshow(value)));
        return None;
    };
    let mut out = Vec::with_capacity(arr.len());
    for (i, e) in arr.iter().enumerate() {
        match jbytes(e) {
            Ok(b) => out.push(b),
            Err(e) => {
                mm.add(ctx, format!("element {i}: {e}"));
                return None;
            }
        }
    }
    Some(out)
}

fn first_diff(ctx: &str, what: &str, server: &[Vec<u8>], json: &[Vec<u8>], mm: &mut Mismatches) {
    if server.len() != json.len() {
        mm.add(
            ctx,
            format!(
                "{what}: server has {} elements, JSON {}",
                server.len(),
                json.len()
            ),
        );
    }
    for (i, (s, j)) in server.iter().zip(json).enumerate() {
        if s != j {
            mm.add(
                ctx,
                format!(
                    "{what}: first difference at index {i}: server {}, JSON {}",
                    show(s),
                    show(j)
                ),
            );
            return;
        }
    }
}

fn cmp_list(con: &mut Connection, key: &[u8], value: &J, ctx: &str, mm: &mut Mismatches) {
    let server: Vec<Vec<u8>> = varr(&C::new("LRANGE").a(key).a(0).a(-1).run(con))
        .iter()
        .map(vbytes)
        .collect();
    if let Some(json) = jbytes_array(value, ctx, mm) {
        first_diff(ctx, "list", &server, &json, mm);
    }
}

fn cmp_set(con: &mut Connection, key: &[u8], value: &J, ctx: &str, mm: &mut Mismatches) {
    let mut server: Vec<Vec<u8>> = varr(&C::new("SMEMBERS").a(key).run(con))
        .iter()
        .map(vbytes)
        .collect();
    if let Some(mut json) = jbytes_array(value, ctx, mm) {
        server.sort();
        json.sort();
        first_diff(ctx, "set (sorted)", &server, &json, mm);
    }
}

fn cmp_zset(con: &mut Connection, key: &[u8], value: &J, ctx: &str, mm: &mut Mismatches) {
    let reply = C::new("ZRANGE").a(key).a(0).a(-1).a("WITHSCORES").run(con);
    let server: BTreeMap<Vec<u8>, f64> = varr(&reply)
        .chunks(2)
        .map(|c| (vbytes(&c[0]), parse_score(&vbytes(&c[1]))))
        .collect();
    let Some(arr) = value.as_array() else {
        mm.add(ctx, format!("zset value is not an array: {}", jshow(value)));
        return;
    };
    let mut json = BTreeMap::new();
    for (i, p) in arr.iter().enumerate() {
        let pair = p.as_array().filter(|a| a.len() == 2);
        let Some(pair) = pair else {
            mm.add(
                ctx,
                format!("zset element {i} is not [member, score]: {}", jshow(p)),
            );
            return;
        };
        let m = match jbytes(&pair[0]) {
            Ok(m) => m,
            Err(e) => {
                mm.add(ctx, format!("zset member {i}: {e}"));
                return;
            }
        };
        let s = match jscore(&pair[1]) {
            Ok(s) => s,
            Err(e) => {
                mm.add(ctx, format!("zset member {}: {e}", show(&m)));
                return;
            }
        };
        if json.insert(m.clone(), s).is_some() {
            mm.add(
                ctx,
                format!("zset member {} appears twice in JSON", show(&m)),
            );
        }
    }
    if server.len() != json.len() {
        mm.add(
            ctx,
            format!(
                "zset: server has {} members, JSON {}",
                server.len(),
                json.len()
            ),
        );
    }
    for (m, s) in &server {
        match json.get(m) {
            None => mm.add(
                ctx,
                format!("zset member {} (score {s:?}) missing from JSON", show(m)),
            ),
            Some(j) if !same_f64(*s, *j) => mm.add(
                ctx,
                format!("zset member {}: server score {s:?}, JSON {j:?}", show(m)),
            ),
            _ => {}
        }
    }
    for m in json.keys().filter(|m| !server.contains_key(*m)).take(5) {
        mm.add(ctx, format!("zset member {} only in JSON", show(m)));
    }
}

/// Hash-like JSON (object field->x, or [[field, x], ...] pairs). Returns the
/// pairs; `decode` turns the x values into T.
fn jpairs<T>(
    v: &J,
    what: &str,
    ctx: &str,
    mm: &mut Mismatches,
    decode: impl Fn(&J) -> Result<T, String>,
) -> Option<Vec<(Vec<u8>, T)>> {
    let mut out = Vec::new();
    match v {
        J::Object(m) => {
            for (f, x) in m {
                match decode(x) {
                    Ok(x) => out.push((f.as_bytes().to_vec(), x)),
                    Err(e) => {
                        mm.add(ctx, format!("{what} field {f:?}: {e}"));
                        return None;
                    }
                }
            }
        }
        J::Array(a) => {
            for (i, p) in a.iter().enumerate() {
                let Some(pair) = p.as_array().filter(|a| a.len() == 2) else {
                    mm.add(
                        ctx,
                        format!(
                            "{what} element {i} is not a [field, value] pair: {}",
                            jshow(p)
                        ),
                    );
                    return None;
                };
                let f = match jbytes(&pair[0]) {
                    Ok(f) => f,
                    Err(e) => {
                        mm.add(ctx, format!("{what} field {i}: {e}"));
                        return None;
                    }
                };
                match decode(&pair[1]) {
                    Ok(x) => out.push((f, x)),
                    Err(e) => {
                        mm.add(ctx, format!("{what} field {}: {e}", show(&f)));
                        return None;
                    }
                }
            }
            if out.iter().all(|(f, _)| std::str::from_utf8(f).is_ok()) {
                mm.add(ctx, format!("{what} uses the [[field, value]] form although every field is valid UTF-8 (spec: object)"));
            }
        }
        other => {
            mm.add(
                ctx,
                format!("{what} is neither an object nor pairs: {}", jshow(other)),
            );
            return None;
        }
    }
    Some(out)
}

fn pairs_to_map<T: Clone>(
    pairs: Vec<(Vec<u8>, T)>,
    what: &str,
    ctx: &str,
    mm: &mut Mismatches,
) -> BTreeMap<Vec<u8>, T> {
    let mut m = BTreeMap::new();
    for (f, v) in pairs {
        if m.insert(f.clone(), v).is_some() {
            mm.add(ctx, format!("{what}: field {} appears twice", show(&f)));
        }
    }
    m
}

fn cmp_maps<T: PartialEq + std::fmt::Debug>(
    what: &str,
    server: &BTreeMap<Vec<u8>, T>,
    json: &BTreeMap<Vec<u8>, T>,
    fmt: impl Fn(&T) -> String,
    ctx: &str,
    mm: &mut Mismatches,
) {
    if server.len() != json.len() {
        mm.add(
            ctx,
            format!(
                "{what}: server has {} entries, JSON {}",
                server.len(),
                json.len()
            ),
        );
    }
    let mut n = 0;
    for (f, v) in server {
        let msg = match json.get(f) {
            None => format!("{what} {} ({}) missing from JSON", show(f), fmt(v)),
            Some(j) if j != v => format!("{what} {}: server {}, JSON {}", show(f), fmt(v), fmt(j)),
            _ => continue,
        };
        mm.add(ctx, msg);
        n += 1;
        if n >= 5 {
            break;
        }
    }
    for f in json.keys().filter(|f| !server.contains_key(*f)).take(5) {
        mm.add(ctx, format!("{what} {} only in JSON", show(f)));
    }
}

fn cmp_hash(
    kind: Kind,
    con: &mut Connection,
    key: &[u8],
    value: &J,
    fexp: Option<&J>,
    ctx: &str,
    mm: &mut Mismatches,
) {
    let reply = C::new("HGETALL").a(key).run(con);
    let server: BTreeMap<Vec<u8>, Vec<u8>> = varr(&reply)
        .chunks(2)
        .map(|c| (vbytes(&c[0]), vbytes(&c[1])))
        .collect();
    if let Some(p) = jpairs(value, "hash", ctx, mm, jbytes) {
        let json = pairs_to_map(p, "hash", ctx, mm);
        cmp_maps("hash field", &server, &json, |v| show(v), ctx, mm);
    }

    // Field TTLs.
    let json_ttl: BTreeMap<Vec<u8>, i64> = match fexp {
        None => BTreeMap::new(),
        Some(v) => match jpairs(v, "field_expire_ms", ctx, mm, |x| {
            x.as_i64().ok_or_else(|| format!("not an integer: {x}"))
        }) {
            Some(p) => pairs_to_map(p, "field_expire_ms", ctx, mm),
            None => return,
        },
    };
    if fexp.is_some() && json_ttl.is_empty() {
        mm.add(
            ctx,
            "field_expire_ms present but empty (spec: only when fields have TTLs)",
        );
    }
    if !kind.caps().hfe {
        if !json_ttl.is_empty() {
            mm.add(
                ctx,
                format!(
                    "field_expire_ms present but {} has no hash-field TTLs",
                    kind.label()
                ),
            );
        }
        return;
    }
    let fields: Vec<&Vec<u8>> = server.keys().collect();
    let mut server_ttl = BTreeMap::new();
    for chunk in fields.chunks(500) {
        let mut c = C::new("HPEXPIRETIME").a(key).a("FIELDS").a(chunk.len());
        for f in chunk {
            c = c.a(f.as_slice());
        }
        let reply = c.run(con);
        for (f, t) in chunk.iter().zip(varr(&reply)) {
            let t = vint(t).unwrap();
            if t >= 0 {
                server_ttl.insert((*f).clone(), t);
            }
        }
    }
    cmp_maps(
        "field_expire_ms (HPEXPIRETIME) of field",
        &server_ttl,
        &json_ttl,
        |t| t.to_string(),
        ctx,
        mm,
    );
}

// ---------------------------------------------------------------- streams

fn jget<'a>(o: &'a J, k: &str) -> Option<&'a J> {
    o.as_object().and_then(|m| m.get(k))
}

/// Compare an optional scalar: the server value formatted as string vs the
/// JSON value (string ids or numbers).
fn cmp_scalar(ctx: &str, what: &str, server: &str, json: Option<&J>, mm: &mut Mismatches) {
    let j = match json {
        Some(J::String(s)) => s.clone(),
        Some(J::Number(n)) => n.to_string(),
        Some(other) => other.to_string(),
        None => "<absent>".into(),
    };
    if j != server {
        mm.add(ctx, format!("{what}: server {server}, JSON {j}"));
    }
}

fn cmp_stream(
    kind: Kind,
    con: &mut Connection,
    key: &[u8],
    value: &J,
    ctx: &str,
    mm: &mut Mismatches,
) {
    let caps = kind.caps();
    // Entries.
    let reply = C::new("XRANGE").a(key).a("-").a("+").run(con);
    type Fields = Vec<(Vec<u8>, Vec<u8>)>;
    let server_entries: Vec<(String, Fields)> = varr(&reply)
        .iter()
        .map(|e| {
            let e = varr(e);
            let fields = varr(&e[1])
                .chunks(2)
                .map(|c| (vbytes(&c[0]), vbytes(&c[1])))
                .collect();
            (vstr(&e[0]), fields)
        })
        .collect();
    match jget(value, "entries").and_then(J::as_array) {
        None => mm.add(ctx, "stream value has no \"entries\" array"),
        Some(entries) => {
            if entries.len() != server_entries.len() {
                mm.add(
                    ctx,
                    format!(
                        "stream entries: server {}, JSON {}",
                        server_entries.len(),
                        entries.len()
                    ),
                );
            }
            for (i, (je, (sid, sfields))) in entries.iter().zip(&server_entries).enumerate() {
                let jid = jget(je, "id").and_then(J::as_str).unwrap_or("<missing>");
                if jid != sid {
                    mm.add(
                        ctx,
                        format!("stream entry {i}: server id {sid}, JSON id {jid}"),
                    );
                    break;
                }
                let Some(jf) = jget(je, "fields") else {
                    mm.add(ctx, format!("stream entry {sid}: no fields"));
                    break;
                };
                let Some(jf) = jpairs(jf, &format!("stream entry {sid} fields"), ctx, mm, jbytes)
                else {
                    break;
                };
                if &jf != sfields {
                    let show_f = |f: &[(Vec<u8>, Vec<u8>)]| {
                        f.iter()
                            .map(|(a, b)| format!("{}={}", show(a), show(b)))
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    mm.add(
                        ctx,
                        format!(
                            "stream entry {sid}: server fields [{}], JSON [{}]",
                            show_f(sfields),
                            show_f(&jf)
                        ),
                    );
                    break;
                }
            }
        }
    }

    // Stream metadata.
    let full = vmap(
        &C::new("XINFO")
            .a("STREAM")
            .a(key)
            .a("FULL")
            .a("COUNT")
            .a(0)
            .run(con),
    );
    cmp_scalar(
        ctx,
        "length",
        &vstr(&full["length"]),
        jget(value, "length"),
        mm,
    );
    cmp_scalar(
        ctx,
        "last_id",
        &vstr(&full["last-generated-id"]),
        jget(value, "last_id"),
        mm,
    );
    if caps.stream_v2 {
        for (sk, jk) in [
            ("max-deleted-entry-id", "max_deleted_id"),
            ("entries-added", "entries_added"),
            ("recorded-first-entry-id", "first_id"),
        ] {
            if let Some(v) = full.get(sk) {
                cmp_scalar(ctx, jk, &vstr(v), jget(value, jk), mm);
            }
        }
    }

    // Groups.
    let server_groups: Vec<HashMap<String, Value>> =
        varr(&full["groups"]).iter().map(vmap).collect();
    let jgroups: Vec<J> = jget(value, "groups")
        .and_then(J::as_array)
        .cloned()
        .unwrap_or_default();
    if jget(value, "groups").is_none() {
        mm.add(ctx, "stream value has no \"groups\"");
    }
    let xinfo_groups = C::new("XINFO").a("GROUPS").a(key).run(con);
    if varr(&xinfo_groups).len() != jgroups.len() || server_groups.len() != jgroups.len() {
        mm.add(
            ctx,
            format!(
                "consumer groups: server XINFO GROUPS {}, JSON {}",
                varr(&xinfo_groups).len(),
                jgroups.len()
            ),
        );
    }
    let mut jg_by_name: BTreeMap<Vec<u8>, &J> = BTreeMap::new();
    for g in &jgroups {
        match jget(g, "name").map(jbytes) {
            Some(Ok(n)) => {
                jg_by_name.insert(n, g);
            }
            other => mm.add(ctx, format!("group without a valid name: {other:?}")),
        }
    }
    for sg in &server_groups {
        let name = vbytes(&sg["name"]);
        let gctx = format!("{ctx} group {}", show(&name));
        let Some(jg) = jg_by_name.get(&name) else {
            mm.add(&gctx, "missing from JSON");
            continue;
        };
        cmp_scalar(
            &gctx,
            "last_delivered_id",
            &vstr(&sg["last-delivered-id"]),
            jget(jg, "last_delivered_id"),
            mm,
        );
        if caps.stream_v2 {
            match sg.get("entries-read") {
                Some(Value::Nil) => {
                    // Unknown on the server side (stored as -1 / u64::MAX).
                    let j = jget(jg, "entries_read");
                    let ok = match j {
                        None | Some(J::Null) => true,
                        Some(J::Number(n)) => {
                            n.as_i64() == Some(-1) || n.as_u64() == Some(u64::MAX)
                        }
                        _ => false,
                    };
                    if !ok {
                        mm.add(
                            &gctx,
                            format!("entries_read: server nil (invalid), JSON {j:?}"),
                        );
                    }
                }
                Some(v) => cmp_scalar(
                    &gctx,
                    "entries_read",
                    &vstr(v),
                    jget(jg, "entries_read"),
                    mm,
                ),
                None => {}
            }
        }

        // Group PEL: XINFO STREAM FULL gives id, consumer, delivery-time, count.
        let server_pel: BTreeMap<String, (Vec<u8>, i64, i64)> = varr(&sg["pending"])
            .iter()
            .map(|p| {
                let p = varr(p);
                (
                    vstr(&p[0]),
                    (vbytes(&p[1]), vint(&p[2]).unwrap(), vint(&p[3]).unwrap()),
                )
            })
            .collect();
        let mut json_pel = BTreeMap::new();
        for p in jget(jg, "pending")
            .and_then(J::as_array)
            .map(|a| a.as_slice())
            .unwrap_or(&[])
        {
            let id = jget(p, "id")
                .and_then(J::as_str)
                .unwrap_or("<missing>")
                .to_string();
            let consumer = match jget(p, "consumer").map(jbytes) {
                Some(Ok(c)) => c,
                other => {
                    mm.add(&gctx, format!("pending {id}: bad consumer {other:?}"));
                    Vec::new()
                }
            };
            let t = jget(p, "delivery_time_ms")
                .and_then(J::as_i64)
                .unwrap_or(i64::MIN);
            let n = jget(p, "delivery_count")
                .and_then(J::as_i64)
                .unwrap_or(i64::MIN);
            json_pel.insert(id, (consumer, t, n));
        }
        if jget(jg, "pending").and_then(J::as_array).is_none() {
            mm.add(&gctx, "no \"pending\" array");
        }
        let pel_fmt = |v: &(Vec<u8>, i64, i64)| {
            format!(
                "consumer {} delivery_time_ms {} delivery_count {}",
                show(&v.0),
                v.1,
                v.2
            )
        };
        let sp: BTreeMap<Vec<u8>, _> = server_pel
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
            .collect();
        let jp: BTreeMap<Vec<u8>, _> = json_pel
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
            .collect();
        cmp_maps("PEL entry", &sp, &jp, pel_fmt, &gctx, mm);
        // XPENDING summary count.
        let summary = C::new("XPENDING").a(key).a(name.as_slice()).run(con);
        let count = vint(&varr(&summary)[0]).unwrap();
        if count as usize != json_pel.len() {
            mm.add(
                &gctx,
                format!("XPENDING count {count}, JSON pending {}", json_pel.len()),
            );
        }

        // Consumers.
        let server_cons: Vec<HashMap<String, Value>> =
            varr(&sg["consumers"]).iter().map(vmap).collect();
        let jcons: Vec<J> = jget(jg, "consumers")
            .and_then(J::as_array)
            .cloned()
            .unwrap_or_default();
        let xcons = C::new("XINFO")
            .a("CONSUMERS")
            .a(key)
            .a(name.as_slice())
            .run(con);
        let xcons: Vec<HashMap<String, Value>> = varr(&xcons).iter().map(vmap).collect();
        if xcons.len() != jcons.len() || server_cons.len() != jcons.len() {
            mm.add(
                &gctx,
                format!("consumers: server {}, JSON {}", xcons.len(), jcons.len()),
            );
        }
        let mut jc_by_name: BTreeMap<Vec<u8>, &J> = BTreeMap::new();
        for c in &jcons {
            match jget(c, "name").map(jbytes) {
                Some(Ok(n)) => {
                    jc_by_name.insert(n, c);
                }
                other => mm.add(&gctx, format!("consumer without a valid name: {other:?}")),
            }
        }
        for sc in &server_cons {
            let cname = vbytes(&sc["name"]);
            let cctx = format!("{gctx} consumer {}", show(&cname));
            let Some(jc) = jc_by_name.get(&cname) else {
                mm.add(&cctx, "missing from JSON");
                continue;
            };
            cmp_scalar(
                &cctx,
                "seen_time_ms",
                &vstr(&sc["seen-time"]),
                jget(jc, "seen_time_ms"),
                mm,
            );
            if caps.active_time {
                if let Some(a) = sc.get("active-time") {
                    cmp_scalar(
                        &cctx,
                        "active_time_ms",
                        &vstr(a),
                        jget(jc, "active_time_ms"),
                        mm,
                    );
                }
            }
            let mut s_ids: Vec<String> = varr(&sc["pending"])
                .iter()
                .map(|p| vstr(&varr(p)[0]))
                .collect();
            let mut j_ids: Vec<String> = jget(jc, "pending")
                .and_then(J::as_array)
                .map(|a| {
                    a.iter()
                        .map(|x| x.as_str().unwrap_or("<non-string>").to_string())
                        .collect()
                })
                .unwrap_or_else(|| vec!["<no pending array>".into()]);
            s_ids.sort();
            j_ids.sort();
            if s_ids != j_ids {
                mm.add(
                    &cctx,
                    format!("pending ids: server {s_ids:?}, JSON {j_ids:?}"),
                );
            }
            if let Some(x) = xcons.iter().find(|x| vbytes(&x["name"]) == cname) {
                let n = vint(&x["pending"]).unwrap();
                if n as usize != j_ids.len() {
                    mm.add(
                        &cctx,
                        format!("XINFO CONSUMERS pending {n}, JSON {}", j_ids.len()),
                    );
                }
            }
        }
        for n in jc_by_name
            .keys()
            .filter(|n| !server_cons.iter().any(|sc| &vbytes(&sc["name"]) == *n))
        {
            mm.add(&gctx, format!("consumer {} only in JSON", show(n)));
        }
    }
    for n in jg_by_name
        .keys()
        .filter(|n| !server_groups.iter().any(|sg| &vbytes(&sg["name"]) == *n))
    {
        mm.add(ctx, format!("group {} only in JSON", show(n)));
    }
}

fn cmp_module(
    con: &mut Connection,
    key: &[u8],
    server_type: &str,
    value: &J,
    ctx: &str,
    mm: &mut Mismatches,
) {
    cmp_scalar(ctx, "module name", server_type, jget(value, "module"), mm);
    if jget(value, "version").and_then(J::as_u64).is_none() {
        mm.add(ctx, format!("module version missing: {}", jshow(value)));
    }
    // The raw module payload must be a part of the server's DUMP payload.
    let dump = vbytes(&C::new("DUMP").a(key).run(con));
    let raw = match jget(value, "raw")
        .and_then(|r| r.as_object())
        .and_then(|o| o.get("base64"))
        .and_then(J::as_str)
    {
        Some(s) => base64_decode(s),
        None => None,
    };
    match raw {
        None => mm.add(
            ctx,
            format!("module raw is not {{\"base64\":...}}: {}", jshow(value)),
        ),
        Some(r) if r.is_empty() => mm.add(ctx, "module raw is empty"),
        Some(r) => {
            if !dump.windows(r.len()).any(|w| w == r.as_slice()) {
                mm.add(
                    ctx,
                    format!(
                        "module raw {} is not part of DUMP payload {}",
                        show(&r),
                        show(&dump)
                    ),
                );
            }
        }
    }
}

// ---------------------------------------------------------------- functions, aux

fn compare_functions(kind: Kind, con: &mut Connection, dump: &Dump, mm: &mut Mismatches) {
    if !kind.caps().functions {
        if !dump.functions.is_empty() {
            mm.add(
                "functions",
                format!(
                    "{} function lines but {} has no functions",
                    dump.functions.len(),
                    kind.label()
                ),
            );
        }
        return;
    }
    let reply = C::new("FUNCTION").a("LIST").a("WITHCODE").run(con);
    let mut server: Vec<String> = varr(&reply)
        .iter()
        .map(|l| vstr(&vmap(l)["library_code"]))
        .collect();
    let mut json = dump.functions.clone();
    server.sort();
    json.sort();
    if server != json {
        let f = |v: &[String]| {
            v.iter()
                .map(|s| trunc(s, 60))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        mm.add(
            "functions",
            format!(
                "FUNCTION LIST library_code: [{}], JSON function lines: [{}]",
                f(&server),
                f(&json)
            ),
        );
    }
}

fn compare_aux(server: &Server, con: &mut Connection, dump: &Dump, mm: &mut Mismatches) {
    let version = server.version(con);
    let want: &[u8] = if server.kind.is_valkey() {
        b"valkey-ver"
    } else {
        b"redis-ver"
    };
    let found: Vec<&Vec<u8>> = dump
        .aux
        .iter()
        .filter(|(k, _)| k == want)
        .map(|(_, v)| v)
        .collect();
    if found.len() != 1 || found[0] != version.as_bytes() {
        mm.add(
            "aux",
            format!(
                "expected one aux {} = {version:?}, JSON has {:?}",
                String::from_utf8_lossy(want),
                found.iter().map(|v| show(v)).collect::<Vec<_>>()
            ),
        );
    }
    if !dump
        .aux
        .iter()
        .any(|(k, v)| k == b"redis-bits" && v == b"64")
    {
        mm.add("aux", "no aux redis-bits = 64");
    }
}

// ---------------------------------------------------------------- driver

/// The whole round trip for one server kind: start, fill, SAVE, convert,
/// compare. Panics listing every mismatch.
pub fn round_trip(kind: Kind) {
    round_trip_with(kind, &|rdb| {
        run_convert(rdb, &["--format", "json", "--with-meta"])
    });
}

/// The round trip with another way of producing the NDJSON from the dump (e.g. through a
/// Parquet export read back by DuckDB).
pub fn round_trip_with(kind: Kind, convert: &dyn Fn(&Path) -> String) {
    let t0 = std::time::Instant::now();
    let server = Server::start(kind);
    let mut con = server.conn();
    let filled = super::fill::fill(&mut con, kind);
    let rdb = server.save(&mut con);
    let snap = snapshot(&mut con);
    let t_fill = t0.elapsed();

    let text = convert(&rdb);
    let mut mm = Mismatches::default();
    let dump = parse_ndjson(&text, &mut mm);
    let stats = compare_all(&server, &mut con, &snap, &dump, &mut mm);
    let magic = std::fs::read(&rdb)
        .map(|b| String::from_utf8_lossy(&b[..9.min(b.len())]).to_string())
        .unwrap_or_default();
    eprintln!(
        "{}: {magic}, {} bytes, {} keys compared ({:?} per db), {} function(s), fill+save {:.2?}, total {:.2?}",
        kind.label(),
        std::fs::metadata(&rdb).map(|m| m.len()).unwrap_or(0),
        stats.keys,
        filled.keys_per_db,
        filled.functions.len(),
        t_fill,
        t0.elapsed()
    );
    let enc: Vec<String> = stats
        .encodings
        .iter()
        .map(|((t, e), n)| format!("{t}/{e}:{n}"))
        .collect();
    eprintln!(
        "{}: JSON type/encoding counts: {}",
        kind.label(),
        enc.join(" ")
    );
    mm.assert_none(kind.label());
    drop(server);
}
