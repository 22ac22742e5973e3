//! The keys-only listing: one line per key with its metadata (db, key, type, encoding,
//! expiry, serialized size, element count), as NDJSON or CSV. No value is decoded: the
//! element count is read from container headers ([`header_element_count`]).
//!
//! ```text
//! {"db":0,"key":K,"type":"hash","encoding":"listpack","expire_ms":MS,"expire":"ISO","size":N,"elements":N}
//! db,key,type,encoding,expire_ms,expire,size,elements
//! ```

use std::io::Write;
use std::sync::Mutex;

use rdb_format::{Encoding, Layout, Record, Scratch};
use rdb_pipeline::pipeline::{for_each_record, Chunk, FileInfo, Sink, SinkError};

use crate::{csv_field, json_bytes, push_iso_time, push_u64, ReportSinkError};

/// The header line of the CSV listing.
pub const KEYS_CSV_HEADER: &[u8] = b"db,key,type,encoding,expire_ms,expire,size,elements\n";

/// How the keys are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeysFormat {
    /// One JSON object per line; keys as in the NDJSON output (a string, or `{"base64":..}`).
    Ndjson,
    /// A header line, then one CSV row per key (quoted when needed, like the memory report).
    Csv,
}

/// The element count of a record's value as its container headers give it, without
/// walking elements: intset length, listpack/ziplist entry counts (divided by the entries
/// per element: 2 for hash and zset pairs, 3 for hashes with field TTLs), the sum over a
/// quicklist's nodes (a plain node is one element). Of an LZF-compressed container only
/// the header is decompressed ([`rdb_format::Blob::declared_entries`]): like `info`, the
/// listing does not prove the elements sound (the dump's checksum covers accidents). `None` when only a walk would tell: strings,
/// modules, streams, the one-by-one encodings, zipmaps, and listpacks or ziplists whose
/// header count saturated (65535 entries or more).
pub fn header_element_count(r: &Record<'_>, scratch: &Scratch) -> rdb_format::Result<Option<u64>> {
    let per_element = match r.encoding {
        Encoding::HashZiplist
        | Encoding::HashListpack
        | Encoding::ZSetZiplist
        | Encoding::ZSetListpack => 2,
        Encoding::HashListpackEx | Encoding::HashListpackExPreGa => 3,
        _ => 1,
    };
    Ok(match r.layout(scratch)? {
        Layout::Blob(blob) => blob.declared_entries()?.map(|n| n / per_element),
        Layout::Quicklist(nodes) => {
            let mut total = 0u64;
            for node in &nodes {
                let Some(n) = node.declared_entries()? else {
                    return Ok(None);
                };
                total = total.saturating_add(n);
            }
            Some(total)
        }
        _ => None,
    })
}

/// Appends one key's line in `format`.
pub fn push_key_line(
    b: &mut Vec<u8>,
    format: KeysFormat,
    r: &Record<'_>,
    key: &[u8],
    elements: Option<u64>,
) {
    match format {
        KeysFormat::Ndjson => {
            b.extend_from_slice(b"{\"db\":");
            push_u64(b, r.db);
            b.extend_from_slice(b",\"key\":");
            json_bytes(b, key);
            b.extend_from_slice(b",\"type\":\"");
            b.extend_from_slice(r.data_type().as_str().as_bytes());
            b.extend_from_slice(b"\",\"encoding\":\"");
            b.extend_from_slice(r.encoding.as_str().as_bytes());
            b.push(b'"');
            if let Some(ms) = r.expire_ms {
                b.extend_from_slice(b",\"expire_ms\":");
                b.extend_from_slice(itoa::Buffer::new().format(ms).as_bytes());
                b.extend_from_slice(b",\"expire\":\"");
                push_iso_time(b, ms);
                b.push(b'"');
            }
            b.extend_from_slice(b",\"size\":");
            push_u64(b, r.len);
            if let Some(n) = elements {
                b.extend_from_slice(b",\"elements\":");
                push_u64(b, n);
            }
            b.extend_from_slice(b"}\n");
        }
        KeysFormat::Csv => {
            push_u64(b, r.db);
            b.push(b',');
            csv_field(b, key);
            b.push(b',');
            b.extend_from_slice(r.data_type().as_str().as_bytes());
            b.push(b',');
            b.extend_from_slice(r.encoding.as_str().as_bytes());
            b.push(b',');
            if let Some(ms) = r.expire_ms {
                b.extend_from_slice(itoa::Buffer::new().format(ms).as_bytes());
                b.push(b',');
                push_iso_time(b, ms);
            } else {
                b.push(b',');
            }
            b.push(b',');
            push_u64(b, r.len);
            b.push(b',');
            if let Some(n) = elements {
                push_u64(b, n);
            }
            b.push(b'\n');
        }
    }
}

/// The keys-only listing as a [`Sink`] of the parallel pipeline: lines are built on the
/// pipeline's threads and written in file order.
pub struct KeysSink<W: Write + Send> {
    format: KeysFormat,
    out: Mutex<W>,
}

