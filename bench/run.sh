#!/bin/sh
# bench/run.sh - builds the peers, then runs the benchmark (bench.py).
# `make bench` calls it after building ingestd, the allocation counter and
# the load generator, and after bench/deps.sh.  Environment knobs are
# listed in bench/README.md.
set -eu

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD

for f in "$BUILD/ingestd" "$BUILD/alloc_count.so" "$BUILD/bench/load"; do
    if [ ! -e "$f" ]; then
        echo "bench: $f is missing; run 'make bench'" >&2
        exit 1
    fi
done
mkdir -p "$BUILD/bench"

# The Go peer: standard library only, so it builds with no module proxy.
echo "bench: building the Go peer" >&2
(
    cd bench/peers/go
    CGO_ENABLED=0 GOPROXY=off GOFLAGS=-mod=mod \
        GOCACHE="$(cd ../../.. && pwd)/$BUILD/bench/go-cache" \
        go build -trimpath -o "../../../$BUILD/bench/goingest" .
)

# The Rust peer: Debian's cargo and rustc, crates from Debian's
# librust-*-dev packages (bench/peers/rust/.cargo/config.toml), offline.
# CARGO and RUSTC may name another toolchain.
echo "bench: building the Rust peer" >&2
(
    cd bench/peers/rust
    RUSTC=${RUSTC:-/usr/bin/rustc} ${CARGO:-/usr/bin/cargo} build \
        --release --offline --quiet
)

exec /usr/bin/python3 bench/bench.py
