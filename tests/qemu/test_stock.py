# SPDX-License-Identifier: GPL-2.0
"""kstub against Debian's own kernels: built with linux-headers-*-amd64,
loaded into the stock linux-image booted under QEMU, with real GDB and
the -dbg package's symbols (tests/qemu/stock.py sets them up), on the
console's own serial line, and installed with DKMS.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from harness import BUILD, ROOT, Guest, RawRsp, TestFailure, check, track
from session import THREAD_LINE, Session
from stock import (CACHE, DEBIAN_MODULES, StockKernel, gdb_source, linux_source, load_modules,
                   stock_kernel, stock_release)
from test_transport import test_tty_shared


def stock_session(series, name):
    """Real GDB on Debian's kernel, with the -dbg package's vmlinux and
    module debug files and the kernel's source from linux-source."""
    k, sysroot, guest = stock_kernel(series, say=lambda line: print("    " + line))
    release = k.release
    src, why = linux_source(series, release)
    check(src, "no source to check lines against: " + str(why))
    with Session(k, name, test_module=False, load=False,
                 expected=[r"module verification failed", r"loading out-of-tree"]) as s:
        g = s.g
        check(release == g.sh("uname -r").strip().splitlines()[-1], "booted the wrong kernel")
        dm = load_modules(g, guest)
        check("1 of the 1 modules loaded before kstub listed for GDB" in dm,
              "kstub did not list cpuid, loaded before it:\n" + dm)
        var = re.search(r"^([0-9a-f]+) b cpuhp_cpuid_state\s+\[cpuid\]$",
                        g.sh("grep -w cpuhp_cpuid_state /proc/kallsyms"), re.M)
        check(var, "cpuid's cpuhp_cpuid_state is not in kallsyms")

        seq = s.stop()
        gdb = s.new_gdb()
        gdb.cmd("set sysroot " + sysroot)
        gdb.cmd("set solib-search-path " + k.kstub_dir)
        gdb.cmd("add-auto-load-safe-path " + k.kstub_dir)
        out = gdb.attach(g)
        check("warning" not in out, "GDB warned at attach:\n" + out)
        bt = gdb.cmd("bt 8")
        check(re.search(r"\bsysrq_handle_dbg \(.*\) at drivers/tty/sysrq\.c:\d+", bt) or
              re.search(r"\b__handle_sysrq \(.*\) at drivers/tty/sysrq\.c:\d+", bt),
              "no sysrq frame with its source line:\n" + bt)
        check(re.search(r"^\$\d+ = \d+$", gdb.cmd("p jiffies"), re.M), "p jiffies")
        threads = THREAD_LINE.findall(gdb.cmd("info threads", timeout=120))
        names = set(t[3] for t in threads)
        check(len(threads) > 20 and {"kthreadd", "swapper/0", "sh"} <= names,
              "info threads: %d threads, names %s" % (len(threads), sorted(names)[:40]))
        libs = gdb.cmd("info sharedlibrary")
        for mod, rel in DEBIAN_MODULES.items():
            # "./msr.ko" once its init has run (modules.c says why)
            path = os.path.join(sysroot, "lib/modules", release, rel)
            check(re.search(r"^0x[0-9a-f]+\s+0x[0-9a-f]+\s+Yes\s+%s/(\./)?%s$"
                            % (re.escape(os.path.dirname(path)),
                               re.escape(os.path.basename(path))), libs, re.M),
                  "GDB did not read %s's debug file from the -dbg package:\n%s" % (mod, libs))
        check(re.search(r"Yes\s+\S*/kstub\.ko$", libs, re.M), "kstub.ko's symbols:\n" + libs)
        # a variable of a module loaded before kstub: its .bss, where kallsyms has it
        out = gdb.cmd("p/x (long)&cpuhp_cpuid_state")
        check(re.search(r"= 0x%s$" % var.group(1), out, re.M),
              "GDB places cpuhp_cpuid_state at %s, kallsyms at 0x%s" % (out.strip(), var.group(1)))
        out = gdb.cmd("p (int)cpuhp_cpuid_state")
        check(re.search(r"= [1-9]\d*$", out, re.M), "cpuhp_cpuid_state reads " + out)
        # source lines from linux-source, of the same version
        gdb_source(gdb, src, "cpuid_read")
        out = gdb.cmd("list cpuid_read,+1")
        with open(os.path.join(src, "arch/x86/kernel/cpuid.c")) as f:
            text = f.read().split("\n")
        shown = re.findall(r"^(\d+)\t(.*)$", out, re.M)
        check(shown and all(text[int(n) - 1] == line for n, line in shown),
              "no source for cpuid_read from %s:\n%s" % (src, out))

        # a module loaded before kstub, then one after it
        for fn, cmd, where in (("cpuid_read", "dd if=/dev/cpu/0/cpuid of=/dev/null bs=16 count=1",
                                "cpuid.ko"),
                               ("msr_open", "dd if=/dev/cpu/0/msr of=/dev/null bs=8 count=1 skip=2",
                                "msr.ko"),
                               ("ksys_sync", "sync", "vmlinux-" + release)):
            s.break_at(fn)
            out, seq = s.cont_then(cmd, pending=seq)
            check(re.search(r"Breakpoint \d+, .*\b%s \(.*\) at \S+\.[ch]:\d+" % fn, out),
                  "no stop in %s:\n%s" % (fn, out))
            sym = gdb.cmd("info symbol $pc")
            check(re.match(r"%s \+ \d+ in section \.text of %s/\S*%s$"
                           % (fn, re.escape(sysroot), re.escape(where)), sym.strip()),
                  "the stop's pc is not %s's: %s" % (fn, sym))
            bt = gdb.cmd("bt 3")
            check(re.search(r"#1 .* at \S+\.c:\d+", bt), "bt through %s:\n%s" % (fn, bt))
            gdb.cmd("delete")
            out = gdb.cmd("finish", timeout=120)
            check("Run till exit from" in out and re.search(r"at \S+\.c:\d+", out),
                  "finish from %s:\n%s" % (fn, out))
        s.detach()
        g.finish(seq)
        g.sh("rmmod kstub")
        check("alive-42" in g.sh("echo alive-$((40+2))"), "guest dead")


