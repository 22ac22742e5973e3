//! Builders for the RDB format's pieces, written from `shared/rdb/FORMAT.md`: lengths, strings
//! (raw, integer, LZF), listpacks, ziplists, intsets, zipmaps, module opcode streams and stream
//! node listpacks. Each builder writes exactly what a server would, with a few legal variations
//! (non-minimal widths, unknown counts) that the decoder must accept as well.

/// How to write an RDB length: the shortest form, or a wider one when it fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LenForm {
    /// 6, 14, 32 or 64 bits, whichever is shortest.
    Shortest,
    /// At least 14 bits.
    Bits14,
    /// At least 32 bits.
    Bits32,
    /// 64 bits.
    Bits64,
}

/// An RDB length (§3).
pub fn rdb_len(n: u64, form: LenForm, out: &mut Vec<u8>) {
    let min = match form {
        LenForm::Shortest => 0,
        LenForm::Bits14 => 1,
        LenForm::Bits32 => 2,
        LenForm::Bits64 => 3,
    };
    let need = if n < 64 {
        0
    } else if n < 16384 {
        1
    } else if n <= u64::from(u32::MAX) {
        2
    } else {
        3
    };
    match need.max(min) {
        0 => out.push(n as u8),
        1 => out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]),
        2 => {
            out.push(0x80);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(0x81);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// A raw RDB string: length then bytes.
pub fn rdb_string_raw(bytes: &[u8], form: LenForm, out: &mut Vec<u8>) {
    rdb_len(bytes.len() as u64, form, out);
    out.extend_from_slice(bytes);
}

/// An integer-encoded RDB string (`RDB_ENC_INT8/16/32`), at least `min_width` bytes wide
/// (1, 2 or 4). `v` must fit in 32 bits.
pub fn rdb_string_int(v: i32, min_width: u8, out: &mut Vec<u8>) {
    let need = if i8::try_from(v).is_ok() {
        1
    } else if i16::try_from(v).is_ok() {
        2
    } else {
        4
    };
    match need.max(min_width) {
        1 => out.extend_from_slice(&[0xC0, v as i8 as u8]),
        2 => {
            out.push(0xC1);
            out.extend_from_slice(&(v as i16).to_le_bytes());
        }
        _ => {
            out.push(0xC2);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// An LZF-compressed RDB string (`RDB_ENC_LZF`): `clen`, `ulen`, then the compressed bytes.
pub fn rdb_string_lzf(bytes: &[u8], backrefs: bool, form: LenForm, out: &mut Vec<u8>) {
    let compressed = lzf(bytes, backrefs);
    out.push(0xC3);
    rdb_len(compressed.len() as u64, form, out);
    rdb_len(bytes.len() as u64, form, out);
    out.extend_from_slice(&compressed);
}

/// LZF-compresses `data`: literal runs of up to 32 bytes, and, with `backrefs`, back-references
/// to a repeat at a few fixed distances (1, 2, 3, 4, 8, 16, 64, 1000), overlapping copies
/// included. Not a good compressor; a correct one.
pub fn lzf(data: &[u8], backrefs: bool) -> Vec<u8> {
    const DISTANCES: [usize; 8] = [1, 2, 3, 4, 8, 16, 64, 1000];
    let mut out = Vec::with_capacity(data.len() + data.len() / 32 + 1);
    let mut lit_start = 0;
    let mut i = 0;
    let flush = |out: &mut Vec<u8>, lit: &[u8]| {
        for chunk in lit.chunks(32) {
            out.push(chunk.len() as u8 - 1);
            out.extend_from_slice(chunk);
        }
    };
    while i < data.len() {
        let mut best = (0usize, 0usize);
        if backrefs {
            for d in DISTANCES {
                if d > i {
                    break;
                }
                let mut len = 0;
                while i + len < data.len() && len < 264 && data[i + len] == data[i + len - d] {
                    len += 1;
                }
                if len > best.0 {
                    best = (len, d);
                    if len == 264 {
                        break;
                    }
                }
            }
        }
        if best.0 >= 3 {
            flush(&mut out, &data[lit_start..i]);
            let (len, d) = best;
            let off = d - 1;
            let l = len - 2;
            if l < 7 {
                out.push(((l as u8) << 5) | (off >> 8) as u8);
            } else {
                out.push((7 << 5) | (off >> 8) as u8);
                out.push((l - 7) as u8);
            }
            out.push(off as u8);
            i += len;
            lit_start = i;
        } else {
            i += 1;
        }
    }
    flush(&mut out, &data[lit_start..]);
    out
}

/// A listpack element's value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LpValue {
    /// A string element.
    Str(Vec<u8>),
    /// An integer element.
    Int(i64),
}

/// The backlen of a listpack element whose encoding and data take `len` bytes: 7 bits per
/// byte, most significant first, bit 7 set on all but the first byte.
pub fn listpack_backlen(len: usize) -> Vec<u8> {
    let l = len as u64;
    if l <= 127 {
        vec![l as u8]
    } else if l < 16383 {
        vec![(l >> 7) as u8, (l & 127) as u8 | 128]
    } else if l < 2097151 {
        vec![
            (l >> 14) as u8,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]
    } else if l < 268435455 {
        vec![
            (l >> 21) as u8,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]
    } else {
        vec![
            (l >> 28) as u8,
            ((l >> 21) & 127) as u8 | 128,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]
    }
}

/// One listpack element (encoding, data, backlen). Integers use the smallest encoding that
/// is at least `min_width` (0: 7-bit, 1: 13-bit, 2: 16-bit, 3: 24-bit, 4: 32-bit, 5: 64-bit);
/// strings the smallest of 6, 12 and 32 bits that is at least `min_width` (0, 1, 2).
pub fn listpack_entry(v: &LpValue, min_width: u8, out: &mut Vec<u8>) {
    let start = out.len();
    match v {
        LpValue::Int(i) => {
            let i = *i;
            let need = if (0..=127).contains(&i) {
                0
            } else if (-4096..=4095).contains(&i) {
                1
            } else if i16::try_from(i).is_ok() {
                2
            } else if (-(1 << 23)..(1 << 23)).contains(&i) {
                3
            } else if i32::try_from(i).is_ok() {
                4
            } else {
                5
            };
            match need.max(min_width.min(5)) {
                0 => out.push(i as u8),
                1 => {
                    let u = (i as u64) & 0x1FFF;
                    out.extend_from_slice(&[0xC0 | (u >> 8) as u8, u as u8]);
                }
                2 => {
                    out.push(0xF1);
                    out.extend_from_slice(&(i as i16).to_le_bytes());
                }
                3 => {
                    out.push(0xF2);
                    out.extend_from_slice(&(i as i32).to_le_bytes()[..3]);
                }
                4 => {
                    out.push(0xF3);
                    out.extend_from_slice(&(i as i32).to_le_bytes());
                }
                _ => {
                    out.push(0xF4);
                    out.extend_from_slice(&i.to_le_bytes());
                }
            }
        }
        LpValue::Str(s) => {
            let n = s.len();
            let need = if n < 64 {
                0
            } else if n < 4096 {
                1
            } else {
                2
            };
            match need.max(min_width.min(2)) {
                0 => out.push(0x80 | n as u8),
                1 => out.extend_from_slice(&[0xE0 | (n >> 8) as u8, n as u8]),
                _ => {
                    out.push(0xF0);
                    out.extend_from_slice(&(n as u32).to_le_bytes());
                }
            }
            out.extend_from_slice(s);
        }
    }
    let len = out.len() - start;
    out.extend_from_slice(&listpack_backlen(len));
}

/// A listpack blob: header (`total_bytes`, `num_elements` or 65535 when `unknown_count` or too
/// many), the already encoded elements, and the end marker.
pub fn listpack(body: &[u8], count: usize, unknown_count: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 7);
    let total = (6 + body.len() + 1) as u32;
    out.extend_from_slice(&total.to_le_bytes());
    let n = if unknown_count || count >= 65535 {
        65535
    } else {
        count as u16
    };
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(body);
    out.push(0xFF);
    out
}

/// Encodes `values` into a listpack, with element widths from `width(i)`.
pub fn listpack_of(
    values: &[LpValue],
    width: impl Fn(usize) -> u8,
    unknown_count: bool,
) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, v) in values.iter().enumerate() {
        listpack_entry(v, width(i), &mut body);
    }
    listpack(&body, values.len(), unknown_count)
}

