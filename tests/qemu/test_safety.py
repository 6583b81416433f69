# SPDX-License-Identifier: GPL-2.0
"""Safety: no breakpoint, client or module event may hang or crash the
kernel being debugged (Documentation/safety.rst)."""
import re
import signal
import threading
import time

from harness import RawRsp, TestFailure, check, stress
from registry import BUILTIN, DEBUG, PLAIN, SHARED, scenario
from session import (ARCH, PANIC_LINES, PANIC_MSG, Session, builtin_args, detach,
                      first_patchable, guest_alive, guest_with_gdb, kstubwait_attached,
                      source_line, spawn, unspawn, wait_reboot)

# GDB's words when a breakpoint cannot be inserted at a resume
NOT_INSERTED = r"Cannot insert breakpoint (\d+)"


def z0_refused(gdb, arch, addr):
    """kstub answers a Z0 at @addr with an error. (GDB itself, for an
    address in a module, takes that error as the module having gone and
    disables the breakpoint without a word.)"""
    kind = 1 if arch == "x86_64" else 4
    out = gdb.cmd("maint packet Z0,%x,%d" % (addr, kind))
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


@scenario(PLAIN, DEBUG)
def test_breakpoint_in_stop_path(k, name):
    """A breakpoint on __const_udelay, which kstub's roundup used to run with
    the breakpoints in: a SysRq-g stop and resumes all work, and the
    breakpoint is hit by the guest's own udelay(), with a backtrace."""
    with Session(k, name) as s:
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


@scenario(PLAIN)
def test_breakpoint_in_panic_path(k, name):
    """A breakpoint on vsnprintf(), which kstub's panic message used to run
    with the breakpoints in: the panic stops in GDB (SIGABRT) and then
    proceeds to the reboot."""
    with Session(k, name, expected=PANIC_LINES) as s:
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


@scenario(PLAIN)
def test_refused_sites(k, name):
    """Where the kernel rewrites its own text (a static branch, as a
    tracepoint's; ftrace's call site, and on x86 an ENDBR), and off an
    instruction boundary, Z0 is refused; a breakpoint on the line around a
    static branch survives the key being flipped both ways, and the text
    is as it was afterwards."""
    with Session(k, name) as s:
        site = int(s.g.sh("cat /proc/kstub_test/key").split()[-1], 16)
        seq = s.attach()
        s.load_test_symbols()
        before = s.gdb.cmd("x/24xb kstub_test_branchy")
        z0_refused(s.gdb, s.k.arch, site)
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


@scenario(PLAIN, arch="x86_64")
def test_breakpoint_in_die_chain(k, name):
    """x86's die notifiers run in order on every int3 and #DB, kprobes' and
    hw_breakpoint's ahead of kstub's. A breakpoint in one that runs ahead
    would trap again on every trap's way to kstub, without end (the
    roulette found uprobes' notifier, which ran ahead of kstub's then:
    "kernel BUG at kernel/entry/common.c" from the nested NMI count). So
    kstub refuses one in hw_breakpoint's notifier; uprobes' runs behind
    kstub's now, and with breakpoints in it a SysRq-g stop and a stepi
    work."""
    with Session(k, name, test_module=False) as s:
        seq = s.attach()
        z0_refused(s.gdb, k.arch, first_patchable(s.gdb, k.arch, "hw_breakpoint_exceptions_notify"))
        s.break_at("arch_uprobe_exception_notify")
        s.resume(seq)
        seq = s.stop()
        out = s.gdb.end(s.gdb.seq, timeout=60)
        check("SIGTRAP" in out and "__handle_sysrq" in s.gdb.cmd("bt 8"),
              "no SysRq-g stop with breakpoints in uprobes' notifier:\n" + out)
        pc = s.gdb.cmd("p/x $pc")
        out = s.gdb.cmd("stepi")
        check(pc != s.gdb.cmd("p/x $pc") and "exception_notify" not in out,
              "stepi with breakpoints in uprobes' notifier:\n" + out)
        s.gdb.cmd("delete")
        s.detach()
        s.g.finish(seq)
        guest_alive(s)


