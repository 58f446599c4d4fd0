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

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "bench deps: installing$missing"
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

$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