impl<W: Write + Send> KeysSink<W> {
    /// A listing into `out`; writes the CSV header line first for [`KeysFormat::Csv`].
    pub fn new(mut out: W, format: KeysFormat) -> std::io::Result<Self> {
        if format == KeysFormat::Csv {
            out.write_all(KEYS_CSV_HEADER)?;
        }
        Ok(KeysSink {
            format,
            out: Mutex::new(out),
        })
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> std::io::Result<W> {
        let mut out = self.out.into_inner().unwrap_or_else(|p| p.into_inner());
        out.flush()?;
        Ok(out)
    }
}

impl<W: Write + Send> Sink for KeysSink<W> {
    type File = ();
    type Part = Vec<u8>;
    type Error = ReportSinkError;

    fn begin_file(&self, _file: &FileInfo, _data: &[u8]) -> Result<(), SinkError<Self::Error>> {
        Ok(())
    }

    fn process<'a>(
        &self,
        _file: &(),
        _chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<rdb_format::Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Vec<u8>, SinkError<Self::Error>> {
        let mut buf = Vec::new();
        for_each_record(items, scratch, |r, key, scratch| {
            let elements = header_element_count(r, scratch)?;
            push_key_line(&mut buf, self.format, r, key, elements);
            Ok(())
        })?;
        Ok(buf)
    }

    fn commit(&self, _file: &(), _chunk: &Chunk, part: Vec<u8>) -> Result<(), Self::Error> {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.write_all(&part).map_err(ReportSinkError::Write)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdb_format::{Decoder, Item};

    /// `RPUSH list a b` as one listpack node (RDB 11), and `SET k v` with an expiry.
    fn dump() -> Vec<u8> {
        let mut d = b"REDIS0011\xfe\x00\x12\x04list\x01\x02\x0d".to_vec();
        d.extend_from_slice(b"\x0d\x00\x00\x00\x02\x00\x81a\x02\x81b\x02\xff");
        d.extend_from_slice(b"\xfc\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03a,b\x01v\xff");
        d.extend_from_slice(&[0; 8]);
        d
    }

    #[test]
    fn lines_and_counts() {
        let data = dump();
        let scratch = Scratch::new();
        let mut json = Vec::new();
        let mut csv = KEYS_CSV_HEADER.to_vec();
        for item in Decoder::new(&data).unwrap() {
            if let Item::Record(r) = item.unwrap() {
                let key = r.key.decode(&scratch).unwrap().to_vec();
                let n = header_element_count(&r, &scratch).unwrap();
                push_key_line(&mut json, KeysFormat::Ndjson, &r, &key, n);
                push_key_line(&mut csv, KeysFormat::Csv, &r, &key, n);
            }
        }
        assert_eq!(
            String::from_utf8(json).unwrap(),
            "{\"db\":0,\"key\":\"list\",\"type\":\"list\",\"encoding\":\"list_quicklist_2\",\"size\":22,\"elements\":2}\n\
             {\"db\":0,\"key\":\"a,b\",\"type\":\"string\",\"encoding\":\"string\",\"expire_ms\":0,\"expire\":\"1970-01-01T00:00:00.000Z\",\"size\":16}\n"
        );
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "db,key,type,encoding,expire_ms,expire,size,elements\n\
             0,list,list,list_quicklist_2,,,22,2\n\
             0,\"a,b\",string,string,0,1970-01-01T00:00:00.000Z,16,\n"
        );
    }

    /// Every dump of the corpus (real servers and public projects' test files): wherever the
    /// headers give a count, decoding every element gives the same.
    #[test]
    fn header_counts_equal_decoded_counts_on_the_corpus() {
        fn dumps(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dumps(&path, out);
                } else if path.extension().is_some_and(|e| e == "rdb") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        dumps(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus"),
            &mut files,
        );
        assert!(files.len() > 50, "{} dumps", files.len());
        let (mut checked, mut compressed) = (0, 0);
        for file in &files {
            let data = std::fs::read(file).unwrap();
            let Ok(decoder) = Decoder::new(&data) else {
                continue;
            };
            let scratch = Scratch::new();
            for item in decoder {
                let Ok(Item::Record(r)) = item else {
                    continue;
                };
                let Ok(Some(n)) = header_element_count(&r, &scratch) else {
                    continue;
                };
                let Ok(value) = r.value(&scratch) else {
                    continue;
                };
                if let Ok(decoded) = value.element_count() {
                    assert_eq!(n, decoded, "{}: key at offset {}", file.display(), r.offset);
                    checked += 1;
                    if matches!(r.layout(&scratch), Ok(Layout::Blob(b)) if b.compressed_len().is_some())
                    {
                        compressed += 1;
                    }
                }
            }
        }
        assert!(
            checked > 500 && compressed > 10,
            "{checked} checked, {compressed} LZF"
        );
    }
}
