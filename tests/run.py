#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kstub's test runner: host unit tests, then end-to-end tests per kernel.

Environment: KVER (6.1, 6.12; default both), ARCH (x86_64; default all
supported), TESTS (a regular expression matched against test names such
as 6.12/x86_64/test_oops_entry or host/rsp). Ends with 'N passed, N failed'.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "qemu"))

import harness  # noqa: E402
import test_e2e  # noqa: E402
import test_stock  # noqa: E402

KVERS = ["6.1", "6.12"]
ARCHES = ["x86_64", "arm64"]
# every scenario over kstub's UART, and again over its virtio console
TRANSPORTS = {"x86_64": ["uart", "virtio"], "arm64": ["uart", "virtio"]}
TEST_TIMEOUT = 420


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

    def run(self, name, fn, *args, force=False):
        if not force and not self.wanted(name):
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
        if ok:
            self.passed += 1
            print("PASS %s (%.0fs)" % (name, dt), flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print("FAIL %s (%.0fs)\n    %s" % (name, dt, why.replace("\n", "\n    ")), flush=True)
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


def build_kernel(kver, arch, variant=""):
    r = subprocess.run([os.path.join(HERE, "qemu", "kernel.sh"), kver, arch, variant],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    harness.check(r.returncode == 0, "kernel build failed:\n" + r.stderr[-4000:])
    k = harness.Kernel(kver, arch, r.stdout.strip(), variant)
    k.build_modules()
    k.build_initramfs()
    return k


def run_kernel(r, prefix, runs, kver, arch, variant=""):
    if not any(r.wanted(n) for n in [n for n, _, _ in runs] + [prefix + "build"]):
        return
    # the build is a test of its own, and runs whenever its kernel's tests do
    k = r.run(prefix + "build", build_kernel, kver, arch, variant, force=True)
    for name, tr, t in runs:
        if not k:
            if r.wanted(name):
                r.failed += 1
                print("FAIL %s (kernel did not build)" % name)
            continue
        r.run(name, t, k.over(tr), name.replace("/", "_"))


def main():
    r = Runner()
    r.run("host/rsp", host_tests)
    r.run("host/docs", docs_tests)
    kvers = os.environ.get("KVER", "").split() or KVERS
    arches = os.environ.get("ARCH", "").split() or ARCHES
    # ours, not the kernel's: each build names its own ARCH
    os.environ.pop("ARCH", None)
    for arch in arches:
        for kver in kvers:
            prefix = "%s/%s/" % (kver, arch)
            tests = test_e2e.TESTS + test_e2e.ARCH_TESTS[arch]
            runs = [((prefix + "virtio/" if tr == "virtio" else prefix) + t.__name__, tr, t)
                    for tr in TRANSPORTS[arch] for t in tests]
            run_kernel(r, prefix, runs, kver, arch)
            # the same kernel with kgdb: kstub over tty=, beside kgdb
            runs = [(prefix + "kgdb/" + t.__name__, "tty", t) for t in test_e2e.KGDB_TESTS]
            run_kernel(r, prefix + "kgdb/", runs, kver, arch, "kgdb")
            # the same kernel with kstub built in
            runs = [((prefix + "builtin/virtio/" if tr == "virtio" else prefix + "builtin/")
                     + t.__name__, tr, t) for tr in TRANSPORTS[arch] for t in test_e2e.BUILTIN_TESTS]
            run_kernel(r, prefix + "builtin/", runs, kver, arch, "builtin")
    for t in test_stock.TESTS:
        r.run("stock/" + t.__name__, t)
    if r.failures:
        print("failed: " + " ".join(r.failures))
    print("%d passed, %d failed" % (r.passed, r.failed))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
