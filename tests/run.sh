#!/bin/bash
# make check: install what is missing, then run every test.
# COLD=1: the same, as on a fresh machine: from a clean clone of HEAD (what
# is committed, nothing else) and an empty kernel cache, both made for the
# run and removed after it (KEEP=1 keeps them). COLD_CACHE=DIR puts the
# kernel cache in DIR instead, which must not exist yet; it is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${COLD:-}" ] && [ "$COLD" != 0 ]; then
	tmp=$(mktemp -d /var/tmp/kstub-cold.XXXXXX)
	cache=${COLD_CACHE:-$tmp/cache}
	if [ -e "$cache" ]; then
		echo "make check COLD=1: $cache exists" >&2
		exit 2
	fi
	echo "make check COLD=1: a clone of $(git rev-parse --short HEAD) in $tmp/kstub, kernel cache $cache"
	git clone -q . "$tmp/kstub"
	rc=0
	(cd "$tmp/kstub" && COLD=0 KSTUB_CACHE="$cache" tests/run.sh) || rc=$?
	if [ -z "${KEEP:-}" ]; then
		rm -rf "$tmp"
	fi
	exit $rc
fi

t0=$(date +%s)
tests/deps.sh build
export KSTUB_DEPS_SECONDS=$(($(date +%s) - t0))
# the rest installs beside the first kernel build (apt and the compilers
# share the machine better than either waits for the other); the runner
# waits for its exit status in this file before the first test
KSTUB_DEPS_REST=$(mktemp /tmp/kstub-deps.XXXXXX)
export KSTUB_DEPS_REST
(rc=0; tests/deps.sh rest >"$KSTUB_DEPS_REST.log" 2>&1 || rc=$?; echo $rc >"$KSTUB_DEPS_REST") &
export KSTUB_DEPS_PID=$!
exec python3 -u tests/run.py
