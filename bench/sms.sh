#!/usr/bin/env bash
# SMS fan-out benchmark (issue 13): one ticket on a service followed by N customers (default
# 10,000) with a cell phone each, texted by a release build of `herald serve` (SQLite) through an
# SMSC on loopback that accepts every submit (`examples/bench_sms.rs smsc`: the test SMSC of
# herald-test-support, on the server side of the SMPP crate Herald uses, smpp34). The baseline is
# a bare client of the same crate (`bench_sms client`) submitting the same N texts (the same
# bytes, to the same numbers) with the same window (WINDOW, Herald's default 32 submits in flight)
# to the same SMSC process. ROUNDS rounds, alternating bare client and Herald; medians.
#
# For each round it reports:
#   - how long the POST that creates the ticket takes to return (goal: under 0.5 s);
#   - how long from the POST until the SMSC has accepted all N texts, and that rate;
#   - the bare client's rate (first submit to last answer, bound beforehand as Herald is);
#   - Herald's rate as a ratio of the bare client's (goal: >= 0.5);
#   - Herald's CPU time (user + system) per text.
#
# Needs: python3, curl.
#
# Usage: bench/sms.sh                       (N=10000 ROUNDS=5 WINDOW=32)
#        N=2000 ROUNDS=1 bench/sms.sh
#        HERALD_BIN=/tmp/herald-before bench/sms.sh     (that binary, not a build)
#        UNSTORED=1 bench/sms.sh            (the ticket posted before Herald stored the seeded
#                                           followers' numbers)
#        PERF_DATA=/tmp/sms.perf bench/sms.sh           (records Herald's profile in the last
#        round: perf record $PERF_ARGS, default -g)
set -euo pipefail

N=${N:-10000}
ROUNDS=${ROUNDS:-5}
WINDOW=${WINDOW:-32}
HTTP_PORT=${HTTP_PORT:-18935}
KEY=sms-benchmark-key-00001
DESCRIPTION="Mail is down for everyone"
# What Herald texts for the ticket (templates/sms/en/created.txt; no public URL, so no link).
TEXT="New disruption of Mail: $DESCRIPTION"

cd "$(dirname "$0")/.."
echo "== building (release)" >&2
if [ -n "${HERALD_BIN:-}" ]; then
  HERALD=$HERALD_BIN
  cargo build --release --quiet --example bench_sms
else
  cargo build --release --quiet --bin herald --example bench_sms
  HERALD=$PWD/target/release/herald
fi
BENCH=$PWD/target/release/examples/bench_sms

