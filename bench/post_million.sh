#!/usr/bin/env bash
# The POST of a ticket on a service followed by N customers (default a million), alone: no mail
# server, no fan-out measured. It seeds one database with the followers (fanout_followers_sql),
# then for each round copies it, starts `herald serve` on the copy, times one POST /api/Tickets,
# and prints the POST's time with the times sqlx logged for the queueing statement and the
# COMMIT (RUST_LOG=sqlx::query=debug). Binaries alternate round by round, so the machine's drift
# falls on all of them alike.
#
# BACKEND=sqlite (default): a SQLite file, copied with `cp`. BACKEND=postgres: a database of a
# throwaway cluster (bench/pg-cluster.sh), copied with CREATE DATABASE … TEMPLATE. The first
# binary seeds the database: give the oldest first (a newer one migrates its copy on start).
#
# Usage: bench/post_million.sh /tmp/herald-before /tmp/herald-after
#        N=100000 ROUNDS=5 BACKEND=postgres bench/post_million.sh target/release/herald
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
N=${N:-1000000}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18998}
BACKEND=${BACKEND:-sqlite}
KEY=post-million-benchmark-key-01
[ "$#" -gt 0 ] || { echo "usage: $0 HERALD_BIN [HERALD_BIN...]" >&2; exit 1; }

WORK=$(mktemp -d)
PID=""
cleanup() {
  [ -z "$PID" ] || kill "$PID" 2>/dev/null || true
  [ "$BACKEND" != postgres ] || pg_cluster_stop
  rm -rf "$WORK"
}
trap cleanup EXIT

# The seed: the followers, in the first binary's schema. `fresh` sets `url` to a new copy of it.
case $BACKEND in
  sqlite)
    HERALD_API_KEY=$KEY "$1" --database "sqlite://$WORK/seed.db" api-key set >/dev/null
    fanout_followers_sql "$N" | sqlite_exec "$WORK/seed.db"
    fresh() { rm -f "$WORK"/run.db*; cp "$WORK/seed.db" "$WORK/run.db"; url="sqlite://$WORK/run.db"; }
    QUEUEING='INSERT INTO notifications \\(event_id' ;;
  postgres)
    source bench/pg-cluster.sh
    pg_cluster_start
    seed_url=$(pg_createdb seed)
    HERALD_API_KEY=$KEY "$1" --database "$seed_url" api-key set >/dev/null
    fanout_followers_sql "$N" | pg_psql -d seed -f - >/dev/null
    pg_psql -d seed -c "VACUUM ANALYZE" >/dev/null
    RUN=0
    fresh() {
      [ "$RUN" = 0 ] || pg_psql -d postgres -c "DROP DATABASE run$RUN" >/dev/null
      RUN=$((RUN + 1))
      pg_psql -d postgres -c "CREATE DATABASE run$RUN TEMPLATE seed" >/dev/null
      url="postgres://herald@127.0.0.1:$PG_PORT/run$RUN"
    }
    # The email's lists (pg_lists::enqueue), by its first words.
    QUEUEING='WITH r AS \\(SELECT' ;;
  *) echo "BACKEND is sqlite or postgres" >&2; exit 1 ;;
esac

# The elapsed times sqlx logged for the (email's) queueing statement and the COMMIT after it.
logged() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" | awk -v queueing="summary=\"($QUEUEING)" '
    function elapsed() { match($0, /elapsed=[^ ]*/); printf "%s | ", substr($0, RSTART + 8, RLENGTH - 8) }
    !found && $0 ~ queueing { found = 1; elapsed() }
    found && /summary="COMMIT/ { elapsed(); exit }'
}

echo "| round | binary | POST | queueing statement | COMMIT |"
echo "|---|---|---|---|---|"
for ((round = 1; round <= ROUNDS; round++)); do
  for bin in "$@"; do
    fresh
    RUST_LOG=sqlx::query=debug "$bin" serve --database "$url" --bind "127.0.0.1:$PORT" \
      --smtp-url smtp://127.0.0.1:1 --mail-from "Status <status@bench.test>" > "$WORK/log" 2>&1 &
    PID=$!
    until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do
      kill -0 "$PID" 2>/dev/null || { cat "$WORK/log" >&2; exit 1; }
      sleep 0.05
    done
    post=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST "http://127.0.0.1:$PORT/api/Tickets?key=$KEY" \
      -H 'Content-Type: application/json' \
      -d '{"Description":"Mail is down for everyone","StartTime":"2026-11-27T12:00:00Z","Services":[{"Id":1}]}')
    [ "${post%% *}" = 201 ] || { echo "POST failed: $post" >&2; exit 1; }
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    echo "| $round | $bin | ${post#* } s | $(logged "$WORK/log")"
    [ -z "${KEEP_LOG:-}" ] || cp "$WORK/log" "$KEEP_LOG"
  done
done
