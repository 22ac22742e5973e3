//! Streams: Redis 8.6's `STREAM_LISTPACKS_4` (idempotent producers), and group PEL owners
//! matched in bounded memory.

use std::collections::HashMap;

use rdb_format::write::{length, rdb_string, ListpackWriter, RdbWriter};
use rdb_format::{Decoder, Encoding, Flavor, Item, Scratch, StreamId, Value, Version};

fn redis(number: u32) -> Version {
    Version {
        flavor: Flavor::Redis,
        number,
    }
}

fn raw_id(out: &mut Vec<u8>, ms: u64, seq: u64) {
    out.extend_from_slice(&ms.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
}

fn id_pair(out: &mut Vec<u8>, ms: u64, seq: u64) {
    length(out, ms);
    length(out, seq);
}

const MS: u64 = 1_771_945_454_291;

/// A producer id and its (IID, entry id) pairs.
type Producer = (Vec<u8>, Vec<(Vec<u8>, StreamId)>);

/// The stream of librdb's `stream_v13_idmp.rdb` expectation (`stream_v13.json`): three
/// entries, two of them sent with IDMP by two producers; one group, one consumer owning one
/// of two pending entries. Returns the value bytes (type 26).
fn idmp_stream() -> Vec<u8> {
    let mut v = Vec::new();
    length(&mut v, 1);
    let mut key = Vec::new();
    raw_id(&mut key, MS, 0);
    rdb_string(&mut v, &key);
    let mut lp = ListpackWriter::new();
    for x in [3, 0, 1] {
        lp.push_int(x);
    }
    lp.push_bytes(b"field1");
    lp.push_int(0);
    // Entry 0 with the master fields; 1 and 2 with their own.
    for x in [2, 0, 0] {
        lp.push_int(x);
    }
    lp.push_bytes(b"value1");
    lp.push_int(4);
    for (seq, value) in [(1, &b"prod1_ent1"[..]), (2, b"prod2_ent1")] {
        for x in [0, 0, seq, 1] {
            lp.push_int(x);
        }
        lp.push_bytes(b"idmp_field");
        lp.push_bytes(value);
        lp.push_int(6);
    }
    rdb_string(&mut v, &lp.finish().unwrap());
    length(&mut v, 3);
    id_pair(&mut v, MS, 2); // last id
    id_pair(&mut v, MS, 0); // first id
    id_pair(&mut v, 0, 0); // max deleted
    length(&mut v, 3); // entries added
    length(&mut v, 1); // groups
    rdb_string(&mut v, b"g");
    id_pair(&mut v, MS, 1);
    length(&mut v, 2); // entries read
    length(&mut v, 2); // PEL
    for seq in [0, 1] {
        raw_id(&mut v, MS, seq);
        v.extend_from_slice(&(MS as i64 + 5).to_le_bytes());
        length(&mut v, 1);
    }
    length(&mut v, 1); // consumers
    rdb_string(&mut v, b"c");
    v.extend_from_slice(&(MS as i64 + 5).to_le_bytes());
    v.extend_from_slice(&(MS as i64 + 6).to_le_bytes());
    length(&mut v, 1);
    raw_id(&mut v, MS, 1);
    // IDMP.
    length(&mut v, 100);
    length(&mut v, 100);
    length(&mut v, 2);
    for (pid, iid, seq) in [
        (&b"producer1"[..], &b"iid_p1_e1"[..], 1),
        (b"producer2", b"iid_p2_e1", 2),
    ] {
        rdb_string(&mut v, pid);
        length(&mut v, 1);
        rdb_string(&mut v, iid);
        id_pair(&mut v, MS, seq);
    }
    length(&mut v, 2); // iids added
    length(&mut v, 1); // iids duplicates
    v
}

fn dump(type_byte: u8, value: &[u8]) -> Vec<u8> {
    let mut w = RdbWriter::new(Vec::new(), redis(13)).unwrap();
    w.aux(b"redis-ver", b"8.6.0").unwrap();
    w.select_db(0).unwrap();
    w.record(b"s", None, type_byte, value).unwrap();
    w.record(b"after", None, 0, b"\x01x").unwrap();
    w.finish().unwrap()
}

#[test]
fn redis_86_stream_with_idmp_state_decodes() {
    let data = dump(26, &idmp_stream());
    let scratch = Scratch::new();
    let mut keys = Vec::new();
    for item in Decoder::new(&data).unwrap() {
        let Item::Record(r) = item.unwrap() else {
            continue;
        };
        keys.push(r.key.decode(&scratch).unwrap().to_vec());
        let Value::Stream(s) = r.value(&scratch).unwrap() else {
            continue;
        };
        assert_eq!(r.encoding, Encoding::StreamListpacks4);
        assert_eq!(r.encoding.as_str(), "stream_listpacks_4");
        let ids: Vec<String> = s.entries().map(|e| e.unwrap().id.to_string()).collect();
        assert_eq!(
            ids,
            [format!("{MS}-0"), format!("{MS}-1"), format!("{MS}-2")]
        );
        assert_eq!(s.entries_added, Some(3));
        let g = s.groups().next().unwrap().unwrap();
        let owners: Vec<_> = g
            .pending_with_owners()
            .map(|p| {
                let (p, o) = p.unwrap();
                (p.id.seq, o.map(|o| o.to_vec()))
            })
            .collect();
        assert_eq!(owners, [(0, None), (1, Some(b"c".to_vec()))]);
        let idmp = s.idmp.expect("IDMP state");
        assert_eq!(
            (
                idmp.duration,
                idmp.max_entries,
                idmp.iids_added,
                idmp.iids_duplicates
            ),
            (100, 100, 2, 1)
        );
        let producers: Vec<Producer> = idmp
            .producers()
            .map(|p| {
                let p = p.unwrap();
                let entries = p
                    .entries
                    .map(|e| {
                        let e = e.unwrap();
                        (e.iid.to_vec(), e.id)
                    })
                    .collect();
                (p.pid.to_vec(), entries)
            })
            .collect();
        let id = |seq| StreamId { ms: MS, seq };
        assert_eq!(
            producers,
            [
                (b"producer1".to_vec(), vec![(b"iid_p1_e1".to_vec(), id(1))]),
                (b"producer2".to_vec(), vec![(b"iid_p2_e1".to_vec(), id(2))]),
            ]
        );
    }
    assert_eq!(keys, [b"s".to_vec(), b"after".to_vec()]);
}

#[test]
fn a_truncated_idmp_section_is_an_error_inside_the_value() {
    let value = idmp_stream();
    for cut in 1..12 {
        let data = dump(26, &value[..value.len() - cut]);
        let err = Decoder::new(&data)
            .unwrap()
            .find_map(|i| i.err())
            .expect("an error");
        assert!(err.offset < data.len() as u64, "{err}");
    }
}

/// A type-21 stream with no entries and one group whose PEL has `n` entries, owned by
/// `owner(i)` (a consumer index, or none), consumers listing their ids in `order`.
fn group_stream(
    n: u64,
    consumers: usize,
    owner: impl Fn(u64) -> Option<usize>,
    reverse: bool,
) -> Vec<u8> {
    let mut v = Vec::new();
    length(&mut v, 0);
    length(&mut v, 0);
    id_pair(&mut v, n, 0);
    id_pair(&mut v, 1, 0);
    id_pair(&mut v, 0, 0);
    length(&mut v, n);
    length(&mut v, 1);
    rdb_string(&mut v, b"g");
    id_pair(&mut v, n, 0);
    length(&mut v, n);
    length(&mut v, n);
    for i in 0..n {
        raw_id(&mut v, 1 + i / 3, i % 3);
        v.extend_from_slice(&(i as i64).to_le_bytes());
        length(&mut v, 1);
    }
    length(&mut v, consumers as u64);
    for c in 0..consumers {
        rdb_string(&mut v, format!("consumer-{c}").as_bytes());
        v.extend_from_slice(&0i64.to_le_bytes());
        v.extend_from_slice(&0i64.to_le_bytes());
        let mut mine: Vec<u64> = (0..n).filter(|&i| owner(i) == Some(c)).collect();
        if reverse {
            mine.reverse();
        }
        length(&mut v, mine.len() as u64);
        for i in mine {
            raw_id(&mut v, 1 + i / 3, i % 3);
        }
    }
    v
}

#[test]
fn pel_owners_match_a_full_map_across_windows_sorted_or_not() {
    // More entries than one matching window; some owned by nobody; ids listed in order (as
    // Redis writes them) and in reverse (only a hostile or hand-made dump would).
    let n = 40_000;
    let owner = |i: u64| (i % 7 != 3).then_some((i * 2654435761 % 5) as usize);
    for reverse in [false, true] {
        let data = dump(21, &group_stream(n, 5, owner, reverse));
        let scratch = Scratch::new();
        let mut checked = 0;
        for item in Decoder::new(&data).unwrap() {
            let Item::Record(r) = item.unwrap() else {
                continue;
            };
            let Value::Stream(s) = r.value(&scratch).unwrap() else {
                continue;
            };
            let g = s.groups().next().unwrap().unwrap();
            let mut map = HashMap::new();
            for c in g.consumers.clone() {
                let c = c.unwrap();
                for id in c.pending {
                    map.insert(id, c.name.to_vec());
                }
            }
            for (i, p) in g.pending_with_owners().enumerate() {
                let (p, o) = p.unwrap();
                assert_eq!(p.delivery_time_ms, i as i64);
                assert_eq!(o.map(|o| o.to_vec()), map.get(&p.id).cloned(), "entry {i}");
                let want = owner(i as u64).map(|c| format!("consumer-{c}").into_bytes());
                assert_eq!(map.get(&p.id).cloned(), want);
                checked += 1;
            }
        }
        assert_eq!(checked, n);
    }
}

#[test]
fn a_stream_with_idmp_producers_is_refused_not_silently_dropped_when_re_encoded() {
    let data = dump(26, &idmp_stream());
    let scratch = Scratch::new();
    let mut seen = 0;
    for item in Decoder::new(&data).unwrap() {
        let Item::Record(r) = item.unwrap() else {
            continue;
        };
        let Value::Stream(s) = r.value(&scratch).unwrap() else {
            continue;
        };
        seen += 1;
        for target in [redis(9), redis(12), redis(13)] {
            let mut out = Vec::new();
            let err = rdb_format::write::stream(&s, target, &mut out).unwrap_err();
            assert!(err.to_string().contains("IDMP"), "{err}");
            assert!(rdb_format::write::stream_metadata_lost(&s, target).unwrap());
        }
    }
    assert_eq!(seen, 1);
}