def serve_rsp(k, name, before=(), ready="ready on uart", deferred_console=False):
    """Boot @k, run the guest commands @before, insmod the kstub.ko in its
    initramfs, stop the kernel with SysRq-g and talk RSP to it.
    @deferred_console: the kernel prints its console from a thread (6.12's
    PREEMPT_RT does), so kstub's "waiting for GDB" shows only once the
    kernel runs again: GDB comes without it."""
    g = Guest(k)
    try:
        check(k.release == g.sh("uname -r").strip().splitlines()[-1], "booted the wrong kernel")
        for cmd in before:
            g.sh(cmd)
        g.sh("insmod /kstub.ko")
        out = g.sh("dmesg | grep kstub")
        check(ready in out, "kstub did not come up (%s):\n%s" % (ready, out))
        banner = int(g.sh("grep ' linux_banner$' /proc/kallsyms").split()[0], 16)
        seq = g.start("echo g > /proc/sysrq-trigger")
        if deferred_console:
            time.sleep(3)
        else:
            g.wait_for("kstub: waiting for GDB")
            time.sleep(0.5)
        r = RawRsp(g.gdb_port)
        check(r.request(b"qSupported").startswith(b"PacketSize="), "qSupported")
        check(r.request(b"?").startswith(b"T05thread:"), "stop reply")
        text = bytes.fromhex(r.request(b"m%x,d" % banner).decode())
        check(text == b"Linux version", "linux_banner reads %r" % text)
        check(len(r.request(b"g")) > 2 * 8 * 17, "short register dump")
        check(r.request(b"D") == b"OK", "detach")
        r.close()
        g.finish(seq)
        if deferred_console:
            check("kstub: waiting for GDB" in g.sh("dmesg"), "no stop in dmesg")
        # the kernel runs: a new client's first packet breaks in, from the
        # receive interrupt, which kstub asks to have in hard interrupt
        # context (PREEMPT_RT would run it in a thread)
        if ready == "ready on uart":
            threads = g.sh("cat /proc/[0-9]*/comm | grep kstub; true").strip()
            check(not threads, "kstub's receive interrupt runs in a thread: " + threads)
        r = RawRsp(g.gdb_port)
        check(r.request(b"?", timeout=30).startswith(b"T"), "no stop on a new client's packet")
        check(r.request(b"D") == b"OK", "detach after the break-in")
        r.close()
        g.sh("rmmod kstub")
        check("alive-42" in g.sh("echo alive-$((40+2))"), "guest dead")
        g.check_console(expected=[r"module verification failed", r"loading out-of-tree"])
    finally:
        g.close()
        g.keep_log(name)


