#!/usr/bin/env bash
# Whole-command comparison: rdb-convert against the floor (cat, CRC64), redis-server loading
# the same dump, and the peers a user would pick instead.
#
#   benches/compare.sh [quick|full]
#
#   quick  cache-quick (~50 MB)
#   full   cache-quick, cache-250m, cache-1g, bigkeys
#
# Installs what it needs into .bench-cache/ (gitignored): the datasets (gen-datasets.sh),
# redis-rdb-tools + python-lzf in a venv, the Rust `rdb` crate's CLI (cargo install), and a
# snapshot of our binaries (so a concurrent rebuild cannot change them mid-run). Writes
# benches/results/DATASET.{md,json}; benches/tools/report.py assembles benches/RESULTS.md.
#
# Environment:
#   RDBTOOLS_DATASETS  datasets redis-rdb-tools runs on (default: "cache-quick cache-250m";
#                      it manages ~7 MB/s, so 1 GB would take ~10 min per dataset)
#   RDB_RS_DATASETS    datasets the rdb crate's CLI runs on (default: all)
#   BENCH_MAX_WAIT     seconds to wait for the load average to drop below 1.5 (default 300)
#   BENCH_DATASETS     measure only these datasets of the set, e.g. "cache-quick bigkeys"
#                      (the other datasets' tables in RESULTS.md keep their last run)
#   BENCH_REV          build and measure this commit (git archive into .bench-cache/src-REV)
#                      instead of the working tree
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$REPO/.bench-cache"
SET="${1:-quick}"
case "$SET" in quick|full) ;; *) echo "usage: $0 [quick|full]" >&2; exit 2 ;; esac
cd "$REPO"

log() { printf '[compare] %s\n' "$*" >&2; }
mkdir -p "$CACHE/tmp" "$CACHE/bin" "$REPO/benches/results"

SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
apt_install() {
    log "apt-get install $*"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
        || { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; } \
        || log "could not install $* (continuing)"
}

# -- tools ---------------------------------------------------------------------------------
command -v hyperfine >/dev/null || apt_install hyperfine
command -v hyperfine >/dev/null || log "hyperfine unavailable: using the built-in median-of-runs timer"
[ -x /usr/bin/time ] || apt_install time
[ -x /usr/bin/time ] || { log "ERROR: /usr/bin/time is required for peak RSS"; exit 1; }

# -- datasets ------------------------------------------------------------------------------
"$REPO/benches/gen-datasets.sh" "$SET"
DATASETS=(cache-quick)
[ "$SET" = full ] && DATASETS+=(cache-250m cache-1g bigkeys)
if [ -n "${BENCH_DATASETS:-}" ]; then
    read -r -a DATASETS <<<"$BENCH_DATASETS"
fi

# -- peers ---------------------------------------------------------------------------------
VENV="$CACHE/venv"
if [ ! -x "$VENV/bin/rdb" ]; then
    log "installing redis-rdb-tools + python-lzf into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q rdbtools python-lzf redis || log "pip install rdbtools failed"
fi
if ! "$VENV/bin/python" -c 'import lzf' 2>/dev/null; then
    log "WARNING: python-lzf missing: rdbtools falls back to pure-Python LZF"
fi
if [ ! -x "$CACHE/rdb-rs/bin/rdb" ]; then
    log "installing the rdb crate's CLI (cargo install rdb --version 0.4.0)"
    cargo install rdb --version 0.4.0 --root "$CACHE/rdb-rs" > "$CACHE/rdb-rs-install.log" 2>&1 \
        || log "cargo install rdb failed: see $CACHE/rdb-rs-install.log"
fi

# -- our binaries (snapshot) -----------------------------------------------------------------
# Default: the working tree as it is. BENCH_REV=<commit> builds that commit instead, from a
# `git archive` export in .bench-cache/src (useful while the tree is being edited); the
# crc64/scan examples are copied in from the working tree if that commit lacks them.
SRC="$REPO"
TARGET="$REPO/target"
if [ -n "${BENCH_REV:-}" ]; then
    rev="$(git rev-parse --short "$BENCH_REV")"
    SRC="$CACHE/src-$rev"
    TARGET="$CACHE/src-target"
    if [ ! -f "$SRC/Cargo.toml" ]; then
        log "exporting $rev to $SRC"
        rm -rf "$SRC.tmp" && mkdir -p "$SRC.tmp"
        git archive "$rev" | tar -x -C "$SRC.tmp"
        mv "$SRC.tmp" "$SRC"
    fi
fi
# The crc64/scan examples: in rdb-format (feature mmap) since the re-layout of issue 13, in
# rdb-pipeline before.
if [ -f "$SRC/crates/rdb-format/examples/scan.rs" ]; then
    EXAMPLES_PKG=(-p rdb-format --features mmap)
else
    EXAMPLES_PKG=(-p rdb-pipeline)
fi
log "building rdb-convert and the crc64/scan examples (release) in $SRC"
(cd "$SRC" && CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p rdb-cli \
    && CARGO_TARGET_DIR="$TARGET" cargo build --release -q "${EXAMPLES_PKG[@]}" --example crc64 --example scan)
for b in rdb-convert examples/crc64 examples/scan; do
    cp "$TARGET/release/$b" "$CACHE/bin/"
done
{
    if [ -n "${BENCH_REV:-}" ]; then
        echo "commit=$(git rev-parse --short "$BENCH_REV")"
        echo "dirty=0"
    else
        echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
        echo "dirty=$(git status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null | wc -l | tr -d ' ')"
    fi
    echo "rdb_convert_version=$("$CACHE/bin/rdb-convert" --version 2>/dev/null || true)"
    echo "rustc=$(rustc --version)"
} > "$CACHE/bin/BUILD"

# -- run -------------------------------------------------------------------------------------
RDBTOOLS_DATASETS="${RDBTOOLS_DATASETS:-cache-quick cache-250m}"
RDB_RS_DATASETS="${RDB_RS_DATASETS:-cache-quick cache-250m cache-1g bigkeys}"
for ds in "${DATASETS[@]}"; do
    peers=""
    [[ " $RDB_RS_DATASETS " == *" $ds "* ]] && peers="rdb-rs"
    [[ " $RDBTOOLS_DATASETS " == *" $ds "* ]] && peers="${peers:+$peers,}rdbtools"
    python3 "$REPO/benches/tools/bench.py" --dataset "$ds" --bin "$CACHE/bin" \
        --peers "$peers" --max-wait "${BENCH_MAX_WAIT:-300}"
done
python3 "$REPO/benches/tools/report.py" "${DATASETS[@]}"
log "done: benches/RESULTS.md"
