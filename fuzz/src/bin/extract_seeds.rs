//! Writes seed corpora for every fuzz target from real dumps.
//!
//! ```text
//! extract_seeds <corpus-root> <out-dir>
//! ```
//! Walks `<corpus-root>/*/*.rdb` and fills `<out-dir>/<target>/` with:
//! * `whole_file`: each dump (up to 256 KiB);
//! * `value`: each record as `type byte, version selector, value bytes`;
//! * `stream`: each stream record as `layout selector, value bytes`;
//! * `listpack`, `ziplist`, `intset`, `zipmap`: every blob found in values (quicklist nodes and
//!   stream nodes included), decompressed when it was LZF-compressed;
//! * `lzf`: every LZF string as `declared length (u16le), compressed bytes`.
//!
//! Files are named by a hash of their content, so re-running adds nothing twice. At most 25
//! seeds per dump and target (2000 per target), 64 KiB each (256 KiB for whole files).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rdb_format::{Decoder, DecoderOptions, Encoding, Item};
use rdb_testkit::fuzz::walk::VERSIONS;

const MAX_SEED: usize = 64 * 1024;
const MAX_WHOLE_FILE: usize = 256 * 1024;
const MAX_PER_TARGET: usize = 2000;
/// Per dump and target, so that big dumps do not crowd out the others.
const MAX_PER_FILE: usize = 25;

struct Out {
    root: PathBuf,
    seen: HashSet<(&'static str, u64)>,
    counts: std::collections::BTreeMap<&'static str, usize>,
    file_counts: std::collections::BTreeMap<&'static str, usize>,
}

fn fnv(data: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

impl Out {
    fn put(&mut self, target: &'static str, data: &[u8]) {
        let max = if target == "whole_file" {
            MAX_WHOLE_FILE
        } else {
            MAX_SEED
        };
        if data.len() > max {
            return;
        }
        let n = self.counts.entry(target).or_default();
        let f = self.file_counts.entry(target).or_default();
        if *n >= MAX_PER_TARGET || *f >= MAX_PER_FILE {
            return;
        }
        let h = fnv(data);
        if !self.seen.insert((target, h)) {
            return;
        }
        *n += 1;
        *f += 1;
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{h:016x}")), data).unwrap();
    }
}

/// A tiny independent RDB string reader (bytes out, LZF decompressed).
struct Reader<'a> {
    d: &'a [u8],
    p: usize,
}

enum Len {
    Len(u64),
    Enc(u8),
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.d.get(self.p)?;
        self.p += 1;
        Some(b)
    }
    fn take(&mut self, n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok()?;
        let s = self.d.get(self.p..self.p.checked_add(n)?)?;
        self.p += n;
        Some(s)
    }
    fn len_or_enc(&mut self) -> Option<Len> {
        let b = self.byte()?;
        Some(match b >> 6 {
            0 => Len::Len(u64::from(b & 0x3F)),
            1 => Len::Len(u64::from(b & 0x3F) << 8 | u64::from(self.byte()?)),
            3 => Len::Enc(b & 0x3F),
            _ if b == 0x80 => {
                let s = self.take(4)?;
                Len::Len(u64::from(u32::from_be_bytes(s.try_into().ok()?)))
            }
            _ if b == 0x81 => Len::Len(u64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            _ => return None,
        })
    }
    fn len(&mut self) -> Option<u64> {
        match self.len_or_enc()? {
            Len::Len(n) => Some(n),
            Len::Enc(_) => None,
        }
    }
    /// The string's bytes, and the LZF seed if it was compressed.
    fn string(&mut self) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
        Some(match self.len_or_enc()? {
            Len::Len(n) => (self.take(n)?.to_vec(), None),
            Len::Enc(0) => (i64::from(self.byte()? as i8).to_string().into_bytes(), None),
            Len::Enc(1) => {
                let v = i16::from_le_bytes(self.take(2)?.try_into().ok()?);
                (v.to_string().into_bytes(), None)
            }
            Len::Enc(2) => {
                let v = i32::from_le_bytes(self.take(4)?.try_into().ok()?);
                (v.to_string().into_bytes(), None)
            }
            Len::Enc(3) => {
                let clen = self.len()?;
                let ulen = self.len()?;
                let c = self.take(clen)?;
                if ulen > 1 << 26 {
                    return None;
                }
                let mut out = vec![0u8; ulen as usize];
                rdb_format::lzf::decompress(c, &mut out).ok()?;
                let seed = u16::try_from(ulen).ok().map(|u| {
                    let mut s = u.to_le_bytes().to_vec();
                    s.extend_from_slice(c);
                    s
                });
                (out, seed)
            }
            Len::Enc(_) => return None,
        })
    }
}

