#!/usr/bin/env bash
# Benchmark of `patchline sbom` on the debootstrap base image, in one run:
#   - baseline: decompressing the same layer blob(s) with flate2 + zlib-rs alone
#   - cold: `patchline sbom` with an empty layer cache (fresh cache dir each run)
#   - warm: `patchline sbom` with the layer cache filled
#   - peak RSS of the cold run (GNU time's %M)
# Reports medians of N runs (default 7) and the ratios cold/baseline and warm/cold.
#
#   bash bench/sbom.sh [N]        (needs the fixtures: bash scripts/build-fixtures.sh)
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
N="${1:-7}"
FX="${PATCHLINE_FIXTURES:-$PWD/target/fixtures}"
[[ -f "$FX/.complete" ]] || { echo "bench: fixtures missing; run: bash scripts/build-fixtures.sh" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time (apt-get install -y time)" >&2; exit 2; }

cargo build --release -q -p patchline --bin patchline
cargo build --release -q -p patchline-image --example gunzip_baseline
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/release/patchline"
BASE="$TARGET_DIR/release/examples/gunzip_baseline"
IMAGE="oci:$FX/layout:base"

# The layer blobs of the base image, from its manifest.
BLOBS=$(python3 - "$FX/layout" <<'PY'
import json, sys, os
lay = sys.argv[1]
idx = json.load(open(os.path.join(lay, "index.json")))
m = [d for d in idx["manifests"] if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == "base"][0]
blob = lambda d: os.path.join(lay, "blobs", *d.split(":"))
man = json.load(open(blob(m["digest"])))
print(" ".join(blob(l["digest"]) for l in man["layers"]))
PY
)
SIZE=$(du -cb $BLOBS | tail -1 | cut -f1)

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# Warm the page cache so every variant reads the blob from memory.
cat $BLOBS >/dev/null
"$BASE" $BLOBS >/dev/null

: >"$WORK/base" ; : >"$WORK/cold" ; : >"$WORK/warm" ; : >"$WORK/rss"
for i in $(seq "$N"); do
    t0=$(now); "$BASE" $BLOBS >/dev/null; t1=$(now)
    echo "$t1 - $t0" | bc -l >>"$WORK/base"

    rm -rf "$WORK/cache"
    t0=$(now); /usr/bin/time -f %M -o "$WORK/rss1" "$BIN" sbom "$IMAGE" --format json --cache-dir "$WORK/cache" >/dev/null; t1=$(now)
    echo "$t1 - $t0" | bc -l >>"$WORK/cold"
    cat "$WORK/rss1" >>"$WORK/rss"

    t0=$(now); "$BIN" sbom "$IMAGE" --format json --cache-dir "$WORK/cache" >/dev/null; t1=$(now)
    echo "$t1 - $t0" | bc -l >>"$WORK/warm"
done

B=$(median <"$WORK/base"); C=$(median <"$WORK/cold"); W=$(median <"$WORK/warm"); R=$(median <"$WORK/rss")
printf 'image: %s (%d layer blob bytes, gzip)\n' "$IMAGE" "$SIZE"
printf 'runs: %d each, medians\n' "$N"
printf 'baseline flate2+zlib-rs decompress: %.3f s\n' "$B"
printf 'cold sbom (empty cache):            %.3f s  = %.2fx baseline (goal <= 1.2x)\n' "$C" "$(echo "$C / $B" | bc -l)"
printf 'warm sbom (layer cache):            %.3f s  = %.1f%% of cold (goal <= 5%%)\n' "$W" "$(echo "100 * $W / $C" | bc -l)"
printf 'peak RSS, cold sbom:                %.1f MB (goal <= 150 MB)\n' "$(echo "$R / 1024" | bc -l)"
