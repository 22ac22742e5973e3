//! Strings and collections: the server's in-memory encoding for a value, and its size.

use super::*;

impl MemoryModel {
    // ---------------------------------------------------------------- strings

    pub(super) fn string(&self, o: &Obj, len: u64, is_int: bool) -> KeyMemory {
        let (bytes, encoding) = if self.layout.embedded_objects {
            let key = vk_key_part(o.key_len);
            let exp = if o.expire { 8 } else { 0 };
            let embedded = 8 + exp + key + 3 + len + 1;
            if is_int {
                (self.a(ROBJ + key + vk_expire(o)), "int")
            } else if embedded < VK_EMBED_MAX {
                (self.a(embedded), "embstr")
            } else {
                (self.a(ROBJ + key + vk_expire(o)) + self.sds(len), "raw")
            }
        } else if is_int {
            (ROBJ, "int")
        } else if len <= EMBSTR_MAX {
            let b = if self.layout.embstr_unrounded {
                // 6.2 counts the embedded sds as its length plus two.
                ROBJ + len + 2
            } else {
                self.a(ROBJ + 3 + len + 1)
            };
            (b, "embstr")
        } else {
            (ROBJ + self.sds(len), "raw")
        };
        KeyMemory {
            bytes,
            encoding,
            elements: 1,
            largest_element: len,
        }
    }

    // lists

    pub(super) fn list(
        &self,
        o: &Obj,
        r: &Record<'_>,
        items: rdb_format::List<'_>,
        scratch: &Scratch,
    ) -> Result<KeyMemory, ReportError> {
        let (mut elements, mut largest) = (0u64, 0u64);
        let v2 = r.encoding == Encoding::ListQuicklist2;
        let v1 = r.encoding == Encoding::ListQuicklist;
        let nodes = if v1 && self.layout.packing == Packing::Listpack {
            // Ziplist nodes become listpack nodes of the same elements on load.
            ziplist_nodes_as_listpacks(r, scratch, &mut elements, &mut largest)?
        } else {
            let mut packed = Packer::new(&self.layout.packing);
            let repack = !v1 && !v2;
            // Node by node into one reused buffer: a huge list is never whole in memory.
            items.try_for_each_element(|item| {
                elements += 1;
                largest = largest.max(slen(item));
                if repack {
                    packed.push(item);
                }
                Ok::<(), ReportError>(())
            })?;
            if repack {
                packed.finish()
            } else {
                quicklist_nodes(r, scratch)?
            }
        };
        let depth = self.compress_depth;
        let n = nodes.len() as u64;
        let single_small = n == 1 && !nodes[0].plain && nodes[0].bytes <= LIST_NODE_MAX_BYTES;
        let (bytes, encoding) = if self.layout.single_listpack_lists && single_small {
            (self.header(o) + self.a(nodes[0].bytes), "listpack")
        } else {
            let node_struct = self.layout.quicklist_node;
            let mut total = self.header(o) + QUICKLIST;
            for (i, node) in nodes.iter().enumerate() {
                let i = i as u64;
                let inner = depth > 0 && i >= depth && i + depth < n;
                let compressed = match node.lzf {
                    Some(c) if inner && node.bytes >= MIN_COMPRESS_BYTES => {
                        (c + MIN_COMPRESS_IMPROVE < node.bytes).then_some(c)
                    }
                    _ => None,
                };
                total += node_struct
                    + match compressed {
                        // quicklistLZF: a 4-byte length and the compressed bytes.
                        Some(c) if !self.layout.blob_allocations => c,
                        Some(c) => self.a(4 + c),
                        None => self.blob(node.bytes),
                    };
            }
            (total, "quicklist")
        };
        Ok(KeyMemory {
            bytes,
            encoding,
            elements,
            largest_element: largest,
        })
    }

    // sets

    pub(super) fn set(
        &self,
        o: &Obj,
        r: &Record<'_>,
        members: rdb_format::Set<'_>,
        scratch: &Scratch,
    ) -> Result<KeyMemory, ReportError> {
        let mut agg = Agg::default();
        // Only a plain set can become an intset on load; its members are checked for it.
        let check_ints = r.encoding == Encoding::Set;
        let mut all_int = check_ints || r.encoding == Encoding::SetIntset;
        let mut width = 2u64;
        members.clone().try_for_each_member(|m| {
            agg.add(self, slen(m));
            if check_ints && all_int {
                match as_int(m) {
                    Some(i) => width = width.max(int_width(i)),
                    None => all_int = false,
                }
            }
            Ok::<(), ReportError>(())
        })?;
        let n = agg.count;
        let (bytes, encoding) = if all_int && n <= SET_MAX_INTSET_ENTRIES {
            let blob = match r.encoding {
                Encoding::SetIntset => single_blob_len(r, scratch)?,
                _ => 8 + n * width,
            };
            (self.header(o) + self.blob(blob), "intset")
        } else if self.layout.listpack_sets
            && n <= SET_MAX_LISTPACK_ENTRIES
            && agg.max_len <= SET_MAX_LISTPACK_VALUE
        {
            let lp = match r.encoding {
                Encoding::SetListpack => single_blob_len(r, scratch)?,
                _ => lp_bytes(members.map(|m| m.map(|m| [m])))?,
            };
            (self.header(o) + self.a(lp), "listpack")
        } else if self.layout.hash_table == HashTable::Valkey {
            (
                self.header(o) + self.vk_table(n) + agg.sds_bytes,
                "hashtable",
            )
        } else {
            (
                ROBJ + self.dict_table(n) + n * DICT_ENTRY + agg.sds_bytes,
                "hashtable",
            )
        };
        Ok(KeyMemory {
            bytes,
            encoding,
            elements: n,
            largest_element: agg.max_len,
        })
    }

