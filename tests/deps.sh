#!/bin/bash
# Installs what kstub's build and tests need on Debian 12, when run as
# root; otherwise only reports what is missing. Idempotent and quiet.
#   deps.sh         everything
#   deps.sh build   what the test kernels' builds need, and no more: make
#                   check starts building with it and installs the rest
#                   (deps.sh rest) beside the first build
#   deps.sh bench   everything, and what make bench adds (its chart)
#   deps.sh run     what make run and make demo need on Debian's kernel
#                   (QEMU, GDB, the newest 6.12 headers and linux-source)
set -euo pipefail

build_pkgs=(make gcc libc6-dev bc flex bison libelf-dev libssl-dev cpio xz-utils
            kmod dwarves python3 linux-source-6.1 linux-source-6.12 gcc-aarch64-linux-gnu)
rest_pkgs=(python3-docutils util-linux qemu-system-x86 gdb-multiarch busybox-static
           linux-headers-amd64 qemu-system-arm dkms clang libclang-rt-14-dev)
bench_pkgs=(gnuplot-nox)
run_pkgs=(make gcc libc6-dev kmod python3 xz-utils cpio qemu-system-x86 gdb-multiarch
          busybox-static linux-source-6.12)
case ${1:-all} in
build) pkgs=("${build_pkgs[@]}") ;;
rest) pkgs=("${rest_pkgs[@]}") ;;
all) pkgs=("${build_pkgs[@]}" "${rest_pkgs[@]}") ;;
bench) pkgs=("${build_pkgs[@]}" "${rest_pkgs[@]}") ;;
run) pkgs=("${run_pkgs[@]}") ;;
*) echo "usage: deps.sh [build|rest|bench|run]" >&2; exit 2 ;;
esac
cache=${KSTUB_CACHE:-$HOME/.cache/kstub}
bb_arm64=$cache/busybox-arm64/bin/busybox
# the arm64 BusyBox and the newest 6.12 headers come with the rest
rest=$([ "${1:-all}" != build ] && [ "${1:-all}" != run ] && echo 1 || true)
h612_too=$([ "${1:-all}" != build ] && echo 1 || true)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# what only the bench's chart needs: without it the bench still measures
optional=()
if [ "${1:-all}" = bench ]; then
	for p in "${bench_pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || optional+=("$p")
	done
fi

# Debian 12 also ships a 6.12 kernel; test against its newest headers too.
want612() {
	apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' 2>/dev/null |
		awk '{print $1}' | sort -V | tail -n 1
}

apt_updated=
apt_update() {
	[ -n "$apt_updated" ] && return
	apt-get update -qq
	apt_updated=1
}

if [ "$(id -u)" != 0 ]; then
	if [ ${#optional[@]} -gt 0 ]; then
		echo "deps: missing ${optional[*]}: no chart (run tests/deps.sh bench as root)" >&2
	fi
	if [ ${#missing[@]} -gt 0 ] || { [ -n "$rest" ] && [ ! -x "$bb_arm64" ]; }; then
		echo "deps: missing packages: ${missing[*]} busybox-static:arm64 (run tests/deps.sh as root)" >&2
		exit 1
	fi
	exit 0
fi

if [ -n "$h612_too" ]; then
	h612=$(want612)
	if [ -z "$h612" ]; then
		apt_update
		h612=$(want612)
	fi
	# and Debian's other flavours of it (make check's stock tests): -rt, -cloud
	flavours=()
	if [ -n "$h612" ] && [ -n "$rest" ]; then
		flavours=("${h612%-amd64}-rt-amd64" "${h612%-amd64}-cloud-amd64")
	fi
	for h in ${h612:+"$h612"} ${flavours[@]+"${flavours[@]}"}; do
		dpkg-query -W -f='${Status}' "$h" 2>/dev/null | grep -q "ok installed" || missing+=("$h")
	done
fi

missing+=("${optional[@]}")
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}" >&2
	t0=$SECONDS
	apt_update
	# downloaded first, then unpacked: a line for each of the two long
	# steps (a fresh machine waits over a minute for them)
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		--download-only "${missing[@]}" >/dev/null
	echo "deps: downloaded in $((SECONDS - t0)) s; unpacking" >&2
	# apt's status lines (fd 3) say what it is doing; a line of them
	# every 15 s, as one package's setup can take half a minute
	status=$(mktemp)
	(
		trap 'kill "$nap" 2>/dev/null; exit 0' TERM
		last="0% unpacked and set up (starting)"
		while :; do
			sleep 15 &
			nap=$!
			wait "$nap"
			# awk truncates the file before it writes it: a read in
			# between sees it empty (CI printed "deps:  at 17 s")
			line=$(cat "$status")
			last=${line:-$last}
			echo "deps: $last at $((SECONDS - t0)) s" >&2
		done
	) &
	ticker=$!
	rc=0
	# unsafe-io: no fsync per unpacked file (a fresh machine's install
	# took 3m04s, 1m24s of it system time); a crash in the middle means
	# installing again, as it would anyway
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Options::=--force-unsafe-io -o APT::Status-Fd=3 "${missing[@]}" \
		3>&1 >/dev/null | awk -F: -v f="$status" '/^pmstatus:/ {
			printf "%d%% unpacked and set up (%s)\n", $3, $4 >f
			close(f)
		}' || rc=$?
	kill "$ticker" 2>/dev/null || true
	wait "$ticker" || true
	rm -f "$status"
	[ $rc = 0 ] || exit $rc
	echo "deps: installed in $((SECONDS - t0)) s" >&2
fi

# The arm64 guests need an arm64 BusyBox: Debian's, unpacked into the cache.
if [ -n "$rest" ] && [ ! -x "$bb_arm64" ]; then
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		dpkg --add-architecture arm64
		apt_updated=
	fi
	apt_update
	tmp=$(mktemp -d)
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -q busybox-static:arm64 >/dev/null 2>&1)
	mkdir -p "$cache/busybox-arm64"
	dpkg-deb -x "$tmp"/busybox-static_*_arm64.deb "$cache/busybox-arm64"
	rm -rf "$tmp"
fi
