#!/usr/bin/env bash
# Sign-in flood (issue 11, item 2): N sign-ins at once, each from its own address (through
# --trusted-proxies, so the per-address throttle does not stop them first) at its own unknown
# account (checked against the dummy hash: the same Argon2id work as a known one). Prints the
# answers by status and the server's resident memory idle, at its peak and afterwards
# (VmRSS/VmHWM from /proc). Needs curl.
#
#   bench/login_flood.sh                  # 100 at once, SQLite in a temporary directory
#   N=300 bench/login_flood.sh            # more
#   HERALD_BIN_DIR=/tmp/old bench/login_flood.sh   # the herald binary of another build
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100}
if [ -z "${HERALD_BIN_DIR:-}" ]; then cargo build --release --quiet --bin herald; fi
BIN=${HERALD_BIN_DIR:-target/release}
WORK=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
mb() { echo "$(( ($1 + 512) / 1024 )) MB"; }

PORT=$(free_port)
DB="sqlite://$WORK/herald.db"
RUST_LOG=warn "$BIN/herald" serve --database "$DB" --bind "127.0.0.1:$PORT" \
  --trusted-proxies 127.0.0.1 >"$WORK/herald.log" 2>&1 &
PID=$!
H="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do curl -fs "$H/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
# One operator, so /login checks passwords (the first run otherwise sends it to /setup).
CSRF=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
curl -fs -o /dev/null -b "herald_csrf=$CSRF" \
  --data "csrf=$CSRF&Name=Ann&Email=ann@example.com&Password=correct+horse&PasswordConfirm=correct+horse" \
  "$H/setup"
sleep 1
IDLE=$(kb "$PID" VmRSS)

for i in $(seq 1 "$N"); do echo "$i 10.1.$((i / 250)).$((i % 250 + 1))"; done |
  CSRF=$CSRF H=$H xargs -P "$N" -n 2 sh -c 'curl -s -o /dev/null -w "%{http_code}\n" \
    -b "herald_csrf=$CSRF" -H "X-Forwarded-For: $1" \
    --data "csrf=$CSRF&email=nobody$0@example.com&password=guess" "$H/login"' \
  >"$WORK/statuses.txt"
PEAK=$(kb "$PID" VmHWM)
sleep 2
AFTER=$(kb "$PID" VmRSS)
# The right password still signs in.
OK=$(curl -s -o /dev/null -w '%{http_code}' -b "herald_csrf=$CSRF" \
  --data "csrf=$CSRF&email=ann@example.com&password=correct+horse" "$H/login")

echo "| $N sign-ins at once | answers | resident idle | peak | afterwards | growth | then the right password |"
echo "|---|---|---|---|---|---|---|"
echo "| $(nproc) CPUs | $(sort "$WORK/statuses.txt" | uniq -c | awk '{printf "%s%s× %s", sep, $1, $2; sep=", "}') | $(mb "$IDLE") | $(mb "$PEAK") | $(mb "$AFTER") | $(mb $((AFTER - IDLE))) (peak +$(mb $((PEAK - IDLE)))) | $OK |"
