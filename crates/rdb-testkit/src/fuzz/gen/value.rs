//! Values in every type and encoding, with the owned value the decoder must report.

use rdb_format::owned::{
    HashField, OwnedConsumer, OwnedConsumerGroup, OwnedModule, OwnedStr, OwnedStream,
    OwnedStreamEntry, OwnedValue, ZSetMember,
};
use rdb_format::{ModuleId, PendingEntry, StreamId};

use super::file::Gen;
use super::style::{id_len, id_raw, width_of, Style};
use super::{lp_model, Elem, ListEnc, ScoreSpec, SetEnc, StreamSpec, ValueSpec, ZSetEnc};
use crate::fuzz::build::{self, LpValue, StreamNodeEntry};

impl Gen {
    pub(super) fn value(&mut self, ty: u8, v: &ValueSpec) -> OwnedValue {
        let (st, out) = (&mut self.st, &mut self.out);
        match v {
            ValueSpec::String(e) => OwnedValue::String(st.string(e, true, out)),
            ValueSpec::List(enc, items) => {
                let lp: Vec<LpValue> = items.iter().map(Elem::lp).collect();
                match enc {
                    ListEnc::Plain => {
                        st.len(items.len() as u64, out);
                        OwnedValue::List(items.iter().map(|e| st.string(e, true, out)).collect())
                    }
                    ListEnc::Ziplist => {
                        let blob = st.ziplist(&lp);
                        st.blob(&blob, out);
                        OwnedValue::List(lp.iter().map(lp_model).collect())
                    }
                    ListEnc::Quicklist => {
                        let chunks = split(st, &lp);
                        st.len(chunks.len() as u64, out);
                        for c in &chunks {
                            let blob = st.ziplist(c);
                            st.blob(&blob, out);
                        }
                        OwnedValue::List(lp.iter().map(lp_model).collect())
                    }
                    ListEnc::Quicklist2 => {
                        // Plain nodes hold one element each; packed nodes a listpack.
                        let mut nodes: Vec<Result<&Elem, &[LpValue]>> = Vec::new();
                        let mut i = 0;
                        let mut empty = 0;
                        while i < items.len() {
                            if st.one_in(3) {
                                nodes.push(Ok(&items[i]));
                                i += 1;
                            } else {
                                let mut n = (st.next() % 6) as usize;
                                if n == 0 {
                                    empty += 1;
                                    if empty > 2 {
                                        n = 1;
                                    }
                                }
                                let end = (i + n).min(items.len());
                                nodes.push(Err(&lp[i..end]));
                                i = end;
                            }
                        }
                        st.len(nodes.len() as u64, out);
                        let mut model = Vec::new();
                        for n in nodes {
                            match n {
                                Ok(e) => {
                                    st.len(1, out);
                                    model.push(st.string(e, true, out));
                                }
                                Err(values) => {
                                    st.len(2, out);
                                    let blob = st.listpack(values);
                                    st.blob(&blob, out);
                                    model.extend(values.iter().map(lp_model));
                                }
                            }
                        }
                        OwnedValue::List(model)
                    }
                }
            }
            ValueSpec::Set(enc, members, ints) => match enc {
                SetEnc::Plain => {
                    st.len(members.len() as u64, out);
                    OwnedValue::Set(members.iter().map(|e| st.string(e, true, out)).collect())
                }
                SetEnc::Intset => {
                    let w = [2, 2, 4, 8][(st.next() % 4) as usize];
                    let (blob, sorted) = build::intset(ints, w);
                    st.blob(&blob, out);
                    OwnedValue::Set(sorted.into_iter().map(OwnedStr::Int).collect())
                }
                SetEnc::Listpack => {
                    let lp: Vec<LpValue> = members.iter().map(Elem::lp).collect();
                    let blob = st.listpack(&lp);
                    st.blob(&blob, out);
                    OwnedValue::Set(lp.iter().map(lp_model).collect())
                }
            },
            ValueSpec::ZSet(enc, members) => match enc {
                ZSetEnc::Plain | ZSetEnc::Plain2 => {
                    st.len(members.len() as u64, out);
                    let mut model = Vec::new();
                    for (m, score) in members {
                        let m = st.string(m, true, out);
                        let v = score.value();
                        let got = if ty == 5 {
                            out.extend_from_slice(&v.to_le_bytes());
                            v
                        } else if v.is_nan() {
                            out.push(253);
                            f64::NAN
                        } else if v == f64::INFINITY {
                            out.push(254);
                            v
                        } else if v == f64::NEG_INFINITY {
                            out.push(255);
                            v
                        } else {
                            let text = score.text();
                            out.push(text.len() as u8);
                            out.extend_from_slice(&text);
                            v
                        };
                        model.push(ZSetMember {
                            member: m,
                            score: got,
                        });
                    }
                    OwnedValue::ZSet(model)
                }
                ZSetEnc::Ziplist | ZSetEnc::Listpack => {
                    let mut lp = Vec::new();
                    let mut model = Vec::new();
                    for (m, score) in members {
                        let m = m.lp();
                        model.push(ZSetMember {
                            member: lp_model(&m),
                            score: score.value(),
                        });
                        lp.push(m);
                        lp.push(match score {
                            ScoreSpec::Int(i) => LpValue::Int(i64::from(*i)),
                            other => LpValue::Str(other.text()),
                        });
                    }
                    let blob = if matches!(enc, ZSetEnc::Ziplist) {
                        st.ziplist(&lp)
                    } else {
                        st.listpack(&lp)
                    };
                    st.blob(&blob, out);
                    OwnedValue::ZSet(model)
                }
            },
            ValueSpec::Hash(_, fields, min_expire) => {
                let mut model = Vec::new();
                match ty {
                    4 | 22 | 24 => {
                        if ty == 24 {
                            out.extend_from_slice(&min_expire.to_le_bytes());
                        }
                        st.len(fields.len() as u64, out);
                        let valkey = self.version.is_valkey();
                        for (f, v, ttl) in fields {
                            let t = ttl.unwrap_or(0);
                            if ty == 24 || (ty == 22 && !valkey) {
                                st.len(t, out);
                            }
                            let f = st.string(f, true, out);
                            let v = st.string(v, true, out);
                            let expire = match ty {
                                24 => (t != 0)
                                    .then(|| t.wrapping_add(*min_expire).wrapping_sub(1) as i64),
                                22 if valkey => {
                                    let t = ttl.map_or(-1, |t| t as i64);
                                    out.extend_from_slice(&t.to_le_bytes());
                                    (t != -1).then_some(t)
                                }
                                22 => (t != 0).then_some(t as i64),
                                _ => None,
                            };
                            model.push(field(f, v, expire));
                        }
                    }
                    9 => {
                        let pairs: Vec<(Vec<u8>, Vec<u8>)> = fields
                            .iter()
                            .map(|(f, v, _)| (f.bytes(), v.bytes()))
                            .collect();
                        let seed = st.next();
                        let blob = build::zipmap(
                            &pairs,
                            |i| (width_of(seed, i) % 3) * 2,
                            |i| width_of(seed ^ 1, i) == 5,
                        );
                        st.blob(&blob, out);
                        model = pairs
                            .into_iter()
                            .map(|(f, v)| field(OwnedStr::Bytes(f), OwnedStr::Bytes(v), None))
                            .collect();
                    }
                    13 | 16 => {
                        let mut lp = Vec::new();
                        for (f, v, _) in fields {
                            let (f, v) = (f.lp(), v.lp());
                            model.push(field(lp_model(&f), lp_model(&v), None));
                            lp.push(f);
                            lp.push(v);
                        }
                        let blob = if ty == 13 {
                            st.ziplist(&lp)
                        } else {
                            st.listpack(&lp)
                        };
                        st.blob(&blob, out);
                    }
                    _ => {
                        // 23 and 25: listpack triples with absolute TTLs, 0 = none.
                        if ty == 25 {
                            out.extend_from_slice(&min_expire.to_le_bytes());
                        }
                        let mut lp = Vec::new();
                        for (f, v, ttl) in fields {
                            let (f, v) = (f.lp(), v.lp());
                            let t = ttl.unwrap_or(0) as i64;
                            model.push(field(lp_model(&f), lp_model(&v), (t != 0).then_some(t)));
                            lp.push(f);
                            lp.push(v);
                            lp.push(LpValue::Int(t));
                        }
                        let blob = st.listpack(&lp);
                        st.blob(&blob, out);
                    }
                }
                OwnedValue::Hash(model)
            }
            ValueSpec::Stream(s) => OwnedValue::Stream(Box::new(stream(st, out, ty, s))),
            ValueSpec::Module(id, ops) => {
                st.len(*id, out);
                let start = out.len();
                st.module_ops(ops, out);
                OwnedValue::Module(OwnedModule {
                    id: ModuleId(*id),
                    raw: out[start..].to_vec(),
                })
            }
        }
    }
}

