//! Splitting one dump into one RDB file per shard (and filtering a dump into a smaller one:
//! a split with a single shard). [`Splitter`] does the same for several dumps together.
//!
//! Each key goes to the shard owning its hash slot. Records are copied byte for byte when
//! the output version is the input's; otherwise each value is copied raw if the output
//! version reads its encoding, and re-encoded if not. Aux fields, functions and module aux
//! data go to every shard; cluster slot hints (`SLOT_INFO`, aux `slot-info`) and slot-import
//! jobs are dropped, since they describe the source's slots. `RESIZEDB` hints are not
//! written: the input's counts are wrong for a part of it, and the hint is optional.
//!
//! Unless told not to, every kept value is decoded and checked as deeply as Redis's
//! `sanitize-dump-payload` does ([`rdb_format::validate`]) before it is written, and keys are
//! checked for duplicates within a database: a corrupt input is an error, never a
//! fresh-checksummed output that a server refuses.

use std::io::Write;
use std::sync::atomic::Ordering;

use rdb_format::validate::{validate_record, FingerprintSet, Verdict};
use rdb_format::write::{
    copyable, stream_metadata_lost, transcode, Conversion, EncodeError, RdbWriter,
};
use rdb_format::{Decoder, Item, Scratch, Type, Value, Version};
use rdb_pipeline::filter::Filter;
use rdb_pipeline::pipeline::Progress;

use crate::slot::{key_slot, SlotLayout};
use crate::{show_key, OnUnsupported};

/// Why a split failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SplitError {
    /// The progress's `cancel` flag was set (Ctrl-C): the outputs are incomplete.
    #[error("canceled")]
    Canceled,
    /// The input could not be decoded.
    #[error(transparent)]
    Decode(#[from] rdb_format::Error),
    /// An output could not be written.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A key hashes to a slot that no shard owns (a slot map with holes).
    #[error("key {key} is in slot {slot}, which no shard of the slot map owns")]
    Unowned {
        /// The key, printable.
        key: String,
        /// Its slot.
        slot: u16,
    },
    /// A value failed deep validation: the input is corrupt.
    #[error("key {key}: corrupt value: {source}")]
    Invalid {
        /// The key, printable.
        key: String,
        /// What is wrong, and where.
        source: rdb_format::Error,
    },
    /// A key appears twice in one database (a server refuses to load such a file).
    #[error("key {key} (record at offset {offset}) appears twice in db {db}")]
    DuplicateKey {
        /// The key, printable.
        key: String,
        /// Its database in the output.
        db: u64,
        /// Offset of the second record.
        offset: u64,
    },
    /// A key outside db 0 bound for a cluster shard (cluster nodes have only db 0).
    #[error(
        "key {key} is in db {db}, but cluster nodes have only db 0: keep db 0 only with \
         --db 0, or merge every database into db 0 with --flatten-dbs"
    )]
    OtherDb {
        /// The key, printable.
        key: String,
        /// Its database.
        db: u64,
    },
    /// A value the output version cannot hold, with `OnUnsupported::Fail`.
    #[error("key {key}: {source}")]
    Unsupported {
        /// The key, printable.
        key: String,
        /// What the output version lacks.
        source: EncodeError,
    },
}

/// How to split.
#[derive(Clone, Debug)]
pub struct SplitOptions {
    /// Keys to keep (the rest are left out of every shard).
    pub filter: Filter,
    /// Output version (None: the input's, so every record is copied raw).
    pub target: Option<Version>,
    /// What to do with values the output version cannot hold.
    pub on_unsupported: OnUnsupported,
    /// Check every kept value deeply and keys for duplicates (off: copy unchecked, faster).
    pub validate: bool,
    /// The outputs are cluster shards: refuse keys outside db 0 unless `flatten_dbs`.
    pub cluster: bool,
    /// Write every key into db 0.
    pub flatten_dbs: bool,
}

