#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kstub's test runner: host unit tests, then end-to-end tests per kernel.

Environment: KVER (6.1, 6.12; default both), ARCH (x86_64; default all
supported), TESTS (a regular expression matched against test names such
as 6.12/x86_64/test_oops_entry or host/rsp), FULL=1 (every scenario over
every transport; by default a scenario in which the transport plays no
part runs over one of them per kernel), JOBS (how many tests run side by
side; 2). Ends with 'N passed, N failed'.

Kernel builds are not tests: a builder thread builds the kernels in the
order the tests need them, niced, while the tests of the kernels already
built run; each build has its own time limit (KSTUB_BUILD_TIMEOUT seconds)
and is killed with its whole process group when it runs out or the runner
stops. A build that fails fails every test of its kernel.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "qemu"))

import harness  # noqa: E402
import registry  # noqa: E402
# the test files: their tests register themselves (registry.scenario)
import test_attach  # noqa: E402, F401
import test_crash  # noqa: E402, F401
import test_kernel_view  # noqa: E402, F401
import test_run_control  # noqa: E402, F401
import test_safety  # noqa: E402, F401
import test_stress  # noqa: E402, F401
import test_transport  # noqa: E402, F401
import test_watch  # noqa: E402, F401
import test_stock  # noqa: E402
import test_kernel_build  # noqa: E402
import test_readme  # noqa: E402

KVERS = ["6.1", "6.12"]
ARCHES = ["x86_64", "arm64"]
# every transport-dependent scenario over kstub's UART and its virtio console
TRANSPORTS = {"x86_64": ["uart", "virtio"], "arm64": ["uart", "virtio"]}
# where the transport plays no part, one per kernel, so both are exercised
ONE_TRANSPORT = {"6.1": "virtio", "6.12": "uart"}
# The debug build (lockdep, KASAN, and kgdb: the kgdb kernel with the
# checkers) rebuilds the whole kernel, and its guests run some three times
# slower: one of them cost a cold run about 15 minutes (6.12 arm64's, at
# 2438855: the run came to some 64 minutes, over its budget of 60), two
# about 25. So they run in FULL=1, all four, which every issue's
# resolution runs (testing.rst, "The debug kernels"); a kernel listed here
# has its debug variant in the default run too.
DEBUG_KERNEL = {}
# The kgdb variants the default run builds (where it has no debug variant):
# arm64's rebuilds a third of the kernel (CONFIG_KGDB reaches it through
# asm/cacheflush.h), 7 minutes at the end of a cold run's chain of builds
# (testing.rst, "A cold run"), so the default run has x86_64's only; the
# shared tty runs on arm64's plain kernels (through the PL011's registers),
# and FULL=1 has all four kgdb kernels (as debug variants).
KGDB_KERNEL = {"x86_64": ("6.1", "6.12"), "arm64": ()}
# STRESS=long's endurance runs take many minutes each
TEST_TIMEOUT = 3600 if harness.STRESS_LONG else 420
BUILD_TIMEOUT = int(os.environ.get("KSTUB_BUILD_TIMEOUT", "3600"))
FULL = os.environ.get("FULL", "") not in ("", "0")


# set once tests/run.sh's second half of the package install is done: the
# builds start without it, the tests and the guests' initramfs need it
DEPS_READY = threading.Event()
DEPS_TIMEOUT = 1800


