//! The layout level: how a record's value sits in the dump, read without decoding its
//! elements (see [`Layout`]).

use crate::consts::{QUICKLIST_NODE_CONTAINER_PACKED, QUICKLIST_NODE_CONTAINER_PLAIN};
use crate::decoder::Record;
use crate::error::{Error, ErrorKind, Result};
use crate::read::intset::{intset_count, INTSET_HEADER_SIZE};
use crate::read::listpack::{listpack_count, LISTPACK_HEADER_SIZE};
use crate::read::lzf;
use crate::read::module::ModuleId;
use crate::read::stream::StreamId;
use crate::read::string::{lzf_error, RdbString, Scratch, Str};
use crate::read::ziplist::{ziplist_count, ZIPLIST_HEADER_SIZE};
use crate::read::{finish, length, rdb_string, take_len, Origin};
use crate::value::Encoding;

/// How a value is stored in the dump.
///
/// [`Record::layout`] says which container holds the value and how big it is: the single
/// blob of an intset, ziplist, listpack or zipmap (its decoded length, and its compressed
/// length when LZF-compressed), the nodes of a quicklist (size, compressed size, plain or
/// packed), the listpack nodes of a stream (master id and size), or a module's type id. This
/// is what a memory model needs: sizes as the server will load them, not the elements.
///
/// ```
/// use rdb_format::{Decoder, Item, Layout, Scratch};
///
/// // A tiny RDB 11 dump holding `RPUSH list a b` (one listpack node), checksum not computed.
/// let mut dump = b"REDIS0011\xfe\x00\x12\x04list\x01\x02\x0d".to_vec();
/// dump.extend_from_slice(b"\x0d\x00\x00\x00\x02\x00\x81a\x02\x81b\x02\xff\xff");
/// dump.extend_from_slice(&[0; 8]);
///
/// let scratch = Scratch::new();
/// let mut lists = 0;
/// for item in Decoder::new(&dump)? {
///     if let Item::Record(record) = item? {
///         if let Layout::Quicklist(nodes) = record.layout(&scratch)? {
///             assert_eq!(nodes.len(), 1);
///             assert_eq!((nodes[0].len(), nodes[0].compressed_len()), (13, None));
///             assert!(!nodes[0].is_plain());
///             lists += 1;
///         }
///     }
/// }
/// assert_eq!(lists, 1);
/// # Ok::<(), rdb_format::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Layout<'a> {
    /// A string value as stored: raw bytes, an integer, or LZF-compressed bytes with their
    /// decompressed length (not decompressed).
    String(RdbString<'a>),
    /// The whole value is one blob: an intset, ziplist, listpack or zipmap.
    Blob(Blob<'a>),
    /// A quicklist (`LIST_QUICKLIST` or `LIST_QUICKLIST_2`): its nodes in file order.
    Quicklist(Vec<QuicklistNode<'a>>),
    /// A stream: its listpack nodes in file order.
    Stream(Vec<StreamNode<'a>>),
    /// A module value (`MODULE_2`): its type id (the rest is not read).
    Module(ModuleId),
    /// Elements stored one by one (the plain list, set, sorted set and hash encodings): there
    /// is no container to measure.
    Elements,
}

/// The kind of a packed container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Container {
    /// An intset (`SET_INTSET`).
    Intset,
    /// A ziplist (`*_ZIPLIST`, `LIST_QUICKLIST` nodes).
    Ziplist,
    /// A listpack (`*_LISTPACK*`, `LIST_QUICKLIST_2` packed nodes).
    Listpack,
    /// A zipmap (`HASH_ZIPMAP`).
    Zipmap,
    /// A single element stored as is (`LIST_QUICKLIST_2` plain nodes).
    Plain,
}

/// A container stored as one RDB string, and where it is.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Blob<'a> {
    /// What the blob holds.
    pub container: Container,
    /// The blob as stored (an integer-encoded string here is corrupt, but it is reported as
    /// found: the caller decides).
    pub data: RdbString<'a>,
    /// `HASH_LISTPACK_EX`: the minimum field expiry (unix ms) stored before the listpack.
    pub min_expire_ms: Option<u64>,
    /// Absolute offset of the blob's string in the dump.
    pub offset: u64,
    /// Bytes the string takes in the dump (its length prefix included).
    pub stored_len: u64,
}

impl Blob<'_> {
    /// The decompressed size of the blob in bytes.
    pub fn len(&self) -> u64 {
        self.data.len()
    }

    /// Whether the blob is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The LZF-compressed size in the dump, if the blob is compressed there.
    pub fn compressed_len(&self) -> Option<u64> {
        compressed_len(&self.data)
    }

    /// Absolute offset of the first byte after the blob.
    pub fn end_offset(&self) -> u64 {
        self.offset + self.stored_len
    }
}

