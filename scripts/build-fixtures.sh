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
#                           installing an old, vulnerable curl + /opt/app/hello.txt) and
#                           `base-patched` (base + one layer upgrading one package)
#   base.oci.tar child.oci.tar        oci-archive (tag base / child)
#   base.docker.tar child.docker.tar  docker-archive (base:1 / child:1)
#   child-curl-version      the curl (= libcurl4) version installed in `child`
#   base-patched-upgrade    PKG<TAB>OLD<TAB>NEW: the one package of `base` upgraded in the
#                           layout tag `base-patched` (base + one layer); when apt offers no
#                           upgrade, the single line `none<TAB>-<TAB>-` and that layer only
#                           adds /etc/patch-level
#   base-packages.tsv child-packages.tsv   Package<TAB>Version<TAB>Source from dpkg-query
#   manifest.txt            what was built: digests, diff_ids, sizes
#   .complete               version stamp; present only once everything above is in place
#
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
for tool in debootstrap umoci skopeo chroot mount umount mountpoint flock tar sha256sum dpkg; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
    echo "build-fixtures: missing tools: ${missing[*]}" >&2
    echo "  install with: apt-get install -y --no-install-recommends debootstrap umoci skopeo" >&2
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
    for tag in base child base-patched; do
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
