#!/usr/bin/env bash
# POST /api/Tickets on PostgreSQL (bench/core.sh's write part: the same body, wrk -t2 -c32, raw
# single-row commits over 32 connections as the baseline), in alternating rounds on one
# throwaway cluster: each round measures the baseline, then each variant with a fresh Herald on
# the same database. A variant is BINARY:CONNECTIONS, CONNECTIONS a --db-max-connections or
# `default` (no flag).
#
#   bench/pg_post_rounds.sh 3 8 "/tmp/before/herald:default target/release/herald:default"
#
# Prints one line per round: the load average, the raw commits/s, each variant's req/s and its
# ratio to that round's commits.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}; DURATION=${2:-8}; VARIANTS=${3:-"target/release/herald:default"}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --example bench_commits --example bench_seed
EX=target/release/examples
source bench/pg-cluster.sh
KEY=bench-key-0123456789abcdef
WORK=$(mktemp -d)
HPID=""
cleanup() { [ -z "$HPID" ] || kill "$HPID" 2>/dev/null || true; pg_cluster_stop; rm -rf "$WORK"; }
trap cleanup EXIT
pg_cluster_start
DB=$(pg_createdb herald_bench)
first=${VARIANTS%% *}
HERALD_API_KEY="$KEY" "${first%:*}" --database "$DB" api-key set >/dev/null
$EX/bench_seed "$DB" 1000 >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
cat >"$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"Description":"Benchmark: mail is slow","StartTime":"2001-01-01T12:00:00Z","Services":[{"Id":1}],"DoNotSendEmail":true}'
LUA
for r in $(seq 1 "$ROUNDS"); do
  commits=$($EX/bench_commits "$DB" "$DURATION" 32)
  line="round $r, load $(cut -d' ' -f1 /proc/loadavg): raw commits $commits/s"
  for v in $VARIANTS; do
    bin=${v%:*}; connections=${v##*:}; flag=()
    [ "$connections" = default ] || flag=(--db-max-connections "$connections")
    port=$(free_port)
    RUST_LOG=warn "$bin" serve --database "$DB" --bind "127.0.0.1:$port" "${flag[@]}" >"$WORK/herald.out" 2>&1 &
    HPID=$!
    wait_http "http://127.0.0.1:$port/healthz"
    wrk -t2 -c32 -d"${DURATION}s" -s "$WORK/post.lua" "http://127.0.0.1:$port/api/Tickets?key=$KEY" >"$WORK/wrk.txt"
    kill "$HPID"; wait "$HPID" 2>/dev/null || true; HPID=""
    rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.txt")
    failed=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.txt")
    line="$line; $v $rps req/s ($(python3 -c "print(f'{$rps/$commits:.2f}')"))${failed:+, $failed not 201}"
  done
  echo "$line"
done
