# SPDX-License-Identifier: GPL-2.0
"""Stress: breakpoints hit from every CPU at once, for as long as the run
allows, with nothing lost, doubled or hung (Documentation/testing.rst)."""
import os
import random
import re
import signal
import time

from harness import check, stress, wait_until
from registry import PLAIN, scenario
from session import (PEEK_BYTES, Session, check_text_kept, guest_alive, kallsyms, peek, spawn,
                     stop_location, unspawn, wait_spawned)

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


def counting_breakpoints(s):
    """GDB attaches and puts a breakpoint on each of the two stress
    functions, which it ignores (it counts each hit and resumes), and
    the kernel runs on. Return the text at both (peek()'s), the calls so
    far, and the continue's sequence number."""
    funcs = ("kstub_test_stress_a", "kstub_test_stress_b")
    starts = [kallsyms(s, fn) for fn in funcs]
    before = peek(s, starts)
    seq = s.attach()
    s.load_test_symbols()
    for n, fn in enumerate(funcs, 1):
        addr = s.break_at(fn)
        check(0 <= addr - starts[n - 1] <= PEEK_BYTES - 4,
              "%s's breakpoint at %#x is past what peek reads" % (fn, addr))
        s.gdb.cmd("ignore %d 1000000000" % n)
    base = stress_calls(s.gdb)
    cont = s.gdb.begin("continue")
    s.gdb.wait_printed("Continuing.")
    s.g.finish(seq)
    return before, base, cont


def hits_are_calls(s, base):
    """At a stop, GDB's hit counts of breakpoints 1 and 2 must equal the
    calls of the two stress functions since @base: none lost or counted
    twice. Return the calls."""
    done = [c - b for c, b in zip(stress_calls(s.gdb), base)]
    hits, table = hit_counts(s.gdb)
    check(hits == done, "GDB's hits differ from the kernel's calls: %s calls, %s hits\n%s"
          % (done, hits, table))
    return done


def detach_clean(s, before, what):
    """GDB deletes its breakpoints and detaches; the kernel runs on, and
    the text @before (peek()'s) is as it was."""
    s.gdb.cmd("delete")
    s.detach()
    guest_alive(s)
    check_text_kept(s, before, what)


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
    check("taken out" not in out, "%s during the hits took a breakpoint out:\n%s" % (how, out))
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
        before, base, cont = counting_breakpoints(s)
        t0 = time.time()
        s.g.sh("echo 2 > /proc/kstub_test/busy")
        spawn(s, "loop", "i=0; while [ $i -lt %d ]; do echo 1 > /proc/kstub_test/stress;"
              " i=$((i+1)); done" % SHELL_WRITES)

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
        wait_spawned(s, "loop", timeout=STRESS_HITS)
        took = time.time() - t0
        s.gdb.p.send_signal(signal.SIGINT)
        out = s.gdb.end(cont, timeout=120)
        check("SIGINT" in out, "no stop at the end:\n" + out)
        done = hits_are_calls(s, base)
        print("    %d calls, as many hits, in %.0f s (%.0f a second): %s"
              % (sum(done), took, sum(done) / took, done))
        check(sum(done) >= STRESS_HITS, "too few calls: %s" % done)
        detach_clean(s, before, "stress")


# Ctrl-Cs among the hits of shell loops in user code
CTRL_C_ROUNDS = stress(8, 40)


@scenario(PLAIN)
def test_ctrl_c_among_hits(k, name):
    """GDB's Ctrl-C while two shell loops, one per CPU, spend most of their
    time in user code and call the breakpointed functions in between (GDB
    ignores the hits, counting them): the receive interrupt mostly comes
    from user code, where the stop must wait for an interrupt from the
    kernel's, and the CPU runs into a breakpoint meanwhile. Every Ctrl-C
    stops the kernel with SIGINT, no breakpoint is taken out, and GDB's
    hit counts equal the kernel's calls."""
    # 100 rounds of shell arithmetic a call: the kernel runs, in user
    # code mostly, much of the time, not stopped for GDB's count (with
    # 30, a Ctrl-C nearly always came while stopped, and never broke in)
    loop = ("rm -f /tmp/stop; while [ ! -e /tmp/stop ]; do i=0; while [ $i -lt 100 ];"
            " do i=$((i+1)); done; echo 1 > /proc/kstub_test/stress; done")
    with Session(k, name) as s:
        before, base, cont = counting_breakpoints(s)
        spawn(s, "user1", loop)
        spawn(s, "user2", loop)
        t0 = time.time()
        for _ in range(CTRL_C_ROUNDS):
            time.sleep(0.3)
            cont = interrupt(s, cont, "ctrl-c")
        s.g.sh("touch /tmp/stop")
        wait_spawned(s, "user1", timeout=60)
        wait_spawned(s, "user2", timeout=60)
        took = time.time() - t0
        s.gdb.p.send_signal(signal.SIGINT)
        out = s.gdb.end(cont, timeout=120)
        check("SIGINT" in out and "taken out" not in out, "the last Ctrl-C:\n" + out)
        done = hits_are_calls(s, base)
        print("    %d Ctrl-Cs among %d calls, as many hits, in %.0f s: %s"
              % (CTRL_C_ROUNDS, sum(done), took, done))
        check(min(done) >= CTRL_C_ROUNDS, "the loops hardly called: %s" % done)
        detach_clean(s, before, "ctrl-c")


