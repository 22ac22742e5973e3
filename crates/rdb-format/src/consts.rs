//! Format constants, named as in Redis's `rdb.h` (and Valkey's where the two differ).
//!
//! Type bytes and opcodes share one byte space: a byte read where a record is expected is an
//! opcode when it is one of the `RDB_OPCODE_*` values, a value type otherwise. Some bytes mean
//! different things in Redis and Valkey files; the decoder dispatches on the file's
//! [`Version`](crate::Version), never on the byte alone.

/// String, or an integer/LZF-encoded string.
pub const RDB_TYPE_STRING: u8 = 0;
/// Linked list: a length then that many strings.
pub const RDB_TYPE_LIST: u8 = 1;
/// Plain set: a length then that many strings.
pub const RDB_TYPE_SET: u8 = 2;
/// Plain sorted set with scores as decimal strings.
pub const RDB_TYPE_ZSET: u8 = 3;
/// Plain hash: a length then that many field/value pairs.
pub const RDB_TYPE_HASH: u8 = 4;
/// Plain sorted set with binary (IEEE-754) scores.
pub const RDB_TYPE_ZSET_2: u8 = 5;
/// Module value of the Redis 4.0 release candidates (not skippable).
pub const RDB_TYPE_MODULE_PRE_GA: u8 = 6;
/// Module value with the self-describing opcode stream.
pub const RDB_TYPE_MODULE_2: u8 = 7;
/// Hash as a zipmap blob.
pub const RDB_TYPE_HASH_ZIPMAP: u8 = 9;
/// List as one ziplist blob.
pub const RDB_TYPE_LIST_ZIPLIST: u8 = 10;
/// Set of integers as an intset blob.
pub const RDB_TYPE_SET_INTSET: u8 = 11;
/// Sorted set as a ziplist blob of member/score pairs.
pub const RDB_TYPE_ZSET_ZIPLIST: u8 = 12;
/// Hash as a ziplist blob of field/value pairs.
pub const RDB_TYPE_HASH_ZIPLIST: u8 = 13;
/// List as a quicklist of ziplist nodes.
pub const RDB_TYPE_LIST_QUICKLIST: u8 = 14;
/// Stream, first layout (Redis 5.0–6.2).
pub const RDB_TYPE_STREAM_LISTPACKS: u8 = 15;
/// Hash as a listpack blob of field/value pairs.
pub const RDB_TYPE_HASH_LISTPACK: u8 = 16;
/// Sorted set as a listpack blob of member/score pairs.
pub const RDB_TYPE_ZSET_LISTPACK: u8 = 17;
/// List as a quicklist of listpack or plain nodes.
pub const RDB_TYPE_LIST_QUICKLIST_2: u8 = 18;
/// Stream, second layout (Redis 7.0): first id, max deleted id, entries added, entries read.
pub const RDB_TYPE_STREAM_LISTPACKS_2: u8 = 19;
/// Set as a listpack blob.
pub const RDB_TYPE_SET_LISTPACK: u8 = 20;
/// Stream, third layout (Redis 7.2): consumers' active time.
pub const RDB_TYPE_STREAM_LISTPACKS_3: u8 = 21;
/// Redis 7.4 release candidates: hash with absolute field TTLs.
pub const RDB_TYPE_HASH_METADATA_PRE_GA: u8 = 22;
/// Redis 7.4 release candidates: listpack hash with field TTLs, no minimum expiry.
pub const RDB_TYPE_HASH_LISTPACK_EX_PRE_GA: u8 = 23;
/// Hash with field TTLs, relative to a minimum expiry (Redis 7.4+).
pub const RDB_TYPE_HASH_METADATA: u8 = 24;
/// Listpack hash with absolute field TTLs (Redis 7.4+).
pub const RDB_TYPE_HASH_LISTPACK_EX: u8 = 25;
/// Stream with idempotent-producer state (Redis 8.6, RDB 13).
pub const RDB_TYPE_STREAM_LISTPACKS_4: u8 = 26;
/// Stream with per-group NACK zone (Redis 8.8, RDB 14).
pub const RDB_TYPE_STREAM_LISTPACKS_5: u8 = 27;
/// Array type (Redis 8.8, RDB 14).
pub const RDB_TYPE_ARRAY: u8 = 28;
/// Valkey 9 (`VALKEY080`): hash whose fields carry TTLs. Same byte as `RDB_TYPE_HASH_METADATA_PRE_GA`.
pub const VALKEY_RDB_TYPE_HASH_2: u8 = 22;

