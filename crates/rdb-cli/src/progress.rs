//! Progress of long commands on stderr: a bar on a terminal, or with `--progress` off a
//! terminal (CI logs, k8s jobs) one plain line every few seconds and one at the end, such as
//! `progress: 37.5% 3.1 GB/8.2 GB 412 MB/s 1200000 keys ETA 12s`. Also the `-v` logs.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rdb_pipeline::pipeline::Progress;

use crate::signals::CANCEL;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Nothing.
    Off,
    /// A bar redrawn in place (stderr is a terminal).
    Bar,
    /// A plain line every few seconds (stderr is a file or a pipe).
    Lines,
    /// Plain lines once the run has taken [`LONG_RUN`] (stderr is no terminal and neither
    /// flag is given): a long job's log shows it is alive, a short one stays silent.
    LinesIfLong,
}

/// How long a run goes before [`Mode::LinesIfLong`] starts writing lines.
const LONG_RUN: Duration = Duration::from_secs(10);

impl Mode {
    /// `--progress` forces progress where stderr is no terminal; `--no-progress` hides it.
    /// Off a terminal with neither flag: lines when `CI` is set (CI logs), else lines only
    /// once the run is long.
    pub fn choose(progress: bool, no_progress: bool) -> Mode {
        let terminal = std::io::stderr().is_terminal();
        match (no_progress, progress, terminal) {
            (true, _, _) => Mode::Off,
            (false, _, true) => Mode::Bar,
            (false, true, false) => Mode::Lines,
            (false, false, false) if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) => {
                Mode::Lines
            }
            (false, false, false) => Mode::LinesIfLong,
        }
    }

    /// Whether plain lines are written once the run has taken `elapsed`.
    fn writes_lines(self, elapsed: Duration) -> bool {
        self == Mode::Lines || (self == Mode::LinesIfLong && elapsed >= LONG_RUN)
    }
}

/// `--progress` / `--no-progress` for commands that read whole dumps.
#[derive(Args, Debug, Clone, Default)]
pub struct ProgressArgs {
    /// Show progress on stderr even when it is not a terminal: a line every few seconds
    /// (e.g. in CI: --progress 2>progress.log).
    #[arg(long, conflicts_with = "no_progress")]
    pub progress: bool,

    /// Never show progress.
    #[arg(long)]
    pub no_progress: bool,
}

impl ProgressArgs {
    /// The mode these flags ask for.
    pub fn mode(&self) -> Mode {
        Mode::choose(self.progress, self.no_progress)
    }
}

