//! The memory CSV in redis-rdb-tools' vocabulary (`rdb -c memory`, version 0.1.15), and the
//! key escapes both CSV styles share.
//!
//! redis-rdb-tools names types and encodings after the dump's on-disk encoding, counts a
//! string's length as its `num_elements`, measures an element stored as an integer as 8 bytes
//! (a C `long`), writes expiries as Python's naive `datetime.isoformat()` and keys unquoted.
//! [`CsvStyle::RdbTools`] writes the same; only `size_in_bytes` stays our estimate.

use super::*;

/// Which vocabulary the memory CSV speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsvStyle {
    /// Ours: `OBJECT ENCODING` names, element counts, ISO 8601 expiries, CSV-quoted keys.
    #[default]
    Native,
    /// redis-rdb-tools 0.1.15's: `sortedset`, on-disk encoding names (`string`, `ziplist`,
    /// `quicklist`, ...), a string's length as `num_elements`, integers as 8 bytes, expiry
    /// as `2025-01-31T12:00:00.180000`, keys unquoted.
    RdbTools,
}

/// How keys are written (redis-rdb-tools' `--escape`). A key of printable ASCII only is
/// always written as is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyEscape {
    /// The key's bytes.
    #[default]
    Raw,
    /// Bytes outside printable ASCII as `\xNN`.
    Print,
    /// Valid UTF-8 as is, other bytes as `\xNN`.
    Utf8,
    /// The key in standard base64.
    Base64,
}

/// Options of the CSV memory report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// The vocabulary.
    pub style: CsvStyle,
    /// How keys are written.
    pub escape: KeyEscape,
    /// Only keys whose estimated memory is at least this many bytes get a row.
    pub min_memory: u64,
}

/// Appends `key` escaped by `escape` (without CSV quoting).
pub(super) fn push_escaped_key(out: &mut Vec<u8>, key: &[u8], escape: KeyEscape) {
    if escape == KeyEscape::Raw || key.iter().all(|c| (0x20..=0x7e).contains(c)) {
        out.extend_from_slice(key);
        return;
    }
    match escape {
        KeyEscape::Print => key.iter().for_each(|&c| push_print_byte(out, c)),
        KeyEscape::Utf8 => {
            for chunk in key.utf8_chunks() {
                out.extend_from_slice(chunk.valid().as_bytes());
                chunk
                    .invalid()
                    .iter()
                    .for_each(|&c| push_hex_escape(out, c));
            }
        }
        _ => push_base64(out, key),
    }
}

fn push_print_byte(out: &mut Vec<u8>, c: u8) {
    if (0x20..=0x7e).contains(&c) {
        out.push(c);
    } else {
        push_hex_escape(out, c);
    }
}

fn push_hex_escape(out: &mut Vec<u8>, c: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(&[
        b'\\',
        b'x',
        HEX[usize::from(c >> 4)],
        HEX[usize::from(c & 15)],
    ]);
}

fn push_base64(out: &mut Vec<u8>, data: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for group in data.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
}

/// Appends one key's row in redis-rdb-tools' vocabulary.
pub(super) fn push_rdbtools_row(
    b: &mut Vec<u8>,
    r: &Record<'_>,
    key: &[u8],
    m: &KeyMemory,
    escape: KeyEscape,
    scratch: &Scratch,
) -> Result<(), ReportError> {
    let (elements, largest) = rdbtools_elements(r, m, scratch)?;
    push_u64(b, r.db);
    b.push(b',');
    b.extend_from_slice(rdbtools_type(r.data_type()).as_bytes());
    b.push(b',');
    push_escaped_key(b, key, escape);
    b.push(b',');
    push_u64(b, m.bytes);
    b.push(b',');
    match r.encoding {
        Encoding::Module2 => b.extend_from_slice(module_type_name(r)?.as_bytes()),
        enc => b.extend_from_slice(rdbtools_encoding(enc).as_bytes()),
    }
    b.push(b',');
    push_u64(b, elements);
    b.push(b',');
    push_u64(b, largest);
    b.push(b',');
    if let Some(ms) = r.expire_ms {
        push_python_datetime(b, ms);
    }
    b.push(b'\n');
    Ok(())
}

/// redis-rdb-tools' type names: Redis's, but `sortedset` for `zset`.
fn rdbtools_type(t: rdb_format::Type) -> &'static str {
    match t {
        rdb_format::Type::ZSet => "sortedset",
        t => t.as_str(),
    }
}

/// redis-rdb-tools names the on-disk encoding, except that every list is `quicklist` (the
/// encoding Redis 3.2+ loads it into). Encodings it cannot read (RDB 10+) get their
/// container's name.
fn rdbtools_encoding(enc: Encoding) -> &'static str {
    use Encoding::*;
    match enc {
        String => "string",
        List | ListZiplist | ListQuicklist | ListQuicklist2 => "quicklist",
        SetIntset => "intset",
        ZSetZiplist | HashZiplist => "ziplist",
        HashZipmap => "zipmap",
        Set | Hash | HashMetadata | HashMetadataPreGa | ValkeyHash2 => "hashtable",
        ZSet | ZSet2 => "skiplist",
        Module2 => "module",
        // Streams (every layout) and the RDB 10+ packed encodings.
        _ => "listpack",
    }
}

