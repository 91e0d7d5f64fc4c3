#!/usr/bin/env bash
# The core benchmarks (bench/core.sh) on PostgreSQL: starts a throwaway PostgreSQL cluster from
# the installed server binaries (default, durable settings) on a free loopback port, runs
# bench/core.sh against an empty database in it, then stops and removes it. As root, the server
# runs as the `postgres` system user (PostgreSQL refuses to run as root).
#
#   bench/postgres.sh        # prints the same Markdown table as bench/core.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${HERALD_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$BIN/initdb" ] || { echo "no PostgreSQL server binaries: apt-get install postgresql (or set HERALD_PG_BIN)" >&2; exit 1; }
as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

PGDIR=$(as_server mktemp -d -t herald-bench-pg.XXXXXXXX)
cleanup() { as_server "$BIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true; as_server rm -rf "$PGDIR"; }
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_server "$BIN/initdb" -D "$PGDIR/data" -U herald --auth=trust -E UTF8 --locale=C >/dev/null
as_server "$BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w \
  -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PGDIR" start >/dev/null
"$BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U herald -d postgres -c "CREATE DATABASE herald_bench"

bench/core.sh "postgres://herald@127.0.0.1:$PORT/herald_bench"
