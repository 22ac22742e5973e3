//! The Arrow tables against the Parquet export's, row by row, over the test corpus.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rdb_pipeline::pipeline::{self, PipelineError, PipelineOptions, Progress};

use super::*;
use crate::parquet::{ParquetOptions, ParquetSink};

fn testdata() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata"))
}

/// Every dump of the corpus that the pipeline reads without error.
fn corpus() -> Vec<PathBuf> {
    let mut dirs = vec![testdata()];
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
    dumps
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rdb-arrow-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The rows of a batch, one-row slices, each with its database (None for `meta`).
fn rows(batches: &[RecordBatch]) -> Vec<RecordBatch> {
    batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |i| b.slice(i, 1)))
        .collect()
}

/// The Parquet export of `dump`: per table and database, the rows in file order.
fn parquet_rows(dump: &Path, dir: &PathBuf) -> Option<BTreeMap<(String, u64), Vec<RecordBatch>>> {
    let sink = ParquetSink::new(dir, ParquetOptions::default());
    let options = PipelineOptions {
        chunk_bytes: 1000,
        ..PipelineOptions::default()
    };
    pipeline::run(&[dump.to_path_buf()], &options, &sink, &Progress::default()).ok()?;
    let mut tables: BTreeMap<(String, u64), Vec<RecordBatch>> = BTreeMap::new();
    let mut files = sink.files();
    // A chunk's further parts (`...-00003-1.parquet`) come after its first (`...-00003`).
    files.sort_by(|a, b| {
        a.path
            .trim_end_matches(".parquet")
            .cmp(b.path.trim_end_matches(".parquet"))
    });
    for f in files {
        let db = f
            .path
            .split('/')
            .find_map(|p| p.strip_prefix("db="))
            .map_or(0, |n| n.parse().unwrap());
        let reader = ParquetRecordBatchReaderBuilder::try_new(
            File::open(dir.join(f.staged_name())).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        tables
            .entry((f.table.to_string(), db))
            .or_default()
            .extend(rows(&batches));
    }
    let _ = std::fs::remove_dir_all(dir);
    Some(tables)
}

/// `table`'s rows per database (the `db` column checked and dropped).
fn arrow_rows(batches: &[RecordBatch], table: Table) -> BTreeMap<(String, u64), Vec<RecordBatch>> {
    let mut tables: BTreeMap<(String, u64), Vec<RecordBatch>> = BTreeMap::new();
    for b in batches {
        assert_eq!(b.schema(), schema(table));
        let (db, b) = if table == Table::Meta {
            (0, b.clone())
        } else {
            let dbs = b
                .column(b.num_columns() - 1)
                .as_any()
                .downcast_ref::<arrow_array::Int64Array>()
                .unwrap();
            let db = dbs.value(0);
            assert!(dbs.iter().all(|d| d == Some(db)), "a batch of one database");
            let mut b = b.clone();
            b.remove_column(b.num_columns() - 1);
            (db as u64, b)
        };
        tables
            .entry((table.name().to_string(), db))
            .or_default()
            .extend(rows(&[b]));
    }
    tables
}

fn same_rows(a: &[RecordBatch], b: &[RecordBatch], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: rows");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.num_columns(), y.num_columns(), "{what}");
        for c in 0..x.num_columns() {
            assert!(
                x.column(c).to_data() == y.column(c).to_data(),
                "{what}: row {i}, column {}: {:?} vs {:?}",
                x.schema().field(c).name(),
                x.column(c).to_data(),
                y.column(c).to_data()
            );
        }
    }
}

fn collect(reader: TableReader) -> Result<Vec<RecordBatch>, PipelineError> {
    reader.collect()
}

#[test]
fn every_table_equals_the_parquet_export() {
    let options = PipelineOptions {
        chunk_bytes: 1000,
        ..PipelineOptions::default()
    };
    let arrow = ArrowOptions {
        // Small batches: many cuts, and databases changing inside chunks.
        batch_bytes: 300,
    };
    let mut compared = 0;
    let mut rows_seen = 0;
    for dump in corpus() {
        let Some(parquet) = parquet_rows(&dump, &tmp("parquet")) else {
            continue;
        };
        for table in Table::ALL {
            let batches =
                collect(read(std::slice::from_ref(&dump), table, &options, &arrow)).unwrap();
            let got = arrow_rows(&batches, table);
            let want: BTreeMap<_, _> = parquet
                .iter()
                .filter(|((t, _), _)| t == table.name())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>(),
                "{}: {table:?}",
                dump.display()
            );
            for (k, rows) in &want {
                rows_seen += rows.len();
                same_rows(&got[k], rows, &format!("{}: {k:?}", dump.display()));
            }
        }
        compared += 1;
    }
    assert!(compared > 50, "{compared} dumps");
    assert!(rows_seen > 10_000, "{rows_seen} rows");
}

