#!/usr/bin/env bash
# bench/ack-modes.sh - events/s and latency percentiles (wrk --latency, not
# corrected for coordinated omission) in both acknowledgement modes, for
# single reference events (32 connections) and NDJSON batches of the 1,000
# reference events (8 connections), `ingestd serve --threads 2`, wrk on the
# same two cores, 5 s each.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SHARED=${INGESTD_SHARED_DIR:-$ROOT/../shared}

echo "| --ack | request | events/s | p50 | p99 |"
echo "|---|---|---:|---:|---:|"
for ack in memory durable; do
    for kind in single batch; do
        port=$((15000 + RANDOM % 10000))
        data=$(mktemp -d)
        "$BUILD/ingestd" serve --listen "127.0.0.1:$port" --threads 2 \
            --data-dir "$data" --ack "$ack" --log-level warn &
        pid=$!
        sleep 0.5
        if [ "$kind" = single ]; then
            out=$(wrk -t2 -c32 -d5s --latency -s "$ROOT/bench/wrk/post.lua" \
                "http://127.0.0.1:$port/ingest" -- "$SHARED/bench/event.json")
            per_request=1
        else
            out=$(wrk -t2 -c8 -d5s --latency -s "$ROOT/bench/wrk/batch.lua" \
                "http://127.0.0.1:$port/ingest" -- \
                "$SHARED/bench/events-1000.ndjson")
            per_request=1000
        fi
        kill "$pid"
        wait "$pid" || true
        rm -rf "$data"
        echo "$out" | awk -v a="$ack" -v k="$kind" -v m="$per_request" '
            /Requests\/sec/ { rps = $2 }
            /^ +50%/ { p50 = $2 }
            /^ +99%/ { p99 = $2 }
            END { printf "| %s | %s | %.0f | %s | %s |\n", a, k, rps * m, p50, p99 }'
    done
done
