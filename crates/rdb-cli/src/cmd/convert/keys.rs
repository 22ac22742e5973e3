//! `convert --format keys|keys-csv`: one line per key, values skipped.

use std::io::Write;

use anyhow::{Context, Result};
use rdb_report::keys::{KeysFormat, KeysSink};

use super::{run_streamed, s3_output, ConvertArgs, Format};
use crate::cmd::warn_about;
use crate::output::write_atomically;

/// Lists the keys on stdout, into a file or into one S3 object (`url`).
pub fn run(args: &ConvertArgs, url: Option<crate::args::s3::S3Url>) -> Result<()> {
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
    let (sink, summaries) = run_streamed(args, || {
        KeysSink::new(out, format).context("writing output")
    })?;
    sink.finish().context("writing output")?;
    for s in &summaries {
        warn_about(s);
    }
    Ok(())
}
