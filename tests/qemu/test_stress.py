# SPDX-License-Identifier: GPL-2.0
"""Stress: breakpoints hit from every CPU at once, for as long as the run
allows, with nothing lost, doubled or hung (Documentation/testing.rst)."""
import re
import signal
import time

from harness import check, stress, wait_until
from registry import PLAIN, scenario
from session import Session, guest_alive, stop_location

# hits of the two breakpoints together: make check's short form, and
# STRESS=long's (some 30 a second under TCG)
STRESS_HITS = stress(1000, 10000)
# the shell loop's share: calls of its own, one of each function per write
SHELL_WRITES = STRESS_HITS // 8


def stress_calls(gdb):
    """How often the test module's two stress functions have run, as the
    stopped kernel counts them."""
    out = gdb.cmd("p kstub_test_stress_calls")
    calls = [int(n) for n in re.findall(r"counter = (\d+)", out)]
    check(len(calls) == 2, "cannot read the calls: " + out)
    return calls


def hit_counts(gdb):
    """GDB's hit count of breakpoints 1 and 2."""
    out = gdb.cmd("info breakpoints")
    hits, num = {}, None
    for line in out.splitlines():
        m = re.match(r"(\d+)\s+breakpoint\s", line.strip())
        if m:
            num = int(m.group(1))
        m = re.search(r"already hit (\d+) time", line)
        if m and num is not None:
            hits[num] = int(m.group(1))
    # a breakpoint never hit has no "already hit" line
    return [hits.get(1, 0), hits.get(2, 0)], out


def interrupt(s, cont, how):
    """Stop the running kernel by @how (SysRq-g or GDB's Ctrl-C) while
    the breakpoints are hit; GDB shows that stop, not a breakpoint's."""
    if how == "sysrq":
        seq = s.stop()
        out = s.gdb.end(cont, timeout=120)
        check("SIGTRAP" in out and "__handle_sysrq" in s.gdb.cmd("bt 8"),
              "SysRq-g during the hits: not its stop:\n" + out)
    else:
        seq = None
        s.gdb.p.send_signal(signal.SIGINT)
        out = s.gdb.end(cont, timeout=120)
        check("SIGINT" in out, "Ctrl-C during the hits: no SIGINT stop:\n" + out)
        stop_location(s, "Ctrl-C during the hits")
    threads = s.gdb.cmd("info threads")
    check("did not stop" not in threads, "a CPU did not stop:\n" + threads)
    cont = s.gdb.begin("continue")
    s.gdb.wait_printed("Continuing.")
    if seq is not None:
        s.g.finish(seq)
    return cont


@scenario(PLAIN)
def test_stress_hits(k, name):
    """Two breakpoints, ignored by GDB (it counts each hit and resumes), on
    two functions that a busy thread on each CPU calls one after the other
    and a shell loop calls too, STRESS_HITS hits in all, with a SysRq-g and
    a Ctrl-C in the middle: GDB's hit counts equal the kernel's calls,
    none lost or counted twice, and the kernel runs on."""
    with Session(k, name) as s:
        seq = s.attach()
        s.load_test_symbols()
        for n, fn in enumerate(("kstub_test_stress_a", "kstub_test_stress_b"), 1):
            s.break_at(fn)
            s.gdb.cmd("ignore %d 1000000000" % n)
        base = stress_calls(s.gdb)
        cont = s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        s.g.finish(seq)
        t0 = time.time()
        s.g.sh("echo 2 > /proc/kstub_test/busy")
        s.g.sh("(i=0; while [ $i -lt %d ]; do echo 1 > /proc/kstub_test/stress;"
               " i=$((i+1)); done) >/dev/null 2>&1 & echo $! > /tmp/loop" % SHELL_WRITES)

        def calls():
            return sum(int(n) for n in s.g.sh("cat /proc/kstub_test/stress").split()) - sum(base)
        for frac, how in ((3, "sysrq"), (2, "ctrl-c")):
            wait_until(lambda: calls() >= STRESS_HITS // frac,
                       "the breakpoints are hardly hit (%s)" % how, timeout=STRESS_HITS)
            cont = interrupt(s, cont, how)
        wait_until(lambda: calls() >= STRESS_HITS, "the breakpoints are hardly hit",
                   timeout=STRESS_HITS)
        # the threads end, and with them their last hits
        s.g.sh("echo 0 > /proc/kstub_test/busy", timeout=120)
        s.g.sh("while kill -0 $(cat /tmp/loop) 2>/dev/null; do usleep 100000; done",
               timeout=STRESS_HITS)
        took = time.time() - t0
        s.gdb.p.send_signal(signal.SIGINT)
        out = s.gdb.end(cont, timeout=120)
        check("SIGINT" in out, "no stop at the end:\n" + out)
        done = [c - b for c, b in zip(stress_calls(s.gdb), base)]
        hits, table = hit_counts(s.gdb)
        print("    %d calls, %d hits in %.0f s (%.0f a second): %s calls, %s hits"
              % (sum(done), sum(hits), took, sum(hits) / took, done, hits))
        check(hits == done, "GDB's hits differ from the kernel's calls: %s calls, %s hits\n%s"
              % (done, hits, table))
        check(sum(done) >= STRESS_HITS, "too few calls: %s" % done)
        s.gdb.cmd("delete")
        s.detach()
        guest_alive(s)
