#!/usr/bin/env bash
# Benchmark of the advisory database import, in one run:
#   - generates N (default 100,000) OSV advisories shaped like the real samples in
#     ../shared/data/osv (each a copy of a real record with a new id, aliases and package
#     names: crates/patchline-advisory/examples/gen_osv.rs) and zips them like osv.dev's
#     all.zip;
#   - imports the zip into a fresh database R times (default 3): median advisories/s;
#   - reports the on-disk database size, and lookups/s over every indexed
#     (ecosystem, package) key through the matcher's interface.
# The process CPU time (user+sys) is printed too: on a shared machine it tells the cost
# better than the wall time.
#
#   bash bench/advisory_import.sh [N] [R]
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
N="${1:-100000}"
R="${2:-3}"
DATA="${PATCHLINE_SHARED_DATA:-$PWD/../shared/data}"
[[ -d "$DATA/osv" ]] || { echo "bench: $DATA/osv not found (set PATCHLINE_SHARED_DATA)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time (apt-get install -y time)" >&2; exit 2; }

cargo build --release -q -p patchline-advisory --example gen_osv --example bench_import
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
EX="$TARGET_DIR/release/examples"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ZIP="$WORK/all.zip"
"$EX/gen_osv" "$DATA/osv" "$ZIP" "$N"
echo "input: $(du -b "$ZIP" | cut -f1) bytes zipped"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
: >"$WORK/rate"; : >"$WORK/cpu"
for i in $(seq "$R"); do
    BENCH_IMPORT_ONLY=1 /usr/bin/time -f "%U %S %M" -o "$WORK/t" "$EX/bench_import" "$ZIP" "$WORK/db.sqlite" >"$WORK/out"
    grep '^advisories_per_second=' "$WORK/out" | cut -d= -f2 >>"$WORK/rate"
    awk '{print $1+$2}' "$WORK/t" >>"$WORK/cpu"
    echo "run $i: $(tr '\n' ' ' <"$WORK/out") cpu_s=$(awk '{print $1+$2}' "$WORK/t") max_rss_kib=$(awk '{print $3}' "$WORK/t")"
done
"$EX/bench_import" "$ZIP" "$WORK/db.sqlite" >"$WORK/out"
RATE=$(median <"$WORK/rate")
CPU=$(median <"$WORK/cpu")
echo
echo "advisories:            $N (generated from $(find "$DATA/osv" -name '*.json' | wc -l) real OSV samples)"
echo "import (median of $R):  ${RATE} advisories/s wall, $(python3 -c "print(round($N/$CPU))") advisories per CPU-second"
echo "database size:         $(grep '^db_bytes=' "$WORK/out" | cut -d= -f2) bytes ($(grep '^db_bytes_per_advisory=' "$WORK/out" | cut -d= -f2) bytes/advisory)"
echo "lookups:               $(grep '^lookups_per_second=' "$WORK/out" | cut -d= -f2)/s over $(grep '^lookup_keys=' "$WORK/out" | cut -d= -f2) (ecosystem, package) keys"
echo "goal:                  >= 20000 advisories/s"
