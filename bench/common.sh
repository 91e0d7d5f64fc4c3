# Sourced by the benchmark scripts: the small helpers they share.
#
#   source bench/common.sh
#   now                      # the time in seconds, with nanoseconds
#   calc EXPR                # Python's value of EXPR
#   cpu_secs PID...          # CPU seconds (user + system) the processes have used so far
#   sqlite_exec DB           # runs the SQL on standard input against the SQLite file DB
#   sqlite_exec DB QUERY     # prints QUERY's one value
#   fanout_followers_sql N   # prints the SQL of a service 'Mail' followed by N customers

now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }
cpu_secs() {
  local ticks=0 p
  for p in "$@"; do ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  calc "$ticks / $(getconf CLK_TCK)"
}
SQLITE_PY='
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
if len(sys.argv) > 2:
    print(c.execute(sys.argv[2]).fetchone()[0])
else:
    c.executescript(sys.stdin.read())
    c.commit()
'
sqlite_exec() { python3 -c "$SQLITE_PY" "$@"; }

# A service (id 1) followed by N customers, written straight into the database: the same SQL on
# both backends (the fan-out benchmarks).
fanout_followers_sql() {
  cat <<SQL
INSERT INTO services (name) VALUES ('Mail');
INSERT INTO customers (name, email)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
  SELECT 'Customer ' || i, 'customer' || i || '@example.test' FROM n;
INSERT INTO customer_services (customer_id, service_id)
  SELECT c.id, s.id FROM customers c, services s;
-- Statistics for the planner, as autovacuum (PostgreSQL) would gather soon after such a load.
ANALYZE;
SQL
}