# functions drawn at random from the kernel's text: make check's short
# form, and STRESS=long's; KSTUB_ROULETTE_SEED=N replays a run's draw
ROULETTE = stress(100, 1000)
ROULETTE_BATCH = 20
# how long a batch of breakpoints waits for its hits
ROULETTE_WAIT = 1.5


def kernel_functions(s, seed, n):
    """@n of the running kernel's functions, drawn with @seed from its
    text symbols in /proc/kallsyms (modules' left out): (address, name)."""
    count = int(s.g.sh("awk 'NF == 3 && ($2 == \"t\" || $2 == \"T\")' /proc/kallsyms | wc -l"))
    check(count > 1000, "few text symbols in kallsyms: %d" % count)
    picks = sorted(random.Random(seed).sample(range(count), n))
    funcs = []
    for i in range(0, n, 100):
        want = " ".join(str(p) for p in picks[i:i + 100])
        # n from 0: unset, it is "" as a subscript, and the first symbol
        # was never drawn (FULL=1 found that with seed 1254867786)
        out = s.g.sh("awk -v want='%s' 'BEGIN { n = 0; split(want, w, \" \"); "
                     "for (i in w) W[w[i]] = 1 }"
                     " NF == 3 && ($2 == \"t\" || $2 == \"T\") { if (n in W) print $1, $3; n++ }'"
                     " /proc/kallsyms" % want)
        funcs += [(int(a, 16), f) for a, f in re.findall(r"^([0-9a-f]{16}) (\S+)$", out, re.M)]
    check(len(funcs) == n, "drew %d functions, found %d" % (n, len(funcs)))
    return funcs


def roulette_batch(s, batch, tally):
    """Breakpoints on @batch, continue: each is refused by kstub (GDB
    cannot insert it) or hit and then deleted, or not hit within
    ROULETTE_WAIT s; then Ctrl-C, and all of them go."""
    gdb = s.gdb
    names = {}
    for addr, name in batch:
        out = gdb.cmd("break *%#x" % addr)
        m = re.search(r"Breakpoint (\d+) at", out)
        check(m, "GDB did not take break *%#x (%s): %s" % (addr, name, out))
        names[m.group(1)] = name
    deadline = time.time() + ROULETTE_WAIT
    while names:
        cont = gdb.begin("continue")
        # a SIGINT before GDB runs the command is GDB's "Quit" at its
        # prompt, and the continue after it runs on with no Ctrl-C
        gdb.wait_printed("Continuing.")
        out = gdb.ended(cont, max(0.1, deadline - time.time()))
        stopping = out is None
        if stopping:
            gdb.p.send_signal(signal.SIGINT)
            out = gdb.end(cont, timeout=60)
            if "SIGINT" in out:
                break
            # a hit came first, and kstub holds the Ctrl-C for the next
            # continue, as gdbserver does; GDB, interrupted as it printed
            # the frame ("Quit"), may have lost its selected thread
            tally["ctrl-c held"] = True
            m = re.search(r"Thread (\d+) .*hit Breakpoint", out)
            if m:
                gdb.cmd("thread %s" % m.group(1))
        elif "SIGINT" in out and tally.pop("ctrl-c held", False):
            continue
        refused = re.findall(r"Cannot insert breakpoint (\d+)", out)
        hit = re.search(r"Breakpoint (\d+), ", out)
        check(refused or (hit and hit.group(1) in names),
              "batch %s: an unexpected stop:\n%s" % (sorted(names.values()), out))
        for n in refused:
            tally["refused"].append(names.pop(n))
            gdb.cmd("delete %s" % n)
        if not refused:
            tally["hit"].append(names.pop(hit.group(1)))
            gdb.cmd("delete %s" % hit.group(1))
        if stopping or time.time() > deadline:
            break
    tally["not hit"] += names.values()
    gdb.cmd("delete")


