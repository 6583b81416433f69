# SPDX-License-Identifier: GPL-2.0
"""Debian's own kernels under QEMU, for test_stock.py and tools/kstub-vm:
the stock image, kstub built against its linux-headers, the -dbg
package's vmlinux and module debug files, linux-source of the same
version, and two of Debian's modules in the initramfs.
"""
import fcntl
import glob
import os
import re
import shlex
import subprocess
import time

from harness import ROOT, Kernel, check

CACHE = os.environ.get("KSTUB_CACHE", os.path.expanduser("~/.cache/kstub"))


def stock_release(series, flavour=""):
    """The newest installed headers release of a series: 6.1.0-NN-amd64 or
    6.12.NN+deb12-amd64 (@flavour "rt": 6.12.NN+deb12-rt-amd64)."""
    f = flavour + "-" if flavour else ""
    pat = {"6.1": r"6\.1\.0-\d+-%samd64$" % f, "6.12": r"6\.12\.\d+\+deb12-%samd64$" % f}[series]
    found = [os.path.basename(d)[len("linux-headers-"):]
             for d in glob.glob("/usr/src/linux-headers-*")]
    found = [f for f in found if re.match(pat, f)]
    check(found, "no linux-headers for Debian's %s kernel (tests/deps.sh installs them)" % series)
    return sorted(found, key=lambda s: [int(x) for x in re.findall(r"\d+", s)])[-1]


