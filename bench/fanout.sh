#!/usr/bin/env bash
# Fan-out benchmark (issues 3 and 5): one ticket on a service followed by N customers (default
# 100,000), delivered by release builds of `herald serve` to Postfix's smtp-sink on loopback, on
# each configuration of CONFIGS in turn:
#
#   sqlite        one instance on an SQLite file (the default set-up)
#   postgres      one instance on PostgreSQL (a throwaway cluster, bench/pg-cluster.sh)
#   postgres:2    two instances on one PostgreSQL database, sharing the queue; the ticket is
#                 created through the first
#
# For each it reports:
#   - how long the POST that creates the ticket takes to return (goal: under 1 s);
#   - how long until the sink has accepted all N messages, and that rate (goal: >= 10,000/s);
#   - that rate as a ratio of what smtp-source pushes into the same sink process, over the same
#     number of connections, with messages of the same size, in the same run (measured before and
#     after the Herald runs; the ratio is against their mean);
#   - Herald's CPU time (user + system, all instances) per message, and each instance's share;
#     and the sink's CPU time per message (fewer, larger writes cost the sink less too);
#   - duplicates: messages the sink received beyond N (must be 0 while no instance dies), once
#     the database says all N were sent;
#   - each instance's peak resident memory (VmHWM from /proc/PID/status: the POST and the whole
#     fan-out), and on PostgreSQL the server's CPU time per message (all its processes).
#
# Needs: python3, curl, the smtp-sink and smtp-source programs of the Debian package `postfix`
# (`apt-get install -y postfix`; the Postfix daemon itself is not used and need not run), and for
# the PostgreSQL configurations the PostgreSQL server binaries (`apt-get install -y postgresql`).
#
# Usage: bench/fanout.sh                          (N=100000 CONNECTIONS=32, all three configurations)
#        N=20000 CONFIGS=sqlite bench/fanout.sh
#        N=1000000 CONFIGS="sqlite postgres" bench/fanout.sh   (a million followers)
#        HERALD_BIN=/tmp/herald-before CONFIGS=sqlite bench/fanout.sh   (that binary, not a build)
#        PERF_DATA=/tmp/fanout.perf CONFIGS=sqlite bench/fanout.sh   (records the first instance's
#        profile while it delivers: perf record $PERF_ARGS, default -g)
#        PG_STATS=/tmp/stats.txt CONFIGS=postgres bench/fanout.sh   (the server's statements from
#        the POST until all is sent, by pg_stat_statements: time, calls, rows, WAL records)
set -euo pipefail

N=${N:-100000}
CONFIGS=${CONFIGS:-sqlite postgres postgres:2}
# Herald's default number of parallel SMTP connections (DeliveryOptions::default().connections).
CONNECTIONS=${CONNECTIONS:-32}
# Payload size for smtp-source, so that its messages are about as large as Herald's (2,850 bytes
# with headers, measured by dumping one Herald notification with smtp-sink -d).
MSG_BYTES=${MSG_BYTES:-2700}
SINK_PORT=${SINK_PORT:-25925}
HTTP_PORT=${HTTP_PORT:-18925}
KEY=fanout-benchmark-key-0001

SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
for tool in "$SINK" "$SOURCE"; do
  [ -x "$tool" ] || { echo "missing $tool: apt-get install -y postfix (the daemon need not run)" >&2; exit 1; }
done

cd "$(dirname "$0")/.."
source bench/pg-cluster.sh
if [ -n "${HERALD_BIN:-}" ]; then
  # A binary built elsewhere (e.g. the release before a change, to compare).
  HERALD=$HERALD_BIN
else
  echo "== building (release)" >&2
  cargo build --release --quiet --bin herald
  HERALD=$PWD/target/release/herald
fi

