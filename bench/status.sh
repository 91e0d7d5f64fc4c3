#!/usr/bin/env bash
# Incident-day load on the public status page (issue 12): GET /status and GET /status/feed.atom
# with 50 open and 1,000 resolved tickets, 64 connections, against examples/bench_static.rs (a
# bare axum server returning the same bytes from memory), in alternating rounds of the same
# run; then the same while a writer updates a ticket every second (each update makes Herald
# render the page and the feed again). Needs wrk (Debian package `wrk`).
#
#   bench/status.sh                     # SQLite in a temporary directory
#   bench/status.sh postgres://u@h/db   # an empty PostgreSQL database
#   ROUNDS=3 DURATION=5 bench/status.sh # rounds per figure, seconds per round
#   HERALD_BIN=/tmp/herald-before bench/status.sh   # that binary (e.g. the release before a
#                                                   # change), not target/release's
#
# Prints a Markdown table (median of the rounds; the ratio is of the medians).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
OPEN=${OPEN:-50}
RESOLVED=${RESOLVED:-1000}
KEY=bench-key-0123456789abcdef

if [ -z "${HERALD_BIN:-}" ] || [ ! -x target/release/examples/bench_static ]; then
  cargo build --release --quiet --bin herald --example bench_static
fi
HERALD=${HERALD_BIN:-target/release/herald}; EX=target/release/examples
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

DB=${1:-sqlite://$WORK/herald.db}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

HERALD_API_KEY="$KEY" $HERALD --database "$DB" api-key set >/dev/null
PORT=$(free_port)
RUST_LOG=warn $HERALD serve --database "$DB" --bind "127.0.0.1:$PORT" >"$WORK/herald.out" 2>&1 &
PIDS+=("$!")
H="http://127.0.0.1:$PORT"
wait_http "$H/healthz"

# The tickets, through the API: RESOLVED closed ones, then OPEN open ones, on two services.
python3 - "$H" "$KEY" "$OPEN" "$RESOLVED" <<'PY'
import http.client, json, sys, urllib.parse
base, key, open_n, resolved_n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
u = urllib.parse.urlparse(base)
c = http.client.HTTPConnection(u.hostname, u.port)
def call(method, path, body=None):
    c.request(method, f"{path}?key={key}", body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json", "Accept": "application/json"})
    r = c.getresponse(); data = r.read()
    assert r.status < 300, (method, path, r.status, data)
    return json.loads(data) if data else None
services = [call("POST", "/api/Services", {"Name": n})["Id"] for n in ("Email", "Web hosting")]
for i in range(resolved_n + open_n):
    t = call("POST", "/api/Tickets", {
        "Description": f"Incident {i}: slow responses\nWe are looking into it and will update this page.",
        "Services": [{"Id": services[i % 2]}], "StartTime": "2026-11-20T12:00:00Z",
        "DoNotSendEmail": True})
    if i < resolved_n:
        t["ClosedTime"] = "2026-11-28T12:00:00Z"
        t["DoNotSendEmail"] = True
        call("PUT", f"/api/Tickets/{t['Id']}", t)
print(services, file=sys.stderr)
PY
LAST=$(curl -fs "$H/api/Tickets?key=$KEY" -H 'Accept: application/json' | python3 -c 'import json,sys; print(max(t["Id"] for t in json.load(sys.stdin)))')

curl -fs "$H/status" >"$WORK/status.html"
curl -fs "$H/status/feed.atom" >"$WORK/feed.atom"
grep -q "Incident $((RESOLVED + OPEN - 1))" "$WORK/status.html" || { echo "the page lacks the tickets" >&2; exit 1; }
S1=$(free_port); $EX/bench_static "$WORK/status.html" "$S1" & PIDS+=("$!")
S2=$(free_port); $EX/bench_static "$WORK/feed.atom" "$S2" & PIDS+=("$!")
wait_http "http://127.0.0.1:$S1/"; wait_http "http://127.0.0.1:$S2/"

rps() { wrk -t2 -c64 -d"${DURATION}s" "$1" | awk '/^Requests\/sec/ {print $2}'; }
# One figure: ROUNDS alternating rounds of the bare server and Herald; prints "herald bare".
measure() {
  local bare=$1 herald=$2 b=() h=()
  for _ in $(seq 1 "$ROUNDS"); do b+=("$(rps "$bare")"); h+=("$(rps "$herald")"); done
  python3 -c 'import statistics,sys; n=len(sys.argv)//2; print(statistics.median(map(float,sys.argv[1:n+1])), statistics.median(map(float,sys.argv[n+1:])))' "${h[@]}" "${b[@]}"
}

writer() {
  local i=0
  while :; do
    i=$((i + 1))
    curl -fs "$H/api/Tickets/$LAST?key=$KEY" -H 'Accept: application/json' \
      | python3 -c "import json,sys; t=json.load(sys.stdin); t['Description']='Incident: slow responses\nUpdate $i'; t['DoNotSendEmail']=True; print(json.dumps(t))" \
      | curl -fs -X PUT -H 'Content-Type: application/json' --data-binary @- "$H/api/Tickets/$LAST?key=$KEY" >/dev/null
    echo "$i" >"$WORK/writes"
    sleep 1
  done
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
read -r PH PB < <(measure "http://127.0.0.1:$S1/status" "$H/status")
read -r AH AB < <(measure "http://127.0.0.1:$S2/status/feed.atom" "$H/status/feed.atom")
writer & WRITER=$!; PIDS+=("$WRITER")
read -r WPH WPB < <(measure "http://127.0.0.1:$S1/status" "$H/status")
read -r WAH WAB < <(measure "http://127.0.0.1:$S2/status/feed.atom" "$H/status/feed.atom")
kill "$WRITER"; wait "$WRITER" 2>/dev/null || true
WRITES=$(cat "$WORK/writes")
curl -fs "$H/status" >"$WORK/after.html"
# The writer may have been stopped between its PUT and its count.
grep -qE "Update ($WRITES|$((WRITES + 1)))<" "$WORK/after.html" \
  || { echo "the page does not show the last update ($WRITES)" >&2; exit 1; }
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
fmt() { python3 -c "print(f'{$1:,.0f}')"; }
SIZE=$(wc -c <"$WORK/status.html"); ASIZE=$(wc -c <"$WORK/feed.atom")
cat <<MD
| figure | Herald | bare axum, same bytes | ratio | goal |
|---|---|---|---|---|
| GET /status ($OPEN open, $RESOLVED resolved; $SIZE bytes), 64 connections | $(fmt "$PH") req/s | $(fmt "$PB") req/s | **$(ratio "$PH" "$PB")** | ≥ 0.5 |
| GET /status/feed.atom ($ASIZE bytes), 64 connections | $(fmt "$AH") req/s | $(fmt "$AB") req/s | **$(ratio "$AH" "$AB")** | ≥ 0.5 |
| GET /status, a ticket updated every second | $(fmt "$WPH") req/s | $(fmt "$WPB") req/s | **$(ratio "$WPH" "$WPB")** | ≥ 0.3 |
| GET /status/feed.atom, a ticket updated every second | $(fmt "$WAH") req/s | $(fmt "$WAB") req/s | **$(ratio "$WAH" "$WAB")** | ≥ 0.3 |

$ROUNDS alternating rounds of ${DURATION} s per figure (median), $WRITES updates during the writer's rounds; load average $LOAD0 before, $LOAD1 after.
MD
