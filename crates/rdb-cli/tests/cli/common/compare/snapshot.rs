//! What a server holds, read before the comparison.

use super::*;

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

pub(super) fn select(con: &mut Connection, db: u64) {
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
