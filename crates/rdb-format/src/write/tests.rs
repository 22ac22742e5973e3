//! Round trips: every value of every readable corpus dump is decoded, encoded for each
//! target version, decoded again, and compared with the original (as owned, order-normalised
//! data); whole files written with [`RdbWriter`] decode with a verified checksum.

use std::path::{Path, PathBuf};

use super::*;
use crate::value::{Type, Value};
use crate::{Checksum, Decoder, DecoderOptions, Item, Scratch, Str};

#[derive(Debug, PartialEq)]
enum Owned {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    ZSet(Vec<(Vec<u8>, u64)>),
    Hash(Vec<(Vec<u8>, Vec<u8>, Option<i64>)>),
    Stream(Box<OwnedStream>),
    Module(u64, Vec<u8>),
}

type Entries = Vec<(String, Vec<(Vec<u8>, Vec<u8>)>)>;

#[derive(Debug, PartialEq)]
struct OwnedStream {
    entries: Entries,
    length: u64,
    last_id: String,
    /// first id, max deleted id, entries added: compared only when both sides have them.
    v2: Option<(String, String, u64)>,
    groups: Vec<OwnedGroup>,
}

#[derive(Debug, PartialEq)]
struct OwnedGroup {
    name: Vec<u8>,
    last_id: String,
    entries_read: Option<u64>,
    pending: Vec<(String, i64, u64)>,
    consumers: Vec<(Vec<u8>, i64, Vec<String>)>,
}

fn owned(v: Value<'_>) -> crate::Result<Owned> {
    let b = |s: Str<'_>| s.to_vec();
    Ok(match v {
        Value::String(s) => Owned::String(b(s)),
        Value::List(i) => Owned::List(i.map(|s| s.map(b)).collect::<crate::Result<_>>()?),
        Value::Set(i) => {
            let mut v: Vec<_> = i.map(|s| s.map(b)).collect::<crate::Result<_>>()?;
            v.sort();
            Owned::Set(v)
        }
        Value::ZSet(i) => {
            let mut v: Vec<_> = i
                .map(|r| r.map(|(m, s)| (b(m), s.to_bits())))
                .collect::<crate::Result<_>>()?;
            v.sort();
            Owned::ZSet(v)
        }
        Value::Hash(i) => {
            let mut v: Vec<_> = i
                .map(|r| r.map(|e| (b(e.field), b(e.value), e.expire_ms)))
                .collect::<crate::Result<_>>()?;
            v.sort();
            Owned::Hash(v)
        }
        Value::Stream(s) => {
            let mut entries = Vec::new();
            for e in s.entries() {
                let e = e?;
                let fields = e
                    .fields
                    .map(|r| r.map(|(f, v)| (b(f), b(v))))
                    .collect::<crate::Result<_>>()?;
                entries.push((e.id.to_string(), fields));
            }
            let mut groups = Vec::new();
            for g in s.groups() {
                let g = g?;
                let pending = g
                    .pending
                    .map(|p| p.map(|p| (p.id.to_string(), p.delivery_time_ms, p.delivery_count)))
                    .collect::<crate::Result<_>>()?;
                let mut consumers = Vec::new();
                for c in g.consumers {
                    let c = c?;
                    consumers.push((
                        b(c.name),
                        c.seen_time_ms,
                        c.pending.map(|id| id.to_string()).collect(),
                    ));
                }
                groups.push(OwnedGroup {
                    name: b(g.name),
                    last_id: g.last_delivered_id.to_string(),
                    entries_read: g.entries_read,
                    pending,
                    consumers,
                });
            }
            let v2 = match (s.first_id, s.max_deleted_id, s.entries_added) {
                (Some(f), Some(m), Some(a)) => Some((f.to_string(), m.to_string(), a)),
                _ => None,
            };
            Owned::Stream(Box::new(OwnedStream {
                entries,
                length: s.length,
                last_id: s.last_id.to_string(),
                v2,
                groups,
            }))
        }
        Value::Module(m) => Owned::Module(m.id.0, m.raw.to_vec()),
    })
}

/// Makes a source and a re-encoded stream comparable: metadata a layout lacks is dropped
/// from both sides.
fn align(a: &mut Owned, b: &mut Owned) {
    if let (Owned::Stream(a), Owned::Stream(b)) = (a, b) {
        if a.v2.is_none() || b.v2.is_none() {
            a.v2 = None;
            b.v2 = None;
            for g in a.groups.iter_mut().chain(b.groups.iter_mut()) {
                g.entries_read = None;
            }
        }
    }
}

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut files = vec![root.join("sample.rdb")];
    let mut stack = vec![root.join("corpus")];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rdb") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

const fn redis(number: u32) -> Version {
    Version {
        flavor: Flavor::Redis,
        number,
    }
}

