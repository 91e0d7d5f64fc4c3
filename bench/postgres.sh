#!/usr/bin/env bash
# The core benchmarks (bench/core.sh) on PostgreSQL: starts a throwaway PostgreSQL cluster
# (bench/pg-cluster.sh), runs bench/core.sh against an empty database in it, then stops and
# removes it.
#
#   bench/postgres.sh        # prints the same Markdown table as bench/core.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/pg-cluster.sh
trap pg_cluster_stop EXIT
pg_cluster_start
bench/core.sh "$(pg_createdb herald_bench)"
