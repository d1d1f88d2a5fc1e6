#!/usr/bin/env bash
# Cost of the filesystem and secret checks on a cold inventory, in one run:
#   - images: the fixtures' `base` (Debian 12 minbase, one layer) and `app-lang` (base +
#     four layers of language packages), from scripts/build-fixtures.sh
#     (PATCHLINE_FIXTURES, default target/fixtures)
#   - baseline: the inventory alone (crates/patchline-checks/examples/inspect_image.rs
#     without --checks; no layer cache, so every run decompresses every layer)
#   - checks: the same with the fs and secret inspectors, the cache merge and the
#     config's secret check (--checks)
# Runs alternate between the two so that machine load hits both alike; reports medians
# of N runs (default 7) per image and the ratio checks/baseline (goal: <= 1.10).
#
#   bash bench/checks.sh [N]
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
N="${1:-7}"
FIXTURES="${PATCHLINE_FIXTURES:-target/fixtures}"
[[ -f "$FIXTURES/layout/index.json" ]] || { echo "bench: no fixtures in $FIXTURES (bash scripts/build-fixtures.sh, as root)" >&2; exit 2; }

cargo build --release -q -p patchline-checks --example inspect_image
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/release/examples/inspect_image"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

printf '%-10s %10s %10s %7s  %s\n' image baseline_s checks_s ratio findings
for tag in base app-lang; do
    IMAGE="oci:$FIXTURES/layout:$tag"
    # Warm the page cache: the blobs are read from memory in both modes.
    "$BIN" "$IMAGE" 2>/dev/null
    : >"$WORK/plain"; : >"$WORK/checks"
    for _ in $(seq "$N"); do
        t0=$(now); "$BIN" "$IMAGE" 2>/dev/null; t1=$(now)
        echo "$t1 - $t0" | bc -l >>"$WORK/plain"
        t0=$(now); "$BIN" --checks "$IMAGE" 2>"$WORK/count"; t1=$(now)
        echo "$t1 - $t0" | bc -l >>"$WORK/checks"
    done
    p=$(median <"$WORK/plain"); c=$(median <"$WORK/checks")
    printf '%-10s %10.3f %10.3f %7.3f  %s\n' "$tag" "$p" "$c" "$(echo "$c / $p" | bc -l)" "$(awk '{print $4}' "$WORK/count")"
done
