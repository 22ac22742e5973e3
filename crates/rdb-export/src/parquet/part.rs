//! The commit side of the sink: the row groups workers encoded ([`super::encode`]) appended,
//! in chunk order, to one part file per table and database of a dump, which rolls over to
//! the next part once it holds [`super::ParquetOptions::part_bytes`]. Appending copies
//! finished pages, so the one thread that commits is never the bottleneck; and since row
//! groups depend only on the chunks, the files are the same whatever the thread count.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use parquet::arrow::ArrowWriter;
use parquet::file::writer::SerializedFileWriter;
use rdb_pipeline::pipeline::FileInfo;
use rdb_pipeline::write_behind::WriteBehind;

use super::encode::{Encodings, RowGroup};
use super::schema::Table;
use super::{ParquetSink, PartFile, Result};

/// Bytes of a dump's file stem kept in part names (a file name has at most 255).
const STEM_BYTES: usize = 100;

/// What the sink keeps per dump: its part files being written.
pub struct DumpParts {
    pub(super) encodings: Arc<Encodings>,
    index: usize,
    stem: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Open parts: the meta table's and those of one database. A dump's databases come
    /// one after another, so the parts of a database are closed when the next begins: open
    /// files stay bounded whatever the number of databases (a database selected again
    /// later gets a further part).
    open: Vec<OpenPart>,
    db: Option<u64>,
    /// Parts started per table and database.
    started: HashMap<(Table, u64), u32>,
}

struct OpenPart {
    table: Table,
    db: u64,
    writer: SerializedFileWriter<WriteBehind>,
    staged: PathBuf,
    file: PartFile,
}

impl DumpParts {
    pub(super) fn new(encodings: Arc<Encodings>, info: &FileInfo) -> Self {
        let mut stem = info.stem.as_str();
        if stem.len() > STEM_BYTES {
            let mut end = STEM_BYTES;
            while !stem.is_char_boundary(end) {
                end -= 1;
            }
            stem = &stem[..end];
        }
        DumpParts {
            encodings,
            index: info.index,
            stem: stem.to_string(),
            state: Mutex::new(State::default()),
        }
    }

    /// Appends a chunk's row groups; returns the part files that are complete (full, or of a
    /// database that ended).
    pub(super) fn append(
        &self,
        sink: &ParquetSink,
        groups: Vec<RowGroup>,
    ) -> Result<Vec<PartFile>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut full = Vec::new();
        for group in groups {
            if group.table != Table::Meta && state.db != Some(group.db) {
                state.db = Some(group.db);
                let (keep, done): (Vec<_>, Vec<_>) = std::mem::take(&mut state.open)
                    .into_iter()
                    .partition(|p| p.table == Table::Meta);
                state.open = keep;
                let mut done = done.into_iter().map(close).collect::<Result<Vec<_>>>()?;
                done.sort_by(|a, b| a.path.cmp(&b.path));
                full.extend(done);
            }
            let at = match state
                .open
                .iter()
                .position(|p| p.table == group.table && p.db == group.db)
            {
                Some(at) => at,
                None => {
                    let part = self.open(sink, &mut state, group.table, group.db)?;
                    state.open.push(part);
                    state.open.len() - 1
                }
            };
            let part = &mut state.open[at];
            let err = |e| ParquetSink::parquet_err(&part.staged, e);
            let mut row_group = part.writer.next_row_group().map_err(err)?;
            for column in group.columns {
                column
                    .append_to_row_group(&mut row_group)
                    .map_err(|e| ParquetSink::parquet_err(&part.staged, e))?;
            }
            row_group
                .close()
                .map_err(|e| ParquetSink::parquet_err(&part.staged, e))?;
            part.file.rows += group.rows;
            if part.writer.bytes_written() as u64 >= sink.options.part_bytes {
                let part = state.open.remove(at);
                full.push(close(part)?);
            }
        }
        Ok(full)
    }

    /// Closes every part file of the dump, in path order.
    pub(super) fn finish(self) -> Result<Vec<PartFile>> {
        let state = self.state.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut files = state
            .open
            .into_iter()
            .map(close)
            .collect::<Result<Vec<_>>>()?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    fn open(
        &self,
        sink: &ParquetSink,
        state: &mut State,
        table: Table,
        db: u64,
    ) -> Result<OpenPart> {
        let n = state.started.entry((table, db)).or_insert(0);
        let name = format!("part-{:04}-{}-{:05}", self.index, self.stem, *n);
        *n += 1;
        let path = match table {
            Table::Meta => format!("meta/{name}.parquet"),
            _ => format!("{}/db={db}/{name}.parquet", table.name()),
        };
        let file = PartFile {
            path,
            table: table.name(),
            rows: 0,
            bytes: 0,
        };
        let staged = sink.dir.join(file.staged_name());
        let out = match File::create(&staged) {
            // The directory is made by begin_file; a wrapping sink may not forward it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(&sink.dir).map_err(|e| ParquetSink::io_err(&sink.dir, e))?;
                File::create(&staged)
            }
            r => r,
        }
        .map_err(|e| ParquetSink::io_err(&staged, e))?;
        sink.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(staged.clone());
        let encoding = self.encodings.get(table);
        // Through ArrowWriter so the file carries the Arrow schema (time zones, etc.) in its
        // metadata, like any Arrow-written Parquet file.
        let (writer, _) = ArrowWriter::try_new(
            WriteBehind::new(out),
            encoding.schema.clone(),
            Some((*encoding.props).clone()),
        )
        .and_then(|w| w.into_serialized_writer())
        .map_err(|e| ParquetSink::parquet_err(&staged, e))?;
        Ok(OpenPart {
            table,
            db,
            writer,
            staged,
            file,
        })
    }
}

fn close(part: OpenPart) -> Result<PartFile> {
    let OpenPart {
        writer,
        staged,
        mut file,
        ..
    } = part;
    let out = writer
        .into_inner()
        .map_err(|e| ParquetSink::parquet_err(&staged, e))?;
    file.bytes = out
        .get_ref()
        .metadata()
        .map_err(|e| ParquetSink::io_err(&staged, e))?
        .len();
    Ok(file)
}
