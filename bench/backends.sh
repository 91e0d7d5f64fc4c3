#!/usr/bin/env bash
# The core benchmarks on both backends, one table with a column for each: bench/core.sh on
# SQLite, then bench/postgres.sh. Same variables as bench/core.sh (DURATION, READ_TICKETS, …).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
bench/core.sh >"$OUT/sqlite.md"
bench/postgres.sh >"$OUT/postgres.md"
python3 - "$OUT/sqlite.md" "$OUT/postgres.md" <<'PY'
import sys

def rows(path):
    out = []
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("figure", "---"):
            out.append(cells)
    return out

print("| figure | SQLite: Herald | baseline | ratio | PostgreSQL: Herald | baseline | ratio | goal |")
print("|---|---|---|---|---|---|---|---|")
# Same rows in the same order; where a label carries a count of its own run, both are shown.
for (figure, h, b, r, goal), (pg_figure, ph, pb, pr, _) in zip(rows(sys.argv[1]), rows(sys.argv[2])):
    if pg_figure != figure:
        ph = f"{ph} [{pg_figure.split('(', 1)[-1].rstrip(')')}]"
    print(f"| {figure} | {h} | {b} | {r} | {ph} | {pb} | {pr} | {goal} |")
PY
