#!/usr/bin/env bash
# The Python tools some tests use as independent parsers (feeds, iCalendar, Prometheus text).
# Creates (or refreshes) a virtual environment; the tests find its interpreter through
# HERALD_TEST_PYTHON, or at the default path below (herald_test_support::python).
set -euo pipefail
venv=${HERALD_TEST_VENV:-$HOME/.cache/herald-test-venv}
packages=(feedparser==6.0.11 icalendar==6.1.0 prometheus_client==0.21.1)
if ! "$venv/bin/python" -c 'import feedparser, icalendar, prometheus_client' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "${packages[@]}"
fi
echo "$venv/bin/python"
