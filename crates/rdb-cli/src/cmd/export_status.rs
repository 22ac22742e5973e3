//! `rdb-convert export-status`: an export's state from its manifest, like
//! `aws rds describe-export-tasks`, and with `--verify` whether its files are in place.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use rdb_export::export::MANIFEST;
use rdb_export::status::{verify_files, ExportStatus};
use serde_json::Value as Json;

use crate::args::s3::{self, S3Args};

pub const EXAMPLES: &str = "Examples:
  rdb-convert export-status out/
  rdb-convert export-status s3://bucket/exports/2026-11-28/ --verify
  rdb-convert export-status out/ --format json | jq -r .status

Exit status: 0 the manifest was read (and with --verify every listed file is in place),
1 no manifest, an unreadable one, or a listed file missing or of another size,
2 usage error. The export's own state is in the output (COMPLETE, FAILED, ...), not in the
exit status, as with aws rds describe-export-tasks.";

/// Show an export's state from its manifest (export_info.json): status, progress, times,
/// sources, keys, files, failure cause and warnings. A directory or an s3:// prefix that
/// `rdb-convert --format parquet --output` wrote.
#[derive(Args, Debug, Clone)]
#[command(after_help = EXAMPLES, long_about)]
pub struct ExportStatusArgs {
    /// The export's directory or s3:// prefix (or its export_info.json).
    #[arg(value_name = "EXPORT")]
    pub export: PathBuf,

    /// Also check that every file the manifest lists is there with the size it lists.
    #[arg(long)]
    pub verify: bool,

    /// Output: text (one field per line) or json (the manifest's fields, plus "missing"
    /// with --verify).
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    pub format: StatusFormat,

    #[command(flatten)]
    pub s3: S3Args,
}

/// `--format` of export-status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// One field per line.
    Text,
    /// One JSON object.
    Json,
}

pub fn run(args: &ExportStatusArgs) -> Result<()> {
    let (manifest, mut size_of, shown) = if s3::is_s3(&args.export) {
        s3_export(args)?
    } else {
        local_export(&args.export)?
    };
    let manifest: Json = serde_json::from_slice(&manifest)
        .with_context(|| format!("{shown}: not an export manifest (not JSON)"))?;
    let status =
        ExportStatus::from_manifest(&manifest).map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    let missing = if args.verify {
        Some(verify_files(&manifest, &mut size_of).map_err(|e| anyhow::anyhow!("{shown}: {e}"))?)
    } else {
        None
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        StatusFormat::Json => {
            let mut json = manifest.clone();
            if let (Some(missing), Some(map)) = (&missing, json.as_object_mut()) {
                let list: Vec<String> = missing.iter().map(|m| m.to_string()).collect();
                map.insert("missing".into(), list.into());
            }
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        StatusFormat::Text => write_text(&mut out, &status, &shown, missing.as_deref())?,
    }
    out.flush()?;
    if let Some(missing) = missing.filter(|m| !m.is_empty()) {
        bail!(
            "{shown}: {} of the files its manifest lists are missing or of another size \
             (export again, with --overwrite)",
            missing.len()
        );
    }
    Ok(())
}

type SizeOf = Box<dyn FnMut(&str) -> Result<Option<u64>, String>>;

/// The manifest of a local export and the sizes of the files beside it.
fn local_export(path: &Path) -> Result<(Vec<u8>, SizeOf, String)> {
    let (dir, manifest) = if path.is_dir() {
        (path.to_path_buf(), path.join(MANIFEST))
    } else {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        (dir, path.to_path_buf())
    };
    let shown = dir.display().to_string();
    let bytes = std::fs::read(&manifest).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "{}: no manifest: not an export directory, or its export never started",
                manifest.display()
            )
        } else {
            anyhow::anyhow!("{}: {e}", manifest.display())
        }
    })?;
    let size_of = move |rel: &str| match std::fs::metadata(dir.join(rel)) {
        Ok(m) => Ok(Some(m.len())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{rel}: {e}")),
    };
    Ok((bytes, Box::new(size_of), shown))
}

/// The manifest of an export under an s3:// prefix, and the sizes of the objects listed
/// under it (one LIST, on the first question).
#[cfg(feature = "s3")]
fn s3_export(args: &ExportStatusArgs) -> Result<(Vec<u8>, SizeOf, String)> {
    use std::collections::HashMap;

    let text = args.export.to_str().unwrap_or_default();
    let prefix = text.strip_suffix(MANIFEST).unwrap_or(text);
    let prefix = s3::parse_url(Path::new(&format!("{}/", prefix.trim_end_matches('/'))))?;
    let client = s3::client(&args.s3, None)?;
    let shown = prefix.to_string();
    let object = client.head(&prefix.join(MANIFEST))?;
    let bytes = client.fetch(&object)?.data;
    let mut sizes: Option<HashMap<String, u64>> = None;
    let size_of = move |rel: &str| {
        if sizes.is_none() {
            let listed = client.resolve(&prefix).map_err(|e| e.to_string())?;
            let under = prefix.key.clone();
            sizes = Some(
                listed
                    .into_iter()
                    .filter_map(|o| Some((o.url.key.strip_prefix(&under)?.to_string(), o.size)))
                    .collect(),
            );
        }
        Ok(sizes.as_ref().and_then(|s| s.get(rel).copied()))
    };
    Ok((bytes, Box::new(size_of), shown))
}

/// Refused in a build without S3.
#[cfg(not(feature = "s3"))]
fn s3_export(args: &ExportStatusArgs) -> Result<(Vec<u8>, SizeOf, String)> {
    Err(crate::features::missing(
        &args.export.display().to_string(),
        "S3",
    ))
}

fn write_text(
    out: &mut impl Write,
    s: &ExportStatus,
    shown: &str,
    missing: Option<&[rdb_export::status::Missing]>,
) -> std::io::Result<()> {
    let time = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map_or("-".to_string(), |t| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            })
    };
    writeln!(out, "export:    {}", s.export_id)?;
    writeln!(out, "location:  {shown}")?;
    writeln!(out, "status:    {}", s.status)?;
    writeln!(
        out,
        "progress:  {:.1}% ({} of {} input bytes)",
        s.progress_percent, s.bytes_read, s.bytes_total
    )?;
    writeln!(out, "started:   {}", time(s.start_time_ms))?;
    writeln!(out, "ended:     {}", time(s.end_time_ms))?;
    writeln!(out, "sources:   {}", s.sources.join(", "))?;
    writeln!(
        out,
        "keys:      {} exported, {} filtered out",
        s.keys_exported, s.keys_filtered_out
    )?;
    writeln!(
        out,
        "files:     {} ({} bytes)",
        s.output_files, s.output_bytes
    )?;
    writeln!(
        out,
        "failure:   {}",
        s.failure_cause.as_deref().unwrap_or("-")
    )?;
    writeln!(out, "warnings:  {}", s.warnings.len())?;
    for w in &s.warnings {
        writeln!(out, "  {w}")?;
    }
    if let Some(missing) = missing {
        if missing.is_empty() {
            writeln!(
                out,
                "verified:  every listed file is in place with its size"
            )?;
        } else {
            writeln!(out, "verified:  {} problem(s)", missing.len())?;
            for m in missing {
                writeln!(out, "  {m}")?;
            }
        }
    }
    Ok(())
}
