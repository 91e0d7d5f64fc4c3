#!/usr/bin/env bash
# Core benchmarks of issue 2: read, write and memory, each against a baseline measured in the
# same run. Needs wrk (Debian package `wrk`).
#
#   bench/core.sh                      # SQLite in a temporary directory
#   bench/core.sh postgres://u@h/db    # an empty PostgreSQL database
#   ONLY=write bench/core.sh           # only the write part (READ_TICKETS=1000 seeds less)
#   HERALD_BIN_DIR=/tmp/old ...        # the herald binary of another build (to compare)
#   ONLY=read bench/core.sh            # only the read part (GET one ticket vs. static axum)
#
# Prints a Markdown table; BENCHMARKS.md holds the numbers of a recorded run.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

DURATION=${DURATION:-10}
READ_TICKETS=${READ_TICKETS:-100000}
STREAM_TICKETS=${STREAM_TICKETS:-1000000}
ONLY=${ONLY:-}
KEY=bench-key-0123456789abcdef

cargo build --release --quiet --bin herald --example bench_static --example bench_commits --example bench_seed
BIN=${HERALD_BIN_DIR:-target/release}; EX=target/release/examples
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

DB=${1:-sqlite://$WORK/herald.db}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
wrk_rps() { awk '/^Requests\/sec/ {print $2}' "$1"; }
wrk_pct() { awk -v p="$2" '$1 == p {print $2}' "$1"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

start_herald() {
  HERALD_PORT=$(free_port)
  RUST_LOG=warn $BIN/herald serve --database "$DB" --bind "127.0.0.1:$HERALD_PORT" >"$WORK/herald.out" 2>&1 &
  HERALD_PID=$!; PIDS+=("$HERALD_PID")
  wait_http "http://127.0.0.1:$HERALD_PORT/healthz"
}

HERALD_API_KEY="$KEY" $BIN/herald --database "$DB" api-key set >/dev/null
$EX/bench_seed "$DB" "$READ_TICKETS" >/dev/null
start_herald
H="http://127.0.0.1:$HERALD_PORT"
ID=$((READ_TICKETS / 2))

write_only() { [ "$ONLY" = write ]; }

# --- read: GET one ticket vs. a static server returning the same bytes -----------------------
if ! write_only; then
curl -fs "$H/api/Tickets/$ID?key=$KEY" >"$WORK/ticket.json"
STATIC_PORT=$(free_port)
$EX/bench_static "$WORK/ticket.json" "$STATIC_PORT" & PIDS+=("$!")
wait_http "http://127.0.0.1:$STATIC_PORT/"
wrk -t2 -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$STATIC_PORT/api/Tickets/$ID?key=$KEY" >"$WORK/read-base.txt"
wrk -t2 -c64 -d"${DURATION}s" --latency "$H/api/Tickets/$ID?key=$KEY" >"$WORK/read-herald.txt"
fi

if [ "$ONLY" = read ]; then
  RB=$(wrk_rps "$WORK/read-base.txt"); RH=$(wrk_rps "$WORK/read-herald.txt")
  cat <<MD
| figure | Herald | baseline | ratio | goal |
|---|---|---|---|---|
| read: GET /api/Tickets/{id}, 64 connections, ${READ_TICKETS} tickets | ${RH} req/s (p50 $(wrk_pct "$WORK/read-herald.txt" 50%), p99 $(wrk_pct "$WORK/read-herald.txt" 99%)) | static axum: ${RB} req/s (p50 $(wrk_pct "$WORK/read-base.txt" 50%), p99 $(wrk_pct "$WORK/read-base.txt" 99%)) | $(ratio "$RH" "$RB") | ≥ 0.5 |
MD
  exit 0
fi

# --- write: POST tickets (no email) vs. raw durable single-row commits -----------------------
cat >"$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"Description":"Benchmark: mail is slow","StartTime":"2001-01-01T12:00:00Z","Services":[{"Id":1}],"DoNotSendEmail":true}'
LUA
# The baseline commits to the same engine as Herald: SQLite files in $WORK (one writer), or
# the PostgreSQL database itself, from as many connections as wrk uses (it commits concurrent
# transactions together).
case "$DB" in
  postgres*) COMMITS=$($EX/bench_commits "$DB" "$DURATION" 32); COMMITS_HOW="32 connections" ;;
  *) COMMITS=$($EX/bench_commits "$WORK" "$DURATION"); COMMITS_HOW="one writer" ;;