WORK=$(mktemp -d)
SINK_PID=""
HERALD_PIDS=()
stop_instances() {
  for p in "${HERALD_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${HERALD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  HERALD_PIDS=()
}
cleanup() {
  stop_instances
  [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  pg_cluster_stop
  rm -rf "$WORK"
}
trap cleanup EXIT

source bench/common.sh
# The sink's running counter: the last complete "mesg=N" it printed (its counters are lines of
# "sess=N quit=N mesg=N\r"). Only the file's last bytes are read, in one process: the whole,
# growing file piped through grep every 10 ms took 17 % of the machine during a fan-out, from
# Herald, the database and smtp-source alike (BENCHMARKS.md, "PostgreSQL fan-out, fourth pass").
sink_count() {
  local tail_bytes
  tail_bytes=$(tail -c 160 "$WORK/sink.out" 2>/dev/null) || tail_bytes=""
  if [[ $tail_bytes =~ .*mesg=([0-9]+)$'\r' ]]; then echo "${BASH_REMATCH[1]}"; else echo 0; fi
}
# Waits until the sink counted $1 messages (10 minutes at most), in one process that reads the
# end of the sink's output every 5 ms. (A loop of `tail` and `sleep` every 10 ms forked some
# 300 processes a second: 14 % of the machine during Herald's runs, perf record -a, and none
# during smtp-source's, whose messages are all sent before the wait begins.)
wait_sink() {
  python3 - "$WORK/sink.out" "$1" "$SINK_PID" <<'PY' || exit 1
import os, re, sys, time
path, want, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + 600
count = re.compile(rb"mesg=([0-9]+)\r")
got = 0
with open(path, "rb") as f:
    while True:
        size = os.fstat(f.fileno()).st_size
        f.seek(max(0, size - 160))
        seen = count.findall(f.read())
        got = int(seen[-1]) if seen else got
        if got >= want:
            sys.exit(0)
        try:
            os.kill(pid, 0)
        except OSError:
            sys.exit("smtp-sink exited")
        if time.monotonic() > deadline:
            sys.exit(f"timed out: the sink has {got} of {want}")
        time.sleep(0.005)
PY
}

# CPU seconds of the PostgreSQL cluster: the postmaster, its live processes and the ones it
# reaped; 0 without a cluster.
pg_cpu_secs() {
  [ -n "$PG_DIR" ] || { echo 0; return; }
  local pm ticks p
  pm=$(head -1 "$PG_DIR/data/postmaster.pid")
  ticks=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat")
  for p in $(pgrep -P "$pm"); do ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  calc "$ticks / $(getconf CLK_TCK)"
}
hwm_mb() { awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

SENT_SQL="SELECT count(*) FROM notifications WHERE state = 'sent'"
# PostgreSQL keeps the recipients of a list that were sent in the list (`store/pg_lists.rs`;
# before the migration `list_outcomes` every one became a row: then the query above).
SENT_SQL_PG="SELECT ($SENT_SQL) + (SELECT COALESCE(SUM(sent), 0) FROM notification_lists)"

smtp_source_rate() {
  local before t0 t1
  before=$(sink_count); before=${before:-0}
  t0=$(now)
  "$SOURCE" -d -s "$CONNECTIONS" -m "$N" -l "$MSG_BYTES" -f status@bench.test -t customer@example.test \
    "127.0.0.1:$SINK_PORT"
  wait_sink $((before + N))
  t1=$(now)
  calc "$N / ($t1 - $t0)"
}

# Runs one configuration ("backend" or "backend:instances"); appends its figures to ROWS.
ROWS=()
run_config() {
  local config=$1 backend=${1%%:*} instances=1 url sent
  [[ $config == *:* ]] && instances=${config##*:}
  local name=fanout_$RANDOM
  case $backend in
    sqlite)
      url="sqlite://$WORK/$name.db"
      HERALD_API_KEY="$KEY" "$HERALD" --database "$url" api-key set >/dev/null
      fanout_followers_sql "$N" | sqlite_exec "$WORK/$name.db"
      sent() { sqlite_exec "$WORK/$name.db" "$SENT_SQL"; } ;;
    postgres)
      url=$(pg_createdb "$name")
      HERALD_API_KEY="$KEY" "$HERALD" --database "$url" api-key set >/dev/null
      fanout_followers_sql "$N" | pg_psql -d "$name" -f - >/dev/null
      sent() {
        pg_psql -d "$name" -tA -c "$SENT_SQL_PG" 2>/dev/null || pg_psql -d "$name" -tA -c "$SENT_SQL"
      }
      [ -z "${PG_STATS:-}" ] || pg_psql -d "$name" -c "CREATE EXTENSION pg_stat_statements" ;;
    *) echo "unknown configuration $config (sqlite, postgres, postgres:2)" >&2; exit 1 ;;
  esac

  local i port
  for ((i = 0; i < instances; i++)); do
    port=$((HTTP_PORT + i))
    RUST_LOG=warn "$HERALD" serve --database "$url" --bind "127.0.0.1:$port" \
      --smtp-url "smtp://127.0.0.1:$SINK_PORT" --mail-from "Status <status@bench.test>" \
      > "$WORK/herald-$name-$i.out" 2>&1 &
    HERALD_PIDS+=($!)
  done
  for ((i = 0; i < instances; i++)); do
    until curl -sf "http://127.0.0.1:$((HTTP_PORT + i))/healthz" >/dev/null; do
      kill -0 "${HERALD_PIDS[$i]}" 2>/dev/null || { cat "$WORK/herald-$name-$i.out" >&2; exit 1; }
      sleep 0.05
    done
  done

  local base t2 t3 post status post_secs herald_secs p sink0 perf_pid=""
  local -a cpu0=()
  base=$(sink_count); base=${base:-0}
  if [ -n "${PERF_DATA:-}" ]; then
    # shellcheck disable=SC2086 # PERF_ARGS is a list of options
    rm -f "$PERF_DATA"
    perf record ${PERF_ARGS:--g} -o "$PERF_DATA" -p "${HERALD_PIDS[0]}" 2>"$WORK/perf.err" &
    perf_pid=$!
    # perf creates its file once it records (5 s at most).
    for _ in $(seq 100); do [ -e "$PERF_DATA" ] && break; sleep 0.05; done
  fi
  for p in "${HERALD_PIDS[@]}"; do cpu0+=("$(cpu_secs "$p")"); done
  sink0=$(cpu_secs "$SINK_PID")
  local pg0; pg0=$(pg_cpu_secs)
  [ -z "${PG_STATS:-}" ] || [ "$backend" != postgres ] ||
    pg_psql -d "$name" -tA -c "SELECT pg_stat_statements_reset()" >/dev/null
  t2=$(now)
  post=$(curl -s --max-time 60 -o "$WORK/post.json" -w '%{http_code} %{time_total}' \
    -X POST "http://127.0.0.1:$HTTP_PORT/api/Tickets?key=$KEY" -H 'Content-Type: application/json' \
    -d '{"Description":"Mail is down for everyone","StartTime":"2026-11-27T12:00:00Z","Services":[{"Id":1}]}')
  read -r status post_secs <<<"$post"
  [ "$status" = 201 ] || { echo "POST failed: $status $(cat "$WORK/post.json")" >&2; exit 1; }
  wait_sink $((base + N))
  t3=$(now)
  herald_secs=$(calc "$t3 - $t2")
  # Outcomes are written in batches: wait until the database says every message was sent.
  local deadline=$((SECONDS + 120))
  until [ "$(sent)" -ge "$N" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "$config: the database never showed $N sent" >&2; exit 1; }
    sleep 0.1
  done
  [ -z "$perf_pid" ] || { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
  [ -z "${PG_STATS:-}" ] || [ "$backend" != postgres ] || pg_psql -d "$name" -c "
    SELECT calls, round(total_exec_time::numeric / 1000, 2) AS secs,
      round(total_plan_time::numeric / 1000, 2) AS plan_secs, rows,
      round(wal_records::numeric / $N, 2) AS wal_per_msg,
      round(wal_fpi::numeric / $N, 3) AS fpi_per_msg, round(wal_bytes::numeric / $N) AS wal_bytes_per_msg, left(regexp_replace(query, '\s+', ' ', 'g'), 150) AS query
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15" >> "$PG_STATS"
  local sink_us; sink_us=$(calc "($(cpu_secs "$SINK_PID") - $sink0) * 1e6 / $N")
  local pg_us; pg_us=$(calc "($(pg_cpu_secs) - $pg0) * 1e6 / $N")
  [ "$backend" = postgres ] || pg_us=-
  local peaks=""
  for p in "${HERALD_PIDS[@]}"; do peaks+="${peaks:+/}$(hwm_mb "$p")"; done
  # Each instance's CPU time during the fan-out: the total per message, and each one's share.
  local used=() total=0 shares=""
  for ((i = 0; i < instances; i++)); do
    used+=("$(calc "$(cpu_secs "${HERALD_PIDS[$i]}") - ${cpu0[$i]}")")
    total=$(calc "$total + ${used[$i]}")
  done
  for ((i = 0; i < instances; i++)); do
    shares+="${shares:+/}$(calc "round(100 * ${used[$i]} / $total)")%"
  done
  stop_instances
  local received; received=$(sink_count)
  ROWS+=("$config $instances $post_secs $herald_secs $(calc "$total * 1e6 / $N") $shares $sink_us $((received - base - N)) $peaks $pg_us")
}

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [ -n "${PG_STATS:-}" ]; then
  PG_SERVER_OPTS="${PG_SERVER_OPTS:-} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on"
fi
case " $CONFIGS " in *" postgres"*) pg_cluster_start ;; esac
"$SINK" -c -u nobody "127.0.0.1:$SINK_PORT" 1024 > "$WORK/sink.out" 2>&1 &
SINK_PID=$!
until (exec 3<>"/dev/tcp/127.0.0.1/$SINK_PORT") 2>/dev/null; do sleep 0.05; done