impl Blob<'_> {
    /// The entry count its header declares, reading only the header (an LZF-compressed blob
    /// has just its first bytes decompressed): intset members, listpack or ziplist entries
    /// (`None` when the count saturated at 65535 and only a walk would tell), 1 for a plain
    /// node, `None` for a zipmap. The header's size fields are checked against the blob's
    /// length; the entries themselves are not read, so this proves nothing about them.
    pub fn declared_entries(&self) -> Result<Option<u64>> {
        let (context, size) = match self.container {
            Container::Plain => return Ok(Some(1)),
            Container::Zipmap => return Ok(None),
            Container::Intset => ("intset header", INTSET_HEADER_SIZE),
            Container::Ziplist => ("ziplist header", ZIPLIST_HEADER_SIZE),
            Container::Listpack => ("listpack header", LISTPACK_HEADER_SIZE),
        };
        let blob_len = self.data.len();
        let mut buf = [0u8; 16];
        let head: &[u8] = match self.data {
            RdbString::Raw(bytes) => bytes,
            RdbString::Lzf { compressed, .. } => {
                let head = &mut buf[..size.min(blob_len as usize)];
                lzf::decompress_prefix(compressed, head).map_err(|e| lzf_error(self.offset, e))?;
                head
            }
            RdbString::Int(_) => {
                return Err(Error::new(
                    self.offset,
                    context,
                    ErrorKind::Invalid("an integer where a container was expected".into()),
                ))
            }
        };
        let invalid =
            |msg: String| Error::new(self.offset, context, ErrorKind::Invalid(msg.into()));
        // 65535 in a listpack or ziplist header means "more": only a walk would tell.
        let unless_saturated = |n: u16| (n != u16::MAX).then_some(u64::from(n));
        Ok(match self.container {
            Container::Intset => Some(intset_count(head, blob_len).map_err(invalid)?.0),
            Container::Ziplist => unless_saturated(ziplist_count(head, blob_len).map_err(invalid)?),
            _ => unless_saturated(listpack_count(head, blob_len).map_err(invalid)?),
        })
    }
}

/// One quicklist node: a ziplist or listpack, or (`LIST_QUICKLIST_2`) one plain element.
pub type QuicklistNode<'a> = Blob<'a>;

impl Blob<'_> {
    /// Whether the node holds one plain element rather than a packed container.
    pub fn is_plain(&self) -> bool {
        self.container == Container::Plain
    }
}

/// One listpack node of a stream.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct StreamNode<'a> {
    /// The node's master id (the key of the node in the stream's radix tree).
    pub master_id: StreamId,
    /// The node's listpack as stored.
    pub listpack: Blob<'a>,
}

fn compressed_len(s: &RdbString<'_>) -> Option<u64> {
    match s {
        RdbString::Lzf { compressed, .. } => Some(compressed.len() as u64),
        _ => None,
    }
}

impl<'a> Record<'a> {
    /// How the value is stored: container kind and sizes, read without decoding elements.
    /// Only a stream node's master id is decompressed (into `scratch`) when LZF-compressed.
    ///
    /// Errors name the absolute offset of the bad byte.
    pub fn layout<'b>(&self, scratch: &'b Scratch) -> Result<Layout<'b>>
    where
        'a: 'b,
    {
        use Encoding::*;
        let mut reader = Reader::new(self.value_raw, self.value_offset);
        Ok(match self.encoding {
            String => Layout::String(reader.string()?.1),
            SetIntset => Layout::Blob(reader.blob(Container::Intset)?),
            ListZiplist | ZSetZiplist | HashZiplist => {
                Layout::Blob(reader.blob(Container::Ziplist)?)
            }
            HashZipmap => Layout::Blob(reader.blob(Container::Zipmap)?),
            HashListpack | ZSetListpack | SetListpack | HashListpackExPreGa => {
                Layout::Blob(reader.blob(Container::Listpack)?)
            }
            HashListpackEx => {
                let expire = reader.u64_le("hash min expire")?;
                let mut blob = reader.blob(Container::Listpack)?;
                blob.min_expire_ms = Some(expire);
                Layout::Blob(blob)
            }
            ListQuicklist => Layout::Quicklist(reader.quicklist(false)?),
            ListQuicklist2 => Layout::Quicklist(reader.quicklist(true)?),
            StreamListpacks | StreamListpacks2 | StreamListpacks3 | StreamListpacks4 => {
                Layout::Stream(reader.stream_nodes(scratch)?)
            }
            Module2 => Layout::Module(ModuleId(reader.length()?)),
            _ => Layout::Elements,
        })
    }
}

/// Reads the value's bytes front to back with the crate's primitives.
struct Reader<'a> {
    rest: &'a [u8],
    origin: Origin<'a>,
}

