//! Comparing each key's value with what the server reports: strings, lists, sets, sorted
//! sets and hashes (with field TTLs).

use super::*;

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
pub(super) fn compare_key(
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

pub(super) fn cmp_string(
    con: &mut Connection,
    key: &[u8],
    value: &J,
    ctx: &str,
    mm: &mut Mismatches,
) {
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

pub(super) fn jbytes_array(value: &J, ctx: &str, mm: &mut Mismatches) -> Option<Vec<Vec<u8>>> {
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

pub(super) fn first_diff(
    ctx: &str,
    what: &str,
    server: &[Vec<u8>],
    json: &[Vec<u8>],
    mm: &mut Mismatches,
) {
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

pub(super) fn cmp_list(
    con: &mut Connection,
    key: &[u8],
    value: &J,
    ctx: &str,
    mm: &mut Mismatches,
) {
    let server: Vec<Vec<u8>> = varr(&C::new("LRANGE").a(key).a(0).a(-1).run(con))
        .iter()
        .map(vbytes)
        .collect();
    if let Some(json) = jbytes_array(value, ctx, mm) {
        first_diff(ctx, "list", &server, &json, mm);
    }
}

pub(super) fn cmp_set(con: &mut Connection, key: &[u8], value: &J, ctx: &str, mm: &mut Mismatches) {
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

pub(super) fn cmp_zset(
    con: &mut Connection,
    key: &[u8],
    value: &J,
    ctx: &str,
    mm: &mut Mismatches,
) {
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
pub(super) fn jpairs<T>(
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

pub(super) fn pairs_to_map<T: Clone>(
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

pub(super) fn cmp_maps<T: PartialEq + std::fmt::Debug>(
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

pub(super) fn cmp_hash(
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
