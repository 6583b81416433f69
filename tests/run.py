#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kstub's test runner: host unit tests, then end-to-end tests per kernel.

Environment: KVER (6.1, 6.12; default both), ARCH (x86_64; default all
supported), TESTS (a regular expression matched against test names such
as 6.12/x86_64/test_oops_entry or host/rsp), FULL=1 (every scenario over
every transport; by default a scenario in which the transport plays no
part runs over one of them per kernel). Ends with 'N passed, N failed'.

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
import test_e2e  # noqa: E402
import test_safety  # noqa: E402
import test_stock  # noqa: E402

KVERS = ["6.1", "6.12"]
ARCHES = ["x86_64", "arm64"]
# every transport-dependent scenario over kstub's UART and its virtio console
TRANSPORTS = {"x86_64": ["uart", "virtio"], "arm64": ["uart", "virtio"]}
# where the transport plays no part, one per kernel, so both are exercised
ONE_TRANSPORT = {"6.1": "virtio", "6.12": "uart"}
# the debug build (lockdep, KASAN) rebuilds nearly the whole kernel: by
# default one per architecture, so that both versions have one; FULL=1 all
DEBUG_KERNEL = {"x86_64": "6.12", "arm64": "6.1"}
TEST_TIMEOUT = 420
BUILD_TIMEOUT = int(os.environ.get("KSTUB_BUILD_TIMEOUT", "3600"))
FULL = os.environ.get("FULL", "") not in ("", "0")


def mmss(seconds):
    return "%dm%02ds" % (seconds // 60, seconds % 60)


def leftover_guests():
    """The QEMU guests this runner started that still run, stopped now: a
    test's guests are all gone when it ends, or they spin on beside the
    tests after it."""
    left = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)
            comm = fields[0].split("(", 1)[1]
            state, ppid = fields[1].split()[:2]
        except (OSError, IndexError, ValueError):
            continue
        if int(ppid) == os.getpid() and comm.startswith("qemu-system") and state != "Z":
            pid = int(stat.split("/")[2])
            left.append(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return left


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout("test took longer than %ds" % TEST_TIMEOUT)


class Runner:
    def __init__(self):
        self.passed = self.failed = 0
        self.pattern = re.compile(os.environ.get("TESTS", ""))
        self.failures = []

    def wanted(self, name):
        return bool(self.pattern.search(name))

    def fail(self, name, why):
        self.failed += 1
        self.failures.append(name)
        print("FAIL %s\n    %s" % (name, why.replace("\n", "\n    ")), flush=True)

    def run(self, name, fn, *args):
        if not self.wanted(name):
            return None
        t0 = time.time()
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TEST_TIMEOUT)
        try:
            result = fn(*args)
            ok, why = True, ""
        except (harness.TestFailure, Timeout, subprocess.CalledProcessError) as e:
            ok, why, result = False, str(e), None
        except Exception:
            ok, why, result = False, traceback.format_exc(), None
        finally:
            signal.alarm(0)
        dt = time.time() - t0
        left = leftover_guests()
        if left and ok:
            ok, why = False, "the test left QEMU running: %s" % left
        if ok:
            self.passed += 1
            print("PASS %s (%.0fs)" % (name, dt), flush=True)
        else:
            self.fail("%s (%.0fs)" % (name, dt), why)
        return result if ok else False


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
        self.waited = 0.0
        self.test_time = 0.0


class Builder(threading.Thread):
    """Builds the plans' kernels one after another, niced, so that the tests
    of a kernel already built run at full speed beside the next build."""

    def __init__(self, plans):
        threading.Thread.__init__(self, daemon=True)
        self.plans = plans
        self.lock = threading.Lock()
        self.proc = None
        self.stopping = False

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
                    if line.startswith("kernel.sh:"):
                        print("build %s: %s (%s)" % (p.name, line[len("kernel.sh:"):].strip(),
                                                     mmss(time.time() - t0)), flush=True)
            out = proc.stdout.read().strip()
            rc = proc.wait()
        finally:
            timer.cancel()
        if rc:
            with open(log_path, errors="replace") as f:
                tail = f.read()[-4000:]
            why = ("killed after %ds (KSTUB_BUILD_TIMEOUT)" % BUILD_TIMEOUT
                   if time.time() - t0 >= BUILD_TIMEOUT else "exited %d" % rc)
            raise harness.TestFailure("kernel build %s; log %s ends:\n%s" % (why, log_path, tail))
        print("build %s: ready (%s)" % (p.name, mmss(time.time() - t0)), flush=True)
        return out


