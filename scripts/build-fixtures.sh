#!/usr/bin/env bash
# Builds real container images from a debootstrap'd Debian 12 (bookworm) minbase
# root filesystem, for patchline's integration tests.
#
#   bash scripts/build-fixtures.sh [OUT]      (default OUT: <repo>/target/fixtures; run as root)
#
# Outputs in OUT:
#   rootfs-base/            the base root filesystem (dpkg oracle:
#                           dpkg-query --admindir=rootfs-base/var/lib/dpkg -W)
#   layout/                 OCI layout, tags `base` (one layer), `child` (base + one layer
#                           installing an old, vulnerable curl + /opt/app/hello.txt),
#                           `base-patched` (base + one layer upgrading one package) and
#                           `app-lang` (base + four layers of language packages: Debian's
#                           python3-requests/-six, node-inherits, libcommons-lang3-java, fzf;
#                           a pip venv /opt/pyapp/venv; an npm project /opt/nodeapp; Go and
#                           Rust programs in /opt/goapp/bin, /opt/rustapp/bin)
#                           `app-checks` (base + three layers of planted problems for the
#                           filesystem and secret checks: credentials in files, one of them
#                           deleted by the next layer, setuid/setgid copies, world-writable
#                           paths, apt leftovers; a config running as root with a token in
#                           ENV and in a label)
#   base.oci.tar child.oci.tar        oci-archive (tag base / child)
#   base.docker.tar child.docker.tar  docker-archive (base:1 / child:1)
#   child-curl-version      the curl (= libcurl4) version installed in `child`
#   base-patched-upgrade    PKG<TAB>OLD<TAB>NEW: the one package of `base` upgraded in the
#                           layout tag `base-patched` (base + one layer); when apt offers no
#                           upgrade, the single line `none<TAB>-<TAB>-` and that layer only
#                           adds /etc/patch-level
#   base-packages.tsv child-packages.tsv app-lang-packages.tsv
#                           Package<TAB>Version<TAB>Source from dpkg-query
#   app-lang-*              oracles for `app-lang`, each written by the ecosystem's tool:
#     app-lang-dpkg-owned.txt     language metadata files dpkg owns (from info/*.list)
#     app-lang-python-system.json importlib.metadata over Debian's dist-packages
#     app-lang-pip.json           `pip inspect` of the venv
#     app-lang-npm.json           `npm ls --all --json` of /opt/nodeapp
#     app-lang-go.txt             `go version -m` of the Go binary (only with go on the host)
#     app-lang-cargo-audit.json   `rust-audit-info` of the Rust binary (only if cargo-auditable
#                                 built it); app-lang-cargo.lock its Cargo.lock
#                           manifest.txt's [app-lang] section says which were written and how
#                           each program was built (Go and Rust fall back, see below).
#   app-checks-planted.tsv  the oracle for `app-checks`: CHECK_ID<TAB>PATH<TAB>LAYER<TAB>REMOVED_IN
#   app-checks-secrets.txt  every secret value planted in `app-checks` (fake tokens, a line of
#                           each generated key): no output may show one
#   manifest.txt            what was built: digests, diff_ids, sizes
#   .complete               version stamp; present only once everything above is in place
#
# Host tools: debootstrap, umoci, skopeo; for `app-checks` ssh-keygen and openssl; for `app-lang` also `python3 -m pip` (downloads
# the venv's wheels) and npm (installs /opt/nodeapp), both with the host's registry
# settings. Optional: go with golang-golang-x-net-dev (without them Debian's umoci binary
# stands in for the Go program) and cargo (without it, no Rust program). cargo-auditable and
# rust-audit-info are `cargo install`ed into OUT-cache/cargo-tools; go's build cache is
# OUT-cache/go-build.
# Environment overrides: PATCHLINE_DEBIAN_MIRROR, PATCHLINE_DEBIAN_SECURITY_MIRROR.
# Exit codes: 0 built or already up to date; 1 build failed; 2 not root / missing tool.
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
REPO_ROOT="$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd)"
# The stamp is the script's own hash: any change to the recipe invalidates old fixtures.
SCRIPT_VERSION="$(sha256sum "$SCRIPT_PATH" | cut -c1-64)"
STAMP="patchline-fixtures $SCRIPT_VERSION"
SUITE=bookworm
# Bump when the debootstrap step or the cleaning of its result changes; the rootfs
# cache is keyed by this and the mirror, not by the whole script, so that editing the
# image steps below does not cost another debootstrap.
ROOTFS_RECIPE_VERSION=1
# bookworm-security keeps this build although later ones fix several CVEs in it.
PREFERRED_CURL_VERSION='7.88.1-10+deb12u5'

OUT="${1:-$REPO_ROOT/target/fixtures}"
OUT="${OUT%/}"
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"