/// A ziplist entry's encoding and data (no prevlen). Integers use the smallest of the
/// immediate (0..=12), 8, 16, 24, 32 and 64-bit encodings that is at least `min_width`
/// (0..=5); strings the smallest of 6, 14 and 32 bits at least `min_width` (0..=2).
pub fn ziplist_entry(v: &LpValue, min_width: u8, out: &mut Vec<u8>) {
    match v {
        LpValue::Int(i) => {
            let i = *i;
            let need = if (0..=12).contains(&i) {
                0
            } else if i8::try_from(i).is_ok() {
                1
            } else if i16::try_from(i).is_ok() {
                2
            } else if (-(1 << 23)..(1 << 23)).contains(&i) {
                3
            } else if i32::try_from(i).is_ok() {
                4
            } else {
                5
            };
            match need.max(min_width.min(5)) {
                0 => out.push(0xF1 + i as u8),
                1 => out.extend_from_slice(&[0xFE, i as i8 as u8]),
                2 => {
                    out.push(0xC0);
                    out.extend_from_slice(&(i as i16).to_le_bytes());
                }
                3 => {
                    out.push(0xF0);
                    out.extend_from_slice(&(i as i32).to_le_bytes()[..3]);
                }
                4 => {
                    out.push(0xD0);
                    out.extend_from_slice(&(i as i32).to_le_bytes());
                }
                _ => {
                    out.push(0xE0);
                    out.extend_from_slice(&i.to_le_bytes());
                }
            }
        }
        LpValue::Str(s) => {
            let n = s.len();
            let need = if n < 64 {
                0
            } else if n < 16384 {
                1
            } else {
                2
            };
            match need.max(min_width.min(2)) {
                0 => out.push(n as u8),
                1 => out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]),
                _ => {
                    out.push(0x80);
                    out.extend_from_slice(&(n as u32).to_be_bytes());
                }
            }
            out.extend_from_slice(s);
        }
    }
}

