use super::*;
use crate::{Checksum, DecoderOptions, Encoding, PendingEntry, Scratch, StreamId, Version};

const RDB11: Version = Version {
    flavor: crate::Flavor::Redis,
    number: 11,
};

fn bytes(b: &[u8]) -> OwnedStr {
    OwnedStr::from(b)
}

#[test]
fn a_whole_dump_becomes_owned_items() {
    let mut dump = b"REDIS0011\xfa\x03ver\xc0\x07\xfe\x00\x00\x08greeting\x05hello\xff".to_vec();
    dump.extend_from_slice(&[0; 8]);
    let (version, items) = decode_all(&dump, DecoderOptions::default()).unwrap();
    assert_eq!(version, RDB11);
    assert_eq!(items.len(), 4);
    assert_eq!(
        items[0],
        OwnedItem::Aux {
            key: bytes(b"ver"),
            value: OwnedStr::Int(7)
        }
    );
    assert_eq!(items[1], OwnedItem::SelectDb { db: 0 });
    let OwnedItem::Record(record) = &items[2] else {
        panic!("not a record: {:?}", items[2]);
    };
    assert_eq!(record.key, bytes(b"greeting"));
    assert_eq!(record.encoding, Encoding::String);
    assert_eq!(record.value, OwnedValue::String(bytes(b"hello")));
    assert_eq!((record.offset, record.value_offset), (18, 28));
    let OwnedItem::Eof(eof) = items[3] else {
        panic!("not the end: {:?}", items[3]);
    };
    assert_eq!(eof.checksum, Checksum::NotComputed);
}

#[test]
fn collections_are_copied_in_file_order() {
    let scratch = Scratch::new();
    // A plain list (type 1) of "b", "a".
    let list = Value::decode(1, RDB11, b"\x02\x01b\x01a", &scratch).unwrap();
    assert_eq!(
        list.to_owned_value().unwrap(),
        OwnedValue::List(vec![bytes(b"b"), bytes(b"a")])
    );
    // A plain hash (type 4): field "f", value 12 as an 8-bit integer string.
    let hash = Value::decode(4, RDB11, b"\x01\x01f\xc0\x0c", &scratch).unwrap();
    assert_eq!(
        OwnedValue::try_from(hash).unwrap(),
        OwnedValue::Hash(vec![HashField {
            field: bytes(b"f"),
            value: OwnedStr::Int(12),
            expire_ms: None,
        }])
    );
}

#[test]
fn an_element_error_is_returned() {
    let scratch = Scratch::new();
    // Declares three elements, holds two.
    let list = Value::decode(1, RDB11, b"\x03\x01b\x01a", &scratch);
    let owned = list.and_then(OwnedValue::from_value);
    assert!(owned.is_err(), "{owned:?}");
}

#[test]
fn scores_compare_bit_for_bit_with_one_nan() {
    let member = |score| ZSetMember {
        member: bytes(b"m"),
        score,
    };
    assert_eq!(member(f64::NAN), member(-f64::NAN));
    assert_ne!(member(0.0), member(-0.0));
    assert_eq!(member(1.5), member(1.5));
}

#[test]
fn owned_strings_round_trip_through_str() {
    for s in [OwnedStr::Int(-3), bytes(b"x")] {
        assert_eq!(OwnedStr::from(s.as_str()), s);
    }
    assert_eq!(OwnedStr::Int(-3).to_vec(), b"-3");
}

