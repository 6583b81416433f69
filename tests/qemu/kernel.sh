#!/bin/bash
# Build (or reuse) a test kernel: kernel.sh KVER ARCH [VARIANT]
# Prints the build directory (O=) on stdout; everything else goes to stderr.
# Builds are cached outside the repo, keyed by version, arch and config.
# VARIANT kgdb is the same kernel with kgdb and kgdboc built in; builtin is
# the same kernel with kstub built in, from this checkout (linked into the
# kernel source by tools/kstub-intree); debug is the kgdb kernel with
# lockdep, atomic-sleep checks and KASAN (configs/debug.config): where a run
# has a debug kernel, the kgdb tests run on it, and no kgdb build is needed
# (configs/kgdb.config is small; the arm64 kgdb build rebuilds a third of
# the kernel, 4 to 5 minutes of a cold run). Each starts
# from a copy of the plain build, so only what the options touch rebuilds
# (for debug, nearly everything). The builtin kernel is rebuilt whenever
# kstub's sources differ from the ones it was built from.
set -euo pipefail
kver=$1 arch=$2 variant=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
cache=${KSTUB_CACHE:-$HOME/.cache/kstub}
frags=("$here/configs/$arch.config")
[ -f "${frags[0]}" ] || { echo "kernel.sh: no config for $arch" >&2; exit 2; }
case $variant in
'') ;;
kgdb)
	frags+=("$here/configs/kgdb.config")
	;;
builtin) frags+=("$here/configs/builtin.config") ;;
debug) frags+=("$here/configs/kgdb.config" "$here/configs/debug.config") ;;
*) echo "kernel.sh: unknown variant $variant" >&2; exit 2 ;;
esac
tarball=/usr/src/linux-source-$kver.tar.xz
[ -f "$tarball" ] || { echo "kernel.sh: $tarball missing" >&2; exit 2; }

case $arch in
x86_64) karch=x86_64 cross= image=arch/x86/boot/bzImage ;;
arm64) karch=arm64 cross=aarch64-linux-gnu- image=arch/arm64/boot/Image ;;
*) echo "kernel.sh: unknown arch $arch" >&2; exit 2 ;;
esac

key=$( (cat "${frags[@]}"; stat -c %s "$tarball") | sha256sum | cut -c1-12)
src=$cache/src/linux-source-$kver
out=$cache/build/$kver-$arch${variant:+-$variant}-$key
if [ -f "$out/.kstub-done" ] && [ "$variant" != builtin ]; then
	echo "$out"
	exit 0
fi

# A build that is stopped at any point (the runner kills its process group)
# leaves nothing that passes for usable: .kstub-done is written last; a
# variant's copy of the plain build is made aside and renamed into place;
# the source is unpacked under its own lock and marked when complete; and
# make redoes any target whose command line kbuild has not recorded (it
# records it only once the target is written).
mkdir -p "$cache/src" "$cache/build"
exec 9>"$out.lock"
flock 9
if [ -f "$out/.kstub-done" ] && [ "$variant" != builtin ]; then echo "$out"; exit 0; fi

(
	flock 8
	if [ ! -f "$src/.kstub-unpacked" ]; then
		echo "kernel.sh: unpacking $tarball" >&2
		rm -rf "$src"
		tar -xf "$tarball" -C "$cache/src"
		touch "$src/.kstub-unpacked"
	fi
	# every variant: the tree's Kconfig reads kstub's through the link,
	# which must point at this checkout
	"$here/../../tools/kstub-intree" "$src" >&2
) 8>"$src.lock"

if [ -n "$variant" ] && [ ! -f "$out/.kstub-copied" ]; then
	base=$("$0" "$kver" "$arch")
	echo "kernel.sh: starting $variant from $base" >&2
	rm -rf "$out" "$out.tmp"
	cp -a "$base/." "$out.tmp/"
	rm -f "$out.tmp/.kstub-done"
	touch "$out.tmp/.kstub-copied"
	mv "$out.tmp" "$out"
fi
mkdir -p "$out"

m() { make -s -C "$src" O="$out" ARCH=$karch CROSS_COMPILE=$cross "$@"; }
if [ "$variant" = builtin ]; then
	# The build goes by what kstub's sources say, not by their dates: a
	# clean clone dates every file now, which would relink vmlinux and its
	# debug information (two minutes) for nothing; and objects from another
	# checkout may look newer than the files they came from.
	sources=$(cd "$here/../.." && find Kbuild Kconfig stub transport \
		arch-x86 arch-arm64 -type f \( -name '*.[chS]' -o -name Kbuild \
		-o -name Kconfig \) | LC_ALL=C sort | xargs sha256sum | sha256sum)
	if [ "$(cat "$out/.kstub-sources" 2>/dev/null)" != "$sources" ]; then
		rm -rf "$out/drivers/misc/kstub" "$out/.kstub-sources"
	fi
	if [ -f "$out/.kstub-done" ]; then
		if [ ! -f "$out/.kstub-sources" ]; then
			echo "kernel.sh: building kstub anew into $out" >&2
			m -j"$(($(nproc) + 1))" "${image##*/}" modules >&2
			echo "$sources" >"$out/.kstub-sources"
		fi
		echo "$out"
		exit 0
	fi
fi
echo "kernel.sh: configuring $kver $arch${variant:+ $variant} in $out" >&2
m tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frags[@]}" >/dev/null
m olddefconfig >&2
# merge_config drops options whose dependencies are unmet: insist on the ones
# the tests rely on, for this version's spelling of them.
missing=
while read -r opt; do
	grep -qx "$opt" "$out/.config" || missing="$missing $opt"
done < <(cat "${frags[@]}" | grep -E '^CONFIG_[A-Z0-9_]+=y' | grep -vE \
	'RETPOLINE|RETHUNK|MITIGATIONS|PREEMPT_VOLUNTARY|HYPERVISOR|PARAVIRT|KVM_GUEST|DWARF5')
[ -z "$missing" ] || { echo "kernel.sh: config lost:$missing" >&2; exit 1; }
if [ -z "$variant" ] && grep -q '^CONFIG_KGDB=y' "$out/.config"; then
	echo "kernel.sh: KGDB must be off" >&2
	exit 1
fi

echo "kernel.sh: building ${image##*/} (minutes)" >&2
m -j"$(($(nproc) + 1))" "${image##*/}" modules_prepare >&2
echo "kernel.sh: building modules and GDB scripts" >&2
m -j"$(($(nproc) + 1))" modules >&2
m scripts_gdb >&2 || true
[ "$variant" != builtin ] || echo "$sources" >"$out/.kstub-sources"
touch "$out/.kstub-done"
echo "$out"