def plan_kernels(r, kvers, arches):
    """The kernels the selected tests need, in the order they run."""
    plans = []

    def add(kver, arch, variant, runs):
        runs = [(n, tr, t) for n, tr, t in runs if r.wanted(n)]
        if runs:
            plans.append(Plan(kver, arch, variant, runs))

    def over(t, arch, kver):
        if FULL or t in test_e2e.TRANSPORT_TESTS:
            return TRANSPORTS[arch]
        return [ONE_TRANSPORT[kver]]

    for arch in arches:
        for kver in kvers:
            prefix = "%s/%s/" % (kver, arch)
            tests = test_e2e.TESTS + test_e2e.ARCH_TESTS[arch] + test_safety.TESTS
            add(kver, arch, "", [((prefix + "virtio/" if tr == "virtio" else prefix) + t.__name__,
                                  tr, t) for t in tests for tr in over(t, arch, kver)])
            # the same kernel with kgdb: kstub over tty=, beside kgdb
            add(kver, arch, "kgdb", [(prefix + "kgdb/" + t.__name__, "tty", t)
                                     for t in test_e2e.KGDB_TESTS])
            # the same kernel with kstub built in
            add(kver, arch, "builtin",
                [((prefix + "builtin/virtio/" if tr == "virtio" else prefix + "builtin/")
                  + t.__name__, tr, t)
                 for t in test_e2e.BUILTIN_TESTS + test_safety.BUILTIN_TESTS
                 for tr in over(t, arch, kver)])
            # the same kernel with lockdep, atomic-sleep checks and KASAN,
            # over the UART (the checkers are not about the transport)
            if FULL or DEBUG_KERNEL[arch] == kver:
                add(kver, arch, "debug", [(prefix + "debug/" + t.__name__, "uart", t)
                                          for t in test_safety.DEBUG_TESTS])
    return plans


def main():
    t_start = time.time()
    r = Runner()
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
        phases.append(("deps (tests/deps.sh)", float(os.environ["KSTUB_DEPS_SECONDS"])))
    t0 = time.time()
    r.run("host/rsp", host_tests)
    r.run("host/docs", docs_tests)
    r.run("host/fuzz", fuzz_smoke)
    phases.append(("host tests", time.time() - t0))
    try:
        for p in plans:
            t0 = time.time()
            p.done.wait()
            p.waited = time.time() - t0
            if p.error:
                r.fail(p.name + "/build", p.error)
                for name, _, _ in p.runs:
                    r.fail(name, "kernel did not build")
                continue
            t0 = time.time()
            for name, tr, t in p.runs:
                r.run(name, t, p.kernel.over(tr), name.replace("/", "_"))
            p.test_time = time.time() - t0
    finally:
        builder.stop()
    t0 = time.time()
    for t in test_stock.TESTS:
        r.run("stock/" + t.__name__, t)
    phases.append(("stock kernel tests", time.time() - t0))

    print("\nphases (wall clock; builds run beside the tests of the kernels before them):")
    for what, dt in phases[:-1]:
        print("  %-34s %s" % (what, mmss(dt)))
    for p in plans:
        built = (p.build_end or time.time()) - (p.build_start or time.time())
        print("  %-34s build %s (tests waited %s), tests %s (%d)" % (
            p.name, mmss(built), mmss(p.waited), mmss(p.test_time), len(p.runs)))
    print("  %-34s %s" % (phases[-1][0], mmss(phases[-1][1])))
    print("  %-34s %s" % ("total (runner)", mmss(time.time() - t_start)))
    if r.failures:
        print("failed: " + " ".join(r.failures))
    print("%d passed, %d failed" % (r.passed, r.failed))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
