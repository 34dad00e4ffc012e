#!/usr/bin/env bash
# Instructions the gateway executes per answer, counted by valgrind's callgrind: deterministic
# to about a percent where CPU time on a shared machine moves by ±15 % from run to run, so small
# costs (a metrics recorder, trace propagation) can be told apart from noise. Each variant runs
# once under valgrind with instrumentation off: it answers N1 queries one after another (warm-up:
# connections, caches), then instrumentation is switched on (`callgrind_control -i on`) for
# N2 - N1 more, and the count of that window is divided by N2 - N1. Start-up (loading the
# schemas) and shutdown are outside the window, so their variation does not enter the figure.
#
# usage: bench/instructions.sh [--scenario heavy|simple] [--n1 20] [--n2 120]
#                              LABEL=COMMAND [LABEL=COMMAND ...]
# e.g.   bench/instructions.sh defaults=target/release/gateway-example \
#          "no-metrics=target/release/gateway-example --no-metrics"
# (the subgraphs' URLs, --listen and --no-dedup --no-upstream-dedup are added to COMMAND).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BENCH=$TARGET_DIR/release/quilt-bench
PORT_BASE=${PORT_BASE:-4300}
GATEWAY_PORT=${GATEWAY_PORT:-4400}
SCENARIO=heavy N1=20 N2=120
VARIANTS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) SCENARIO=$2; shift ;;
    --n1) N1=$2; shift ;;
    --n2) N2=$2; shift ;;
    *=*) VARIANTS+=("$1") ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ ${#VARIANTS[@]} -gt 0 ] || { echo "no LABEL=COMMAND given" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
[ -x "$BENCH" ] || (cd "$ROOT" && cargo build --release -p quilt-bench)

case "$SCENARIO" in
  heavy) NAME=HEAVY_QUERY ;;
  simple) NAME=SIMPLE_QUERY ;;
  *) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
# The Rust string constant (from its first line to the one ending in `";`) as one line of GraphQL.
QUERY=$(awk -v name="$NAME" '$0 ~ "^pub const " name ":" { found = 1 } found { print; if ($0 ~ /";$/) exit }' \
  "$ROOT/test-support/src/federation/mod.rs")
QUERY=$(printf '%s' "$QUERY" | sed -e 's/^pub const [A-Z_]*: &str = "//' -e 's/";$//' -e 's/\\$//' | tr -s '\n' ' ')
BODY=$(printf '{"query":"%s"}' "$QUERY")

WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

"$BENCH" subgraphs --port-base "$PORT_BASE" >"$WORK/subgraphs.out" 2>"$WORK/subgraphs.err" &
PIDS+=($!)
for _ in $(seq 300); do grep -q '^ready$' "$WORK/subgraphs.out" 2>/dev/null && break; sleep 0.1; done
SUBSCHEMAS=()
for name in accounts inventory products reviews; do
  SUBSCHEMAS+=(--subschema "$name=$(grep "^$name=" "$WORK/subgraphs.out" | cut -d= -f2-)")
done

URL=http://127.0.0.1:$GATEWAY_PORT/graphql
# queries LABEL N: N heavy (or simple) queries, one after another.
queries() {
  local label=$1
  for _ in $(seq "$2"); do
    curl -fsS -o "$WORK/answer.json" -H 'content-type: application/json' --data-binary "$BODY" "$URL" \
      || { echo "$label: a request failed" >&2; return 1; }
  done
}
# instructions LABEL COMMAND...: the gateway's instruction count while it answers N2 - N1 queries
# after N1 uninstrumented ones.
instructions() {
  local label=$1; shift
  local out=$WORK/$label.cg
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    "$@" "${SUBSCHEMAS[@]}" --no-dedup --no-upstream-dedup --listen "127.0.0.1:$GATEWAY_PORT" \
    >"$WORK/$label.out" 2>"$WORK/$label.err" &
  local pid=$!
  for _ in $(seq 1200); do
    curl -fs -o /dev/null -H 'content-type: application/json' -d '{"query":"{__typename}"}' "$URL" && break
    kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/$label.err" >&2; return 1; }
    sleep 0.1
  done
  queries "$label" "$N1" || { kill "$pid"; return 1; }
  callgrind_control -i on "$pid" >/dev/null 2>&1
  queries "$label" $((N2 - N1)) || { kill "$pid"; return 1; }
  callgrind_control -d "$pid" >/dev/null 2>&1
  callgrind_control -i off "$pid" >/dev/null 2>&1
  grep -q '"errors"' "$WORK/answer.json" && { echo "$label answered with errors:" >&2; head -c 400 "$WORK/answer.json" >&2; kill "$pid"; return 1; }
  kill -TERM "$pid"
  wait "$pid" || true
  # The dump of the window (`$out.1`; `$out` itself is the final dump, after instrumentation was
  # switched off again).
  sed -n 's/^summary: //p' "$out.1"
}

printf '%-24s %22s %16s\n' variant "instr N1..N2=$N1..$N2" "instr per answer"
for variant in "${VARIANTS[@]}"; do
  label=${variant%%=*}
  # shellcheck disable=SC2206 # the command is a list of words
  command=(${variant#*=})
  total=$(instructions "$label" "${command[@]}")
  printf '%-24s %22s %16d\n' "$label" "$total" $(( total / (N2 - N1) ))
done
echo "($SCENARIO query, one answer at a time, every deduplication off; valgrind $(valgrind --version); logs in $WORK)"
