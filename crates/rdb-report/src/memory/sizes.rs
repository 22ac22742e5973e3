//! Sizes of the server's structures on 64-bit builds, its default encoding thresholds, and
//! the arithmetic of `sds` strings and hash tables.

use super::*;

pub(super) const ROBJ: u64 = 16;
pub(super) const DICT_ENTRY: u64 = 24;
pub(super) const QUICKLIST: u64 = 40;
pub(super) const ZSET: u64 = 16;
pub(super) const ZSKIPLIST: u64 = 32;
pub(super) const STREAM_NACK: u64 = 24;
pub(super) const STREAM_ID: u64 = 16;
/// `streamRadixTreeMemoryUsage`: per node, a 4-byte header plus "30 longs" of overhead.
pub(super) const RAX_NODE_ESTIMATE: u64 = 4 + 8 * 30;
pub(super) const ZSKIPLIST_MAXLEVEL: u64 = 32;
/// Valkey's `hashtable` struct and its 64-byte buckets of 7 entries.
pub(super) const VK_HASHTABLE: u64 = 80;
pub(super) const VK_BUCKET: u64 = 64;
pub(super) const VK_BUCKET_SLOTS: u64 = 7;
/// Valkey's `rax` struct (head, element and node counts, allocation size).
pub(super) const VK_RAX: u64 = 32;
/// Valkey hash tables of hashes carry one metadata word (their volatile-field set).
pub(super) const VK_HASH_META: u64 = 8;

// Default encoding thresholds (the compiled-in defaults, which redis.conf repeats).
pub(super) const HASH_MAX_LISTPACK_ENTRIES: u64 = 512;
pub(super) const HASH_MAX_LISTPACK_VALUE: u64 = 64;
pub(super) const SET_MAX_INTSET_ENTRIES: u64 = 512;
pub(super) const SET_MAX_LISTPACK_ENTRIES: u64 = 128;
pub(super) const SET_MAX_LISTPACK_VALUE: u64 = 64;
pub(super) const ZSET_MAX_LISTPACK_ENTRIES: u64 = 128;
pub(super) const ZSET_MAX_LISTPACK_VALUE: u64 = 64;
/// `list-max-listpack-size -2`: 8 KiB per quicklist node.
pub(super) const LIST_NODE_MAX_BYTES: u64 = 8192;
/// Quicklist nodes smaller than this are never compressed; compression must save more than
/// `MIN_COMPRESS_IMPROVE` bytes.
pub(super) const MIN_COMPRESS_BYTES: u64 = 48;
pub(super) const MIN_COMPRESS_IMPROVE: u64 = 8;
/// `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`.
pub(super) const EMBSTR_MAX: u64 = 44;
/// Valkey embeds a string value in its object while the whole allocation stays below this.
pub(super) const VK_EMBED_MAX: u64 = 128;
/// Valkey reserves an expire slot in objects whose key is at least this long.
pub(super) const VK_KEY_EXPIRE_RESERVE: u64 = 128;
/// Valkey embeds a hash value in its entry while field + value fit in this many bytes.
pub(super) const VK_EMBED_VALUE_MAX: u64 = 128;
/// Skiplist level probability (`ZSKIPLIST_P`).
pub(super) const SKIPLIST_P: f64 = 0.25;

/// Valkey's embedded key: a header-size byte and the key's sds.
pub(super) fn vk_key_part(key_len: u64) -> u64 {
    1 + sds_req(key_len)
}

/// Valkey's expire slot in an object: present when the key expires or is long.
pub(super) fn vk_expire(o: &Obj) -> u64 {
    if o.expire || o.key_len >= VK_KEY_EXPIRE_RESERVE {
        8
    } else {
        0
    }
}

/// Buckets of the old table still allocated while a Redis dict grown one insert at a time
/// is rehashing: 7.4 loads hashes with field TTLs that way. The table doubled when it
/// filled up; each insert since moved one bucket (skipping empty ones), and a table at fill
/// 1 has about 63% non-empty buckets.
pub(super) fn rehashing_buckets(n: u64) -> u64 {
    let size = n.max(4).next_power_of_two();
    let old = size / 2;
    if n <= 4 || old == 0 {
        return 0;
    }
    let inserted_since = n - old;
    let steps_needed = (old as f64 * 0.632).ceil() as u64;
    if inserted_since < steps_needed {
        old
    } else {
        0
    }
}

/// Valkey's bucket count for `n` entries: `ceil(n * 5 / 32)` rounded up to a power of two.
pub(super) fn vk_buckets(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let min = (n * 5 - 1) / 32 + 1;
    min.next_power_of_two()
}

/// Expected child buckets when `n` entries hash uniformly into `buckets` buckets of 7 slots
/// (a chained bucket keeps 6 and links the next).
pub(super) fn vk_expected_children(n: u64, buckets: u64) -> f64 {
    if buckets == 0 || n <= VK_BUCKET_SLOTS {
        return 0.0;
    }
    let lambda = n as f64 / buckets as f64;
    let mut p = (-lambda).exp(); // P(k = 0)
    let mut expected = 0.0;
    let max_k = (lambda * 4.0 + 40.0) as u64;
    for k in 1..=max_k {
        p *= lambda / k as f64;
        if k > VK_BUCKET_SLOTS {
            let children = (k - VK_BUCKET_SLOTS).div_ceil(VK_BUCKET_SLOTS - 1);
            expected += p * children as f64;
        }
    }
    expected * buckets as f64
}

/// sds header size for a string of `len` bytes.
pub(super) fn sds_hdr(len: u64) -> u64 {
    match len {
        0 => 3,
        1..=31 => 1,
        32..=255 => 3,
        256..=65535 => 5,
        65536..=0xFFFF_FFFF => 9,
        _ => 17,
    }
}

/// Bytes an sds of `len` bytes asks the allocator for: header, bytes, terminator.
pub(super) fn sds_req(len: u64) -> u64 {
    sds_hdr(len) + len + 1
}

pub(super) fn int_width(i: i64) -> u64 {
    if i16::try_from(i).is_ok() {
        2
    } else if i32::try_from(i).is_ok() {
        4
    } else {
        8
    }
}
