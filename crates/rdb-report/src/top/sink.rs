//! The top report in the parallel pipeline.

use std::collections::HashMap;
use std::sync::Mutex;

use rdb_format::{DecoderOptions, Scratch};
use rdb_pipeline::pipeline::{Chunk, FileInfo as PipelineFile, Sink, SinkError};

use super::{Top, TopOptions, TopPart, TopReport, TopRow};
use crate::memory::{for_each_estimate, FileModels, MemoryModel, ModelOptions};
use crate::ReportSinkError;

/// The top report as a [`Sink`] of the parallel pipeline: keys are estimated on the
/// pipeline's threads and ranked in file order.
pub struct TopSink {
    models: FileModels,
    options: TopOptions,
    report: Mutex<TopReport>,
    min_memory: u64,
}

impl TopSink {
    /// A report with `options`, estimating memory with `model` options.
    pub fn new(options: TopOptions, model: ModelOptions, decoder: DecoderOptions) -> Self {
        TopSink {
            models: FileModels::new(model, decoder),
            options: options.clone(),
            report: Mutex::new(TopReport::new(options)),
            min_memory: 0,
        }
    }

    /// Only keys whose estimated memory is at least `bytes` are ranked and counted.
    pub fn with_min_memory(mut self, bytes: u64) -> Self {
        self.min_memory = bytes;
        self
    }

    /// The model used for each file.
    pub fn models(&self) -> Vec<MemoryModel> {
        self.models.models()
    }

    /// The report.
    pub fn finish(self) -> Top {
        self.report
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .finish()
    }
}

impl Sink for TopSink {
    type File = MemoryModel;
    type Part = TopPart;
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
    ) -> Result<TopPart, SinkError<ReportSinkError>> {
        let mut part = TopPart::default();
        let min = self.min_memory;
        for_each_estimate(chunk, items, scratch, model, min, |r, key, memory, _| {
            let row = TopRow {
                db: r.db,
                key: key.to_vec(),
                data_type: r.data_type().as_str(),
                expire_ms: r.expire_ms,
                size: r.len,
                memory,
            };
            part.add(&self.options, row);
            Ok(())
        })?;
        part.keep_best(&self.options);
        part.prefix_at = HashMap::new();
        Ok(part)
    }

    fn commit(
        &self,
        _model: &MemoryModel,
        _chunk: &Chunk,
        part: TopPart,
    ) -> Result<(), ReportSinkError> {
        let mut report = self.report.lock().unwrap_or_else(|p| p.into_inner());
        report.add_part(&part);
        Ok(())
    }
}