/// The RDB length encoding of `n`.
fn length(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=63 => out.push(n as u8),
        64..=0x3FFF => out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]),
        _ => {
            out.push(0x81);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// A raw RDB string shorter than 64 bytes.
fn short_string(out: &mut Vec<u8>, s: &[u8]) {
    length(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A listpack of small integers (0..=127) and strings shorter than 64 bytes.
fn listpack(elements: &[Result<u8, &[u8]>]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in elements {
        match e {
            Ok(i) => body.extend_from_slice(&[*i, 1]),
            Err(s) => {
                body.push(0x80 | s.len() as u8);
                body.extend_from_slice(s);
                body.push(s.len() as u8 + 1);
            }
        }
    }
    let mut lp = ((body.len() + 7) as u32).to_le_bytes().to_vec();
    lp.extend_from_slice(&(elements.len() as u16).to_le_bytes());
    lp.extend_from_slice(&body);
    lp.push(0xFF);
    lp
}

#[test]
fn a_stream_keeps_its_groups_consumers_and_idmp_state() {
    const MS: u64 = 1_771_945_454_291;
    let id = |seq| StreamId { ms: MS, seq };
    let id_pair = |out: &mut Vec<u8>, id: StreamId| {
        length(out, id.ms);
        length(out, id.seq);
    };
    let mut v = Vec::new();
    length(&mut v, 1); // one node
    let mut master = MS.to_be_bytes().to_vec();
    master.extend_from_slice(&0u64.to_be_bytes());
    short_string(&mut v, &master);
    // Master entry (3 entries, 0 deleted, field "field1"), one entry with the master fields,
    // two with their own.
    let node = listpack(&[
        Ok(3),
        Ok(0),
        Ok(1),
        Err(b"field1"),
        Ok(0),
        Ok(2),
        Ok(0),
        Ok(0),
        Err(b"value1"),
        Ok(4),
        Ok(0),
        Ok(0),
        Ok(1),
        Ok(1),
        Err(b"idmp_field"),
        Err(b"prod1_ent1"),
        Ok(6),
        Ok(0),
        Ok(0),
        Ok(2),
        Ok(1),
        Err(b"idmp_field"),
        Err(b"prod2_ent1"),
        Ok(6),
    ]);
    short_string(&mut v, &node);
    length(&mut v, 3); // XLEN
    id_pair(&mut v, id(2)); // last id
    id_pair(&mut v, id(0)); // first id
    id_pair(&mut v, StreamId::default()); // max deleted
    length(&mut v, 3); // entries added
    length(&mut v, 1); // groups
    short_string(&mut v, b"g");
    id_pair(&mut v, id(1));
    length(&mut v, 2); // entries read
    length(&mut v, 2); // PEL
    for seq in [0, 1] {
        v.extend_from_slice(&MS.to_be_bytes());
        v.extend_from_slice(&u64::to_be_bytes(seq));
        v.extend_from_slice(&(MS as i64 + 5).to_le_bytes());
        length(&mut v, 1);
    }
    length(&mut v, 1); // consumers
    short_string(&mut v, b"c");
    v.extend_from_slice(&(MS as i64 + 5).to_le_bytes());
    v.extend_from_slice(&(MS as i64 + 6).to_le_bytes());
    length(&mut v, 1);
    v.extend_from_slice(&MS.to_be_bytes());
    v.extend_from_slice(&1u64.to_be_bytes());
    // IDMP: duration, max entries, two producers of one IID each, added, duplicates.
    length(&mut v, 100);
    length(&mut v, 100);
    length(&mut v, 2);
    for (pid, iid, seq) in [(&b"p1"[..], &b"i1"[..], 1), (b"p2", b"i2", 2)] {
        short_string(&mut v, pid);
        length(&mut v, 1);
        short_string(&mut v, iid);
        id_pair(&mut v, id(seq));
    }
    length(&mut v, 2);
    length(&mut v, 1);

    let version = Version {
        flavor: crate::Flavor::Redis,
        number: 13,
    };
    let scratch = Scratch::new();
    let value = Value::decode(26, version, &v, &scratch).unwrap();
    let pending = |seq| PendingEntry {
        id: id(seq),
        delivery_time_ms: MS as i64 + 5,
        delivery_count: 1,
    };
    let entry = |seq, f: &[u8], v: &[u8]| OwnedStreamEntry {
        id: id(seq),
        fields: vec![(bytes(f), bytes(v))],
    };
    let producer = |pid: &[u8], iid: &[u8], seq| OwnedIdmpProducer {
        pid: bytes(pid),
        entries: vec![(bytes(iid), id(seq))],
    };
    let want = OwnedStream {
        length: 3,
        last_id: id(2),
        first_id: Some(id(0)),
        max_deleted_id: Some(StreamId::default()),
        entries_added: Some(3),
        node_count: 1,
        entries: vec![
            entry(0, b"field1", b"value1"),
            entry(1, b"idmp_field", b"prod1_ent1"),
            entry(2, b"idmp_field", b"prod2_ent1"),
        ],
        groups: vec![OwnedConsumerGroup {
            name: bytes(b"g"),
            last_delivered_id: id(1),
            entries_read: Some(2),
            pending: vec![pending(0), pending(1)],
            consumers: vec![OwnedConsumer {
                name: bytes(b"c"),
                seen_time_ms: MS as i64 + 5,
                active_time_ms: Some(MS as i64 + 6),
                pending: vec![id(1)],
            }],
        }],
        idmp: Some(OwnedIdmp {
            duration: 100,
            max_entries: 100,
            iids_added: 2,
            iids_duplicates: 1,
            producers: vec![producer(b"p1", b"i1", 1), producer(b"p2", b"i2", 2)],
        }),
    };
    assert_eq!(
        value.to_owned_value().unwrap(),
        OwnedValue::Stream(Box::new(want))
    );
}