/// A ziplist blob: `zlbytes`, `zltail`, `zllen` (or 65535), entries with their prevlen, end.
pub fn ziplist(values: &[LpValue], width: impl Fn(usize) -> u8, unknown_count: bool) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10usize;
    let mut entry = Vec::new();
    for (i, v) in values.iter().enumerate() {
        tail = 10 + body.len();
        let start = body.len();
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(0xFE);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        entry.clear();
        ziplist_entry(v, width(i), &mut entry);
        body.extend_from_slice(&entry);
        prev = body.len() - start;
    }
    let mut out = Vec::with_capacity(body.len() + 11);
    out.extend_from_slice(&((10 + body.len() + 1) as u32).to_le_bytes());
    out.extend_from_slice(&(tail as u32).to_le_bytes());
    let n = if unknown_count || values.len() >= 65535 {
        65535
    } else {
        values.len() as u16
    };
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xFF);
    out
}

/// An intset blob of `members` (sorted and deduplicated here), `min_width` bytes per member at
/// least (2, 4 or 8).
pub fn intset(members: &[i64], min_width: u32) -> (Vec<u8>, Vec<i64>) {
    let mut m = members.to_vec();
    m.sort_unstable();
    m.dedup();
    let need = if m.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if m.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let width = need.max(min_width);
    let mut out = Vec::with_capacity(8 + m.len() * width as usize);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&(m.len() as u32).to_le_bytes());
    for &v in &m {
        match width {
            2 => out.extend_from_slice(&(v as i16).to_le_bytes()),
            4 => out.extend_from_slice(&(v as i32).to_le_bytes()),
            _ => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    (out, m)
}

/// A zipmap length: one byte below 254, else 254 and a u32le.
pub fn zipmap_len(n: usize, big: bool, out: &mut Vec<u8>) {
    if n < 254 && !big {
        out.push(n as u8);
    } else {
        out.push(254);
        out.extend_from_slice(&(n as u32).to_le_bytes());
    }
}

/// A zipmap blob: `zmlen`, then `len key len free value free-bytes` per pair, then 255.
/// `free(i)` gives each value's unused bytes, `big(i)` forces the 5-byte length form.
pub fn zipmap(
    pairs: &[(Vec<u8>, Vec<u8>)],
    free: impl Fn(usize) -> u8,
    big: impl Fn(usize) -> bool,
) -> Vec<u8> {
    let mut out = vec![if pairs.len() < 254 {
        pairs.len() as u8
    } else {
        254
    }];
    for (i, (k, v)) in pairs.iter().enumerate() {
        zipmap_len(k.len(), big(i), &mut out);
        out.extend_from_slice(k);
        zipmap_len(v.len(), big(i), &mut out);
        let f = free(i);
        out.push(f);
        out.extend_from_slice(v);
        out.extend(std::iter::repeat_n(0xAA, usize::from(f)));
    }
    out.push(255);
    out
}

/// One element of a module opcode stream (§10).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ModuleOp {
    /// Opcode 1.
    Sint(u64),
    /// Opcode 2.
    Uint(u64),
    /// Opcode 3, 4 bytes.
    Float(u32),
    /// Opcode 4, 8 bytes.
    Double(u64),
    /// Opcode 5, an already encoded RDB string.
    Str(Vec<u8>),
}

