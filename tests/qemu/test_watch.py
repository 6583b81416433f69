# SPDX-License-Identifier: GPL-2.0
"""Hardware watchpoints and breakpoints, end to end (Documentation/gdb.rst,
"Watchpoints"): GDB's watch, rwatch, awatch, watch -l and hbreak."""
import re

from harness import check
from registry import BUILTIN, PLAIN, scenario
from session import (Session, builtin_args, detach, first_patchable, gdb_addr, guest_alive,
                     guest_with_gdb, kstubwait_attached, kstubwait_booted)

WATCH = "/proc/kstub_test/watch"


def watch_hit(s, cmd, pending, want, what):
    """continue, then @cmd in the guest: GDB stops for a watchpoint, and
    prints @want (regular expressions, in order)."""
    out, seq = s.cont_then("echo '%s' > %s" % (cmd, WATCH), pending=pending)
    at = 0
    for w in want:
        m = re.compile(w, re.M).search(out, at)
        check(m, "%s: no %r in what GDB printed:\n%s" % (what, w, out))
        at = m.end()
    return out, seq


def slots(s):
    """How many data slots kstub has, from its monitor command."""
    out = s.gdb.cmd("monitor hw")
    m = re.search(r"^(\d+) (watchpoint )?slots", out, re.M)
    check(m, "monitor hw:\n" + out)
    return int(m.group(1)), out


def quiet_idle(s, arch, when):
    """arm64: no CPU's breakpoint registers can match the function kstub's
    idle slots point at (their byte select is 0, arch-arm64/hwbp.c)."""
    if arch != "arm64":
        return
    out = s.g.sh("grep -w kstub_hw_nowhere /proc/kallsyms")
    m = re.search(r"^([0-9a-f]{16}) t kstub_hw_nowhere\s+\[kstub\]$", out, re.M)
    check(m, "no kstub_hw_nowhere in kallsyms:\n" + out)
    regs = s.g.sh("cat /proc/kstub_test/hwregs")
    check(len(re.findall(r"^cpu \d+:", regs, re.M)) == 2
          and not re.search(r"\b%x\b" % int(m.group(1), 16), regs),
          "%s: kstub's idle breakpoint slots can match:\n%s" % (when, regs))


@scenario(PLAIN)
def test_watchpoints(k, name):
    """watch on a global written from this task, from a kworker on the
    other CPU and from an hrtimer (hardirq); rwatch; awatch; watch -l on a
    field through a pointer; hbreak on a function; one watchpoint more
    than the CPU has is refused; after detach no CPU's debug registers
    hold any of GDB's addresses (kstub's idle slots point at its own).
    On arm64 kstub's idle breakpoint slots match nothing, from load on
    (under TCG six enabled ones cost an idle kernel 15% of its speed)."""
    with Session(k, name) as s:
        quiet_idle(s, k.arch, "loaded")
        # every slot is kstub's: a guest program's ptrace watchpoint is refused
        out = s.g.sh("/ptwatch", ok=False)
        check("ptwatch: set: error 28" in out, "ptrace's watchpoint, all slots kstub's:\n" + out)
        seq = s.attach()
        s.load_test_symbols()
        n, _ = slots(s)
        check(n >= 2, "kstub has %d hardware slots" % n)
        out = s.gdb.cmd("watch kstub_test_watched")
        check("Hardware watchpoint 1: kstub_test_watched" in out, out)
        out, seq = watch_hit(s, "p 5", seq, [r"Hardware watchpoint 1: kstub_test_watched",
                                             r"Old value = 0", r"New value = 5",
                                             r"kstub_test_watch_write \(v=(v@entry=)?5\)"],
                             "a write from this task")
        out, seq = watch_hit(s, "k 6", seq, [r"Old value = 5", r"New value = 6"],
                             "a write from a kworker on the other CPU")
        bt = s.gdb.cmd("bt 6")
        # the work function may have called it as a tail call: its work item shows
        check("kstub_test_watch_work" in bt and "worker_thread" in bt,
              "not the kworker's write:\n" + bt)
        out, seq = watch_hit(s, "t 7", seq, [r"Old value = 6", r"New value = 7"],
                             "a write from an hrtimer")
        bt = s.gdb.cmd("bt 12")
        check("kstub_test_watch_timer" in bt and "hrtimer_run_queues" in bt,
              "not the timer's write:\n" + bt)
        s.gdb.cmd("delete")

        s.gdb.cmd("rwatch kstub_test_watched")
        out, seq = watch_hit(s, "r", seq, [r"Hardware read watchpoint 2: kstub_test_watched",
                                           r"Value = 7", r"kstub_test_watch_read"],
                             "a read")
        s.gdb.cmd("delete")
        s.gdb.cmd("awatch kstub_test_watched")
        out, seq = watch_hit(s, "p 8", seq,
                             [r"Hardware access \(read/write\) watchpoint 3: kstub_test_watched",
                              r"[Vv]alue = 8"], "an access")
        s.gdb.cmd("delete")
        out = s.gdb.cmd("watch -l kstub_test_objp->field")
        check("Hardware watchpoint 4: -location kstub_test_objp->field" in out, out)
        out, seq = watch_hit(s, "f 9", seq, [r"Old value = 0", r"New value = 9",
                                             r"kstub_test_field_write"],
                             "a field through a pointer")
        s.gdb.cmd("delete")

        gdbs = [gdb_addr(s.gdb, "&kstub_test_watched"), gdb_addr(s.gdb, "&kstub_test_objp->field")]
        gdbs.append(first_patchable(s.gdb, k.arch, "kstub_test_func"))
        # GDB's breakpoints stay in at a stop only if told so
        s.gdb.cmd("set breakpoint always-inserted on")
        out = s.gdb.cmd("hbreak *%#x" % gdbs[-1])
        check(re.search(r"Hardware assisted breakpoint 5 at", out), out)
        _, mon = slots(s)
        s.gdb.cmd("set breakpoint always-inserted off")
        check(re.search(r"hbreak 0x%x" % gdbs[-1], mon), "monitor hw:\n" + mon)
        out, call = s.cont_then("echo 3 > /proc/kstub_test/call", pending=seq)
        check(re.search(r"Breakpoint 5, .*kstub_test_func \(a=(a@entry=)?3", out),
              "hbreak not hit:\n" + out)
        s.gdb.cmd("delete")

        # one more than the CPU has: GDB cannot insert it, and says so
        for i in range(n + 1):
            s.gdb.cmd("watch -l kstub_test_counters[%d]" % i)
            gdbs.append(gdb_addr(s.gdb, "&kstub_test_counters[%d]" % i))
        out = s.gdb.cmd("continue", timeout=60)
        check(re.search(r"Could not insert hardware watchpoint", out),
              "%d watchpoints on %d slots:\n%s" % (n + 1, n, out))
        s.gdb.cmd("delete")
        s.detach()
        s.g.finish(call)
        check("kstub_test_func(3, 6)" in s.g.console(), "the call did not finish")
        regs = s.g.sh("cat /proc/kstub_test/hwregs")
        held = {int(a, 16) for a in re.findall(r"\b[0-9a-f]{16}\b", regs)}
        check(len(re.findall(r"^cpu \d+:", regs, re.M)) == 2 and not held & set(gdbs),
              "GDB's addresses %s left in the debug registers after detach:\n%s"
              % (" ".join("%x" % a for a in gdbs), regs))
        quiet_idle(s, k.arch, "after detach")
        guest_alive(s)




