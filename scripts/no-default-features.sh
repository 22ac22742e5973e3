#!/usr/bin/env bash
# rdb-convert built without its default features (no S3, no Parquet), as
# `cargo install --locked --path crates/rdb-cli --no-default-features` builds it:
#   1. builds it (debug) next to the default build in target/debug,
#   2. checks that it converts testdata/sample.rdb exactly as the default build does
#      (JSON, keys, memory CSV),
#   3. checks that what needs S3 or Parquet is refused: exit status 2 and a message naming
#      the missing support, and that no S3 flag is offered.
# The default build's target/debug/rdb-convert (built by `cargo test --workspace`, or here if
# missing) is put back afterwards: the later steps of scripts/test.sh use it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=target/debug/rdb-convert
dump=testdata/sample.rdb
work=$(mktemp -d)
[ -x "$bin" ] || cargo build -p rdb-cli --locked
cp "$bin" "$work/default"
# Removed before copying back: cargo hard-links the binary to its copy in target/debug/deps,
# which writing through the link would change.
trap 'rm -f "$bin"; cp "$work/default" "$bin"; rm -rf "$work"' EXIT
cargo build -p rdb-cli --no-default-features --locked
cp "$bin" "$work/minimal"
default=$work/default
minimal=$work/minimal

fail() {
    echo "no-default-features: $*" >&2
    exit 1
}

# Same output as the default build.
for args in "" "--format keys" "--format keys-csv" "--with-meta" "memory" "info"; do
    # shellcheck disable=SC2086 # the words of $args are separate arguments
    "$default" $args "$dump" >"$work/expected" || fail "default build: $args failed"
    # shellcheck disable=SC2086
    "$minimal" $args "$dump" >"$work/got" || fail "minimal build: $args failed"
    cmp -s "$work/expected" "$work/got" || fail "'rdb-convert $args $dump' differs from the default build"
done

# Refused with exit status 2 and the missing support named.
refused() {
    local support=$1
    shift
    local status=0
    "$minimal" "$@" >"$work/out" 2>"$work/err" || status=$?
    [ "$status" -eq 2 ] || fail "'rdb-convert $*' exited $status, not 2: $(cat "$work/err")"
    grep -q "built without $support support; rebuild with default features: cargo install --locked --path crates/rdb-cli" "$work/err" ||
        fail "'rdb-convert $*' did not name the missing $support support: $(cat "$work/err")"
}
refused Parquet "$dump" --format parquet --output "$work/export"
refused Parquet "$dump" --format arrow --output "$work/keys.arrows"
refused Parquet memory "$dump" --format parquet --output "$work/memory.parquet"
refused Parquet export-status "$work/export"
refused S3 s3://bucket/dump.rdb
refused S3 info s3://bucket/dump.rdb
refused S3 "$dump" --output s3://bucket/out.json
refused S3 split "$dump" --shards 2 --output-prefix s3://bucket/split/dump
[ ! -e "$work/export" ] && [ ! -e "$work/keys.arrows" ] && [ ! -e "$work/memory.parquet" ] ||
    fail "a refused command left an output behind"

# No S3 flag is offered.
"$minimal" --help >"$work/help"
! grep -q -- "--endpoint-url" "$work/help" || fail "--help offers S3 flags"

echo "no-default-features: the minimal build converts like the default one and refuses S3 and Parquet"