echo "== smtp-source: $N messages of $MSG_BYTES bytes over $CONNECTIONS connections" >&2
SOURCE_BEFORE=$(smtp_source_rate)
for config in $CONFIGS; do
  echo "== $config" >&2
  run_config "$config"
done
echo "== smtp-source again" >&2
SOURCE_AFTER=$(smtp_source_rate)
SOURCE_RATE=$(calc "($SOURCE_BEFORE + $SOURCE_AFTER) / 2")

echo
printf 'followers: %s; SMTP connections per instance: %s; load average after: %s\n' \
  "$N" "$CONNECTIONS" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'smtp-source into the same sink: %.0f msg/s before, %.0f msg/s after (mean %.0f)\n\n' \
  "$SOURCE_BEFORE" "$SOURCE_AFTER" "$SOURCE_RATE"
echo "| configuration | instances | POST returned | sink accepted all | Herald / smtp-source | Herald CPU per message (share per instance) | PostgreSQL CPU per message | sink CPU per message | peak RSS per instance | duplicates |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do
  read -r config instances post_secs herald_secs cpu_us shares sink_us dups peaks pg_us <<<"$row"
  rate=$(calc "$N / $herald_secs")
  [ "$pg_us" = - ] || pg_us=$(printf '%.0f µs' "$pg_us")
  printf '| %s | %s | %.2f s | %.2f s (%.0f msg/s) | %.2f | %.0f µs (%s) | %s | %.0f µs | %s MB | %s |\n' "$config" \
    "$instances" "$post_secs" "$herald_secs" "$rate" "$(calc "$rate / $SOURCE_RATE")" "$cpu_us" "$shares" \
    "$pg_us" "$sink_us" "$peaks" "$dups"
done
