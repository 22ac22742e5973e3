//! Reading sizes straight from a record's value bytes (node sizes, compressed lengths).

use super::*;

/// A cursor over a record's value bytes, reading RDB lengths and strings; errors carry the
/// absolute offset.
pub(super) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(r: &Record<'a>) -> Self {
        Cursor {
            data: r.value_raw,
            pos: 0,
            base: r.value_offset,
        }
    }

    fn err(&self, what: &'static str, msg: &str) -> ReportError {
        ReportError::Invalid {
            offset: self.base + self.pos as u64,
            what,
            msg: msg.to_string(),
        }
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, ReportError> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or_else(|| self.err(what, "unexpected end of value"))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], ReportError> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| self.err(what, "length past end of value"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// An RDB length; `Err` on the special string encodings.
    fn length(&mut self, what: &'static str) -> Result<u64, ReportError> {
        match self.len_or_special(what)? {
            (n, false) => Ok(n),
            (_, true) => Err(self.err(what, "expected a length, found a string encoding")),
        }
    }

    fn len_or_special(&mut self, what: &'static str) -> Result<(u64, bool), ReportError> {
        let b = self.byte(what)?;
        Ok(match b >> 6 {
            0 => (u64::from(b & 0x3F), false),
            1 => (
                (u64::from(b & 0x3F) << 8) | u64::from(self.byte(what)?),
                false,
            ),
            2 => match b {
                0x80 => {
                    let s = self.take(4, what)?;
                    (
                        u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])),
                        false,
                    )
                }
                0x81 => {
                    let s = self.take(8, what)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    (u64::from_be_bytes(a), false)
                }
                _ => return Err(self.err(what, "bad length encoding")),
            },
            _ => (u64::from(b & 0x3F), true),
        })
    }

    /// An RDB string (raw, integer or LZF).
    pub(super) fn string(&mut self, what: &'static str) -> Result<RdbString<'a>, ReportError> {
        let at = self.base + self.pos as u64;
        match self.len_or_special(what)? {
            (n, false) => Ok(RdbString::Raw(self.take(n, what)?)),
            (0, true) => Ok(RdbString::Int(i64::from(self.take(1, what)?[0] as i8))),
            (1, true) => {
                let s = self.take(2, what)?;
                Ok(RdbString::Int(i64::from(i16::from_le_bytes([s[0], s[1]]))))
            }
            (2, true) => {
                let s = self.take(4, what)?;
                Ok(RdbString::Int(i64::from(i32::from_le_bytes([
                    s[0], s[1], s[2], s[3],
                ]))))
            }
            (3, true) => {
                let clen = self.length(what)?;
                let len = self.length(what)?;
                Ok(RdbString::Lzf {
                    compressed: self.take(clen, what)?,
                    len,
                    offset: at,
                })
            }
            _ => Err(self.err(what, "unknown string encoding")),
        }
    }
}

/// The module type name of a `MODULE_2` value, read from its first length (the module id)
/// without decoding the value.
pub(crate) fn module_type_name(r: &Record<'_>) -> Result<String, ReportError> {
    Ok(rdb_format::ModuleId(Cursor::new(r).length("module id")?).name())
}

/// The single blob that is the whole value, decompressed into `scratch` if needed.
pub(super) fn single_blob<'a>(
    r: &Record<'a>,
    scratch: &'a Scratch,
) -> Result<&'a [u8], ReportError> {
    let mut c = Cursor::new(r);
    match c.string("blob")?.decode(scratch)? {
        Str::Bytes(b) => Ok(b),
        Str::Int(_) => Err(c.err("blob", "expected a blob, found an integer")),
    }
}

/// Decoded size of the single blob that is the whole value (intset, listpack, ziplist).
pub(super) fn single_blob_len(r: &Record<'_>) -> Result<u64, ReportError> {
    Ok(Cursor::new(r).string("blob")?.len())
}

/// Listpack size of a `HASH_LISTPACK_EX` value (after its 8-byte minimum expiry).
pub(super) fn listpack_ex_blob_len(r: &Record<'_>) -> Result<u64, ReportError> {
    let mut c = Cursor::new(r);
    if r.encoding == Encoding::HashListpackEx {
        c.take(8, "hash min expire")?;
    }
    Ok(c.string("listpack")?.len())
}

/// The nodes of a `LIST_QUICKLIST` (`v2` false: ziplist nodes) or `LIST_QUICKLIST_2` value.
pub(super) fn quicklist_nodes(r: &Record<'_>, v2: bool) -> Result<Vec<Node>, ReportError> {
    let mut c = Cursor::new(r);
    let n = c.length("quicklist length")?;
    let mut nodes = Vec::with_capacity(n.min(1 << 16) as usize);
    for _ in 0..n {
        let container = if v2 { c.length("quicklist node")? } else { 2 };
        let s = c.string("quicklist node")?;
        nodes.push(Node {
            bytes: s.len(),
            lzf: match s {
                RdbString::Lzf { compressed, .. } => Some(compressed.len() as u64),
                _ => None,
            },
            plain: container == 1,
        });
    }
    Ok(nodes)
}

/// `LIST_QUICKLIST` (ziplist nodes) as Redis 7+ loads it: each ziplist converted to a
/// listpack of the same elements.
pub(super) fn ziplist_nodes_as_listpacks(
    r: &Record<'_>,
    scratch: &Scratch,
    elements: &mut u64,
    largest: &mut u64,
) -> Result<Vec<Node>, ReportError> {
    let mut c = Cursor::new(r);
    let n = c.length("quicklist length")?;
    let mut nodes = Vec::with_capacity(n.min(1 << 16) as usize);
    for _ in 0..n {
        let s = c.string("quicklist node")?;
        let blob = match s.decode(scratch)? {
            Str::Bytes(b) => b,
            Str::Int(_) => return Err(c.err("quicklist node", "expected a ziplist blob")),
        };
        let mut lp = LpSize::default();
        for e in Ziplist::parse(blob)? {
            let e = e?;
            *elements += 1;
            *largest = (*largest).max(slen(e));
            lp.push(e);
        }
        // The listpack compresses about as well as the ziplist did in the dump.
        let lzf = match s {
            RdbString::Lzf {
                compressed, len, ..
            } if len > 0 => Some(lp.bytes() * compressed.len() as u64 / len),
            _ => None,
        };
        nodes.push(Node {
            bytes: lp.bytes(),
            lzf,
            plain: false,
        });
    }
    Ok(nodes)
}

/// A stream's listpack nodes: (master id key, listpack size).
pub(super) fn stream_nodes(
    r: &Record<'_>,
    scratch: &Scratch,
) -> Result<Vec<([u8; 16], u64)>, ReportError> {
    let mut c = Cursor::new(r);
    let n = c.length("stream listpacks")?;
    let mut nodes = Vec::with_capacity(n.min(1 << 16) as usize);
    for _ in 0..n {
        let key = c.string("stream node key")?;
        let lp = c.string("stream listpack")?;
        let mut k = [0u8; 16];
        match key.decode(scratch)? {
            Str::Bytes(b) if b.len() == 16 => k.copy_from_slice(b),
            _ => return Err(c.err("stream node key", "expected a 16-byte id")),
        }
        nodes.push((k, lp.len()));
    }
    nodes.sort_unstable_by_key(|a| a.0);
    Ok(nodes)
}
