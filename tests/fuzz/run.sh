#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make fuzz: libFuzzer on kstub's host-built protocol code.
#   tests/fuzz/run.sh          FUZZ_EXECS executions in all (10 million by
#                              default), split over the harnesses, which run
#                              side by side; the corpus is kept between runs
#   tests/fuzz/run.sh smoke    FUZZ_SECONDS (10) of each, from the committed
#                              seeds only (make check's host/fuzz)
# Prints each harness's executions, rate and corpus; fails on any crash,
# sanitizer report or broken check, leaving the input in build/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-long}
out=build/fuzz
cache=${KSTUB_CACHE:-$HOME/.cache/kstub}/fuzz
harnesses=(packet rsp)
srcs_packet=(stub/packet.c)
srcs_rsp=(stub/packet.c stub/rsp.c stub/bp.c stub/tdesc.c)

command -v clang >/dev/null || { echo "fuzz: no clang (tests/deps.sh installs it)" >&2; exit 2; }
mkdir -p "$out"
flags=(-g -O1 -fno-sanitize-recover=all -Wall -Wextra -Werror -Wno-unused-parameter -Istub)
for h in "${harnesses[@]}"; do
	objs=()
	# coverage is kstub's code's alone: the harness's own checks would
	# otherwise cost most of the time and steer nothing
	clang "${flags[@]}" -fsanitize=address,undefined -c -o "$out/fuzz_$h.o" "tests/fuzz/fuzz_$h.c"
	eval "srcs=(\"\${srcs_$h[@]}\")"
	for s in "${srcs[@]}"; do
		o=$out/$h-$(basename "$s" .c).o
		cov=(-fsanitize=fuzzer-no-link,address,undefined
			-fsanitize-coverage-ignorelist=tests/fuzz/coverage-ignore.txt)
		# the framers are fuzz_packet's to explore: here, tracing each
		# byte's comparisons took half the time (266 runs a second
		# against 709 without, with the others' changes of 2026-12-03)
		[ "$h" = rsp ] && [ "$s" = stub/packet.c ] && cov+=(-fno-sanitize-coverage=trace-cmp)
		clang "${flags[@]}" "${cov[@]}" -c -o "$o" "$s"
		objs+=("$o")
	done
	clang -fsanitize=fuzzer,address,undefined -o "$out/fuzz_$h" "$out/fuzz_$h.o" "${objs[@]}"
done

run() {	# harness, corpus dir, libFuzzer's limits...
	local h=$1 corpus=$2 log=$out/fuzz_$h.log
	shift 2
	mkdir -p "$corpus"
	if ! "$out/fuzz_$h" -print_final_stats=1 -artifact_prefix="$out/$h-" "$@" \
		"$corpus" "tests/fuzz/seeds/$h" >"$log" 2>&1; then
		echo "fuzz_$h: FAILED; the input is in $out/$h-*; log $log ends:" >&2
		grep -v '^#\|^ \|^"' "$log" | tail -30 >&2
		return 1
	fi
	awk -v h="fuzz_$h" -v n="$(find "$corpus" -type f | wc -l)" '
		/^stat::number_of_executed_units:/ { e = $2 }
		/^stat::average_exec_per_sec:/ { r = $2 }
		/^Done [0-9]+ runs in/ { t = $5 }
		END { printf "%s: %d executions in %d s (%d/s), corpus %d inputs, no crash\n", h, e, t, r, n }
	' "$log"
}

t0=$(date +%s)
pids=()
if [ "$mode" = smoke ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	for h in "${harnesses[@]}"; do
		run "$h" "$tmp/$h" -max_total_time="${FUZZ_SECONDS:-10}" & pids+=($!)
	done
else
	total=${FUZZ_EXECS:-10000000}
	for h in "${harnesses[@]}"; do
		run "$h" "$cache/$h" -runs=$((total / ${#harnesses[@]})) & pids+=($!)
	done
fi
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
echo "fuzz: ${mode}, $(($(date +%s) - t0)) s"
exit $rc
