//! Walking decoded files and values: the `whole_file`, `value` and `stream` targets.

use rdb_format::{Decoder, DecoderOptions, Error, Flavor, Item, Scratch, Value, Version};

use super::{check_error, each, touch, Budget, VERSIONS};

/// Visits every element of a decoded value.
pub fn walk_value(v: Value<'_>, budget: &mut Budget<'_>) -> Result<(), Error> {
    match v {
        Value::String(s) => {
            budget.tick();
            touch(s);
            Ok(())
        }
        Value::Module(m) => {
            budget.tick();
            let _ = m.id.name();
            let _ = format!("{:?}", m.id);
            Ok(())
        }
        // Collections are walked twice: by their iterators (counted by the budget), then
        // by their walks into reused buffers, which must see the same and end alike.
        Value::List(i) => {
            let mut iterated = Vec::new();
            let end = each(i.clone(), budget, |s, _| {
                touch(s);
                iterated.push(s.to_vec());
                Ok(())
            });
            let mut walked = Vec::new();
            let walk_end = i.try_for_each_element(|s| {
                walked.push(s.to_vec());
                Ok(())
            });
            same_walks(iterated, end, walked, walk_end)
        }
        Value::Set(i) => {
            let mut iterated = Vec::new();
            let end = each(i.clone(), budget, |s, _| {
                touch(s);
                iterated.push(s.to_vec());
                Ok(())
            });
            let mut walked = Vec::new();
            let walk_end = i.try_for_each_member(|s| {
                walked.push(s.to_vec());
                Ok(())
            });
            same_walks(iterated, end, walked, walk_end)
        }
        Value::ZSet(i) => {
            let mut iterated = Vec::new();
            let end = each(i.clone(), budget, |(m, score), _| {
                touch(m);
                iterated.push((m.to_vec(), score.to_bits()));
                Ok(())
            });
            let mut walked = Vec::new();
            let walk_end = i.try_for_each_member(|m, score| {
                walked.push((m.to_vec(), score.to_bits()));
                Ok(())
            });
            same_walks(iterated, end, walked, walk_end)
        }
        Value::Hash(i) => {
            let owned =
                |e: rdb_format::HashEntry<'_>| (e.field.to_vec(), e.value.to_vec(), e.expire_ms);
            let mut iterated = Vec::new();
            let end = each(i.clone(), budget, |e, _| {
                touch(e.field);
                touch(e.value);
                iterated.push(owned(e));
                Ok(())
            });
            let mut walked = Vec::new();
            let walk_end = i.try_for_each_entry(|e| {
                walked.push(owned(e));
                Ok(())
            });
            same_walks(iterated, end, walked, walk_end)
        }
        Value::Stream(s) => {
            let _ = (
                s.length,
                s.last_id,
                s.first_id,
                s.max_deleted_id,
                s.entries_added,
            );
            each(s.entries(), budget, |e, b| {
                let _ = e.id.to_string();
                let declared = e.fields.len();
                let mut seen = 0u64;
                each(e.fields, b, |(f, v), _| {
                    seen += 1;
                    touch(f);
                    touch(v);
                    Ok(())
                })?;
                assert_eq!(
                    seen, declared,
                    "stream entry yielded a wrong number of fields"
                );
                Ok(())
            })?;
            each(s.groups(), budget, |g, b| {
                touch(g.name);
                each(g.pending, b, |_, _| Ok(()))?;
                each(g.consumers, b, |c, b| {
                    touch(c.name);
                    for _id in c.pending {
                        b.tick();
                    }
                    Ok(())
                })
            })
        }
        _ => unreachable!("a value kind the fuzz walk does not know: teach it"),
    }
}

/// A collection's two walks saw the same elements and ended alike; returns how they ended.
fn same_walks<T: PartialEq + std::fmt::Debug>(
    iterated: Vec<T>,
    end: Result<(), Error>,
    walked: Vec<T>,
    walk_end: Result<(), Error>,
) -> Result<(), Error> {
    assert_eq!(
        iterated, walked,
        "the reused-buffer walk saw other elements"
    );
    assert_eq!(
        end.as_ref().map_err(ToString::to_string),
        walk_end.as_ref().map_err(ToString::to_string),
        "the reused-buffer walk ended otherwise"
    );
    end
}

/// What a whole-file walk saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Items yielded before the end or the error.
    pub items: u64,
    /// Elements visited inside values.
    pub visited: u64,
    /// Where the EOF item was, if reached.
    pub eof: Option<u64>,
    /// The first error.
    pub error: Option<Error>,
}