@scenario(PLAIN, arch="arm64")
def test_breakpoint_in_step_path(k, name):
    """arm64's debug exceptions call out-of-line helpers from their noinstr
    entry code before they reach kstub's hooks. A breakpoint in one is hit
    again by every debug exception: in context tracking's (ct_nmi_enter()
    calls context_tracking.c's __kern_my_cpu_offset) it recursed until the
    stack ran over and the page tables were written; in the step
    exception's, which puts back the hardware breakpoints a step suspended,
    a break-in's step stopped inside the step's exception and left the
    kernel a step kstub no longer expected ("Unexpected kernel single-step
    exception at EL1"). The roulette found both. kstub refuses those
    helpers, and a break-in after the refusal steps as ever."""
    with Session(k, name, test_module=False) as s:
        seq = s.attach()
        callees = []
        for fn in ("ct_nmi_enter", "ct_nmi_exit", "reinstall_suspended_bps",
                   "try_step_suspended_breakpoints"):
            out = s.gdb.cmd("disassemble %s" % fn)
            callees += re.findall(r"\bbl\s+(0x[0-9a-f]+) <([^>+]+)>", out)
        check(callees, "no call in the step exception's way to kstub")
        for addr, callee in callees:
            z0_refused(s.gdb, k.arch, int(addr, 16))
        s.resume(seq)
        time.sleep(1)
        s.gdb.p.send_signal(signal.SIGINT)
        out = s.gdb.end(s.gdb.seq, timeout=60)
        check("SIGINT" in out, "no break-in stop:\n" + out)
        s.detach()
        guest_alive(s)


KEY_ROUNDS = stress(24, 400)


@scenario(PLAIN)
def test_breakpoint_while_key_flips(k, name):
    """Breakpoints go in while the kernel flips a static branch over and
    over (a shell writing /proc/kstub_test/key): many stops find a CPU half
    way through rewriting the branch, which on x86 leaves an int3 on its
    first byte until the new bytes are in (text_poke_bp()). At each stop a
    Z0 past the branch in the same module is taken, and one on the
    instruction right after the branch is taken too, unless the branch is
    half rewritten (x86): then where that instruction starts is not known,
    and kstub refuses it. GDB's own breakpoint goes in at each resume, and
    the kernel lives on. (kstub once asked jump_label_text_reserved()
    whether a Z0 was on a static branch: it decodes every branch below the
    address, and BUG()ed on the int3.)"""
    kind = 1 if k.arch == "x86_64" else 4
    with Session(k, name) as s:
        site = int(s.g.sh("cat /proc/kstub_test/key").split()[-1], 16)
        seq = s.attach()
        s.load_test_symbols()
        addr = first_patchable(s.gdb, k.arch, "kstub_test_oops")
        check(addr > site + 8, "kstub_test_oops (%#x) is not past the branch at %#x" % (addr, site))
        # the instruction after the branch, read while no key flips
        after = [int(a, 16) for a in re.findall(r"^\s*(?:=> )?(0x[0-9a-f]+)",
                                                 s.gdb.cmd("x/2i %#x" % site), re.M)]
        check(len(after) == 2 and after[1] > site, "no instruction after the branch")
        after = after[1]
        out = s.gdb.cmd("break *%#x" % addr)
        check(re.search(r"Breakpoint \d+ at", out), out)
        cont = s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        s.g.finish(seq)
        spawn(s, "flipper", "while :; do echo 1 >/proc/kstub_test/key;"
              " echo 0 >/proc/kstub_test/key; done")
        half = 0
        for i in range(KEY_ROUNDS):
            if i:
                cont = s.gdb.begin("continue")
                s.gdb.wait_printed("Continuing.")
            time.sleep(0.3 + 0.05 * (i % 7))
            s.gdb.p.send_signal(signal.SIGINT)
            out = s.gdb.end(cont, timeout=60)
            check("SIGINT" in out, "round %d: no SIGINT stop:\n%s" % (i, out))
            # the kernel's own int3 on the branch: a CPU is rewriting it
            byte = re.search(r":\s+0x([0-9a-f]{2})", s.gdb.cmd("x/1xb %#x" % site))
            check(byte, "no byte read at the branch")
            rewriting = byte.group(1) == "cc"
            half += rewriting
            for at, taken in ((addr, True), (after, not rewriting)):
                out = s.gdb.cmd("maint packet Z0,%x,%d" % (at, kind))
                got = re.search(r'received: "(OK|E[0-9a-f]{2})"', out)
                check(got and (got.group(1) == "OK") == taken,
                      "round %d%s: Z0 at %#x: %s" % (i, " (half rewritten)" if rewriting else "",
                                                    at, out))
                s.gdb.cmd("maint packet z0,%x,%d" % (at, kind))
        out = s.gdb.cmd("p kstub_test_branchy_calls")
        m = re.search(r"= (\d+)", out)
        check(m and int(m.group(1)) > KEY_ROUNDS, "the key hardly flipped: " + out)
        print("    %d stops, %d with the branch half rewritten; the branch run %s times"
              % (KEY_ROUNDS, half, m.group(1)))
        # on x86 a good part of the stops come in the middle of a rewrite
        # (a quarter of them, about); arm64 rewrites a branch in one store
        check(half or k.arch != "x86_64", "no stop found the branch half rewritten")
        s.gdb.cmd("delete")
        s.detach()
        unspawn(s, "flipper")
        guest_alive(s)