const TARGETS: [Version; 8] = [
    redis(6),
    redis(7),
    redis(8),
    redis(9),
    redis(10),
    redis(11),
    redis(12),
    Version {
        flavor: Flavor::Valkey,
        number: 80,
    },
];

const LENIENT: DecoderOptions = DecoderOptions {
    verify_checksum: false,
    allow_future_versions: false,
};

#[test]
fn every_corpus_value_round_trips_for_every_target() {
    let mut checked = 0usize;
    let mut unsupported = 0usize;
    let mut types = std::collections::BTreeSet::new();
    for path in corpus_files() {
        let data = std::fs::read(&path).unwrap();
        let Ok(decoder) = Decoder::with_options(&data, LENIENT) else {
            continue;
        };
        let mut scratch = Scratch::new();
        for item in decoder {
            let Ok(item) = item else { break };
            let Item::Record(r) = item else { continue };
            let Ok(value) = r.value(&scratch) else { break };
            let Ok(mut want) = owned(value.clone()) else {
                break;
            };
            for target in TARGETS {
                let mut bytes = Vec::new();
                let t = match encode_value(&value, target, &mut bytes) {
                    Ok(t) => t,
                    Err(EncodeError::Unsupported { .. }) => {
                        unsupported += 1;
                        continue;
                    }
                    Err(e) => panic!("{}: {e}", path.display()),
                };
                let s2 = Scratch::new();
                let back = Value::decode(t, target, &bytes, &s2)
                    .and_then(owned)
                    .unwrap_or_else(|e| {
                        panic!(
                            "{} key {:?} for {target}: re-encoded value does not decode: {e}",
                            path.display(),
                            r.key
                        )
                    });
                let mut back = back;
                align(&mut want, &mut back);
                assert_eq!(
                    back,
                    want,
                    "{} key {:?} ({}) for {target} as type {t}",
                    path.display(),
                    r.key,
                    r.encoding.as_str()
                );
                // Every DUMP payload round-trips too.
                let payload = dump_payload(t, &bytes, target);
                let p = DumpPayload::parse(&payload).unwrap();
                assert_eq!((p.type_byte, p.value), (t, &bytes[..]));
                checked += 1;
            }
            types.insert(r.data_type().as_str());
            scratch.reset();
        }
    }
    eprintln!("{checked} values re-encoded and compared, {unsupported} unsupported by a target");
    assert!(checked > 5000, "only {checked} values checked");
    for t in [
        Type::String,
        Type::List,
        Type::Set,
        Type::ZSet,
        Type::Hash,
        Type::Stream,
    ] {
        assert!(types.contains(t.as_str()), "no {t:?} in the corpus");
    }
}

/// Each readable corpus dump, rewritten whole (raw copies where the target reads the
/// record's encoding, re-encoded values otherwise), decodes with a verified checksum to the
/// same keys and values.
#[test]
fn whole_files_round_trip() {
    let mut files = 0;
    for path in corpus_files() {
        let data = std::fs::read(&path).unwrap();
        let Ok(decoder) = Decoder::with_options(&data, LENIENT) else {
            continue;
        };
        let source = decoder.version();
        let items: Vec<Item<'_>> = match decoder.collect::<crate::Result<_>>() {
            Ok(items) => items,
            Err(_) => continue,
        };
        for target in [source, redis(9), redis(11)] {
            let scratch = Scratch::new();
            let mut w = RdbWriter::new(Vec::new(), target).unwrap();
            let mut want = Vec::new();
            let mut db = None;
            let mut ok = true;
            for item in &items {
                match item {
                    Item::Aux { key, value } => w.aux_copy(*key, *value).unwrap(),
                    Item::Record(r) => {
                        if db != Some(r.db) {
                            w.select_db(r.db).unwrap();
                            db = Some(r.db);
                        }
                        let Ok(value) = r.value(&scratch) else {
                            ok = false;
                            break;
                        };
                        let Ok(o) = owned(value.clone()) else {
                            ok = false;
                            break;
                        };
                        if copyable(r.encoding, source, target) && target == source {
                            let start = r.offset as usize;
                            w.raw(&data[start..start + r.len as usize]).unwrap();
                        } else {
                            let mut bytes = Vec::new();
                            let t = match encode_value(&value, target, &mut bytes) {
                                Ok(t) => t,
                                Err(EncodeError::Unsupported { .. }) => continue,
                                Err(e) => panic!("{}: {e}", path.display()),
                            };
                            w.record_copy(r.key, r.expire_ms, r.idle, r.freq, t, &bytes)
                                .unwrap();
                        }
                        let key = r.key.decode(&scratch).unwrap().to_vec();
                        want.push((r.db, key, r.expire_ms, o));
                    }
                    _ => {}
                }
            }
            if !ok {
                break;
            }
            let file = w.finish().unwrap();
            let mut got = Vec::new();
            let s2 = Scratch::new();
            for item in Decoder::new(&file).unwrap() {
                let item = item.unwrap_or_else(|e| panic!("{} for {target}: {e}", path.display()));
                match item {
                    Item::Record(r) => {
                        let key = r.key.decode(&s2).unwrap().to_vec();
                        got.push((
                            r.db,
                            key,
                            r.expire_ms,
                            owned(r.value(&s2).unwrap()).unwrap(),
                        ));
                    }
                    Item::Eof(e) if target.has_checksum() => {
                        assert!(matches!(e.checksum, Checksum::Verified(_)), "{e:?}");
                    }
                    _ => {}
                }
            }
            assert_eq!(got.len(), want.len(), "{} for {target}", path.display());
            for (mut g, mut w) in got.into_iter().zip(want) {
                align(&mut g.3, &mut w.3);
                assert_eq!(g, w, "{} for {target}", path.display());
            }
            files += 1;
        }
    }
    assert!(files > 300, "only {files} file rewrites checked");
}