/// A module opcode stream through its EOF opcode.
pub fn module_opcode_stream(ops: &[ModuleOp], form: LenForm, out: &mut Vec<u8>) {
    for op in ops {
        match op {
            ModuleOp::Sint(v) => {
                rdb_len(1, form, out);
                rdb_len(*v, form, out);
            }
            ModuleOp::Uint(v) => {
                rdb_len(2, form, out);
                rdb_len(*v, form, out);
            }
            ModuleOp::Float(v) => {
                rdb_len(3, form, out);
                out.extend_from_slice(&v.to_le_bytes());
            }
            ModuleOp::Double(v) => {
                rdb_len(4, form, out);
                out.extend_from_slice(&v.to_le_bytes());
            }
            ModuleOp::Str(s) => {
                rdb_len(5, form, out);
                out.extend_from_slice(s);
            }
        }
    }
    rdb_len(0, form, out);
}

/// A stream entry as stored in a node listpack (§9).
#[derive(Clone, Debug)]
pub struct StreamNodeEntry {
    /// `STREAM_ITEM_FLAG_DELETED`.
    pub deleted: bool,
    /// `STREAM_ITEM_FLAG_SAMEFIELDS`: only values are stored (one per master field).
    pub same_fields: bool,
    /// Id minus the master id, milliseconds part.
    pub ms_diff: i64,
    /// Id minus the master id, sequence part.
    pub seq_diff: i64,
    /// Field/value pairs; with `same_fields`, only the values are written.
    pub fields: Vec<(LpValue, LpValue)>,
}

/// The listpack values of a stream node: the master entry (`count, deleted, num_fields,
/// fields…, 0`) then each entry (`flags, ms_diff, seq_diff, [num_fields, f, v…| v…], lp_count`).
pub fn stream_node_values(master_fields: &[LpValue], entries: &[StreamNodeEntry]) -> Vec<LpValue> {
    let live = entries.iter().filter(|e| !e.deleted).count() as i64;
    let deleted = entries.len() as i64 - live;
    let mut v = vec![
        LpValue::Int(live),
        LpValue::Int(deleted),
        LpValue::Int(master_fields.len() as i64),
    ];
    v.extend(master_fields.iter().cloned());
    v.push(LpValue::Int(0));
    for e in entries {
        let flags = i64::from(e.deleted) | (i64::from(e.same_fields) << 1);
        v.push(LpValue::Int(flags));
        v.push(LpValue::Int(e.ms_diff));
        v.push(LpValue::Int(e.seq_diff));
        let n = e.fields.len() as i64;
        if e.same_fields {
            v.extend(e.fields.iter().map(|(_, val)| val.clone()));
            v.push(LpValue::Int(n + 3));
        } else {
            v.push(LpValue::Int(n));
            for (f, val) in &e.fields {
                v.push(f.clone());
                v.push(val.clone());
            }
            v.push(LpValue::Int(2 * n + 4));
        }
    }
    v
}
