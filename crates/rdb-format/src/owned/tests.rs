use super::*;
use crate::{Checksum, DecoderOptions, Encoding, Scratch, Version};

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
