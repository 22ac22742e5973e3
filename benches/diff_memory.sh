#!/usr/bin/env bash
# Memory and time of `rdb-convert diff` on two big dumps (issue 16: "≤ ~48 bytes per key,
# 3 M keys per side in seconds").
#
#   benches/diff_memory.sh [KEYS] [SPILL_KEYS]
#
#   KEYS        keys per side (default 3000000)
#   SPILL_KEYS  --memory-keys of the second run, small enough to force the spill to
#               hash-partitioned files (default KEYS / 10)
#   RDB_CONVERT=path   the binary (default: target/release/rdb-convert, built if missing)
#
# A real redis-server (Redis 7.0 of .test-deps/servers.env) makes dump A with
# `DEBUG POPULATE KEYS`; then five keys change (a value, a deleted key, a new key, a TTL, a
# key in another db) and it saves dump B. Both runs must find exactly those five. Each run
# is measured with /usr/bin/time -v; "per key" is (peak RSS - the same run on 1000-key
# dumps) / keys of both sides, i.e. the memory that grows with the keys (the issue's
# "≤ ~48 bytes per key"). Dumps are kept in
# .bench-cache/diff-memory/ (rebuilt when KEYS changes). Run it on a quiet machine.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYS="${1:-3000000}"
SPILL="${2:-$((KEYS / 10))}"
WORK="$REPO/.bench-cache/diff-memory"
mkdir -p "$WORK"

log() { printf '[diff-memory] %s\n' "$*" >&2; }
die() { printf '[diff-memory] ERROR: %s\n' "$*" >&2; exit 1; }

[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
CLI="$(command -v redis-cli || true)"
[ -n "$CLI" ] || die "redis-cli not found (apt-get install redis-tools)"
if [ -f "$REPO/.test-deps/servers.env" ]; then
    # shellcheck disable=SC1091
    . "$REPO/.test-deps/servers.env"
fi
SERVER="${RDB_TEST_REDIS70:-/usr/bin/redis-server}"
[ -x "$SERVER" ] || die "redis-server not found at $SERVER (scripts/test-deps.sh)"

BIN="${RDB_CONVERT:-$REPO/target/release/rdb-convert}"
if [ ! -x "$BIN" ]; then
    log "building $BIN"
    (cd "$REPO" && cargo build --release --locked -p rdb-cli --bin rdb-convert) >&2
fi

# Makes $dir/a.rdb and $dir/b.rdb with $n keys (B = A with five differences).
make_dumps() {
    local n="$1" dir="$2"
    if [ -f "$dir/a.rdb" ] && [ -f "$dir/b.rdb" ] && [ "$(cat "$dir/keys" 2>/dev/null)" = "$n" ]; then
        return
    fi
    mkdir -p "$dir"
    rm -f "$dir"/*.rdb
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    log "redis-server on port $port: DEBUG POPULATE $n"
    "$SERVER" --port "$port" --bind 127.0.0.1 --dir "$dir" --dbfilename dump.rdb \
        --save '' --appendonly no --enable-debug-command yes --daemonize no \
        >"$dir/server.log" 2>&1 &
    local pid=$!
    # shellcheck disable=SC2064
    trap "kill $pid 2>/dev/null || true" EXIT
    local r=("$CLI" -p "$port")
    for _ in $(seq 100); do "${r[@]}" ping >/dev/null 2>&1 && break; sleep 0.1; done
    "${r[@]}" debug populate "$n" key 16 >/dev/null
    "${r[@]}" save >/dev/null
    mv "$dir/dump.rdb" "$dir/a.rdb"
    "${r[@]}" set key:1 changed >/dev/null          # value
    "${r[@]}" del key:2 >/dev/null                  # only left
    "${r[@]}" set new-key x >/dev/null              # only right
    "${r[@]}" pexpireat key:3 4102444800000 >/dev/null  # TTL (2100-01-01)
    "${r[@]}" -n 1 set other-db x >/dev/null        # only right, db 1
    "${r[@]}" save >/dev/null
    mv "$dir/dump.rdb" "$dir/b.rdb"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    trap - EXIT
    echo "$n" >"$dir/keys"
}

# Runs diff under /usr/bin/time -v; prints "peak_kb wall_s".
measure() {
    local dir="$1"
    shift
    local json="$dir/diff.json" tv="$dir/time.txt" status=0
    TMPDIR="$dir" /usr/bin/time -v "$BIN" diff --format json "$@" "$dir/a.rdb" -- "$dir/b.rdb" \
        >"$json" 2>"$tv" || status=$?
    # 1: different, as it must be.
    [ "$status" = 1 ] || { cat "$tv" >&2; die "diff exited $status (expected 1: different)"; }
    python3 - "$json" <<'EOF' || die "diff did not find exactly the five differences"
import json, sys
r = json.load(open(sys.argv[1]))
kinds = sorted(",".join(d["kinds"]) for d in r["differences"])
assert r["differing"] == 5, r["differing"]
assert kinds == ["only-left", "only-right", "only-right", "ttl", "value"], kinds
EOF
    local kb wall
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tv")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tv" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    echo "$kb $wall"
}

make_dumps 1000 "$WORK/base"
make_dumps "$KEYS" "$WORK/main"
size=$(stat -c %s "$WORK/main/a.rdb")
log "dumps: $KEYS keys per side, $((size / 1048576)) MiB each"

read -r base_kb _ < <(measure "$WORK/base")
read -r base_spill_kb _ < <(measure "$WORK/base" --memory-keys 1)
read -r mem_kb mem_wall < <(measure "$WORK/main")
read -r spill_kb spill_wall < <(measure "$WORK/main" --memory-keys "$SPILL")

row() {
    awk -v name="$1" -v kb="$2" -v base="$3" -v wall="$4" -v n="$KEYS" 'BEGIN {
        printf "%-34s %10.1f MiB %10.1f B %10.2f s %12.0f keys/s\n",
            name, kb / 1024, (kb - base) * 1024 / (2 * n), wall, (wall > 0 ? 2 * n / wall : 0) }'
}
printf '%-34s %14s %12s %12s %18s\n' "run ($KEYS keys per side)" "peak RSS" "per key" "wall" "keys (both sides)"
row "in memory (default --memory-keys)" "$mem_kb" "$base_kb" "$mem_wall"
row "spilled (--memory-keys $SPILL)" "$spill_kb" "$base_spill_kb" "$spill_wall"
printf '(per key: peak RSS above the same run on 1000-key dumps, %s KiB / %s KiB, over the keys of both sides)\n' \
    "$base_kb" "$base_spill_kb"
