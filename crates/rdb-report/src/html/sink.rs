//! The HTML report's numbers gathered in the parallel pipeline.

use std::sync::Mutex;

use rdb_format::{DecoderOptions, Scratch};
use rdb_pipeline::pipeline::{Chunk, FileInfo as PipelineFile, Sink, SinkError};

use super::{HtmlOptions, ReportData, ReportPart, Summary};
use crate::memory::{for_each_record, FileModels, MemoryModel, ModelOptions};
use crate::top::TopRow;
use crate::ReportSinkError;

/// Gathers the HTML report's numbers as a [`Sink`]: keys are estimated on the pipeline's
/// threads, each chunk's part merged in file order.
pub struct HtmlSink {
    models: FileModels,
    options: HtmlOptions,
    data: Mutex<ReportData>,
}

impl HtmlSink {
    /// A report with `options`, estimating memory with `model` options.
    pub fn new(options: HtmlOptions, model: ModelOptions, decoder: DecoderOptions) -> Self {
        HtmlSink {
            models: FileModels::new(model, decoder),
            data: Mutex::new(ReportData::new(options.clone())),
            options,
        }
    }

    /// The model used for each file.
    pub fn models(&self) -> Vec<MemoryModel> {
        self.models.models()
    }

    /// The numbers.
    pub fn finish(self) -> Summary {
        self.data
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .finish()
    }
}

impl Sink for HtmlSink {
    type File = MemoryModel;
    type Part = ReportPart;
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
    ) -> Result<ReportPart, SinkError<ReportSinkError>> {
        let mut part = ReportPart::new(&self.options);
        for_each_record(chunk, items, scratch, |r, key, scratch| {
            let row = TopRow {
                db: r.db,
                key: key.to_vec(),
                data_type: r.data_type().as_str(),
                expire_ms: r.expire_ms,
                size: r.len,
                memory: model.estimate(r, scratch)?,
            };
            part.add(&self.options, row);
            Ok(())
        })?;
        part.trim(&self.options);
        Ok(part)
    }

    fn commit(
        &self,
        _model: &MemoryModel,
        _chunk: &Chunk,
        part: ReportPart,
    ) -> Result<(), ReportSinkError> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        data.add_part(&part);
        Ok(())
    }
}