@scenario(PLAIN, arch="x86_64")
def test_int3_gone(k, name):
    """An int3 trap whose int3 is gone from memory by the time the die
    notifiers look: text_poke_bp() took it out as the CPU ran into it.
    Hardware does not allow it, but QEMU's TCG does: at boot, as a static
    key flips (it killed this suite's kernel twice, in
    is_timers_nohz_active() and on __sched_clock_stable). kstub runs the
    instruction now there, as poke_int3_handler() would have: a static
    branch's nop and its jump, and a call, each through a real int3 the
    test module's die notifier takes out ahead of kstub's; with no GDB,
    and with GDB attached, which sees no stop. Without kstub's help the
    kernel dies: "Oops: int3"."""
    with Session(k, name, load=False) as s:
        s.g.sh("insmod /kstub_test.ko && echo arm > /proc/kstub_test/gone")
        # kstub's die notifier comes behind the test module's
        s.test_module = False
        s.load()

        def each(what):
            for case in ("0", "1", "2"):
                out = s.g.sh("echo %s > /proc/kstub_test/gone && echo gone-ok-%s" % (case, case))
                check("gone-ok-" + case in out, "%s, case %s: %s" % (what, case, out))

        each("no GDB")
        seq = s.attach()
        cont = s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        s.g.finish(seq)
        each("GDB attached")
        s.gdb.p.send_signal(signal.SIGINT)
        out = s.gdb.end(cont, timeout=60)
        check("SIGINT" in out and "SIGTRAP" not in out, "GDB saw another stop:\n" + out)
        s.detach()
        guest_alive(s)


@scenario(PLAIN, DEBUG)
def test_new_gdb_after_kill(k, name):
    """A GDB killed with its breakpoint in a hot function: the kernel stops
    on the orphaned breakpoint; a new GDB attaches, continues, and the
    kernel runs on, with no breakpoint of the first GDB left in its text."""
    with Session(k, name) as s:
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


# each round is an insmod, an attach and an rmmod (some 3 s under TCG):
# a dozen in make check, STRESS=long for the endurance run
RMMOD_ROUNDS = stress(12, 200)


def hit_until_quiet(r, z, stops):
    """RSP, as GDB does it: the breakpoint or watchpoint @z ("KIND,ADDR,LEN"),
    resumed at every hit by stepping over it with it out, until the stub
    goes quiet (it is being unloaded)."""
    def stop_after(packet):
        r.write(r.frame(packet))
        r.read_ack()
        reply = r.read_packet()
        r.write(b"+")
        return reply

    try:
        check(r.request(b"Z" + z) == b"OK", "Z%s refused" % z.decode())
        while True:
            stop_after(b"vCont;c")
            stops.append(1)
            r.request(b"z" + z)
            stop_after(b"vCont;s")
            r.request(b"Z" + z)
    except Exception:
        pass


