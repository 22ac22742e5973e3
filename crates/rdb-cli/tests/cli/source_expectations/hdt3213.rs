//! Expectations of HDT3213/rdb (`cases/*.json`).
//!
//! HDT3213/rdb `model/model.go` + `helper/converter_test.go` (the generator of `cases/*.json`):
//! * one JSON array per file, one object per key: `db`, `key`, `type`, `expiration` (a Go
//!   `*time.Time`, RFC 3339 with the local zone: the test pins `time.Local` to CST, +08:00; absent
//!   for persistent keys), and `value` (string), `values` (list), `members` (set, file order),
//!   `hash` (map; plus `expire` field → unix ms, 0 = no TTL, only when every field has an entry,
//!   i.e. for HASH_METADATA / HASH_LISTPACK_EX / Valkey HASH_2), `entries` (zset:
//!   `[{member, score}]`, score a Go float64 in shortest form; Go cannot encode ±inf/NaN).
//! * aux fields (`type: "aux"`) and FUNCTION2 libraries (`type: "functions"`, `functionsLua`) only
//!   in files generated after they were added (function.json).
//! * byte strings go through Go `string(b)` + `encoding/json`: every byte that does not start a
//!   valid UTF-8 sequence becomes U+FFFD (one per byte). Our bytes are put through the same rule
//!   (`go_str`); the comparison is then exact. Go maps are written with sorted keys, so hash field
//!   order and stream-message field order are not compared.
//! * streams (`model/stream.go`): `entries` are the radix-tree nodes, each with `msgs`
//!   (`{id, fields, deleted}`), deleted messages included; `len`, `lastId`; for v2+ `firstId`,
//!   `maxDeletedId`, `addedEntriesCount` (omitempty: absent = 0); groups `{name, lastId, pending:
//!   [{id, deliveryTime, deliveryCount}], consumers: [{name, seenTime, activeTime, pending: [id]}],
//!   entriesRead}` (omitempty). Files made by older versions say `"isV2": true` instead of
//!   `"version"`. For v1 streams entriesRead is not written (Redis estimates it), so it is compared
//!   only for v2+.
//! * `memory_regex.json` is `memory.rdb` filtered with the regex `^l.*` (TestToJsonWithRegex).

use super::*;

const HDT_EXCEPTIONS: &[Exception] = &[];

/// Go's `encoding/json` view of a byte string (invalid UTF-8 → one U+FFFD per byte).
fn go_str(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        s.push_str(chunk.valid());
        for _ in chunk.invalid() {
            s.push('\u{FFFD}');
        }
    }
    s
}

/// RFC 3339 (`2022-12-25T18:11:12.573+08:00`, `...Z`) → unix ms.
fn rfc3339_ms(s: &str) -> Option<i64> {
    fn num(s: &str) -> Option<i64> {
        s.parse().ok()
    }
    let (date, rest) = s.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    // zone
    let (time, offset_s) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0)
    } else {
        let i = rest.rfind(['+', '-'])?;
        let (t, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (zh, zm) = z[1..].split_once(':')?;
        (t, sign * (num(zh)? * 3600 + num(zm)? * 60))
    };
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':');
    let (hh, mm, ss) = (num(t.next()?)?, num(t.next()?)?, num(t.next()?)?);
    let mut frac_ms = 0i64;
    for (i, c) in frac.chars().take(3).enumerate() {
        frac_ms += c.to_digit(10)? as i64 * [100, 10, 1][i];
    }
    // days from civil (Howard Hinnant)
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some((days * 86400 + hh * 3600 + mm * 60 + ss - offset_s) * 1000 + frac_ms)
}

fn hdt_str_list(v: &J) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().unwrap_or("<non-string>").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A JSON number or stream-id string compared loosely: HDT writes ids as strings, times as numbers.
fn hdt_u64(v: Option<&J>) -> J {
    v.cloned().unwrap_or(json!(0))
}