def test_debian_6_1_kernel():
    """Built against Debian 12's linux-headers-6.1.0-*-amd64, loaded into that kernel;
    a GDB session with the -dbg package's symbols (.ko modules)."""
    stock_session("6.1", "stock_6.1")


def test_debian_6_12_kernel():
    """Built against Debian 12's linux-headers-6.12.*+deb12-amd64 (IBT on), loaded into it;
    a GDB session with the -dbg package's symbols (.ko.xz modules)."""
    stock_session("6.12", "stock_6.12")


def test_debian_6_12_shared_line():
    """tty=ttyS0 on Debian's 6.12 kernel: the one serial line is the
    console's too, and the kernel has no CONFIG_CONSOLE_POLL, so kstub
    drives the 16550's registers while the kernel is stopped.
    test_tty_shared's checks: attach to the running kernel, a breakpoint
    and stepi, console lines with packet characters meanwhile, Ctrl-C
    with a reader on the tty that gets all that is typed and nothing of
    GDB's, a GDB that attaches by itself with the tty open, the line back
    after detach and rmmod."""
    k, _, _ = stock_kernel("6.12", say=lambda line: print("    " + line))
    test_tty_shared(k.over("tty"), "stock_6.12_tty")


# Debian's 6.1 has virtio as modules: these, in this order, give the guest
# its virtio-pci devices
VIRTIO_61 = ["virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
             "virtio_pci"]


def test_debian_6_1_shared_line():
    """test_debian_6_12_shared_line on Debian's 6.1 kernel, whose virtio
    console (where the harness puts the shell, so that the UART is the
    console's and GDB's alone) is a module: init loads it first."""
    k, _, _ = stock_kernel("6.1", say=lambda line: print("    " + line))
    k = k.over("tty")
    pkg = os.path.join(CACHE, "stock", k.release, "lib/modules", k.release, "kernel")
    early = [("drivers/virtio", m) for m in VIRTIO_61] + [("drivers/char", "virtio_console")]
    for d, m in early:
        k.initramfs_extra["/early/%s.ko" % m] = os.path.join(pkg, d, m + ".ko")
    k.initramfs_extra["/early/order"] = " ".join(m for _, m in early).encode()
    k.initramfs = os.path.join(k.out, "initramfs-tty.cpio.gz")
    k.build_initramfs()
    test_tty_shared(k, "stock_6.1_tty")


def test_debian_6_12_flavours():
    """Built against the headers of Debian's 6.12 -rt (PREEMPT_RT: its
    spinlocks sleep) and -cloud kernels, loaded into each, served over RSP."""
    for flavour in ("rt", "cloud"):
        k = StockKernel(stock_release("6.12", flavour))
        with open(os.path.join(k.kdir, ".config")) as f:
            rt = "CONFIG_PREEMPT_RT=y" in f.read().split("\n")
        check(rt == (flavour == "rt"), "%s kernel: PREEMPT_RT is %s" % (flavour, rt))
        k.build_modules()
        k.build_initramfs()
        serve_rsp(k, "stock_6.12_" + flavour, deferred_console=rt)