    // sorted sets

    pub(super) fn zset(
        &self,
        o: &Obj,
        r: &Record<'_>,
        members: Option<rdb_format::ZSet<'_>>,
        scratch: &Scratch,
    ) -> Result<KeyMemory, ReportError> {
        let mut agg = Agg::default();
        let mut nodes = NodeCosts::new(self);
        let mut add = |len: u64| {
            agg.add(self, len);
            nodes.add(len);
        };
        // Packed encodings: every other entry of the blob is a member.
        let blob = match &members {
            None => Some(blob_bytes(
                &blob_layout(r, scratch)?,
                scratch,
                "blob",
                "expected a blob, found an integer",
            )?),
            Some(_) => None,
        };
        let packed = |blob| Entries::parse(r.encoding, blob);
        match (&members, blob) {
            (Some(members), _) => members.clone().try_for_each_member(|m, _| {
                add(slen(m));
                Ok::<(), ReportError>(())
            })?,
            (None, Some(blob)) => {
                for e in packed(blob)?.step_by(2) {
                    add(slen(e?));
                }
            }
            (None, None) => {}
        }
        let n = agg.count;
        let (bytes, encoding) =
            if n <= ZSET_MAX_LISTPACK_ENTRIES && agg.max_len <= ZSET_MAX_LISTPACK_VALUE {
                // Converted on load entry by entry, scores as they are stored.
                let repack = |p: &mut dyn Packed| -> Result<u64, ReportError> {
                    match (&members, blob) {
                        (Some(members), _) => zset_packed_bytes(members.clone(), p),
                        (None, Some(blob)) => {
                            for e in packed(blob)? {
                                p.push(e?);
                            }
                            Ok(p.bytes())
                        }
                        (None, None) => Ok(p.bytes()),
                    }
                };
                let b = match (r.encoding, &self.layout.packing) {
                    (Encoding::ZSetZiplist, Packing::Ziplist) => single_blob_len(r, scratch)?,
                    (_, Packing::Ziplist) => repack(&mut ZlSize::default())?,
                    (Encoding::ZSetListpack, _) => self.a(single_blob_len(r, scratch)?),
                    _ => self.a(repack(&mut LpSize::default())?),
                };
                (self.header(o) + b, self.layout.packing.name())
            } else {
                let header_node = self.a(24 + ZSKIPLIST_MAXLEVEL * 16);
                let fixed = ZSET + ZSKIPLIST + header_node;
                let nodes = nodes.total.round() as u64;
                if self.layout.hash_table == HashTable::Valkey {
                    (
                        self.header(o) + fixed + self.vk_table(n) + nodes,
                        "skiplist",
                    )
                } else {
                    (
                        ROBJ + fixed + self.dict_table(n) + agg.sds_bytes + n * DICT_ENTRY + nodes,
                        "skiplist",
                    )
                }
            };
        Ok(KeyMemory {
            bytes,
            encoding,
            elements: n,
            largest_element: agg.max_len,
        })
    }

    /// Expected allocation of a skiplist node of `base` bytes plus 16 per level, the level
    /// drawn as `zslRandomLevel` does (P = 1/4, at most 32).
    pub(super) fn expected_node(&self, base: u64) -> f64 {
        let mut p = 1.0 - SKIPLIST_P;
        let mut e = 0.0;
        let mut rest = 1.0;
        for level in 1..=12u64 {
            e += p * self.a(base + 16 * level) as f64;
            rest -= p;
            p *= SKIPLIST_P;
        }
        e + rest * self.a(base + 16 * 13) as f64
    }

    // hashes

