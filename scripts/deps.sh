#!/bin/sh
# Installs Debian packages by name: those ingestd needs to build and test,
# plus any named on the command line.  A no-op when all are present; on a
# fresh machine it refreshes the package lists once first.  Needs root (or
# sudo) only when something is missing.
#
#   scripts/deps.sh                              build and test
#   scripts/deps.sh libjansson-dev libcjson-dev  and these too
set -eu

PACKAGES="build-essential pkg-config zlib1g-dev libzstd-dev libcmocka-dev
python3 python3-pytest python3-zstandard $*"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