impl<'a> Reader<'a> {
    fn new(value: &'a [u8], offset: u64) -> Self {
        Reader {
            rest: value,
            origin: Origin::new(value, offset),
        }
    }

    fn offset(&self) -> u64 {
        self.origin.offset_of(self.rest)
    }

    fn length(&mut self) -> Result<u64> {
        let (rest, n) = finish(&self.origin, length(self.rest))?;
        self.rest = rest;
        Ok(n)
    }

    fn u64_le(&mut self, what: &'static str) -> Result<u64> {
        let (rest, b) = finish(&self.origin, take_len(self.rest, 8, what))?;
        self.rest = rest;
        let mut le = [0u8; 8];
        le.copy_from_slice(b);
        Ok(u64::from_le_bytes(le))
    }

    /// A string: where it starts, and the string (LZF strings located for their errors).
    fn string(&mut self) -> Result<(u64, RdbString<'a>)> {
        let at = self.offset();
        let (rest, s) = finish(&self.origin, rdb_string(self.rest))?;
        self.rest = rest;
        Ok((at, s.located(at)))
    }

    fn blob(&mut self, container: Container) -> Result<Blob<'a>> {
        let (offset, data) = self.string()?;
        Ok(Blob {
            container,
            data,
            min_expire_ms: None,
            offset,
            stored_len: self.offset() - offset,
        })
    }

    fn quicklist(&mut self, v2: bool) -> Result<Vec<QuicklistNode<'a>>> {
        let n = self.length()?;
        // Each node takes at least two bytes: no count beyond that is believed.
        let mut nodes = Vec::with_capacity(n.min(self.rest.len() as u64 / 2) as usize);
        for _ in 0..n {
            let container = if v2 {
                let at = self.offset();
                match self.length()? {
                    QUICKLIST_NODE_CONTAINER_PLAIN => Container::Plain,
                    QUICKLIST_NODE_CONTAINER_PACKED => Container::Listpack,
                    other => {
                        return Err(Error::new(
                            at,
                            "quicklist node",
                            ErrorKind::Invalid(format!("unknown container {other}").into()),
                        ))
                    }
                }
            } else {
                Container::Ziplist
            };
            nodes.push(self.blob(container)?);
        }
        Ok(nodes)
    }

    fn stream_nodes(&mut self, scratch: &Scratch) -> Result<Vec<StreamNode<'a>>> {
        let n = self.length()?;
        let mut nodes = Vec::with_capacity(n.min(self.rest.len() as u64 / 2) as usize);
        for _ in 0..n {
            let (at, key) = self.string()?;
            let master_id = match key.decode(scratch)? {
                Str::Bytes(b) => <&[u8; 16]>::try_from(b).ok().map(StreamId::from_be_bytes),
                Str::Int(_) => None,
            };
            let master_id = master_id.ok_or_else(|| {
                Error::new(
                    at,
                    "stream node key",
                    ErrorKind::Invalid("expected a 16-byte id".into()),
                )
            })?;
            let listpack = self.blob(Container::Listpack)?;
            nodes.push(StreamNode {
                master_id,
                listpack,
            });
        }
        Ok(nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(encoding: Encoding, value: &[u8]) -> Record<'_> {
        Record {
            db: 0,
            key: RdbString::Raw(b"k"),
            expire_ms: None,
            idle: None,
            freq: None,
            key_meta: None,
            encoding,
            offset: 90,
            len: value.len() as u64 + 3,
            value_raw: value,
            value_offset: 100,
        }
    }

    #[test]
    fn strings_are_not_decompressed() {
        let s = Scratch::new();
        let r = record(Encoding::String, b"\xc3\x02\x05\x00a\xe0\x01\x00");
        match r.layout(&s).unwrap() {
            Layout::String(RdbString::Lzf {
                compressed,
                len,
                offset,
            }) => assert_eq!((compressed.len(), len, offset), (2, 5, 100)),
            other => panic!("{other:?}"),
        }
        let r = record(Encoding::String, b"\xc0\x07");
        assert_eq!(r.layout(&s).unwrap(), Layout::String(RdbString::Int(7)));
    }

    #[test]
    fn blobs_with_their_place() {
        let s = Scratch::new();
        let r = record(Encoding::SetIntset, b"\x04abcd");
        let Layout::Blob(b) = r.layout(&s).unwrap() else {
            panic!()
        };
        assert_eq!(
            (b.container, b.len(), b.offset, b.end_offset()),
            (Container::Intset, 4, 100, 105)
        );
        let mut ex = 7u64.to_le_bytes().to_vec();
        ex.extend_from_slice(b"\x02xy");
        let r = record(Encoding::HashListpackEx, &ex);
        let Layout::Blob(b) = r.layout(&s).unwrap() else {
            panic!()
        };
        assert_eq!((b.min_expire_ms, b.len(), b.offset), (Some(7), 2, 108));
    }

    #[test]
    fn quicklist_nodes() {
        let s = Scratch::new();
        // Three v2 nodes: packed, plain, packed and LZF-compressed.
        let r = record(
            Encoding::ListQuicklist2,
            b"\x03\x02\x03abc\x01\x01z\x02\xc3\x02\x09\x00a\xe0\x06\x00",
        );
        let Layout::Quicklist(nodes) = r.layout(&s).unwrap() else {
            panic!()
        };
        let got: Vec<_> = nodes
            .iter()
            .map(|n| (n.len(), n.compressed_len(), n.is_plain(), n.offset))
            .collect();
        assert_eq!(
            got,
            [
                (3, None, false, 102),
                (1, None, true, 107),
                (9, Some(2), false, 110)
            ]
        );
        let bad = record(Encoding::ListQuicklist2, b"\x01\x05\x01a");
        let e = bad.layout(&s).unwrap_err();
        assert_eq!((e.offset, e.context), (101, "quicklist node"));
        let short = record(Encoding::ListQuicklist, b"\x02\x01a");
        assert_eq!(short.layout(&s).unwrap_err().offset, 103);
    }

    #[test]
    fn stream_nodes_and_modules() {
        let s = Scratch::new();
        let mut v = b"\x01\x10".to_vec();
        v.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1]);
        v.extend_from_slice(b"\x03lp!");
        let r = record(Encoding::StreamListpacks, &v);
        let Layout::Stream(nodes) = r.layout(&s).unwrap() else {
            panic!()
        };
        assert_eq!(nodes[0].master_id, StreamId { ms: 5, seq: 1 });
        assert_eq!(
            (nodes[0].listpack.len(), nodes[0].listpack.offset),
            (3, 118)
        );
        let bad = record(Encoding::StreamListpacks, b"\x01\x02ab\x00");
        assert_eq!(bad.layout(&s).unwrap_err().offset, 101);

        let r = record(Encoding::Module2, b"\x81\x12\x34\x56\x78\x9a\xbc\xde\xf0");
        assert_eq!(
            r.layout(&s).unwrap(),
            Layout::Module(ModuleId(0x1234_5678_9abc_def0))
        );
        let r = record(Encoding::Set, b"\x00");
        assert_eq!(r.layout(&s).unwrap(), Layout::Elements);
    }

    fn blob(container: Container, data: RdbString<'_>) -> Blob<'_> {
        Blob {
            container,
            data,
            min_expire_ms: None,
            offset: 40,
            stored_len: 0,
        }
    }

    #[test]
    fn declared_entries_read_only_the_header() {
        let lp: &[u8] = b"\x0d\x00\x00\x00\x02\x00\x81a\x02\x81b\x02\xff";
        assert_eq!(
            blob(Container::Listpack, RdbString::Raw(lp)).declared_entries(),
            Ok(Some(2))
        );
        // The same listpack LZF-compressed as one literal run, with a corrupt tail that only
        // a full decompression would see.
        let mut lzf = vec![12u8];
        lzf.extend_from_slice(lp);
        lzf.extend_from_slice(b"\x20\xff");
        let packed = RdbString::Lzf {
            compressed: &lzf,
            len: 13,
            offset: 41,
        };
        assert_eq!(
            blob(Container::Listpack, packed).declared_entries(),
            Ok(Some(2))
        );

        let wrong_total = RdbString::Lzf {
            compressed: &lzf,
            len: 14,
            offset: 41,
        };
        let e = blob(Container::Listpack, wrong_total)
            .declared_entries()
            .unwrap_err();
        assert_eq!((e.offset, e.context), (40, "listpack header"));

        let intset: &[u8] = b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x02\x00";
        assert_eq!(
            blob(Container::Intset, RdbString::Raw(intset)).declared_entries(),
            Ok(Some(2))
        );
        assert!(blob(Container::Intset, RdbString::Raw(&intset[..10]))
            .declared_entries()
            .is_err());

        // A ziplist whose count saturated: only a walk would tell.
        let zl: &[u8] = b"\x0b\x00\x00\x00\x0a\x00\x00\x00\xff\xff\xff";
        assert_eq!(
            blob(Container::Ziplist, RdbString::Raw(zl)).declared_entries(),
            Ok(None)
        );
        assert_eq!(
            blob(Container::Plain, RdbString::Raw(b"x")).declared_entries(),
            Ok(Some(1))
        );
        assert!(blob(Container::Listpack, RdbString::Raw(b"\x06"))
            .declared_entries()
            .is_err());
        assert!(blob(Container::Listpack, RdbString::Int(5))
            .declared_entries()
            .is_err());
    }
}