def wait_deps():
    """Wait for tests/deps.sh rest, which tests/run.sh started beside the
    first build: its exit status lands in $KSTUB_DEPS_REST, and its pid is
    $KSTUB_DEPS_PID. A line a minute while it runs."""
    path = os.environ.get("KSTUB_DEPS_REST")
    pid = int(os.environ.get("KSTUB_DEPS_PID", "0"))
    t0 = said = time.time()
    try:
        while path:
            try:
                with open(path) as f:
                    rc = f.read().strip()
            except OSError as e:
                raise harness.TestFailure("tests/deps.sh rest: %s" % e)
            if rc:
                break
            if pid and not os.path.exists("/proc/%d" % pid):
                with open(path) as f:
                    rc = f.read().strip()
                if not rc:
                    rc = "nothing (it was killed)"
                break
            harness.check(time.time() - t0 < DEPS_TIMEOUT,
                          "tests/deps.sh rest still running after %ds" % DEPS_TIMEOUT)
            if time.time() - said >= 60:
                print("deps: installing the rest beside the build (%s)" % mmss(time.time() - t0),
                      flush=True)
                said = time.time()
            time.sleep(1)
        else:
            return
        log = ""
        if os.path.exists(path + ".log"):
            with open(path + ".log", errors="replace") as f:
                log = f.read()[-3000:]
        for f in (path, path + ".log"):
            if os.path.exists(f):
                os.remove(f)
        if rc != "0":
            raise harness.TestFailure("tests/deps.sh rest exited %s:\n%s" % (rc, log))
    finally:
        DEPS_READY.set()