@scenario(PLAIN)
def test_watch_slots_shared(k, name):
    """hw_slots=2: kstub takes two slots of each kind and leaves the rest.
    A guest program (tests/guest/ptwatch.c) debugs its child with a ptrace
    watchpoint at the same time as GDB watches two of the kernel's
    variables: the child's write into the test module stops the kernel
    with the child's own watchpoint loaded on its CPU, and both go on
    working after the stop; a third watchpoint of GDB's is refused."""
    with Session(k, name, kstub_args="hw_slots=2") as s:
        seq = s.attach()
        s.load_test_symbols()
        n, mon = slots(s)
        check(n == 2, "hw_slots=2, monitor hw:\n" + mon)
        s.gdb.cmd("watch kstub_test_watched")
        s.gdb.cmd("watch kstub_test_watch_sink")
        out, seq = s.cont_then("/ptwatch %s > /tmp/ptwatch.out 2>&1" % WATCH, pending=seq)
        check(re.search(r"Hardware watchpoint 1: kstub_test_watched\s+Old value = 0\s+"
                        r"New value = 11", out), "the ptrace child's write:\n" + out)
        bt = s.gdb.cmd("bt 8")
        check("kstub_test_watch_write_op" in bt, "not the write to the watch file:\n" + bt)
        # the child's second write, ptrace's hit, comes with GDB's watchpoints in
        out, seq = watch_hit(s, "p 4", seq, [r"Hardware watchpoint 1: kstub_test_watched",
                                             r"Old value = 11", r"New value = 4"],
                             "one of two slots, after the ptrace program")
        s.gdb.cmd("watch -l kstub_test_objp->field")
        out = s.gdb.cmd("continue", timeout=60)
        check("Could not insert hardware watchpoint" in out, "a third, on two slots:\n" + out)
        s.gdb.cmd("delete")
        s.detach()
        s.g.finish(seq)
        out = s.g.sh("cat /tmp/ptwatch.out")
        check("ptwatch: hits 2" in out, "ptrace's watchpoint beside kstub's two:\n" + out)
        guest_alive(s)


@scenario(BUILTIN)
def test_builtin_hbreak(k, name):
    """Built in, stopped by kstubwait in its initcall: hbreak on a later
    initcall, in the kernel's init code, is hit as it runs; the kernel
    then boots, and SysRq-g stops it as ever."""
    with guest_with_gdb(k, name, append="kstubwait " + builtin_args(k),
                        wait_shell=False) as (g, gdb):
        kstubwait_booted(g)
        kstubwait_attached(g, gdb)
        addr = first_patchable(gdb, k.arch, "printk_late_init")
        out = gdb.cmd("hbreak *%#x" % addr)
        check(re.search(r"Hardware assisted breakpoint 1 at", out), out)
        c = gdb.begin("continue")
        gdb.wait_printed("Continuing.")
        out = gdb.end(c, 120)
        check(re.search(r"Breakpoint 1, .*printk_late_init", out), "no stop in the initcall:\n" + out)
        check("do_one_initcall" in gdb.cmd("bt 3"), "not called as an initcall")
        gdb.cmd("delete")
        c = gdb.begin("continue")
        gdb.wait_printed("Continuing.")
        g.wait_shell()
        seq = g.start("echo g > /proc/sysrq-trigger")
        out = gdb.end(c, 120)
        check("SIGTRAP" in out and "__handle_sysrq" in gdb.cmd("bt 8"), "SysRq-g did not stop:\n" + out)
        detach(gdb)
        check(g.finish(seq)[0] == 0, "sysrq write failed")
        check("alive-42" in g.sh("echo alive-$((40+2))"), "guest dead")
