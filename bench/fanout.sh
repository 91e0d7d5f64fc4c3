#!/usr/bin/env bash
# Fan-out benchmark (issue 3): one ticket on a service followed by N customers (default
# 100,000), delivered by a release build of `herald serve` to Postfix's smtp-sink on loopback.
#
# Reports:
#   - how long the POST that creates the ticket takes to return (goal: under 1 s);
#   - how long until the sink has accepted all N messages, and that rate (goal: >= 10,000/s);
#   - that rate as a ratio of what smtp-source pushes into the same sink process, over the same
#     number of connections, with messages of the same size, in the same run.
#
# Needs: python3 (writes the followers straight into the database; arithmetic), curl, and the smtp-sink
# and smtp-source programs of the Debian package `postfix` (`apt-get install -y postfix`; the
# Postfix daemon itself is not used and need not run).
#
# Usage: bench/fanout.sh            (N=100000 CONNECTIONS=32 by default)
#        N=20000 bench/fanout.sh
set -euo pipefail

N=${N:-100000}
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
echo "== building (release)"
cargo build --release --quiet
HERALD=$PWD/target/release/herald

WORK=$(mktemp -d)
SINK_PID=""
HERALD_PID=""
cleanup() {
  [ -n "$HERALD_PID" ] && kill "$HERALD_PID" 2>/dev/null || true
  [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
# CPU time (user + system, in clock ticks) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
calc() { python3 -c "print($1)"; }
# The sink's running counter: the last "mesg=N" it printed.
sink_count() { tr '\r' '\n' < "$WORK/sink.out" | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2 || echo 0; }
wait_sink() { # wait until the sink counted $1 messages (10 minutes at most)
  local want=$1 deadline=$((SECONDS + 600))
  while true; do
    local got; got=$(sink_count); got=${got:-0}
    [ "$got" -ge "$want" ] && return 0
    kill -0 "$SINK_PID" 2>/dev/null || { echo "smtp-sink exited" >&2; exit 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "timed out: the sink has $got of $want" >&2; exit 1; }
    sleep 0.01
  done
}

echo "== preparing $N followers"
DB="$WORK/herald.db"
"$HERALD" --database "sqlite://$DB" api-key set "$KEY" >/dev/null
python3 - "$DB" "$N" <<'PY'
import sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
c.execute("INSERT INTO services (id, name) VALUES (1, 'Mail')")
c.executemany("INSERT INTO customers (id, name, email) VALUES (?, ?, ?)",
              ((i, f"Customer {i}", f"customer{i}@example.test") for i in range(1, n + 1)))
c.executemany("INSERT INTO customer_services (customer_id, service_id) VALUES (?, 1)",
              ((i,) for i in range(1, n + 1)))
c.commit()
PY

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$SINK" -c -u nobody "127.0.0.1:$SINK_PORT" 1024 > "$WORK/sink.out" 2>&1 &
SINK_PID=$!
sleep 0.2

echo "== smtp-source: $N messages of $MSG_BYTES bytes over $CONNECTIONS connections"
t0=$(now)
"$SOURCE" -d -s "$CONNECTIONS" -m "$N" -l "$MSG_BYTES" -f status@bench.test -t customer@example.test \
  "127.0.0.1:$SINK_PORT"
wait_sink "$N"
t1=$(now)
source_secs=$(calc "$t1 - $t0")

echo "== herald serve"
RUST_LOG=warn "$HERALD" serve --database "sqlite://$DB" --bind "127.0.0.1:$HTTP_PORT" \
  --smtp-url "smtp://127.0.0.1:$SINK_PORT" --mail-from "Status <status@bench.test>" \
  > "$WORK/herald.out" 2>&1 &
HERALD_PID=$!
until curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null; do sleep 0.05; done

base=$(sink_count)
cpu0=$(cpu_ticks "$HERALD_PID")
# PERF_DATA=file: record Herald's profile while it delivers (perf record $PERF_ARGS, default -g).
PERF_PID=""
if [ -n "${PERF_DATA:-}" ]; then
  perf record ${PERF_ARGS:--g} -o "$PERF_DATA" -p "$HERALD_PID" 2>"$WORK/perf.err" &
  PERF_PID=$!
  sleep 0.5
fi
sink_cpu0=$(cpu_ticks "$SINK_PID")
t2=$(now)
post=$(curl -s --max-time 60 -o "$WORK/post.json" -w '%{http_code} %{time_total}' \
  -X POST "http://127.0.0.1:$HTTP_PORT/api/Tickets?key=$KEY" -H 'Content-Type: application/json' \
  -d '{"Description":"Mail is down for everyone","StartTime":"2026-11-27T12:00:00Z","Services":[{"Id":1}]}')
read -r status post_secs <<<"$post"
[ "$status" = 201 ] || { echo "POST failed: $status $(cat "$WORK/post.json")" >&2; exit 1; }
cpu_post=$(cpu_ticks "$HERALD_PID")
wait_sink $((base + N))
t3=$(now)
herald_secs=$(calc "$t3 - $t2")
cpu1=$(cpu_ticks "$HERALD_PID")
sink_cpu1=$(cpu_ticks "$SINK_PID")
hz=$(getconf CLK_TCK)
if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi

source_rate=$(calc "$N / $source_secs")
herald_rate=$(calc "$N / $herald_secs")
printf '\n%-52s %s\n' "followers" "$N"
printf '%-52s %.3f s\n' "POST /api/Tickets returned after" "$post_secs"
printf '%-52s %.2f s  (%.0f msg/s)\n' "sink accepted all Herald messages after" "$herald_secs" "$herald_rate"
printf '%-52s %.2f s  (%.0f msg/s)\n' "smtp-source, same sink, $CONNECTIONS connections" "$source_secs" "$source_rate"
printf '%-52s %.2f\n' "Herald / smtp-source" "$(calc "$herald_rate / $source_rate")"
printf '%-52s %.1f µs\n' "Herald CPU (user+system) per message" \
  "$(calc "($cpu1 - $cpu0) * 1e6 / $hz / $N")"
printf '%-52s %.1f µs\n' "  of which until the POST returned" \
  "$(calc "($cpu_post - $cpu0) * 1e6 / $hz / $N")"
printf '%-52s %.1f µs\n' "smtp-sink CPU per Herald message" \
  "$(calc "($sink_cpu1 - $sink_cpu0) * 1e6 / $hz / $N")"
printf '%-52s %s\n' "load average after" "$(cut -d' ' -f1-3 /proc/loadavg)"
