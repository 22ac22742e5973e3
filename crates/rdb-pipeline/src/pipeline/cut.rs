//! The chunks of one dump, without running it: for callers that hand chunks to other
//! processes or machines (a plan of splits) instead of to this pipeline's threads.

use rdb_format::{Decoder, DecoderOptions, Item, Version};

/// A chunk's place in its dump: the byte range and the database selected at its start, all
/// a decoder needs to resume there ([`rdb_format::Resume`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkRange {
    /// Chunk number within the file, from 0.
    pub index: u64,
    /// First byte.
    pub start: u64,
    /// Past the last byte.
    pub end: u64,
    /// Database selected at `start`.
    pub db: u64,
}

/// Cuts a dump's bytes into the chunks [`super::run`] makes of it with the same
/// `chunk_bytes`: record boundaries found by the scan that skips values, a chunk ending once
/// it holds `chunk_bytes` (the last one at the EOF opcode). Returns the dump's version too.
/// The checksum is not verified (that needs every chunk's bytes). `cut_at` is asked before
/// each item with its offset, and its error ends the scan (`DumpFile::cut_at`: a file cut
/// while read, whose zeros would otherwise be scanned to the end of the map).
pub fn cut(
    data: &[u8],
    options: DecoderOptions,
    chunk_bytes: u64,
    cut_at: &dyn Fn(u64) -> Option<rdb_format::Error>,
) -> rdb_format::Result<(Version, Vec<ChunkRange>)> {
    let options = DecoderOptions {
        verify_checksum: false,
        ..options
    };
    let chunk_bytes = chunk_bytes.max(1);
    let mut scan = Decoder::with_options(data, options)?;
    let version = scan.version();
    let mut chunks = Vec::new();
    let mut start = scan.position();
    let mut start_db = 0;
    loop {
        if let Some(e) = cut_at(scan.position()) {
            return Err(e);
        }
        let item = scan.next_item()?;
        let at = scan.position();
        let eof = match item {
            Some(Item::Eof(e)) => Some(e),
            Some(_) => None,
            None => {
                return Err(rdb_format::Error::new(
                    at,
                    "dump",
                    rdb_format::ErrorKind::Truncated,
                ))
            }
        };
        // The EOF opcode and checksum belong to no chunk.
        let chunk_end = eof.map_or(at, |e| e.offset);
        if chunk_end > start && (eof.is_some() || chunk_end - start >= chunk_bytes) {
            chunks.push(ChunkRange {
                index: chunks.len() as u64,
                start,
                end: chunk_end,
                db: start_db,
            });
            start = chunk_end;
            start_db = scan.db();
        }
        if eof.is_some() {
            return Ok((version, chunks));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Mutex;

    use super::*;
    use crate::pipeline::{run, Chunk, FileInfo, PipelineOptions, Progress, Sink, SinkError};

    /// Records the chunks the pipeline hands to a sink.
    struct Chunks(Mutex<Vec<ChunkRange>>);

    impl Sink for Chunks {
        type File = ();
        type Part = ();
        type Error = std::convert::Infallible;

        fn begin_file(&self, _: &FileInfo, _: &[u8]) -> Result<(), SinkError<Self::Error>> {
            Ok(())
        }

        fn process<'a>(
            &self,
            _: &(),
            _: &Chunk,
            items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
            _: &mut rdb_format::Scratch,
        ) -> Result<(), SinkError<Self::Error>> {
            for item in items {
                item?;
            }
            Ok(())
        }

        fn commit(&self, _: &(), c: &Chunk, _: ()) -> Result<(), Self::Error> {
            self.0.lock().unwrap().push(ChunkRange {
                index: c.index,
                start: c.start,
                end: c.end,
                db: c.db,
            });
            Ok(())
        }
    }

    #[test]
    fn cuts_the_chunks_the_pipeline_makes() {
        let mut dirs = vec![PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata"
        ))];
        let mut dumps = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rdb") {
                    dumps.push(path);
                }
            }
        }
        dumps.sort();
        let mut compared = 0;
        for chunk_bytes in [1, 100, 4096] {
            for dump in &dumps {
                let data = std::fs::read(dump).unwrap();
                let Ok((_, cut)) = cut(&data, DecoderOptions::default(), chunk_bytes, &|_| None)
                else {
                    continue;
                };
                let sink = Chunks(Mutex::new(Vec::new()));
                let options = PipelineOptions {
                    chunk_bytes,
                    ..PipelineOptions::default()
                };
                if run(
                    std::slice::from_ref(dump),
                    &options,
                    &sink,
                    &Progress::default(),
                )
                .is_err()
                {
                    continue;
                }
                assert_eq!(cut, sink.0.into_inner().unwrap(), "{}", dump.display());
                compared += 1;
            }
        }
        assert!(compared > 50, "{compared} dumps compared");
    }
}

#[cfg(test)]
mod cut_tests {
    use super::*;

    /// A cut of the file, reported by `cut_at`, ends the scan with its error at once.
    #[test]
    fn stops_where_the_file_was_cut() {
        let mut dump = b"REDIS0011".to_vec();
        for i in 0..1000u32 {
            let key = format!("k{i:04}");
            dump.extend_from_slice(&[0, key.len() as u8]);
            dump.extend_from_slice(key.as_bytes());
            dump.extend_from_slice(&[1, b'v']);
        }
        dump.push(0xff);
        dump.extend_from_slice(&[0; 8]);
        let whole = cut(&dump, DecoderOptions::default(), 100, &|_| None).unwrap();
        assert!(whole.1.len() > 10);
        let asked = std::cell::Cell::new(0);
        let stop = |at: u64| {
            asked.set(asked.get() + 1);
            (at >= 500)
                .then(|| rdb_format::Error::new(at, "dump", rdb_format::ErrorKind::Truncated))
        };
        let e = cut(&dump, DecoderOptions::default(), 100, &stop).unwrap_err();
        assert!(matches!(e.kind, rdb_format::ErrorKind::Truncated));
        assert!((500..520).contains(&e.offset), "{}", e.offset);
        assert!(asked.get() < 100);
    }
}