    pub(super) fn hash(
        &self,
        o: &Obj,
        r: &Record<'_>,
        fields: rdb_format::Hash<'_>,
        scratch: &Scratch,
    ) -> Result<KeyMemory, ReportError> {
        let mut agg = Agg::default();
        let (mut n, mut ttls) = (0u64, 0u64);
        let mut entries = 0u64;
        let valkey = self.layout.hash_table == HashTable::Valkey;
        let hfe = self.layout.hash_field_expiry;
        fields.clone().try_for_each_entry(|f| {
            n += 1;
            let (fl, vl) = (slen(f.field), slen(f.value));
            agg.max_len = agg.max_len.max(fl).max(vl);
            let ttl = f.expire_ms.is_some();
            ttls += u64::from(ttl);
            entries += if valkey {
                self.vk_hash_entry(fl, vl, ttl)
            } else {
                // The field (an sds, or from 7.4 an `hfield` with a 16-byte expiry record
                // when it has a TTL), the value, and the dict entry.
                let field = if hfe && ttl {
                    self.a(sds_hdr(fl).max(3) + fl + 1 + 16)
                } else {
                    self.sds(fl)
                };
                DICT_ENTRY + field + self.sds(vl)
            };
            Ok::<(), ReportError>(())
        })?;
        let small = n <= HASH_MAX_LISTPACK_ENTRIES && agg.max_len <= HASH_MAX_LISTPACK_VALUE;
        let with_ttl_encoding = matches!(
            r.encoding,
            Encoding::HashListpackEx
                | Encoding::HashListpackExPreGa
                | Encoding::HashMetadata
                | Encoding::HashMetadataPreGa
        );
        let pairs = || fields.clone().map(|f| f.map(|f| [f.field, f.value]));
        let (bytes, encoding) = if small && with_ttl_encoding && self.layout.listpack_ex {
            // listpackEx: a small struct (expiry metadata, key, listpack pointer) and the
            // listpack of field, value, TTL triples.
            let lp =
                match r.encoding {
                    Encoding::HashListpackEx | Encoding::HashListpackExPreGa => {
                        single_blob_len(r, scratch)?
                    }
                    _ => lp_bytes(fields.clone().map(|f| {
                        f.map(|f| [f.field, f.value, Str::Int(f.expire_ms.unwrap_or(0))])
                    }))?,
                };
            (self.header(o) + self.a(32) + self.a(lp), "listpackex")
        } else if small && (ttls == 0 || self.layout.listpack_ex) {
            let b = match (r.encoding, &self.layout.packing) {
                (Encoding::HashZiplist, Packing::Ziplist) => single_blob_len(r, scratch)?,
                (_, Packing::Ziplist) => zl_bytes(pairs())?,
                (Encoding::HashListpack, _) => self.a(single_blob_len(r, scratch)?),
                _ => self.a(lp_bytes(pairs())?),
            };
            (self.header(o) + b, self.layout.packing.name())
        } else if valkey {
            let table = self.vk_table(n) + VK_HASH_META + self.vk_volatile_set(ttls);
            (self.header(o) + table + entries, "hashtable")
        } else {
            let mut table = self.dict_table(n);
            if ttls > 0 && hfe {
                table += 8 * rehashing_buckets(n);
            }
            (ROBJ + table + entries, "hashtable")
        };
        Ok(KeyMemory {
            bytes,
            encoding,
            elements: n,
            largest_element: agg.max_len,
        })
    }

    /// Valkey's set of a hash's fields with a TTL: nothing for one field (a tagged pointer),
    /// a sorted vector of pointers up to 127, then time buckets in a radix tree.
    pub(super) fn vk_volatile_set(&self, ttls: u64) -> u64 {
        match ttls {
            0 | 1 => 0,
            2..=127 => self.a(8 + 8 * ttls),
            _ => 10 * ttls + 64,
        }
    }

    /// A Valkey hash entry: field (and TTL) with the value embedded when the whole fits in
    /// 128 bytes, else with a pointer to a separate value sds.
    pub(super) fn vk_hash_entry(&self, field_len: u64, value_len: u64, ttl: bool) -> u64 {
        let exp = if ttl { 8 } else { 0 };
        let field_hdr = if field_len < 32 && !ttl {
            1
        } else {
            sds_hdr(field_len).max(3)
        };
        let field = field_hdr + field_len + 1;
        let value = 3 + value_len + 1;
        if field + exp + value <= VK_EMBED_VALUE_MAX {
            self.a(field + exp + value)
        } else {
            let field = sds_hdr(field_len).max(3) + field_len + 1;
            self.a(exp + 8 + field) + self.sds(value_len)
        }
    }
}

/// Running sums over a collection's strings: the cheap figures every encoding needs.
#[derive(Default)]
struct Agg {
    count: u64,
    max_len: u64,
    /// Allocated sds strings (hash-table encodings).
    sds_bytes: u64,
}

impl Agg {
    fn add(&mut self, m: &MemoryModel, len: u64) {
        self.count += 1;
        self.max_len = self.max_len.max(len);
        self.sds_bytes += m.sds(len);
    }
}

/// Expected skiplist node allocations, memoized by member length.
struct NodeCosts<'m> {
    model: &'m MemoryModel,
    memo: [f64; 65],
    total: f64,
}

impl<'m> NodeCosts<'m> {
    fn new(model: &'m MemoryModel) -> Self {
        NodeCosts {
            model,
            memo: [-1.0; 65],
            total: 0.0,
        }
    }

    fn add(&mut self, len: u64) {
        let base = |m: &MemoryModel| {
            if m.layout.embedded_objects {
                // Valkey embeds the member in its node (score, backward link, sds).
                16 + sds_req(len)
            } else {
                // ele pointer, score, backward link; the member is a separate sds.
                24
            }
        };
        let cost = match self.memo.get_mut(len as usize) {
            Some(c) if *c >= 0.0 => *c,
            Some(c) => {
                *c = self.model.expected_node(base(self.model));
                *c
            }
            None => self.model.expected_node(base(self.model)),
        };
        self.total += cost;
    }
}
