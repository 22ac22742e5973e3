//! Running the converter and reading its NDJSON back into a [`Dump`].

use super::*;

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

pub(super) fn jshow(v: &J) -> String {
    trunc(&v.to_string(), 120)
}

pub(super) const KEY_FIELDS: &[&str] = &[
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