class StockKernel(Kernel):
    def __init__(self, release):
        Kernel.__init__(self, "stock-" + release, "x86_64", "/usr/src/linux-headers-" + release)
        self.release = release
        self.vmlinux = None
        self.image = self._image()

    def _image(self):
        d = os.path.join(CACHE, "stock", self.release)
        img = os.path.join(d, "boot", "vmlinuz-" + self.release)
        if not os.path.exists(img):
            os.makedirs(d, exist_ok=True)
            subprocess.run(["apt-get", "download", "-q", "linux-image-%s-unsigned" % self.release],
                           cwd=d, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            debs = glob.glob(os.path.join(d, "linux-image-*.deb"))
            if not debs:
                subprocess.run(["apt-get", "download", "-q", "linux-image-" + self.release],
                               cwd=d, check=True, stdout=subprocess.DEVNULL)
                debs = glob.glob(os.path.join(d, "linux-image-*.deb"))
            subprocess.run(["dpkg-deb", "-x", debs[0], d], check=True)
        check(os.path.exists(img), "no kernel image in the linux-image package")
        return img


# Debian's own modules the GDB sessions load from the stock package, and
# debug from the -dbg package: cpuid before kstub (kstub lists it from its
# file and sysfs), msr after (from the file the kernel loads it from)
DEBIAN_MODULES = {"cpuid": "kernel/arch/x86/kernel/cpuid.ko",
                  "msr": "kernel/arch/x86/kernel/msr.ko"}


# where linux-image-RELEASE-dbg keeps GDB's sysroot, and vmlinux in it (the
# README's first section tells users the same paths: test_readme checks)
DBG_SYSROOT = "usr/lib/debug"
DBG_VMLINUX = "boot/vmlinux-%s"


def stock_debug(release, say=print):
    """The vmlinux of linux-image-@release-dbg and the debug files of
    DEBIAN_MODULES, unpacked once into the cache; returns GDB's sysroot for
    them, the package's usr/lib/debug. The package is 1 GB: only what the
    tests read is kept, and tar stops reading once it has all of it (the
    package holds vmlinux and arch/x86's modules first)."""
    d = os.path.join(CACHE, "stock-dbg", release)
    root = os.path.join(d, DBG_SYSROOT)
    want = [DBG_VMLINUX % release] + ["lib/modules/%s/%s" % (release, m)
                                          for m in DEBIAN_MODULES.values()]
    if not all(os.path.exists(os.path.join(root, w)) for w in want):
        t0 = time.time()
        os.makedirs(d, exist_ok=True)
        for old in glob.glob(os.path.join(d, "*.deb")):
            os.remove(old)
        subprocess.run(["apt-get", "download", "-q", "linux-image-%s-dbg" % release], cwd=d,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deb = glob.glob(os.path.join(d, "*.deb"))
        check(deb, "apt-get download linux-image-%s-dbg left no package" % release)
        # dpkg-deb dies of SIGPIPE once tar has what it wants
        subprocess.run("dpkg-deb --fsys-tarfile %s 2>/dev/null | tar -x --occurrence -C %s %s"
                       % (shlex.quote(deb[0]), shlex.quote(d),
                          " ".join(shlex.quote("./%s/%s" % (DBG_SYSROOT, w)) for w in want)),
                       shell=True)
        os.remove(deb[0])
        say("linux-image-%s-dbg: downloaded and unpacked in %.0f s"
            % (release, time.time() - t0))
    missing = [w for w in want if not os.path.exists(os.path.join(root, w))]
    check(not missing, "linux-image-%s-dbg lacks %s" % (release, missing))
    return root


def stock_kernel(series, say=print):
    """Debian's newest installed kernel of @series, with kstub built against
    its headers, the -dbg package's vmlinux as k.vmlinux, and in the
    initramfs Debian's DEBIAN_MODULES where modules.dep says they are (.ko
    on 6.1, .ko.xz on 6.12). Returns the kernel, GDB's sysroot for the
    debug files, and each module's path in the guest."""
    release = stock_release(series)
    k = StockKernel(release)
    sysroot = stock_debug(release, say)
    k.vmlinux = os.path.join(sysroot, DBG_VMLINUX % release)
    # as gdb.rst tells users: GDB places a module's variables and init
    # code right only from a file with every section linked at 0
    subprocess.run([os.path.join(ROOT, "tools", "kstub-gdb-ko")] +
                   [os.path.join(sysroot, "lib/modules", release, m)
                    for m in DEBIAN_MODULES.values()], check=True)
    k.build_modules()
    pkg = os.path.join(CACHE, "stock", release, "lib/modules", release)
    guest, dep = {}, ""
    for mod, rel in DEBIAN_MODULES.items():
        found = glob.glob(os.path.join(pkg, rel + "*"))
        check(found, "no %s in linux-image-%s" % (rel, release))
        suffix = found[0][len(os.path.join(pkg, rel)):]
        guest[mod] = "/lib/modules/%s/%s%s" % (release, rel, suffix)
        k.initramfs_extra[guest[mod]] = found[0]
        dep += "%s%s:\n" % (rel, suffix)
    k.initramfs_extra["/lib/modules/%s/modules.dep" % release] = dep.encode()
    k.initramfs = os.path.join(k.out, "initramfs-gdb.cpio.gz")
    k.build_initramfs()
    return k, sysroot, guest


def load_modules(g, guest):
    """cpuid, kstub, then msr, in the guest @g: a module loaded before kstub
    and one after. A .ko.xz goes as a newer kmod loads it: the kernel
    decompresses it. Returns kstub's dmesg."""
    z = " z" if guest["cpuid"].endswith(".xz") else ""
    out = g.sh("/modload %s%s" % (guest["cpuid"], z))
    check("modload: 0" in out, "cpuid did not load: " + out)
    g.sh("insmod /kstub.ko")
    dm = g.sh("dmesg | grep kstub:")
    check("ready on uart" in dm, "kstub did not come up:\n" + dm)
    out = g.sh("/modload %s%s" % (guest["msr"], z))
    check("modload: 0" in out, "msr did not load: " + out)
    return dm


def linux_source(series, release):
    """The unpacked linux-source-@series, if it is @release's version, else
    None (with why as the second value). Unpacked once, as
    tests/qemu/kernel.sh does it and under the same lock."""
    def version(pkg):
        return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout
    have, want = version("linux-source-" + series), version("linux-headers-" + release)
    if not have or have != want:
        return None, "linux-source-%s is %s, the kernel %s" % (series, have or "not installed",
                                                               want)
    src = os.path.join(CACHE, "src", "linux-source-" + series)
    os.makedirs(os.path.dirname(src), exist_ok=True)
    with open(src + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(src, ".kstub-unpacked")):
            subprocess.run(["rm", "-rf", src], check=True)
            subprocess.run(["tar", "-xf", "/usr/src/linux-source-%s.tar.xz" % series,
                            "-C", os.path.dirname(src)], check=True)
            open(os.path.join(src, ".kstub-unpacked"), "w").close()
    return src, None


def gdb_source(gdb, src, fn):
    """Point GDB at the source tree @src, from where the debug info of the
    function @fn says its file was compiled."""
    gdb.cmd("list %s,+1" % fn)
    out = gdb.cmd("info source")
    m = re.search(r"^Compilation directory is (\S+)$", out, re.M)
    check(m, "the -dbg vmlinux names no build directory:\n" + out)
    # Debian's 6.12 names the files relative to the source tree
    if m.group(1).startswith("/"):
        gdb.cmd("set substitute-path %s %s" % (m.group(1), src))
    else:
        gdb.cmd("directory " + src)