/// Splits `values` into quicklist nodes of 0 to 7 elements (empty nodes are legal).
fn split<'a>(st: &mut Style, values: &'a [LpValue]) -> Vec<&'a [LpValue]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < values.len() || (out.is_empty() && st.one_in(2)) {
        let n = (st.next() % 8) as usize;
        let end = (i + n).min(values.len());
        out.push(&values[i..end]);
        i = end;
        if out.len() > values.len() + 4 {
            break;
        }
    }
    out
}

fn stream(st: &mut Style, out: &mut Vec<u8>, ty: u8, s: &StreamSpec) -> OwnedStream {
    let layout = match ty {
        15 => 1,
        19 => 2,
        _ => 3,
    };
    let mut entries = Vec::new();
    st.len(s.nodes.len() as u64, out);
    for node in &s.nodes {
        let master_fields: Vec<LpValue> = node.master_fields.iter().map(Elem::lp).collect();
        let mut built = Vec::new();
        for e in &node.entries {
            let fields: Vec<(LpValue, LpValue)> = if e.same_fields {
                master_fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let v = e.fields.get(i).map_or(LpValue::Int(0), |(_, v)| v.lp());
                        (f.clone(), v)
                    })
                    .collect()
            } else {
                e.fields.iter().map(|(f, v)| (f.lp(), v.lp())).collect()
            };
            if !e.deleted {
                entries.push(OwnedStreamEntry {
                    id: stream_id((
                        node.master.0.wrapping_add(e.ms_diff as u64),
                        node.master.1.wrapping_add(e.seq_diff as u64),
                    )),
                    fields: fields
                        .iter()
                        .map(|(f, v)| (lp_model(f), lp_model(v)))
                        .collect(),
                });
            }
            built.push(StreamNodeEntry {
                deleted: e.deleted,
                same_fields: e.same_fields,
                ms_diff: e.ms_diff,
                seq_diff: e.seq_diff,
                fields,
            });
        }
        let mut key = Vec::with_capacity(16);
        id_raw(node.master, &mut key);
        st.blob(&key, out);
        let values = build::stream_node_values(&master_fields, &built);
        let blob = st.listpack(&values);
        st.blob(&blob, out);
    }
    st.len(s.length, out);
    id_len(st, s.last_id, out);
    if layout >= 2 {
        id_len(st, s.first_id, out);
        id_len(st, s.max_deleted, out);
        st.len(s.entries_added, out);
    }
    st.len(s.groups.len() as u64, out);
    let mut groups = Vec::new();
    for g in &s.groups {
        let name = st.string(&g.name, true, out);
        id_len(st, g.last_id, out);
        if layout >= 2 {
            st.len(g.entries_read, out);
        }
        st.len(g.pel.len() as u64, out);
        for (id, time, count) in &g.pel {
            id_raw(*id, out);
            out.extend_from_slice(&time.to_le_bytes());
            st.len(*count, out);
        }
        st.len(g.consumers.len() as u64, out);
        let mut consumers = Vec::new();
        for c in &g.consumers {
            let name = st.string(&c.name, true, out);
            out.extend_from_slice(&c.seen.to_le_bytes());
            if layout >= 3 {
                out.extend_from_slice(&c.active.to_le_bytes());
            }
            st.len(c.pel.len() as u64, out);
            for id in &c.pel {
                id_raw(*id, out);
            }
            consumers.push(OwnedConsumer {
                name,
                seen_time_ms: c.seen,
                active_time_ms: (layout >= 3).then_some(c.active),
                pending: c.pel.iter().copied().map(stream_id).collect(),
            });
        }
        groups.push(OwnedConsumerGroup {
            name,
            last_delivered_id: stream_id(g.last_id),
            entries_read: (layout >= 2).then_some(g.entries_read),
            pending: g
                .pel
                .iter()
                .map(|(id, t, c)| PendingEntry {
                    id: stream_id(*id),
                    delivery_time_ms: *t,
                    delivery_count: *c,
                })
                .collect(),
            consumers,
        });
    }
    OwnedStream {
        length: s.length,
        last_id: stream_id(s.last_id),
        first_id: (layout >= 2).then_some(stream_id(s.first_id)),
        max_deleted_id: (layout >= 2).then_some(stream_id(s.max_deleted)),
        entries_added: (layout >= 2).then_some(s.entries_added),
        node_count: s.nodes.len() as u64,
        entries,
        groups,
        // Layouts 1 to 3 have no idempotent-producer state.
        idmp: None,
    }
}

fn stream_id((ms, seq): (u64, u64)) -> StreamId {
    StreamId { ms, seq }
}

fn field(field: OwnedStr, value: OwnedStr, expire_ms: Option<i64>) -> HashField {
    HashField {
        field,
        value,
        expire_ms,
    }
}
