# SPDX-License-Identifier: GPL-2.0
"""Safety: no breakpoint, client or module event may hang or crash the
kernel being debugged (Documentation/safety.rst)."""
import re
import threading
import time

from harness import RawRsp, check
from test_e2e import PANIC_LINES, PANIC_MSG, Session, guest_alive, source_line

# GDB's words when a breakpoint cannot be inserted at a resume
NOT_INSERTED = r"Cannot insert breakpoint (\d+)"


def z0_refused(s, addr):
    """kstub answers a Z0 at @addr with an error. (GDB itself, for an
    address in a module, takes that error as the module having gone and
    disables the breakpoint without a word.)"""
    kind = 1 if s.k.arch == "x86_64" else 4
    out = s.gdb.cmd("maint packet Z0,%x,%d" % (addr, kind))
    check(re.search(r'received: "E[0-9a-f]{2}"', out), "Z0 at %#x not refused: %s" % (addr, out))


def refused(s, where):
    """A breakpoint at @where (a GDB location in the kernel proper) that
    kstub must refuse: GDB takes it, cannot insert it at the next resume,
    says so, and the kernel stays stopped and answers."""
    out = s.gdb.cmd("break *%s" % where)
    check(re.search(r"Breakpoint \d+ at", out), "GDB did not take it: " + out)
    out = s.gdb.cmd("continue", timeout=60)
    check(re.search(NOT_INSERTED, out) and "Command aborted" in out,
          "break *%s was not refused:\n%s" % (where, out))
    check(re.search(r"\$\d+ = \d+", s.gdb.cmd("p jiffies")), "the stopped kernel does not answer")
    s.gdb.cmd("delete")


def test_breakpoint_in_stop_path(k, name):
    """A breakpoint on __const_udelay, which kstub's roundup used to run with
    the breakpoints in: a SysRq-g stop and resumes all work, and the
    breakpoint is hit by the guest's own udelay(), with a backtrace."""
    s = Session(k, name)
    try:
        seq = s.attach()
        s.load_test_symbols()
        # in the text all along; GDB resumes at the kernel's own udelay()s
        out = s.gdb.cmd('break __const_udelay if $_any_caller_matches("kstub_test_udelay", 4)')
        check(re.search(r"Breakpoint 1 at", out), "break failed: " + out)
        s.resume(seq)
        seq = s.stop()
        out = s.gdb.end(s.gdb.seq, timeout=120)
        check("SIGTRAP" in out and "__handle_sysrq" in s.gdb.cmd("bt 8"),
              "no SysRq-g stop with the breakpoint in:\n" + out)
        print("    " + s.gdb.cmd("info breakpoints").strip().splitlines()[-1].strip())
        out, call = s.cont_then("echo 5 > /proc/kstub_test/udelay", pending=seq)
        bt = s.gdb.cmd("bt 6")
        check("Breakpoint 1" in out and "__const_udelay" in bt and "kstub_test_udelay_write" in bt,
              "the guest's udelay() did not stop:\n%s\n%s" % (out, bt))
        seq = call
        s.gdb.cmd("delete")
        s.detach()
        check(s.g.finish(seq)[0] == 0, "udelay write failed")
        guest_alive(s)
    finally:
        s.close()


