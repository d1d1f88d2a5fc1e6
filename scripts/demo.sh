#!/usr/bin/env bash
# The README's first command: the patchline server on its embedded store, loaded with a real
# example organisation, on http://127.0.0.1:8080/ (a free port when 8080 is taken).
#
#   bash scripts/demo.sh [PORT]        (as root on Debian 12, from anywhere in the checkout)
#
# 1. installs the Debian packages it needs (once: skipped when the commands are there);
# 2. builds the real-image fixtures with scripts/build-fixtures.sh into target/fixtures
#    unless PATCHLINE_FIXTURES names a complete build (a few minutes, once);
# 3. runs `cargo run --release -p patchline-server --example demo`: the fixture images
#    stacked into a hierarchy (base, enterprise, apps, a builder, a COTS image, a curl
#    branch), pushed to a local docker-registry that notifies the server, the real feed
#    samples imported, every image scanned, a campaign opened; then it prints the URL and
#    the tokens to log in with, and serves until Ctrl-C.
# Needs ../shared/data beside the checkout (CISA's KEV catalogue is read from it).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$REPO_ROOT"

if [[ "$(id -u)" -ne 0 ]]; then
    echo "demo: run as root (apt-get, and the fixture build uses debootstrap, chroot and mount)" >&2
    exit 2
fi
command -v cargo >/dev/null 2>&1 || {
    echo "demo: cargo not found: install Rust (https://rustup.rs) first" >&2
    exit 2
}

# What the fixture build and the example use (the same names as .ci/run).
PACKAGES=(debootstrap umoci skopeo docker-registry python3-pip npm openssl openssh-client ca-certificates)
need=()
for cmd in debootstrap umoci skopeo docker-registry pip3 npm openssl ssh-keygen; do
    command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd")
done
if ((${#need[@]})); then
    echo "demo: installing ${PACKAGES[*]} (missing: ${need[*]})" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update
    apt-get -q -y install --no-install-recommends "${PACKAGES[@]}"
fi

stamp_ok() {
    [[ -f "$1/.complete" ]] &&
        [[ "$(cat "$1/.complete")" == "patchline-fixtures $(sha256sum scripts/build-fixtures.sh | cut -c1-64)" ]]
}
if [[ -n "${PATCHLINE_FIXTURES:-}" ]] && stamp_ok "$PATCHLINE_FIXTURES"; then
    echo "demo: using the fixtures in $PATCHLINE_FIXTURES" >&2
else
    export PATCHLINE_FIXTURES="$REPO_ROOT/target/fixtures"
    if ! stamp_ok "$PATCHLINE_FIXTURES"; then
        echo "demo: building the real-image fixtures into $PATCHLINE_FIXTURES (debootstrap; a few minutes, once)" >&2
        bash scripts/build-fixtures.sh "$PATCHLINE_FIXTURES"
    fi
fi

echo "demo: building patchline (release; several minutes the first time) and loading the example" >&2
exec cargo run --release -p patchline-server --example demo -- "$@"