/// What a split did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SplitReport {
    /// Keys written to each shard.
    pub keys: Vec<u64>,
    /// Bytes written to each shard.
    pub bytes: Vec<u64>,
    /// Keys left out by the filter.
    pub filtered: u64,
    /// Records copied byte for byte.
    pub copied: u64,
    /// Records whose value was re-encoded for the output version.
    pub reencoded: u64,
    /// Values skipped because the output version cannot hold them (first few keys).
    pub unsupported: u64,
    /// Examples of unsupported keys with the reason.
    pub unsupported_examples: Vec<String>,
    /// Empty collections left out (Redis never writes them and skips them when loading).
    pub empty_skipped: u64,
    /// Streams whose RDB 9 re-encoding lost metadata (see [`stream_metadata_lost`]).
    pub stream_metadata_lost: u64,
    /// Examples of keys behind `empty_skipped` and `stream_metadata_lost`.
    pub lossy_examples: Vec<String>,
    /// The input's version.
    pub source: Option<Version>,
}

struct Shard<W: Write> {
    w: RdbWriter<W>,
    db: Option<u64>,
}

/// Splits the dump held in `decoder` between `outputs` (one per shard of `layout`, in shard
/// order) and returns the outputs, finished (EOF and CRC64 written).
pub fn split<W: Write>(
    decoder: Decoder<'_>,
    layout: &SlotLayout,
    outputs: Vec<W>,
    options: &SplitOptions,
) -> Result<(SplitReport, Vec<W>), SplitError> {
    let mut splitter = Splitter::new(
        layout,
        outputs,
        options,
        decoder.version(),
        decoder.data().len(),
    )?;
    splitter.add(decoder, &Progress::default())?;
    splitter.finish()
}

/// Splits several dumps into the same outputs, one dump after the other ([`Splitter::add`]),
/// as if their keys were in one dump: N shard dumps into M shards, or N dumps into one.
///
/// Aux fields, function libraries and module aux data are taken from the first dump only
/// (every shard of a cluster holds the same functions; a server refuses a library loaded
/// twice). Databases stay as they are. With validation on, a key present in two dumps is a
/// [`SplitError::DuplicateKey`] (Redis 7 refuses to load such a file); the check keeps a
/// 16-byte fingerprint per kept key, as for one dump.
pub struct Splitter<'l, W: Write> {
    layout: &'l SlotLayout,
    options: SplitOptions,
    shards: Vec<Shard<W>>,
    target: Version,
    report: SplitReport,
    seen_keys: FingerprintSet,
    /// Dumps added so far.
    dumps: usize,
    /// Bytes of the dumps added so far (progress).
    bytes_before: u64,
}

impl<'l, W: Write> Splitter<'l, W> {
    /// Outputs for the shards of `layout` (headers written). `first` is the first dump's
    /// version (the output version unless `options.target` says otherwise); `size_hint`
    /// its size in bytes, to size the duplicate check.
    pub fn new(
        layout: &'l SlotLayout,
        outputs: Vec<W>,
        options: &SplitOptions,
        first: Version,
        size_hint: usize,
    ) -> Result<Self, SplitError> {
        let target = options.target.unwrap_or(first);
        let mut shards = Vec::with_capacity(outputs.len());
        for out in outputs {
            shards.push(Shard {
                w: RdbWriter::new(out, target)?,
                db: None,
            });
        }
        let report = SplitReport {
            keys: vec![0; shards.len()],
            bytes: vec![0; shards.len()],
            source: Some(first),
            ..SplitReport::default()
        };
        // Fingerprints of (db, key) written so far: 16 bytes per key. Sized for small keys
        // so a big dump does not rehash a million-entry table many times.
        let seen_keys = FingerprintSet::with_capacity(if options.validate {
            (size_hint / 32).min(1 << 22)
        } else {
            0
        });
        Ok(Splitter {
            layout,
            options: options.clone(),
            shards,
            target,
            report,
            seen_keys,
            dumps: 0,
            bytes_before: 0,
        })
    }