/// Seconds between two lines off a terminal (`RDB_CONVERT_PROGRESS_INTERVAL_MS` changes it,
/// for tests and for very long or very chatty jobs).
fn line_interval() -> Duration {
    std::env::var("RDB_CONVERT_PROGRESS_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(5))
}

/// Runs `work` while a thread shows `progress` as `mode` says, forwards Ctrl-C to the
/// pipeline and calls `tick` twice a second.
pub fn run_with<T>(
    progress: &Progress,
    mode: Mode,
    tick: impl Fn(&Progress) + Sync,
    work: impl FnOnce() -> T,
) -> T {
    run_labeled(Label::Dump, progress, mode, tick, work)
}

/// Runs `work`, an S3 transfer of `total` bytes (`label`: "download", "upload"), while the
/// bytes `transferred` reports as done (read from the S3 client's counters twice a second)
/// are shown.
pub fn run_transfer<T>(
    label: &'static str,
    mode: Mode,
    total: u64,
    transferred: impl Fn() -> u64 + Sync,
    work: impl FnOnce() -> T,
) -> T {
    let progress = Progress::default();
    progress.bytes_total.store(total, Ordering::Relaxed);
    let tick = |p: &Progress| {
        let done = transferred().min(total);
        p.bytes_done.store(done, Ordering::Relaxed);
    };
    run_labeled(Label::Transfer(label), &progress, mode, tick, work)
}

/// What the progress is of.
#[derive(Clone, Copy)]
enum Label {
    /// Dumps being read: bytes and keys.
    Dump,
    /// An S3 transfer: bytes only, the line starts with its name.
    Transfer(&'static str),
}

fn run_labeled<T>(
    label: Label,
    progress: &Progress,
    mode: Mode,
    tick: impl Fn(&Progress) + Sync,
    work: impl FnOnce() -> T,
) -> T {
    let done = AtomicBool::new(false);
    let prefix = match label {
        Label::Dump => String::new(),
        Label::Transfer(name) => format!("{name} "),
    };
    let show = |s: &Snapshot| match label {
        Label::Dump => s.line(),
        Label::Transfer(_) => s.bytes_line(),
    };
    std::thread::scope(|scope| {
        let shown = scope.spawn(|| {
            let bar = (mode == Mode::Bar).then(|| {
                let b = ProgressBar::new(0);
                // The fixed part stays under 60 columns so that the bar shrinks, and the line
                // does not wrap, on an 80-column terminal.
                let template = match label {
                    Label::Dump => "{wide_bar} {percent:>3}% {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg} ETA {eta}",
                    Label::Transfer(_) => "{msg} {wide_bar} {percent:>3}% {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
                };
                b.set_style(
                    ProgressStyle::with_template(template)
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                b
            });
            let started = Instant::now();
            let interval = line_interval();
            let mut last_line = started;
            let lines = || mode.writes_lines(started.elapsed());
            while !done.load(Ordering::Acquire) {
                if CANCEL.load(Ordering::Relaxed) {
                    progress.cancel.store(true, Ordering::Relaxed);
                }
                tick(progress);
                let snapshot = Snapshot::of(progress, started.elapsed());
                if let Some(b) = &bar {
                    b.set_length(snapshot.total);
                    b.set_position(snapshot.done);
                    match label {
                        Label::Dump => {
                            b.set_message(format!("{} keys", short_count(snapshot.keys)))
                        }
                        Label::Transfer(name) => b.set_message(name),
                    }
                }
                if lines() && last_line.elapsed() >= interval {
                    eprintln!("progress: {prefix}{}", show(&snapshot));
                    last_line = Instant::now();
                }
                // Unparked as soon as the work ends: sleeping here made every command end
                // up to 50 ms after its work.
                let next_tick = Instant::now() + Duration::from_millis(500);
                while !done.load(Ordering::Acquire) {
                    let now = Instant::now();
                    if now >= next_tick {
                        break;
                    }
                    std::thread::park_timeout(next_tick - now);
                }
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            if lines() {
                // A transfer's counter is read by `tick`: once more for the final figure.
                if matches!(label, Label::Transfer(_)) {
                    tick(progress);
                }
                let last = Snapshot::of(progress, started.elapsed());
                eprintln!("progress: {prefix}done {}", show(&last));
            }
        });
        let result = work();
        done.store(true, Ordering::Release);
        shown.thread().unpark();
        result
    })
}

/// The counters at one moment.
struct Snapshot {
    done: u64,
    total: u64,
    keys: u64,
    elapsed: Duration,
}

impl Snapshot {
    fn of(progress: &Progress, elapsed: Duration) -> Snapshot {
        Snapshot {
            done: progress.bytes_done.load(Ordering::Relaxed),
            total: progress.bytes_total.load(Ordering::Relaxed),
            keys: progress.keys_done.load(Ordering::Relaxed),
            elapsed,
        }
    }

    /// `37.5% 3.1 GB/8.2 GB 412 MB/s 1.2M keys ETA 12s` (no % nor ETA when the total is
    /// unknown).
    fn line(&self) -> String {
        self.with_keys(true)
    }

    /// The line without keys, for transfers: `37.5% 3.1 GB/8.2 GB 412 MB/s ETA 12s`.
    fn bytes_line(&self) -> String {
        self.with_keys(false)
    }

    fn with_keys(&self, keys: bool) -> String {
        let secs = self.elapsed.as_secs_f64().max(0.001);
        let rate = self.done as f64 / secs;
        let mut line = String::new();
        if self.total > 0 {
            let pct = 100.0 * self.done as f64 / self.total as f64;
            line.push_str(&format!(
                "{pct:.1}% {}/{} ",
                bytes(self.done as f64),
                bytes(self.total as f64)
            ));
        } else {
            line.push_str(&format!("{} ", bytes(self.done as f64)));
        }
        line.push_str(&format!("{}/s", bytes(rate)));
        if keys {
            line.push_str(&format!(" {} keys", short_count(self.keys)));
        }
        if self.total > self.done && rate > 0.0 {
            let eta = (self.total - self.done) as f64 / rate;
            line.push_str(&format!(" ETA {:.0}s", eta.ceil()));
        }
        line
    }
}

/// Decimal units, one decimal: `3.1 GB`.
fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `1.2M`, `35.0k`, `812`.
fn short_count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}

/// `-v` (info), `-vv` (debug), `-vvv` (trace) or `RUST_LOG`: logs of this tool and of the
/// S3 client (retries, ranges, parts) on stderr. Events carry sizes, offsets and object
/// URLs, never keys or values of a dump.
pub fn init_logs(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::new(spec),
        _ => {
            let level = match verbose {
                0 => return,
                1 => "info",
                2 => "debug",
                _ => "trace",
            };
            // hyper/h2/rustls stay at warn below trace: their debug output is per packet.
            EnvFilter::new(format!(
                "warn,rdb_convert={level},rdb_s3={level},rdb_pipeline={level},rdb_export={level},\
                 rdb_cluster={level},object_store={level},aws_config={level}"
            ))
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_line_reads_well() {
        let s = Snapshot {
            done: 3_100_000_000,
            total: 8_200_000_000,
            keys: 1_234_567,
            elapsed: Duration::from_secs(10),
        };
        assert_eq!(s.line(), "37.8% 3.1 GB/8.2 GB 310.0 MB/s 1.2M keys ETA 17s");
        let unknown = Snapshot { total: 0, ..s };
        assert_eq!(unknown.line(), "3.1 GB 310.0 MB/s 1.2M keys");
        assert_eq!(s.bytes_line(), "37.8% 3.1 GB/8.2 GB 310.0 MB/s ETA 17s");
        assert_eq!(bytes(999.0), "999 B");
        assert_eq!(short_count(999), "999");
    }

    #[test]
    fn off_a_terminal_lines_start_once_the_run_is_long() {
        let (short, long) = (LONG_RUN - Duration::from_millis(1), LONG_RUN);
        assert!(!Mode::LinesIfLong.writes_lines(Duration::ZERO));
        assert!(!Mode::LinesIfLong.writes_lines(short));
        assert!(Mode::LinesIfLong.writes_lines(long));
        assert_eq!(LONG_RUN, Duration::from_secs(10));
        // --progress off a terminal: at once; a bar or --no-progress: never.
        assert!(Mode::Lines.writes_lines(Duration::ZERO));
        for mode in [Mode::Bar, Mode::Off] {
            assert!(!mode.writes_lines(Duration::ZERO) && !mode.writes_lines(long));
        }
    }
}