/// Our stream value → HDT3213's shape (deleted messages dropped on their side, node split ignored).
fn hdt_stream_ours(v: &J, v2: bool) -> J {
    let entries: Vec<J> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let fields: BTreeMap<String, String> = pairs(&e["fields"])
                .into_iter()
                .map(|(f, v)| (go_str(&f), go_str(&bytes(&v))))
                .collect();
            json!({"id": e["id"], "fields": fields})
        })
        .collect();
    let groups: Vec<J> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let pending: Vec<J> = g["pending"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| json!({"id": p["id"], "deliveryTime": p["delivery_time_ms"], "deliveryCount": p["delivery_count"]}))
                .collect();
            let consumers: Vec<J> = g["consumers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    json!({"name": go_str(&bytes(&c["name"])), "seenTime": c["seen_time_ms"],
                           "activeTime": c["active_time_ms"], "pending": c["pending"]})
                })
                .collect();
            let mut o = json!({"name": go_str(&bytes(&g["name"])), "lastId": g["last_delivered_id"],
                               "pending": pending, "consumers": consumers});
            if v2 {
                o["entriesRead"] = g["entries_read"].clone();
            }
            o
        })
        .collect();
    let mut o =
        json!({"entries": entries, "len": v["length"], "lastId": v["last_id"], "groups": groups});
    if v2 {
        o["firstId"] = v["first_id"].clone();
        o["maxDeletedId"] = v["max_deleted_id"].clone();
        o["addedEntriesCount"] = v["entries_added"].clone();
    }
    o
}

/// HDT3213's stream object → the shape above.
fn hdt_stream_theirs(e: &J, v2: bool) -> J {
    let mut entries = Vec::new();
    for node in e["entries"].as_array().into_iter().flatten() {
        for m in node["msgs"].as_array().into_iter().flatten() {
            if m["deleted"].as_bool() == Some(true) {
                continue;
            }
            let fields: BTreeMap<String, String> = m["fields"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            entries.push(json!({"id": m["id"], "fields": fields}));
        }
    }
    let groups: Vec<J> = e["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            let pending: Vec<J> = g["pending"].as_array().cloned().unwrap_or_default();
            let consumers: Vec<J> = g["consumers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    json!({"name": c["name"], "seenTime": c["seenTime"], "activeTime": c["activeTime"],
                           "pending": c.get("pending").cloned().unwrap_or(json!([]))})
                })
                .collect();
            let mut o = json!({"name": g["name"], "lastId": g["lastId"], "pending": pending, "consumers": consumers});
            if v2 {
                o["entriesRead"] = hdt_u64(g.get("entriesRead"));
            }
            o
        })
        .collect();
    let mut o =
        json!({"entries": entries, "len": e["len"], "lastId": e["lastId"], "groups": groups});
    if v2 {
        o["firstId"] = e["firstId"].clone();
        o["maxDeletedId"] = e["maxDeletedId"].clone();
        o["addedEntriesCount"] = hdt_u64(e.get("addedEntriesCount"));
    }
    o
}

