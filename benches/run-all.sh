#!/usr/bin/env bash
# Regenerate every benchmark artefact in one command: the datasets (cached in
# .bench-cache/datasets when unchanged), the whole-command comparison on all of them, the
# per-dataset tables in benches/results/ and benches/RESULTS.md.
#
#   benches/run-all.sh            # full: cache-quick, cache-250m, cache-1g, bigkeys
#   benches/run-all.sh quick      # only the ~50 MB dataset
#
# Takes ~30-40 minutes for full on 2 cores (redis-rdb-tools dominates); see
# benches/compare.sh for the environment knobs (BENCH_REV, RDBTOOLS_DATASETS, ...).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SET="${1:-full}"
"$REPO/benches/gen-datasets.sh" "$SET"
"$REPO/benches/compare.sh" "$SET"