def test_breakpoint_in_panic_path(k, name):
    """A breakpoint on vsnprintf(), which kstub's panic message used to run
    with the breakpoints in: the panic stops in GDB (SIGABRT) and then
    proceeds to the reboot."""
    s = Session(k, name)
    try:
        seq = s.attach()
        s.load_test_symbols()
        # in the text all along; GDB resumes at the kernel's other calls
        out = s.gdb.cmd('break vsnprintf if $_any_caller_matches("^panic$", 6)')
        check(re.search(r"Breakpoint 1 at", out), "break failed: " + out)
        out, _ = s.cont_then("echo 7 > /proc/kstub_test/panic", pending=seq)
        check("SIGABRT" in out and "Kernel panic - not syncing: " + PANIC_MSG in out,
              "the panic did not stop in GDB:\n" + out)
        check("kstub_test_panic_write" in s.gdb.cmd("bt 4"), "not the test module's panic")
        # the kernel's panic then formats its message: a stop GDB works with
        out = s.gdb.cmd("continue", timeout=120)
        check("Breakpoint 1, " in out and "vsnprintf" in out and
              re.search(r"\bpanic \(", s.gdb.cmd("bt 6")), "no stop in panic's vsnprintf:\n" + out)
        s.gdb.cmd("delete")
        s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        s.g.wait_for("Kernel panic - not syncing: " + PANIC_MSG, 120)
        deadline = time.time() + 120
        while s.g.qemu.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        check(s.g.qemu.poll() is not None, "the panic did not proceed to the reboot")
    finally:
        s.close(expected=PANIC_LINES)


def test_refused_sites(k, name):
    """Where the kernel rewrites its own text (a static branch, as a
    tracepoint's; ftrace's call site, and on x86 an ENDBR), and off an
    instruction boundary, Z0 is refused; a breakpoint on the line around a
    static branch survives the key being flipped both ways, and the text
    is as it was afterwards."""
    s = Session(k, name)
    try:
        site = int(s.g.sh("cat /proc/kstub_test/key").split()[-1], 16)
        seq = s.attach()
        s.load_test_symbols()
        before = s.gdb.cmd("x/24xb kstub_test_branchy")
        z0_refused(s, site)
        # off an instruction boundary: inside vfs_read's first instruction
        refused(s, "vfs_read+%d" % (1 if k.arch == "x86_64" else 2))
        # a breakpoint on the line before the branch
        out = s.gdb.cmd("break kstub_test.c:%d" % source_line("KSTUB_TEST_BRANCHY"))
        check(re.search(r"Breakpoint \d+ at", out), out)
        for on in (1, 0):
            out, call = s.cont_then("echo %d > /proc/kstub_test/key" % on, pending=seq)
            check(re.search(r"Breakpoint \d+, .*kstub_test_branchy", out),
                  "no stop in kstub_test_branchy with the key %s:\n%s" % (on, out))
            seq = call
        s.gdb.cmd("delete")
        after = s.gdb.cmd("x/24xb kstub_test_branchy")
        check(after == before, "text differs:\n%s\n%s" % (before, after))
        s.detach()
        s.g.finish(seq)
        guest_alive(s)
    finally:
        s.close()


def test_new_gdb_after_kill(k, name):
    """A GDB killed with its breakpoint in a hot function: the kernel stops
    on the orphaned breakpoint; a new GDB attaches, continues, and the
    kernel runs on, with no breakpoint of the first GDB left in its text."""
    s = Session(k, name)
    try:
        before = s.g.sh("cat /proc/kstub_test/hottext").split()[-1]
        s.g.sh("echo 1 > /proc/kstub_test/busy")
        seq = s.attach()
        s.load_test_symbols()
        s.break_at("kstub_test_hot")
        # the busy threads hit it at once
        out = s.gdb.cmd("continue", timeout=60)
        check("kstub_test_hot" in out, "GDB #1's breakpoint was not hit:\n" + out)
        # killed as it resumes, or once the kernel stopped again
        s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        time.sleep(1)
        s.gdb.p.kill()
        s.gdb.p.wait()
        s.gdb = None
        gdb = s.new_gdb("_2")
        out = gdb.attach(s.g)
        s.load_test_symbols()
        check("kstub_test_hot" in gdb.cmd("bt 2"), "not stopped on the orphaned breakpoint:\n" + out)
        gdb.begin("continue")
        gdb.wait_printed("Continuing.")
        s.g.finish(seq)
        c0 = s.g.sh("cat /proc/kstub_test/busy")
        time.sleep(2)
        c1 = s.g.sh("cat /proc/kstub_test/busy")
        check(c0 != c1, "the busy threads do not run: %s / %s" % (c0, c1))
        check(s.g.sh("cat /proc/kstub_test/hottext").split()[-1] == before,
              "GDB #1's breakpoint is still in the text")
        seq = s.stop()
        out = gdb.end(gdb.seq, timeout=60)
        check("SIGTRAP" in out and "__handle_sysrq" in gdb.cmd("bt 8"),
              "the next stop is not SysRq-g's:\n" + out)
        s.detach()
        s.g.finish(seq)
        guest_alive(s)
    finally:
        s.close()