/// Compare one HDT3213 key object with our key; returns the differences.
fn hdt_compare_key(exp: &J, ours: &Key) -> Vec<String> {
    let mut diffs = Vec::new();
    let ty = exp["type"].as_str().unwrap_or("");
    if ty != ours.ty {
        diffs.push(format!("type: ours {} expected {ty}", ours.ty));
        return diffs;
    }
    // expiry
    let exp_expire = exp.get("expiration").map(|s| {
        rfc3339_ms(s.as_str().expect("expiration string"))
            .unwrap_or_else(|| panic!("bad expiration {s}"))
    });
    if exp_expire != ours.expire_ms {
        diffs.push(format!(
            "expiry: ours {:?} expected {:?} ({})",
            ours.expire_ms,
            exp_expire,
            exp.get("expiration").unwrap_or(&J::Null)
        ));
    }
    let v = &ours.value;
    match ty {
        "string" => {
            let (o, e) = (
                go_str(&bytes(v)),
                exp["value"].as_str().unwrap_or("<missing>"),
            );
            if o != e {
                diffs.push(format!(
                    "value: ours {:?} expected {:?}",
                    trunc(&o, 200),
                    trunc(e, 200)
                ));
            }
        }
        "list" => {
            let o: Vec<String> = list_of(v).iter().map(|b| go_str(b)).collect();
            let e = hdt_str_list(&exp["values"]);
            if o != e {
                diffs.push(format!(
                    "list: ours {} elements {:?} expected {} elements {:?}",
                    o.len(),
                    trunc(&format!("{o:?}"), 300),
                    e.len(),
                    trunc(&format!("{e:?}"), 300)
                ));
            }
        }
        "set" => {
            let mut o: Vec<String> = list_of(v).iter().map(|b| go_str(b)).collect();
            let mut e = hdt_str_list(&exp["members"]);
            o.sort();
            e.sort();
            if o != e {
                diffs.push(format!(
                    "set: ours {:?} expected {:?}",
                    trunc(&format!("{o:?}"), 300),
                    trunc(&format!("{e:?}"), 300)
                ));
            }
        }
        "zset" => {
            let mut o: Vec<(String, f64)> = zset_of(v)
                .into_iter()
                .map(|(m, s)| (go_str(&m), s))
                .collect();
            let mut e: Vec<(String, f64)> = exp["entries"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| {
                    (
                        x["member"].as_str().unwrap().to_string(),
                        x["score"].as_f64().unwrap(),
                    )
                })
                .collect();
            o.sort_by(|a, b| a.0.cmp(&b.0));
            e.sort_by(|a, b| a.0.cmp(&b.0));
            let same = o.len() == e.len()
                && o.iter()
                    .zip(&e)
                    .all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits());
            if !same {
                let bad: Vec<String> = o
                    .iter()
                    .zip(&e)
                    .filter(|(a, b)| a.0 != b.0 || a.1.to_bits() != b.1.to_bits())
                    .take(5)
                    .map(|(a, b)| format!("ours {a:?} expected {b:?}"))
                    .collect();
                diffs.push(format!(
                    "zset: ours {} members, expected {}; first differences: {}",
                    o.len(),
                    e.len(),
                    bad.join("; ")
                ));
            }
        }
        "hash" => {
            let o: BTreeMap<String, String> = hash_of(v)
                .iter()
                .map(|(f, v)| (go_str(f), go_str(v)))
                .collect();
            let e: BTreeMap<String, String> = exp["hash"]
                .as_object()
                .expect("hash object")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            if o != e {
                let only_o: Vec<_> = o
                    .iter()
                    .filter(|(k, v)| e.get(*k) != Some(v))
                    .take(5)
                    .collect();
                let only_e: Vec<_> = e
                    .iter()
                    .filter(|(k, v)| o.get(*k) != Some(v))
                    .take(5)
                    .collect();
                diffs.push(format!(
                    "hash ({} vs {} fields): ours-only {only_o:?} expected-only {only_e:?}",
                    o.len(),
                    e.len()
                ));
            }
            // field TTLs: HDT writes `expire` (0 = none) only when every field has an entry.
            let o_ttl: BTreeMap<String, i64> = ours
                .field_expire
                .iter()
                .map(|(f, ms)| (go_str(f), *ms))
                .collect();
            match exp.get("expire") {
                Some(e) => {
                    let e: BTreeMap<String, i64> = e
                        .as_object()
                        .unwrap()
                        .iter()
                        .filter(|(_, ms)| ms.as_i64() != Some(0))
                        .map(|(k, ms)| (k.clone(), ms.as_i64().unwrap()))
                        .collect();
                    if o_ttl != e {
                        diffs.push(format!("field TTLs: ours {o_ttl:?} expected {e:?}"));
                    }
                }
                None if !o_ttl.is_empty() => {
                    diffs.push(format!("field TTLs: ours {o_ttl:?}, expected none"))
                }
                None => {}
            }
        }
        "stream" => {
            let v2 =
                exp["version"].as_u64().unwrap_or(1) >= 2 || exp["isV2"].as_bool() == Some(true);
            let (o, e) = (hdt_stream_ours(v, v2), hdt_stream_theirs(exp, v2));
            for field in [
                "len",
                "lastId",
                "firstId",
                "maxDeletedId",
                "addedEntriesCount",
                "groups",
                "entries",
            ] {
                let (a, b) = (
                    o.get(field).unwrap_or(&J::Null),
                    e.get(field).unwrap_or(&J::Null),
                );
                if let Some(d) = json_diff(a, b, field) {
                    diffs.push(format!("stream {d}"));
                }
            }
        }
        other => diffs.push(format!("unhandled HDT3213 type {other}")),
    }
    diffs
}

