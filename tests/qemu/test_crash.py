# SPDX-License-Identifier: GPL-2.0
"""Entry on a crash, end to end: oops, general protection fault, BUG(), panic.
"""
import re
import time

from harness import check, TestFailure
from registry import DEBUG, PLAIN, scenario
from session import (ARCH, busy, gdb_addr, guest_alive, kallsyms_addr, module_array,
                     other_cpu_thread, PANIC_LINES, PANIC_MSG, Session, wait_reboot)


@scenario(PLAIN, DEBUG)
def test_oops_entry(k, name):
    """An oops stops in GDB at the faulting source line with SIGSEGV."""
    with Session(k, name, expected=ARCH[k.arch]["oops_lines"]) as s:
        seq = s.attach()
        s.load_test_symbols()
        want_line = None
        with open(k.test_dir + "/kstub_test.c") as f:
            for i, line in enumerate(f, 1):
                if "KSTUB_TEST_OOPS_LINE" in line:
                    want_line = i
        out, oops = s.cont_then("sh -c 'echo 1 > /proc/kstub_test/oops'", pending=seq)
        check("SIGSEGV" in out, "no SIGSEGV stop:\n" + out)
        check(re.search(r"kstub_test_oops \(\) at .*kstub_test\.c:%d" % want_line, out),
              "not at the faulting line %d:\n%s" % (want_line, out))
        bt = s.gdb.cmd("bt 4")
        check("kstub_test_oops_write" in bt, bt)
        s.detach()
        rc, _ = s.g.finish(oops)
        check(rc != 0, "the oopsing process should have been killed")
        guest_alive(s)


@scenario(PLAIN, arch="x86_64")
def test_gpf_entry(k, name):
    """A general protection fault taken with interrupts on (the #GP handler
    turns them back on before the die notifiers run) stops in GDB at the
    faulting line with SIGSEGV, and while it is stopped no CPU takes an
    interrupt: a timer pinned to each CPU does not fire."""
    with Session(k, name, expected=[r"general protection fault", r"Oops", r"Call Trace:"]) as s:
        s.g.sh("echo 1000 > /proc/kstub_test/ticks")
        seq = s.attach()
        s.load_test_symbols()
        out, gpf = s.cont_then("sh -c 'echo 1 > /proc/kstub_test/gpf'", pending=seq)
        check("SIGSEGV" in out, "no SIGSEGV stop:\n" + out)
        line = marked_line(k, "KSTUB_TEST_GPF_LINE")
        check(re.search(r"kstub_test_gpf \(\) at .*kstub_test\.c:%d" % line, out),
              "not at the faulting line %d:\n%s" % (line, out))
        before = module_array(s.gdb, "kstub_test_ticks")
        time.sleep(2)
        after = module_array(s.gdb, "kstub_test_ticks")
        check(any(before), "the per-CPU timers never fired: %s" % before)
        check(after == before, "CPUs took interrupts while the kernel was stopped: "
              "ticks %s, 2 s later %s" % (before, after))
        s.detach()
        rc, _ = s.g.finish(gpf)
        check(rc != 0, "the faulting process should have been killed")
        s.g.sh("echo 0 > /proc/kstub_test/ticks")
        guest_alive(s)


def marked_line(k, marker):
    with open(k.test_dir + "/kstub_test.c") as f:
        for i, line in enumerate(f, 1):
            if marker in line:
                return i
    raise TestFailure("no %s in the test module" % marker)


@scenario(PLAIN)
def test_bug_entry(k, name):
    """BUG() stops in GDB at its line (x86: SIGILL, before the oops); continue lets the oops go on."""
    a = ARCH[k.arch]
    with Session(k, name, panic_on_warn=not a["bug_warns"], expected=a["bug_lines"]) as s:
        seq = s.attach()
        s.load_test_symbols()
        out, bug = s.cont_then("sh -c 'echo 1 > /proc/kstub_test/bug'", pending=seq)
        check(a["bug_signal"] in out, "no %s stop:\n%s" % (a["bug_signal"], out))
        check(re.search(r"kstub_test_bug \(\) at .*kstub_test\.c:%d"
                        % marked_line(k, "KSTUB_TEST_BUG_LINE"), out), "not at BUG():\n" + out)
        if k.arch == "x86_64":
            check("Oops" not in s.g.console(), "stopped only after the oops")
        s.detach()
        rc, _ = s.g.finish(bug)
        check(rc != 0, "the process that hit BUG() should have been killed")
        check(a["bug_oops"] in s.g.console(), "the oops did not proceed after continue")
        guest_alive(s)


def panic_stopped(s, g, out, runqueues):
    """GDB stopped at a panic: SIGABRT in panic() called from the test module,
    with every CPU stopped by kstub (the other one as the task it ran), and
    the kernel's own panic not begun."""
    # (GDB names the signal of a stop it attaches to only when asked)
    check("SIGABRT" in out + g.cmd("info program"), "no SIGABRT stop:\n" + out)
    check(re.search(r"\bpanic \(fmt=.*\) at \S*kernel/panic\.c:\d+", out),
          "not stopped in panic():\n" + out)
    s.load_test_symbols()
    bt = g.cmd("bt 3")
    check("kstub_test_panic_write" in bt, "panic() not called from the test module:\n" + bt)
    check(PANIC_MSG in g.cmd("monitor dmesg 5"), "monitor dmesg lacks the panic message")
    check("Kernel panic - not syncing" not in s.g.console(), "the kernel's panic ran first")
    other_cpu_thread(g, g.cmd("info threads"), runqueues)
    cpus = g.cmd("monitor cpus")
    check("CPU 0:" in cpus and "CPU 1:" in cpus and "did not stop" not in cpus,
          "not every CPU stopped:\n" + cpus)


@scenario(PLAIN, DEBUG, transport=True)
def test_panic_entry(k, name):
    """panic() stops in GDB before the kernel stops the other CPUs, with its
    message; continue lets the panic proceed. Once with no GDB attached (the
    panic waits for one, as kstub.crash_wait asks, on a kernel set to reboot),
    once with GDB attached and the kernel running."""
    for attached in (False, True):
        with Session(k, "%s_%s" % (name, "attached" if attached else "waiting"),
                     kstub_args="" if attached else "crash_wait=600", expected=PANIC_LINES) as s:
            busy(s)
            runqueues = kallsyms_addr(s, "runqueues")
            if attached:
                seq = s.attach()
                g = s.gdb
                out, _ = s.cont_then("echo 7 > /proc/kstub_test/panic", pending=seq)
                check("Kernel panic - not syncing: " + PANIC_MSG in out,
                      "GDB did not print the panic message:\n" + out)
            else:
                s.g.start("echo 7 > /proc/kstub_test/panic")
                s.g.wait_for("kstub: panic: %s; waiting 600 s for GDB" % PANIC_MSG)
                g = s.new_gdb()
                out = g.attach(s.g)
            panic_stopped(s, g, out, runqueues)
            # stepping in panic() is stepping as anywhere
            pc = gdb_addr(g, "$pc")
            g.cmd("stepi")
            check(gdb_addr(g, "$pc") != pc and
                  re.match(r"panic \+ \d+ in section", g.cmd("info symbol $pc")),
                  "stepi did not step in panic()")
            g.begin("continue")
            g.wait_printed("Continuing.")
            s.g.wait_for("Kernel panic - not syncing: " + PANIC_MSG, 60)
            wait_reboot(s, "the panic did not proceed to the reboot")
