#!/usr/bin/env bash
# Idle connections against a file-descriptor limit (issue 11, item 4): starts Herald with
# `ulimit -n 1024`, opens 1,100 idle connections, and times how long until /healthz answers.
# Usage: bench/idle_flood.sh [IDLE_TIMEOUT]   (HERALD_BIN_DIR: where `herald` is; default target/release)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${HERALD_BIN_DIR:-target/release}/herald
TIMEOUT=${1:-30s}
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
(ulimit -n 1024; exec "$BIN" serve --database "sqlite://$dir/h.db" --bind 127.0.0.1:0 \
   --idle-timeout "$TIMEOUT" --log-format json) 2>"$dir/log" >/dev/null &
pid=$!
until grep -q 'Herald is listening' "$dir/log"; do sleep 0.1; done
addr=$(grep 'Herald is listening' "$dir/log" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["address"][7:])')
python3 - "$addr" <<'PY'
import socket, sys, time, urllib.request
host, port = sys.argv[1].rsplit(':', 1)
idle = [socket.create_connection((host, int(port))) for _ in range(1100)]
start = time.monotonic()
urllib.request.urlopen(f'http://{host}:{port}/healthz', timeout=300).read()
print(f'1100 idle connections, ulimit -n 1024: /healthz answered after {time.monotonic()-start:.1f} s')
PY
echo "starvation log lines: $(grep -c 'cannot accept connections' "$dir/log")"