@scenario(PLAIN)
def test_breakpoint_roulette(k, name):
    """Breakpoints on ROULETTE functions drawn at random from the kernel's
    text (the seed is printed: KSTUB_ROULETTE_SEED=N replays it), twenty at
    a time, with a busy thread on each CPU, a timer and a shell loop doing
    file and pipe I/O: each is refused or hit or quiet, never a hang, an
    oops or a warning, and the kernel runs on."""
    seed = int(os.environ.get("KSTUB_ROULETTE_SEED", "0")) or random.randrange(1, 1 << 31)
    print("    seed %d (KSTUB_ROULETTE_SEED=%d replays it)" % (seed, seed))
    with Session(k, name) as s:
        funcs = kernel_functions(s, seed, ROULETTE)
        # the kernel's init memory (its init code, and on x86 its exit
        # code: crypto's cryptomgr_exit) is freed now, written by others
        init = (kallsyms(s, "__init_begin"), kallsyms(s, "__init_end"))
        before = peek(s, [a for a, _ in funcs if not init[0] <= a < init[1]])
        s.g.sh("echo 1 > /proc/kstub_test/busy; echo 20000 > /proc/kstub_test/timer")
        spawn(s, "io", "while :; do cat /proc/version | wc -c > /tmp/io; ls / > /dev/null; done")
        s.attach_stopped()
        tally = {"hit": [], "refused": [], "not hit": []}
        for i in range(0, len(funcs), ROULETTE_BATCH):
            roulette_batch(s, funcs[i:i + ROULETTE_BATCH], tally)
        print("    %d functions: %d hit, %d refused, %d not hit; refused: %s"
              % (len(funcs), len(tally["hit"]), len(tally["refused"]), len(tally["not hit"]),
                 " ".join(tally["refused"][:20])))
        s.detach()
        unspawn(s, "io")
        s.g.sh("echo 0 > /proc/kstub_test/busy; echo 0 > /proc/kstub_test/timer")
        guest_alive(s)
        check_text_kept(s, before, "roulette")


# GDBs killed in a row: make check's short form (each way once), and
# STRESS=long's; KSTUB_RECONNECT_SEED=N replays a run's choices
RECONNECTS = stress(4, 100)
KILL_POINTS = ("attached", "dumping memory", "running, a breakpoint in", "running")


def killed_gdb(s, i, where, rng):
    """A new GDB attaches and is killed with SIGKILL at @where."""
    gdb = s.new_gdb("_%d" % i)
    gdb.attach(s.g)
    if where == "dumping memory":
        gdb.begin("dump binary memory %s/dump.bin _stext _stext+262144" % s.g.dir)
        time.sleep(rng.uniform(0.05, 1.0))
    elif where.startswith("running"):
        if "breakpoint" in where:
            s.load_test_symbols()
            s.break_at("kstub_test_hot")
        gdb.begin("continue")
        gdb.wait_printed("Continuing.")
        time.sleep(rng.uniform(0.0, 1.0))
    gdb.p.kill()
    gdb.p.wait()
    gdb.log.close()
    s.gdb = None


@scenario(PLAIN, transport=True)
def test_reconnects(k, name):
    """GDB killed with SIGKILL RECONNECTS times at random points of its
    session (just attached, in the middle of a memory dump, while the
    kernel runs with a breakpoint in a hot function, or with none), a new
    GDB attaching each time: the last one's session works fully, the
    kernel runs on, and the hot function's text is as it was."""
    seed = int(os.environ.get("KSTUB_RECONNECT_SEED", "0")) or random.randrange(1, 1 << 31)
    print("    seed %d (KSTUB_RECONNECT_SEED=%d replays it)" % (seed, seed))
    rng = random.Random(seed)
    with Session(k, name) as s:
        before = s.g.sh("cat /proc/kstub_test/hottext").split()[-1]
        _, func_text = s.text_bytes()
        s.g.sh("echo 1 > /proc/kstub_test/busy")
        t0 = time.time()
        killed = dict.fromkeys(KILL_POINTS, 0)
        for i in range(RECONNECTS):
            where = KILL_POINTS[i] if i < len(KILL_POINTS) else rng.choice(KILL_POINTS)
            killed_gdb(s, i, where, rng)
            killed[where] += 1
        print("    %d GDBs killed in %.0f s: %s" % (
            RECONNECTS, time.time() - t0, ", ".join("%s %d" % kv for kv in killed.items())))
        gdb = s.new_gdb("_last")
        gdb.attach(s.g)
        s.load_test_symbols()
        threads = gdb.cmd("info threads")
        check("kstub_busy/1" in threads and "did not stop" not in threads,
              "info threads after the reconnects:\n" + threads)
        s.break_at("kstub_test_func")
        out, call = s.cont_then("echo 7 > /proc/kstub_test/call")
        check(re.search(r"Breakpoint 1, kstub_test_func \(a=(a@entry=)?7", out),
              "no hit after the reconnects:\n" + out)
        gdb.cmd("delete")
        s.detach()
        s.g.finish(call)
        c0 = s.g.sh("cat /proc/kstub_test/busy")
        time.sleep(1)
        check(s.g.sh("cat /proc/kstub_test/busy") != c0, "the busy threads do not run")
        s.g.sh("echo 0 > /proc/kstub_test/busy")
        check(s.g.sh("cat /proc/kstub_test/hottext").split()[-1] == before,
              "a killed GDB's breakpoint is still in the text")
        check(s.text_bytes()[1] == func_text, "kstub_test_func's text changed after detach")
        guest_alive(s)
