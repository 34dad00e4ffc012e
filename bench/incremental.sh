#!/usr/bin/env bash
# Incremental delivery: time to the initial payload against time to the complete response,
# through Quilt (target/release/gateway-example) over bench/'s four federation subgraphs, the
# reviews subgraph answering every request --delay late (the slowest service), for a query
# that defers the reviews (and their authors) of each product. Prints one table: first part
# and complete answer, median and 90th percentile, for the deferred query (multipart/mixed)
# and the same query without @defer (JSON). Every deferred answer, applied, must equal the
# plain one.
#
# usage: bench/incremental.sh [--delay 200ms] [--requests 200] [--connections 8] [--no-build]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BENCH=$TARGET_DIR/release/quilt-bench
QUILT=${QUILT_GATEWAY:-$TARGET_DIR/release/gateway-example}
PORT_BASE=${PORT_BASE:-4300}
GATEWAY_PORT=${GATEWAY_PORT:-4400}
DELAY=200ms REQUESTS=200 CONNECTIONS=8 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --delay) DELAY=$2; shift ;;
    --requests) REQUESTS=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --no-build) BUILD=0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && cargo build --release -p quilt-bench)
  if [ -z "${QUILT_GATEWAY:-}" ]; then (cd "$ROOT" && cargo build --release -p gateway-example); fi
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

"$BENCH" subgraphs --port-base "$PORT_BASE" --reviews-delay "$DELAY" >"$WORK/subgraphs.out" 2>"$WORK/subgraphs.err" &
PIDS+=($!)
for _ in $(seq 300); do
  grep -q '^ready$' "$WORK/subgraphs.out" 2>/dev/null && break
  sleep 0.1
done
grep -q '^ready$' "$WORK/subgraphs.out" || { cat "$WORK/subgraphs.err" >&2; exit 1; }
args=()
for name in accounts inventory products reviews; do
  args+=(--subschema "$name=$(grep "^$name=" "$WORK/subgraphs.out" | cut -d= -f2-)")
done
URL=http://127.0.0.1:$GATEWAY_PORT/graphql
"$QUILT" "${args[@]}" --listen "127.0.0.1:$GATEWAY_PORT" >"$WORK/gateway.out" 2>&1 &
PIDS+=($!)
"$BENCH" wait --url "$URL" --timeout 60s
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); reviews delayed $DELAY"
"$BENCH" incremental --url "$URL" --requests "$REQUESTS" --connections "$CONNECTIONS"
