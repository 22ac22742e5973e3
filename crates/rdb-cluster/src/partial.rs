//! Values sent in parts are built under a temporary key in the same hash slot, then renamed
//! onto their name and given their TTL in one atomic step, so a reader never sees a partial
//! value, a value without its TTL, or one that outlived its expiry.
//!
//! The temporary name is derived from the record's position in the dump, so a resumed run
//! rebuilds (and, when it no longer sends the value, drops) the same temporary key.

use std::sync::OnceLock;

use crate::checkpoint::Pos;
use crate::commands::{to_cmd, Args};
use crate::slot::{hash_tag, key_slot, SLOTS};

/// Marks temporary keys; a key with this in its name was left by an interrupted seed.
pub const MARK: &str = ":rdb-seed-partial:";

/// A short string whose slot is `slot`, for each slot (base-36, 1 to 4 characters).
fn slot_tags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut tags = vec![String::new(); SLOTS];
        let mut missing = SLOTS;
        let mut buf = Vec::with_capacity(4);
        'lengths: for len in 1..=4u32 {
            for n in 0..36usize.pow(len) {
                buf.clear();
                let mut x = n;
                for _ in 0..len {
                    buf.push(DIGITS[x % 36]);
                    x /= 36;
                }
                let slot = usize::from(key_slot(&buf));
                if tags[slot].is_empty() {
                    tags[slot] = String::from_utf8_lossy(&buf).into_owned();
                    missing -= 1;
                    if missing == 0 {
                        break 'lengths;
                    }
                }
            }
        }
        tags
    })
}

/// The temporary key for the value of `key` recorded at `at`: `{tag}:rdb-seed-partial:F:O`,
/// where the tag is the key's own hash tag, or a short string hashing to the key's slot.
pub fn temp_key(key: &[u8], at: Pos) -> Vec<u8> {
    let tag = hash_tag(key);
    let mut out = Vec::with_capacity(tag.len() + 48);
    out.push(b'{');
    if tag.len() < key.len() {
        out.extend_from_slice(tag);
    } else {
        let slot = usize::from(key_slot(key));
        out.extend_from_slice(slot_tags().get(slot).map_or("", |s| s.as_str()).as_bytes());
    }
    out.push(b'}');
    out.extend_from_slice(format!("{MARK}{}:{}", at.0, at.1).as_bytes());
    out
}

/// `KEYS[1]` the temporary key, `KEYS[2]` the key; `ARGV[1]` `1` to replace an existing key,
/// `ARGV[2]` the absolute expiry in ms (`0`: none). Returns 1 when the key was put in place
/// (an expiry already past deletes it at once, as the server does for any PEXPIREAT),
/// 0 when the key exists and is not replaced (the temporary key is dropped), -1 when the
/// temporary key is missing.
pub const PUBLISH_SCRIPT: &str = "\
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[1] == '0' and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('RENAME', KEYS[1], KEYS[2])
if ARGV[2] ~= '0' then redis.call('PEXPIREAT', KEYS[2], ARGV[2]) end
return 1";

/// The command that puts a value built under `tmp` in place as `key`.
pub fn publish_cmd(tmp: &[u8], key: &[u8], replace: bool, ttl: i64) -> redis::Cmd {
    to_cmd(publish_args(tmp, key, replace, ttl))
}

/// [`publish_cmd`]'s arguments: `EVAL script 2 tmp key replace ttl`.
pub fn publish_args(tmp: &[u8], key: &[u8], replace: bool, ttl: i64) -> Args {
    vec![
        b"EVAL".to_vec(),
        PUBLISH_SCRIPT.as_bytes().to_vec(),
        b"2".to_vec(),
        tmp.to_vec(),
        key.to_vec(),
        if replace {
            b"1".to_vec()
        } else {
            b"0".to_vec()
        },
        ttl.max(0).to_string().into_bytes(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_has_a_tag() {
        let tags = slot_tags();
        for (slot, tag) in tags.iter().enumerate() {
            assert!(!tag.is_empty() && tag.len() <= 4, "slot {slot}");
            assert_eq!(usize::from(key_slot(tag.as_bytes())), slot);
        }
    }

    #[test]
    fn temp_keys_share_the_slot() {
        for key in [&b"plain"[..], b"{user1}:list", b"{}x", b"a{b", b"{{a}}"] {
            let t = temp_key(key, (1, 4096));
            assert_eq!(
                key_slot(&t),
                key_slot(key),
                "{:?}",
                String::from_utf8_lossy(key)
            );
            assert!(t.ends_with(b":rdb-seed-partial:1:4096"));
        }
    }
}
