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
    out = {}
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("figure", "---"):
            out[cells[0]] = cells[1:]
    return out

sqlite, postgres = rows(sys.argv[1]), rows(sys.argv[2])
print("| figure | SQLite: Herald | baseline | ratio | PostgreSQL: Herald | baseline | ratio | goal |")
print("|---|---|---|---|---|---|---|---|")
for figure, (h, b, r, goal) in sqlite.items():
    ph, pb, pr, _ = postgres.get(figure, ["", "", "", ""])
    print(f"| {figure} | {h} | {b} | {r} | {ph} | {pb} | {pr} | {goal} |")
PY