RMMOD_ROUNDS = 50


def hit_until_quiet(r, addr, stops):
    """RSP, as GDB does it: a breakpoint at @addr, resumed at every hit by
    stepping over it with the breakpoint out, until the stub goes quiet
    (it is being unloaded)."""
    def stop_after(packet):
        r.write(r.frame(packet))
        r.read_ack()
        reply = r.read_packet()
        r.write(b"+")
        return reply

    try:
        check(r.request(b"Z0,%x,1" % addr) == b"OK", "Z0 refused")
        while True:
            stop_after(b"vCont;c")
            stops.append(1)
            r.request(b"z0,%x,1" % addr)
            stop_after(b"vCont;s")
            r.request(b"Z0,%x,1" % addr)
    except Exception:
        pass


def test_rmmod_while_hit(k, name):
    """rmmod, 50 times, while a breakpoint on a timer function is hit (5
    times a second, on either CPU) with every CPU busy; every other time
    with a client attached and resuming at each hit. No oops, and the
    function's text is byte-identical afterwards."""
    s = Session(k, name, load=False)
    try:
        s.g.sh("insmod /kstub_test.ko")
        hot = int(s.g.sh("grep -w kstub_test_timer_fn /proc/kallsyms").split()[0], 16)
        before = s.g.sh("cat /proc/kstub_test/timertext").split()[-1]
        s.g.sh("echo 1 > /proc/kstub_test/busy")
        s.g.sh("echo 200000 > /proc/kstub_test/timer")
        hits = 0
        for i in range(RMMOD_ROUNDS):
            s.g.sh("insmod /kstub.ko %s" % k.kstub_args)
            # a client's first packet breaks in
            r = RawRsp(s.g.gdb_port)
            r.request(b"qSupported", timeout=60)
            r.request(b"?")
            # skip the first instruction: an ENDBR, and ftrace's site
            addr = hot + (9 if k.arch == "x86_64" else 8)
            if i % 2:
                check(r.request(b"Z0,%x,1" % addr) == b"OK", "Z0 refused")
                check(r.request(b"D") == b"OK", "detach")
                s.g.sh("rmmod kstub")
            else:
                stops = []
                t = threading.Thread(target=hit_until_quiet, args=(r, addr, stops), daemon=True)
                t.start()
                time.sleep(0.3)
                s.g.sh("rmmod kstub", timeout=120)
                r.s.settimeout(1)
                r.close()
                t.join(10)
                hits += len(stops)
            r.close()
        check(hits > RMMOD_ROUNDS // 2, "the breakpoint was hardly hit: %d" % hits)
        print("    %d rounds, %d hits" % (RMMOD_ROUNDS, hits))
        check(s.g.sh("cat /proc/kstub_test/timertext").split()[-1] == before,
              "text differs after the last rmmod")
        check(not re.search(r"^kstub ", s.g.sh("cat /proc/modules"), re.M), "kstub still loaded")
        guest_alive(s)
    finally:
        s.close()


TESTS = [
    test_breakpoint_in_stop_path,
    test_breakpoint_in_panic_path,
    test_refused_sites,
    test_new_gdb_after_kill,
]

# Not in make check yet: its 50 rounds ran without an oops on 6.1 x86_64
# (53 hits), but took over 9 minutes (about 11 s a round); it needs a
# cheaper round and a place among the long runs (issue 15's STRESS=long).
LONG_TESTS = [
    test_rmmod_while_hit,
]