def test_debian_6_1_virtio():
    """The virtio transport on Debian's 6.1 kernel, whose virtio is a module:
    kstub has no module dependency on it (it loads without virtio, over
    its UART), and once virtio is loaded kstub takes the virtio console
    and serves RSP there."""
    release = stock_release("6.1")
    k = StockKernel(release).over("virtio")
    pkg = os.path.join(CACHE, "stock", release, "lib/modules", release, "kernel/drivers/virtio")
    for m in VIRTIO_61:
        k.initramfs_extra["/virtio/%s.ko" % m] = os.path.join(pkg, m + ".ko")
    k.build_modules()
    depends = subprocess.run(["modinfo", "-F", "depends", k.kstub_ko], check=True,
                             stdout=subprocess.PIPE, text=True).stdout.strip()
    check(not depends, "kstub.ko depends on " + depends)
    k.initramfs = os.path.join(k.out, "initramfs-virtio.cpio.gz")
    k.build_initramfs()
    serve_rsp(k, "stock_6.1_virtio", ready="ready on virtio",
              before=["insmod /kstub.ko", "dmesg | grep -q 'kstub: ready on uart'",
                      "rmmod kstub"] + ["insmod /virtio/%s.ko" % m for m in VIRTIO_61])


# what test_dkms_debian_6_1 runs after dkms add (the README tells users the same)
DKMS_STEPS = ("build", "install")


def dkms_version():
    with open(os.path.join(ROOT, "dkms.conf")) as f:
        m = re.search(r'^PACKAGE_VERSION="?([^"\s]+)', f.read(), re.M)
    check(m, "dkms.conf has no PACKAGE_VERSION")
    return m.group(1)


def dkms(args, ver, env=None):
    """Run dkms; any failure is the test's, with the module build's log."""
    r = subprocess.run(["dkms"] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, env=env)
    if r.returncode or "Error!" in r.stdout:
        log = "/var/lib/dkms/kstub/%s/build/make.log" % ver
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                r.stdout += "\n%s:\n%s" % (log, f.read()[-4000:])
        raise TestFailure("dkms %s exited %d:\n%s" % (" ".join(args), r.returncode, r.stdout))
    return r.stdout


# in the tree the test adds to DKMS (dkms copies it to /usr/src), so that
# what a killed run left there is known for the test's own
DKMS_MARK = "KSTUB-DKMS-TEST"


def dkms_stage(dst):
    """The tree a user runs dkms add in: a checkout, without make check's build/."""
    shutil.copytree(ROOT, dst, symlinks=True,
                    ignore=lambda d, names: [n for n in names if d == ROOT and
                                             (n == "build" or n.startswith("."))])
    with open(os.path.join(dst, DKMS_MARK), "w") as f:
        f.write("added by kstub's test_dkms_debian_6_1; removed when it ends\n")


