//! Part files follow tables, not chunks: the same files whatever the chunk size or thread
//! count, and a part rolls over to the next at `part_bytes`, losing no row.
#![cfg(feature = "parquet")]

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};
use rdb_export::parquet::{ParquetOptions, ParquetSink, PartFile};
use rdb_pipeline::pipeline::{run, PipelineOptions, Progress};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/corpus")
        .join(name)
}

/// Runs a Parquet export of `dumps` on `threads` threads; returns the part files with their
/// bytes, and the directory (removed by the caller).
fn export(
    dumps: &[PathBuf],
    chunk_bytes: u64,
    threads: usize,
    options: ParquetOptions,
    tag: &str,
) -> (Vec<PartFile>, BTreeMap<String, Vec<u8>>, PathBuf) {
    let dir = std::env::temp_dir().join(format!("rdb-parts-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sink = ParquetSink::new(&dir, options);
    let pipeline = PipelineOptions {
        chunk_bytes,
        ..PipelineOptions::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| run(dumps, &pipeline, &sink, &Progress::default()))
        .unwrap();
    let files = sink.files();
    let bytes = files
        .iter()
        .map(|f| {
            let data = std::fs::read(dir.join(f.staged_name())).unwrap();
            assert_eq!(data.len() as u64, f.bytes, "{}", f.path);
            (f.path.clone(), data)
        })
        .collect();
    (files, bytes, dir)
}

fn rows_in(path: &Path) -> (u64, usize) {
    let r = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
    let meta = r.metadata();
    (
        meta.file_metadata().num_rows() as u64,
        meta.num_row_groups(),
    )
}

fn rows_per_table(files: &[PartFile]) -> BTreeMap<&'static str, u64> {
    let mut rows = BTreeMap::new();
    for f in files {
        *rows.entry(f.table).or_default() += f.rows;
    }
    rows
}

#[test]
fn same_files_whatever_the_chunks_and_threads() {
    let dumps = [
        corpus("redis-rdb-cli/all.rdb"),
        corpus("redis-rdb-cli/12.rdb"),
    ];
    let (whole, whole_bytes, d1) = export(&dumps, 64 << 20, 1, ParquetOptions::default(), "a");
    let (small, small_bytes, d2) = export(&dumps, 4096, 2, ParquetOptions::default(), "b");
    let (_, small1_bytes, d3) = export(&dumps, 4096, 1, ParquetOptions::default(), "c");
    // One part per table and database of each dump, however many chunks it was cut into.
    let names = |f: &[PartFile]| f.iter().map(|f| f.path.clone()).collect::<Vec<_>>();
    assert_eq!(names(&whole), names(&small));
    // (These dumps select databases again: 0, 1, 0, 2, 0 — each run of a database its parts.)
    let mut unique = names(&whole);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), whole.len());
    assert_eq!(rows_per_table(&whole), rows_per_table(&small));
    // Small chunks: more row groups, each row counted once.
    for f in &small {
        let (rows, groups) = rows_in(&d2.join(f.staged_name()));
        assert_eq!(rows, f.rows, "{}", f.path);
        assert!(groups >= 1);
    }
    // Byte for byte the same on one thread as on two.
    assert_eq!(small_bytes, small1_bytes);
    drop(whole_bytes);
    for d in [d1, d2, d3] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn parts_roll_over_at_part_bytes() {
    let dumps = [corpus("redis-rdb-cli/all.rdb")];
    let (one, _, d1) = export(&dumps, 4096, 2, ParquetOptions::default(), "d");
    let rolled = ParquetOptions {
        part_bytes: 1,
        ..ParquetOptions::default()
    };
    let (many, _, d2) = export(&dumps, 4096, 2, rolled, "e");
    assert!(many.len() > one.len(), "{} vs {}", many.len(), one.len());
    assert_eq!(rows_per_table(&one), rows_per_table(&many));
    // Every part full after one row group: one group per file, numbered from 0 per table.
    let mut next: BTreeMap<String, u32> = BTreeMap::new();
    let mut paths: Vec<&PartFile> = many.iter().collect();
    paths.sort_by(|a, b| a.path.cmp(&b.path));
    for f in paths {
        let (rows, groups) = rows_in(&d2.join(f.staged_name()));
        assert_eq!((rows, groups), (f.rows, 1), "{}", f.path);
        let (dir, name) = f.path.rsplit_once('/').unwrap();
        let n: u32 = name
            .trim_end_matches(".parquet")
            .rsplit('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let want = next.entry(dir.to_string()).or_default();
        assert_eq!(n, *want, "{}", f.path);
        *want += 1;
    }
    for d in [d1, d2] {
        let _ = std::fs::remove_dir_all(d);
    }
}
