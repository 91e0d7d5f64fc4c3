# Sourced by the benchmark scripts: a throwaway PostgreSQL cluster from the installed server
# binaries (default, durable settings) on a free loopback port. As root, the server runs as the
# `postgres` system user (PostgreSQL refuses to run as root).
#
#   source bench/pg-cluster.sh
#   pg_cluster_start            # sets PG_PORT; the superuser is `herald`, trust auth on loopback
#   pg_createdb NAME            # prints postgres://herald@127.0.0.1:$PG_PORT/NAME
#   pg_cluster_stop             # call it from the script's EXIT trap
#
# PG_SERVER_OPTS: more server options, e.g. "-c shared_preload_libraries=pg_stat_statements".

PG_BIN=${HERALD_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PG_DIR=""
PG_PORT=""

pg_as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_cluster_start() {
  [ -x "$PG_BIN/initdb" ] || { echo "no PostgreSQL server binaries: apt-get install postgresql (or set HERALD_PG_BIN)" >&2; exit 1; }
  PG_DIR=$(pg_as_server mktemp -d -t herald-bench-pg.XXXXXXXX)
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  pg_as_server "$PG_BIN/initdb" -D "$PG_DIR/data" -U herald --auth=trust -E UTF8 --locale=C >/dev/null
  # The server outlives this call: it must not inherit our descriptors beyond stdio (a
  # `flock bench.lock bench/…` caller's lock would stay held by a cluster a killed run left).
  pg_as_server python3 -c 'import os, sys; os.closerange(3, 65536); os.execv(sys.argv[1], sys.argv[1:])' \
    "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DIR ${PG_SERVER_OPTS:-}" \
    start >/dev/null
}

pg_psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U herald "$@"; }

pg_createdb() {
  pg_psql -d postgres -c "CREATE DATABASE $1" >/dev/null
  echo "postgres://herald@127.0.0.1:$PG_PORT/$1"
}

pg_cluster_stop() {
  [ -n "$PG_DIR" ] || return 0
  pg_as_server "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  pg_as_server rm -rf "$PG_DIR"
  PG_DIR=""
}
