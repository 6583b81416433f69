#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench: kstub against in-kernel kgdb and QEMU's gdbstub, side by side.

One test kernel source, booted under QEMU TCG with 2 vCPUs in four
configurations, each driven through the same GDB workload:

  kstub-uart    kstub over the UART (x86: a 16550, arm64: the PL011), 115200 baud
  kstub-virtio  kstub over a virtio console of its own
  kgdb          in-kernel kgdb, kgdboc on a 16550 (arm64: QEMU's pci-serial),
                on the kgdb variant of the kernel; kstub not loaded
  qemu          QEMU's own gdbstub (-gdb tcp::PORT), outside the guest;
                kstub not loaded
  kstub-uart-paced, kgdb-paced
                the two UART configurations again, GDB on the far side
                of a paced 115200 8N1 line (pace.py), as over a cable;
                the bytes each way are counted per operation
  kstub-builtin the builtin variant of the kernel, only the guest's
                syscall loop: kstub started on its UART against the same
                kernel whose kstub did not start (its init failed)

Figures, each the median of BENCH_REPS repetitions: reading kernel text
(bytes/s), stepi (steps/s), breakpoint hits with auto-continue (hits/s),
target remote to the first prompt (s), the stop (SysRq-g, for QEMU's stub
GDB's Ctrl-C) to the prompt (s), and info threads with extra tasks (s);
the stops again (stepi, next, hits, SysRq-g) once the extra tasks run,
against the same without them (target: at most 1.2x the time).
A table goes to stdout, with kstub's ratio to each anchor and the targets;
the same data as JSON to build/bench/results-<arch>-<kver>[-nagle].json.

Environment: BENCH_ARCH (default "x86_64 arm64"), BENCH_KVER (6.1),
BENCH_REPS (3), BENCH_QUICK=1 (tiny workloads, to check the machinery),
BENCH_CONFIGS (a subset of "kstub-uart kstub-virtio kgdb qemu
kstub-uart-paced kgdb-paced kstub-builtin"; BENCH_PACED=1 is the paced
two alone),
BENCH_NODELAY=0 (the guests' GDB sockets
as QEMU makes them by default, Nagle on; see NODELAY).
Exits 0 whether or not the targets are met; non-zero when a configuration
could not be measured.
"""
import contextlib
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))

import harness  # noqa: E402
import pace  # noqa: E402
import session  # noqa: E402
from harness import TestFailure, check  # noqa: E402

OUT = os.path.join(harness.BUILD, "bench")
GDB_SCRIPT = os.path.join(HERE, "gdb_bench.py")

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
REPS = max(1, int(os.environ.get("BENCH_REPS", "3")))
KVER = os.environ.get("BENCH_KVER", "6.1")
ARCHES = os.environ.get("BENCH_ARCH", "").split() or ["x86_64", "arm64"]

SIZE = dict(read=16 << 10, steps=10, hits=10, tasks=100, loop=200000) if QUICK else \
    dict(read=1 << 20, steps=200, hits=200, tasks=1000, loop=2000000)
# over the paced line (11,520 bytes/s: 1 MiB of text is three minutes of
# hex at best) smaller counts: the figures are rates, comparable across
# the sizes
SMALL = dict(read=2 << 10, steps=5, hits=5) if QUICK else dict(read=32 << 10, steps=20, hits=20)
# how many single stops (a stepi, a next, a hit: each a GDB command that
# ends in a stop GDB shows) each figure takes the median of
SINGLES = 2 if QUICK else 5
# one GDB command may take this long (kgdb reads 1 MiB over 115200 baud in
# about five minutes, and lists a thousand tasks slower still)
CMD_TIMEOUT = 900 if QUICK else 3600

# The breakpoint's function: on both architectures, in 6.1 and 6.12, not on
# kstub's kprobe blacklist, and not inlined into its caller. An idle guest
# calls no function often enough: with NO_HZ_IDLE and HZ=250 even the tick
# runs a few times a second, and it would cap the rate of the faster
# configurations (QEMU's stub also stops the guest's clock while stopped).
# So a shell loop in the guest calls write(2) all the time while GDB counts.
HOT_FUNCTION = "ksys_write"
LOAD = "(while :; do echo; done) >/dev/null 2>&1 & echo $!"

# Watchpoints: one on a variable of the kernel's that a sysctl writes (each
# write a new value, or GDB's "watch" would not stop), and, to measure
# what watchpoints cost while they are not hit, four on variables nothing
# writes while the bench runs. All are in 6.1 and 6.12, on both arches.
WATCHED = "panic_timeout"
WATCH_SYSCTL = "/proc/sys/kernel/panic"
UNHIT = ["panic_on_oops", "panic_on_warn", "pause_on_oops", "crash_kexec_post_notifiers"]
# a guest loop of system calls (a read and a write each time round), timed
# in the guest (BusyBox's time: to 10 ms, in a run of some seconds); its
# rate is what a debugger that is loaded, or has watchpoints set, costs
# the kernel it does not stop
LOOP = "time dd if=/dev/zero of=/dev/null bs=1 count=%d 2>&1" % SIZE["loop"]

# the guests run without KASLR: kgdb and QEMU's stub do not tell GDB where
# the kernel is, and kstub's runs take the same layout
APPEND = "nokaslr"

# QEMU's UART models hand the socket one byte at a time. With Nagle on,
# QEMU's default for a socket chardev, each reply's first byte goes out at
# once and the rest waits for the ACK that GDB's side delays, about 40 ms:
# one such wait per reply, whoever sends it (the kgdb figures come
# from that link). QEMU forces nodelay=on on its own gdbstub's socket, so
# every configuration gets it too, unless BENCH_NODELAY=0.
NODELAY = os.environ.get("BENCH_NODELAY", "1") not in ("", "0")
LINK = ("GDB sockets nodelay=on, as QEMU sets for its gdbstub" if NODELAY else
        "GDB sockets as QEMU makes them (Nagle on: ~40 ms a UART reply)")

ALL_CONFIGS = ["kstub-uart", "kstub-virtio", "kgdb", "qemu", "kstub-uart-paced", "kgdb-paced"]
PACED = ["kstub-uart-paced", "kgdb-paced"]
# kstub built in, measured only while idle (builtin_idle())
BUILTIN = "kstub-builtin"
# the configurations to run (the others are reported as not run)
CONFIGS = os.environ.get("BENCH_CONFIGS", "").split() or (
    PACED if os.environ.get("BENCH_PACED", "") not in ("", "0") else ALL_CONFIGS + [BUILTIN])
LABEL = {
    "x86_64": {"kstub-uart": "kstub, 16550 UART", "kstub-virtio": "kstub, virtio console",
               "kgdb": "kgdb, kgdboc 16550", "qemu": "QEMU gdbstub",
               "kstub-uart-paced": "kstub, 16550 UART, paced 115200 line",
               "kgdb-paced": "kgdb, kgdboc 16550, paced 115200 line"},
    "arm64": {"kstub-uart": "kstub, PL011 UART", "kstub-virtio": "kstub, virtio console",
              "kgdb": "kgdb, kgdboc pci-serial", "qemu": "QEMU gdbstub",
              "kstub-uart-paced": "kstub, PL011 UART, paced 115200 line",
              "kgdb-paced": "kgdb, kgdboc pci-serial, paced 115200 line"},
}
SHORT = {"kstub-uart": "kstub uart", "kstub-virtio": "kstub virtio", "kgdb": "kgdb",
         "qemu": "QEMU stub", "kstub-uart-paced": "uart paced", "kgdb-paced": "kgdb paced"}

# figure: (unit, higher is better, label)
FIGURES = [
    ("read", "B/s", True, "read %s of text (_stext)" % (
        "%d KiB" % (SIZE["read"] >> 10) if SIZE["read"] < 1 << 20 else
        "%d MiB" % (SIZE["read"] >> 20))),
    ("stepi", "steps/s", True, "stepi x%d" % SIZE["steps"]),
    ("hits", "hits/s", True, "%d hits on %s" % (SIZE["hits"], HOT_FUNCTION)),
    ("attach", "s", False, "target remote to prompt"),
    ("stop", "s", False, "SysRq-g (QEMU: Ctrl-C) to prompt"),
    ("threads", "s", False, "info threads, +%d tasks" % SIZE["tasks"]),
    ("watch", "s", False, "watchpoint hit to prompt"),
    ("loop", "calls/s", True, "guest syscall loop, stub idle"),
    ("loopwatch", "calls/s", True, "the same, %d watchpoints set" % len(UNHIT)),
    # what a user waits for at each stop: one command, one stop shown
    ("stepi1", "s", False, "one stepi command"),
    ("next", "s", False, "next, in %s" % HOT_FUNCTION),
    ("hit1", "s", False, "continue to a hit"),
    ("stepi1_tasks", "s", False, "one stepi, +%d tasks" % SIZE["tasks"]),
    ("next_tasks", "s", False, "next, +%d tasks" % SIZE["tasks"]),
    ("hit1_tasks", "s", False, "continue to a hit, +%d tasks" % SIZE["tasks"]),
    ("stop_tasks", "s", False, "SysRq-g/Ctrl-C, +%d tasks" % SIZE["tasks"]),
]
# the stops GDB shows, with the extra tasks against the same without them
# (GDB reads the thread list at each: "stepi 200" or a breakpoint that
# continues by itself would not show it), as times (a stop that costs 1.2x
# the time: 1.2); kstub's over the paced UART must stay within 1.2x
TASK_COSTS = [("stepi1_tasks", "stepi1"), ("next_tasks", "next"), ("hit1_tasks", "hit1"),
              ("stop_tasks", "stop")]
TASK_COST_MAX = {"kstub-uart-paced": 1.2}
# the bytes on the wire per operation, counted over the paced line
BYTES_PER = [("attach", "an attach"), ("read", "1 KiB read"), ("stepi", "a step (stepi N)"),
             ("hits", "a hit, continued"), ("stepi1", "one stepi command"),
             ("next", "next"), ("hit1", "continue to a hit"), ("stop", "a stop"),
             ("stepi1_tasks", "one stepi, +tasks"), ("next_tasks", "next, +tasks"),
             ("hit1_tasks", "continue to a hit, +tasks"), ("stop_tasks", "a stop, +tasks")]
# kstub's cost while it does not stop the kernel: the loop's rate with
# kstub loaded against not loaded (the figure, and the target it must
# reach), and with watchpoints set and not hit against none
COSTS = [("loop", "loop_unloaded", "kstub loaded, idle / not loaded", 0.99),
         ("loopwatch", "loop", "%d watchpoints set, none hit / none" % len(UNHIT), None)]

# (kstub configuration, anchor, figure, the ratio it must reach): issue 7's
# UART targets against kgdb, and issue 19's: over virtio at least as fast
# as QEMU's stub (reads, stepi, attach), an attach over the UART and over
# the paced line at least as fast as kgdb's
TARGETS_ALL = [("kstub-virtio", "qemu", "read", 1.0), ("kstub-virtio", "qemu", "stepi", 1.0),
               ("kstub-virtio", "qemu", "attach", 1.0), ("kstub-uart", "kgdb", "attach", 1.0),
               ("kstub-uart-paced", "kgdb-paced", "attach", 1.0)]
TARGETS = {
    "x86_64": [("kstub-uart", "kgdb", "read", 1.4), ("kstub-uart", "kgdb", "stepi", 13.0)]
    + TARGETS_ALL,
    "arm64": [("kstub-uart", "kgdb", "read", 3.0), ("kstub-uart", "kgdb", "stepi", 30.0)]
    + TARGETS_ALL,
}
# (kstub configuration, figure, the most it may take, in its unit): info
# threads with the extra tasks over virtio within a second (issue 19)
TARGETS_MAX = [("kstub-virtio", "threads", 1.0)]

UNIT = {f: u for f, u, _, _ in FIGURES}
# the speed-up table's columns
PAIR = {("kstub-uart", "kgdb"): "uart/kgdb", ("kstub-uart", "qemu"): "uart/qemu",
        ("kstub-virtio", "kgdb"): "virtio/kgdb", ("kstub-virtio", "qemu"): "virtio/qemu",
        ("kstub-uart-paced", "kgdb-paced"): "paced/kgdb"}

SYSRQ_KSTUB = "kstub: waiting for GDB"
SYSRQ_KGDB = "sysrq: DEBUG"
BENCH_LINE = re.compile(r"@@BENCH (\w+) (\{.*\})@@")


def say(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ---- the kernels: harness.Kernel, with its products kept apart from make check's ----

def bench_kernel(kver, arch, kdir, variant=""):
    """A test kernel whose modules and initramfs go under build/bench/, so a
    bench never rewrites the files a running make check boots from."""
    return harness.Kernel(kver, arch, kdir, variant, build=OUT)


def build_kernel(kver, arch, variant=""):
    """As tests/run.py builds one: kernel.sh (cached; waits for a build in progress)."""
    say("kernel %s %s%s (kernel.sh; builds it if it is not cached)"
        % (kver, arch, " " + variant if variant else ""))
    r = subprocess.run([os.path.join(ROOT, "tests", "qemu", "kernel.sh"), kver, arch, variant],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(r.returncode == 0, "kernel build failed:\n" + r.stderr[-4000:])
    k = bench_kernel(kver, arch, r.stdout.strip(), variant)
    k.build_modules()
    k.build_initramfs()
    return k


# ---- QEMU's gdbstub: the harness's guest with -gdb on QEMU's command line ----

@contextlib.contextmanager
def qemu_extra_args(args):
    """While a Guest starts, QEMU gets @args as well. (harness.Guest has no
    option for extra arguments; it starts QEMU with subprocess.Popen.)"""
    real = subprocess.Popen

    def popen(cmd, *a, **kw):
        if cmd and os.path.basename(str(cmd[0])).startswith("qemu-system-"):
            cmd = list(cmd) + list(args)
        return real(cmd, *a, **kw)
    subprocess.Popen = popen
    try:
        yield
    finally:
        subprocess.Popen = real


class GdbstubGuest(harness.Guest):
    """A harness guest that QEMU's own gdbstub also serves, on stub_port."""

    def __init__(self, kernel, **kw):
        self.stub_port = harness.free_port()
        with qemu_extra_args(["-gdb", "tcp:127.0.0.1:%d" % self.stub_port]):
            super().__init__(kernel, **kw)


# ---- one configuration ----

class NoStop(TestFailure):
    """What should have stopped the kernel did not; @pending: the guest
    command that the stop made instead left waiting."""

    def __init__(self, msg, pending):
        super().__init__(msg)
        self.pending = pending


class Config:
    """One configuration: its guest, the port GDB uses, how it is stopped."""

    def __init__(self, name, kernels, arch):
        self.name, self.arch = name, arch
        # the stub and its guest; a paced configuration has the same as its base
        self.base = name[:-len("-paced")] if name.endswith("-paced") else name
        self.paced = name in PACED
        self.link = None
        self.size = dict(SIZE, **SMALL) if self.paced else SIZE
        self.k = kernels["kgdb" if self.base == "kgdb" else ""]
        if isinstance(self.k, harness.Kernel) and self.base.startswith("kstub"):
            self.k = self.k.over(self.base.split("-")[1])
        elif isinstance(self.k, harness.Kernel) and self.base == "kgdb":
            # the harness's kgdb layout: kgdboc on a UART of its own
            self.k = self.k.over("tty")
        self.tag = "bench-%s-%s-%s" % (KVER, arch, name)
        self.g = None
        self.gdb = None
        self.samples = {f: [] for f, _, _, _ in FIGURES}
        self.extra = {"threads_listed": [], "attach_with_tasks": [], "tasks": None,
                      "stepi_ended_in": [], "loop_unloaded": [], "sizes": self.size,
                      "bytes": {}}
        self.no_watch = None
        self.notes = []
        self.error = None
        self.skipped = False
        self.seconds = 0
        self.complaints = []

    def boot(self):
        say("%s: booting" % self.tag)
        if self.base == "qemu":
            self.g = GdbstubGuest(self.k, append=APPEND, panic_on_warn=False, nodelay=NODELAY)
            self.port = self.g.stub_port
        else:
            self.g = harness.Guest(self.k, append=APPEND, panic_on_warn=False,
                                   nodelay=NODELAY)
            self.port = self.g.kgdb_port if self.base == "kgdb" else self.g.gdb_port
        if self.paced:
            self.link = pace.PacedLink(self.port)
            self.port = self.link.port
        if self.base.startswith("kstub"):
            self.g.sh("insmod /kstub.ko")
            ready = self.g.sh("dmesg | grep 'kstub: ready'; true")
            want = "virtio" if self.base == "kstub-virtio" else "uart"
            check("ready on " + want in ready, "kstub is not on its %s: %s" % (want, ready))
        elif self.base == "kgdb":
            # (a count: console messages may cut into the line itself)
            check(self.g.sh("dmesg | grep -c 'Registered I/O driver kgdboc'; true")
                  .split()[-1] != "0", "kgdboc is not configured")

    def counted(self, op, per, fn):
        """fn(), and over the paced line the bytes it sent each way, per
        @per operations, kept under @op."""
        if not self.link:
            return fn()
        b0 = self.link.bytes()
        r = fn()
        b1 = self.link.bytes()
        if per:
            self.extra["bytes"].setdefault(op, []).append(
                {d: (b1[d] - b0[d]) / per for d in b0})
        return r

    def note(self, text):
        say("%s: %s" % (self.tag, text))
        self.notes.append(text)

    # -- GDB --

    def new_gdb(self, what):
        self.close_gdb()
        self.gdb = harness.Gdb(self.k, "%s-%s" % (self.tag, what))
        self.gdb.cmd("source " + GDB_SCRIPT)
        return self.gdb

    def close_gdb(self):
        if self.gdb:
            self.gdb.close()
            self.gdb = None

    def py(self, call, timeout=None):
        """Run a bench_* function of gdb_bench.py in GDB; its report."""
        out = self.gdb.cmd("python " + call, timeout=timeout or CMD_TIMEOUT)
        m = BENCH_LINE.search(out)
        check(m, "%s: no result from GDB for %s:\n%s" % (self.tag, call, out[-3000:]))
        r = json.loads(m.group(2))
        check("error" not in r, "%s: %s" % (self.tag, r.get("error")))
        return r

    def attach(self):
        r = self.py('bench_timed("attach", "target remote 127.0.0.1:%d")' % self.port)
        out = r["out"]
        check("Remote debugging using" in out and "error" not in out.lower(),
              "%s: target remote:\n%s" % (self.tag, out))
        if self.base == "qemu" and self.arch == "arm64":
            self.kernel_vcpu()
        return r["seconds"]

    def kernel_vcpu(self):
        """QEMU's stub reads memory as the selected vCPU would, at its
        exception level: a vCPU stopped in user code (the bench's load
        runs there) cannot read the kernel's text, and GDB's read fails.
        Select one that stopped in the kernel, continuing and stopping
        again until one has. (kstub and kgdb stop in the kernel.)"""
        for _ in range(20):
            for tid in re.findall(r"^\*?\s*(\d+)\s+Thread", self.gdb.cmd("info threads"), re.M):
                self.gdb.cmd("thread " + tid)
                m = re.search(r"= (\d+)", self.gdb.cmd("p ($cpsr >> 2) & 3"))
                if m and m.group(1) != "0":
                    return
            cont = self.gdb.begin("continue")
            self.gdb.wait_printed("Continuing.")
            time.sleep(0.05)
            self.gdb.p.send_signal(signal.SIGINT)
            self.gdb.end(cont, timeout=60)
        raise TestFailure("%s: no vCPU stopped in the kernel in 20 tries" % self.tag)

    def detach(self):
        out = self.gdb.cmd("detach", timeout=CMD_TIMEOUT)
        check("detach" in out.lower(), "%s: detach:\n%s" % (self.tag, out))

    # -- stopping the kernel --

    def sysrq_stop(self):
        """Stop the kernel for an attach: SysRq-g, until kstub or kgdb says it
        has stopped; returns the guest command to finish once it runs again.
        QEMU's stub stops the VM itself when GDB connects: None."""
        if self.base == "qemu":
            return None
        line = SYSRQ_KGDB if self.base == "kgdb" else SYSRQ_KSTUB
        n = self.g.console().count(line)
        seq = self.g.start("echo g > /proc/sysrq-trigger")
        self.g.wait_logged(line, n + 1, timeout=120)
        return seq

    def timed_stop(self, pending, trigger=None, want=r"SIG(INT|TRAP)|stopped", meanwhile=None,
                   timeout=CMD_TIMEOUT):
        """With GDB continuing: SysRq-g in the guest (QEMU: GDB's Ctrl-C), or
        the guest command @trigger, to GDB's prompt, as seen from the host;
        GDB must have printed @want. @pending: the guest command that a stop
        before left waiting, to let finish first; @meanwhile: what to run
        while the kernel runs, before the stop. Returns (seconds, guest seq).
        Raises NoStop if @trigger did not stop the kernel within @timeout s
        (the kernel is stopped then, as for an attach)."""
        for tries in range(4):
            cont = self.gdb.begin("continue")
            self.gdb.wait_printed("Continuing.", timeout=CMD_TIMEOUT)
            # a stop of its own before the one measured (arm64 kgdb: a stepi
            # that went into an interrupt handler leaves a step pending in
            # the interrupted code): continue again
            try:
                self.gdb.wait_printed(r"@@G%d@@" % cont, timeout=1)
            except TestFailure:
                break
            out = self.gdb.end(cont)
            check("Could not insert" not in out, "%s: %s" % (self.tag, out.strip()[-300:]))
            self.note("a continue stopped by itself: " + out.strip().replace("\n", " | ")[-300:])
        else:
            raise TestFailure("%s: continue does not keep the kernel running" % self.tag)
        if pending is not None:
            self.g.finish(pending, timeout=CMD_TIMEOUT)
        if meanwhile:
            meanwhile()
        time.sleep(0.5)
        seq = None
        t0 = time.time()
        if trigger:
            seq = self.g.start(trigger)
        elif self.base == "qemu":
            self.gdb.p.send_signal(signal.SIGINT)
        else:
            seq = self.g.start("echo g > /proc/sysrq-trigger")
        out = self.gdb.ended(cont, timeout)
        took = time.time() - t0
        if out is None:
            seq = None
            if self.base == "qemu":
                self.gdb.p.send_signal(signal.SIGINT)
            else:
                seq = self.g.start("echo g > /proc/sysrq-trigger")
            self.gdb.end(cont, timeout=CMD_TIMEOUT)
            raise NoStop("%s: %s did not stop the kernel in %d s" % (self.tag, trigger, timeout),
                         seq)
        check(re.search(want, out), "%s: no stop:\n%s" % (self.tag, out))
        return took, seq

    def hot_address(self):
        """The first line of HOT_FUNCTION, as the tests' break_at() takes it
        (on arm64 'break fn' would also land on the ftrace NOPs before it)."""
        return "%#x" % session.first_patchable(self.gdb, self.arch, HOT_FUNCTION)


    # -- the workload --

    def rep(self, i, tasks=False):
        """One repetition of every figure but info threads and watchpoints, in
        one GDB session; with @tasks, once the extra tasks run, the stops GDB
        shows only (attach with the tasks: threads_rep())."""
        g, size = self.g, self.size
        sfx = "_tasks" if tasks else ""
        load = g.sh(LOAD).split()[-1]
        pending = self.sysrq_stop()
        self.new_gdb("rep%d%s" % (i, sfx))
        figs = {}
        if not tasks:
            figs["attach"] = self.counted("attach", 1, self.attach)
            dump = os.path.join(g.dir, "text.bin")
            # from _stext: arm64 does not map its image header (_text.._stext)
            r = self.counted("read", size["read"] / 1024, lambda: self.py(
                'bench_timed("read", "dump binary memory %s _stext _stext+%d")'
                % (dump, size["read"])))
            got = os.path.getsize(dump) if os.path.exists(dump) else 0
            check(got == size["read"], "%s: read %d bytes of %d" % (self.tag, got, size["read"]))
            figs["read"] = size["read"] / r["seconds"]
        else:
            self.attach()
        hot = self.hot_address()
        if not tasks:
            r = self.counted("hits", size["hits"],
                             lambda: self.py('bench_hits("*%s", %d)' % (hot, size["hits"])))
            figs["hits"] = (r["hits"] - 1) / r["span"] if r["span"] > 0 else float("nan")
            pc0 = self.gdb.cmd("p/x $pc")
            check(re.search(r"= %s\b" % hot, pc0), "%s: the last hit is not at %s %s: %s"
                  % (self.tag, HOT_FUNCTION, hot, pc0.strip()))
            # stepi from where the last hit stopped, with no breakpoint left
            self.gdb.cmd("delete")
            r = self.counted("stepi", size["steps"], lambda: self.py(
                'bench_timed("stepi", "stepi %d")' % size["steps"]))
            pc1 = self.gdb.cmd("p/x $pc")
            check(pc0 != pc1, "%s: stepi did not move the pc (%s)" % (self.tag, pc0.strip()))
            self.extra["stepi_ended_in"].append(self.gdb.cmd("info symbol $pc").strip())
            figs["stepi"] = size["steps"] / r["seconds"]
        figs.update(self.single_stops(hot, sfx))
        figs["stop" + sfx], pending = self.counted("stop" + sfx, 1,
                                                   lambda: self.timed_stop(pending))
        self.detach()
        if pending is not None:
            g.finish(pending, timeout=CMD_TIMEOUT)
        self.close_gdb()
        # reaped here: the guest's shell reads its commands with fgets()
        # (stty -echo), and a SIGCHLD that interrupts that read is an EOF
        # to it, which ends init
        g.sh("kill %s; wait %s; true" % (load, load))
        check("alive-42" in g.sh("echo alive-$((40+2))"), "%s: guest shell gone" % self.tag)
        for f, v in figs.items():
            if v is not None:
                self.samples[f].append(v)
        say("%s rep %d%s: %s" % (self.tag, i + 1, " (+tasks)" if tasks else "", ", ".join(
            "%s %s %s" % (f, fmt(v, UNIT[f]), "" if UNIT[f] == "B/s" else UNIT[f])
            for f, v in figs.items())))

    def single_stops(self, hot, sfx):
        """The stops a user waits for, one GDB command each, the median of
        SINGLES: a continue to a hit of a breakpoint on the first line of
        HOT_FUNCTION; from the last, stepis; from hits again, a next (a line that calls a
        function: GDB steps into it, then runs to a breakpoint at its
        return; another CPU may hit the breakpoint first). A figure the
        stub cannot give is left out, and noted."""
        def median_of(op, cmd, before=None):
            times = []
            for _ in range(SINGLES):
                if before:
                    before()
                r = self.counted(op + sfx, 1, lambda: self.py('bench_timed("%s", "%s")'
                                                              % (op, cmd)))
                times.append(r["seconds"])
            return statistics.median(times)

        figs = {}
        # each from a hit, with and without the tasks
        for op, cmd in (("hit1", "continue"), ("stepi1", "stepi"), ("next", "next")):
            try:
                if op == "hit1":
                    self.gdb.cmd("break *" + hot)
                    figs[op + sfx] = median_of(op, cmd)
                    self.gdb.cmd("disable")
                elif op == "next":
                    def hit():
                        self.gdb.cmd("enable")
                        self.py('bench_timed("cont", "continue")')
                        self.gdb.cmd("disable")
                    figs[op + sfx] = median_of(op, cmd, hit)
                else:
                    figs[op + sfx] = median_of(op, cmd)
            except TestFailure as e:
                self.note("%s: %s" % (cmd, str(e).strip().splitlines()[-1][:200]))
        self.gdb.cmd("delete")
        return figs

    def loop_rate(self):
        return loop_rate(self.g, self.tag)

    def watch_rep(self, i):
        """The syscall loop with the stub idle (and for kstub, unloaded
        first), a watchpoint hit to the prompt, and the loop again with
        watchpoints set that nothing hits."""
        g = self.g
        kstub = self.name.startswith("kstub")
        if kstub:
            g.sh("rmmod kstub")
            self.extra["loop_unloaded"].append(self.loop_rate())
            g.sh("insmod /kstub.ko")
        self.samples["loop"].append(self.loop_rate())
        if self.no_watch:
            return
        pending = self.sysrq_stop()
        self.new_gdb("watch%d" % i)
        self.attach()
        out = self.gdb.cmd("watch " + WATCHED)
        check(re.search(r"[Ww]atchpoint 1: " + WATCHED, out), "%s: %s" % (self.tag, out))
        try:
            took, pending = self.timed_stop(
                pending, trigger="echo %d > %s" % (i % 2, WATCH_SYSCTL),
                want=r"[Ww]atchpoint 1: %s\s+Old value = -?\d+\s+New value = %d"
                % (WATCHED, i % 2), timeout=60)
        except NoStop as e:
            pending = e.pending
            self.no_watch = str(e)
            self.note("a watchpoint that does not trigger: " + self.no_watch[-200:])
            took = None
        except TestFailure as e:
            if "Could not insert" not in str(e):
                raise
            # (arm64 kgdb has no watchpoints)
            self.no_watch = str(e).splitlines()[0]
            self.note("no watchpoints: " + self.no_watch[-200:])
            took = None
        if took is not None:
            self.samples["watch"].append(took)
            self.gdb.cmd("delete")
            for v in UNHIT:
                out = self.gdb.cmd("watch " + v)
                check(re.search(r"[Ww]atchpoint \d+: " + v, out), "%s: %s" % (self.tag, out))
            rates = []
            _, pending = self.timed_stop(pending, meanwhile=lambda: rates.append(self.loop_rate()))
            self.samples["loopwatch"] += rates
        self.gdb.cmd("delete")
        self.detach()
        if pending is not None:
            g.finish(pending, timeout=CMD_TIMEOUT)
        self.close_gdb()
        say("%s watch rep %d: %s" % (self.tag, i + 1, ", ".join(
            "%s %s" % (f, fmt(self.samples[f][-1]) if len(self.samples[f]) > i else "n/a")
            for f in ("watch", "loop", "loopwatch"))))

    def start_tasks(self):
        n = SIZE["tasks"]
        t0 = time.time()
        self.g.sh("i=0; while [ $i -lt %d ]; do sleep 100000 & i=$((i+1)); done" % n,
                  timeout=1200)
        have = int(self.g.sh("pidof sleep | wc -w").split()[-1])
        check(have >= n, "%s: only %d of %d sleepers started" % (self.tag, have, n))
        self.extra["tasks"] = int(self.g.sh("ls -d /proc/[0-9]* | wc -l").split()[-1])
        say("%s: %d sleepers started in %.0f s (%d tasks)"
            % (self.tag, n, time.time() - t0, self.extra["tasks"]))

    def threads_rep(self, i):
        """info threads with the extra tasks there, in a fresh stop and a
        fresh GDB (a second info threads in one stop reads GDB's caches)."""
        pending = self.sysrq_stop()
        self.new_gdb("threads%d" % i)
        self.extra["attach_with_tasks"].append(self.counted("attach_tasks", 1, self.attach))
        r = self.counted("threads", 1, lambda: self.py('bench_timed("threads", "info threads")'))
        check(r["threads"] > 0, "%s: info threads listed nothing:\n%s" % (self.tag, r["out"]))
        self.samples["threads"].append(r["seconds"])
        self.extra["threads_listed"].append(r["threads"])
        self.detach()
        if pending is not None:
            self.g.finish(pending, timeout=CMD_TIMEOUT)
        self.close_gdb()
        say("%s threads rep %d: %s s for %d threads" % (self.tag, i + 1, fmt(r["seconds"]),
                                                       r["threads"]))

    def run(self):
        t0 = time.time()
        try:
            if not isinstance(self.k, harness.Kernel):
                raise TestFailure("its kernel: %s" % self.k)
            self.boot()
            for i in range(REPS):
                self.rep(i)
            # (what watchpoints cost does not depend on the line)
            for i in range(0 if self.paced else REPS):
                self.watch_rep(i)
            self.g.sh("echo -1 > " + WATCH_SYSCTL)
            self.start_tasks()
            for i in range(REPS):
                self.rep(i, tasks=True)
            for i in range(REPS):
                self.threads_rep(i)
            self.g.sh("killall sleep; wait; true", timeout=300)
        except (TestFailure, subprocess.CalledProcessError, OSError, ValueError) as e:
            self.error = str(e)
        except Exception:
            self.error = traceback.format_exc()
        finally:
            self.close_gdb()
            if self.link:
                self.link.close()
            if self.g:
                self.g.close()
                self.complaints = [l for l in self.g.console().splitlines()
                                   if any(re.search(p, l) for p in harness.BAD_CONSOLE)]
                self.g.keep_log(self.tag)
        self.seconds = time.time() - t0
        if self.error:
            say("%s FAILED: %s" % (self.tag, self.error.replace("\n", "\n    ")))
        else:
            say("%s: done in %.0f s" % (self.tag, self.seconds))

    def median(self, f):
        v = self.samples[f] if f in self.samples else self.extra[f]
        return statistics.median(v) if v else None

    def spread(self, f):
        """How far the samples of @f lie from their median, at most: 0.05 is 5%."""
        v = self.samples[f] if f in self.samples else self.extra[f]
        m = self.median(f)
        return max(abs(x / m - 1) for x in v) if v and m else None

    def result(self):
        k = self.k if isinstance(self.k, harness.Kernel) else None
        return dict(label=LABEL[self.arch][self.name], kernel=k and k.kdir,
                    variant=k and k.variant, transport=k and k.transport,
                    samples=self.samples, median={f: self.median(f) for f in self.samples},
                    extra=self.extra, notes=self.notes, error=self.error, skipped=self.skipped,
                    console_complaints=self.complaints[:40],
                    seconds=round(self.seconds, 1))


def loop_rate(g, tag):
    """The guest's syscall loop, in calls a second."""
    out = g.sh(LOOP, timeout=CMD_TIMEOUT)
    m = re.search(r"^real\s+(\d+)m\s*([\d.]+)s", out, re.M)
    check(m, "%s: no time from the loop:\n%s" % (tag, out))
    return 2 * SIZE["loop"] / (60 * int(m.group(1)) + float(m.group(2)))


# ---- kstub built in, idle ----

# kstub built in on its UART, and the same kernel with a UART parameter
# that names no port: kstub's init fails on it before it hooks anything
BUILTIN_ON = {a: "kstub.uart=" + session.ARCH[a]["uart"] for a in session.ARCH}
BUILTIN_OFF = "kstub.uart=none"


def builtin_idle(arch):
    """What kstub built in costs while it does not stop the kernel: the
    guest's syscall loop on the builtin variant of the kernel with kstub
    started on its UART ("on") and with its init failed ("off"), the same
    kernel image; the two boot in turn, twice each, REPS loops a boot.
    Returns {"on": [...], "off": [...], "error": None or why not}."""
    rates = {"on": [], "off": [], "error": None}
    try:
        k = build_kernel(KVER, arch, "builtin").over("uart")
        for i in range(2):
            for which, arg in (("off", BUILTIN_OFF), ("on", BUILTIN_ON[arch])):
                tag = "bench-%s-%s-builtin-%s%d" % (KVER, arch, which, i)
                say("%s: booting (%s)" % (tag, arg))
                g = harness.Guest(k, append="%s %s" % (APPEND, arg), panic_on_warn=False,
                                  nodelay=NODELAY)
                try:
                    said = g.sh("dmesg | grep kstub; true")
                    check(("ready on uart" in said) == (which == "on")
                          and ("uart=none" in said) == (which == "off"),
                          "%s: kstub is not %s:\n%s" % (tag, which, said))
                    for _ in range(REPS):
                        rates[which].append(loop_rate(g, tag))
                finally:
                    g.close()
                    g.keep_log(tag)
                say("%s: %s" % (tag, " ".join("%.0f" % r for r in rates[which][-REPS:])))
    except (TestFailure, subprocess.CalledProcessError, OSError, ValueError) as e:
        rates["error"] = str(e)
        say("builtin idle: FAILED: %s" % rates["error"])
    return rates


# ---- the figures side by side ----

def fmt(v, unit=None):
    if v is None or v != v:
        return "n/a"
    if unit == "B/s":
        if v >= 1 << 20:
            return "%.2f MiB/s" % (v / (1 << 20))
        if v >= 1 << 10:
            return "%.1f KiB/s" % (v / (1 << 10))
        return "%.0f B/s" % v
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v if v >= 0.1 else "%.3f" % v


def ratio(configs, kstub, anchor, fig):
    """kstub's speed-up over the anchor: > 1 means kstub is faster."""
    hb = {f: h for f, _, h, _ in FIGURES}[fig]
    a, b = configs[kstub].median(fig), configs[anchor].median(fig)
    if not a or not b or a != a or b != b:
        return None
    return a / b if hb else b / a


def xfmt(r):
    if r is None:
        return "n/a"
    if r < 0.1:
        return "%.2gx" % r
    return "%.2fx" % r if r < 10 else "%.1fx" % r


def report(arch, configs, builtin=None):
    lines = []
    w0, w = 40, 14
    title = "kstub bench: %s, Linux %s, QEMU TCG -smp 2, median of %d%s" % (
        arch, KVER, REPS, " (BENCH_QUICK: tiny workloads)" if QUICK else "")
    lines += [title, "=" * len(title), "  link: " + LINK,
              "  paced: %d baud 8N1 (%d bytes/s each way), %d-byte FIFO slices; there "
              "%d KiB read, stepi x%d, %d hits"
              % (pace.BAUD, pace.BYTES_PER_S, pace.FIFO, SMALL["read"] >> 10, SMALL["steps"],
                 SMALL["hits"]), ""]
    for c in ALL_CONFIGS:
        lines.append("  %-13s %s%s" % (SHORT[c], LABEL[arch][c],
                                       "  [FAILED: %s]" % configs[c].error.splitlines()[0][:100]
                                       if configs[c].error else
                                       "  [not run: BENCH_CONFIGS]" if configs[c].skipped else ""))
    lines.append("")
    head = "%-*s" % (w0, "figure") + "".join("%*s" % (w, SHORT[c]) for c in ALL_CONFIGS)
    lines += [head, "-" * len(head)]
    for f, unit, hb, label in FIGURES:
        row = "%-*s" % (w0, label if unit == "B/s" else "%s (%s)" % (label, unit))
        row += "".join("%*s" % (w, fmt(configs[c].median(f), unit)) for c in ALL_CONFIGS)
        lines.append(row)
    listed = ["%s %s" % (SHORT[c], "/".join(str(n) for n in sorted(set(
        configs[c].extra["threads_listed"]))))
        for c in ALL_CONFIGS if configs[c].extra["threads_listed"]]
    lines.append("  threads listed: " + ", ".join(listed) +
                 " (QEMU's stub lists vCPUs, not tasks)")
    ended = ["%s %s" % (SHORT[c], "/".join(sorted(set(e.split(" in section")[0] for e in
                                                       configs[c].extra["stepi_ended_in"]))))
             for c in ALL_CONFIGS if configs[c].extra["stepi_ended_in"]]
    lines.append("  stepi from %s ended in: %s" % (HOT_FUNCTION, ", ".join(ended)))
    lines.append("")
    pairs = [(k, a) for k in ("kstub-uart", "kstub-virtio") for a in ("kgdb", "qemu")]
    pairs.append(("kstub-uart-paced", "kgdb-paced"))
    head = "%-*s" % (w0, "kstub's speed-up (>1x: kstub faster)") + "".join(
        "%*s" % (w, PAIR[k, a]) for k, a in pairs)
    lines += [head, "-" * len(head)]
    ratios = {}
    for f, unit, hb, label in FIGURES:
        row = "%-*s" % (w0, label)
        for k, a in pairs:
            r = ratio(configs, k, a, f)
            ratios.setdefault(f, {})["%s/%s" % (k, a)] = r
            row += "%*s" % (w, xfmt(r))
        lines.append(row)
    lines += ["", "targets (ratios from this run):"]
    targets = []
    for k, a, f, want in TARGETS[arch]:
        r = ratio(configs, k, a, f)
        what = "%-13s %-6s vs %-9s >= %sx" % (SHORT[k], f, SHORT[a], ("%g" % want))
        if r is None:
            verdict, how = "N/A", "not measured"
        elif r >= want:
            verdict, how = "PASS", "%s" % xfmt(r)
        else:
            verdict = "MISS"
            how = "%s, missed by %.0f%% (kstub would have to be %.2fx faster)" % (
                xfmt(r), 100 * (1 - r / want), want / r)
        lines.append("  %-4s  %s : %s" % (verdict, what, how))
        targets.append(dict(kstub=k, anchor=a, figure=f, want=want, ratio=r, verdict=verdict))
    for k, f, most in TARGETS_MAX:
        v = configs[k].median(f)
        what = "%-13s %-6s <= %g %s" % (SHORT[k], f, most, UNIT[f])
        if v is None:
            verdict, how = "N/A", "not measured"
        elif v <= most:
            verdict, how = "PASS", "%.3g %s" % (v, UNIT[f])
        else:
            verdict = "MISS"
            how = "%.3g %s, missed by %.0f%% (kstub would have to be %.2fx faster)" % (
                v, UNIT[f], 100 * (v / most - 1), v / most)
        lines.append("  %-4s  %s : %s" % (verdict, what, how))
        targets.append(dict(kstub=k, anchor=None, figure=f, want=most, value=v,
                            verdict=verdict))
    lines += ["", "cost while the stub does not stop the kernel (the guest's syscall loop, "
              "samples within +-N% of the median):"]
    for f, base, label, want in COSTS:
        for c in ALL_CONFIGS:
            a, b = configs[c].median(f), configs[c].median(base)
            if a is None or b is None:
                continue
            r = a / b
            sp = max(configs[c].spread(f), configs[c].spread(base))
            verdict = "" if want is None else "PASS" if r >= want else "MISS"
            lines.append("  %-4s  %-13s %-42s: %.3fx (+-%.0f%%)%s" % (
                verdict, SHORT[c], label, r, 100 * sp, "" if want is None else
                "  (target >= %gx)" % want))
            if want is not None:
                targets.append(dict(kstub=c, anchor=None, figure="%s/%s" % (f, base), want=want,
                                    ratio=r, verdict=verdict))
    if builtin and builtin["on"] and builtin["off"]:
        on, off = statistics.median(builtin["on"]), statistics.median(builtin["off"])
        r, want = on / off, COSTS[0][3]
        sp = max(max(abs(x / on - 1) for x in builtin["on"]),
                 max(abs(x / off - 1) for x in builtin["off"]))
        verdict = "PASS" if r >= want else "MISS"
        lines.append("  %-4s  %-13s %-42s: %.3fx (+-%.0f%%)  (target >= %gx)" % (
            verdict, "kstub builtin", "started, idle / its init failed", r, 100 * sp, want))
        targets.append(dict(kstub=BUILTIN, anchor=None, figure="loop/loop_init_failed",
                            want=want, ratio=r, verdict=verdict))
    elif builtin:
        lines.append("  N/A   %-13s %s" % ("kstub builtin", builtin["error"] or "not measured"))
    lines += ["", "the stops once %d extra tasks run, against the same without them "
              "(in time: 1.2x is 20%% slower; the samples within +-N%% of their "
              "medians):" % SIZE["tasks"]]
    for c in ALL_CONFIGS:
        row, worst, sp = [], None, 0
        for f, base in TASK_COSTS:
            a, b = configs[c].median(f), configs[c].median(base)
            if a is None or b is None:
                continue
            hb = {x: h for x, _, h, _ in FIGURES}[f]
            r = b / a if hb else a / b
            worst = r if worst is None else max(worst, r)
            sp = max(sp, configs[c].spread(f), configs[c].spread(base))
            row.append("%s %.2fx" % (base, r))
        if not row:
            continue
        want = TASK_COST_MAX.get(c)
        verdict = "" if want is None else "PASS" if worst <= want else "MISS"
        lines.append("  %-4s  %-13s %s (+-%.0f%%)%s" % (
            verdict, SHORT[c], ", ".join(row), 100 * sp,
            "" if want is None else "  (target <= %gx)" % want))
        if want is not None:
            targets.append(dict(kstub=c, anchor=None, figure="stops with tasks / without",
                                want=want, ratio=worst, verdict=verdict))
    paced = [c for c in PACED if configs[c].extra["bytes"]]
    if paced:
        lines += ["", "bytes on the paced line per operation (to the target / from it):"]
        head = "%-*s" % (w0, "") + "".join("%*s" % (w + 4, SHORT[c]) for c in paced)
        lines += [head, "-" * len(head)]
        for op, label in BYTES_PER + [("attach_tasks", "an attach, +tasks"),
                                      ("threads", "info threads, +tasks")]:
            cells = []
            for c in paced:
                b = configs[c].extra["bytes"].get(op)
                cells.append("n/a" if not b else "%.0f / %.0f" % (
                    statistics.median(x["to_target"] for x in b),
                    statistics.median(x["from_target"] for x in b)))
            lines.append("%-*s" % (w0, label) + "".join("%*s" % (w + 4, x) for x in cells))
    notes = [(c, n) for c in ALL_CONFIGS for n in configs[c].notes]
    if notes:
        lines += ["", "notes:"] + ["  %s: %s" % (SHORT[c], n[:200]) for c, n in notes]
    complaints = [(c, configs[c].complaints) for c in ALL_CONFIGS if configs[c].complaints]
    if complaints:
        lines += ["", "guest console complaints (see build/logs/bench-*.console.log):"]
        for c, cl in complaints:
            lines += ["  %s: %s" % (SHORT[c], l.strip()[:150]) for l in cl[:5]]
    return "\n".join(lines), ratios, targets


def chart(arch, configs, path):
    """An SVG of the seconds a stepi command takes (to GDB's prompt) against
    the tasks in the guest, a line for each configuration (gnuplot: deps.sh
    bench); the path, or None."""
    series = []
    for c in ALL_CONFIGS:
        cf = configs[c]
        a, b, n = cf.median("stepi1"), cf.median("stepi1_tasks"), cf.extra["tasks"]
        if a and b and n:
            series.append((SHORT[c], [(n - SIZE["tasks"], a), (n, b)]))
    if not series:
        return None
    script = ["set terminal svg size 800,480 dynamic font 'sans,12'",
              "set termoption noenhanced", "set output '%s'" % path,
              "set title 'one stepi, to the prompt, against the tasks in the guest "
              "(%s, Linux %s)'" % (arch, KVER),
              "set xlabel 'tasks in the guest'", "set ylabel 'seconds per stepi'",
              "set logscale y", "set grid", "set key outside right",
              "set xrange [0:%d]" % (max(p[-1][0] for _, p in series) * 1.1),
              "plot " + ", ".join("'-' using 1:2 with linespoints lw 2 title '%s'" % name
                                  for name, _ in series)]
    for _, points in series:
        script += ["%d %g" % p for p in points] + ["e"]
    try:
        r = subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        say("no chart: gnuplot: %s (tests/deps.sh bench installs it)" % e)
        return None
    if r.returncode:
        say("no chart: gnuplot: %s" % r.stderr.strip()[-300:])
        return None
    return path


def versions():
    def first_line(cmd):
        try:
            return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            return None
    return dict(gdb=first_line(["gdb-multiarch", "--version"]),
                qemu_x86_64=first_line(["qemu-system-x86_64", "--version"]),
                qemu_aarch64=first_line(["qemu-system-aarch64", "--version"]),
                host=platform.node(), cpus=os.cpu_count(), loadavg=os.getloadavg())


def bench_arch(arch):
    kernels = {}
    for v in ("", "kgdb"):
        try:
            kernels[v] = build_kernel(KVER, arch, v)
        except (TestFailure, subprocess.CalledProcessError) as e:
            kernels[v] = e
    configs = {}
    for name in ALL_CONFIGS:
        c = Config(name, kernels, arch)
        if name in CONFIGS:
            c.run()
        else:
            c.skipped = True
        configs[name] = c
    builtin = builtin_idle(arch) if BUILTIN in CONFIGS else None
    text, ratios, targets = report(arch, configs, builtin)
    print(text + "\n", flush=True)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "results-%s-%s%s.json" % (arch, KVER, "" if NODELAY else "-nagle"))
    data = dict(arch=arch, kver=KVER, reps=REPS, quick=QUICK, sizes=SIZE, nodelay=NODELAY,
                hot_function=HOT_FUNCTION, cmdline_append=APPEND,
                figures=[dict(name=f, unit=u, higher_is_better=h, label=l)
                         for f, u, h, l in FIGURES],
                configs={n: c.result() for n, c in configs.items()}, builtin_idle=builtin,
                speedups=ratios, targets=targets, versions=versions(),
                date=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    svg = chart(arch, configs, path[:-len(".json")].replace("results-", "stepi-tasks-") + ".svg")
    print("(JSON: %s%s)\n" % (os.path.relpath(path, ROOT),
                              "; chart: " + os.path.relpath(svg, ROOT) if svg else ""),
          flush=True)
    return [n for n, c in configs.items() if c.error] + (
        [BUILTIN] if builtin and builtin["error"] else [])


def main():
    failed = []
    for arch in ARCHES:
        check(arch in harness.ARCH, "unknown BENCH_ARCH %s" % arch)
        try:
            failed += ["%s/%s" % (arch, n) for n in bench_arch(arch)]
        except (TestFailure, subprocess.CalledProcessError) as e:
            say("%s: %s" % (arch, e))
            failed.append(arch)
    if failed:
        say("could not measure: " + " ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
