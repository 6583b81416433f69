#!/bin/bash
# make check: install what is missing, then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/deps.sh
exec python3 -u tests/run.py
