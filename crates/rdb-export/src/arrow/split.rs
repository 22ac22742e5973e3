//! Plans: dumps cut into record-aligned byte ranges that separate workers read on their own.

use std::path::{Path, PathBuf};

use rdb_format::{Decoder, DecoderOptions, DumpFile, Item, Resume, Scratch, Version};
use rdb_pipeline::filter::Filter;
use rdb_pipeline::pipeline::{cut, PipelineError, PipelineOptions};
use serde_json::{json, Value};

/// Bytes of a split that [`plan`] callers may want: the Parquet export's chunk size, so a
/// plan's splits are the chunks (and part names) of `rdb-convert --format parquet`.
pub const SPLIT_BYTES: u64 = 32 << 20;

/// A record-aligned byte range of one dump: all a worker needs to read its rows
/// ([`super::read_split`]). Sent to other processes as JSON ([`Split::to_json`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// The dump.
    pub path: PathBuf,
    /// The dump's position in the planned list (names its part files).
    pub input: usize,
    /// Split number within the dump, from 0.
    pub chunk: u64,
    /// First byte.
    pub start: u64,
    /// Past the last byte.
    pub end: u64,
    /// Database selected at `start`.
    pub db: u64,
    /// The dump's size when planned: a dump of another size is another dump.
    pub size: u64,
}

/// A split that could not be read back from JSON.
#[derive(Debug, thiserror::Error)]
#[error("not a split: {0}")]
pub struct SplitError(String);

impl Split {
    /// The split as a JSON object (`path` must be UTF-8: [`plan`] checks it).
    pub fn to_json(&self) -> String {
        json!({
            "path": self.path.to_string_lossy(),
            "input": self.input,
            "chunk": self.chunk,
            "start": self.start,
            "end": self.end,
            "db": self.db,
            "size": self.size,
        })
        .to_string()
    }

    /// The split of [`Split::to_json`]'s text.
    pub fn from_json(text: &str) -> Result<Split, SplitError> {
        let v: Value = serde_json::from_str(text).map_err(|e| SplitError(e.to_string()))?;
        let number = |name: &str| {
            v.get(name)
                .and_then(Value::as_u64)
                .ok_or_else(|| SplitError(format!("no number {name:?}")))
        };
        let path = v
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| SplitError("no string \"path\"".into()))?;
        let split = Split {
            path: path.into(),
            input: usize::try_from(number("input")?)
                .map_err(|_| SplitError("\"input\" too big".into()))?,
            chunk: number("chunk")?,
            start: number("start")?,
            end: number("end")?,
            db: number("db")?,
            size: number("size")?,
        };
        if split.start > split.end || split.end > split.size {
            return Err(SplitError(format!(
                "bytes {}..{} of a {}-byte dump",
                split.start, split.end, split.size
            )));
        }
        Ok(split)
    }
}

/// Cuts `files` into splits of about `options.chunk_bytes` (the pipeline's chunks: the
/// scan that skips values, no value decoded), in order: each file's splits, file by file.
/// Reading every split gives every row of the dumps once ([`super::read`]'s batches, in
/// the same order). The checksum is not verified (each split is read alone).
pub fn plan(files: &[PathBuf], options: &PipelineOptions) -> Result<Vec<Split>, PipelineError> {
    let mut splits = Vec::new();
    for (input, path) in files.iter().enumerate() {
        let open_error = |error| PipelineError::Open {
            path: path.clone(),
            error,
        };
        if path.to_str().is_none() {
            return Err(open_error(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a split's path must be UTF-8",
            )));
        }
        let dump = DumpFile::open(path).map_err(open_error)?;
        let size = dump.data().len() as u64;
        let (_, chunks) = cut(dump.data(), options.decoder, options.chunk_bytes, &|at| {
            dump.cut_at(at)
        })
        .map_err(|error| decode_error(&dump, path, error))?;
        dump.verify().map_err(open_error)?;
        splits.extend(chunks.into_iter().map(|c| Split {
            path: path.clone(),
            input,
            chunk: c.index,
            start: c.start,
            end: c.end,
            db: c.db,
            size,
        }));
    }
    Ok(splits)
}

/// A split's dump, opened to read the split's byte range (what every reader of a split
/// does first: [`super::read_split`], the export's `write_split`).
pub(crate) struct OpenSplit {
    pub(crate) dump: DumpFile,
    pub(crate) version: Version,
    /// The run's decoder settings without the checksum: a split is part of the dump (the
    /// whole file's checksum is checked apart, if at all).
    pub(crate) options: DecoderOptions,
}

