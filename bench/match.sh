#!/usr/bin/env bash
# Benchmark of matching (`patchline-match`, `patchline scan`) on the debootstrap child image
# (`layout:child`, 104 Debian 12 packages), in one run:
#   1. generates an advisory DB of >= 100,000 advisories (GENERATED data, shaped like the
#      real samples in ../shared/data: Debian security tracker JSON for Debian 12/11/13
#      source packages, the image's own among them; OSV records for PyPI, npm, Go,
#      crates.io, Maven, Alpine and Ubuntu; DSA-style OSV records aliasing tracker CVEs;
#      NVD API 2.0 CVSS and EPSS for 40,000 CVEs; the real CISA KEV catalog) and imports
#      it with `patchline db import` (timed);
#   2. inventory time of the image: `patchline sbom` with an empty layer cache (cold) and
#      a filled one (warm);
#   3. matching time, in process (examples/match_bench.rs): first scan of the process and
#      the median of RUNS scans, each with a fresh matcher (nothing cached between scans);
#   4. end to end `patchline scan` (warm layer cache) next to `patchline sbom` (warm);
#   5. rematch throughput, in inventories per second: a stored JSON inventory parsed and
#      rescanned in a loop (fresh matcher each time); the same from the stored CycloneDX
#      SBOM; and with one matcher shared across inventories (a server's batch rematch).
# Reports medians. Needs the fixtures (bash scripts/build-fixtures.sh) and python3.
#
#   bash bench/match.sh [N_ADVISORIES] [RUNS] [SECONDS]     (defaults: 110000 7 5)
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
N="${1:-110000}"
RUNS="${2:-7}"
SECONDS_PER_RATE="${3:-5}"
FX="${PATCHLINE_FIXTURES:-$PWD/target/fixtures}"
[[ -f "$FX/.complete" ]] || { echo "bench: fixtures missing; run: bash scripts/build-fixtures.sh" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench: needs python3" >&2; exit 2; }
(( N >= 100000 )) || echo "bench: note: N=$N is below the 100,000 advisories the issue asks for" >&2

cargo build --release -q -p patchline --bin patchline
cargo build --release -q -p patchline-match --example match_bench
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/release/patchline"
MB="$TARGET_DIR/release/examples/match_bench"
IMAGE="oci:$FX/layout:child"
KEV="$PWD/../shared/data/feeds/kev/known_exploited_vulnerabilities.json"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms() { echo "($2 - $1) * 1000" | bc -l; }

echo "== generating $N advisories (synthetic, shaped like the real samples)"
python3 - "$FX/child-packages.tsv" "$WORK" "$N" <<'PY'
import json, random, sys, os
random.seed(20261128)
tsv, out, n_total = sys.argv[1], sys.argv[2], int(sys.argv[3])
# The image's source packages, with the installed version of one of their binaries.
image = {}
for line in open(tsv):
    name, version, source = line.rstrip("\n").split("\t")
    image.setdefault(source, version.split(":")[-1].split("+b")[0])

# Real CVSS vectors (from the NVD samples and Trivy's fixtures).
V3 = ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H",
      "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H",
      "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N",
      "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"]
V2 = ["AV:N/AC:L/Au:N/C:P/I:P/A:P", "AV:L/AC:L/Au:N/C:P/I:P/A:P", "AV:N/AC:M/Au:N/C:P/I:N/A:N",
      "AV:N/AC:L/Au:N/C:P/I:N/A:N", "AV:L/AC:L/Au:N/C:C/I:C/A:C"]

cve_n = [0]
def new_cve():
    cve_n[0] += 1
    return "CVE-%d-%05d" % (2000 + cve_n[0] % 26, 10000 + cve_n[0])

n_tracker = int(n_total * 0.55)
n_dsa = 1000
n_osv = n_total - n_tracker - n_dsa + 500
tracker, tracker_cves, image_cves = {}, [], []
def release_entry(version, own):
    r = random.random()
    if r < 0.45:
        fixed = version + ("+deb12u99" if random.random() < 0.5 else "~pre1") if own else \
            "%d.%d-%d" % (random.randint(0, 9), random.randint(0, 30), random.randint(1, 5))
        return {"status": "resolved", "repositories": {"bookworm": version}, "fixed_version": fixed,
                "urgency": random.choice(["low", "medium", "high", "not yet assigned"])}
    if r < 0.50:
        return {"status": "resolved", "repositories": {"bookworm": version}, "fixed_version": "0",
                "urgency": "unimportant"}
    if r < 0.80:
        return {"status": "open", "repositories": {"bookworm": version}, "urgency": "unimportant"}
    if r < 0.95:
        return {"status": "open", "repositories": {"bookworm": version},
                "urgency": random.choice(["low", "medium", "high", "not yet assigned"])}
    return {"status": "open", "repositories": {"bookworm": version}, "urgency": "low",
            "nodsa": "Minor issue", "nodsa_reason": "ignored"}
