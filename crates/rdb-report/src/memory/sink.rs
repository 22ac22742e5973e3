//! The memory report in the parallel pipeline.

use super::*;
use crate::ReportSinkError;
use rdb_pipeline::pipeline::SinkError;

/// Picks the memory model of each file of a [`pipeline`](rdb_pipeline::pipeline) run from the
/// file's header (its per-file state), and remembers them in run order.
#[derive(Debug)]
pub struct FileModels {
    options: ModelOptions,
    decoder: DecoderOptions,
    models: Mutex<Vec<MemoryModel>>,
}

impl FileModels {
    /// Models chosen by `options` (what they leave open is detected per file).
    pub fn new(options: ModelOptions, decoder: DecoderOptions) -> Self {
        FileModels {
            options,
            decoder,
            models: Mutex::new(Vec::new()),
        }
    }

    /// Reads the header of `file` (whose bytes are `data`) and picks its model. Called by
    /// the pipeline once per file, in run order.
    pub fn begin_file(
        &self,
        file: &PipelineFile,
        data: &[u8],
    ) -> Result<MemoryModel, SinkError<ReportSinkError>> {
        let header =
            DumpHeader::read(data, self.decoder).map_err(|e| report_error(&file.path, e))?;
        let model = MemoryModel::for_dump(&header, &self.options);
        self.models
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(model);
        Ok(model)
    }

    /// Every file's model, in run order.
    pub fn models(&self) -> Vec<MemoryModel> {
        self.models
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A report error as a sink error naming the file (decoding errors are the engine's).
pub(crate) fn report_error(path: &std::path::Path, e: ReportError) -> SinkError<ReportSinkError> {
    match e {
        ReportError::Decode(error) => SinkError::Decode(error),
        source => SinkError::Sink(ReportSinkError::Estimate {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Runs `f` with each record of a chunk, its decoded key and the scratch its value can be
/// decoded into ([`rdb_pipeline::pipeline::for_each_record`], with the report's errors).
pub(crate) fn for_each_record<'a>(
    chunk: &Chunk,
    items: &mut dyn Iterator<Item = rdb_format::Result<rdb_format::Item<'a>>>,
    scratch: &mut Scratch,
    mut f: impl FnMut(&Record<'a>, &[u8], &Scratch) -> Result<(), ReportError>,
) -> Result<(), SinkError<ReportSinkError>> {
    rdb_pipeline::pipeline::for_each_record(items, scratch, |r, key, scratch| {
        f(r, key, scratch).map_err(|e| report_error(&chunk.file.path, e))
    })
}

/// Runs `f` with each record of a chunk whose estimated memory is at least `min_memory`
/// (`--min-memory` of memory and top: one threshold test for every report), with its
/// estimate.
pub(crate) fn for_each_estimate<'a>(
    chunk: &Chunk,
    items: &mut dyn Iterator<Item = rdb_format::Result<rdb_format::Item<'a>>>,
    scratch: &mut Scratch,
    model: &MemoryModel,
    min_memory: u64,
    mut f: impl FnMut(&Record<'a>, &[u8], KeyMemory, &Scratch) -> Result<(), ReportError>,
) -> Result<(), SinkError<ReportSinkError>> {
    for_each_record(chunk, items, scratch, |r, key, scratch| {
        let m = model.estimate(r, scratch)?;
        if m.bytes < min_memory {
            return Ok(());
        }
        f(r, key, m, scratch)
    })
}

/// The memory report as a [`Sink`] of the parallel pipeline: chunks are estimated on the
/// pipeline's threads and their rows written in file order.
pub struct MemorySink<W: Write + Send> {
    models: FileModels,
    csv: CsvOptions,
    out: Mutex<W>,
}

impl<W: Write + Send> MemorySink<W> {
    /// A report into `out`; writes the header line.
    pub fn new(out: W, options: ModelOptions, decoder: DecoderOptions) -> io::Result<Self> {
        Self::with_csv_options(out, options, decoder, CsvOptions::default())
    }

    /// A report into `out` in the vocabulary, key escape and memory threshold of `csv`;
    /// writes the header line (the same in every style).
    pub fn with_csv_options(
        mut out: W,
        options: ModelOptions,
        decoder: DecoderOptions,
        csv: CsvOptions,
    ) -> io::Result<Self> {
        out.write_all(CSV_HEADER)?;
        Ok(MemorySink {
            models: FileModels::new(options, decoder),
            csv,
            out: Mutex::new(out),
        })
    }

    /// The model used for each file.
    pub fn models(&self) -> Vec<MemoryModel> {
        self.models.models()
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> io::Result<W> {
        let mut out = self.out.into_inner().unwrap_or_else(|p| p.into_inner());
        out.flush()?;
        Ok(out)
    }
}

impl<W: Write + Send> Sink for MemorySink<W> {
    type File = MemoryModel;
    type Part = Vec<u8>;
    type Error = ReportSinkError;

    fn begin_file(
        &self,
        file: &PipelineFile,
        data: &[u8],
    ) -> Result<MemoryModel, SinkError<ReportSinkError>> {
        self.models.begin_file(file, data)
    }

    fn process<'a>(
        &self,
        model: &MemoryModel,
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<rdb_format::Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Vec<u8>, SinkError<ReportSinkError>> {
        let mut buf = Vec::new();
        let min = self.csv.min_memory;
        for_each_estimate(chunk, items, scratch, model, min, |r, key, m, scratch| {
            match self.csv.style {
                CsvStyle::RdbTools => {
                    push_rdbtools_row(&mut buf, r, key, &m, self.csv.escape, scratch)?
                }
                _ => push_row(&mut buf, r, key, &m, self.csv.escape),
            }
            Ok(())
        })?;
        Ok(buf)
    }

    fn commit(
        &self,
        _model: &MemoryModel,
        _chunk: &Chunk,
        part: Vec<u8>,
    ) -> Result<(), ReportSinkError> {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.write_all(&part).map_err(ReportSinkError::Write)
    }
}
