//! `convert --format keys|keys-csv`: one line per key, values skipped.

use std::io::Write;

use anyhow::{Context, Result};
use rdb_pipeline::pipeline::{self, Progress};
use rdb_report::keys::{KeysFormat, KeysSink};

use super::{pipeline_options, s3_output, show_progress, with_reporter, ConvertArgs, Format};
use crate::cmd::warn_about;
use crate::inputs::ResolvedInputs;
use crate::output::write_atomically;

/// Lists the keys on stdout, into a file or into one S3 object (`url`).
pub fn run(args: &ConvertArgs, url: Option<rdb_s3::S3Url>) -> Result<()> {
    let format = match args.format {
        Format::KeysCsv => KeysFormat::Csv,
        _ => KeysFormat::Ndjson,
    };
    match (&args.output, url) {
        (None, _) => convert_keys(args, format, crate::output::stdout()),
        (Some(_), Some(url)) => s3_output::json_to_s3(args, &url, |path| {
            write_atomically(path, |out| convert_keys(args, format, out))
        }),
        (Some(path), None) => {
            crate::output::refuse_input_as_output(path, &args.files)?;
            write_atomically(path, |out| convert_keys(args, format, out))
        }
    }
}

fn convert_keys<W: Write + Send>(args: &ConvertArgs, format: KeysFormat, out: W) -> Result<()> {
    let options = pipeline_options(args, 4 << 20)?;
    let mut inputs = ResolvedInputs::new(&args.files, &args.s3)?.into_pipeline()?;
    let sink = KeysSink::new(out, format).context("writing output")?;
    let progress = Progress::default();
    let summaries = with_reporter(
        &progress,
        show_progress(args),
        |_| {},
        || pipeline::run_inputs(&mut inputs, &options, &sink, &progress),
    )?;
    sink.finish().context("writing output")?;
    for s in &summaries {
        warn_about(s);
    }
    Ok(())
}
