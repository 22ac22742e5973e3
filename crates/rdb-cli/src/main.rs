//! `rdb-convert`: turns Redis/Valkey RDB dumps into data (NDJSON), and more through its
//! subcommands. This crate only maps flags to library values; the work is in the libraries.
// Unsafe only where output.rs gives an unnamed file its name (linkat).
#![deny(unsafe_code)]
// Doc comments in this crate are clap's --help text, not API docs: rustdoc's link syntax
// (`[user:password@]`) does not apply to them.
#![allow(rustdoc::broken_intra_doc_links)]

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod args;
mod cmd;
mod features;
mod inputs;
mod messages;
mod output;
mod progress;
mod signals;
mod spool;

use cmd::{
    check, completions, convert, diff, export_status, filter, info, memory, report, seed, split,
    top,
};

/// Convert Redis and Valkey RDB dumps (RDB 1–12, VALKEY080/081, Redis 8.6+ where known) to
/// NDJSON: one JSON object per key, in file order.
///
/// Each line: {"db":0,"key":K,"type":T,"encoding":E,"expire_ms":MS,"value":V}. Byte strings
/// are JSON strings when valid UTF-8, otherwise {"base64":"..."}. See README.md for the
/// shape of each type's value.
///
/// Every FILE may also be - (standard input) or a gzip, zstd or lz4 compressed dump.
#[derive(Parser, Debug)]
#[command(
    name = "rdb-convert",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = convert::EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    convert: convert::ConvertArgs,

    /// Log on stderr: -v S3 retries and uploads, -vv also every range and part (never keys
    /// or values); RUST_LOG=rdb_s3=debug,object_store=info overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

// Each line is the command's `about` in the command list; an explicit `about` (not a doc
// comment, which also replaces the long description) leaves `CMD --help` the long description
// written on the command's arguments struct.
#[derive(Subcommand, Debug)]
enum Command {
    #[command(about = "Convert dumps (the default when no subcommand is given)")]
    Convert(convert::ConvertArgs),
    #[command(
        about = "Describe dumps: version, aux fields, checksum, keys per db, type and encoding"
    )]
    Info(info::InfoArgs),
    #[command(about = "Estimate each key's memory in a running server; CSV like redis-rdb-tools")]
    Memory(memory::MemoryArgs),
    #[command(about = "The biggest keys, prefixes and a TTL histogram")]
    Top(top::TopArgs),
    #[command(
        about = "Seed a running Redis/Valkey (standalone or cluster) from dumps with RESTORE"
    )]
    Seed(seed::SeedArgs),
    #[command(about = "Split a dump into one RDB file per cluster shard")]
    Split(split::SplitArgs),
    #[command(about = "Write a smaller RDB with only the keys the filters select")]
    Filter(filter::FilterCommandArgs),
    #[command(
        about = "Check dumps deeply (like redis-check-rdb with sanitize-dump-payload); list every problem"
    )]
    Check(check::CheckArgs),
    #[command(
        about = "Write a visual HTML report: memory by type and prefix, biggest keys, TTLs, advice"
    )]
    Report(report::ReportArgs),
    #[command(
        about = "Compare two sets of dumps: keys on one side only, other type, value or TTL"
    )]
    Diff(diff::DiffArgs),
    #[command(
        about = "Show a Parquet export's state from its manifest, like aws rds describe-export-tasks"
    )]
    ExportStatus(export_status::ExportStatusArgs),
    #[command(about = "Print a shell completion script (bash, zsh, fish, powershell, elvish)")]
    Completions(completions::CompletionsArgs),
    #[command(about = "Print the manual page (roff): `rdb-convert man | man -l -`")]
    Man(completions::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    progress::init_logs(cli.verbose);
    let result = match cli.command {
        None => match messages::unknown_command(
            &cli.convert.files,
            Cli::command().get_subcommands().map(|c| c.get_name()),
        ) {
            Some(typo) => Err(typo.into()),
            None => convert::run(&cli.convert),
        },
        Some(Command::Convert(args)) => convert::run(&args),
        Some(Command::Info(args)) => info::run(&args),
        Some(Command::Memory(args)) => memory::run(&args),
        Some(Command::Top(args)) => top::run(&args),
        Some(Command::Seed(args)) => seed::run(&args),
        Some(Command::Split(args)) => split::run(&args),
        Some(Command::Filter(args)) => filter::run(&args),
        Some(Command::Check(args)) => check::run(&args),
        Some(Command::Report(args)) => report::run(&args),
        // Its own exit statuses: 0 same, 1 different, 2 trouble.
        Some(Command::Diff(args)) => return diff::main(&args),
        Some(Command::ExportStatus(args)) => export_status::run(&args),
        Some(Command::Completions(args)) => completions::completions(&args, Cli::command()),
        Some(Command::Man(args)) => completions::man(&args, Cli::command()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rdb-convert: error: {e:#}");
            if let Some(hint) = messages::hint(&e) {
                eprintln!("rdb-convert: hint: {hint}");
            }
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// A usage mistake that clap cannot see (exit status 2, like clap's own).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
