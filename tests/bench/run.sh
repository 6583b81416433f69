#!/bin/bash
# make bench: install what is missing (as make check does), then measure.
set -euo pipefail
cd "$(dirname "$0")/../.."
tests/deps.sh bench
exec python3 -u tests/bench/bench.py