/// Redis Enterprise: per-key RAM LRU hint, one length.
pub const RDB_OPCODE_RAM_LRU: u8 = 107;
/// Redis Enterprise: slot number hint, one length.
pub const RDB_OPCODE_SLOT_NUM: u8 = 121;
/// Redis 8.10 (RDB 15): hash field-name template. Same byte as Valkey's `UPDATE`.
pub const RDB_OPCODE_HASH_TEMPLATE: u8 = 242;
/// Redis 8.6+ (RDB 13): per-key metadata classes.
pub const RDB_OPCODE_KEY_META: u8 = 243;
/// Valkey 9 (`VALKEY080`): slot-import job. Same byte as Redis's `KEY_META`.
pub const VALKEY_RDB_OPCODE_SLOT_IMPORT: u8 = 243;
/// Cluster slot size hint (Redis 7.4+).
pub const RDB_OPCODE_SLOT_INFO: u8 = 244;
/// A function library's source.
pub const RDB_OPCODE_FUNCTION2: u8 = 245;
/// Function library of the Redis 7.0 release candidates.
pub const RDB_OPCODE_FUNCTION_PRE_GA: u8 = 246;
/// Module auxiliary data.
pub const RDB_OPCODE_MODULE_AUX: u8 = 247;
/// LRU idle time of the next key, in seconds.
pub const RDB_OPCODE_IDLE: u8 = 248;
/// LFU counter of the next key.
pub const RDB_OPCODE_FREQ: u8 = 249;
/// Auxiliary field: a key and a value string.
pub const RDB_OPCODE_AUX: u8 = 250;
/// Hash table size hints for the current database.
pub const RDB_OPCODE_RESIZEDB: u8 = 251;
/// Expiry of the next key, absolute unix milliseconds.
pub const RDB_OPCODE_EXPIRETIME_MS: u8 = 252;
/// Expiry of the next key, absolute unix seconds (RDB 1–2).
pub const RDB_OPCODE_EXPIRETIME: u8 = 253;
/// Switch to another database.
pub const RDB_OPCODE_SELECTDB: u8 = 254;
/// End of the dump; the CRC64 follows from RDB 5 on.
pub const RDB_OPCODE_EOF: u8 = 255;

/// Length encoding: 6-bit length in the first byte.
pub const RDB_6BITLEN: u8 = 0;
/// Length encoding: 14-bit big-endian length.
pub const RDB_14BITLEN: u8 = 1;
/// Length encoding: the first byte selects 32- or 64-bit big-endian.
pub const RDB_32BITLEN: u8 = 0x80;
/// Length encoding: 64-bit big-endian length follows.
pub const RDB_64BITLEN: u8 = 0x81;
/// Length encoding: an encoded (integer or LZF) string follows.
pub const RDB_ENCVAL: u8 = 3;
/// Encoded string: 8-bit signed integer.
pub const RDB_ENC_INT8: u8 = 0;
/// Encoded string: 16-bit signed little-endian integer.
pub const RDB_ENC_INT16: u8 = 1;
/// Encoded string: 32-bit signed little-endian integer.
pub const RDB_ENC_INT32: u8 = 2;
/// Encoded string: LZF-compressed.
pub const RDB_ENC_LZF: u8 = 3;

/// Quicklist 2 node holding one element as is.
pub const QUICKLIST_NODE_CONTAINER_PLAIN: u64 = 1;
/// Quicklist 2 node holding a listpack.
pub const QUICKLIST_NODE_CONTAINER_PACKED: u64 = 2;

/// Module opcode stream: end.
pub const RDB_MODULE_OPCODE_EOF: u64 = 0;
/// Module opcode stream: signed integer (a length).
pub const RDB_MODULE_OPCODE_SINT: u64 = 1;
/// Module opcode stream: unsigned integer (a length).
pub const RDB_MODULE_OPCODE_UINT: u64 = 2;
/// Module opcode stream: 4-byte float.
pub const RDB_MODULE_OPCODE_FLOAT: u64 = 3;
/// Module opcode stream: 8-byte double.
pub const RDB_MODULE_OPCODE_DOUBLE: u64 = 4;
/// Module opcode stream: string.
pub const RDB_MODULE_OPCODE_STRING: u64 = 5;

/// Stream entry flag: deleted.
pub const STREAM_ITEM_FLAG_DELETED: i64 = 1;
/// Stream entry flag: same fields as the master entry.
pub const STREAM_ITEM_FLAG_SAMEFIELDS: i64 = 2;

/// Newest Redis RDB version this decoder knows.
pub const RDB_VERSION_MAX_REDIS: u32 = 15;
/// First version Valkey writes with the `VALKEY` magic.
pub const RDB_VERSION_MIN_VALKEY: u32 = 80;
/// Newest Valkey RDB version this decoder knows.
pub const RDB_VERSION_MAX_VALKEY: u32 = 81;