impl Split {
    /// Opens the dump, checks that it is the one planned (its size) and reads its version.
    /// Errors name `shown`.
    pub(crate) fn open(
        &self,
        shown: &Path,
        options: DecoderOptions,
    ) -> Result<OpenSplit, PipelineError> {
        let open_error = |error| PipelineError::Open {
            path: shown.to_path_buf(),
            error,
        };
        let dump = DumpFile::open(&self.path).map_err(open_error)?;
        let data = dump.data();
        if data.len() as u64 != self.size {
            return Err(open_error(std::io::Error::other(format!(
                "is not the dump that was planned ({} bytes, was {})",
                data.len(),
                self.size
            ))));
        }
        let options = DecoderOptions {
            verify_checksum: false,
            ..options
        };
        let version = Decoder::with_options(data, options)
            .map_err(|e| decode_error(&dump, shown, e))?
            .version();
        Ok(OpenSplit {
            dump,
            version,
            options,
        })
    }
}

/// Keys a split's filtered walk kept and skipped.
#[derive(Default)]
pub(crate) struct KeyCounts {
    pub(crate) kept: u64,
    pub(crate) skipped: u64,
}

impl OpenSplit {
    /// The items of `split`'s byte range, records that `filter` does not keep left out and
    /// counted in `counts`.
    pub(crate) fn kept_items<'a>(
        &'a self,
        split: &Split,
        filter: &'a Filter,
        counts: &'a mut KeyCounts,
    ) -> impl Iterator<Item = rdb_format::Result<Item<'a>>> + 'a {
        let at = Resume {
            version: self.version,
            start: split.start,
            end: split.end,
            db: split.db,
        };
        let mut decoder = Decoder::resume(self.dump.data(), at, self.options);
        let (mut key_scratch, mut key) = (Scratch::new(), Vec::new());
        std::iter::from_fn(move || loop {
            if let Some(e) = self.dump.cut_at(decoder.position()) {
                return Some(Err(e));
            }
            let item = match decoder.next_item() {
                Ok(Some(item)) => item,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            if let Item::Record(r) = &item {
                key_scratch.reset();
                match filter.keep(r, &key_scratch, &mut key) {
                    Ok(true) => counts.kept += 1,
                    Ok(false) => {
                        counts.skipped += 1;
                        continue;
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
            return Some(Ok(item));
        })
    }
}

/// A decoding error, or the cut of the file that caused it.
pub(crate) fn decode_error(
    dump: &DumpFile,
    path: &Path,
    error: rdb_format::Error,
) -> PipelineError {
    match dump.verify() {
        Err(error) => PipelineError::Open {
            path: path.to_path_buf(),
            error,
        },
        Ok(()) => PipelineError::Decode {
            path: path.to_path_buf(),
            error,
        },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An RDB 9 dump of `keys` short strings (no checksum).
    pub(crate) fn dump(keys: usize) -> Vec<u8> {
        let mut b = b"REDIS0009".to_vec();
        b.extend_from_slice(&[0xFE, 0x00]);
        for i in 0..keys {
            let key = format!("k{i}");
            b.extend_from_slice(&[0x00, key.len() as u8]);
            b.extend_from_slice(key.as_bytes());
            b.extend_from_slice(&[4, b'v', b'v', b'v', b'v']);
        }
        b.push(0xFF);
        b.extend_from_slice(&[0; 8]);
        b
    }

    #[test]
    fn a_walk_of_a_cut_dump_stops_at_the_cut() {
        let path = std::env::temp_dir().join(format!("rdb-split-cut-{}.rdb", std::process::id()));
        std::fs::write(&path, dump(20_000)).unwrap();
        let options = PipelineOptions::default();
        let splits = plan(std::slice::from_ref(&path), &options).unwrap();
        let open = splits[0].open(&path, options.decoder).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        let mut counts = KeyCounts::default();
        let mut records = 0;
        let mut end = None;
        for item in open.kept_items(&splits[0], &options.filter, &mut counts) {
            match item {
                Ok(_) => records += 1,
                Err(e) => {
                    end = Some(e);
                    break;
                }
            }
        }
        std::fs::remove_file(&path).unwrap();
        // The read that meets the cut may still yield one record of zeros; the next one stops.
        assert!(records <= 1, "{records} records read past the cut");
        assert!(end.is_some(), "the walk ended without an error");
        assert!(open.dump.verify().is_err());
    }
}
