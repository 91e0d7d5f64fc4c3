#!/bin/bash
# The CSV import in flat memory: the peak resident memory of `herald serve` (SQLite) that only
# signs an operator in, and of one that also imports a file of N customers through the GUI
# (upload, preview, confirm). Usage: bench/csv_import_memory.sh [HERALD_BINARY] [N ...]
# (default: target/debug/herald, 100000 200000). Needs curl, bc and GNU time (/usr/bin/time).
set -e
HERALD=$(realpath "${1:-target/debug/herald}")
shift || true
SIZES=${*:-100000 200000}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT

# run FILE: serves, signs in, imports FILE (none when empty), stops; prints the peak RSS.
run() {
  rm -f "$DIR"/db.sqlite* "$DIR/jar"
  local db="sqlite://$DIR/db.sqlite" port=$((18000 + RANDOM % 1000)) b
  "$HERALD" --database "$db" migrate >/dev/null 2>&1
  "$HERALD" --database "$db" operator create --name Ann --email ann@example.com \
    --password 'correct horse battery' --admin >/dev/null 2>&1
  /usr/bin/time -v -o "$DIR/time.txt" "$HERALD" --database "$db" --bind 127.0.0.1:$port serve \
    >"$DIR/serve.log" 2>&1 &
  local tp=$!
  b=http://127.0.0.1:$port
  for _ in $(seq 100); do curl -s -o /dev/null $b/healthz && break; sleep 0.2; done
  local csrf
  csrf=$(curl -s -c "$DIR/jar" -b "$DIR/jar" $b/login | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
  curl -s -c "$DIR/jar" -b "$DIR/jar" -o /dev/null \
    -d "csrf=$csrf&email=ann@example.com&password=correct+horse+battery&next=/" $b/login
  csrf=$(curl -s -b "$DIR/jar" $b/customers/import | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
  if [ -n "$1" ]; then
    local start loc read_at done_at
    start=$(date +%s.%N)
    loc=$(curl -s -b "$DIR/jar" -o /dev/null -w '%{redirect_url}' -F "file=@$1;type=text/csv" "$b/customers/import?csrf=$csrf")
    while curl -s -b "$DIR/jar" "$loc" | grep -q 'data-state="reading"'; do sleep 0.5; done
    read_at=$(date +%s.%N)
    curl -s -b "$DIR/jar" -o /dev/null -d "csrf=$csrf" "$loc/confirm"
    done_at=$(date +%s.%N)
    echo "  read and previewed in $(echo "$read_at - $start" | bc) s, applied in $(echo "$done_at - $read_at" | bc) s;" \
      "$(curl -s -b "$DIR/jar" "$loc" | grep -o 'Imported: [^<]*')"
  fi
  kill -TERM "$(pgrep -P $tp)"
  wait $tp || true
  echo "  peak resident memory: $(grep 'Maximum resident' "$DIR/time.txt" | awk '{print $NF}') kB"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "signing in only:"
run ""
for n in $SIZES; do
  python3 -c "
import sys
with open(sys.argv[1], 'w', newline='') as f:
    f.write('Name,Email,CellPhone,Services\r\n')
    for i in range(1, int(sys.argv[2]) + 1):
        f.write(f'Customer {i},person{i}@example.com,+1 555 {i:07d},\r\n')
" "$DIR/customers.csv" "$n"
  echo "importing $n customers ($(stat -c %s "$DIR/customers.csv") bytes):"
  run "$DIR/customers.csv"
done
