//! Our output format read back: byte strings, pairs, scores, and how mismatches are shown.

use super::*;

/// A byte string of our format: a JSON string, or `{"base64": ...}`.
pub(super) fn bytes(v: &J) -> Vec<u8> {
    match v {
        J::String(s) => s.as_bytes().to_vec(),
        J::Object(o) if o.contains_key("base64") => {
            test_bytes::base64_decode(o["base64"].as_str().expect("base64 string"))
                .expect("valid base64")
        }
        other => panic!("not a byte string: {other}"),
    }
}

/// `{k: v}` or `[[k, v], ...]` (used when a key is not UTF-8) → byte pairs, in order.
pub(super) fn pairs(v: &J) -> Vec<(Vec<u8>, J)> {
    match v {
        J::Object(o) => o
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
            .collect(),
        J::Array(a) => a
            .iter()
            .map(|p| {
                let p = p.as_array().expect("pair");
                (bytes(&p[0]), p[1].clone())
            })
            .collect(),
        other => panic!("not a map: {other}"),
    }
}

pub(super) fn list_of(v: &J) -> Vec<Vec<u8>> {
    v.as_array().expect("array").iter().map(bytes).collect()
}

pub(super) fn hash_of(v: &J) -> BTreeMap<Vec<u8>, Vec<u8>> {
    pairs(v).into_iter().map(|(f, v)| (f, bytes(&v))).collect()
}

pub(super) fn score_of(v: &J) -> f64 {
    match v {
        J::Number(n) => n.as_f64().expect("score"),
        J::String(s) if s == "inf" => f64::INFINITY,
        J::String(s) if s == "-inf" => f64::NEG_INFINITY,
        J::String(s) if s == "nan" => f64::NAN,
        other => panic!("bad score {other}"),
    }
}

pub(super) fn zset_of(v: &J) -> Vec<(Vec<u8>, f64)> {
    v.as_array()
        .expect("zset array")
        .iter()
        .map(|p| (bytes(&p[0]), score_of(&p[1])))
        .collect()
}

/// Bytes as text, lossless: printable ASCII as is, anything else `\xNN`.
pub(super) fn esc(b: &[u8]) -> String {
    b.iter()
        .map(|&c| match c {
            b'\\' => "\\\\".to_string(),
            0x20..=0x7e => (c as char).to_string(),
            _ => format!("\\x{c:02x}"),
        })
        .collect()
}

pub(super) fn esc_map(m: &BTreeMap<Vec<u8>, Vec<u8>>) -> String {
    let parts: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{}={}", esc(k), esc(v)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

pub(super) fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    trunc(&format!("{s:?}"), 80)
}

pub(super) fn trunc(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...({} chars)", &s[..end], s.len())
}

/// The first difference between two JSON values, as `path: ours X expected Y` (object key order
/// is ignored, array order is not).
pub(super) fn json_diff(ours: &J, exp: &J, path: &str) -> Option<String> {
    match (ours, exp) {
        (J::Array(a), J::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                if let Some(d) = json_diff(x, y, &format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            (a.len() != b.len())
                .then(|| format!("{path}: ours {} elements, expected {}", a.len(), b.len()))
        }
        (J::Object(a), J::Object(b)) => {
            for (k, x) in a {
                if let Some(d) = json_diff(x, b.get(k).unwrap_or(&J::Null), &format!("{path}.{k}"))
                {
                    return Some(d);
                }
            }
            b.keys().find(|k| !a.contains_key(*k)).map(|k| {
                format!(
                    "{path}.{k}: ours absent, expected {}",
                    trunc(&b[k].to_string(), 200)
                )
            })
        }
        _ => (ours != exp).then(|| {
            format!(
                "{path}: ours {} expected {}",
                trunc(&ours.to_string(), 200),
                trunc(&exp.to_string(), 200)
            )
        }),
    }
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
