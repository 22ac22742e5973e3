#!/usr/bin/env bash
# Short fuzz run of every target on its seed corpus; exits non-zero if any target crashes
# (panic, failed property, allocation over the cap, timeout, or leak/ASan report).
#
#   fuzz/run-ci.sh                       # ~60 s of fuzzing in all, one core, stable Rust
#   FUZZ_SECONDS=600 fuzz/run-ci.sh      # total seconds, split evenly over the targets
#   FUZZ_TARGETS="value stream" fuzz/run-ci.sh
#   FUZZ_SANITIZER=address fuzz/run-ci.sh   # ASan (uses RUSTC_BOOTSTRAP=1 on stable)
#   FUZZ_OUTPUTS=1 fuzz/run-ci.sh        # also the output targets (out_*: builds the sinks,
#                                        # parquet/arrow/redis/tokio, instrumented: minutes)
#
# Installs cargo-fuzz (pinned) if missing and fills fuzz/corpus from testdata/ if a target has
# no seeds. One libFuzzer process at a time, so one core. Crash inputs land in
# fuzz/artifacts/<target>/; logs in fuzz/target/ci-logs/. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

ALL_TARGETS=(whole_file value stream listpack ziplist intset zipmap lzf structured roundtrip layout)
OUTPUT_TARGETS=(out_resp out_keys out_diff out_html)
features=()
if [ "${FUZZ_OUTPUTS:-0}" = 1 ] || [[ " ${FUZZ_TARGETS:-} " == *" out_"* ]]; then
    ALL_TARGETS+=("${OUTPUT_TARGETS[@]}")
    features=(--features outputs)
fi
read -r -a TARGETS <<<"${FUZZ_TARGETS:-${ALL_TARGETS[*]}}"
TOTAL="${FUZZ_SECONDS:-60}"
SAN="${FUZZ_SANITIZER:-none}"
CARGO_FUZZ_VERSION=0.13.2

log() { printf '[fuzz] %s\n' "$*" >&2; }

if ! cargo fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

fuzz_args=(-s "$SAN")
target_dir=target
if [ "$SAN" != none ]; then
    # Sanitizers need nightly flags (-Zsanitizer); RUSTC_BOOTSTRAP lets stable accept them.
    export RUSTC_BOOTSTRAP=1
    target_dir="target/$SAN"
    fuzz_args+=(--target-dir "$target_dir")
fi
host=$(rustc -vV | sed -n 's/^host: //p')
bin_dir="$target_dir/$host/release"

per=$((TOTAL / ${#TARGETS[@]}))
[ "$per" -ge 2 ] || per=2

# Seed directory of a target: `layout` reads the same inputs as `value`, the output targets
# (out_*) whole dumps like `whole_file`.
seeds_of() {
    case "$1" in
        layout) echo corpus/value ;;
        out_*) echo corpus/whole_file ;;
        *) echo "corpus/$1" ;;
    esac
}

for t in "${TARGETS[@]}"; do
    if [ -z "$(ls -A "$(seeds_of "$t")" 2>/dev/null)" ]; then
        log "no seeds for $t: running seed.sh"
        ./seed.sh
        break
    fi
done

log "building targets (sanitizer: $SAN)"
cargo fuzz build "${fuzz_args[@]}" "${features[@]}"
# cargo fuzz has no --locked: a stale fuzz/Cargo.lock would be rewritten in silence on every run.
if git rev-parse --git-dir >/dev/null 2>&1 && ! git diff --quiet -- Cargo.lock; then
    log "fuzz/Cargo.lock was out of date and the build rewrote it: commit fuzz/Cargo.lock"
    exit 1
fi

mkdir -p target/ci-logs
failed=()
for t in "${TARGETS[@]}"; do
    logf="target/ci-logs/$t.log"
    mkdir -p "corpus/$t" "artifacts/$t"
    # Run over a copy of the seeds so CI leaves fuzz/corpus as it was.
    work="target/ci-corpus/$t"
    rm -rf "$work"
    mkdir -p "$work"
    cp -r "$(seeds_of "$t")/." "$work/"
    log "$t: ${per}s"
    # The binary cargo-fuzz built above, run directly (what `cargo fuzz run` does, minus a
    # cargo invocation per target).
    if "$bin_dir/$t" -artifact_prefix="artifacts/$t/" \
        -max_total_time="$per" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 "$work" >"$logf" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logf")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logf")
        log "$t: ok, ${runs:-?} runs, ${rate:-?} exec/s"
    else
        log "$t: FAILED (log: fuzz/$logf)"
        grep -E -A 30 'panicked at|==alloc_cap==|ERROR: libFuzzer|ERROR: AddressSanitizer|SUMMARY' "$logf" | head -60 >&2 || tail -40 "$logf" >&2
        for a in $(sed -n "s/.*Test unit written to \(.*\)$/\1/p" "$logf"); do
            log "reproduce: (cd fuzz && cargo fuzz run ${fuzz_args[*]} $t $a)"
        done
        failed+=("$t")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    log "crashed: ${failed[*]} (inputs in fuzz/artifacts/<target>/)"
    exit 1
fi
log "all ${#TARGETS[@]} targets ran clean"
