#!/usr/bin/env bash
# bench/batch.sh - end-to-end batch ingestion: NDJSON batches of the 1,000
# reference events, plain and gzip, posted by wrk over keep-alive
# connections to `ingestd serve --threads 2` on this machine (wrk runs
# beside it on the same two cores).  Prints events/s accepted and stored,
# and the CPU split between the server and wrk.
#
#   bench/batch.sh [seconds] [connections]      (make bench-batch)
set -euo pipefail

SECONDS_RUN=${1:-5}
CONNS=${2:-8}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SHARED=${INGESTD_SHARED_DIR:-$ROOT/../shared}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

gzip -6 -c "$SHARED/bench/events-1000.ndjson" > "$WORK/events.ndjson.gz"
TCK=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() {
    local label=$1 file=$2 encoding=${3:-}
    local port=$((20000 + RANDOM % 20000)) data="$WORK/data-$label"

    "$BUILD/ingestd" serve --listen "127.0.0.1:$port" --threads 2 \
        --data-dir "$data" --segment-bytes 1G --log-level warn &
    local pid=$!
    sleep 0.5

    local before
    before=$(cpu_ticks "$pid")
    /usr/bin/time -f "%U %S" -o "$WORK/wrk.time" \
        wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" -s "$ROOT/bench/wrk/batch.lua" \
        "http://127.0.0.1:$port/ingest" -- "$file" ${encoding:+"$encoding"} > "$WORK/wrk.out"
    local after
    after=$(cpu_ticks "$pid")
    kill "$pid"
    wait "$pid" || true

    local requests non2xx stored
    requests=$(grep -o 'requests=[0-9]*' "$WORK/wrk.out" | cut -d= -f2)
    non2xx=$(grep -o 'non2xx=[0-9]*' "$WORK/wrk.out" | cut -d= -f2)
    stored=$("$BUILD/ingestd" read --data-dir "$data" | wc -l)
    read -r wrk_user wrk_sys < "$WORK/wrk.time"
    awk -v l="$label" -v r="$requests" -v bad="$non2xx" -v st="$stored" \
        -v s="$SECONDS_RUN" -v c=$((after - before)) -v t="$TCK" \
        -v wu="$wrk_user" -v ws="$wrk_sys" 'BEGIN {
        printf "| %s | %.0f | %d | %d | %.0f%% | %.0f%% |\n", l,
               (r - bad) * 1000 / s, st, bad, c / t / s * 100,
               (wu + ws) / s * 100 }'
    rm -rf "$data"
}

echo "| body | events/s accepted | events stored | non-2xx | ingestd CPU | wrk CPU |"
echo "|---|---:|---:|---:|---:|---:|"
run ndjson "$SHARED/bench/events-1000.ndjson"
run ndjson-gzip "$WORK/events.ndjson.gz" gzip
