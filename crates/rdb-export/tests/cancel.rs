//! A canceled Parquet export leaves no part file behind.
#![cfg(feature = "parquet")]

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use rdb_export::parquet::{ParquetOptions, ParquetSink};
use rdb_format::{Item, Scratch};
use rdb_pipeline::pipeline::{
    run, Chunk, FileInfo, PipelineError, PipelineOptions, Progress, Sink, SinkError,
};

/// Cancels the run once the first chunk has committed.
struct CancelAfterFirst<'p> {
    inner: ParquetSink,
    progress: &'p Progress,
}

type Inner = ParquetSink;

impl Sink for CancelAfterFirst<'_> {
    type File = <Inner as Sink>::File;
    type Part = <Inner as Sink>::Part;
    type Error = <Inner as Sink>::Error;
    fn begin_file(
        &self,
        file: &FileInfo,
        data: &[u8],
    ) -> Result<Self::File, SinkError<Self::Error>> {
        self.inner.begin_file(file, data)
    }
    fn process<'a>(
        &self,
        state: &Self::File,
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Self::Part, SinkError<Self::Error>> {
        self.inner.process(state, chunk, items, scratch)
    }
    fn commit(
        &self,
        state: &Self::File,
        chunk: &Chunk,
        part: Self::Part,
    ) -> Result<(), Self::Error> {
        self.inner.commit(state, chunk, part)?;
        self.progress.cancel.store(true, Ordering::Relaxed);
        Ok(())
    }
    fn abort(&self) {
        self.inner.abort()
    }
}

fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn cancel_removes_every_part_file() {
    let dump = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/corpus/redis-rdb-cli/all.rdb");
    let dir = std::env::temp_dir().join(format!("rdb-cancel-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let progress = Progress::default();
    let sink = CancelAfterFirst {
        inner: ParquetSink::new(&dir, ParquetOptions::default()),
        progress: &progress,
    };
    let options = PipelineOptions {
        chunk_bytes: 4096,
        ..PipelineOptions::default()
    };
    let r = run(&[dump], &options, &sink, &progress);
    assert!(matches!(r, Err(PipelineError::Canceled)), "{r:?}");
    assert!(
        files_under(&dir).is_empty(),
        "left behind: {:?}",
        files_under(&dir)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