#[test]
fn hdt3213_expected_json() {
    let dir = corpus().join("HDT3213-rdb");
    let mut report = Report::default();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir.join("expected"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut skipped = Vec::new();
    for path in names {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = name.strip_suffix(".json") else {
            skipped.push(name); // .aof / .csv: AOF conversion and memory reports, not values
            continue;
        };
        // memory_regex.json = memory.rdb filtered with `^l.*` (helper/converter_test.go TestToJsonWithRegex).
        let (rdb, filter): (&str, Option<&str>) = if stem == "memory_regex" {
            ("memory", Some("l"))
        } else {
            (stem, None)
        };
        let rdb_path = dir.join(format!("{rdb}.rdb"));
        assert!(rdb_path.exists(), "{name}: no dump {}", rdb_path.display());
        let ctx = format!("HDT3213/{name}");
        let exp: Vec<J> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut dump = match convert(&rdb_path) {
            Ok(d) => d,
            Err(e) => {
                report.add(&ctx, format!("rdb-convert failed: {e}"));
                continue;
            }
        };
        if let Some(prefix) = filter {
            dump.keys.retain(|k| k.key.starts_with(prefix.as_bytes()));
        }
        report.files += 1;
        let mut n_keys = 0;
        let mut seen = BTreeSet::new();
        for e in &exp {
            match e["type"].as_str().unwrap_or("") {
                "aux" => {
                    let (k, v) = (e["key"].as_str().unwrap(), e["value"].as_str().unwrap());
                    if !dump
                        .aux
                        .iter()
                        .any(|(ok, ov)| go_str(ok) == k && go_str(ov) == v)
                    {
                        report.add(
                            &ctx,
                            format!(
                                "aux {k}={v:?} not in our aux {:?}",
                                dump.aux
                                    .iter()
                                    .map(|(a, b)| (go_str(a), go_str(b)))
                                    .collect::<Vec<_>>()
                            ),
                        );
                    }
                }
                "functions" => {
                    let code = e["functionsLua"].as_str().unwrap();
                    if !dump.functions.iter().any(|f| go_str(f) == code) {
                        report.add(
                            &ctx,
                            format!("function {:?} not among ours", trunc(code, 80)),
                        );
                    }
                }
                _ => {
                    n_keys += 1;
                    let db = e["db"].as_u64().unwrap();
                    let key = e["key"].as_str().unwrap();
                    seen.insert((db, key.to_string()));
                    let ours: Vec<&Key> = dump
                        .keys
                        .iter()
                        .filter(|k| k.db == db && go_str(&k.key) == key)
                        .collect();
                    let kctx = format!("{ctx}: db{db} key {key:?}");
                    match ours.as_slice() {
                        [] => report.add(&kctx, "missing from our output"),
                        [k] => {
                            for d in hdt_compare_key(e, k) {
                                report.add(&kctx, d);
                            }
                        }
                        _ => report.add(
                            &kctx,
                            format!("{} keys of ours map to this name", ours.len()),
                        ),
                    }
                }
            }
        }
        for k in &dump.keys {
            if !seen.contains(&(k.db, go_str(&k.key))) {
                report.add(
                    &ctx,
                    format!(
                        "db{} key {} in our output but not in the expectation",
                        k.db,
                        show(&k.key)
                    ),
                );
            }
        }
        report.keys += n_keys;
        report.per_file.push(format!("{name}: {n_keys} keys"));
    }
    report.per_file.push(format!(
        "not compared (not about values): {}",
        skipped.join(", ")
    ));
    report.finish("HDT3213/rdb expected JSON", HDT_EXCEPTIONS);
}