#[test]
fn the_splits_of_a_plan_read_what_the_dump_reads() {
    let options = PipelineOptions {
        chunk_bytes: 700,
        ..PipelineOptions::default()
    };
    let arrow = ArrowOptions::default();
    let dumps: Vec<PathBuf> = corpus()
        .into_iter()
        .filter(|d| collect(read(std::slice::from_ref(d), Table::Keys, &options, &arrow)).is_ok())
        .collect();
    let splits = plan(&dumps, &options).unwrap();
    assert!(splits.len() > dumps.len(), "several splits in some dumps");
    for table in [Table::Keys, Table::Hashes, Table::Streams, Table::Meta] {
        let whole = collect(read(&dumps, table, &options, &arrow)).unwrap();
        let mut parts = Vec::new();
        for split in &splits {
            let shipped = Split::from_json(&split.to_json()).unwrap();
            assert_eq!(&shipped, split);
            parts.extend(collect(read_split(&shipped, table, &options, &arrow)).unwrap());
        }
        same_rows(&rows(&whole), &rows(&parts), table.name());
    }
}

#[test]
fn the_filter_applies() {
    let dump = testdata().join("sample.rdb");
    let all = collect(read(
        std::slice::from_ref(&dump),
        Table::Keys,
        &PipelineOptions::default(),
        &ArrowOptions::default(),
    ))
    .unwrap();
    let options = PipelineOptions {
        filter: rdb_pipeline::filter::Filter {
            key_glob: Some(b"user:*".to_vec()),
            ..Default::default()
        },
        ..PipelineOptions::default()
    };
    let kept = collect(read(
        std::slice::from_ref(&dump),
        Table::Keys,
        &options,
        &ArrowOptions::default(),
    ))
    .unwrap();
    let count = |b: &[RecordBatch]| b.iter().map(|b| b.num_rows()).sum::<usize>();
    assert!(count(&kept) > 0 && count(&kept) < count(&all));
    let split_rows: usize = plan(&[dump], &options)
        .unwrap()
        .iter()
        .map(|s| {
            count(
                &collect(read_split(
                    s,
                    Table::Keys,
                    &options,
                    &ArrowOptions::default(),
                ))
                .unwrap(),
            )
        })
        .sum();
    assert_eq!(split_rows, count(&kept));
}

#[test]
fn a_damaged_dump_fails_with_its_offset() {
    let dump = std::fs::read(testdata().join("sample.rdb")).unwrap();
    let dir = tmp("damaged");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cut.rdb");
    std::fs::write(&path, &dump[..dump.len() / 2]).unwrap();
    let e = collect(read(
        std::slice::from_ref(&path),
        Table::Keys,
        &PipelineOptions::default(),
        &ArrowOptions::default(),
    ))
    .unwrap_err();
    assert!(matches!(e, PipelineError::Decode { .. }), "{e}");
    assert!(
        e.to_string().contains("cut.rdb") && e.to_string().contains("offset"),
        "{e}"
    );
    let e = plan(&[path], &PipelineOptions::default()).unwrap_err();
    assert!(matches!(e, PipelineError::Decode { .. }), "{e}");
    let missing = read(
        &[dir.join("missing.rdb")],
        Table::Keys,
        &PipelineOptions::default(),
        &ArrowOptions::default(),
    );
    assert!(matches!(collect(missing), Err(PipelineError::Open { .. })));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_split_of_another_dump_or_malformed_is_refused() {
    let dump = testdata().join("sample.rdb");
    let mut split = plan(&[dump], &PipelineOptions::default()).unwrap()[0].clone();
    split.size += 1;
    let e = collect(read_split(
        &split,
        Table::Keys,
        &PipelineOptions::default(),
        &ArrowOptions::default(),
    ));
    assert!(matches!(e, Err(PipelineError::Open { .. })));
    assert!(Split::from_json("{}").is_err());
    assert!(Split::from_json(
        r#"{"path":"a","input":0,"chunk":0,"start":9,"end":5,"db":0,"size":10}"#
    )
    .is_err());
}

#[test]
fn an_ipc_stream_holds_the_batches() {
    let dump = testdata().join("sample.rdb");
    let options = PipelineOptions::default();
    let sink = IpcStreamSink::new(Vec::new(), Table::Hashes, ArrowOptions::default()).unwrap();
    pipeline::run(
        std::slice::from_ref(&dump),
        &options,
        &sink,
        &Progress::default(),
    )
    .unwrap();
    let bytes = sink.finish().unwrap();
    let stream = arrow_ipc::reader::StreamReader::try_new(&bytes[..], None).unwrap();
    assert_eq!(stream.schema(), schema(Table::Hashes));
    let read_back: Vec<RecordBatch> = stream.map(|b| b.unwrap()).collect();
    let direct = collect(read(
        &[dump],
        Table::Hashes,
        &options,
        &ArrowOptions::default(),
    ))
    .unwrap();
    assert!(!direct.is_empty());
    same_rows(&rows(&read_back), &rows(&direct), "hashes");
}

#[test]
fn a_reader_dropped_early_stops() {
    let dumps = vec![testdata().join("sample.rdb"); 50];
    let options = PipelineOptions {
        chunk_bytes: 100,
        ..PipelineOptions::default()
    };
    let mut reader = read(
        &dumps,
        Table::Keys,
        &options,
        &ArrowOptions { batch_bytes: 100 },
    );
    assert!(reader.next().unwrap().is_ok());
    drop(reader);
    let batches: Vec<_> = read(&dumps[..1], Table::Keys, &options, &ArrowOptions::default())
        .into_arrow()
        .collect();
    assert!(batches.iter().all(Result::is_ok));
}