# A trap may run while a redirected command (a build step's log file) is current, so
# messages go to a copy of the original stderr.
exec {LOG_FD}>&2
log() { printf '[build-fixtures %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&"$LOG_FD"; }
die() { log "error: $*"; exit 1; }

is_current() { [[ -f "$OUT/.complete" ]] && [[ "$(cat "$OUT/.complete")" == "$STAMP" ]]; }

# Checked before the root test so that unprivileged test processes can call this
# script cheaply once CI has built the fixtures.
if is_current; then
    log "up to date: $OUT"
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "build-fixtures: must run as root (debootstrap, chroot and mount need it); try: sudo bash $0 ${1:-}" >&2
    exit 2
fi
missing=()
for tool in debootstrap umoci skopeo chroot mount umount mountpoint flock tar sha256sum dpkg python3 npm ssh-keygen openssl base64; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if command -v python3 >/dev/null 2>&1 && ! python3 -m pip --version >/dev/null 2>&1; then
    missing+=("python3-pip")
fi
if ((${#missing[@]})); then
    echo "build-fixtures: missing tools: ${missing[*]}" >&2
    echo "  install with: apt-get install -y --no-install-recommends debootstrap umoci skopeo python3-pip npm openssh-client openssl" >&2
    exit 2
fi

exec 9>"$OUT.lock"
if ! flock -n 9; then
    log "another build holds $OUT.lock; waiting"
    flock -w 3600 9 || die "timed out waiting for $OUT.lock"
fi
# The build we waited for may have produced exactly what we need.
if is_current; then
    log "up to date (built by another process): $OUT"
    exit 0
fi

TMP="$OUT.tmp.$$"
MOUNTS=()
cleanup() {
    local rc=$? m
    set +e
    for m in "${MOUNTS[@]}"; do
        if mountpoint -q "$m"; then
            umount "$m" || umount -l "$m"
        fi
    done
    # --one-file-system: should an unmount have failed, never descend into a live /proc.
    [[ -d "$TMP" ]] && rm -rf --one-file-system "$TMP"
    [[ -n "${CACHE_TMP:-}" ]] && rm -f "$CACHE_TMP"
    if ((rc != 0)); then log "FAILED (exit $rc); removed the partial build $TMP; $OUT untouched"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step_start=$SECONDS
step() {
    log "$* (previous step: $((SECONDS - step_start)) s)"
    step_start=$SECONDS
}

# ---- mirrors ------------------------------------------------------------------
# Prints "URI<TAB>suite suite..." for each enabled deb source of the host.
host_sources() {
    local f=/etc/apt/sources.list.d/debian.sources
    if [[ -r $f ]]; then
        awk '
            function flush() {
                if (uris != "" && types ~ /(^| )deb( |$)/ && enabled != "no") {
                    n = split(uris, u, " ")
                    for (i = 1; i <= n; i++) print u[i] "\t" suites
                }
                uris = ""; suites = ""; types = ""; enabled = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]*#/ { next }
            {
                key = tolower($1); sub(/:$/, "", key)
                val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                if (key == "uris") uris = val
                else if (key == "suites") suites = val
                else if (key == "types") types = val
                else if (key == "enabled") enabled = tolower(val)
            }
            END { flush() }' "$f"
    fi
    f=/etc/apt/sources.list
    if [[ -r $f ]]; then
        # deb [options] URI suite components...
        awk '$1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if (i + 1 <= NF) print $i "\t" $(i + 1)
            }' "$f"
    fi
}

MIRROR="${PATCHLINE_DEBIAN_MIRROR:-}"
SECURITY_MIRROR="${PATCHLINE_DEBIAN_SECURITY_MIRROR:-}"
sources="$(host_sources || true)"
if [[ -z $MIRROR ]]; then
    MIRROR="$(awk -F'\t' '$1 !~ /debian-security/ && $2 !~ /-security/ { print $1; exit }' <<<"$sources")"
fi
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
MIRROR="${MIRROR%/}"
if [[ -z $SECURITY_MIRROR ]]; then
    SECURITY_MIRROR="$(awk -F'\t' '$1 ~ /debian-security/ || $2 ~ /-security/ { print $1; exit }' <<<"$sources")"
fi
if [[ -z $SECURITY_MIRROR ]]; then
    # Same host, Debian's conventional security archive path.
    SECURITY_MIRROR="$(sed -E 's#^([a-z+]+://[^/]+).*#\1#' <<<"$MIRROR")/debian-security"
fi
SECURITY_MIRROR="${SECURITY_MIRROR%/}"
ARCH="$(dpkg --print-architecture)"
log "building $OUT (version ${SCRIPT_VERSION:0:12}) arch=$ARCH mirror=$MIRROR security=$SECURITY_MIRROR"

rm -rf --one-file-system "$TMP"
mkdir -p "$TMP/_work"
WORK="$TMP/_work"

# ---- base root filesystem (cached tarball) ----------------------------------------
CACHE_DIR="$(dirname "$OUT")/$(basename "$OUT")-cache"
ROOTFS_KEY="$(printf 'recipe=%s suite=%s variant=minbase arch=%s mirror=%s\n' \
    "$ROOTFS_RECIPE_VERSION" "$SUITE" "$ARCH" "$MIRROR" | sha256sum | cut -c1-16)"
ROOTFS_TAR="$CACHE_DIR/$SUITE-minbase-$ARCH-$ROOTFS_KEY.tar"
ROOTFS="$TMP/rootfs-base"
mkdir -p "$CACHE_DIR"

if [[ -f $ROOTFS_TAR ]]; then
    step "extracting cached rootfs $ROOTFS_TAR"
    mkdir "$ROOTFS"
    tar --numeric-owner --xattrs --xattrs-include='*' -xpf "$ROOTFS_TAR" -C "$ROOTFS"
else
    step "debootstrap --variant=minbase $SUITE ($MIRROR)"
    if ! debootstrap --variant=minbase --arch="$ARCH" "$SUITE" "$ROOTFS" "$MIRROR" \
        >"$WORK/debootstrap.log" 2>&1; then
        tail -n 40 "$WORK/debootstrap.log" >&2
        [[ -f "$ROOTFS/debootstrap/debootstrap.log" ]] && tail -n 40 "$ROOTFS/debootstrap/debootstrap.log" >&2
        die "debootstrap failed"
    fi
    # An image ships neither downloaded packages, index files nor the builder's DNS setup.
    rm -f "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin
    find "$ROOTFS/var/lib/apt/lists" -mindepth 1 -maxdepth 1 ! -name partial ! -name lock \
        -exec rm -rf {} +
    rm -f "$ROOTFS/etc/resolv.conf" "$ROOTFS/etc/hostname"
    step "caching rootfs as $ROOTFS_TAR"
    CACHE_TMP="$ROOTFS_TAR.tmp.$$"
    tar --numeric-owner --xattrs --xattrs-include='*' -cpf "$CACHE_TMP" -C "$ROOTFS" .
    mv -f "$CACHE_TMP" "$ROOTFS_TAR"
    CACHE_TMP=
    # Older recipes' tarballs are dead weight (~180 MB each).
    find "$CACHE_DIR" -maxdepth 1 -name "$SUITE-minbase-$ARCH-*.tar" ! -name "$(basename "$ROOTFS_TAR")" -delete
fi

dpkg_list() {
    dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${Package}\t${Version}\t${source:Package}\n' | LC_ALL=C sort
}
dpkg_list "$ROOTFS" >"$TMP/base-packages.tsv"

# ---- OCI layout: base ---------------------------------------------------------------
LAYOUT="$TMP/layout"
step "umoci: base image"
umoci init --layout "$LAYOUT"
umoci new --image "$LAYOUT:base"
umoci unpack --image "$LAYOUT:base" "$WORK/bundle-base" >/dev/null
cp -a "$ROOTFS/." "$WORK/bundle-base/rootfs/"
umoci repack --image "$LAYOUT:base" \
    --history.created_by "debootstrap --variant=minbase --arch=$ARCH $SUITE / $MIRROR" \
    --history.comment "patchline fixture: Debian 12 minbase root filesystem" \
    "$WORK/bundle-base"
rm -rf --one-file-system "$WORK/bundle-base"
umoci config --image "$LAYOUT:base" \
    --os linux --architecture "$ARCH" \
    --config.env 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --config.cmd bash \
    --config.label org.opencontainers.image.title=patchline-fixture-base \
    --config.label "org.opencontainers.image.description=Debian 12 ($SUITE) minbase, debootstrap" \
    --config.label org.opencontainers.image.version=12 \
    --config.label org.opencontainers.image.vendor=patchline-test-fixtures \
    --history.created_by 'CMD ["bash"]; LABEL org.opencontainers.image.title=patchline-fixture-base'
BASE_DIGEST="$(skopeo inspect --format '{{.Digest}}' "oci:$LAYOUT:base")"

# ---- OCI layout: child (old curl + an app file) -------------------------------------
step "child: unpack base"
BUNDLE="$WORK/bundle-child"
CROOT="$BUNDLE/rootfs"
umoci unpack --image "$LAYOUT:base" "$BUNDLE" >/dev/null

in_chroot() {
    chroot "$CROOT" /usr/bin/env -i \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive "$@"
}

cp -L /etc/resolv.conf "$CROOT/etc/resolv.conf"
MOUNTS+=("$CROOT/proc")
mount --bind /proc "$CROOT/proc"
cat >>"$CROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF

step "child: apt-get update"
# Snapshot mirrors serve Release files past their Valid-Until date.
in_chroot apt-get -q -o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false update >"$WORK/apt-update.log" 2>&1 ||
    { cat "$WORK/apt-update.log" >&2; die "apt-get update in the child chroot failed"; }

# Versions offered for a package, one a line, oldest first.
offered_versions() {
    in_chroot apt-cache madison "$1" | awk -F'|' '{ gsub(/[ \t]/, "", $2); if ($2 != "") print $2 }' |
        sort -u | version_sort
}
version_sort() {
    # Insertion sort with dpkg's own comparison: a handful of versions at most.
    local -a sorted=()
    local v i j
    while read -r v; do
        sorted+=("$v")
        i=$((${#sorted[@]} - 1))
        while ((i > 0)) && dpkg --compare-versions "${sorted[i - 1]}" gt "${sorted[i]}"; do
            j=${sorted[i - 1]}
            sorted[i - 1]=${sorted[i]}
            sorted[i]=$j
            i=$((i - 1))
        done
    done
    ((${#sorted[@]})) && printf '%s\n' "${sorted[@]}"
    return 0
}
mapfile -t curl_versions < <(offered_versions curl)
mapfile -t libcurl_versions < <(offered_versions libcurl4)
((${#curl_versions[@]})) || die "apt offers no curl version in the child chroot"
log "curl versions offered: ${curl_versions[*]}"
CURL_VERSION=
contains() {
    local needle=$1 x
    shift
    for x in "$@"; do [[ $x == "$needle" ]] && return 0; done
    return 1
}
if contains "$PREFERRED_CURL_VERSION" "${curl_versions[@]}" &&
    contains "$PREFERRED_CURL_VERSION" "${libcurl_versions[@]}"; then
    CURL_VERSION=$PREFERRED_CURL_VERSION
else
    for v in "${curl_versions[@]}"; do
        if contains "$v" "${libcurl_versions[@]}"; then
            CURL_VERSION=$v
            break
        fi
    done
fi
[[ -n $CURL_VERSION ]] || die "no curl version is offered for libcurl4 too (curl: ${curl_versions[*]}; libcurl4: ${libcurl_versions[*]})"
[[ $CURL_VERSION == "$PREFERRED_CURL_VERSION" ]] ||
    log "warning: $PREFERRED_CURL_VERSION is not offered; using the oldest, $CURL_VERSION"

INSTALL=(apt-get install -y --no-install-recommends "curl=$CURL_VERSION" "libcurl4=$CURL_VERSION")
step "child: ${INSTALL[*]}"
in_chroot "${INSTALL[@]}" -q >"$WORK/apt-install.log" 2>&1 ||
    { cat "$WORK/apt-install.log" >&2; die "installing curl $CURL_VERSION failed"; }
for p in curl libcurl4; do
    # shellcheck disable=SC2016 # dpkg-query's format, not a shell expansion
    installed="$(dpkg-query --admindir="$CROOT/var/lib/dpkg" -W -f '${Version}' "$p")"
    [[ $installed == "$CURL_VERSION" ]] || die "$p $installed installed instead of $CURL_VERSION"
done

mkdir -p "$CROOT/opt/app"
printf 'hello from the patchline child fixture\n' >"$CROOT/opt/app/hello.txt"
in_chroot apt-get clean
find "$CROOT/var/lib/apt/lists" -mindepth 1 -maxdepth 1 ! -name partial ! -name lock -exec rm -rf {} +
rm -f "$CROOT"/var/cache/apt/*.bin "$CROOT/etc/resolv.conf"
umount "$CROOT/proc"
MOUNTS=()
dpkg_list "$CROOT" >"$TMP/child-packages.tsv"
printf '%s\n' "$CURL_VERSION" >"$TMP/child-curl-version"

step "child: umoci repack"
umoci repack --image "$LAYOUT:child" \
    --history.created_by "/bin/sh -c apt-get update && ${INSTALL[*]} && mkdir -p /opt/app && echo hello > /opt/app/hello.txt && apt-get clean && rm -rf /var/lib/apt/lists/*" \
    --history.comment "patchline fixture: old, vulnerable curl from $SUITE-security" \
    "$BUNDLE"
rm -rf --one-file-system "$BUNDLE"
umoci config --image "$LAYOUT:child" \
    --config.label org.opencontainers.image.title=patchline-fixture-child \
    --config.label "org.opencontainers.image.description=patchline-fixture-base + curl $CURL_VERSION + /opt/app/hello.txt" \
    --config.label org.opencontainers.image.vendor=patchline-test-fixtures \
    --manifest.annotation org.opencontainers.image.base.name=patchline-fixture/base:1 \
    --manifest.annotation "org.opencontainers.image.base.digest=$BASE_DIGEST" \
    --history.created_by 'LABEL org.opencontainers.image.title=patchline-fixture-child'

# ---- OCI layout: base-patched (one package of base upgraded) -------------------------
step "base-patched: unpack base"
BUNDLE="$WORK/bundle-base-patched"
CROOT="$BUNDLE/rootfs"
umoci unpack --image "$LAYOUT:base" "$BUNDLE" >/dev/null
cp -L /etc/resolv.conf "$CROOT/etc/resolv.conf"
MOUNTS+=("$CROOT/proc")
mount --bind /proc "$CROOT/proc"
cat >>"$CROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
step "base-patched: apt-get update"
in_chroot apt-get -q -o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false update >"$WORK/apt-update-patched.log" 2>&1 ||
    { cat "$WORK/apt-update-patched.log" >&2; die "apt-get update in the base-patched chroot failed"; }
# Upgradable packages, libraries first, each group by name: a library upgrade is the
# typical base patch. The first whose upgrade touches no other package wins, so that
# the new layer differs from base by exactly one package.
mapfile -t upgradable < <(in_chroot apt-get -s -q upgrade 2>/dev/null |
    awk '$1 == "Inst" { print $2 }' | LC_ALL=C sort -u |
    awk '/^lib/ { print; next } { rest[++n] = $0 } END { for (i = 1; i <= n; i++) print rest[i] }')
log "upgradable in base: ${#upgradable[@]} package(s)"
UPGRADE_PKG=
for p in "${upgradable[@]}"; do
    n="$(in_chroot apt-get -s -q install --only-upgrade -y "$p" 2>/dev/null | awk '$1 == "Inst"' | wc -l)"
    if [[ $n == 1 ]]; then
        UPGRADE_PKG=$p
        break
    fi
done
if [[ -n $UPGRADE_PKG ]]; then
    # shellcheck disable=SC2016 # dpkg-query's format, not a shell expansion
    UPGRADE_OLD="$(dpkg-query --admindir="$CROOT/var/lib/dpkg" -W -f '${Version}' "$UPGRADE_PKG")"
    PATCH_CMD=(apt-get install --only-upgrade -y "$UPGRADE_PKG")
    step "base-patched: ${PATCH_CMD[*]}"
    in_chroot "${PATCH_CMD[@]}" -q >"$WORK/apt-upgrade.log" 2>&1 ||
        { cat "$WORK/apt-upgrade.log" >&2; die "upgrading $UPGRADE_PKG failed"; }
    # shellcheck disable=SC2016
    UPGRADE_NEW="$(dpkg-query --admindir="$CROOT/var/lib/dpkg" -W -f '${Version}' "$UPGRADE_PKG")"
    dpkg --compare-versions "$UPGRADE_NEW" gt "$UPGRADE_OLD" ||
        die "$UPGRADE_PKG is at $UPGRADE_NEW after the upgrade (was $UPGRADE_OLD)"
    PATCH_CREATED_BY="/bin/sh -c apt-get update && ${PATCH_CMD[*]} && apt-get clean && rm -rf /var/lib/apt/lists/*"
    PATCH_COMMENT="patchline fixture: $UPGRADE_PKG $UPGRADE_OLD -> $UPGRADE_NEW"
    printf '%s\t%s\t%s\n' "$UPGRADE_PKG" "$UPGRADE_OLD" "$UPGRADE_NEW" >"$TMP/base-patched-upgrade"
else
    log "warning: no package of base is upgradable on its own; base-patched only adds /etc/patch-level"
    printf '2\n' >"$CROOT/etc/patch-level"
    PATCH_CREATED_BY="/bin/sh -c echo 2 > /etc/patch-level"
    PATCH_COMMENT="patchline fixture: no upgrade offered, a file layer instead"
    printf 'none\t-\t-\n' >"$TMP/base-patched-upgrade"
fi
in_chroot apt-get clean
find "$CROOT/var/lib/apt/lists" -mindepth 1 -maxdepth 1 ! -name partial ! -name lock -exec rm -rf {} +
rm -f "$CROOT"/var/cache/apt/*.bin "$CROOT/etc/resolv.conf"
# The sources stay as in base: the layer holds the upgrade, not the builder's apt setup.
cp -a "$ROOTFS/etc/apt/sources.list" "$CROOT/etc/apt/sources.list"
umount "$CROOT/proc"
MOUNTS=()
step "base-patched: umoci repack"
umoci repack --image "$LAYOUT:base-patched" \
    --history.created_by "$PATCH_CREATED_BY" \
    --history.comment "$PATCH_COMMENT" \
    "$BUNDLE"
rm -rf --one-file-system "$BUNDLE"

# ---- OCI layout: app-lang (language packages, each installed by its ecosystem's tool) --
# Four layers on base, one per way a language package reaches an image: Debian packages
# that ship language libraries (dpkg owns those files: the "managed by an OS package"
# case), a pip venv, an npm project, and two compiled programs whose binaries carry their
# dependency lists (Go build info, Rust cargo-auditable). Each ecosystem's own tool writes
# the oracle the extractor tests compare against (app-lang-*.json/.txt/.lock in OUT).
#
# Old versions on purpose, inside real advisories' ranges: requests 2.25.0 (PYSEC-2023-74:
# 2.3.0 <= v < 2.31.0), urllib3 1.26.4 (PYSEC-2021-108: < 1.26.5), certifi 2022.12.7
# (PYSEC-2023-135: < 2023.7.22); idna and chardet at versions requests 2.25.0 accepts.
# Every wheel is pinned so that pip resolves nothing.
APPLANG_PIP_PINS=(requests==2.25.0 urllib3==1.26.4 idna==2.10 chardet==3.0.4 certifi==2022.12.7)
# lodash 4.17.20: CVE-2021-23337 (fixed in 4.17.21); debug 2.6.8: CVE-2017-16137 (fixed in
# 2.6.9), and it brings ms as a transitive dependency; one scoped package.
APPLANG_NPM_PINS=(lodash@4.17.20 debug@2.6.8 @babel/helper-validator-identifier@7.10.4)
# Language libraries as Debian ships them: Python dist-packages (requests, six and the
# requests' dependencies), a Node module (node-inherits: no nodejs needed), a jar with its
# Maven POM (libcommons-lang3-java) and a Go program (fzf: its Built-Using names golang-*).
# python3-venv is there for the venv of the next layer.
APPLANG_APT=(python3 python3-venv python3-requests python3-six node-inherits libcommons-lang3-java fzf)
# Installed into the fixture cache once (about 25 s), so a warm build only checks them.
CARGO_AUDITABLE_VERSION=0.7.7
RUST_AUDIT_INFO_VERSION=0.5.4

# Language metadata files that dpkg owns in ROOT, one a line:
# PACKAGE<TAB>VERSION<TAB>KIND<TAB>PATH (PATH image-root-relative).
lang_owned_files() {
    local root=$1 admin=$1/var/lib/dpkg pkg ver kind path
    # shellcheck disable=SC2016 # dpkg-query's format, not a shell expansion
    dpkg-query --admindir="$admin" -W -f '${Package}\t${Version}\t${Built-Using}\n' >"$WORK/owned-pkgs.tsv"
    awk -F'\t' '
        FNR == NR { ver[$1] = $2; if ($3 ~ /(^|[ ,])golang-[0-9]/) go[$1] = 1; next }
        FNR == 1 { pkg = FILENAME; sub(/.*\//, "", pkg); sub(/\.list$/, "", pkg); sub(/:.*/, "", pkg) }
        {
            p = $0; kind = ""
            if (p ~ /\.dist-info\/METADATA$/ || p ~ /\.egg-info\/PKG-INFO$/ || p ~ /\.egg-info$/) kind = "python-metadata"
            else if (p ~ /\.whl$/) kind = "python-wheel"
            else if (p ~ /\/(usr\/share\/nodejs|usr\/lib\/nodejs|node_modules)\/.*package\.json$/) kind = "npm-package-json"
            else if (p ~ /\.jar$/) kind = "java-jar"
            else if (p ~ /\.pom$/) kind = "maven-pom"
            else if ((pkg in go) && p ~ /^(\/usr)?\/s?bin\/[^\/]+$/) kind = "go-binary"
            if (kind != "") print pkg "\t" ver[pkg] "\t" kind "\t" substr(p, 2)
        }' "$WORK/owned-pkgs.tsv" "$admin"/info/*.list |
        while IFS=$'\t' read -r pkg ver kind path; do
            # A symlink is listed for what it is; directories named *.egg-info hold a
            # PKG-INFO listed on its own line; a Go package's scripts (fzf-tmux) are no
            # Go binaries.
            if [[ -L $root/$path ]]; then
                kind="$kind-symlink"
            elif [[ ! -f $root/$path ]]; then
                continue
            elif [[ $kind == go-binary && "$(head -c 4 "$root/$path")" != $'\x7fELF' ]]; then
                continue
            fi
            printf '%s\t%s\t%s\t%s\n' "$pkg" "$ver" "$kind" "$path"
        done | LC_ALL=C sort -u
}

# Debian package version -> Go module version: 1:0.7.0+dfsg-1 -> v0.7.0. Nothing when
# the upstream version is not a plain semver (e.g. Debian's 0.0~git2022... snapshots).
debian_go_module_version() {
    # shellcheck disable=SC2016
    dpkg-query -W -f '${Version}' "$1" 2>/dev/null |
        sed -E 's/^[0-9]+://; s/[+~-].*$//' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sed 's/^/v/'
}

# Builds $WORK/goapp/goapp offline with two module dependencies vendored from Debian's
# golang-golang-x-{net,text}-dev sources; the build info then lists both modules. With
# bookworm's go1.19.8 and x/net v0.7.0 both fall in GO-2023-2102 (stdlib < 1.20.10,
# golang.org/x/net < 0.17.0).
# Returns non-zero, with the reason in GO_WHY, when the host cannot do that.
build_goapp() {
    local src=/usr/share/gocode/src/golang.org/x net_v text_v dir
    command -v go >/dev/null 2>&1 || { GO_WHY="no go on the host"; return 1; }
    for dir in net/html net/html/atom text/transform text/width; do
        [[ -d $src/$dir ]] || { GO_WHY="no $src/$dir (golang-golang-x-net-dev)"; return 1; }
    done
    net_v="$(debian_go_module_version golang-golang-x-net-dev)"
    text_v="$(debian_go_module_version golang-golang-x-text-dev)"
    [[ -n $net_v && -n $text_v ]] || { GO_WHY="no semver for Debian's x/net or x/text"; return 1; }
    dir="$WORK/goapp"
    mkdir -p "$dir/vendor/golang.org/x/net/html" "$dir/vendor/golang.org/x/text"
    cat >"$dir/main.go" <<'EOF'
// Command goapp is a patchline test fixture: a Go program with two module dependencies.
package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/text/width"
)

func main() {
	doc, err := html.Parse(strings.NewReader("<p>patchline</p>"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(doc.FirstChild.Data, width.Widen.String("goapp"))
}
EOF
    cat >"$dir/go.mod" <<EOF
module example.com/patchline/goapp

go 1.19

require (
	golang.org/x/net $net_v
	golang.org/x/text $text_v
)
EOF
    cat >"$dir/vendor/modules.txt" <<EOF
# golang.org/x/net $net_v
## explicit
golang.org/x/net/html
golang.org/x/net/html/atom
# golang.org/x/text $text_v
## explicit
golang.org/x/text/transform
golang.org/x/text/width
EOF
    cp -r "$src/net/html/." "$dir/vendor/golang.org/x/net/html/"
    cp -r "$src/text/transform" "$src/text/width" "$dir/vendor/golang.org/x/text/"
    # Vendored, no proxy, no toolchain download: the build reads nothing from the network.
    # The build cache is content-addressed, so the fixture cache keeps it (cold: ~8 s).
    (cd "$dir" && env GOPATH="$WORK/gopath" GOCACHE="$CACHE_DIR/go-build" GOENV=off GOFLAGS=-mod=vendor \
        GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local GO111MODULE=on CGO_ENABLED=0 \
        go build -trimpath -buildvcs=false -o goapp . >"$WORK/go-build.log" 2>&1) ||
        { GO_WHY="go build failed"; log "go: build failed: $(tail -n 5 "$WORK/go-build.log")"; return 1; }
    [[ -x $dir/goapp ]]
}

# `cargo install`s NAME at VERSION into the fixture cache unless it is already there.
ensure_cargo_tool() {
    local name=$1 version=$2
    if [[ -x $CARGO_TOOLS/bin/$name ]] && grep -q "^\"$name $version " "$CARGO_TOOLS/.crates.toml" 2>/dev/null; then
        return 0
    fi
    cargo install --locked --quiet --version "=$version" --root "$CARGO_TOOLS" \
        --target-dir "$WORK/cargo-install-target" "$name" >"$WORK/cargo-install-$name.log" 2>&1 ||
        { log "rust: cargo install $name $version failed: $(tail -n 5 "$WORK/cargo-install-$name.log")"; return 1; }
}

# Writes $WORK/rustapp: three old crates with RustSec advisories (json 0.12.4:
# RUSTSEC-2022-0081, unmaintained, every version; crossbeam-utils 0.7.2: RUSTSEC-2022-0041,
# < 0.8.7; smallvec 1.6.0: RUSTSEC-2021-0003) and a Cargo.lock that pins their
# dependencies too, so every build compiles the same crates.
write_rustapp() {
    local dir="$WORK/rustapp"
    mkdir -p "$dir/src"
    # [workspace]: the fixture work dir may lie inside patchline's own workspace.
    cat >"$dir/Cargo.toml" <<'EOF'
[package]
name = "rustapp"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
crossbeam-utils = "=0.7.2"
json = "=0.12.4"
smallvec = "=1.6.0"

[workspace]
EOF
    cat >"$dir/src/main.rs" <<'EOF'
//! patchline test fixture: a program with three crates.io dependencies.
fn main() {
    let v = json::parse(r#"{"fixture":"patchline"}"#).expect("valid JSON");
    let n = crossbeam_utils::thread::scope(|s| s.spawn(|_| 1).join().unwrap()).unwrap();
    let sv: smallvec::SmallVec<[u8; 4]> = smallvec::smallvec![1, 2];
    println!("{} {} {}", v["fixture"], n, sv.len());
}
EOF
    cat >"$dir/Cargo.lock" <<'EOF'
# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 3

[[package]]
name = "autocfg"
version = "1.5.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "f2032f911046de80f0a198e0901378627c33f59ea0ac00e363d481118bd70a53"

[[package]]
name = "cfg-if"
version = "0.1.10"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "4785bdd1c96b2a846b2bd7cc02e86b6b3dbf14e7e53446c4f54c92a361040822"

[[package]]
name = "crossbeam-utils"
version = "0.7.2"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "c3c7c73a2d1e9fc0886a08b93e98eb643461230d5f1925e4036204d5f2e261a8"
dependencies = [
 "autocfg",
 "cfg-if",
 "lazy_static",
]

[[package]]
name = "json"
version = "0.12.4"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "078e285eafdfb6c4b434e0d31e8cfcb5115b651496faca5749b88fafd4f23bfd"

[[package]]
name = "lazy_static"
version = "1.5.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "20870f649af7073d53e38067b2a84312175d56ea15217e1b15bc83506ec50afb"

[[package]]
name = "rustapp"
version = "0.1.0"
dependencies = [
 "crossbeam-utils",
 "json",
 "smallvec",
]

[[package]]
name = "smallvec"
version = "1.6.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "1a55ca5f3b68e41c979bf8c46a6f1da892ca4db8f94023ce0bd32407573b1ac0"
EOF
}

step "app-lang: unpack base"
BUNDLE="$WORK/bundle-app-lang"
CROOT="$BUNDLE/rootfs"
umoci unpack --image "$LAYOUT:base" "$BUNDLE" >/dev/null
cp -L /etc/resolv.conf "$CROOT/etc/resolv.conf"
MOUNTS+=("$CROOT/proc")
mount --bind /proc "$CROOT/proc"
cat >>"$CROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
step "app-lang: apt-get update"
in_chroot apt-get -q -o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false update >"$WORK/apt-update-lang.log" 2>&1 ||
    { cat "$WORK/apt-update-lang.log" >&2; die "apt-get update in the app-lang chroot failed"; }
APPLANG_APT_CMD=(apt-get install -y --no-install-recommends "${APPLANG_APT[@]}")
step "app-lang layer 1/4: ${APPLANG_APT_CMD[*]}"
in_chroot "${APPLANG_APT_CMD[@]}" -q >"$WORK/apt-install-lang.log" 2>&1 ||
    { cat "$WORK/apt-install-lang.log" >&2; die "installing ${APPLANG_APT[*]} failed"; }
in_chroot apt-get clean
find "$CROOT/var/lib/apt/lists" -mindepth 1 -maxdepth 1 ! -name partial ! -name lock -exec rm -rf {} +
rm -f "$CROOT"/var/cache/apt/*.bin "$CROOT/etc/resolv.conf"
cp -a "$ROOTFS/etc/apt/sources.list" "$CROOT/etc/apt/sources.list"
lang_owned_files "$CROOT" >"$WORK/owned.tsv"
{
    echo "# Language metadata files that dpkg owns in layout tag app-lang (from var/lib/dpkg/info/*.list)."
    echo "# PACKAGE<TAB>VERSION<TAB>KIND<TAB>PATH (image-root-relative); KIND: python-metadata, python-wheel,"
    echo "# npm-package-json, java-jar, maven-pom, go-binary (a package Built-Using golang-*), +-symlink for symlinks."
    cat "$WORK/owned.tsv"
} >"$TMP/app-lang-dpkg-owned.txt"
for kind in python-metadata npm-package-json java-jar go-binary; do
    grep -q $'\t'"$kind"$'\t' "$WORK/owned.tsv" || die "app-lang: dpkg owns no $kind file (see $TMP/app-lang-dpkg-owned.txt)"
done
# The Python distributions Debian installed, as Python itself finds them.
in_chroot PYTHONDONTWRITEBYTECODE=1 python3 -c '
import importlib.metadata as md, json
# _path (the .dist-info/.egg-info path) has no public spelling in importlib.metadata.
dists = [{"name": d.metadata["Name"], "version": d.version,
          "path": str(getattr(d, "_path", "")).lstrip("/")} for d in md.distributions()]
print(json.dumps(sorted(dists, key=lambda d: d["path"]), indent=2))' >"$TMP/app-lang-python-system.json" ||
    die "app-lang: listing the system Python distributions failed"
PY_VERSION="$(in_chroot python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
umount "$CROOT/proc"
MOUNTS=()
step "app-lang layer 1/4: umoci repack"
umoci repack --refresh-bundle --image "$LAYOUT:app-lang" \
    --history.created_by "/bin/sh -c apt-get update && ${APPLANG_APT_CMD[*]} && apt-get clean && rm -rf /var/lib/apt/lists/*" \
    --history.comment "patchline fixture: Debian packages shipping Python, Node, Java and Go code" \
    "$BUNDLE"

# Layer 2: the host's pip fetches the wheels (its own index, proxy and CA settings apply);
# the image's pip installs them without network access.
step "app-lang layer 2/4: pip download (host) + venv pip install"
PY_WHEELS="$WORK/wheels"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version "$PY_VERSION" -d "$PY_WHEELS" "${APPLANG_PIP_PINS[@]}" >"$WORK/pip-download.log" 2>&1 ||
    { cat "$WORK/pip-download.log" >&2; die "pip download ${APPLANG_PIP_PINS[*]} failed"; }
mkdir -p "$CROOT/tmp/patchline-wheels"
cp "$PY_WHEELS"/*.whl "$CROOT/tmp/patchline-wheels/"
MOUNTS+=("$CROOT/proc")
mount --bind /proc "$CROOT/proc"
APPLANG_PIP_CMD=(/opt/pyapp/venv/bin/pip install --no-index --find-links /tmp/patchline-wheels "${APPLANG_PIP_PINS[@]}")
in_chroot python3 -m venv /opt/pyapp/venv >"$WORK/venv.log" 2>&1 ||
    { cat "$WORK/venv.log" >&2; die "python3 -m venv /opt/pyapp/venv failed"; }
in_chroot PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "${APPLANG_PIP_CMD[@]}" >"$WORK/pip-install.log" 2>&1 ||
    { cat "$WORK/pip-install.log" >&2; die "pip install in the venv failed"; }
in_chroot PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 \
    /opt/pyapp/venv/bin/python -m pip inspect >"$TMP/app-lang-pip.json" 2>"$WORK/pip-inspect.log" ||
    { cat "$WORK/pip-inspect.log" >&2; die "pip inspect in the venv failed"; }
for pin in "${APPLANG_PIP_PINS[@]}"; do
    grep -q "\"version\": \"${pin#*==}\"" "$TMP/app-lang-pip.json" || die "app-lang: pip inspect does not show $pin"
done
rm -rf "$CROOT/tmp/patchline-wheels"
umount "$CROOT/proc"
MOUNTS=()
umoci repack --refresh-bundle --image "$LAYOUT:app-lang" \
    --history.created_by "/bin/sh -c python3 -m venv /opt/pyapp/venv && ${APPLANG_PIP_CMD[*]}" \
    --history.comment "patchline fixture: a pip venv with old requests and urllib3" \
    "$BUNDLE"

# Layer 3: the host's npm installs the project (no Node in the image, as after a
# multi-stage build); lockfile v3 with resolved URLs whatever the user's npmrc says.
step "app-lang layer 3/4: npm install (host)"
NODEAPP="$WORK/nodeapp"
mkdir -p "$NODEAPP"
cat >"$NODEAPP/package.json" <<'EOF'
{
  "name": "patchline-nodeapp",
  "version": "1.0.0",
  "private": true,
  "description": "patchline test fixture"
}
EOF
APPLANG_NPM_CMD=(npm install --save-exact --ignore-scripts --no-audit --no-fund --lockfile-version=3 "${APPLANG_NPM_PINS[@]}")
(cd "$NODEAPP" && "${APPLANG_NPM_CMD[@]}" --prefix "$NODEAPP" --omit-lockfile-registry-resolved=false \
    --loglevel=error >"$WORK/npm-install.log" 2>&1) ||
    { cat "$WORK/npm-install.log" >&2; die "npm install ${APPLANG_NPM_PINS[*]} failed"; }
(cd "$NODEAPP" && npm ls --all --json --prefix "$NODEAPP") >"$TMP/app-lang-npm.json" 2>"$WORK/npm-ls.log" ||
    { cat "$WORK/npm-ls.log" >&2; die "npm ls in $NODEAPP failed"; }
grep -q '"lockfileVersion": 3' "$NODEAPP/package-lock.json" || die "app-lang: package-lock.json is not lockfile v3"
cp -a "$NODEAPP" "$CROOT/opt/nodeapp"
chown -R 0:0 "$CROOT/opt/nodeapp"
umoci repack --refresh-bundle --image "$LAYOUT:app-lang" \
    --history.created_by "COPY /opt/nodeapp /opt/nodeapp  # cd /opt/nodeapp && ${APPLANG_NPM_CMD[*]}" \
    --history.comment "patchline fixture: an npm project with package-lock.json v3" \
    "$BUNDLE"

# Layer 4: one Go and one Rust program. Both steps are optional: a host without what they
# need still gets the fixtures, and manifest.txt says what was done instead.
step "app-lang layer 4/4: go and rust programs"
mkdir -p "$CROOT/opt/goapp/bin" "$CROOT/opt/rustapp/bin"
GO_ORACLE=none
GO_WHY=
if build_goapp; then
    install -m 0755 "$WORK/goapp/goapp" "$CROOT/opt/goapp/bin/goapp"
    step "app-lang layer 4/4: go version -m"
    (cd "$WORK/goapp" && go version -m goapp) >"$TMP/app-lang-go.txt"
    GO_RESULT="opt/goapp/bin/goapp built by $(go env GOVERSION) with golang.org/x/net $(debian_go_module_version golang-golang-x-net-dev) and golang.org/x/text $(debian_go_module_version golang-golang-x-text-dev) vendored from Debian"
    GO_ORACLE=app-lang-go.txt
    GO_HOW="go build -mod=vendor -trimpath"
else
    # Still a real Go binary from a distribution build, though Debian builds umoci in GOPATH
    # mode: its build info names the toolchain and no modules.
    install -m 0755 "$(command -v umoci)" "$CROOT/opt/goapp/bin/umoci"
    # shellcheck disable=SC2016 # dpkg-query's format, not a shell expansion
    GO_RESULT="opt/goapp/bin/umoci copied from the host ($(dpkg-query -W -f '${Package} ${Version}' umoci 2>/dev/null || echo umoci)): goapp not built, $GO_WHY"
    GO_HOW="cp /usr/bin/umoci"
    if command -v go >/dev/null 2>&1; then
        (cd "$CROOT/opt/goapp/bin" && go version -m umoci) >"$TMP/app-lang-go.txt" && GO_ORACLE=app-lang-go.txt
    fi
fi
log "go: $GO_RESULT"

CARGO_TOOLS="$CACHE_DIR/cargo-tools"
CARGO_ORACLE_AUDIT=none
CARGO_ORACLE_LOCK=none
RUST_CREATED_BY=
if command -v cargo >/dev/null 2>&1; then
    step "app-lang layer 4/4: rust program"
    write_rustapp
    RUST_BUILD=(cargo build --release --locked)
    RUST_HOW="plain cargo build (cargo-auditable could not be installed: no dependency list in the binary)"
    if ensure_cargo_tool cargo-auditable "$CARGO_AUDITABLE_VERSION"; then
        RUST_BUILD=(cargo auditable build --release --locked)
        RUST_HOW="cargo auditable build (cargo-auditable $CARGO_AUDITABLE_VERSION)"
    fi
    if (cd "$WORK/rustapp" && env PATH="$CARGO_TOOLS/bin:$PATH" CARGO_TARGET_DIR="$WORK/rustapp-target" \
        "${RUST_BUILD[@]}" >"$WORK/rust-build.log" 2>&1); then
        install -m 0755 "$WORK/rustapp-target/release/rustapp" "$CROOT/opt/rustapp/bin/rustapp"
        cp "$WORK/rustapp/Cargo.lock" "$TMP/app-lang-cargo.lock"
        CARGO_ORACLE_LOCK=app-lang-cargo.lock
        RUST_RESULT="opt/rustapp/bin/rustapp: $RUST_HOW"
        RUST_CREATED_BY="; ${RUST_BUILD[*]}"
        if [[ ${RUST_BUILD[1]} == auditable ]] && ensure_cargo_tool rust-audit-info "$RUST_AUDIT_INFO_VERSION" &&
            "$CARGO_TOOLS/bin/rust-audit-info" "$CROOT/opt/rustapp/bin/rustapp" >"$TMP/app-lang-cargo-audit.json"; then
            CARGO_ORACLE_AUDIT=app-lang-cargo-audit.json
        else
            rm -f "$TMP/app-lang-cargo-audit.json"
        fi
    else
        log "rust: ${RUST_BUILD[*]} failed: $(tail -n 5 "$WORK/rust-build.log")"
        RUST_RESULT="none: ${RUST_BUILD[*]} failed"
    fi
else
    RUST_RESULT="none: no cargo on the host"
fi
log "rust: $RUST_RESULT"
# An empty directory left by a skipped program would be noise in the layer.
rmdir "$CROOT/opt/rustapp/bin" "$CROOT/opt/rustapp" 2>/dev/null || true
dpkg_list "$CROOT" >"$TMP/app-lang-packages.tsv"
step "app-lang layer 4/4: umoci repack"
umoci repack --image "$LAYOUT:app-lang" \
    --history.created_by "COPY /opt/goapp /opt/rustapp /opt/  # $GO_HOW$RUST_CREATED_BY" \
    --history.comment "patchline fixture: a Go and a Rust program with their dependency lists" \
    "$BUNDLE"
rm -rf --one-file-system "$BUNDLE"
umoci config --image "$LAYOUT:app-lang" \
    --config.label org.opencontainers.image.title=patchline-fixture-app-lang \
    --config.label "org.opencontainers.image.description=patchline-fixture-base + Debian language packages, a pip venv, an npm project, a Go and a Rust program" \
    --config.label org.opencontainers.image.vendor=patchline-test-fixtures \
    --manifest.annotation org.opencontainers.image.base.name=patchline-fixture/base:1 \
    --manifest.annotation "org.opencontainers.image.base.digest=$BASE_DIGEST" \
    --history.created_by 'LABEL org.opencontainers.image.title=patchline-fixture-app-lang'
# ---- OCI layout: app-checks (planted problems for the filesystem and secret checks) --
# Three layers on base, each holding one kind of planted problem, and a config with more:
#   layer 1: credentials in files: an OpenSSH private key (/root/.ssh/id_rsa), a PEM key,
#            AWS credentials, an npm token in .npmrc, a PyPI token in .pypirc, a docker
#            registry login, a GCP service-account key, a .env file with Slack, Stripe and
#            GitLab tokens
#   layer 2: deletes the OpenSSH key (a whiteout: the key still ships in layer 1)
#   layer 3: a setuid and a setgid copy of a binary, a world-writable directory without
#            the sticky bit and a world-writable file, apt's downloaded packages and lists
#   config:  no USER (root), ports 22/tcp and 80/tcp, a GitHub token in ENV, a GitHub
#            fine-grained token in a label, no HEALTHCHECK
# Every token is fake but has its provider's documented format (the AWS pair is AWS's own
# documentation example); keys are generated here. The oracle app-checks-planted.tsv lists
# CHECK_ID<TAB>PATH<TAB>LAYER<TAB>REMOVED_IN (- when none); app-checks-secrets.txt lists
# every planted secret value (one per line) that no output may show.
step "app-checks: unpack base"
BUNDLE="$WORK/bundle-app-checks"
CROOT="$BUNDLE/rootfs"
umoci unpack --image "$LAYOUT:base" "$BUNDLE" >/dev/null
# Random characters of a token alphabet, never a real token.
fake() { python3 -c 'import secrets, sys; a = sys.argv[2]; print("".join(secrets.choice(a) for _ in range(int(sys.argv[1]))))' "$1" "$2"; }
ALNUM=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789
B64URL="${ALNUM}_-"
GH_ENV_TOKEN="ghp_$(fake 36 "$ALNUM")"
GH_LABEL_TOKEN="github_pat_$(fake 22 "$ALNUM")_$(fake 59 "$ALNUM")"
NPM_TOKEN="npm_$(fake 36 "$ALNUM")"
PYPI_TOKEN="pypi-AgEIcHlwaS5vcmc$(fake 120 "$B64URL")"
SLACK_TOKEN="xoxb-$(fake 12 0123456789)-$(fake 13 0123456789)-$(fake 24 "$ALNUM")"
STRIPE_KEY="sk_live_$(fake 99 "$ALNUM")"
GITLAB_TOKEN="glpat-$(fake 20 "$B64URL")"
AWS_KEY_ID=AKIAIOSFODNN7EXAMPLE
AWS_SECRET=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
DOCKER_AUTH="$(printf 'deploy:%s' "$(fake 24 "$ALNUM")" | base64 -w0)"

step "app-checks layer 1/3: credentials in files"
mkdir -p "$CROOT/root/.ssh" "$CROOT/root/.aws" "$CROOT/root/.docker" "$CROOT/home/app" "$CROOT/opt/app/tls"
ssh-keygen -q -t rsa -b 2048 -N '' -C patchline-fixture -f "$CROOT/root/.ssh/id_rsa"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CROOT/opt/app/tls/server.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/gcp.pem" 2>/dev/null
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AWS_KEY_ID" "$AWS_SECRET" >"$CROOT/root/.aws/credentials"
printf 'registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=%s\n' "$NPM_TOKEN" >"$CROOT/home/app/.npmrc"
printf '[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = %s\n' "$PYPI_TOKEN" >"$CROOT/home/app/.pypirc"
printf '{\n  "auths": {\n    "registry.example.com": {\n      "auth": "%s"\n    }\n  }\n}\n' "$DOCKER_AUTH" >"$CROOT/root/.docker/config.json"
python3 - "$WORK/gcp.pem" "$(fake 40 0123456789abcdef)" >"$CROOT/opt/app/gcp-service-account.json" <<'EOF'
import json, sys
key = open(sys.argv[1]).read()
print(json.dumps({
    "type": "service_account",
    "project_id": "patchline-fixture",
    "private_key_id": sys.argv[2],
    "private_key": key,
    "client_email": "fixture@patchline-fixture.iam.gserviceaccount.com",
    "client_id": "100000000000000000000",
    "token_uri": "https://oauth2.googleapis.com/token",
}, indent=2))
EOF
printf 'APP_ENV=production\nSLACK_BOT_TOKEN=%s\nSTRIPE_SECRET_KEY=%s\nGITLAB_TOKEN=%s\n' \
    "$SLACK_TOKEN" "$STRIPE_KEY" "$GITLAB_TOKEN" >"$CROOT/opt/app/.env"
# A line of each key's body: no output may show it.
KEY_LINES=("$(sed -n 2p "$CROOT/root/.ssh/id_rsa")" "$(sed -n 2p "$CROOT/opt/app/tls/server.key")" "$(sed -n 2p "$WORK/gcp.pem")")
chmod 0600 "$CROOT/root/.ssh/id_rsa" "$CROOT/opt/app/tls/server.key" "$CROOT/root/.aws/credentials"
chown -R 1000:1000 "$CROOT/home/app"
umoci repack --refresh-bundle --image "$LAYOUT:app-checks" \
    --history.created_by "COPY credentials /  # ssh-keygen, openssl genpkey, .aws, .npmrc, .pypirc, .docker, .env" \
    --history.comment "patchline fixture: credentials in files" \
    "$BUNDLE"

step "app-checks layer 2/3: delete the OpenSSH key"
rm -f "$CROOT/root/.ssh/id_rsa"
umoci repack --refresh-bundle --image "$LAYOUT:app-checks" \
    --history.created_by "/bin/sh -c rm /root/.ssh/id_rsa" \
    --history.comment "patchline fixture: a deleted key still ships in the layer below" \
    "$BUNDLE"

step "app-checks layer 3/3: file modes and a package cache"
cp "$CROOT/bin/ls" "$CROOT/usr/local/bin/ls-suid"
chmod 4755 "$CROOT/usr/local/bin/ls-suid"
cp "$CROOT/bin/cat" "$CROOT/usr/local/bin/cat-sgid"
chmod 2755 "$CROOT/usr/local/bin/cat-sgid"
mkdir -p "$CROOT/srv/drop"
chmod 0777 "$CROOT/srv/drop"
printf 'anyone may write here\n' >"$CROOT/srv/notes.txt"
chmod 0666 "$CROOT/srv/notes.txt"
cp -L /etc/resolv.conf "$CROOT/etc/resolv.conf"
MOUNTS+=("$CROOT/proc")
mount --bind /proc "$CROOT/proc"
# No apt-get clean, no rm of the lists: the leftovers the check is about.
in_chroot apt-get -q -o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false update >"$WORK/apt-update-checks.log" 2>&1 ||
    { cat "$WORK/apt-update-checks.log" >&2; die "apt-get update in the app-checks chroot failed"; }
in_chroot apt-get install -q -y --download-only --no-install-recommends less >"$WORK/apt-download-checks.log" 2>&1 ||
    { cat "$WORK/apt-download-checks.log" >&2; die "apt-get --download-only less failed"; }
ls "$CROOT"/var/cache/apt/archives/*.deb >/dev/null 2>&1 || die "app-checks: apt left no .deb in var/cache/apt/archives"
rm -f "$CROOT/etc/resolv.conf"
umount "$CROOT/proc"
MOUNTS=()
umoci repack --refresh-bundle --image "$LAYOUT:app-checks" \
    --history.created_by "/bin/sh -c cp /bin/ls /usr/local/bin/ls-suid && chmod u+s ... && chmod 0777 /srv/drop && apt-get update && apt-get install -d less" \
    --history.comment "patchline fixture: setuid/setgid copies, world-writable paths, apt leftovers" \
    "$BUNDLE"
rm -rf --one-file-system "$BUNDLE"
umoci config --image "$LAYOUT:app-checks" \
    --config.exposedports 22/tcp --config.exposedports 80/tcp \
    --config.env "GITHUB_TOKEN=$GH_ENV_TOKEN" \
    --config.label org.opencontainers.image.title=patchline-fixture-app-checks \
    --config.label "org.opencontainers.image.description=patchline-fixture-base + planted secrets, file modes and leftovers" \
    --config.label org.opencontainers.image.vendor=patchline-test-fixtures \
    --config.label "com.example.deploy-token=$GH_LABEL_TOKEN" \
    --manifest.annotation org.opencontainers.image.base.name=patchline-fixture/base:1 \
    --manifest.annotation "org.opencontainers.image.base.digest=$BASE_DIGEST" \
    --history.created_by 'EXPOSE 22/tcp 80/tcp; ENV GITHUB_TOKEN=...; LABEL com.example.deploy-token=...'
{
    echo "# Problems planted in layout tag app-checks: CHECK_ID<TAB>PATH<TAB>LAYER<TAB>REMOVED_IN"
    echo "# (PATH image-root-relative, or config.Env / config.Labels; LAYER - for the config)."
    printf 'secret.private-key\troot/.ssh/id_rsa\t1\t2\n'
    printf 'secret.private-key\topt/app/tls/server.key\t1\t-\n'
    printf 'secret.aws-access-key\troot/.aws/credentials\t1\t-\n'
    printf 'secret.aws-secret-key\troot/.aws/credentials\t1\t-\n'
    printf 'secret.npm-token\thome/app/.npmrc\t1\t-\n'
    printf 'secret.pypi-token\thome/app/.pypirc\t1\t-\n'
    printf 'secret.registry-credentials\troot/.docker/config.json\t1\t-\n'
    printf 'secret.gcp-service-account\topt/app/gcp-service-account.json\t1\t-\n'
    printf 'secret.dotenv\topt/app/.env\t1\t-\n'
    printf 'secret.slack-token\topt/app/.env\t1\t-\n'
    printf 'secret.stripe-key\topt/app/.env\t1\t-\n'
    printf 'secret.gitlab-token\topt/app/.env\t1\t-\n'
    printf 'fs.setuid\tusr/local/bin/ls-suid\t3\t-\n'
    printf 'fs.setgid\tusr/local/bin/cat-sgid\t3\t-\n'
    printf 'fs.world-writable-dir\tsrv/drop\t3\t-\n'
    printf 'fs.world-writable\tsrv/notes.txt\t3\t-\n'
    printf 'fs.package-cache\tvar/cache/apt/archives\t3\t-\n'
    printf 'fs.package-cache\tvar/lib/apt/lists\t3\t-\n'
    printf 'secret.github-token\tconfig.Env\t-\t-\n'
    printf 'secret.github-token\tconfig.Labels\t-\t-\n'
} >"$TMP/app-checks-planted.tsv"
{
    printf '%s\n' "$GH_ENV_TOKEN" "$GH_LABEL_TOKEN" "$NPM_TOKEN" "$PYPI_TOKEN" "$SLACK_TOKEN" \
        "$STRIPE_KEY" "$GITLAB_TOKEN" "$AWS_KEY_ID" "$AWS_SECRET" "$DOCKER_AUTH"
    printf '%s\n' "${KEY_LINES[@]}"
} >"$TMP/app-checks-secrets.txt"

step "umoci gc"
umoci gc --layout "$LAYOUT"

# ---- other transports -------------------------------------------------------------
step "skopeo: archives"
# Local-to-local copies of images built just above: no signature policy applies.
SKOPEO=(skopeo --insecure-policy copy --quiet)
"${SKOPEO[@]}" "oci:$LAYOUT:base" "oci-archive:$TMP/base.oci.tar:base"
"${SKOPEO[@]}" "oci:$LAYOUT:child" "oci-archive:$TMP/child.oci.tar:child"
"${SKOPEO[@]}" "oci:$LAYOUT:base" "docker-archive:$TMP/base.docker.tar:base:1"
"${SKOPEO[@]}" "oci:$LAYOUT:child" "docker-archive:$TMP/child.docker.tar:child:1"

# ---- manifest.txt -------------------------------------------------------------------
step "manifest.txt"
rm -rf --one-file-system "$WORK"
{
    echo "# patchline fixtures, built by scripts/build-fixtures.sh"
    echo "script_version $SCRIPT_VERSION"
    echo "built_at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "suite $SUITE"
    echo "arch $ARCH"
    echo "mirror $MIRROR"
    echo "security_mirror $SECURITY_MIRROR"
    echo "rootfs_cache $(basename "$ROOTFS_TAR")"
    echo "child_curl_version $CURL_VERSION"
    echo "base_packages $(wc -l <"$TMP/base-packages.tsv")"
    echo "child_packages $(wc -l <"$TMP/child-packages.tsv")"
    echo "base_patched_upgrade $(tr '\t' ' ' <"$TMP/base-patched-upgrade")"
    for tag in base child base-patched app-lang app-checks; do
        ref="oci:$LAYOUT:$tag"
        raw="$(skopeo inspect --raw "$ref")"
        echo
        echo "[$tag] oci:layout:$tag"
        echo "manifest_digest $(skopeo inspect --format '{{.Digest}}' "$ref")"
        echo "config_digest $(grep -o '"config":{[^}]*}' <<<"$raw" | grep -o 'sha256:[0-9a-f]\{64\}')"
        for l in $(skopeo inspect --format '{{range .Layers}}{{.}} {{end}}' "$ref"); do
            echo "layer $l"
        done
        for d in $(skopeo inspect --config --raw "$ref" | grep -o '"diff_ids":\[[^]]*\]' |
            grep -o 'sha256:[0-9a-f]\{64\}'); do
            echo "diff_id $d"
        done
    done
    # What each app-lang layer holds and the oracle files (in OUT) that describe them.
    echo "layers base apt pip-venv npm go+rust"
    for p in "${APPLANG_APT[@]}"; do
        echo "apt_package $p $(awk -F'\t' -v p="$p" '$1 == p { print $2 }' "$TMP/app-lang-packages.tsv")"
    done
    echo "pip_venv opt/pyapp/venv python$PY_VERSION ${APPLANG_PIP_PINS[*]}"
    echo "npm_project opt/nodeapp ${APPLANG_NPM_PINS[*]}"
    echo "go_binary $GO_RESULT"
    echo "rust_binary $RUST_RESULT"
    echo "oracle_dpkg_owned app-lang-dpkg-owned.txt"
    echo "oracle_python_system app-lang-python-system.json"
    echo "oracle_pip app-lang-pip.json"
    echo "oracle_npm app-lang-npm.json"
    echo "oracle_go $GO_ORACLE"
    echo "oracle_cargo_audit $CARGO_ORACLE_AUDIT"
    echo "oracle_cargo_lock $CARGO_ORACLE_LOCK"
    echo
    echo "[files] sha256 bytes name"
    for f in base.oci.tar child.oci.tar base.docker.tar child.docker.tar; do
        echo "$(sha256sum "$TMP/$f" | cut -c1-64) $(stat -c %s "$TMP/$f") $f"
    done
} >"$TMP/manifest.txt"

# ---- publish ------------------------------------------------------------------------
step "publishing $OUT"
printf '%s\n' "$STAMP" >"$TMP/.complete"
# Swap first and delete afterwards, so that OUT is missing only between two renames.
if [[ -e $OUT ]]; then
    mv "$OUT" "$OUT.old.$$"
fi
mv "$TMP" "$OUT"
rm -rf --one-file-system "$OUT.old.$$"
log "done: $OUT ($(du -sh "$OUT" | cut -f1))"
