//! The `roundtrip` target: decode → encode → decode is the identity.

use rdb_format::owned::{OwnedStr, OwnedValue};
use rdb_format::{Scratch, Value, Version};

use super::VERSIONS;

/// Targets the `roundtrip` target re-encodes every value for: Redis RDB 5–12 and Valkey 80.
pub fn roundtrip_targets() -> impl Iterator<Item = Version> {
    VERSIONS[4..12].iter().chain(&VERSIONS[15..16]).copied()
}

/// The `roundtrip` target: the `value` input (type byte, version selector, payload). A value
/// that decodes whole is encoded for every target of [`roundtrip_targets`]; the encoder either
/// says the target cannot hold it, or writes bytes that decode (as the type byte it returned,
/// for that target) to the same value: the same elements, in the same order where order is
/// part of the type, with integers and their decimal strings counted as equal.
pub fn roundtrip(data: &[u8]) {
    let [t, v, payload @ ..] = data else { return };
    let version = VERSIONS[usize::from(*v) % VERSIONS.len()];
    let scratch = Scratch::new();
    let Ok(value) = Value::decode(*t, version, payload, &scratch) else {
        return;
    };
    let Ok(want) = value.to_owned_value().map(|v| picture(&v)) else {
        return;
    };
    for target in roundtrip_targets() {
        let mut bytes = Vec::new();
        let ty = match rdb_format::write::encode_value(&value, target, &mut bytes) {
            Ok(ty) => ty,
            Err(rdb_format::write::EncodeError::Unsupported { .. }) => continue,
            Err(e) => panic!("encoding a value that decoded whole for {target} failed: {e}"),
        };
        let again = Scratch::new();
        let back = Value::decode(ty, target, &bytes, &again)
            .and_then(OwnedValue::from_value)
            .map(|v| picture(&v))
            .unwrap_or_else(|e| {
                panic!("the value encoded for {target} as type {ty} does not decode: {e}")
            });
        let (mut a, mut b) = (want.clone(), back);
        align_pictures(&mut a, &mut b);
        assert!(
            a == b,
            "the value encoded for {target} as type {ty} decodes differently:\n\
             source ({version}, type {t}): {a:?}\nre-encoded: {b:?}"
        );
    }
}

/// A comparable picture of a value: a kind, the elements as tokens (sorted where the type
/// has no order), and stream metadata split out so layouts that lack a field can drop it.
#[derive(Clone, Debug, PartialEq)]
struct Picture {
    kind: &'static str,
    elements: Vec<Vec<u8>>,
    /// Layout 2+ stream metadata: first id, max deleted id, entries added, and each group's
    /// entries_read.
    stream_v2: Option<Vec<String>>,
    /// Layout 3 consumer active times.
    stream_v3: Option<Vec<Option<i64>>>,
}

/// Integers and their decimal text give the same token.
fn token(s: &OwnedStr) -> Vec<u8> {
    s.to_vec()
}

fn picture(v: &OwnedValue) -> Picture {
    let mut p = Picture {
        kind: "",
        elements: Vec::new(),
        stream_v2: None,
        stream_v3: None,
    };
    let mut sort = true;
    match v {
        OwnedValue::String(s) => {
            p.kind = "string";
            p.elements.push(token(s));
        }
        OwnedValue::Module(m) => {
            p.kind = "module";
            p.elements.push(m.id.0.to_le_bytes().to_vec());
            p.elements.push(m.raw.clone());
        }
        OwnedValue::List(items) => {
            p.kind = "list";
            sort = false;
            p.elements.extend(items.iter().map(token));
        }
        OwnedValue::Set(members) => {
            p.kind = "set";
            p.elements.extend(members.iter().map(token));
        }
        OwnedValue::ZSet(members) => {
            p.kind = "zset";
            for m in members {
                // Any NaN is one NaN; otherwise bit for bit (so -0 stays -0).
                let bits = if m.score.is_nan() {
                    u64::MAX
                } else {
                    m.score.to_bits()
                };
                let mut t = token(&m.member);
                t.extend_from_slice(b"\0score=");
                t.extend_from_slice(&bits.to_le_bytes());
                p.elements.push(t);
            }
        }
        OwnedValue::Hash(fields) => {
            p.kind = "hash";
            for e in fields {
                let mut t = token(&e.field);
                t.push(0);
                t.extend_from_slice(&token(&e.value));
                t.extend_from_slice(format!("\0ttl={:?}", e.expire_ms).as_bytes());
                p.elements.push(t);
            }
        }
        OwnedValue::Stream(s) => {
            p.kind = "stream";
            sort = false;
            p.elements
                .push(format!("length={} last={}", s.length, s.last_id).into_bytes());
            let mut v2 = vec![format!(
                "first={:?} maxdel={:?} added={:?}",
                s.first_id.map(|i| i.to_string()),
                s.max_deleted_id.map(|i| i.to_string()),
                s.entries_added
            )];
            let mut v3 = Vec::new();
            for e in &s.entries {
                let mut t = e.id.to_string().into_bytes();
                for (f, v) in &e.fields {
                    t.push(0);
                    t.extend_from_slice(&token(f));
                    t.push(0);
                    t.extend_from_slice(&token(v));
                }
                p.elements.push(t);
            }
            for g in &s.groups {
                let mut t = token(&g.name);
                t.extend_from_slice(format!("\0last={}", g.last_delivered_id).as_bytes());
                v2.push(format!("entries_read={:?}", g.entries_read));
                for pe in &g.pending {
                    t.extend_from_slice(
                        format!(
                            "\0pel={} {} {}",
                            pe.id, pe.delivery_time_ms, pe.delivery_count
                        )
                        .as_bytes(),
                    );
                }
                for c in &g.consumers {
                    t.push(0);
                    t.extend_from_slice(&token(&c.name));
                    t.extend_from_slice(format!(" seen={}", c.seen_time_ms).as_bytes());
                    v3.push(c.active_time_ms);
                    for id in &c.pending {
                        t.extend_from_slice(format!(" {id}").as_bytes());
                    }
                }
                p.elements.push(t);
            }
            p.stream_v2 = Some(v2);
            p.stream_v3 = Some(v3);
        }
        _ => unreachable!("a value kind the fuzz model does not know: teach it"),
    }
    if sort {
        p.elements.sort();
    }
    p
}

/// Drops stream metadata from both pictures where either layout lacks it (an older target
/// cannot hold it; the encoder invents nothing a reader would trust).
fn align_pictures(a: &mut Picture, b: &mut Picture) {
    let lacks_v2 = |p: &Picture| {
        p.stream_v2
            .as_ref()
            .is_some_and(|v| v.first().is_some_and(|s| s.contains("None")))
    };
    if lacks_v2(a) || lacks_v2(b) {
        a.stream_v2 = None;
        b.stream_v2 = None;
    }
    let lacks_v3 = |p: &Picture| {
        p.stream_v3
            .as_ref()
            .is_some_and(|v| v.iter().any(Option::is_none))
    };
    if lacks_v3(a) || lacks_v3(b) {
        a.stream_v3 = None;
        b.stream_v3 = None;
    }
}