/// `num_elements` and `len_largest_element` as redis-rdb-tools counts them.
fn rdbtools_elements(
    r: &Record<'_>,
    m: &KeyMemory,
    scratch: &Scratch,
) -> Result<(u64, u64), ReportError> {
    // An element stored as an integer reaches redis-rdb-tools as a Python int, which it
    // measures as a C long.
    fn len(s: &Str<'_>) -> u64 {
        match s {
            Str::Int(_) => 8,
            Str::Bytes(b) => b.len() as u64,
        }
    }
    fn fold<T>(
        items: impl Iterator<Item = rdb_format::Result<T>>,
        lens: impl Fn(&T) -> u64,
    ) -> Result<(u64, u64), ReportError> {
        let mut acc = (0u64, 0u64);
        for item in items {
            let item = item?;
            acc = (acc.0 + 1, acc.1.max(lens(&item)));
        }
        Ok(acc)
    }
    match r.encoding {
        // A string's length is its element count and its largest element.
        Encoding::String => {
            let n = match string_layout(r, scratch)? {
                RdbString::Int(_) => 8,
                s => s.len(),
            };
            Ok((n, n))
        }
        // One element; the module's size as its largest.
        Encoding::Module2 => Ok((1, m.bytes)),
        _ => match r.value(scratch)? {
            Value::List(items) => fold(items, len),
            Value::Set(members) => fold(members, len),
            Value::ZSet(members) => fold(members, |(member, _)| len(member)),
            Value::Hash(fields) => fold(fields, |e| len(&e.field).max(len(&e.value))),
            // One element; the largest listpack node as its largest.
            Value::Stream(_) => {
                let Layout::Stream(nodes) = r.layout(scratch)? else {
                    return Err(layout_mismatch(r));
                };
                Ok((1, nodes.iter().map(|n| n.listpack.len()).max().unwrap_or(0)))
            }
            _ => Ok((m.elements, m.largest_element)),
        },
    }
}

/// Python's `datetime.isoformat()` of the naive UTC datetime redis-rdb-tools makes of an
/// expiry: `2025-01-31T12:00:00.180000`, without the fraction when it is zero. It reads the
/// time as unsigned and caps it at 221925052800 s, as redis-rdb-tools does.
fn push_python_datetime(out: &mut Vec<u8>, ms: i64) {
    const MAX_SECONDS: u64 = 221_925_052_800;
    let ms = ms as u64;
    let secs = (ms / 1000).min(MAX_SECONDS);
    let micros = (ms % 1000) * 1000;
    let start = out.len();
    // Whole seconds as `…T12:00:00.000Z`; the milliseconds and zone are cut.
    push_iso_time(out, secs as i64 * 1000);
    out.truncate(out.len().saturating_sub(5).max(start));
    if micros != 0 {
        out.push(b'.');
        let digits = itoa::Buffer::new().format(micros).len();
        out.extend(std::iter::repeat_n(b'0', 6 - digits));
        push_u64(out, micros);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(key: &[u8], e: KeyEscape) -> String {
        let mut out = Vec::new();
        push_escaped_key(&mut out, key, e);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_rdbtools() {
        assert_eq!(escaped(b"plain:key", KeyEscape::Print), "plain:key");
        assert_eq!(escaped(b"a\\b\n\xff", KeyEscape::Print), "a\\b\\x0A\\xFF");
        assert_eq!(
            escaped("é\n\u{80}".as_bytes(), KeyEscape::Utf8),
            "é\n\u{80}"
        );
        assert_eq!(escaped(b"a\xe9b", KeyEscape::Utf8), "a\\xE9b");
        assert_eq!(escaped(b"\x00", KeyEscape::Base64), "AA==");
        assert_eq!(escaped(b"\x00ab", KeyEscape::Base64), "AGFi");
        assert_eq!(escaped(b"\x00abcd", KeyEscape::Base64), "AGFiY2Q=");
        assert_eq!(escaped(b"key", KeyEscape::Base64), "key");
    }

    #[test]
    fn expiry_is_python_isoformat() {
        let f = |ms| {
            let mut out = Vec::new();
            push_python_datetime(&mut out, ms);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(f(1_738_324_800_180), "2025-01-31T12:00:00.180000");
        assert_eq!(f(1_738_324_800_000), "2025-01-31T12:00:00");
        assert_eq!(f(1_738_324_800_001), "2025-01-31T12:00:00.001000");
        assert_eq!(f(0), "1970-01-01T00:00:00");
        // Negative times read as unsigned, capped like redis-rdb-tools.
        assert_eq!(f(-1), "9002-07-12T00:00:00.615000");
    }
}