def dkms_remove(ver, src):
    """Take kstub/@ver out of DKMS and its tree @src away; dkms remove's result."""
    r = subprocess.run(["dkms", "remove", "kstub/" + ver, "--all"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    shutil.rmtree(src, ignore_errors=True)
    return r


def test_dkms_debian_6_1():
    """dkms add, build, install against Debian 12's 6.1 headers; the module DKMS
    installed loads into that kernel and serves RSP. The host's DKMS and
    module trees are left as they were."""
    release = stock_release("6.1")
    ver = dkms_version()
    kdir = "/usr/src/linux-headers-" + release
    src = "/usr/src/kstub-" + ver
    mods = "/lib/modules/" + release
    if os.path.exists(os.path.join(src, DKMS_MARK)):
        # this test's own, from a run killed before its cleanup (the runner's
        # test threads die with it): a user's kstub would not have the mark
        print("    removing kstub/%s, left in DKMS by a killed run of this test" % ver)
        dkms_remove(ver, src)
    check(not dkms(["status", "kstub/" + ver], ver).strip() and not os.path.exists(src),
          "kstub/%s is in DKMS already (%s): the test would remove it" % (ver, src))
    before = set(os.listdir(mods))
    work = tempfile.mkdtemp(prefix="kstub-dkms-")
    # dkms signs what it builds, with a key it otherwise makes and keeps
    # in /var/lib/dkms: the test's key goes away with the test
    env = dict(os.environ, mok_signing_key=os.path.join(work, "mok.key"),
               mok_certificate=os.path.join(work, "mok.pub"))
    try:
        dkms_stage(os.path.join(work, "kstub"))
        dkms(["add", os.path.join(work, "kstub")], ver, env)
        for step in DKMS_STEPS:
            dkms([step, "kstub/" + ver, "-k", release, "--kernelsourcedir", kdir], ver, env)
        status = dkms(["status", "kstub/" + ver, "-k", release], ver)
        check(re.search(r"^kstub/%s, %s, x86_64: installed$" % (re.escape(ver), re.escape(release)),
                        status, re.M), "dkms status: " + status)
        with open("/var/lib/dkms/kstub/%s/%s/x86_64/log/make.log" % (ver, release)) as f:
            log = f.read()
        check("tools/kstub-gdb-ko kstub.ko" in log, "dkms did not build through kstub's Makefile:\n"
              + log)
        check(not re.search(r"(warning|error):", log), "the DKMS build complains:\n" + log)
        ko = os.path.join(mods, "updates", "dkms", "kstub.ko")
        check(os.path.exists(ko), "dkms installed no %s" % ko)
        sections = subprocess.run(["readelf", "-SW", ko], check=True, stdout=subprocess.PIPE,
                                  text=True).stdout
        check(".debug_info" in sections and ".debug_gdb_scripts" in sections,
              "dkms stripped the debug info GDB reads from kstub.ko")
        k = StockKernel(release)
        # the initramfs takes kstub.ko and the test module from here, and
        # this boot needs no test module
        k.kstub_ko = k.test_ko = ko
        k.initramfs = os.path.join(work, "initramfs.cpio.gz")
        k.build_initramfs()
        serve_rsp(k, "stock_dkms_6.1")
    finally:
        pending = sys.exc_info()[1]
        r = dkms_remove(ver, src)
        # depmod's indexes, which dkms leaves behind
        for n in set(os.listdir(mods)) - before:
            p = os.path.join(mods, n)
            if n.startswith("modules.") and os.path.isfile(p):
                os.remove(p)
        shutil.rmtree(work)
        # after a failed add there is nothing to remove
        if pending is None:
            check(r.returncode == 0, "dkms remove exited %d:\n%s" % (r.returncode, r.stdout))


def test_debian_arm64_config():
    """Debian's own arm64 6.12 kernel has what kstub's ftrace hook needs, and no KGDB."""
    d = os.path.join(CACHE, "stock", "config-arm64")
    os.makedirs(d, exist_ok=True)
    if not glob.glob(os.path.join(d, "usr/src/linux-config-*/config.arm64_none_arm64.xz")):
        subprocess.run(["apt-get", "download", "-q", "linux-config-6.12:arm64"], cwd=d,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["dpkg-deb", "-x", glob.glob(os.path.join(d, "*.deb"))[0], d], check=True)
    cfg = glob.glob(os.path.join(d, "usr/src/linux-config-*/config.arm64_none_arm64.xz"))
    check(cfg, "no arm64 config in linux-config-6.12:arm64")
    text = subprocess.run(["xzcat", cfg[0]], check=True, stdout=subprocess.PIPE,
                          text=True).stdout
    for opt in ("CONFIG_DYNAMIC_FTRACE=y", "CONFIG_DYNAMIC_FTRACE_WITH_ARGS=y", "CONFIG_KPROBES=y",
                "CONFIG_KALLSYMS_ALL=y", "CONFIG_MAGIC_SYSRQ=y", "CONFIG_SERIAL_AMBA_PL011=y"):
        check(re.search("^%s$" % opt, text, re.M), "Debian's arm64 config lacks " + opt)
    check("# CONFIG_KGDB is not set" in text, "Debian's arm64 config has KGDB")


def test_fresh_debian_to_gdb():
    """make demo as a new user runs it on a fresh Debian 12 machine
    (tools/kstub-fresh, make demo FRESH=1): a minimal Debian 12 root with
    nothing installed or cached, a clone of HEAD, make demo in a chroot;
    from the first package to GDB's breakpoint in a Debian module with its
    source, with a progress line for each long step. Its time is printed,
    not asserted (getting-started.rst has the figures)."""
    check(os.geteuid() == 0, "needs root (debootstrap, chroot)")
    p = subprocess.Popen([os.path.join(ROOT, "tools", "kstub-fresh")], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    track(p, "group")
    out = []
    for line in p.stdout:
        out.append(line)
    rc = p.wait()
    text = "".join(out)
    logs = os.path.join(BUILD, "logs")
    os.makedirs(logs, exist_ok=True)
    with open(os.path.join(logs, "stock_fresh.log"), "w") as f:
        f.write(text)
    check(rc == 0 and "kstub-fresh: make demo ended OK" in text,
          "make demo FRESH=1 exited %d:\n%s" % (rc, text[-6000:]))
    # the long steps, in order, each announced (deps.sh, kstub-vm)
    steps = [r"^deps: installing ", r"^deps: downloaded in \d+ s; unpacking",
             r"^deps: installed in \d+ s",
             r"kstub-vm \[.*\] linux-image-.*-dbg: downloaded and unpacked",
             r"kstub-vm \[.*\] kstub built against linux-headers-",
             r"kstub-vm \[.*\] booting Debian's kernel",
             r"kstub-vm \[.*\] demo OK$"]
    at = 0
    for step in steps:
        m = re.compile(step, re.M).search(text, at)
        check(m, "no progress line /%s/ after the ones before it:\n%s" % (step, text))
        at = m.end()
    # apt's progress, a line every 15 s from the download's end on
    ticks = len(re.findall(r"^deps: \d+% unpacked and set up .* at \d+ s$", text, re.M))
    took = int(re.search(r"^deps: installed in (\d+) s", text, re.M).group(1))
    took -= int(re.search(r"^deps: downloaded in (\d+) s", text, re.M).group(1))
    check(ticks >= took // 15 - 1, "%d lines of the install's progress in %d s:\n%s"
          % (ticks, took, text))
    # linux-source unpacks beside the download: its line comes when it is done
    check(re.search(r"kstub-vm \[.*\] source: ", text), "no source lines:\n" + text)
    # the breakpoint in cpuid.ko, a module Debian's kernel loads, with its source
    hit = re.search(r"hit Breakpoint 1, cpuid_read \(.*?^\(gdb\) list\n(?:\d+\t[^\n]*\n)+", text,
                    re.M | re.S)
    check(hit, "no breakpoint in cpuid_read with its source lines:\n" + text)
    for line in out:
        if re.match(r"(kstub-fresh|kstub-vm|deps): ", line) or "kstub-vm [" in line:
            print("    " + line.rstrip())
    print("    " + hit.group(0).rstrip().replace("\n", "\n    "))


# its debootstrap and downloads, over the network: more than a guest's 420 s
test_fresh_debian_to_gdb.timeout = 900


TESTS = [test_debian_6_1_kernel, test_debian_6_12_kernel, test_debian_6_1_shared_line,
         test_debian_6_12_shared_line,
         test_debian_6_12_flavours, test_debian_6_1_virtio, test_dkms_debian_6_1,
         test_debian_arm64_config, test_fresh_debian_to_gdb]