sources = [(s, v, True) for s, v in sorted(image.items())]
i = 0
while sum(len(c) for c in tracker.values()) < n_tracker:
    if i < len(sources):
        src, ver, own, count = *sources[i], 40
    else:
        src, ver, own, count = "src%05d" % i, "%d.%d.%d-%d" % (random.randint(0, 9), random.randint(0, 40), random.randint(0, 9), random.randint(1, 4)), False, random.randint(3, 15)
    i += 1
    entries = tracker.setdefault(src, {})
    for _ in range(count):
        cve = new_cve()
        rels = {"bookworm": release_entry(ver, own)}
        for code in ("bullseye", "trixie"):
            if random.random() < 0.5:
                rels[code] = release_entry(ver, False)
        entries[cve] = {"description": "Generated advisory %s for %s." % (cve, src), "releases": rels}
        tracker_cves.append(cve)
        if own:
            image_cves.append((cve, src, ver))
json.dump(tracker, open(os.path.join(out, "tracker.json"), "w"))

osv = []
for k in range(n_dsa):   # DSA-style records aliasing tracker CVEs of the image's sources
    cve, src, ver = random.choice(image_cves)
    osv.append({"id": "DSA-%d-1" % (6000 + k), "aliases": [cve], "summary": "%s security update" % src,
                "affected": [{"package": {"ecosystem": "Debian:12", "name": src},
                              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": ver + "+deb12u99"}]}]}]})
ECOS = [("PyPI", "PYSEC-2024-%d", "ECOSYSTEM", 30), ("npm", "GHSA-%s", "SEMVER", 25),
        ("Go", "GO-2024-%d", "SEMVER", 15), ("crates.io", "RUSTSEC-2024-%d", "ECOSYSTEM", 10),
        ("Maven", "GHSA-%s", "ECOSYSTEM", 10), ("Alpine:v3.18", "ALPINE-%s", "ECOSYSTEM", 5),
        ("Ubuntu:22.04:LTS", "UBUNTU-%s", "ECOSYSTEM", 5)]
weights = [e[3] for e in ECOS]
def ghsa():
    a = "23456789cfghjmpqrvwx"
    return "-".join("".join(random.choice(a) for _ in range(4)) for _ in range(3))
for k in range(n_osv):
    eco, fmt, kind, _ = random.choices(ECOS, weights)[0]
    cve = random.choice(tracker_cves) if random.random() < 0.2 else new_cve()
    if "%d" in fmt:
        rid = fmt % (100000 + k)
    elif eco.startswith(("Alpine", "Ubuntu")):
        rid = fmt % cve
    else:
        rid = fmt % ghsa()
    name = "pkg%05d" % random.randint(0, 19999)
    if eco.startswith("Alpine"):
        introduced, fixed = "0", "%d.%d.%d-r%d" % (random.randint(0, 5), random.randint(0, 20), random.randint(0, 9), random.randint(0, 5))
    elif eco.startswith("Ubuntu"):
        introduced, fixed = "0", "%d.%d-%dubuntu%d" % (random.randint(0, 5), random.randint(0, 20), random.randint(1, 5), random.randint(1, 3))
    else:
        a, b = random.randint(0, 5), random.randint(0, 20)
        introduced, fixed = ("0" if random.random() < 0.5 else "%d.0.0" % a), "%d.%d.%d" % (a, b, random.randint(1, 9))
    rec = {"id": rid, "modified": "2024-06-01T00:00:00Z", "published": "2024-05-01T00:00:00Z",
           "aliases": [cve], "summary": "Generated advisory %s" % rid,
           "details": "Generated from the shape of the real OSV samples.",
           "affected": [{"package": {"ecosystem": eco, "name": name},
                         "ranges": [{"type": kind, "events": [{"introduced": introduced}, {"fixed": fixed}]}]}],
           "severity": [{"type": "CVSS_V3", "score": random.choice(V3)}],
           "references": [{"type": "ADVISORY", "url": "https://example.invalid/%s" % rid}]}
    if random.random() < 0.2:
        rec["affected"][0]["versions"] = [introduced if introduced != "0" else fixed]
    osv.append(rec)
json.dump(osv, open(os.path.join(out, "osv.json"), "w"))

nvd_cves = random.sample(tracker_cves, min(len(tracker_cves), 36000)) + [c for c, _, _ in image_cves]
vulns = []
for cve in sorted(set(nvd_cves)):
    m = {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary",
                            "cvssData": {"version": "3.1", "vectorString": random.choice(V3)}}]}
    if random.random() < 0.5:
        m["cvssMetricV2"] = [{"source": "nvd@nist.gov", "type": "Primary",
                              "cvssData": {"version": "2.0", "vectorString": random.choice(V2)}}]
    vulns.append({"cve": {"id": cve, "descriptions": [{"lang": "en", "value": "Generated."}], "metrics": m}})
json.dump({"resultsPerPage": len(vulns), "startIndex": 0, "totalResults": len(vulns), "format": "NVD_CVE",
           "version": "2.0", "timestamp": "2026-11-28T00:00:00.000", "vulnerabilities": vulns},
          open(os.path.join(out, "nvd.json"), "w"))
with open(os.path.join(out, "epss.csv"), "w") as f:
    f.write("#model_version:v2023.03.01,score_date:2026-11-28T00:00:00+0000\ncve,epss,percentile\n")
    for cve in sorted(set(nvd_cves)):
        s = random.random() ** 4
        f.write("%s,%.5f,%.5f\n" % (cve, s, min(1.0, s ** 0.25)))
print("generated: %d tracker CVE entries, %d OSV records (%d DSA-style), %d NVD/EPSS CVEs"
      % (len(tracker_cves), len(osv), n_dsa, len(set(nvd_cves))))
PY
FEEDS=("$WORK/tracker.json" "$WORK/osv.json" "$WORK/nvd.json" "$WORK/epss.csv")
[[ -f "$KEV" ]] && FEEDS+=("$KEV")
du -ch "${FEEDS[@]}" | tail -1 | sed 's/^/feeds on disk: /'

DB="$WORK/bench.sqlite"
t0=$(now); "$BIN" db import --db "$DB" "${FEEDS[@]}" >"$WORK/import.log" 2>&1; t1=$(now)
IMPORT_S=$(echo "$t1 - $t0" | bc -l)
tail -1 "$WORK/import.log"
DB_SIZE=$(du -b "$DB" | cut -f1)

echo "== inventory and scan timings ($RUNS runs each)"
"$BIN" sbom "$IMAGE" --format json --cache-dir "$WORK/warm" -o "$WORK/child.json"
"$BIN" sbom "$IMAGE" --format cyclonedx --cache-dir "$WORK/warm" -o "$WORK/child.cdx.json"
: >"$WORK/cold"; : >"$WORK/warm_t"; : >"$WORK/scan_t"
for i in $(seq "$RUNS"); do
    rm -rf "$WORK/cold-cache"
    t0=$(now); "$BIN" sbom "$IMAGE" --format json --cache-dir "$WORK/cold-cache" >/dev/null; t1=$(now)
    ms "$t0" "$t1" >>"$WORK/cold"
    t0=$(now); "$BIN" sbom "$IMAGE" --format json --cache-dir "$WORK/warm" >/dev/null; t1=$(now)
    ms "$t0" "$t1" >>"$WORK/warm_t"
    t0=$(now); "$BIN" scan "$IMAGE" --db "$DB" --format json --cache-dir "$WORK/warm" >"$WORK/scan.json"; t1=$(now)
    ms "$t0" "$t1" >>"$WORK/scan_t"
done
COLD=$(median <"$WORK/cold"); WARM=$(median <"$WORK/warm_t"); SCAN=$(median <"$WORK/scan_t")
FINDINGS=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$WORK/scan.json")

echo "== in-process matching and rematch"
"$MB" "$DB" "$WORK/child.json" "$WORK/child.cdx.json" 25 "$SECONDS_PER_RATE" | tee "$WORK/mb"
get() { awk -v k="$1" '$1==k {print $2}' "$WORK/mb"; }

echo
echo "== summary (medians)"
printf 'advisory DB: %s advisories, %s enrichment records (generated + real KEV), %.1f MB; import %.1f s\n' \
    "$(get db_advisories)" "$(get db_enrichment)" "$(echo "$DB_SIZE / 1048576" | bc -l)" "$IMPORT_S"
printf 'image: %s packages; %s findings\n' "$(get packages)" "$FINDINGS"
printf 'inventory (patchline sbom, cold layer cache):  %8.1f ms\n' "$COLD"
printf 'inventory (patchline sbom, warm layer cache):  %8.1f ms\n' "$WARM"
printf 'matching, in process (fresh matcher):          %8.2f ms  (first scan of the process: %s ms)\n' "$(get scan_ms_median)" "$(get first_scan_ms)"
printf 'patchline scan end to end (warm layer cache):  %8.1f ms\n' "$SCAN"
printf 'matching / cold inventory:                     %8.3f\n' "$(echo "$(get scan_ms_median) / $COLD" | bc -l)"
printf 'rematch from stored JSON inventory:            %8.1f inventories/s\n' "$(get rematch_json_per_s)"
printf 'rematch from stored CycloneDX SBOM:            %8.1f inventories/s\n' "$(get rematch_cdx_per_s)"
printf 'rematch, one matcher shared across inventories:%8.1f inventories/s\n' "$(get rematch_shared_per_s)"
