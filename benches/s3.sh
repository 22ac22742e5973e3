#!/usr/bin/env bash
# S3 input against a local file: `rdb-convert --format parquet` from s3:// (moto's S3 server
# on 127.0.0.1) and from the same dump on disk, and `info` (download + scan) both ways.
#
#   benches/s3.sh [DATASET]     default: cache-250m if cached, else cache-quick
#
# Needs the datasets (benches/gen-datasets.sh) and moto (scripts/test-deps.sh). Waits for the
# load average to drop below 1.5 (BENCH_MAX_WAIT seconds, default 300). Prints a summary and
# writes benches/results/s3-DATASET.json (hyperfine's export).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$REPO/.bench-cache"
cd "$REPO"
log() { printf '[s3-bench] %s\n' "$*" >&2; }

DS="${1:-}"
if [ -z "$DS" ]; then
    if [ -f "$CACHE/datasets/cache-250m-r70.rdb" ]; then DS=cache-250m; else DS=cache-quick; fi
fi
DUMP="$CACHE/datasets/$DS-r70.rdb"
[ -f "$DUMP" ] || { log "missing $DUMP: run benches/gen-datasets.sh"; exit 1; }
MOTO="$(grep -s '^RDB_TEST_MOTO=' .test-deps/servers.env | cut -d= -f2- || true)"
MOTO="${MOTO:-$(command -v moto_server || true)}"
[ -n "$MOTO" ] || { log "moto_server not found: run scripts/test-deps.sh"; exit 1; }

log "building release"
cargo build --release -q -p rdb-cli
BIN="$CACHE/bin/rdb-convert-s3"
mkdir -p "$CACHE/bin" "$CACHE/tmp" benches/results
cp target/release/rdb-convert "$BIN"

waited=0
while awk '{exit !($1 >= 1.5)}' /proc/loadavg; do
    [ "$waited" -ge "${BENCH_MAX_WAIT:-300}" ] && { log "load still $(cut -d' ' -f1 /proc/loadavg) after ${waited}s: giving up"; exit 1; }
    sleep 10; waited=$((waited + 10))
done
LOAD_START="$(cut -d' ' -f1 /proc/loadavg)"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$MOTO" -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
MOTO_PID=$!
TMP="$CACHE/tmp/s3-bench.$$"
trap 'kill "$MOTO_PID" 2>/dev/null || true; rm -rf "$TMP"' EXIT
mkdir -p "$TMP"
EP="http://127.0.0.1:$PORT"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))" 2>/dev/null && break; sleep 0.1; done
log "uploading $DS ($(du -h "$DUMP" | cut -f1)) to moto"
SHARD="$CACHE/datasets/cache-quick-r70.rdb"
[ -f "$SHARD" ] || SHARD="$DUMP"
EP="$EP" DUMP="$DUMP" SHARD="$SHARD" python3 -c '
import boto3, os
s3 = boto3.client("s3", endpoint_url=os.environ["EP"], region_name="us-east-1")
s3.create_bucket(Bucket="bench")
s3.upload_file(os.environ["DUMP"], "bench", "dump.rdb")
# Four shards: the next one downloads while the current one converts.
for i in range(1, 5):
    s3.upload_file(os.environ["SHARD"], "bench", f"shards/name-{i:04}.rdb")
'

mkdir -p "$TMP/shards"
for i in 1 2 3 4; do ln -sf "$SHARD" "$TMP/shards/name-000$i.rdb"; done
SIZE="$(stat -c %s "$DUMP")"
JSON="benches/results/s3-$DS.json"
hyperfine --warmup 1 --runs 3 --export-json "$JSON" \
    --prepare "rm -rf $TMP/out" \
    -n "local → parquet" "$BIN $DUMP --format parquet -o $TMP/out --no-progress" \
    -n "s3 → parquet" "$BIN s3://bench/dump.rdb --endpoint-url $EP --format parquet -o $TMP/out --no-progress" \
    -n "local info" "$BIN info $DUMP" \
    -n "s3 info" "$BIN info s3://bench/dump.rdb --endpoint-url $EP" \
    -n "local 4 shards → parquet" "$BIN $TMP/shards/name-0001.rdb $TMP/shards/name-0002.rdb $TMP/shards/name-0003.rdb $TMP/shards/name-0004.rdb --format parquet -o $TMP/out --no-progress" \
    -n "s3 4 shards → parquet" "$BIN s3://bench/shards/ --endpoint-url $EP --format parquet -o $TMP/out --no-progress" >&2
LOAD_END="$(cut -d' ' -f1 /proc/loadavg)"

python3 - "$JSON" "$SIZE" "$DS" "$LOAD_START" "$LOAD_END" "$(( $(stat -c %s "$SHARD") * 4 ))" <<'EOF'
import json, sys
path, size, ds, l0, l1, shards = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
r = {x["command"]: x for x in json.load(open(path))["results"]}
def mbs(name):
    return (shards if "shards" in name else size) / 1e6 / r[name]["median"]
print(f"{ds} ({size/1e6:.1f} MB), load {l0}-{l1}, median of 3:")
for name in r:
    print(f"  {name:16} {r[name]['median']:.2f} s  {mbs(name):6.0f} MB/s")
print(f"S3 (moto on loopback) → Parquet {mbs('s3 → parquet'):.0f} MB/s vs local file → Parquet "
      f"{mbs('local → parquet'):.0f} MB/s; download + info {mbs('s3 info'):.0f} MB/s vs {mbs('local info'):.0f} MB/s; "
      f"4 shards → Parquet {mbs('s3 4 shards → parquet'):.0f} MB/s vs {mbs('local 4 shards → parquet'):.0f} MB/s")
EOF