@scenario(PLAIN)
def test_rmmod_while_hit(k, name):
    """rmmod, RMMOD_ROUNDS times, while a breakpoint on a timer function, or
    (every other round) a watchpoint on the counter it writes, is hit (5
    times a second, on either CPU) with every CPU busy; every other time
    with a client attached and resuming at each hit. No oops, the
    function's text is byte-identical afterwards, and no CPU's debug
    registers hold the counter's address."""
    with Session(k, name, load=False) as s:
        s.g.sh("insmod /kstub_test.ko")
        hot = int(s.g.sh("grep -w kstub_test_timer_fn /proc/kallsyms").split()[0], 16)
        count = int(s.g.sh("grep -w kstub_test_timer_count /proc/kallsyms").split()[0], 16)
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
            z = (b"0,%x,1" % (hot + (9 if k.arch == "x86_64" else 8)) if i % 4 < 2 else
                 b"2,%x,8" % count)
            if i % 2:
                check(r.request(b"Z" + z) == b"OK", "Z%s refused" % z.decode())
                check(r.request(b"D") == b"OK", "detach")
                s.g.sh("rmmod kstub")
            else:
                stops = []
                t = threading.Thread(target=hit_until_quiet, args=(r, z, stops), daemon=True)
                t.start()
                time.sleep(0.6)  # some three hits at 5 a second before the rmmod
                s.g.sh("rmmod kstub", timeout=120)
                r.close()
                t.join(10)
                check(not t.is_alive(), "the client did not see kstub go")
                hits += len(stops)
            r.close()
        check(hits > RMMOD_ROUNDS // 2, "the breakpoint was hardly hit: %d" % hits)
        print("    %d rounds, %d hits" % (RMMOD_ROUNDS, hits))
        check(s.g.sh("cat /proc/kstub_test/timertext").split()[-1] == before,
              "text differs after the last rmmod")
        check(not re.search(r"^kstub ", s.g.sh("cat /proc/modules"), re.M), "kstub still loaded")
        regs = s.g.sh("cat /proc/kstub_test/hwregs")
        check(not re.search(r"\b%x\b" % count, regs), "the watchpoint outlived rmmod:\n" + regs)
        guest_alive(s)


@scenario(PLAIN)
def test_crash_policy(k, name):
    """kstub does not turn a kernel that would reboot into one that hangs:
    with no GDB attached, a panic or an oops on a kernel set to reboot
    (panic=-1) goes on at once; kstub.crash_wait=N waits N seconds, then
    goes on; a kernel that would not reboot (panic=0) waits for GDB."""
    said = "kstub: panic: %s; no GDB attached, going on (panic= set)" % PANIC_MSG
    with Session(k, name + "_reboots", expected=PANIC_LINES + ARCH[k.arch]["oops_lines"]) as s:
        # an oops first: the kernel goes on
        rc, _ = s.g.finish(s.g.start("sh -c 'echo 1 > /proc/kstub_test/oops'"), 60)
        check(rc != 0, "the oopsing process should have been killed")
        check("kstub: oops; no GDB attached, going on (panic= set)" in s.g.console(),
              "kstub did not say it let the oops go on")
        guest_alive(s)
        s.g.start("echo 7 > /proc/kstub_test/panic")
        s.g.wait_for(re.escape(said))
        s.g.wait_for("Kernel panic - not syncing: " + PANIC_MSG)
        wait_reboot(s, "the panic did not go on to the reboot")
        check("waiting" not in s.g.console().split(said)[1], "the panic waited")

    with Session(k, name + "_waits_2s", kstub_args="crash_wait=2", expected=PANIC_LINES) as s:
        s.g.start("echo 7 > /proc/kstub_test/panic")
        s.g.wait_for("kstub: panic: %s; waiting 2 s for GDB" % PANIC_MSG)
        began = time.time()
        s.g.wait_for("Kernel panic - not syncing: " + PANIC_MSG, 60)
        check(time.time() - began > 1.5, "the panic did not wait its 2 s")
        wait_reboot(s, "the panic did not go on to the reboot after its wait")

    # a kernel that would not reboot: the panic waits for GDB, with no limit
    with Session(k, name + "_holds", append="panic=0", expected=PANIC_LINES) as s:
        s.g.start("echo 7 > /proc/kstub_test/panic")
        s.g.wait_for("kstub: panic: %s; waiting for GDB" % PANIC_MSG)
        time.sleep(5)
        check("Kernel panic - not syncing" not in s.g.console(), "the panic did not wait")
        g = s.new_gdb()
        out = g.attach(s.g)
        check("SIGABRT" in out + g.cmd("info program"), "no SIGABRT stop:\n" + out)
        check(re.search(r"\bpanic \(fmt=.*\) at \S*kernel/panic\.c:\d+", out),
              "not stopped in panic():\n" + out)
        # GDB lets go: the panic goes on to its end (and the guest is not
        # stopped while it prints it, which would cut its last line short)
        detach(g)
        s.g.wait_for(re.escape("---[ end Kernel panic - not syncing: %s ]---" % PANIC_MSG), 60)


# oopses while another CPU writes to the virtio console
OOPS_ROUNDS = stress(30, 300)


@scenario(SHARED, arch="x86_64")
def test_oops_while_console_busy(k, name):
    """An oops with no GDB attached while another CPU writes to the virtio
    console, a console of the kernel's as well as the shell's tty (x86
    stops the other CPUs by NMI, so one may be stopped in the virtio
    console's write with its lock held): kstub says on the consoles that
    it lets the oops go on, and the kernel goes on, OOPS_ROUNDS times."""
    said = "kstub: oops; no GDB attached, going on (panic= set)"
    with Session(k, name, expected=ARCH[k.arch]["oops_lines"]) as s:
        check("hvc0" in s.g.sh("cat /proc/consoles"), "hvc0 is not a console")
        # The flood and kstub's words break into the kernel's lines
        # (written straight to the console while printk prints on another
        # CPU; the virtio console writes 16 bytes at a time): taken out,
        # the console checks see the kernel's lines whole.
        flood = r"~+"
        rest = said[len("kstub: oops"):] + "\n"
        s.g.console_noise = "|".join([flood, "kstub: oops"] + [re.escape(rest[i:i + 16])
                                                               for i in range(0, len(rest), 16)])
        # (no newline: one would break the kernel's lines where no regular
        # expression could tell it from theirs)
        spawn(s, "flood", "while :; do echo -n %s; usleep 2000; done > /dev/hvc0" % ("~" * 400))
        for i in range(OOPS_ROUNDS):
            rc, _ = s.g.finish(s.g.start("sh -c 'echo 1 > /proc/kstub_test/oops'"), 60)
            check(rc != 0, "oops %d: the oopsing process should have been killed" % i)
        unspawn(s, "flood")
        # Written straight to the console (the kernel is stopping), kstub's
        # words mix with the flood's and with what another CPU prints:
        # count their first piece, which the virtio console writes whole
        # (in 16-byte pieces), and see the rest said at least once.
        con = re.sub(flood, "", s.g.console())
        n = con.count("kstub: oops")
        check(n == OOPS_ROUNDS, "kstub said %d times that it let an oops go on, not %d"
              % (n, OOPS_ROUNDS))
        check(said in con, "kstub never said: " + said)
        guest_alive(s)


LOCKED_WRITE = "kstub: the kernel is locked down: GDB may read, not write"
LOCKED_READ = "kstub: the kernel is locked down for confidentiality: no stop for GDB"


def check_read_only(gdb, arch):
    """GDB reads the stopped kernel and can write nothing into it: no
    memory, no register, no breakpoint (each write puts back what is
    there, so that one kstub wrongly let through changes nothing)."""
    out = gdb.cmd("print panic_timeout")
    check(re.search(r"= -?\d+", out), "memory reads refused:\n" + out)
    out = gdb.cmd("print panic_timeout = panic_timeout")
    check("Cannot access memory" in out, "a memory write went through:\n" + out)
    # (GDB does not write a register its own value)
    out = gdb.cmd("print $sp = (char *)$sp + 8")
    if "Could not write register" not in out:
        gdb.cmd("print $sp = (char *)$sp - 8")
        raise TestFailure("a register write went through:\n" + out)
    z0_refused(gdb, arch, first_patchable(gdb, arch, "vfs_read"))


@scenario(PLAIN)
def test_lockdown_raised(k, name):
    """Lockdown raised while kstub is loaded takes effect at the next stop:
    under integrity GDB reads but writes nothing, and the breakpoint it had
    put in is out of the text for good; under confidentiality GDB is let go
    (the target exited), no stop is served, and a panic no longer waits."""
    with Session(k, name, expected=PANIC_LINES) as s:
        orig = s.g.sh("cat /proc/kstub_test/text").strip()
        seq = s.attach()
        s.load_test_symbols()
        check("Breakpoint 1 at" in s.gdb.cmd("break kstub_test_func"), "break failed")
        c = s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        s.g.finish(seq)
        check(s.g.sh("cat /proc/kstub_test/text").strip() != orig, "the breakpoint is not in")
        s.g.sh("mount -t securityfs none /sys/kernel/security && "
               "echo integrity > /sys/kernel/security/lockdown")
        seq = s.g.start("echo g > /proc/sysrq-trigger")
        out = s.gdb.end(c, 120)
        check("SIGTRAP" in out and LOCKED_WRITE in out, "GDB was not told:\n" + out)
        check_read_only(s.gdb, k.arch)
        # (GDB would try breakpoint 1 again at the resume, be refused, and
        # disable it without a word, as it does in a library)
        s.gdb.cmd("delete")
        c = s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        s.g.finish(seq)
        check(s.g.sh("cat /proc/kstub_test/text").strip() == orig, "the breakpoint is still in")
        s.g.sh("echo 3 > /proc/kstub_test/call")
        check("kstub_test_func(3, 6) = " in s.g.console(), "the call did not run")

        s.g.sh("echo confidentiality > /sys/kernel/security/lockdown")
        seq = s.g.start("echo g > /proc/sysrq-trigger")
        out = s.gdb.end(c, 120)
        check(LOCKED_READ in out and "exited normally" in out,
              "GDB was not let go:\n" + out)
        check(s.g.finish(seq)[0] == 0, "SysRq-g held the kernel")
        guest_alive(s)
        # kstub's hook on panic() is out: the panic goes on to the reboot
        s.g.start("echo 7 > /proc/kstub_test/panic")
        s.g.wait_for("Kernel panic - not syncing: " + PANIC_MSG)
        wait_reboot(s, "the panic did not go on to the reboot")
        check("kstub: panic:" not in s.g.console(), "the panic stopped in kstub")


@scenario(BUILTIN)
def test_builtin_lockdown(k, name):
    """A kernel booted locked down: for integrity, kstub says GDB may only
    read, kstubwait waits, GDB reads and can write nothing; for
    confidentiality, kstub does not load, and the kernel boots on."""
    append = "lockdown=integrity kstubwait " + builtin_args(k)
    with guest_with_gdb(k, name + "_integrity", append=append, wait_shell=False) as (g, gdb):
        try:
            g.wait_for("kstubwait: waiting for GDB", 20)
        except TestFailure:
            # 6.1 arm64's virtio console is not up yet: GDB's look tells
            check(not g.console().strip(), "no kstubwait stop:\n" + g.log_tail())
        kstubwait_attached(g, gdb)
        dmesg = gdb.cmd("monitor dmesg 20")
        check("kstub: the kernel is locked down for integrity: GDB may read, not write" in dmesg,
              "kstub did not say so at load:\n" + dmesg)
        check_read_only(gdb, k.arch)
        c = gdb.begin("continue")
        gdb.wait_printed("Continuing.")
        g.wait_shell()
        seq = g.start("echo g > /proc/sysrq-trigger")
        check("SIGTRAP" in gdb.end(c, 120), "SysRq-g did not stop")
        detach(gdb)
        check(g.finish(seq)[0] == 0, "sysrq write failed")

    append = "lockdown=confidentiality kstubwait " + builtin_args(k)
    with guest_with_gdb(k, name + "_confidentiality", append=append) as (g, gdb):
        check("kstub: the kernel is locked down for confidentiality: kstub does not load"
              in g.sh("dmesg"), "kstub did not say why it did not load")
        check("alive-42" in g.sh("echo alive-$((40+2))"), "guest dead")


TRAP_PATH = {"x86_64": ["kstub_x86_notify", "kstub_x86_nmi", "kstub_call"],
             "arm64": ["kstub_arm64_roundup", "kstub_arm64_patch", "kstub_call"]}


@scenario(PLAIN)
def test_trap_path_not_kprobed(k, name):
    """kstub's trap path is on the kprobes blacklist (NOKPROBE_SYMBOL), as
    kgdb's is: a kprobe there would trap inside the stop."""
    with Session(k, name, test_module=False) as s:
        s.g.sh("mount -t debugfs none /sys/kernel/debug 2>/dev/null; true")
        listed = s.g.sh("cat /sys/kernel/debug/kprobes/blacklist | grep kstub; true")
        for fn in ["kstub_trap", "kstub_trap_swbreak", "kstub_stopped", "kstub_park",
                   "kstub_rx_irq", "kstub_bp_deactivate", "kstub_kernel_init_gone",
                   "kstub_text_gone"] + TRAP_PATH[k.arch]:
            check(re.search(r"\b%s\b" % fn, listed), "%s not on the blacklist:\n%s" % (fn, listed))

