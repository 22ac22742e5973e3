//! Skipping a value without decoding it: how the decoder finds where a record ends.

use crate::encoding::Encoding;
use crate::read::module::module_value;
use crate::read::origin::PResult;
use crate::read::primitive::{array, count, length, skip_string, string_double, u64_le};
use crate::read::stream::skip_stream;

/// Skips a value of encoding `enc`, returning the input after it.
pub(crate) fn skip_value(enc: Encoding, input: &[u8]) -> PResult<'_, ()> {
    use Encoding::*;
    let rest = match enc {
        String | HashZipmap | ListZiplist | SetIntset | ZSetZiplist | HashZiplist
        | HashListpack | ZSetListpack | SetListpack | HashListpackExPreGa => skip_string(input)?.0,
        List | Set | ListQuicklist => {
            let (mut rest, n) = count(input, 1, "collection length")?;
            for _ in 0..n {
                rest = skip_string(rest)?.0;
            }
            rest
        }
        ZSet => {
            let (mut rest, n) = count(input, 2, "zset length")?;
            for _ in 0..n {
                rest = skip_string(rest)?.0;
                rest = string_double(rest)?.0;
            }
            rest
        }
        Hash => {
            let (mut rest, n) = count(input, 2, "hash length")?;
            for _ in 0..n {
                rest = skip_string(rest)?.0;
                rest = skip_string(rest)?.0;
            }
            rest
        }
        ZSet2 => {
            let (mut rest, n) = count(input, 9, "zset length")?;
            for _ in 0..n {
                rest = skip_string(rest)?.0;
                rest = array::<8>(rest, "zset score")?.0;
            }
            rest
        }
        Module2 => module_value(input)?.0,
        ListQuicklist2 => {
            let (mut rest, n) = count(input, 2, "quicklist length")?;
            for _ in 0..n {
                rest = length(rest)?.0;
                rest = skip_string(rest)?.0;
            }
            rest
        }
        StreamListpacks | StreamListpacks2 | StreamListpacks3 | StreamListpacks4 => {
            skip_stream(enc, input)?.0
        }
        HashMetadataPreGa | HashMetadata => {
            let mut rest = input;
            if enc == HashMetadata {
                rest = u64_le(rest, "hash min expire")?.0;
            }
            let (mut rest, n) = count(rest, 3, "hash length")?;
            for _ in 0..n {
                rest = length(rest)?.0;
                rest = skip_string(rest)?.0;
                rest = skip_string(rest)?.0;
            }
            rest
        }
        HashListpackEx => skip_string(u64_le(input, "hash min expire")?.0)?.0,
        ValkeyHash2 => {
            let (mut rest, n) = count(input, 10, "hash length")?;
            for _ in 0..n {
                rest = skip_string(rest)?.0;
                rest = skip_string(rest)?.0;
                rest = array::<8>(rest, "hash field expiry")?.0;
            }
            rest
        }
    };
    Ok((rest, ()))
}
