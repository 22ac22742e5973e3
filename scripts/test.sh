#!/usr/bin/env bash
# The whole test suite, as a new machine or CI runs it:
#   1. installs the real servers the tests start (scripts/test-deps.sh, cached in .test-deps/),
#   2. checks formatting, lints and the API docs (rustdoc -D warnings),
#   3. builds once and runs every test (unit, doc, corpus goldens, corrupt input, real servers),
#   4. runs each fuzz target for a few seconds (cargo-fuzz on stable, installed if missing).
# Fails, never skips, when a real server is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

started=$SECONDS
step() { printf '\n==> [%s, +%ds] %s\n' "$(date -u +%T)" $((SECONDS - started)) "$*" >&2; }

step "installing test servers (cached)"
bash scripts/test-deps.sh

step "rustfmt"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The CLI without its default features (no S3, no Parquet): the stand-ins of src/features/.
cargo clippy -p rdb-cli --no-default-features --locked -- -D warnings

step "docs (every public item documented, every link resolved)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --locked

step "packages (what cargo publish would upload: metadata, README, licenses, path dependencies' versions)"
cargo package --workspace --no-verify --locked --allow-dirty --quiet

step "tests"
cargo test --workspace --locked

step "the CLI without default features (no S3, no Parquet): same JSON, S3 and Parquet refused"
bash scripts/no-default-features.sh

step "fuzz: every target briefly on its seeds (fuzz/run-ci.sh)"
bash fuzz/run-ci.sh

step "python package: pip install ./python into the test venv, then pytest python/tests"
PYVENV="${RDB_TEST_DEPS:-.test-deps}/pyvenv"
# The wheel is built with python/Cargo.toml's dev profile (the workspace's, repeated there) in the
# workspace's target directory: it reuses the arrow, parquet and other dependencies `cargo test`
# built and compiles only pyo3 and our crates (the release profile's thin LTO took minutes of CI
# for no gain on the tests' small dumps; a separate target directory, 2.5 min more).
CARGO_TARGET_DIR="$PWD/target" MATURIN_PEP517_ARGS="--profile dev --locked" \
    "$PYVENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python
# The binary `cargo test --workspace` built for the CLI tests (building it again with -p
# rdb-cli's own feature set recompiled half the workspace: 5 min of CI).
[ -x target/debug/rdb-convert ] || cargo build -p rdb-cli --locked
RDB_CONVERT="$PWD/target/debug/rdb-convert" "$PYVENV/bin/python" -m pytest -q python/tests
step "all passed"
