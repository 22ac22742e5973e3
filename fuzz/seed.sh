#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds taken from the real dumps in testdata/corpus:
# whole files, single values, stream values, and every listpack/ziplist/intset/zipmap blob and
# LZF string found inside them (see src/bin/extract_seeds.rs). Idempotent: seeds are named by a
# hash of their content. Usage: fuzz/seed.sh [corpus-dir]   (default fuzz/corpus)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
out="${1:-corpus}"
# A plain build (no fuzzing instrumentation) in its own target dir, so it never invalidates the
# instrumented one cargo-fuzz uses.
CARGO_TARGET_DIR="${FUZZ_TOOLS_TARGET_DIR:-target/tools}" \
    cargo run --quiet --release --features tools --bin extract_seeds -- ../testdata/corpus "$out"
