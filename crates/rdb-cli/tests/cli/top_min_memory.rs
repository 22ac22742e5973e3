//! `top --min-memory BYTES`: only keys whose estimate (the memory CSV's `size_in_bytes`) is at
//! least BYTES are ranked and counted, in tables, JSON and folded lines alike.

use std::process::Command;

fn sample() -> String {
    crate::common::server::workspace_root()
        .join("testdata/sample.rdb")
        .display()
        .to_string()
}

fn stdout_of(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// (key, estimate) of every key, from the memory CSV.
fn estimates(file: &str) -> Vec<(String, u64)> {
    let csv = stdout_of(&["memory", file, "--escape", "base64"]);
    csv.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[2].to_string(), f[3].parse().unwrap())
        })
        .collect()
}

#[test]
fn top_min_memory_keeps_keys_at_or_above_the_threshold() {
    let s = sample();
    let mut all = estimates(&s);
    all.sort_by_key(|(_, m)| *m);
    assert!(all.len() >= 4, "{all:?}");
    // A threshold equal to a key's estimate keeps that key.
    let threshold = all[all.len() / 2].1;
    let want: Vec<u64> = all
        .iter()
        .filter(|(_, m)| *m >= threshold)
        .map(|(_, m)| *m)
        .collect();
    let kept = want.len() as u64;
    assert!(kept < all.len() as u64, "the threshold leaves keys out");
    let t = threshold.to_string();
    let json: serde_json::Value = serde_json::from_str(&stdout_of(&[
        "top",
        &s,
        "--json",
        "-n",
        "100000",
        "--min-memory",
        &t,
    ]))
    .unwrap();
    let keys = json["keys"].as_array().expect("keys");
    let mut got: Vec<u64> = keys
        .iter()
        .map(|k| k["memory"].as_u64().expect("memory"))
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(keys.len() as u64, kept);
    assert_eq!(
        json["total"]["keys"].as_u64(),
        Some(kept),
        "totals count only the kept keys"
    );
    // Folded lines: one per kept key, weighed by the estimate.
    let folded = stdout_of(&["top", &s, "--folded", "--min-memory", &t]);
    assert_eq!(folded.lines().count() as u64, kept);
    for l in folded.lines() {
        let w: u64 = l.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(w >= threshold, "{l}");
    }
    // Without a threshold, every key.
    let folded = stdout_of(&["top", &s, "--folded", "--by", "size"]);
    assert_eq!(folded.lines().count(), all.len());
}
