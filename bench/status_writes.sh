#!/usr/bin/env bash
# What the status page's change counter costs ticket writes on PostgreSQL: every write to
# tickets, ticket_services and services bumps the one row of `public_version` in its own
# transaction (migrations/postgres/20261202100000_public_version.sql), so concurrent ticket
# writes wait for each other's commit on that row. Measures bench/core.sh's write figure
# (POST /api/Tickets, DoNotSendEmail, 32 connections) on a throwaway cluster with the triggers
# and with them dropped, in alternating rounds of the same run.
#
#   ROUNDS=2 DURATION=10 bench/status_writes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/pg-cluster.sh
trap pg_cluster_stop EXIT
pg_cluster_start
ROUNDS=${ROUNDS:-2}
export DURATION=${DURATION:-10} READ_TICKETS=1000 ONLY=write
cargo build --release --quiet --bin herald
figure() { awk -F'|' '/^\| write/ {print $3}' | sed 's/^ *//; s/ req\/s.*//'; }
WITH=(); WITHOUT=()
for r in $(seq 1 "$ROUNDS"); do
  for variant in with without; do
    DB=$(pg_createdb "w_${variant}_$r")
    HERALD_API_KEY=bench-key-0123456789abcdef target/release/herald --database "$DB" api-key set >/dev/null
    if [ "$variant" = without ]; then
      pg_psql -d "w_${variant}_$r" -c "DROP TRIGGER public_version_tickets ON tickets; \
        DROP TRIGGER public_version_ticket_services ON ticket_services; \
        DROP TRIGGER public_version_services ON services;"
      WITHOUT+=("$(bench/core.sh "$DB" | figure)")
    else
      WITH+=("$(bench/core.sh "$DB" | figure)")
    fi
  done
done
echo "| POST /api/Tickets, 32 connections, PostgreSQL | with the counter's triggers | without | ratio |"
echo "|---|---|---|---|"
python3 - "${WITH[*]}" "${WITHOUT[*]}" <<'PY'
import statistics, sys
w = [float(x) for x in sys.argv[1].split()]; wo = [float(x) for x in sys.argv[2].split()]
print(f"| rounds: {', '.join(map(str, w))} / {', '.join(map(str, wo))} | {statistics.median(w):,.0f} req/s | {statistics.median(wo):,.0f} req/s | {statistics.median(w)/statistics.median(wo):.2f} |")
PY
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
