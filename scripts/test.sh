#!/usr/bin/env bash
# Sets up and runs Quilt's whole test suite on a fresh machine:
#   1. the JavaScript reference peers (`npm ci` from the committed lockfile in test-support/js);
#   2. headless Chromium for the GraphiQL browser test, when missing (Debian `chromium`, with
#      apt-get as root or through sudo);
#   3. `cargo test --workspace`, with this script's arguments appended
#      (`scripts/test.sh -- --nocapture`, `scripts/test.sh --exclude quilt-bench`).
#
# Needs cargo, node and npm.
# The services some tests use (Redis 6379, PostgreSQL 5432, RabbitMQ 5672, Mosquitto 1883,
# NATS 4222) are not installed here: tests that need one skip themselves with a notice when it
# is not reachable, except under CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=/usr/bin/chromium

echo "== JavaScript reference peers (npm ci from the committed lockfile)"
npm ci --prefix test-support/js --no-audit --no-fund

echo "== headless Chromium (the GraphiQL browser test)"
if [ -x "$CHROMIUM" ]; then
  echo "$CHROMIUM: present"
else
  if [ "$(id -u)" = 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null; then
    sudo="sudo"
  else
    sudo="unavailable"
  fi
  if [ "$sudo" != "unavailable" ] && command -v apt-get >/dev/null; then
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
  if [ ! -x "$CHROMIUM" ]; then
    echo "WARNING: $CHROMIUM is missing and could not be installed: the GraphiQL browser test" \
      "will be SKIPPED (under CI=true it fails)." >&2
  fi
fi

echo "== cargo test --workspace $*"
exec cargo test --workspace "$@"