WORK=$(mktemp -d)
SMSC_PID=""
HERALD_PID=""
cleanup() {
  [ -n "$HERALD_PID" ] && kill "$HERALD_PID" 2>/dev/null || true
  [ -n "$SMSC_PID" ] && kill "$SMSC_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

source bench/common.sh
median() { python3 -c "import statistics, sys; print(statistics.median(float(a) for a in sys.argv[1:]))" "$@"; }
accepted() { cut -d' ' -f1 "$WORK/count"; }
binds() { cut -d' ' -f2 "$WORK/count"; }
wait_accepted() { # until the SMSC accepted $1 submits (10 minutes at most)
  local want=$1 deadline=$((SECONDS + 600))
  until [ "$(accepted)" -ge "$want" ]; do
    kill -0 "$SMSC_PID" 2>/dev/null || { echo "the SMSC exited" >&2; exit 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "timed out: the SMSC has $(accepted) of $want" >&2; exit 1; }
    sleep 0.002
  done
}

# The followers, each with a number of their own: +3161NNNNNNN, as the bare client's.
seed_sql() {
  cat <<SQL
INSERT INTO services (name) VALUES ('Mail');
INSERT INTO customers (name, cell_phone)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
  SELECT 'Customer ' || i, '+3161' || substr('0000000' || i, -7) FROM n;
INSERT INTO customer_services (customer_id, service_id)
  SELECT c.id, s.id FROM customers c, services s;
ANALYZE;
SQL
}

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
"$BENCH" smsc "$WORK/count" > "$WORK/smsc.out" 2>&1 &
SMSC_PID=$!
until [ -s "$WORK/smsc.out" ] && [ -e "$WORK/count" ]; do sleep 0.01; done
SMSC_PORT=$(head -1 "$WORK/smsc.out")
SMS_URL="smpp://herald:s3cret@127.0.0.1:$SMSC_PORT?source=Herald"

bare_round() {
  local base; base=$(accepted)
  "$BENCH" client "$SMSC_PORT" "$N" "$WINDOW" "$TEXT" > "$WORK/bare.out"
  wait_accepted $((base + N))
  cut -d' ' -f2 "$WORK/bare.out"
}

# One Herald round on a fresh database; prints "post_secs herald_secs cpu_us".
herald_round() {
  local round=$1 db="$WORK/sms_$1.db" perf_pid=""
  HERALD_API_KEY="$KEY" "$HERALD" --database "sqlite://$db" api-key set >/dev/null
  seed_sql | sqlite_exec "$db"
  local binds0; binds0=$(binds)
  RUST_LOG=warn "$HERALD" serve --database "sqlite://$db" --bind "127.0.0.1:$HTTP_PORT" \
    --sms-url "$SMS_URL" > "$WORK/herald-$round.out" 2>&1 &
  HERALD_PID=$!
  until curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null; do
    kill -0 "$HERALD_PID" 2>/dev/null || { cat "$WORK/herald-$round.out" >&2; exit 1; }
    sleep 0.05
  done
  # Bound to the SMSC before the ticket, as the bare client is before it submits.
  until [ "$(binds)" -gt "$binds0" ]; do sleep 0.01; done
  # The followers were written past Herald (seed_sql): wait until its start-up pass has stored
  # their numbers normalised, as a customer written through the API has it at once
  # (notify/sms/numbers.rs). UNSTORED=1 posts the ticket at once instead, racing that pass (the
  # fan-out then normalises what is not stored yet itself).
  if [ -z "${UNSTORED:-}" ]; then
    until [ "$(sqlite_exec "$db" "SELECT count(*) FROM customers WHERE sms_number IS NOT NULL")" -ge "$N" ]; do
      sleep 0.01
    done
  fi
  if [ -n "${PERF_DATA:-}" ] && [ "$round" = "$ROUNDS" ]; then
    rm -f "$PERF_DATA"
    # shellcheck disable=SC2086 # PERF_ARGS is a list of options
    perf record ${PERF_ARGS:--g} -o "$PERF_DATA" -p "$HERALD_PID" 2>"$WORK/perf.err" &
    perf_pid=$!
    for _ in $(seq 100); do [ -e "$PERF_DATA" ] && break; sleep 0.05; done
  fi
  local base t2 t3 post status post_secs cpu0
  base=$(accepted)
  cpu0=$(cpu_secs "$HERALD_PID")
  t2=$(now)
  post=$(curl -s --max-time 60 -o "$WORK/post.json" -w '%{http_code} %{time_total}' \
    -X POST "http://127.0.0.1:$HTTP_PORT/api/Tickets?key=$KEY" -H 'Content-Type: application/json' \
    -d "{\"Description\":\"$DESCRIPTION\",\"StartTime\":\"2026-12-01T12:00:00Z\",\"Services\":[{\"Id\":1}]}")
  read -r status post_secs <<<"$post"
  [ "$status" = 201 ] || { echo "POST failed: $status $(cat "$WORK/post.json")" >&2; exit 1; }
  wait_accepted $((base + N))
  t3=$(now)
  # Outcomes are written in batches: wait until the database says every text was sent.
  local deadline=$((SECONDS + 120))
  until [ "$(sqlite_exec "$db" "SELECT count(*) FROM notifications WHERE channel = 'sms' AND state = 'sent'")" -ge "$N" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "the database never showed $N sent" >&2; exit 1; }
    sleep 0.05
  done
  [ -z "$perf_pid" ] || { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
  local cpu_us; cpu_us=$(calc "($(cpu_secs "$HERALD_PID") - $cpu0) * 1e6 / $N")
  kill "$HERALD_PID"; wait "$HERALD_PID" 2>/dev/null || true; HERALD_PID=""
  local extra; extra=$(calc "$(accepted) - $base - $N")
  [ "$extra" = 0 ] || { echo "the SMSC got $extra texts more than $N" >&2; exit 1; }
  echo "$post_secs $(calc "$t3 - $t2") $cpu_us"
}

BARE=() HERALD_RATE=() POST=() CPU=()
printf '| round | bare client | Herald | Herald / bare | POST returned | Herald CPU per text |\n|---|---|---|---|---|---|\n' > "$WORK/rounds"
for ((r = 1; r <= ROUNDS; r++)); do
  echo "== round $r of $ROUNDS" >&2
  bare=$(bare_round)
  read -r post_secs herald_secs cpu_us <<<"$(herald_round "$r")"
  rate=$(calc "$N / $herald_secs")
  BARE+=("$bare") HERALD_RATE+=("$rate") POST+=("$post_secs") CPU+=("$cpu_us")
  printf '| %s | %.0f texts/s | %.0f texts/s (%.2f s) | %.2f | %.3f s | %.0f µs |\n' "$r" "$bare" "$rate" \
    "$herald_secs" "$(calc "$rate / $bare")" "$post_secs" "$cpu_us" >> "$WORK/rounds"
done

echo
printf 'followers with a cell phone: %s; window: %s; rounds: %s; load average at start: %s, at end: %s\n\n' \
  "$N" "$WINDOW" "$ROUNDS" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)"
cat "$WORK/rounds"
bare_m=$(median "${BARE[@]}")
herald_m=$(median "${HERALD_RATE[@]}")
printf '| **median** | %.0f texts/s | %.0f texts/s | %.2f | %.3f s | %.0f µs |\n' "$bare_m" "$herald_m" \
  "$(calc "$herald_m / $bare_m")" "$(median "${POST[@]}")" "$(median "${CPU[@]}")"
