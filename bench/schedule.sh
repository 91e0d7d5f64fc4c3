#!/usr/bin/env bash
# The scheduler's benchmark (issue 14): 100,000 pending jobs on SQLite and on PostgreSQL (a
# throwaway cluster), the cost of a tick when nothing is due (with the engine's plan of the
# query), and the time from a reminder's due moment to the first of its 100,000 messages at an
# SMTP server on loopback. See examples/bench_schedule.rs.
#
# Usage: bench/schedule.sh [sqlite|postgres]...      (both by default)
#        PROFILE=release bench/schedule.sh          (optimized build; the default is the dev build)
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-dev}
flags=()
[ "$PROFILE" = release ] && flags=(--release)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo run --quiet "${flags[@]}" --example bench_schedule -- "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
