# SPDX-License-Identifier: GPL-2.0
"""kernel.sh stopped at any point leaves nothing that passes for usable.

The runner stops a build by killing its process group (a run that ends,
a build over KSTUB_BUILD_TIMEOUT). Whatever the build was doing then, no
process of it may be left, and the cache may not hold a half-made tree
that a later run takes as made: no .kstub-done, no .kstub-unpacked on a
half-unpacked source, no .kstub-copied on a half-copied variant. The next
run starts that step over. Run against a cache of its own (KSTUB_CACHE),
with Debian's 6.1 source, beside the kernels' tests."""
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from harness import TestFailure, check

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL_SH = os.path.join(HERE, "kernel.sh")
KVER, ARCH = "6.1", "x86_64"
TARBALL = "/usr/src/linux-source-%s.tar.xz" % KVER


def build_dir(cache, variant=""):
    """Where kernel.sh builds @variant: its key is the config fragments and
    the tarball's size, as kernel.sh computes it."""
    frags = ["%s.config" % ARCH] + {"": [], "kgdb": ["kgdb.config"]}[variant]
    h = hashlib.sha256()
    for f in frags:
        with open(os.path.join(HERE, "configs", f), "rb") as fd:
            h.update(fd.read())
    h.update(b"%d\n" % os.path.getsize(TARBALL))
    name = "-".join(filter(None, (KVER, ARCH, variant, h.hexdigest()[:12])))
    return os.path.join(cache, "build", name)


def group_gone(pgid, timeout=20):
    """Whether every process of the group has exited within @timeout s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def stopped_at(cache, variant, line, after):
    """Run kernel.sh on @cache; @after s after it prints a line starting
    with "kernel.sh: @line", SIGTERM its process group, as the runner
    does. Check that no process is left; return the lines it printed."""
    p = subprocess.Popen([KERNEL_SH, KVER, ARCH] + ([variant] if variant else []),
                         env=dict(os.environ, KSTUB_CACHE=cache), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    # a step that never comes must not hang the run
    guard = threading.Timer(600, lambda: os.killpg(p.pid, signal.SIGKILL))
    guard.start()
    lines = []
    try:
        for out in p.stderr:
            lines.append(out)
            if out.startswith("kernel.sh: " + line):
                break
        else:
            raise TestFailure("kernel.sh exited (%s) before '%s':\n%s"
                              % (p.wait(), line, "".join(lines[-20:])))
        time.sleep(after)
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        left = not group_gone(p.pid)
        if left:
            ps = subprocess.run(["ps", "-o", "pid,args", "-g", str(p.pid)],
                                stdout=subprocess.PIPE, text=True).stdout
            os.killpg(p.pid, signal.SIGKILL)
            raise TestFailure("stopped at '%s': processes left:\n%s" % (line, ps))
    finally:
        guard.cancel()
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    return "".join(lines)


def said(lines, what):
    return ("kernel.sh: " + what) in lines


def fake_plain_build(out, files=40000):
    """A plain build marked made, many small files: a variant's copy of it
    takes long enough to be stopped in the middle."""
    shutil.rmtree(out, ignore_errors=True)
    for i in range(files // 1000):
        d = os.path.join(out, "d%02d" % i)
        os.makedirs(d)
        for j in range(1000):
            with open(os.path.join(d, "f%d" % j), "w") as f:
                f.write("x" * 64)
    open(os.path.join(out, ".kstub-done"), "w").close()


def test_kernel_sh_stopped():
    """Stopped in the unpack, the configure, the compile and a variant's
    copy, kernel.sh leaves no process and no step marked done that was not;
    the next run does that step again."""
    check(os.path.exists(TARBALL), TARBALL + " missing (tests/deps.sh installs it)")
    cache = tempfile.mkdtemp(prefix="kstub-stopped-", dir="/var/tmp")
    src = os.path.join(cache, "src", "linux-source-" + KVER)
    plain, kgdb = build_dir(cache), build_dir(cache, "kgdb")
    try:
        stopped_at(cache, "", "unpacking", 2)
        check(not os.path.exists(os.path.join(src, ".kstub-unpacked")),
              "a source stopped half unpacked is marked unpacked")

        lines = stopped_at(cache, "", "configuring", 1)
        check(said(lines, "unpacking"), "the next run did not unpack again:\n" + lines)
        check(os.path.exists(os.path.join(src, ".kstub-unpacked")),
              "the source unpacked in full is not marked")
        check(not os.path.exists(os.path.join(plain, ".kstub-done")),
              "a build stopped in its configure is marked done")

        lines = stopped_at(cache, "", "building", 8)
        check(not said(lines, "unpacking"), "a source marked unpacked was unpacked again")
        check(said(lines, "configuring"), "the run after a stopped configure did not configure")
        check(os.path.exists(os.path.join(plain, ".config")), "the compile never started")
        check(not os.path.exists(os.path.join(plain, ".kstub-done")),
              "a build stopped in its compile is marked done")
        lines = stopped_at(cache, "", "configuring", 0)
        check(said(lines, "configuring"), "the run after a stopped compile did not build")

        fake_plain_build(plain)
        stopped_at(cache, "kgdb", "starting kgdb", 0.3)
        check(os.path.exists(kgdb + ".tmp"), "the variant's copy was not stopped in the middle")
        check(not os.path.exists(os.path.join(kgdb, ".kstub-copied")),
              "a variant stopped in its copy is marked copied")
        check(not os.path.exists(os.path.join(kgdb, ".kstub-done")),
              "a variant stopped in its copy is marked done")
        lines = stopped_at(cache, "kgdb", "configuring", 0)
        check(said(lines, "starting kgdb"), "the next run did not copy again:\n" + lines)
        check(os.path.exists(os.path.join(kgdb, ".kstub-copied")), "the copy is not marked")
        check(not os.path.exists(kgdb + ".tmp"), "the half copy is still there")
        check(not os.path.exists(os.path.join(kgdb, ".kstub-done")),
              "the variant took the plain build's .kstub-done")
        n = sum(len(f) for _, _, f in os.walk(kgdb))
        check(n >= 40000, "the variant holds %d files of the plain build's 40001" % n)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


TESTS = [test_kernel_sh_stopped]
