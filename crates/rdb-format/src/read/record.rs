//! The payloads of the opcodes between key records and of a record's prefixes (expiry, LRU
//! idle time, LFU frequency), as nom parsers over the primitives. The decoder dispatches on
//! the opcode byte and checks what depends on the file's version or on its own state.

use nom::combinator::{cond, map};
use nom::Parser;

use crate::read::origin::{Fail, Origin};
use crate::read::primitive::{byte, i32_le, length, rdb_string, u64_le};
use crate::read::string::RdbString;

/// An RDB string that knows its absolute offset (LZF errors name it).
pub(crate) fn located_string<'a>(
    origin: Origin<'a>,
) -> impl Parser<&'a [u8], Output = RdbString<'a>, Error = Fail<'a>> {
    move |input: &'a [u8]| {
        let at = origin.offset_of(input);
        map(rdb_string, move |s| s.located(at)).parse(input)
    }
}

/// `AUX`: a field name and its value.
pub(crate) fn aux<'a>(
    origin: Origin<'a>,
) -> impl Parser<&'a [u8], Output = (RdbString<'a>, RdbString<'a>), Error = Fail<'a>> {
    (located_string(origin), located_string(origin))
}

/// `EXPIRETIME_MS`: absolute unix milliseconds.
pub(crate) fn expire_ms(input: &[u8]) -> crate::read::PResult<'_, i64> {
    map(|i| u64_le(i, "expire time"), |ms| ms as i64).parse(input)
}

/// `EXPIRETIME` (before RDB 3): absolute unix seconds, as milliseconds.
pub(crate) fn expire_seconds(input: &[u8]) -> crate::read::PResult<'_, i64> {
    map(|i| i32_le(i, "expire time"), |s| i64::from(s) * 1000).parse(input)
}

/// `FREQ`: the LFU counter.
pub(crate) fn lfu_freq(input: &[u8]) -> crate::read::PResult<'_, u8> {
    byte(input, "LFU frequency")
}

/// `RESIZEDB`: the database's key count and expiring-key count.
pub(crate) fn resize_db(input: &[u8]) -> crate::read::PResult<'_, (u64, u64)> {
    (length, length).parse(input)
}

/// `SLOT_INFO`: slot, key count, expiring-key count.
pub(crate) fn slot_info(input: &[u8]) -> crate::read::PResult<'_, (u64, u64, u64)> {
    (length, length, length).parse(input)
}

/// The head of `MODULE_AUX`: module id, the opcode of `when` (must be `UINT`), `when`.
pub(crate) fn module_aux_head(input: &[u8]) -> crate::read::PResult<'_, (u64, u64)> {
    (length, length).parse(input)
}

/// A function of the Redis 7.0 release candidates: name, engine, optional description, code.
pub(crate) type PreGaFunction<'a> = (
    RdbString<'a>,
    RdbString<'a>,
    Option<RdbString<'a>>,
    RdbString<'a>,
);

/// `FUNCTION_PRE_GA`.
pub(crate) fn function_pre_ga<'a>(
    origin: Origin<'a>,
) -> impl Parser<&'a [u8], Output = PreGaFunction<'a>, Error = Fail<'a>> {
    move |input: &'a [u8]| {
        let (rest, (name, engine, has_description)) =
            (located_string(origin), located_string(origin), |i| {
                byte(i, "function description flag")
            })
                .parse(input)?;
        (
            cond(has_description != 0, located_string(origin)),
            located_string(origin),
        )
            .map(|(description, code)| (name, engine, description, code))
            .parse(rest)
    }
}
