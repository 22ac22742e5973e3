//! `--format parquet`: Parquet tables under a directory, published with a manifest (the
//! export task), locally or uploaded to an `s3://` prefix.

use std::path::Path;

use anyhow::Result;
use rdb_export::export::{self, ParquetExport};
use rdb_export::parquet::{Compression, ParquetOptions};
use rdb_pipeline::pipeline::Progress;
use serde_json::json;

use super::{
    pipeline_options, s3_output, show_progress, with_reporter, CompressionArg, ConvertArgs,
};
use crate::args::s3::{self, S3Url};
use crate::cmd::warn_about;
use crate::inputs::ResolvedInputs;
// Ctrl-C raises a flag that the reporter thread passes to the pipeline, which stops at the
// next chunk; the sink then removes what it wrote.
use crate::signals::{install_ctrlc, CANCEL};
use crate::UsageError;

/// Exports into `--output` or the S3 prefix `url`.
pub fn run(args: &ConvertArgs, url: Option<S3Url>) -> Result<()> {
    match url {
        None => {
            let Some(dir) = &args.output else {
                return Err(UsageError("--format parquet needs --output DIR".into()).into());
            };
            export_parquet(args, dir, &dir.display().to_string())
        }
        Some(url) => s3_output::parquet_to_s3(args, &url, &CANCEL, |dir| {
            export_parquet(args, dir, &url.to_string())
        }),
    }
}

/// Exports into `dir`; `shown` is where the user asked for it (`dir`, or an `s3://` URL
/// the directory is uploaded to afterwards), for the manifest and messages.
fn export_parquet(args: &ConvertArgs, dir: &Path, shown: &str) -> Result<()> {
    // 8 MiB: peak RSS 149 MiB on a 250 MB dump against 326 MiB at 32 MiB, same part files
    // (a chunk is a row group, part files follow tables: benches/RESULTS.md, issue 14).
    let options = pipeline_options(args, 8 << 20)?;
    let mut inputs = ResolvedInputs::new(&args.files, &args.s3)?.into_pipeline()?;
    let id = args.export_id.clone().unwrap_or_else(export::generate_id);
    let mut settings = serde_json::Map::new();
    settings.insert("format".into(), json!("parquet"));
    settings.insert(
        "compression".into(),
        json!(format!("{:?}", args.compression).to_lowercase()),
    );
    settings.insert("output".into(), json!(shown));
    settings.insert(
        "sources".into(),
        json!(args
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()),
    );
    settings.insert("filters".into(), args.filter.describe());
    if let Some(encryption) = args
        .s3_output
        .describe()
        .filter(|_| s3::is_s3(Path::new(shown)))
    {
        settings.insert("encryption".into(), encryption);
    }
    let compression = match args.compression {
        CompressionArg::Zstd => Compression::Zstd,
        CompressionArg::Snappy => Compression::Snappy,
        CompressionArg::None => Compression::None,
    };
    let mut parquet = ParquetOptions {
        compression,
        ..ParquetOptions::default()
    };
    if let Some(rows) = args.row_group_rows {
        parquet.row_group_rows = rows.max(1);
    }
    let export = ParquetExport::start(dir, shown, &id, args.overwrite, settings, parquet)?;
    if let Some(notice) = export.notice() {
        eprintln!("rdb-convert: {notice}");
    }
    let progress = Progress::default();
    install_ctrlc();
    let result = with_reporter(
        &progress,
        show_progress(args),
        |p| export.tick(p),
        || export.run(&mut inputs, &options, &progress),
    );
    let summary = export.finish(result, &progress, |summaries| {
        for s in summaries {
            warn_about(s);
        }
    })?;
    eprintln!(
        "rdb-convert: export {id} complete: {} keys, {} files, {} bytes in {}",
        summary.keys, summary.files, summary.bytes, shown
    );
    Ok(())
}
