//! `report`: the HTML page of a real server's dump, rendered by headless Chromium (Debian
//! package `chromium`, installed by `scripts/test-deps.sh`). The page must load without
//! console errors, and the numbers it shows (key count, memory per type, the biggest key)
//! must equal what `info`, `memory` and `top` print for the same dump. A screenshot is
//! taken (`RDB_REPORT_SCREENSHOT=path` keeps it, e.g. for docs/report.png).
//!
//! A missing Chromium fails the test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::fill::fill;
use crate::common::keyspace;
use crate::common::{Kind, Server};
use serde_json::Value as J;

const CHROMIUM: &str = "/usr/bin/chromium";

fn run_cli(args: &[&str]) -> Vec<u8> {
    let bin = env!("CARGO_BIN_EXE_rdb-convert");
    let out = Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    assert!(
        out.status.success(),
        "rdb-convert {} failed with {}: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs headless Chromium on `page` with `extra` arguments; returns (stdout, stderr).
fn chromium(page: &Path, profile: &Path, extra: &[&str]) -> (String, String) {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} missing: run scripts/test-deps.sh"
    );
    let url = format!("file://{}", page.display());
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(&url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {CHROMIUM}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// The value of attribute `attr` on the element whose opening tag contains `marker`.
fn attr(dom: &str, marker: &str, attr: &str) -> String {
    let at = dom
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in the page"));
    let tag_start = dom[..at].rfind('<').unwrap();
    let tag_end = at + dom[at..].find('>').unwrap();
    let tag = &dom[tag_start..tag_end];
    let needle = format!("{attr}=\"");
    let from = tag
        .find(&needle)
        .unwrap_or_else(|| panic!("{attr} not on {tag}"))
        + needle.len();
    let len = tag[from..].find('"').unwrap();
    tag[from..from + len].to_string()
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The rows of a CSV text (quoted fields may hold commas, quotes and line breaks).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

/// Memory per type summed from the `memory` CSV.
fn memory_csv_per_type(csv: &str) -> BTreeMap<String, u64> {
    let mut per_type = BTreeMap::new();
    // database,type,key,size_in_bytes,...
    for row in csv_rows(csv).iter().skip(1) {
        *per_type.entry(row[1].clone()).or_insert(0) += row[3].parse::<u64>().unwrap();
    }
    per_type
}

#[test]
fn report_renders_in_chromium_with_the_cli_numbers() {
    let started = Instant::now();
    // Every type and encoding (a module key included), then an application-like keyspace.
    let server = Server::start(Kind::Redis74);
    let mut con = server.conn();
    fill(&mut con, Kind::Redis74);
    keyspace::generate(&mut con, 11);
    let dump = server.save(&mut con);
    let p = dump.to_str().unwrap();

    let dir = std::env::temp_dir().join(format!("rdb-report-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page: PathBuf = dir.join("report.html");
    run_cli(&["report", p, "-o", page.to_str().unwrap()]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.len() < 5 << 20, "page of {} bytes", html.len());
    assert!(!html.contains("http://") && !html.contains("https://"));

    let (dom, log) = chromium(&page, &dir.join("profile"), &["--dump-dom"]);
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console messages: {console:#?}");

    // Key count: `info`.
    let info: J = serde_json::from_slice(&run_cli(&["info", p, "--json"])).unwrap();
    let keys = info["files"][0]["keys"].as_u64().unwrap();
    assert_eq!(
        attr(&dom, "id=\"total-keys\"", "data-value"),
        keys.to_string()
    );

    // Memory per type and the biggest key: `top`; memory per type again from `memory`.
    let top: J = serde_json::from_slice(&run_cli(&["top", p, "-n", "1", "--json"])).unwrap();
    assert_eq!(
        attr(&dom, "id=\"total-memory\"", "data-value"),
        top["total"]["memory"].to_string()
    );
    // Binary keys are not UTF-8; only the type and size columns are read.
    let csv = String::from_utf8_lossy(&run_cli(&["memory", p])).into_owned();
    let from_csv = memory_csv_per_type(&csv);
    for t in top["types"].as_array().unwrap() {
        let ty = t["type"].as_str().unwrap();
        let marker = format!("data-type=\"{ty}\"");
        assert_eq!(
            attr(&dom, &marker, "data-memory"),
            t["memory"].to_string(),
            "{ty}"
        );
        assert_eq!(
            attr(&dom, &marker, "data-keys"),
            t["keys"].to_string(),
            "{ty}"
        );
        assert_eq!(
            from_csv.get(ty).copied(),
            t["memory"].as_u64(),
            "{ty} (memory CSV)"
        );
    }
    let biggest = &top["keys"][0];
    assert_eq!(
        html_unescape(&attr(&dom, "id=\"top-key-1\"", "data-key")),
        biggest["key"].as_str().unwrap()
    );
    assert_eq!(
        attr(&dom, "id=\"top-key-1\"", "data-memory"),
        biggest["memory"].to_string()
    );

    // The screenshot.
    let png = std::env::var_os("RDB_REPORT_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("report.png"));
    let shot = format!("--screenshot={}", png.display());
    chromium(
        &page,
        &dir.join("profile"),
        &[&shot, "--window-size=1100,2400", "--hide-scrollbars"],
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    assert!(bytes.len() > 10_000, "screenshot of {} bytes", bytes.len());

    let _ = std::fs::remove_dir_all(&dir);
    let took = started.elapsed();
    eprintln!("report_html: {took:?}");
    assert!(took < Duration::from_secs(120), "took {took:?}");
}

/// A dump that cannot be read leaves no report behind.
#[test]
fn bad_input_leaves_no_file() {
    let dir = std::env::temp_dir().join(format!("rdb-report-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dump = dir.join("cut.rdb");
    std::fs::write(&dump, b"REDIS0011\xfe\x00\x00\x03key").unwrap();
    let page = dir.join("r.html");
    let out = Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .args([
            "report",
            dump.to_str().unwrap(),
            "-o",
            page.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!page.exists(), "a partial report was left");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "temporary files left: {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
