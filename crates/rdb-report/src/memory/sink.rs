//! The memory report in the parallel pipeline.

use super::*;

/// The memory model of each file of a [`pipeline`](rdb_pipeline::pipeline) run, read from the
/// file's header when the run begins it.
#[derive(Debug)]
pub struct FileModels {
    options: ModelOptions,
    decoder: DecoderOptions,
    models: Mutex<Vec<Option<MemoryModel>>>,
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

    /// Reads the header of `file` (whose bytes are `data`) and picks its model.
    pub fn begin_file(&self, file: &PipelineFile, data: &[u8]) -> PipelineResult<MemoryModel> {
        let header =
            DumpHeader::read(data, self.decoder).map_err(|e| report_error(&file.path, e))?;
        let model = MemoryModel::for_dump(&header, &self.options);
        let mut models = self.models.lock().unwrap_or_else(|p| p.into_inner());
        if models.len() <= file.index {
            models.resize(file.index + 1, None);
        }
        models[file.index] = Some(model);
        Ok(model)
    }

    /// The model of the file with this index in the run.
    pub fn get(&self, index: usize) -> PipelineResult<MemoryModel> {
        let models = self.models.lock().unwrap_or_else(|p| p.into_inner());
        models
            .get(index)
            .copied()
            .flatten()
            .ok_or_else(|| PipelineError::Sink(format!("no memory model for file {index}")))
    }

    /// Every file's model, in run order.
    pub fn models(&self) -> Vec<MemoryModel> {
        let models = self.models.lock().unwrap_or_else(|p| p.into_inner());
        models.iter().flatten().copied().collect()
    }
}

/// A report error as a pipeline error naming the file.
pub(crate) fn report_error(path: &std::path::Path, e: ReportError) -> PipelineError {
    match e {
        ReportError::Decode(error) => PipelineError::Decode {
            path: path.to_path_buf(),
            error,
        },
        other => PipelineError::Sink(format!("{}: {other}", path.display())),
    }
}

/// Runs `f` with each record of a chunk, its decoded key and the scratch its value can be
/// decoded into.
pub(crate) fn for_each_record<'a>(
    chunk: &Chunk,
    items: &mut dyn Iterator<Item = PipelineResult<rdb_format::Item<'a>>>,
    scratch: &mut Scratch,
    mut f: impl FnMut(&Record<'a>, &[u8], &Scratch) -> Result<(), ReportError>,
) -> PipelineResult<()> {
    let mut key = Vec::new();
    for item in items {
        if let rdb_format::Item::Record(r) = item? {
            scratch.reset();
            key.clear();
            let decoded = r
                .key
                .decode(scratch)
                .map_err(|e| report_error(&chunk.file.path, e.into()))?;
            decoded.write_to(&mut key);
            f(&r, &key, scratch).map_err(|e| report_error(&chunk.file.path, e))?;
        }
    }
    Ok(())
}

/// The memory report as a [`Sink`] of the parallel pipeline: chunks are estimated on the
/// pipeline's threads and their rows written in file order.
pub struct MemorySink<W: Write + Send> {
    models: FileModels,
    out: Mutex<W>,
}

impl<W: Write + Send> MemorySink<W> {
    /// A report into `out`; writes the header line.
    pub fn new(mut out: W, options: ModelOptions, decoder: DecoderOptions) -> io::Result<Self> {
        out.write_all(CSV_HEADER)?;
        Ok(MemorySink {
            models: FileModels::new(options, decoder),
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
    type Part = Vec<u8>;

    fn begin_file(&self, file: &PipelineFile, data: &[u8]) -> PipelineResult<()> {
        self.models.begin_file(file, data).map(|_| ())
    }

    fn process<'a>(
        &self,
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = PipelineResult<rdb_format::Item<'a>>>,
        scratch: &mut Scratch,
    ) -> PipelineResult<Vec<u8>> {
        let model = self.models.get(chunk.file.index)?;
        let mut buf = Vec::new();
        for_each_record(chunk, items, scratch, |r, key, scratch| {
            let m = model.estimate(r, scratch)?;
            push_row(&mut buf, r, key, &m);
            Ok(())
        })?;
        Ok(buf)
    }

    fn commit(&self, _chunk: &Chunk, part: Vec<u8>) -> PipelineResult<()> {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.write_all(&part)
            .map_err(|e| PipelineError::Sink(format!("writing output: {e}")))
    }
}