/// Decodes every item of `data` and visits every element of every value.
pub fn walk_file(data: &[u8], options: DecoderOptions) -> Outcome {
    let mut out = Outcome::default();
    let mut dec = match Decoder::with_options(data, options) {
        Ok(d) => d,
        Err(e) => {
            check_error(&e, data.len(), "header");
            out.error = Some(e);
            return out;
        }
    };
    let _ = dec.version().magic();
    let mut scratch = Scratch::new();
    let mut decoder_done = false;
    loop {
        let item = match dec.next() {
            None => {
                decoder_done = true;
                break;
            }
            Some(Ok(item)) => item,
            Some(Err(e)) => {
                check_error(&e, data.len(), "item");
                out.error = Some(e);
                decoder_done = true;
                break;
            }
        };
        out.items += 1;
        assert!(
            out.items <= data.len() as u64,
            "{} items from {} bytes",
            out.items,
            data.len()
        );
        assert!(dec.position() <= data.len() as u64);
        if let Err(e) = visit_item(&item, &mut scratch, &mut out) {
            check_error(&e, data.len(), "value");
            out.error = Some(e);
            break;
        }
        scratch.reset();
        if let Item::Eof(eof) = item {
            assert!(eof.offset < data.len() as u64);
            assert!(eof.trailing_bytes <= data.len() as u64 - eof.offset);
            out.eof = Some(eof.offset);
        }
    }
    // Nothing after the end or an error (a value's error does not end the decoder).
    if decoder_done || out.eof.is_some() {
        assert!(
            dec.next().is_none(),
            "the decoder yielded an item after its end or an error"
        );
    }
    out
}

fn visit_item(item: &Item<'_>, scratch: &mut Scratch, out: &mut Outcome) -> Result<(), Error> {
    match item {
        Item::Aux { key, value } => {
            touch(key.decode(scratch)?);
            touch(value.decode(scratch)?);
        }
        Item::Function { code } => touch(code.decode(scratch)?),
        Item::FunctionPreGa {
            name,
            engine,
            description,
            code,
        } => {
            touch(name.decode(scratch)?);
            touch(engine.decode(scratch)?);
            if let Some(d) = description {
                touch(d.decode(scratch)?);
            }
            touch(code.decode(scratch)?);
        }
        Item::SlotImport { job, .. } => touch(job.decode(scratch)?),
        Item::ModuleAux { id, .. } => {
            let _ = id.name();
        }
        Item::Record(r) => {
            let _ = (r.data_type().as_str(), r.encoding.as_str());
            assert_eq!(r.value_raw.len() as u64 + r.value_offset, r.offset + r.len);
            let key = r.key.decode(scratch)?;
            assert_eq!(key.len() as u64, r.key.len());
            touch(key);
            let mut budget = Budget::new(r.value_raw.len(), Some(scratch), "record");
            let v = r.value(scratch)?;
            walk_value(v, &mut budget)?;
            out.visited += budget.used();
        }
        Item::SelectDb { .. } | Item::ResizeDb { .. } | Item::SlotInfo { .. } | Item::Eof(_) => {}
        _ => unreachable!("an item kind the fuzz walk does not know: teach it"),
    }
    Ok(())
}

/// The `whole_file` target: decodes with the checksum off (future versions allowed) and on,
/// and checks that the two agree.
pub fn whole_file(data: &[u8]) {
    let loose = walk_file(
        data,
        DecoderOptions {
            verify_checksum: false,
            allow_future_versions: true,
        },
    );
    let strict = walk_file(
        data,
        DecoderOptions {
            verify_checksum: true,
            allow_future_versions: false,
        },
    );
    let future = matches!(
        &strict.error,
        Some(e) if matches!(e.kind, rdb_format::ErrorKind::UnsupportedVersion { .. })
    );
    if future {
        return;
    }
    match &strict.error {
        None => {
            assert!(loose.error.is_none(), "only the unverified walk failed");
            assert_eq!(loose.items, strict.items);
            assert_eq!(loose.visited, strict.visited);
        }
        Some(e) if matches!(e.kind, rdb_format::ErrorKind::ChecksumMismatch { .. }) => {
            assert!(
                loose.error.is_none(),
                "checksum failed but the unverified walk failed too: {:?}",
                loose.error
            );
            assert_eq!(loose.items, strict.items + 1);
            assert_eq!(Some(e.offset), loose.eof.map(|o| o + 1));
        }
        Some(e) => {
            let l = loose.error.as_ref().expect("only the verified walk failed");
            assert_eq!(
                (l.offset, l.blob_offset, l.context),
                (e.offset, e.blob_offset, e.context)
            );
            assert_eq!(loose.items, strict.items);
        }
    }
}

/// The `value` target: type byte, version selector, payload.
pub fn value(data: &[u8]) {
    let [t, v, payload @ ..] = data else { return };
    let version = VERSIONS[usize::from(*v) % VERSIONS.len()];
    decode_and_walk(*t, version, payload);
}

/// The `stream` target: layout selector, payload decoded as a stream of type 15, 19 or 21.
pub fn stream(data: &[u8]) {
    let [t, payload @ ..] = data else { return };
    let ty = [15u8, 19, 21][usize::from(*t) % 3];
    let version = Version {
        flavor: Flavor::Redis,
        number: 11,
    };
    decode_and_walk(ty, version, payload);
}

fn decode_and_walk(ty: u8, version: Version, payload: &[u8]) {
    let scratch = Scratch::new();
    let r = Value::decode(ty, version, payload, &scratch).and_then(|v| {
        let mut budget = Budget::new(payload.len(), Some(&scratch), "value");
        walk_value(v, &mut budget)
    });
    if let Err(e) = r {
        check_error(&e, payload.len(), "value");
    }
}
