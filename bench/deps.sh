#!/bin/sh
# Installs what `make bench` needs from Debian, by package name: the Go and
# Rust toolchains and crates the peers build with (offline: the crates come
# as librust-*-dev source packages under /usr/share/cargo/registry), nginx,
# wrk, gnuplot for the plot and linux-perf for the closing profile.
# A no-op when all are present.  Needs root (or sudo) only when something
# is missing.
set -eu

PACKAGES="build-essential util-linux python3 golang-go cargo rustc
librust-hyper-dev librust-tokio-dev librust-serde-dev
librust-serde-derive-dev librust-serde-json-dev nginx wrk gnuplot-nox
linux-perf"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

# nginx's maintainer script starts a system-wide server on port 80; the
# benchmark runs its own on loopback, so keep the packaged one stopped
# (policy-rc.d exit 101 = "action forbidden", honoured by invoke-rc.d).
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    own_policy=1
fi
trap 'if [ "$own_policy" -eq 1 ]; then $SUDO rm -f "$policy"; fi' EXIT

# shellcheck disable=SC2086
"$(dirname "$0")/../scripts/deps.sh" $PACKAGES