#[test]
fn unsupported_values_are_reported() {
    let data =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample.rdb"))
            .unwrap();
    let scratch = Scratch::new();
    let mut seen_stream = false;
    let mut seen_ttl_hash = false;
    for item in Decoder::new(&data).unwrap() {
        let Item::Record(r) = item.unwrap() else {
            continue;
        };
        let value = r.value(&scratch).unwrap();
        let mut out = Vec::new();
        match r.data_type() {
            Type::Stream => {
                let e = encode_value(&value, redis(8), &mut out).unwrap_err();
                assert!(e.to_string().contains("RDB 9"), "{e}");
                seen_stream = true;
            }
            Type::Hash
                if r.encoding == crate::Encoding::HashListpackEx
                    || r.encoding == crate::Encoding::HashMetadata =>
            {
                if let Err(e) = encode_value(&value, redis(11), &mut out) {
                    assert!(e.to_string().contains("field TTLs"), "{e}");
                    seen_ttl_hash = true;
                }
            }
            _ => {}
        }
    }
    assert!(seen_stream && seen_ttl_hash);
}

#[test]
fn hash_field_ttls_per_target() {
    use crate::value::HashEntry;
    let fields = [
        HashEntry {
            field: Str::Bytes(b"a"),
            value: Str::Bytes(b"1"),
            expire_ms: Some(4_102_444_800_000),
        },
        HashEntry {
            field: Str::Bytes(b"b"),
            value: Str::Int(2),
            expire_ms: None,
        },
        HashEntry {
            field: Str::Bytes(b"c"),
            value: Str::Bytes(b"x"),
            expire_ms: Some(4_102_444_800_500),
        },
    ];
    for (target, want_type) in [
        (redis(12), crate::consts::RDB_TYPE_HASH_METADATA),
        (
            Version {
                flavor: Flavor::Valkey,
                number: 80,
            },
            crate::consts::VALKEY_RDB_TYPE_HASH_2,
        ),
    ] {
        let mut out = Vec::new();
        let t = hash(fields.iter().copied().map(Ok), target, &mut out).unwrap();
        assert_eq!(t, want_type);
        let scratch = Scratch::new();
        let Value::Hash(h) = Value::decode(t, target, &out, &scratch).unwrap() else {
            panic!("not a hash");
        };
        let bytes = |e: &HashEntry<'_>| (e.field.to_vec(), e.value.to_vec(), e.expire_ms);
        let back: Vec<HashEntry<'_>> = h.collect::<crate::Result<_>>().unwrap();
        let back: Vec<_> = back.iter().map(bytes).collect();
        let want: Vec<_> = fields.iter().map(bytes).collect();
        assert_eq!(back, want);
    }
    let mut out = Vec::new();
    assert!(hash(fields.iter().copied().map(Ok), redis(11), &mut out).is_err());
}

#[test]
fn copyable_encodings() {
    use crate::Encoding::*;
    let v12 = redis(12);
    let valkey = Version {
        flavor: Flavor::Valkey,
        number: 80,
    };
    assert!(copyable(ListQuicklist2, v12, redis(10)));
    assert!(!copyable(ListQuicklist2, v12, redis(9)));
    assert!(copyable(SetListpack, v12, valkey));
    assert!(!copyable(HashListpackEx, v12, valkey));
    assert!(copyable(ValkeyHash2, valkey, valkey));
    assert!(!copyable(ValkeyHash2, valkey, v12));
    assert!(!copyable(HashMetadataPreGa, v12, v12));
    for b in (0u8..=25).filter(|&b| b != 6 && b != 8) {
        let version = if b == 22 { valkey } else { v12 };
        let enc = crate::Encoding::from_type_byte(b, version).unwrap();
        assert_eq!(type_byte(enc), b);
    }
}
