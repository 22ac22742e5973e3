//! Round trip against real servers: fill a real Redis / Valkey with every
//! type and encoding, SAVE, run `rdb-convert --format json --with-meta` on the
//! dump and compare every key with what the server itself reports.
//!
//! Needs the servers installed by `scripts/test-deps.sh` (paths in
//! `.test-deps/servers.env`, or the RDB_TEST_* environment variables). A
//! missing server is a test failure, never a skip.

use crate::common::compare::round_trip;
use crate::common::Kind;

#[test]
fn redis_7_0_rdb10() {
    round_trip(Kind::Redis70);
}

#[test]
fn redis_6_2_rdb9() {
    round_trip(Kind::Redis62);
}

#[test]
fn redis_7_4_rdb12_hash_field_ttls() {
    round_trip(Kind::Redis74);
}

#[test]
fn valkey_9_valkey080() {
    round_trip(Kind::Valkey9);
}
