#!/usr/bin/env bash
# The read figures of issue 16: GET /api/Tickets/{id} (JSON, 64 connections, 100,000 tickets)
#   - on SQLite, against examples/bench_static.rs (a bare axum server returning the same bytes);
#   - on PostgreSQL (a throwaway cluster, bench/pg-cluster.sh), against the cluster's own
#     point-select rate: `pgbench -S -c 64 -j 2` on a pgbench database in the same cluster.
# Each figure is ROUNDS alternating rounds of the baseline and Herald (medians). Needs wrk.
#
#   bench/reads.sh                        # both backends
#   CONFIGS=sqlite bench/reads.sh         # one of them (sqlite, postgres)
#   ROUNDS=3 DURATION=5 bench/reads.sh    # rounds per figure, seconds per round
#   HERALD_BIN_DIR=/tmp/old bench/reads.sh  # the herald binary of another build
#   RANDOM_IDS=1 bench/reads.sh           # Herald's GETs each of a random ticket (as pgbench -S
#                                         # reads random rows) instead of all of the same one
#   NO_BUILD=1 bench/reads.sh             # use the release build as it is (e.g. one made
#                                         # with line tables for perf)
#   PERF=1 bench/reads.sh                 # also `perf record -g` Herald during its last round
#                                         # (perf-reads-*.data and the reports
#                                         # perf-reads-*.txt are left in $PERF_DIR, default /tmp;
#                                         # PERF_RECORD="--call-graph dwarf -F 499" for stacks
#                                         # through code built without frame pointers)
#
# Prints a Markdown table and the load average at the start and the end.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
TICKETS=${TICKETS:-100000}
CONFIGS=${CONFIGS:-"sqlite postgres"}
PERF_DIR=${PERF_DIR:-/tmp}
KEY=bench-key-0123456789abcdef

[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin herald --example bench_static --example bench_seed
BIN=${HERALD_BIN_DIR:-target/release}; EX=target/release/examples
WORK=$(mktemp -d)
PIDS=()
source bench/pg-cluster.sh
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; pg_cluster_stop; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(map(float,sys.argv[1:])):.0f}")' "$@"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
wrk_rps() { wrk -t2 -c64 -d"${DURATION}s" "${@:2}" "$1" | awk '/^Requests\/sec/ {print $2}'; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# Starts Herald on $1 with TICKETS tickets; sets H and HERALD_PID.
start_herald() {
  HERALD_API_KEY="$KEY" $BIN/herald --database "$1" api-key set >/dev/null
  $EX/bench_seed "$1" "$TICKETS" >/dev/null
  local port; port=$(free_port)
  RUST_LOG=warn $BIN/herald serve --database "$1" --bind "127.0.0.1:$port" >"$WORK/herald.out" 2>&1 &
  HERALD_PID=$!; PIDS+=("$HERALD_PID")
  H="http://127.0.0.1:$port"
  wait_http "$H/healthz"
}

# Herald's round; the last one under perf when PERF is set ($1: the report's name).
herald_round() {
  local url="$H/api/Tickets/$((TICKETS / 2))?key=$KEY" script=()
  if [ -n "${RANDOM_IDS:-}" ]; then
    cat >"$WORK/random.lua" <<LUA
math.randomseed(os.time())
request = function() return wrk.format("GET", "/api/Tickets/" .. math.random(1, $TICKETS) .. "?key=$KEY") end
LUA
    script=(-s "$WORK/random.lua")
  fi
  if [ -n "${PERF:-}" ] && [ "$2" = "$ROUNDS" ]; then
    perf record ${PERF_RECORD:--g} -o "$PERF_DIR/perf-reads-$1.data" -p "$HERALD_PID" -- sleep "$DURATION" >/dev/null 2>&1 &
    local perf=$!
    wrk_rps "$url" "${script[@]}"
    wait "$perf" || true
    perf report -i "$PERF_DIR/perf-reads-$1.data" --no-children --stdio --percent-limit 0.7 -g none \
      >"$PERF_DIR/perf-reads-$1.txt" 2>/dev/null || true
  else
    wrk_rps "$url" "${script[@]}"
  fi
}

ROWS=()
for config in $CONFIGS; do
  case "$config" in
    sqlite)
      start_herald "sqlite://$WORK/herald.db"
      curl -fs "$H/api/Tickets/$((TICKETS / 2))?key=$KEY" >"$WORK/ticket.json"
      sp=$(free_port); $EX/bench_static "$WORK/ticket.json" "$sp" & PIDS+=("$!")
      wait_http "http://127.0.0.1:$sp/"
      b=(); h=()
      for r in $(seq 1 "$ROUNDS"); do
        b+=("$(wrk_rps "http://127.0.0.1:$sp/api/Tickets/$((TICKETS / 2))?key=$KEY")")
        h+=("$(herald_round sqlite "$r")")
      done
      kill "$HERALD_PID"; wait "$HERALD_PID" 2>/dev/null || true
      HM=$(median "${h[@]}"); BM=$(median "${b[@]}")
      ROWS+=("| SQLite: GET /api/Tickets/{id}, 64 connections | ${HM} req/s (${h[*]}) | static axum: ${BM} req/s (${b[*]}) | **$(ratio "$HM" "$BM")** | ≥ 0.5 |")
      ;;
    postgres)
      pg_cluster_start
      start_herald "$(pg_createdb herald_reads)"
      PGB="$(pg_createdb pgbench_reads)"
      "$PG_BIN/pgbench" -q -i -s 1 -h 127.0.0.1 -p "$PG_PORT" -U herald pgbench_reads >/dev/null 2>&1
      b=(); h=()
      for r in $(seq 1 "$ROUNDS"); do
        b+=("$("$PG_BIN/pgbench" -S -c 64 -j 2 -T "$DURATION" -h 127.0.0.1 -p "$PG_PORT" -U herald pgbench_reads 2>/dev/null \
          | awk '/^tps/ {print $3; exit}')")
        h+=("$(herald_round postgres "$r")")
      done
      kill "$HERALD_PID"; wait "$HERALD_PID" 2>/dev/null || true
      pg_cluster_stop
      HM=$(median "${h[@]}"); BM=$(median "${b[@]}")
      ROWS+=("| PostgreSQL: GET /api/Tickets/{id}, 64 connections | ${HM} req/s (${h[*]}) | pgbench -S -c 64 -j 2: ${BM} tps (${b[*]}) | **$(ratio "$HM" "$BM")** | ≥ 0.5 |")
      ;;
    *) echo "unknown configuration $config (sqlite, postgres)" >&2; exit 1 ;;
  esac
done

echo "| figure (median of $ROUNDS rounds of ${DURATION} s) | Herald | baseline | ratio | goal |"
echo "|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "load average: start $LOAD_START, end $(cut -d' ' -f1-3 /proc/loadavg)"
