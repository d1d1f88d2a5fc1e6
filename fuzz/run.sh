#!/usr/bin/env bash
# Runs one fuzz target for a fixed number of executions, seeded from ../shared/data.
#   fuzz/run.sh TARGET [RUNS]     (needs nightly and `cargo install cargo-fuzz`)
# The seed corpus is rebuilt under fuzz/corpus/TARGET (not committed: it is third-party
# data); libFuzzer's last "#N DONE" line gives the execution count.
set -euo pipefail
target=$1
runs=${2:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
data=${PATCHLINE_SHARED_DATA:-$here/../../shared/data}
corpus=$here/corpus/$target
mkdir -p "$corpus"
seed() { find "$@" -type f -size -1024k 2>/dev/null | head -200 | while read -r f; do cp -f "$f" "$corpus/$(sha1sum "$f" | cut -c1-16)"; done; }
case $target in
  dpkg) seed "$data/pkgdb/trivy/dpkg" "$data/pkgdb/osv-scalibr/dpkg" ;;
  apk) seed "$data/pkgdb/osv-scalibr/apk" ;;
  python) seed "$data/language/osv-scalibr/python" ;;
  rpm_db|rpm_header) seed "$data/pkgdb/osv-scalibr/rpm" ;;
  os_release) seed "$data/pkgdb/trivy/os-release" ;;
  osv_json) seed "$data/osv" ;;
  npm) seed "$data/language/osv-scalibr/javascript" ;;
  vercmp) seed "$data/versions" ;;
  binary) seed "$data/language/osv-scalibr/rust/cargoauditable/testdata" "$data/language/osv-scalibr/golang/gobinary/testdata" ;;
  cargo_lock) seed "$data/language/osv-scalibr/rust/cargolock/testdata" ;;
  gemspec) seed "$data/language/osv-scalibr/ruby" ;;
  composer) seed "$data/language/osv-scalibr/php" ;;
  deps_json) seed "$data/language/osv-scalibr/dotnet" ;;
  java_archive) seed "$data/language/osv-scalibr/java/archive/testdata" ;;
  vex) seed "$here/../crates/patchline-policy/tests/data/vex" ;;
  policy_file) seed "$here/../docs/policy.md" ;;
  containerfile_lint) seed "$here/../crates/patchline-checks/tests/data/containerfiles" ;;
  containerfile|tar_walk|secrets) ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
cd "$here"
cargo +nightly fuzz run "$target" "$corpus" -- -runs="$runs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1