    /// Adds the keys of the dump in `decoder`; counts bytes read and keys written in
    /// `progress`, and stops with [`SplitError::Canceled`] when its `cancel` flag is set.
    pub fn add(&mut self, decoder: Decoder<'_>, progress: &Progress) -> Result<(), SplitError> {
        let (version, data) = (decoder.version(), decoder.data());
        self.add_items(version, data, decoder, progress)
    }

    /// [`add`](Self::add) for the items of a decoder over `data`, a dump of `version`, as
    /// another walk gives them: `DumpFile::items`, which ends at a cut of the file.
    pub fn add_items<'d>(
        &mut self,
        version: Version,
        data: &'d [u8],
        items: impl IntoIterator<Item = rdb_format::Result<Item<'d>>>,
        progress: &Progress,
    ) -> Result<(), SplitError> {
        let first = self.dumps == 0;
        self.dumps += 1;
        let source = version;
        let target = self.target;
        let n = self.shards.len().max(1);
        let filter = &self.options.filter;
        let options = &self.options;
        let report = &mut self.report;
        let shards = &mut self.shards;
        let seen_keys = &mut self.seen_keys;
        let bytes_before = self.bytes_before;
        let mut scratch = Scratch::new();
        let mut value = Vec::new();
        let mut key_buf = Vec::new();
        let mut records = 0u64;
        for item in items {
            match item? {
                Item::Aux { key, value } if first => {
                    let k = key.decode(&scratch)?;
                    if k.to_vec() == b"slot-info" {
                        continue;
                    }
                    for s in shards.iter_mut() {
                        s.w.aux_copy(key, value)?;
                    }
                }
                Item::Function { code } if first && (target.number >= 10 || target.is_valkey()) => {
                    for s in shards.iter_mut() {
                        s.w.function(code)?;
                    }
                }
                Item::ModuleAux { id, when, raw }
                    if first && (target.number >= 9 || target.is_valkey()) =>
                {
                    for s in shards.iter_mut() {
                        s.w.module_aux(id.0, when, raw)?;
                    }
                }
                Item::Record(r) => {
                    records += 1;
                    if records.is_multiple_of(1024) {
                        progress
                            .bytes_done
                            .store(bytes_before + r.offset, Ordering::Relaxed);
                        if progress.cancel.load(Ordering::Relaxed) {
                            return Err(SplitError::Canceled);
                        }
                    }
                    if !filter.matches_metadata(&r) {
                        report.filtered += 1;
                        continue;
                    }
                    let key = r.key.decode(&scratch)?;
                    let key_bytes = key.to_vec();
                    if !filter.matches_key(&key_bytes) {
                        report.filtered += 1;
                        scratch.reset();
                        continue;
                    }
                    let slot = key_slot(&key_bytes);
                    let shard_index = if n == 1 {
                        0
                    } else {
                        self.layout
                            .shard_of(slot)
                            .ok_or_else(|| SplitError::Unowned {
                                key: show_key(&key_bytes),
                                slot,
                            })?
                    };
                    let Some(shard) = shards.get_mut(shard_index) else {
                        return Err(SplitError::Unowned {
                            key: show_key(&key_bytes),
                            slot,
                        });
                    };
                    if options.cluster && r.db != 0 && !options.flatten_dbs {
                        return Err(SplitError::OtherDb {
                            key: show_key(&key_bytes),
                            db: r.db,
                        });
                    }
                    let db = if options.flatten_dbs { 0 } else { r.db };
                    if options.validate {
                        match validate_record(&r, &scratch) {
                            Ok(Verdict::Valid) => {}
                            Ok(Verdict::Empty(t)) => {
                                report.empty_skipped += 1;
                                if report.lossy_examples.len() < 10 {
                                    report.lossy_examples.push(format!(
                                        "{}: empty {}, left out",
                                        show_key(&key_bytes),
                                        t.as_str()
                                    ));
                                }
                                scratch.reset();
                                continue;
                            }
                            Err(source) => {
                                return Err(SplitError::Invalid {
                                    key: show_key(&key_bytes),
                                    source,
                                })
                            }
                            // Verdicts added later are not a reason to leave a key out.
                            Ok(_) => {}
                        }
                        key_buf.clear();
                        key_buf.extend_from_slice(&db.to_le_bytes());
                        key_buf.extend_from_slice(&key_bytes);
                        if !seen_keys.insert(&key_buf) {
                            return Err(SplitError::DuplicateKey {
                                key: show_key(&key_bytes),
                                db,
                                offset: r.offset,
                            });
                        }
                    }
                    if shard.db != Some(db) {
                        shard.w.select_db(db)?;
                        shard.db = Some(db);
                    }
                    if target == source {
                        let start = r.offset as usize;
                        shard.w.raw(&data[start..start + r.len as usize])?;
                        report.copied += 1;
                    } else {
                        // Re-encoding a stream for an older version may drop metadata: say so.
                        if r.data_type() == Type::Stream && !copyable(r.encoding, source, target) {
                            if let Value::Stream(s) = &r.value(&scratch)? {
                                if stream_metadata_lost(s, target)? {
                                    report.stream_metadata_lost += 1;
                                    if report.lossy_examples.len() < 10 {
                                        report.lossy_examples.push(format!(
                                            "{}: stream metadata (max deleted id, entries \
                                             added, consumer groups' entries read) dropped",
                                            show_key(&key_bytes)
                                        ));
                                    }
                                }
                            }
                        }
                        match transcode(&r, &scratch, source, target, &mut value) {
                            Ok(t) => {
                                shard.w.record_copy(
                                    r.key,
                                    r.expire_ms,
                                    r.idle,
                                    r.freq,
                                    t.type_byte,
                                    t.bytes,
                                )?;
                                match t.conversion {
                                    Conversion::Copied => report.copied += 1,
                                    _ => report.reencoded += 1,
                                }
                            }
                            Err(e @ EncodeError::Unsupported { .. }) => {
                                match options.on_unsupported {
                                    OnUnsupported::Fail => {
                                        return Err(SplitError::Unsupported {
                                            key: show_key(&key_bytes),
                                            source: e,
                                        })
                                    }
                                    OnUnsupported::Skip => {
                                        report.unsupported += 1;
                                        if report.unsupported_examples.len() < 10 {
                                            report
                                                .unsupported_examples
                                                .push(format!("{}: {e}", show_key(&key_bytes)));
                                        }
                                        scratch.reset();
                                        continue;
                                    }
                                }
                            }
                            Err(EncodeError::Decode(e)) => return Err(SplitError::Decode(e)),
                            Err(e) => return Err(e.into()),
                        }
                    }
                    report.keys[shard_index] += 1;
                    progress.keys_done.fetch_add(1, Ordering::Relaxed);
                    scratch.reset();
                }
                Item::Eof(_) => break,
                // Slot hints and import jobs describe the source's slots; Redis 7.0
                // release-candidate functions cannot be loaded by any GA server; aux
                // fields, functions and module data of later dumps repeat the first's.
                _ => {}
            }
        }
        self.bytes_before += data.len() as u64;
        progress
            .bytes_done
            .store(self.bytes_before, Ordering::Relaxed);
        Ok(())
    }

    /// Finishes the outputs (EOF and CRC64 written) and returns them with the report.
    pub fn finish(self) -> Result<(SplitReport, Vec<W>), SplitError> {
        let mut report = self.report;
        let mut outs = Vec::with_capacity(self.shards.len());
        let trailer = 1 + if self.target.has_checksum() { 8 } else { 0 };
        for (i, s) in self.shards.into_iter().enumerate() {
            report.bytes[i] = s.w.position() + trailer;
            outs.push(s.w.finish()?);
        }
        Ok((report, outs))
    }
}
