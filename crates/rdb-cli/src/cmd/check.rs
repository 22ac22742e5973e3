//! `rdb-convert check`: the checks of `redis-check-rdb` with deep sanitisation, reporting
//! every problem (not only the first) with its byte offset.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use rdb_cluster::show_key;
use rdb_format::validate::{validate_record, FingerprintSet, Verdict};
use rdb_format::DumpFile;
use rdb_format::{Checksum, Decoder, DecoderOptions, Item, Scratch};

use crate::inputs::{
    is_stdin, open_local, open_stdin, refuse_directory, refuse_stdin_twice, shown_name,
};
use crate::spool::Spooled;

pub const EXAMPLES: &str = "Examples:
  rdb-convert check dump.rdb
  rdb-convert check shard-*.rdb
  rdb-convert check backup.rdb.gz
  aws s3 cp s3://backups/dump.rdb - | rdb-convert check -

Exit status: 0 every file is clean, 1 a problem was found or a file could not be read,
2 usage error.";

/// Check dumps deeply, as redis-check-rdb does with sanitize-dump-payload: every value is
/// decoded; sets, hashes and zsets must not hold duplicates, intsets must be sorted, zset
/// scores must not be NaN, collections must not be empty, streams must be consistent, and a
/// key must not appear twice in one database. Every problem is listed with its offset; a
/// problem the file cannot be read past (a broken record header, a bad checksum) ends that
/// file's check.
#[derive(Args, Debug, Clone)]
#[command(after_help = EXAMPLES, long_about)]
pub struct CheckArgs {
    /// Dump files to check (`-` reads standard input; gzip, zstd and lz4 files are
    /// decompressed first).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Try to read dumps whose RDB version is newer than this tool knows.
    #[arg(long)]
    pub allow_future_versions: bool,
}

pub fn run(args: &CheckArgs) -> Result<()> {
    refuse_stdin_twice(&args.files)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut bad = Vec::new();
    for path in &args.files {
        let problems = check_file(path, args, &mut out).context("writing output")?;
        if problems > 0 {
            bad.push(shown_name(path));
        }
    }
    out.flush().context("writing output")?;
    if !bad.is_empty() {
        bail!("problems found in {}", bad.join(", "));
    }
    Ok(())
}

/// Opens a dump as the decoder reads it: standard input and compressed files through a
/// decompressed copy, held by the returned [`Spooled`].
fn open_dump(path: &Path) -> Result<(DumpFile, Option<Spooled>)> {
    if is_stdin(path) {
        let (file, copy) = open_stdin()?;
        return Ok((file, Some(copy)));
    }
    refuse_directory(path)?;
    Ok(open_local(path)?)
}

/// Checks one file, writing a line per problem and a summary; returns the problem count.
fn check_file(path: &Path, args: &CheckArgs, out: &mut impl Write) -> io::Result<u64> {
    let shown = shown_name(path);
    let name = &shown;
    // The copy of standard input or of a compressed dump lives as long as the map of it.
    let (file, _copy) = match open_dump(path) {
        Ok(f) => f,
        Err(e) => {
            let e = format!("{e:#}");
            // refuse_directory names the path itself.
            let e = e.strip_prefix(&format!("{shown}: ")).unwrap_or(&e);
            writeln!(out, "{name}: cannot open: {e}")?;
            return Ok(1);
        }
    };
    let options = DecoderOptions {
        verify_checksum: true,
        allow_future_versions: args.allow_future_versions,
    };
    let decoder = match Decoder::with_options(file.data(), options) {
        Ok(d) => d,
        Err(e) => {
            writeln!(out, "{name}: {e}")?;
            return Ok(1);
        }
    };
    let mut problems = 0u64;
    let mut keys = 0u64;
    let mut checksum = None;
    let mut scratch = Scratch::new();
    // Fingerprints of (db, key): 16 bytes per key.
    let mut seen = FingerprintSet::with_capacity((file.data().len() / 32).min(1 << 22));
    let mut buf = Vec::new();
    // A dump cut while read ends the walk (its zeros would be millions of "problems"), and
    // the cut is reported instead of them: a record's problems are held until it is known
    // that the file was not cut under it.
    let mut lines = Vec::new();
    for item in file.items(decoder) {
        if !lines.is_empty() {
            // Zeros past a cut read as records until the walk faults on the next page, so a
            // record's problems are believed only if the file still has its size after it.
            if file.verify().is_err() {
                break;
            }
            for line in lines.drain(..) {
                writeln!(out, "{line}")?;
                problems += 1;
            }
        }
        let r = match item {
            Ok(Item::Record(r)) => r,
            Ok(Item::Eof(eof)) => {
                checksum = Some(eof.checksum);
                break;
            }
            Ok(_) => continue,
            // Reported below as the cut.
            Err(_) if file.verify().is_err() => break,
            Err(e) => {
                writeln!(out, "{name}: {e} (the rest of the file cannot be read)")?;
                problems += 1;
                break;
            }
        };
        keys += 1;
        scratch.reset();
        let key = match r.key.decode(&scratch) {
            Ok(k) => k.to_vec(),
            Err(e) => {
                lines.push(format!("{name}: record at offset {}: key: {e}", r.offset));
                continue;
            }
        };
        let at = format!(
            "{name}: record at offset {}: key {} (db {})",
            r.offset,
            show_key(&key),
            r.db
        );
        buf.clear();
        buf.extend_from_slice(&r.db.to_le_bytes());
        buf.extend_from_slice(&key);
        if !seen.insert(&buf) {
            lines.push(format!(
                "{at}: the key appears twice in this db (Redis refuses to load the file)"
            ));
        }
        match validate_record(&r, &scratch) {
            Ok(Verdict::Valid) => {}
            Ok(Verdict::Empty(t)) => {
                lines.push(format!(
                    "{at}: empty {} (Redis never writes one; it skips it when loading)",
                    t.as_str()
                ));
            }
            Err(e) => lines.push(format!("{at}: {e}")),
            // Verdicts added later are not problems this build can describe.
            Ok(_) => {}
        }
    }
    if let Err(cut) = file.verify() {
        writeln!(out, "{name}: {cut}")?;
        problems += 1;
        checksum = None;
    } else {
        for line in lines.drain(..) {
            writeln!(out, "{line}")?;
            problems += 1;
        }
    }
    let sum = match checksum {
        Some(Checksum::Verified(_)) => "checksum OK",
        Some(Checksum::NotComputed) => "no checksum computed (rdbchecksum no)",
        Some(Checksum::Absent) => "no checksum (RDB before version 5)",
        Some(Checksum::NotVerified(_)) => "checksum not verified",
        Some(_) => "checksum state unknown",
        None => "not read to the end",
    };
    if problems == 0 {
        writeln!(out, "{name}: OK, {keys} keys, {sum}")?;
    } else {
        writeln!(out, "{name}: {problems} problem(s), {keys} keys, {sum}")?;
    }
    Ok(problems)
}
