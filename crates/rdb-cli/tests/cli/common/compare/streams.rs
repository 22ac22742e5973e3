//! Comparing streams (entries, metadata, consumer groups) and module values.

use super::*;

pub(super) fn jget<'a>(o: &'a J, k: &str) -> Option<&'a J> {
    o.as_object().and_then(|m| m.get(k))
}

/// Compare an optional scalar: the server value formatted as string vs the
/// JSON value (string ids or numbers).
pub(super) fn cmp_scalar(
    ctx: &str,
    what: &str,
    server: &str,
    json: Option<&J>,
    mm: &mut Mismatches,
) {
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

pub(super) fn cmp_stream(
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

pub(super) fn cmp_module(
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
