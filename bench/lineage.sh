#!/usr/bin/env bash
# Benchmark of the lineage hierarchy build (patchline-lineage `Graph::build`) on synthetic
# catalogs of 10k, 50k, 100k and 200k images with a realistic fan-out (base families of
# 1 base, 5 builders, 10 enterprise images, 50 applications per enterprise image; 5 %
# stale, 2 % aliases, 5 % unrelated COTS), in one run. Goal: under 2 s for 100,000
# images, and linear growth (ns/layer roughly constant across sizes).
#
#   bash bench/lineage.sh [RUNS] [SIZES...]      (default: 3 runs of 10000 50000 100000 200000)
#   CATALOG=1 bash bench/lineage.sh              also time the SQLite catalog (add_many, list)
#
# Columns: chain_ids_ms = computing every image's chain IDs (done once per image when it
# is catalogued); build_ms / cpu_ms = median wall-clock / CPU time of Graph::build (on a
# shared machine the CPU time is the work itself); text_ms = rendering the text tree.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
RUNS="${1:-3}"
shift || true
SIZES=("$@")
((${#SIZES[@]})) || SIZES=(10000 50000 100000 200000)
EXTRA=()
[[ "${CATALOG:-}" == 1 ]] && EXTRA+=(--catalog)
cargo build --release -q -p patchline-lineage --example lineage_bench
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$TARGET_DIR/release/examples/lineage_bench" "${SIZES[@]}" --runs "$RUNS" "${EXTRA[@]}"
