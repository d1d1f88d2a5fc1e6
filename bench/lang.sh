#!/usr/bin/env bash
# Benchmark of the language inventory on an application image, in one run:
#   - the image: one gzip layer holding a node_modules tree of 50,000 files (5,000 npm
#     packages, each a package.json and nine other files) and a set of 20 jars of 10 MB
#     each (200 MB; each with a pom.properties and incompressible classes), built once
#     with Python's tarfile/zipfile into target/bench-lang (an OCI layout, tag `app`)
#   - baseline: decompressing the layer blob with flate2 + zlib-rs alone, and the same
#     plus the two sha256 passes every verified read makes (blob digest, diff_id): the
#     jars are incompressible, so on this image the hashing, not the inflating, is the floor
#   - cold: `patchline sbom` with an empty layer cache (fresh cache dir each run)
#   - peak RSS of the cold run (GNU time's %M)
# Reports medians of N runs (default 5), the ratio cold/baseline and the package count.
#
#   bash bench/lang.sh [N]
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
N="${1:-5}"
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time (apt-get install -y time)" >&2; exit 2; }

cargo build --release -q -p patchline --bin patchline
cargo build --release -q -p patchline-image --example gunzip_baseline
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/release/patchline"
BASE="$TARGET_DIR/release/examples/gunzip_baseline"
LAYOUT="$TARGET_DIR/bench-lang/layout"

if [[ ! -f "$LAYOUT/index.json" ]]; then
    echo "bench: building the application image (once) in $LAYOUT" >&2
    python3 - "$LAYOUT" <<'PY'
import gzip, hashlib, io, json, os, random, sys, tarfile, time, zipfile

out = sys.argv[1]
os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
rng = random.Random(42)

def add(tar, path, data, mode=0o644):
    info = tarfile.TarInfo(path)
    info.size = len(data)
    info.mode = mode
    info.mtime = 1700000000
    tar.addfile(info, io.BytesIO(data))

raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
    # 5,000 packages x 10 files = 50,000 files under node_modules.
    for i in range(5000):
        name = f"pkg-{i:05d}"
        d = f"app/node_modules/{name}"
        manifest = {"name": name, "version": f"1.{i % 50}.{i % 7}", "license": "MIT",
                    "description": "x" * rng.randint(50, 400)}
        add(tar, f"{d}/package.json", json.dumps(manifest, indent=2).encode())
        for j in range(9):
            add(tar, f"{d}/lib/file{j}.js", (f"module.exports = {i * 10 + j};\n" * rng.randint(5, 60)).encode())
    # 20 jars of 10 MB: stored members of random bytes, as compiled classes compress little.
    for k in range(20):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
            z.writestr(f"META-INF/maven/org.example/lib{k}/pom.properties",
                       f"groupId=org.example\nartifactId=lib{k}\nversion=2.{k}.0\n")
            for c in range(10):
                z.writestr(f"org/example/lib{k}/C{c}.class", rng.randbytes(1 << 20))
        add(tar, f"app/lib/lib{k}-2.{k}.0.jar", buf.getvalue())
layer = raw.getvalue()
diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
gz = gzip.compress(layer, compresslevel=6, mtime=0)

def blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)

ld, ls = blob(gz)
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": [diff_id]}, "config": {}}).encode()
cd, cs = blob(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": ls}]}).encode()
md, ms = blob(manifest)
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "app"}}]}, f)
print(f"layer: {len(layer)} bytes uncompressed, {len(gz)} gzip", file=sys.stderr)
PY
fi

BLOBS=$(python3 - "$LAYOUT" <<'PY'
import json, sys, os
lay = sys.argv[1]
idx = json.load(open(os.path.join(lay, "index.json")))
blob = lambda d: os.path.join(lay, "blobs", *d.split(":"))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
print(" ".join(blob(l["digest"]) for l in man["layers"]))
PY
)
SIZE=$(du -cb $BLOBS | tail -1 | cut -f1)
IMAGE="oci:$LAYOUT:app"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

cat $BLOBS >/dev/null
"$BASE" $BLOBS >/dev/null
: >"$WORK/base"; : >"$WORK/hash"; : >"$WORK/cold"; : >"$WORK/rss"
for i in $(seq "$N"); do
    t0=$(now); "$BASE" $BLOBS >/dev/null; t1=$(now)
    echo "$t1 - $t0" | bc -l >>"$WORK/base"
    t0=$(now); "$BASE" --hash $BLOBS >/dev/null; t1=$(now)
    echo "$t1 - $t0" | bc -l >>"$WORK/hash"
    rm -rf "$WORK/cache"
    t0=$(now); /usr/bin/time -f %M -o "$WORK/rss1" "$BIN" sbom "$IMAGE" --format json --cache-dir "$WORK/cache" >"$WORK/sbom.json"; t1=$(now)
    echo "$t1 - $t0" | bc -l >>"$WORK/cold"
    cat "$WORK/rss1" >>"$WORK/rss"
done
COUNTS=$(python3 -c '
import json, sys, collections
d = json.load(open(sys.argv[1]))
print(", ".join(f"{k} {v}" for k, v in sorted(collections.Counter(p["ecosystem"] for p in d["packages"]).items())) or "none")
' "$WORK/sbom.json")

B=$(median <"$WORK/base"); H=$(median <"$WORK/hash"); C=$(median <"$WORK/cold"); R=$(median <"$WORK/rss")
printf 'image: %s (%d layer blob bytes, gzip; 50,000 files in node_modules, 20 jars of 10 MB)\n' "$IMAGE" "$SIZE"
printf 'runs: %d each, medians\n' "$N"
printf 'packages found: %s\n' "$COUNTS"
printf 'baseline flate2+zlib-rs decompress: %.3f s\n' "$B"
printf 'baseline + both sha256 (1 thread):  %.3f s\n' "$H"
printf 'cold sbom (empty cache):            %.3f s  = %.2fx decompression, %.2fx verified read (goal <= 1.2x)\n' "$C" "$(echo "$C / $B" | bc -l)" "$(echo "$C / $H" | bc -l)"
printf 'peak RSS, cold sbom:                %.1f MB (goal <= 150 MB)\n' "$(echo "$R / 1024" | bc -l)"
