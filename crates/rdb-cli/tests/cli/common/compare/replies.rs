//! Reading the server's replies: bytes, strings, integers, arrays, maps and scores.

use super::*;

pub(super) fn vbytes(v: &Value) -> Vec<u8> {
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

pub(super) fn vstr(v: &Value) -> String {
    String::from_utf8_lossy(&vbytes(v)).to_string()
}

pub(super) fn vint(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

pub(super) fn varr(v: &Value) -> &[Value] {
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
pub(super) fn vmap(v: &Value) -> HashMap<String, Value> {
    match v {
        Value::Map(m) => m.iter().map(|(k, v)| (vstr(k), v.clone())).collect(),
        _ => varr(v)
            .chunks(2)
            .map(|c| (vstr(&c[0]), c[1].clone()))
            .collect(),
    }
}

pub(super) fn parse_score(s: &[u8]) -> f64 {
    let s = std::str::from_utf8(s).expect("score utf8");
    match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" => f64::NAN,
        _ => s.parse().unwrap_or_else(|_| panic!("server score {s:?}")),
    }
}

pub(super) fn jscore(v: &J) -> Result<f64, String> {
    match v {
        J::Number(n) => n.as_f64().ok_or_else(|| format!("score {n} not a double")),
        J::String(s) if s == "inf" => Ok(f64::INFINITY),
        J::String(s) if s == "-inf" => Ok(f64::NEG_INFINITY),
        J::String(s) if s == "nan" => Ok(f64::NAN),
        other => Err(format!("bad score {}", jshow(other))),
    }
}

pub(super) fn same_f64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}
