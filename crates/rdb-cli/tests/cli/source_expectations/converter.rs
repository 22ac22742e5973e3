//! Running the converter on a corpus dump and reading its NDJSON back.

use super::*;

pub(super) fn corpus() -> PathBuf {
    // A copy of the corpus can be substituted (used to check that planted differences are caught).
    if let Some(p) = std::env::var_os("SOURCE_EXPECTATIONS_CORPUS") {
        return p.into();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus")
}

/// One key record of our NDJSON output.
#[derive(Debug)]
pub(super) struct Key {
    pub(super) db: u64,
    pub(super) key: Vec<u8>,
    pub(super) ty: String,
    pub(super) expire_ms: Option<i64>,
    pub(super) value: J,
    /// Hash-field TTLs (`field_expire_ms`), field → absolute unix ms.
    pub(super) field_expire: BTreeMap<Vec<u8>, i64>,
}

#[derive(Debug, Default)]
pub(super) struct Dump {
    pub(super) keys: Vec<Key>,
    pub(super) aux: Vec<(Vec<u8>, Vec<u8>)>,
    pub(super) functions: Vec<Vec<u8>>,
}

impl Dump {
    pub(super) fn find(&self, db: Option<u64>, key: &[u8]) -> Vec<&Key> {
        self.keys
            .iter()
            .filter(|k| k.key == key && db.is_none_or(|d| d == k.db))
            .collect()
    }
    /// The only key named `key` (any db); panics with a readable message otherwise.
    pub(super) fn get(&self, key: &str) -> &Key {
        let found = self.find(None, key.as_bytes());
        assert_eq!(
            found.len(),
            1,
            "expected exactly one key {key:?}, found {}",
            found.len()
        );
        found[0]
    }
}

/// Run `rdb-convert FILE --with-meta`; `Err(stderr)` when it fails.
pub(super) fn convert(path: &Path) -> Result<Dump, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .arg(path)
        .arg("--with-meta")
        .output()
        .expect("run rdb-convert");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let mut dump = Dump::default();
    for line in String::from_utf8(out.stdout)
        .expect("NDJSON is UTF-8")
        .lines()
    {
        let o: J =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad NDJSON line {line:?}: {e}"));
        if let Some(a) = o.get("aux") {
            dump.aux.push((bytes(&a["key"]), bytes(&a["value"])));
        } else if let Some(f) = o.get("function") {
            dump.functions.push(bytes(f));
        } else if o.get("module_aux").is_some() {
            // module aux payloads are not part of any project's data-level expectation
        } else {
            let mut field_expire = BTreeMap::new();
            if let Some(fe) = o.get("field_expire_ms") {
                for (f, ms) in pairs(fe) {
                    field_expire.insert(f, ms.as_i64().expect("field TTL is an integer"));
                }
            }
            dump.keys.push(Key {
                db: o["db"].as_u64().expect("db"),
                key: bytes(&o["key"]),
                ty: o["type"].as_str().expect("type").to_string(),
                expire_ms: o.get("expire_ms").map(|v| v.as_i64().expect("expire_ms")),
                value: o["value"].clone(),
                field_expire,
            });
        }
    }
    Ok(dump)
}

pub(super) fn must_convert(path: &Path) -> Dump {
    convert(path).unwrap_or_else(|e| panic!("{}: rdb-convert failed: {e}", path.display()))
}