esac
wrk -t2 -c32 -d"${DURATION}s" --latency -s "$WORK/post.lua" "$H/api/Tickets?key=$KEY" >"$WORK/write-herald.txt"
kill "$HERALD_PID"; wait "$HERALD_PID" 2>/dev/null || true

if write_only; then
  WH=$(wrk_rps "$WORK/write-herald.txt")
  cat <<MD
| figure | Herald | baseline | ratio | goal |
|---|---|---|---|---|
| write: POST /api/Tickets (DoNotSendEmail), 32 connections | ${WH} req/s (p50 $(wrk_pct "$WORK/write-herald.txt" 50%), p99 $(wrk_pct "$WORK/write-herald.txt" 99%)) | raw durable commits (${COMMITS_HOW}): ${COMMITS}/s | $(ratio "$WH" "$COMMITS") | ≥ 0.5 |
MD
  exit 0
fi

# --- memory: idle, and while streaming the whole ticket list ---------------------------------
$EX/bench_seed "$DB" $((STREAM_TICKETS - READ_TICKETS)) >/dev/null
start_herald
H="http://127.0.0.1:$HERALD_PORT"
curl -fs "$H/api/Tickets/1?key=$KEY" >/dev/null   # warm: one request served
IDLE_KB=$(rss_kb "$HERALD_PID")
curl -fs "$H/api/Tickets?key=$KEY" -o "$WORK/list.json" &
CURL=$!
PEAK_KB=$IDLE_KB
while kill -0 "$CURL" 2>/dev/null; do
  now=$(rss_kb "$HERALD_PID"); [ "$now" -gt "$PEAK_KB" ] && PEAK_KB=$now
  sleep 0.02
done
wait "$CURL"
STREAMED=$(python3 -c "import json;print(len(json.load(open('$WORK/list.json'))))")
LIST_MB=$(python3 -c "import os;print(f'{os.path.getsize(\"$WORK/list.json\")/1e6:.0f}')")

RB=$(wrk_rps "$WORK/read-base.txt"); RH=$(wrk_rps "$WORK/read-herald.txt"); WH=$(wrk_rps "$WORK/write-herald.txt")
cat <<MD
| figure | Herald | baseline | ratio | goal |
|---|---|---|---|---|
| read: GET /api/Tickets/{id}, 64 connections, ${READ_TICKETS} tickets | ${RH} req/s (p50 $(wrk_pct "$WORK/read-herald.txt" 50%), p99 $(wrk_pct "$WORK/read-herald.txt" 99%)) | static axum: ${RB} req/s (p50 $(wrk_pct "$WORK/read-base.txt" 50%), p99 $(wrk_pct "$WORK/read-base.txt" 99%)) | $(ratio "$RH" "$RB") | ≥ 0.5 |
| write: POST /api/Tickets (DoNotSendEmail), 32 connections | ${WH} req/s (p50 $(wrk_pct "$WORK/write-herald.txt" 50%), p99 $(wrk_pct "$WORK/write-herald.txt" 99%)) | raw durable commits (${COMMITS_HOW}): ${COMMITS}/s | $(ratio "$WH" "$COMMITS") | ≥ 0.5 |
| memory: resident, idle (${STREAM_TICKETS} tickets in the database) | $((IDLE_KB / 1024)) MB | | | < 50 MB |
| memory: growth while streaming GET /api/Tickets (${STREAMED} tickets, ${LIST_MB} MB of JSON) | $(((PEAK_KB - IDLE_KB) / 1024)) MB (peak $((PEAK_KB / 1024)) MB) | | | < 20 MB |
MD
