//! Layouts real servers write that the decoder once refused or misread: KeyDB's per-key AUX
//! fields, database ids past what a server accepts.

use rdb_format::write::{length, rdb_string, RdbWriter};
use rdb_format::{Decoder, Flavor, Item, Scratch, Value, Version};

fn redis(number: u32) -> Version {
    Version {
        flavor: Flavor::Redis,
        number,
    }
}

/// A string record's bytes after the prefixes: type 0, key, value.
fn string_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8];
    rdb_string(&mut b, key);
    rdb_string(&mut b, value);
    b
}

fn aux(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut b = vec![250u8];
    rdb_string(&mut b, key);
    rdb_string(&mut b, value);
    b
}

/// (key, value, expiry) of every record, and the aux fields, in the order yielded.
type Decoded = (
    Vec<(Vec<u8>, Vec<u8>, Option<i64>)>,
    Vec<(Vec<u8>, Vec<u8>)>,
);

fn decode(data: &[u8]) -> Result<Decoded, rdb_format::Error> {
    let scratch = Scratch::new();
    let mut records = Vec::new();
    let mut auxes = Vec::new();
    for item in Decoder::new(data)? {
        match item? {
            Item::Record(r) => {
                let Value::String(v) = r.value(&scratch)? else {
                    panic!("not a string")
                };
                records.push((r.key.decode(&scratch)?.to_vec(), v.to_vec(), r.expire_ms));
            }
            Item::Aux { key, value } => auxes.push((
                key.decode(&scratch)?.to_vec(),
                value.decode(&scratch)?.to_vec(),
            )),
            _ => {}
        }
    }
    Ok((records, auxes))
}

/// KeyDB active replicas write `AUX mvcc-tstamp` between a key's expiry (and LRU/LFU data)
/// and its type byte. Redis loads such a file and the key keeps its expiry: the opcodes
/// before a key are remembered until the key, whatever comes between.
#[test]
fn keydb_mvcc_aux_between_expiry_and_type_keeps_the_expiry() {
    let mut w = RdbWriter::new(Vec::new(), redis(9)).unwrap();
    w.aux(b"redis-ver", b"6.3.4").unwrap();
    w.select_db(0).unwrap();
    // Expiry, AUX, type.
    let mut rec = vec![252u8];
    rec.extend_from_slice(&4_102_444_800_000i64.to_le_bytes());
    rec.extend(aux(b"mvcc-tstamp", b"1700000000000000001"));
    rec.extend(string_record(b"a", b"1"));
    // Expiry, idle, AUX, freq-less: LRU data then the AUX.
    rec.push(252);
    rec.extend_from_slice(&4_102_444_800_001i64.to_le_bytes());
    rec.push(248);
    length(&mut rec, 7);
    rec.extend(aux(b"mvcc-tstamp", b"1700000000000000002"));
    rec.extend(string_record(b"b", b"2"));
    // No expiry: the AUX alone before the type, then a key that must not inherit anything.
    rec.extend(aux(b"mvcc-tstamp", b"1700000000000000003"));
    rec.extend(string_record(b"c", b"3"));
    w.raw(&rec).unwrap();
    let data = w.finish().unwrap();

    let (records, auxes) = decode(&data).unwrap();
    assert_eq!(
        records,
        vec![
            (b"a".to_vec(), b"1".to_vec(), Some(4_102_444_800_000)),
            (b"b".to_vec(), b"2".to_vec(), Some(4_102_444_800_001)),
            (b"c".to_vec(), b"3".to_vec(), None),
        ]
    );
    let stamps: Vec<_> = auxes
        .iter()
        .filter(|(k, _)| k == b"mvcc-tstamp")
        .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
        .collect();
    assert_eq!(
        stamps,
        [
            "1700000000000000001",
            "1700000000000000002",
            "1700000000000000003"
        ]
    );

    // The record's bytes span its prefixes through its value, so a byte copy keeps the expiry.
    let mut copied = RdbWriter::new(Vec::new(), redis(9)).unwrap();
    copied.select_db(0).unwrap();
    for item in Decoder::new(&data).unwrap() {
        if let Item::Record(r) = item.unwrap() {
            copied
                .raw(&data[r.offset as usize..(r.offset + r.len) as usize])
                .unwrap();
        }
    }
    let copied = copied.finish().unwrap();
    assert_eq!(decode(&copied).unwrap().0, records);
}

/// Each held AUX costs memory until its key arrives: a flood of them is refused, not held.
#[test]
fn a_flood_of_aux_fields_before_a_type_byte_is_an_error() {
    let mut w = RdbWriter::new(Vec::new(), redis(9)).unwrap();
    w.select_db(0).unwrap();
    let mut rec = vec![252u8];
    rec.extend_from_slice(&1i64.to_le_bytes());
    for _ in 0..100_000 {
        rec.extend(aux(b"x", b"y"));
    }
    rec.extend(string_record(b"a", b"1"));
    w.raw(&rec).unwrap();
    let data = w.finish().unwrap();
    let err = decode(&data).unwrap_err();
    assert!(err.to_string().contains("AUX"), "{err}");
}

/// Redis reads the db id as a length but refuses any id at or past `databases`, an `int`:
/// an id past `INT_MAX` is corruption (and would not survive JSON's 2^53 either).
#[test]
fn select_db_past_int_max_is_an_error_naming_its_offset() {
    for (db, ok) in [
        (0u64, true),
        (15, true),
        (i32::MAX as u64 - 1, true),
        (i32::MAX as u64, false),
        (1 << 53, false),
        (u64::MAX, false),
    ] {
        let mut w = RdbWriter::new(Vec::new(), redis(11)).unwrap();
        w.select_db(db).unwrap();
        w.raw(&string_record(b"k", b"v")).unwrap();
        let data = w.finish().unwrap();
        let mut dbs = Vec::new();
        let r = Decoder::new(&data).unwrap().try_for_each(|i| {
            if let Item::Record(r) = i? {
                dbs.push(r.db);
            }
            Ok::<_, rdb_format::Error>(())
        });
        match r {
            Ok(()) => {
                assert!(ok, "db {db} accepted");
                assert_eq!(dbs, [db]);
            }
            Err(e) => {
                assert!(!ok, "db {db}: {e}");
                assert_eq!(e.offset, 10, "{e}");
                assert!(e.to_string().contains(&db.to_string()), "{e}");
            }
        }
    }
}
