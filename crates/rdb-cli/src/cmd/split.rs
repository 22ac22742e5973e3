//! `rdb-convert split`: one RDB file per cluster shard.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use rdb_cluster::slot::SlotLayout;
use rdb_cluster::target::cluster_layout_blocking;

use super::one_line;
use super::write_rdb::{stage_outputs, write_rdbs};
use crate::args::filter::FilterArgs;
use crate::args::rdb_output::RdbOutputArgs;
use crate::args::tls::TlsArgs;
use crate::inputs::{is_stdin, local_inputs};
use crate::output::refuse_input_as_output;
use crate::progress::ProgressArgs;

pub const SPLIT_EXAMPLES: &str = "Examples:
  rdb-convert split dump.rdb --shards 3                 dump-0001.rdb .. dump-0003.rdb
  rdb-convert split backup.rdb.gz --shards 3            backup-0001.rdb .. backup-0003.rdb
  rdb-convert split dump.rdb --slots-from redis://node1:7000 --output-prefix /tmp/shard
  rdb-convert split dump.rdb --shards 6 --rdb-version 9 (for Redis 5.0-6.2 servers)
  rdb-convert split old-1.rdb old-2.rdb old-3.rdb --shards 2 --output-prefix new
                                                        3 shards' dumps into 2 (new-0001.rdb ..)
  rdb-convert split s3://backups/dump.rdb --shards 3 --output-prefix s3://backups/split/dump --sse AES256";

/// 1 to 16384 shards (one slot each at most); checked by clap, so a bad count exits 2.
fn parse_shards(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=16384).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a number of shards from 1 to 16384, got {s:?}"
        )),
    }
}

/// Split a dump into one RDB file per shard: each key goes to the file of the shard that
/// owns its hash slot (CRC16 of the key or its {hash tag}, 16384 slots). Shards get even
/// contiguous slot ranges (as redis-cli --cluster create assigns them), or a live cluster's
/// ranges with --slots-from. Records are copied byte for byte; files are written under
/// temporary names and renamed only when all are complete.
#[derive(Args, Debug, Clone)]
#[command(after_help = SPLIT_EXAMPLES, long_about)]
pub struct SplitArgs {
    /// The dumps to split, together (`-` for standard input; gzip, zstd, lz4 decompressed).
    ///
    /// Several dumps: their keys in input order; aux fields and functions of the first;
    /// databases as they are. A key in two dumps is an error and nothing is written (Redis
    /// refuses to load a dump holding a key twice); the check keeps ~16-32 bytes per key and
    /// is off with --no-validate, which writes duplicates as they come.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Number of shards (even slot ranges).
    #[arg(long, value_name = "N", required_unless_present = "slots_from", value_parser = parse_shards)]
    pub shards: Option<usize>,

    /// Copy the slot map of this cluster node (one file per primary, in slot order).
    #[arg(long, value_name = "URL", conflicts_with = "shards")]
    pub slots_from: Option<String>,

    #[command(flatten)]
    pub tls: TlsArgs,

    /// Output names: PREFIX-0001.rdb, ... (default: the first FILE without its extension and
    /// compression suffix, d.rdb.gz -> d; `stdin` for -); may be s3://bucket/dir/name
    /// (files are uploaded once all are written).
    #[arg(long, value_name = "PATH")]
    pub output_prefix: Option<PathBuf>,

    /// Put keys of every database into db 0 (cluster nodes have only db 0; without this,
    /// keys outside db 0 are an error unless --db 0 selects db 0 only).
    #[arg(long)]
    pub flatten_dbs: bool,

    #[command(flatten)]
    pub output: RdbOutputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub progress: ProgressArgs,
}

/// The output prefix for FILE: its name without the compression suffix and the extension
/// (`d.rdb.gz` -> `d`, `d.rdb` -> `d`), `stdin` for standard input.
fn default_prefix(file: &Path) -> PathBuf {
    if is_stdin(file) {
        return PathBuf::from("stdin");
    }
    let compressed = file
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| COMPRESSION_SUFFIXES.contains(&e.to_ascii_lowercase().as_str()));
    let file = if compressed {
        file.with_extension("")
    } else {
        file.to_path_buf()
    };
    file.with_extension("")
}

/// Suffixes of the compressed dumps the inputs decompress.
const COMPRESSION_SUFFIXES: [&str; 4] = ["gz", "zst", "zstd", "lz4"];

pub fn run(args: &SplitArgs) -> Result<()> {
    let (layout, names) = match (&args.slots_from, args.shards) {
        (Some(url), _) => {
            let (layout, nodes) = cluster_layout_blocking(url, &args.tls.to_options())
                .map_err(|e| anyhow::anyhow!(one_line(&e)))?;
            (layout, nodes)
        }
        (None, Some(n)) => {
            if n == 0 || n > 16384 {
                bail!("--shards must be between 1 and 16384, got {n}");
            }
            (SlotLayout::even(n), Vec::new())
        }
        (None, None) => bail!("give --shards N or --slots-from URL"),
    };
    let prefix = args
        .output_prefix
        .clone()
        .unwrap_or_else(|| default_prefix(&args.files[0]));
    let paths: Vec<PathBuf> = (1..=layout.shards())
        .map(|i| {
            let mut name = prefix.as_os_str().to_owned();
            name.push(format!("-{i:04}.rdb"));
            PathBuf::from(name)
        })
        .collect();
    let (inputs, input_names, _downloads) =
        local_inputs(&args.files, &args.output.s3, args.progress.mode())?;
    for p in &paths {
        refuse_input_as_output(p, &inputs)?;
    }
    let (paths, staged) = stage_outputs(paths, &args.output)?;
    let cluster = Some(args.flatten_dbs);
    let report = write_rdbs(
        &inputs,
        &input_names,
        &layout,
        &paths.1,
        &args.output,
        &args.filter,
        cluster,
        args.progress.mode(),
    )?;
    if let Some(s) = staged {
        s.upload(args.progress.mode())?;
    }
    for (i, path) in paths.0.iter().enumerate() {
        let ranges: Vec<String> = layout
            .ranges(i)
            .iter()
            .map(|(a, b)| format!("{a}-{b}"))
            .collect();
        let node = names.get(i).map(|n| format!(" ({n})")).unwrap_or_default();
        eprintln!(
            "{}: {} keys, {} bytes, slots {}{node}",
            path.display(),
            report.keys.get(i).copied().unwrap_or(0),
            report.bytes.get(i).copied().unwrap_or(0),
            ranges.join(",")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_prefix_drops_extension_and_compression() {
        let p = |s: &str| default_prefix(Path::new(s)).display().to_string();
        assert_eq!(p("dump.rdb"), "dump");
        assert_eq!(p("dir/d.rdb.gz"), "dir/d");
        assert_eq!(p("d.rdb.ZST"), "d");
        assert_eq!(p("d.lz4"), "d");
        assert_eq!(p("dump"), "dump");
        assert_eq!(p("-"), "stdin");
    }
}
