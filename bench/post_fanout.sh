#!/usr/bin/env bash
# The POST that queues a fan-out, alone (issue 16): POST /api/Tickets on a service followed by N
# customers (default 1,000,000) on SQLite, two binaries alternating in rounds on copies of one
# seeded file, so both see the same machine. No mail server is set, so nothing is sent while
# (or after) the POST runs: the figure is the request and its transaction only. Prints each
# round's time, the rows queued and the load average; compare the medians.
#
# Usage: bench/post_fanout.sh BEFORE_BIN AFTER_BIN
#        N=200000 ROUNDS=5 bench/post_fanout.sh /tmp/herald-before target/release/herald
set -euo pipefail

N=${N:-1000000}
ROUNDS=${ROUNDS:-3}
HTTP_PORT=${HTTP_PORT:-18977}
KEY=fanout-benchmark-key-0001
[ $# -eq 2 ] || { echo "usage: $0 BEFORE_BIN AFTER_BIN" >&2; exit 2; }

cd "$(dirname "$0")/.."
source bench/common.sh
WORK=$(mktemp -d)
PID=""
cleanup() {
  [ -z "$PID" ] || { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

HERALD_API_KEY="$KEY" "$1" --database "sqlite://$WORK/seed.db" api-key set >/dev/null
fanout_followers_sql "$N" | sqlite_exec "$WORK/seed.db"

echo "followers: $N; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= ROUNDS; round++)); do
  if ((round % 2)); then order=("$1" "$2"); else order=("$2" "$1"); fi
  for bin in "${order[@]}"; do
    rm -f "$WORK"/round.db*
    cp "$WORK/seed.db" "$WORK/round.db"
    RUST_LOG=warn "$bin" serve --database "sqlite://$WORK/round.db" --bind "127.0.0.1:$HTTP_PORT" \
      > "$WORK/herald.out" 2>&1 &
    PID=$!
    until curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null; do
      kill -0 "$PID" 2>/dev/null || { cat "$WORK/herald.out" >&2; exit 1; }
      sleep 0.05
    done
    post=$(curl -s --max-time 120 -o "$WORK/post.json" -w '%{http_code} %{time_total}' \
      -X POST "http://127.0.0.1:$HTTP_PORT/api/Tickets?key=$KEY" -H 'Content-Type: application/json' \
      -d '{"Description":"Mail is down for everyone","StartTime":"2026-11-27T12:00:00Z","Services":[{"Id":1}]}')
    read -r status secs <<<"$post"
    [ "$status" = 201 ] || { echo "POST failed: $status $(cat "$WORK/post.json")" >&2; exit 1; }
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=""
    queued=$(sqlite_exec "$WORK/round.db" "SELECT count(*) FROM notifications")
    printf 'round %s  %-40s POST %.2f s  queued %s  load %s\n' "$round" "$bin" "$secs" "$queued" \
      "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