def mmss(seconds):
    return "%dm%02ds" % (seconds // 60, seconds % 60)


JOBS = max(1, int(os.environ.get("JOBS", "2")))


class Output:
    """sys.stdout while tests run side by side: what a test prints is kept
    and printed whole, with its PASS or FAIL line, when it ends."""

    def __init__(self, real):
        self.real = real
        self.lock = threading.Lock()

    def write(self, text):
        out = getattr(harness.current, "out", None)
        if out is not None:
            out.append(text)
            return len(text)
        with self.lock:
            return self.real.write(text)

    def flush(self):
        if getattr(harness.current, "out", None) is None:
            self.real.flush()

    def block(self, text):
        """Print @text at once, in one piece."""
        with self.lock:
            self.real.write(text)
            self.real.flush()


class Runner:
    """Runs tests and counts them; run() may be called from many threads."""

    def __init__(self, out):
        self.passed = self.failed = 0
        self.pattern = re.compile(os.environ.get("TESTS", ""))
        self.failures = []
        self.out = out
        self.lock = threading.Lock()
        # the processes of the tests that run now, by test
        self.active = {}

    def stop(self):
        """Kill what the running tests started (the runner is stopping)."""
        with self.lock:
            active = list(self.active.values())
        for procs in active:
            stop_procs(procs)

    def wanted(self, name):
        return bool(self.pattern.search(name))

    def fail(self, name, why, printed=""):
        with self.lock:
            self.failed += 1
            self.failures.append(name)
        self.out.block("%sFAIL %s\n    %s\n" % (printed, name, why.replace("\n", "\n    ")))

    def run(self, name, fn, *args):
        """Run one test on a thread of its own, within TEST_TIMEOUT: one
        that overruns has its QEMU and GDB stopped under it, which ends
        every wait it is in."""
        if not self.wanted(name):
            return None
        t0 = time.time()
        box = {}

        def body():
            harness.current.procs = procs
            harness.current.out = out
            try:
                box["result"] = fn(*args)
            except (harness.TestFailure, subprocess.CalledProcessError) as e:
                box["why"] = str(e)
            except Exception:
                box["why"] = traceback.format_exc()

        procs, out = [], []
        with self.lock:
            self.active[name] = procs
        t = threading.Thread(target=body, name=name, daemon=True)
        t.start()
        limit = max(TEST_TIMEOUT, getattr(fn, "timeout", 0))
        t.join(limit)
        overran = t.is_alive()
        if overran:
            stop_procs(procs)
            t.join(30)
        dt = time.time() - t0
        # a test's guests are all gone when it ends, or they spin on beside
        # the tests after it
        left = [p.pid for kind, p in procs if kind == "qemu" and p.poll() is None]
        stop_procs(procs)
        with self.lock:
            del self.active[name]
        ok = "result" in box and not overran
        why = box.get("why", "")
        if overran:
            why = "test took longer than %ds%s" % (limit, "; " + why if why else "")
        elif left and ok:
            ok, why = False, "the test left QEMU running: %s" % left
        if ok:
            with self.lock:
                self.passed += 1
            self.out.block("%sPASS %s (%.0fs)\n" % ("".join(out), name, dt))
        else:
            self.fail("%s (%.0fs)" % (name, dt), why, "".join(out))
        return box["result"] if ok else False


def stop_procs(procs):
    for kind, p in procs:
        if p.poll() is None and kind == "group":
            # a process group of its own (tools/kstub-fresh with its
            # chroot): asked first, so that it unmounts what it mounted
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def host_tests():
    exe = os.path.join(ROOT, "build", "host", "test_rsp")
    os.makedirs(os.path.dirname(exe), exist_ok=True)
    src = [os.path.join(ROOT, p) for p in
           ("tests/host/test_rsp.c", "stub/packet.c", "stub/rsp.c", "stub/bp.c",
            "stub/tdesc.c")]
    harness.run(["cc", "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
                 "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                 "-o", exe] + src)
    r = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    harness.check(r.returncode == 0, r.stdout)


def fuzz_smoke():
    """make fuzz's harnesses built and run for a few seconds each from the
    committed seeds, so that they cannot rot (the long run is make fuzz)."""
    r = subprocess.run([os.path.join(HERE, "fuzz", "run.sh"), "smoke"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("    " + r.stdout.strip().replace("\n", "\n    "))
    harness.check(r.returncode == 0, "tests/fuzz/run.sh smoke failed")


def console_patterns():
    """What the guest console checks take for a complaint, on lines kstub
    prints when all is well and lines it prints when not."""
    fine = ["kstub: breakpoint at virtqueue_dma_mapping_error+0x0/0x30 taken out: "
            "kstub runs that code itself",
            "kstub: module verification failed: signature and/or required key missing - "
            "tainting kernel",
            "kstub: ready on uart (16550 at 0x3f8)"]
    bad = ["kstub: virtio: find_vqs error -22", "kstub: uart: probe failed",
           "WARNING: CPU: 1 PID: 52 at kernel/smp.c:912", "BUG: KASAN: slab-out-of-bounds"]
    def complains(line):
        return any(re.search(p, line) for p in harness.BAD_CONSOLE)
    wrong = ["taken for a complaint: " + l for l in fine if complains(l)]
    wrong += ["not taken for a complaint: " + l for l in bad if not complains(l)]
    harness.check(not wrong, "\n".join(wrong))


def docs_tests():
    """Every Documentation/*.rst is valid reST: docutils, warnings as errors.
    Plain docutils, so no Sphinx directives (toctree): files link to each
    other with plain reST links."""
    tool = shutil.which("rst2pseudoxml")
    harness.check(tool, "no rst2pseudoxml: install python3-docutils (tests/deps.sh)")
    docs = sorted(glob.glob(os.path.join(ROOT, "Documentation", "*.rst")))
    harness.check(docs, "no Documentation/*.rst")
    bad = []
    for doc in docs:
        r = subprocess.run([tool, "--report=warning", "--exit-status=warning", doc, os.devnull],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode or r.stdout.strip():
            bad.append(r.stdout.strip() or "%s: rst2pseudoxml exited %d" % (doc, r.returncode))
    harness.check(not bad, "\n".join(bad))


class Plan:
    """One test kernel: what to build, the tests to run on it, and the times."""

    def __init__(self, kver, arch, variant, runs):
        self.kver, self.arch, self.variant, self.runs = kver, arch, variant, runs
        self.name = "/".join(filter(None, (kver, arch, variant)))
        self.kernel = None
        self.error = None
        self.done = threading.Event()
        self.build_start = self.build_end = None
        # who may touch these: the workers, under Pool.lock
        self.wanted_at = None
        self.first_start = self.last_end = None
        self.reported = False

    @property
    def waited(self):
        if self.wanted_at is None or self.build_end is None:
            return 0.0
        return max(0.0, self.build_end - self.wanted_at)

    @property
    def test_time(self):
        return (self.last_end - self.first_start) if self.first_start else 0.0


class Builder(threading.Thread):
    """Builds the plans' kernels one after another, niced, so that the tests
    of a kernel already built run at full speed beside the next build."""

    def __init__(self, plans):
        threading.Thread.__init__(self, daemon=True)
        self.plans = plans
        self.lock = threading.Lock()
        self.proc = None
        self.stopping = False
        # set while a kernel compiles (not while one already built is
        # brought up to date): the builds are then the run's critical path
        self.compiling = threading.Event()

    def stop(self):
        """Kill the build that runs now, with everything it started."""
        with self.lock:
            self.stopping = True
            proc = self.proc
        if proc and proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    pass

    def run(self):
        for p in self.plans:
            p.build_start = time.time()
            try:
                if self.stopping:
                    raise harness.TestFailure("the runner stopped first")
                kdir = self.build_kernel(p)
                DEPS_READY.wait()
                k = harness.Kernel(p.kver, p.arch, kdir, p.variant)
                k.build_modules()
                k.build_initramfs()
                p.kernel = k
            except Exception as e:
                p.error = (str(e) if isinstance(e, harness.TestFailure)
                           else traceback.format_exc())
            p.build_end = time.time()
            p.done.set()

    def build_kernel(self, p):
        logs = os.path.join(harness.BUILD, "logs")
        os.makedirs(logs, exist_ok=True)
        log_path = os.path.join(logs, "kernel-%s.log" % p.name.replace("/", "-"))
        t0 = time.time()
        with open(log_path, "w") as log, self.lock:
            if self.stopping:
                raise harness.TestFailure("the runner stopped first")
            # a session of its own: a stop takes make and every compiler with it
            self.proc = subprocess.Popen(
                ["nice", "-n", "19", os.path.join(HERE, "qemu", "kernel.sh"),
                 p.kver, p.arch, p.variant],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                start_new_session=True)
        proc = self.proc
        timer = threading.Timer(BUILD_TIMEOUT, self.stop)
        timer.start()
        try:
            with open(log_path, "a") as log:
                for line in proc.stderr:
                    log.write(line)
                    log.flush()
                    if line.startswith(("kernel.sh: unpacking", "kernel.sh: starting",
                                        "kernel.sh: configuring")):
                        self.compiling.set()
                    if line.startswith("kernel.sh:"):
                        print("build %s: %s (%s)" % (p.name, line[len("kernel.sh:"):].strip(),
                                                     mmss(time.time() - t0)), flush=True)
            out = proc.stdout.read().strip()
            rc = proc.wait()
        finally:
            timer.cancel()
            self.compiling.clear()
        if rc:
            with open(log_path, errors="replace") as f:
                tail = f.read()[-4000:]
            why = ("killed after %ds (KSTUB_BUILD_TIMEOUT)" % BUILD_TIMEOUT
                   if time.time() - t0 >= BUILD_TIMEOUT else "exited %d" % rc)
            raise harness.TestFailure("kernel build %s; log %s ends:\n%s" % (why, log_path, tail))
        print("build %s: ready (%s)" % (p.name, mmss(time.time() - t0)), flush=True)
        return out


class Pool:
    """JOBS workers take the tests in the plans' order, each test as soon
    as its kernel is built, so that two guests run side by side (a test
    waits for a guest, GDB or a packet much of its time; one at a time
    left a third of this 2-core machine idle). Within a group, one at a
    time: the stock tests (they come first, having no build to wait for)
    share the stock kernels' build directories and DKMS's state, and two
    debug kernels (KASAN, lockdep) side by side boot so slowly that their
    consoles stay silent for minutes."""

    def __init__(self, runner, plans, builder):
        self.r = runner
        self.builder = builder
        self.lock = threading.Lock()
        self.queue = [(p, run) for p in plans for run in p.runs]
        self.stock = plans[0]
        self.busy = set()
        self.changed = threading.Condition(self.lock)

    def group(self, p):
        return "stock" if p is self.stock else p.variant if p.variant == "debug" else None

    def take(self):
        """The first test in the queue that may start now, waiting while
        there is none; None once the queue is empty. A debug-kernel test
        whose kernel is built goes first: those run one at a time, the
        longest chain of the run, and left to their turn in the plans'
        order they ran alone at its end (a warm run took 37 minutes, with
        the one 6.1 arm64 debug boot in four that hangs)."""
        with self.lock:
            while self.queue:
                ready = [i for i, (p, _) in enumerate(self.queue)
                         if self.group(p) == "debug" and p.done.is_set()]
                for i in ready + list(range(len(self.queue))):
                    p = self.queue[i][0]
                    g = self.group(p)
                    if g is None or g not in self.busy:
                        if g:
                            self.busy.add(g)
                        return self.queue.pop(i)
                self.changed.wait()
            return None, None

    def worker(self, first):
        while True:
            # While a kernel compiles, one test at a time: the builds are
            # the critical path of a cold run, and a second guest beside
            # a niced build took most of its CPU (a cold run's arm64
            # builds took half as long again).
            while not first and self.builder.compiling.is_set() and self.queue:
                time.sleep(1)
            p, run = self.take()
            if p is None:
                return
            try:
                self.one(p, run)
            finally:
                with self.lock:
                    self.busy.discard(self.group(p))
                    self.changed.notify_all()

    def one(self, p, run):
        """Run one test once its kernel is built."""
        name, tr, t = run
        with self.lock:
            if p.wanted_at is None:
                p.wanted_at = time.time()
        p.done.wait()
        if p.error:
            with self.lock:
                report, p.reported = not p.reported, True
            if report:
                self.r.fail(p.name + "/build", p.error)
            self.r.fail(name, "kernel did not build")
            return
        with self.lock:
            p.first_start = p.first_start or time.time()
        if p is self.stock:
            self.r.run(name, t)
        else:
            self.r.run(name, t, p.kernel.over(tr), name.replace("/", "_"))
        with self.lock:
            p.last_end = time.time()

    def run(self):
        workers = [threading.Thread(target=self.worker, args=(i == 0,), daemon=True)
                   for i in range(JOBS)]
        for w in workers:
            w.start()
        # joined with a timeout, so that a signal still reaches this thread
        for w in workers:
            while w.is_alive():
                w.join(1)


def plan_kernels(r, kvers, arches):
    """The kernels the selected tests need, in the order they run."""
    plans = []

    def add(kver, arch, variant, runs):
        runs = [(n, tr, t) for n, tr, t in runs if r.wanted(n)]
        if runs:
            plans.append(Plan(kver, arch, variant, runs))

    def over(t, arch, kver):
        if FULL or t.transport:
            return TRANSPORTS[arch]
        return [ONE_TRANSPORT[kver]]

    for arch in arches:
        for kver in kvers:
            prefix = "%s/%s/" % (kver, arch)
            add(kver, arch, "", [((prefix + "virtio/" if tr == "virtio" else prefix) + t.__name__,
                                  tr, t)
                                 for t in registry.tests(registry.PLAIN, arch)
                                 for tr in over(t, arch, kver)]
                + [(prefix + "tty/" + t.__name__, "tty", t)
                   for t in registry.tests(registry.SHARED, arch)])
            # the same kernel with kgdb: kstub over tty=, beside kgdb; on
            # the debug kernel (kgdb and the checkers) where the run has it
            if FULL or DEBUG_KERNEL.get(arch) == kver:
                # the checkers' tests over the UART (they are not about the
                # transport), then the kgdb ones over tty=
                add(kver, arch, "debug",
                    [(prefix + "debug/" + t.__name__, "uart", t)
                     for t in registry.tests(registry.DEBUG, arch)]
                    + [(prefix + "debug/tty/" + t.__name__, "tty", t)
                       for t in registry.tests(registry.KGDB, arch)])
            elif kver in KGDB_KERNEL[arch]:
                add(kver, arch, "kgdb", [(prefix + "kgdb/" + t.__name__, "tty", t)
                                         for t in registry.tests(registry.KGDB, arch)])
            # the same kernel with kstub built in
            add(kver, arch, "builtin",
                [((prefix + "builtin/virtio/" if tr == "virtio" else prefix + "builtin/")
                  + t.__name__, tr, t)
                 for t in registry.tests(registry.BUILTIN, arch)
                 for tr in over(t, arch, kver)])
    return plans


def main():
    t_start = time.time()
    sys.stdout = Output(sys.stdout)
    r = Runner(sys.stdout)
    kvers = os.environ.get("KVER", "").split() or KVERS
    arches = os.environ.get("ARCH", "").split() or ARCHES
    # ours, not the kernel's: each build names its own ARCH
    os.environ.pop("ARCH", None)
    plans = plan_kernels(r, kvers, arches)
    builder = Builder(plans)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, lambda s, f: (builder.stop(), sys.exit(128 + s)))
    # builds first: they are the long pole, and run beside the tests
    builder.start()
    phases = []
    if os.environ.get("KSTUB_DEPS_SECONDS"):
        phases.append(("deps: what the builds need", float(os.environ["KSTUB_DEPS_SECONDS"])))
    t0 = time.time()
    # kernel.sh's own test goes with them: one at a time, beside the kernels' tests
    beside = ([("stock/" + t.__name__, t) for t in test_stock.TESTS] +
              [("host/" + t.__name__, t) for t in test_kernel_build.TESTS])
    stock = Plan("stock", "", "", [(n, None, t) for n, t in beside if r.wanted(n)])
    stock.name = "stock kernels, kernel.sh stopped"
    stock.done.set()
    try:
        deps = True
        try:
            wait_deps()
        except harness.TestFailure as e:
            # nothing can run without the packages: stop here, as deps.sh did
            r.fail("deps", str(e))
            deps = False
        phases.append(("deps: the rest, beside the build", time.time() - t0))
        if deps:
            t0 = time.time()
            r.run("host/rsp", host_tests)
            r.run("host/docs", docs_tests)
            for t in test_readme.TESTS:
                r.run("host/" + t.__name__, t)
            r.run("host/console", console_patterns)
            r.run("host/fuzz", fuzz_smoke)
            phases.append(("host tests", time.time() - t0))
            Pool(r, [stock] + plans, builder).run()
    finally:
        builder.stop()
        r.stop()
    return summary(r, phases, plans, stock, t_start)


def summary(r, phases, plans, stock, t_start):
    """The table of phases and the count; what the run exits with."""
    print("\nphases (wall clock; builds run beside the tests of the kernels before them):")
    for what, dt in phases:
        print("  %-34s %s" % (what, mmss(dt)))
    for p in plans:
        built = (p.build_end or time.time()) - (p.build_start or time.time())
        print("  %-34s build %s (tests waited %s), tests %s (%d)" % (
            p.name, mmss(built), mmss(p.waited), mmss(p.test_time), len(p.runs)))
    print("  %-34s tests %s (%d, beside the first kernels' tests and builds)"
          % (stock.name, mmss(stock.test_time), len(stock.runs)))
    print("  %-34s %s" % ("total (runner)", mmss(time.time() - t_start)))
    if r.failures:
        print("failed: " + " ".join(r.failures))
    print("%d passed, %d failed" % (r.passed, r.failed))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
