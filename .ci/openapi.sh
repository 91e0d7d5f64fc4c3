#!/usr/bin/env bash
# Checks that the OpenAPI document matches the server. Starts Herald (debug build, a temporary
# SQLite database, a known key), then:
#  1. schemathesis against /api/openapi.json, every operation: fails on any 5xx, any response
#     that does not match the document (status, content type, headers, body schema and
#     formats), any crash of the server, or any panic in its log;
#  2. a Python client generated from the document (openapi-python-client) runs
#     .ci/generated_client_check.py: create, read, update, close, filter, errors.
# Herald's log and schemathesis's JUnit report are left in target/openapi-check/.
#
# Schemathesis checks left out, on purpose: `positive_data_acceptance` and
# `negative_data_rejection`. Herald validates what no schema can state (unique names,
# references to existing rows, a body Id equal to the URL's, If-Match equal to the current
# ETag), and it reads input leniently by contract (names in any case, numbers as text, XML with
# no types), so "valid by the schema" and "accepted" cannot coincide.
#
# Environment: SCHEMATHESIS_EXAMPLES (per operation and phase, default 40),
# SCHEMATHESIS_SEED (default 1: the same run every time; set another to explore),
# HERALD_BIN (default: target/debug/herald, built here).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

SCHEMATHESIS_VERSION=4.32.5
GENERATOR_VERSION=0.29.1
examples=${SCHEMATHESIS_EXAMPLES:-40}
seed=${SCHEMATHESIS_SEED:-1}

venv=target/openapi-venv
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION" \
  || ! "$venv/bin/openapi-python-client" --version 2>/dev/null | grep -q "$GENERATOR_VERSION"; then
  echo "== installing schemathesis $SCHEMATHESIS_VERSION, openapi-python-client $GENERATOR_VERSION"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" "openapi-python-client==$GENERATOR_VERSION"
fi

bin=${HERALD_BIN:-}
if [ -z "$bin" ]; then
  cargo build -q --bin herald
  bin=target/debug/herald
fi

work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  # Herald's log stays for a look after the run.
  mkdir -p target/openapi-check && cp "$work/herald.log" target/openapi-check/herald.log 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export HERALD_KEY=openapi-check-$RANDOM$RANDOM
export HERALD_DATABASE_URL="sqlite://$work/herald.db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HERALD_API_KEY="$HERALD_KEY" "$bin" api-key set >/dev/null
"$bin" serve --bind "127.0.0.1:$port" >"$work/herald.log" 2>&1 &
server=$!
export HERALD_URL="http://127.0.0.1:$port"

deadline=$((SECONDS + 30))
until curl -fsS "$HERALD_URL/healthz" >/dev/null 2>&1; do
  if ! kill -0 "$server" 2>/dev/null; then echo "Herald did not start:"; cat "$work/herald.log"; exit 1; fi
  if [ $SECONDS -ge $deadline ]; then echo "Herald did not answer /healthz within 30 s"; exit 1; fi
  sleep 0.2
done

server_healthy() {
  if ! kill -0 "$server" 2>/dev/null; then
    echo "Herald crashed:"; tail -50 "$work/herald.log"; return 1
  fi
  if grep -q "panicked" "$work/herald.log"; then
    echo "Herald panicked:"; grep -B2 -A10 "panicked" "$work/herald.log" | head -60; return 1
  fi
}

echo "== schemathesis $SCHEMATHESIS_VERSION against $HERALD_URL/api/openapi.json (seed $seed, $examples examples)"
status=0
# Run from the work directory: schemathesis keeps a cache (.schemathesis/) in its current one.
(cd "$work" && "$root/$venv/bin/st" --config-file "$root/.ci/schemathesis.toml" \
  run "$HERALD_URL/api/openapi.json" \
  --checks all --exclude-checks positive_data_acceptance,negative_data_rejection \
  --max-examples "$examples" --seed "$seed" --workers 2 \
  --request-timeout 10 --suppress-health-check too_slow,filter_too_much \
  --report junit --report-dir "$root/target/openapi-check") || status=$?
server_healthy || exit 1
[ $status -eq 0 ] || exit $status

echo "== a Python client generated from the document (openapi-python-client $GENERATOR_VERSION)"
(cd "$work" && "$root/$venv/bin/openapi-python-client" generate --url "$HERALD_URL/api/openapi.json" \
  --output-path "$work/python-client" >"$work/generate.log" 2>&1) \
  || { cat "$work/generate.log"; exit 1; }
PYTHONPATH="$work/python-client" "$venv/bin/python" .ci/generated_client_check.py
server_healthy