fn type_byte(enc: Encoding) -> u8 {
    use Encoding::*;
    match enc {
        String => 0,
        List => 1,
        Set => 2,
        ZSet => 3,
        Hash => 4,
        ZSet2 => 5,
        Module2 => 7,
        HashZipmap => 9,
        ListZiplist => 10,
        SetIntset => 11,
        ZSetZiplist => 12,
        HashZiplist => 13,
        ListQuicklist => 14,
        StreamListpacks => 15,
        HashListpack => 16,
        ZSetListpack => 17,
        ListQuicklist2 => 18,
        StreamListpacks2 => 19,
        SetListpack => 20,
        StreamListpacks3 => 21,
        HashMetadataPreGa | ValkeyHash2 => 22,
        HashListpackExPreGa => 23,
        HashMetadata => 24,
        HashListpackEx => 25,
        StreamListpacks4 => 26,
        _ => unreachable!("an encoding this tool does not know: teach it"),
    }
}

fn blobs(out: &mut Out, enc: Encoding, raw: &[u8]) -> Option<()> {
    use Encoding::*;
    let mut r = Reader { d: raw, p: 0 };
    let blob = |out: &mut Out, r: &mut Reader<'_>, target: &'static str| -> Option<()> {
        let (b, lzf) = r.string()?;
        if let Some(s) = lzf {
            out.put("lzf", &s);
        }
        out.put(target, &b);
        Some(())
    };
    match enc {
        HashZipmap => blob(out, &mut r, "zipmap")?,
        ListZiplist | ZSetZiplist | HashZiplist => blob(out, &mut r, "ziplist")?,
        SetIntset => blob(out, &mut r, "intset")?,
        HashListpack | ZSetListpack | SetListpack | HashListpackExPreGa => {
            blob(out, &mut r, "listpack")?
        }
        HashListpackEx => {
            r.take(8)?;
            blob(out, &mut r, "listpack")?
        }
        ListQuicklist => {
            for _ in 0..r.len()? {
                blob(out, &mut r, "ziplist")?;
            }
        }
        ListQuicklist2 => {
            for _ in 0..r.len()? {
                if r.len()? == 2 {
                    blob(out, &mut r, "listpack")?;
                } else {
                    let (_, lzf) = r.string()?;
                    if let Some(s) = lzf {
                        out.put("lzf", &s);
                    }
                }
            }
        }
        StreamListpacks | StreamListpacks2 | StreamListpacks3 | StreamListpacks4 => {
            for _ in 0..r.len()? {
                r.string()?;
                blob(out, &mut r, "listpack")?;
            }
        }
        String => {
            if let (_, Some(s)) = r.string()? {
                out.put("lzf", &s);
            }
        }
        _ => {}
    }
    Some(())
}

fn dump(out: &mut Out, path: &Path) {
    out.file_counts.clear();
    let data = std::fs::read(path).unwrap();
    out.put("whole_file", &data);
    let options = DecoderOptions {
        verify_checksum: false,
        allow_future_versions: true,
    };
    let Ok(dec) = Decoder::with_options(&data, options) else {
        return;
    };
    let version = dec.version();
    let selector = VERSIONS.iter().position(|v| *v == version).unwrap_or(10) as u8;
    for item in dec {
        let Ok(item) = item else { break };
        if let Item::Record(r) = item {
            let ty = type_byte(r.encoding);
            let mut v = vec![ty, selector];
            v.extend_from_slice(r.value_raw);
            out.put("value", &v);
            // The same input shape: every real value is a round-trip seed too.
            out.put("roundtrip", &v);
            if let Some(layout) = [15u8, 19, 21].iter().position(|&t| t == ty) {
                let mut s = vec![layout as u8];
                s.extend_from_slice(r.value_raw);
                out.put("stream", &s);
            }
            blobs(out, r.encoding, r.value_raw);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, corpus, dest] = &args[..] else {
        eprintln!("usage: extract_seeds <corpus-root> <out-dir>");
        std::process::exit(2);
    };
    let mut out = Out {
        root: PathBuf::from(dest),
        seen: HashSet::new(),
        counts: Default::default(),
        file_counts: Default::default(),
    };
    let mut files = Vec::new();
    for dir in std::fs::read_dir(corpus).expect("corpus root") {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().and_then(|e| e.to_str()) == Some("rdb") {
                files.push(f);
            }
        }
    }
    files.sort();
    for f in &files {
        dump(&mut out, f);
    }
    // `structured` inputs are arbitrary bytes; a few fixed pseudo-random ones get it going.
    out.file_counts.clear();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for n in 0..25usize {
        let len = 64 + n * 61;
        let mut s = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push(x as u8);
        }
        out.put("structured", &s);
    }
    for (t, n) in &out.counts {
        eprintln!("{t}: {n} seeds");
    }
}
