# SPDX-License-Identifier: GPL-2.0
"""Attaching and letting go, end to end: SysRq-g, kstubwait at module load
and at boot, kstub's parameters, KASLR, detach and rmmod.
"""
import re
import time

from harness import check, Guest
from registry import BUILTIN, DEBUG, PLAIN, scenario
from session import (ARCH, builtin_args, detach, first_patchable, guest_alive, guest_with_gdb,
                     insmod_fails, kallsyms, kstubwait_attached, kstubwait_booted, port_owner,
                     Session)


TAINT_OOT_MODULE = 1 << 12


# the test kernels check module signatures (lockdown selects it), as
# Debian's do, and the test modules are not signed
TAINT_UNSIGNED_MODULE = 1 << 13


def regs_of(out):
    """GDB's 'info registers' as {name: value}."""
    regs = {}
    for m in re.finditer(r"^(\w+)\s+(0x[0-9a-f]+|-?\d+)", out, re.M):
        regs[m.group(1)] = int(m.group(2), 0) & (2 ** 64 - 1)
    return regs


# ---- the scenarios ----

@scenario(PLAIN, DEBUG, transport=True)
def test_sysrq_attach(k, name):
    """SysRq-g stops the kernel; GDB sees the sysrq path, registers, variables; continue resumes."""
    with Session(k, name, test_module=False) as s:
        seq = s.attach()
        s.load_test_symbols()
        bt = s.gdb.cmd("bt 12")
        for fn in ("__handle_sysrq", "write_sysrq_trigger", "vfs_write"):
            check(fn in bt, "bt lacks %s:\n%s" % (fn, bt))
        check(re.search(r"sysrq\.c:\d+", bt), "bt has no source lines:\n" + bt)
        a = ARCH[k.arch]
        regs = regs_of(s.gdb.cmd("info registers"))
        regs.update(regs_of(s.gdb.cmd("info registers " + " ".join(a["regs"]))))
        for r in a["regs"]:
            check(r in regs, "no %s in info registers: %s" % (r, sorted(regs)))
        sp, pc = (regs["rsp"], regs["rip"]) if k.arch == "x86_64" else (regs["sp"], regs["pc"])
        check(sp >> 48 == 0xffff and pc >> 48 == 0xffff, "sp/pc are not kernel addresses")
        if k.arch == "x86_64":
            check(regs["cs"] == 0x10, "cs is not __KERNEL_CS: %#x" % regs["cs"])
            check(regs["gs_base"] >> 48 == 0xffff, "gs_base is not the per-CPU base")
            # GDB's own amd64 registers (kstub's description names none):
            # eflags' flags, and the x87 and SSE ones there but unavailable
            fl = s.gdb.cmd("info registers eflags")
            check(re.search(r"eflags\s+0x[0-9a-f]+\s+\[ [A-Z ]+ \]", fl), "eflags: " + fl)
            st = s.gdb.cmd("info registers st0 fop xmm15 mxcsr")
            for r in ("st0", "fop", "xmm15", "mxcsr"):
                check(re.search(r"^%s\s.*<unavailable>" % r, st, re.M), "%s: %s" % (r, st))
        else:
            check(regs["cpsr"] & 0xf == 0x5, "cpsr is not EL1h: %#x" % regs["cpsr"])
        j1 = s.gdb.cmd("p jiffies")
        check(re.search(r"\$\d+ = \d+", j1), "p jiffies: " + j1)
        s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        rc, _ = s.g.finish(seq)
        check(rc == 0, "sysrq write failed")
        guest_alive(s)
        taint = int(s.g.sh("cat /proc/sys/kernel/tainted").split()[-1])
        check(taint & ~TAINT_UNSIGNED_MODULE == TAINT_OOT_MODULE,
              "taint %#x, want only the out-of-tree and unsigned flags" % taint)


@scenario(PLAIN, transport=True)
def test_kstubwait(k, name):
    """insmod kstubwait=1 blocks until GDB attaches, and GDB sees that stop.
    A kworker holds the console lock as kstub loads: kstub's lines wait for
    it, and its "waiting for GDB" is on the console before the stop (a stop
    that caught the lock's holder would have kept them in the log). Not over
    virtio: kstub takes the port from virtio_console, whose hvc_remove() takes
    the console lock itself, so kstub logs nothing until the holder is gone;
    the wait for the consoles is the same code whatever the transport."""
    if k.transport == "virtio":
        kstubwait_module(k, name, "insmod /kstub.ko kstubwait=1 %s" % k.kstub_args)
        return
    kstubwait_module(k, name, "insmod /kstub_test.ko && echo 3000 > /proc/kstub_test/conlock && "
                     "insmod /kstub.ko kstubwait=1 %s" % k.kstub_args, conlock=True)


def kstubwait_module(k, name, load, append="", conlock=False):
    """The guest command @load, loading kstub with kstubwait, waits for GDB; GDB
    sees the stop in kstub's init; @load finishes once GDB detaches. With
    @conlock, @load holds the console lock as kstub loads (the test module's
    conlock), and kstub's line must have been logged while it was held."""
    with guest_with_gdb(k, name, append=append) as (g, gdb):
        seq = g.start(load)
        g.wait_for("kstubwait: waiting for GDB", 60)
        time.sleep(1)
        check("@@R%d" % seq not in g.console(), "%r returned before GDB attached" % load)
        gdb.cmd("set solib-search-path %s" % k.kstub_dir)
        kstubwait_attached(g, gdb)
        bt = gdb.cmd("bt 8")
        check(re.search(r"kstub_init \(\) at \S*stub/main\.c:\d+", bt) and "do_init_module" in bt,
              "not stopped in kstub's init:\n" + bt)
        detach(gdb)
        check(g.finish(seq)[0] == 0, "%r failed" % load)
        check("kstub " in g.sh("cat /proc/modules"), "kstub is not loaded")
        check("alive-42" in g.sh("echo alive-$((40+2))"), "guest dead")
        if conlock:
            # the lock's holder prints what was logged while it held it, its
            # own last line after: kstub's line first, or the lock was gone
            # before kstub logged it and the test proved nothing
            con = g.console()
            at = [con.find(w) for w in ("kstub: kstubwait: waiting for GDB",
                                        "conlock: releasing")]
            check(0 <= at[0] < at[1], "kstub's line was not logged while the console "
                  "lock was held (offsets %s)" % at)


@scenario(PLAIN)
def test_modprobe_kstubwait(k, name):
    """kstub.kstubwait=1 on the kernel command line holds a modprobe of kstub for GDB."""
    kstubwait_module(k, name, "r=$(uname -r); mkdir -p /lib/modules/$r; "
                     "cp /kstub.ko /lib/modules/$r/; depmod; modprobe kstub %s" % k.kstub_args,
                     append="kstub.kstubwait=1")


@scenario(BUILTIN, transport=True)
def test_builtin_kstubwait(k, name):
    """Built in, kstubwait stops the boot in kstub's initcall, before init; a
    breakpoint on a later initcall is hit; one left in the kernel's init code
    is never written once that code is freed; the booted kernel then stops
    on SysRq-g as with the module."""
    with guest_with_gdb(k, name, append="kstubwait " + builtin_args(k),
                        wait_shell=False) as (g, gdb):
        kstubwait_booted(g)
        time.sleep(1)
        check("built-in commands" not in g.console(), "init ran before GDB attached")
        kstubwait_attached(g, gdb)
        check("kstub: kstubwait: waiting for GDB" in gdb.cmd("monitor dmesg 5"),
              "the log does not say kstub waits")
        check("SYSTEM_SCHEDULING" in gdb.cmd("p system_state"), "the boot is too far on")
        bt = gdb.cmd("bt 8")
        check(re.search(r"kstub_init \(\) at \S*stub/main\.c:\d+", bt) and
              "do_one_initcall" in bt and "kernel_init_freeable" in bt,
              "not stopped in kstub's initcall:\n" + bt)
        # a late initcall, in the kernel's init code
        addr = first_patchable(gdb, k.arch, "printk_late_init")
        check(re.search(r"Breakpoint 1 at", gdb.cmd("break *%#x" % addr)), "break failed")
        c = gdb.begin("continue")
        gdb.wait_printed("Continuing.")
        out = gdb.end(c, 120)
        check(re.search(r"Breakpoint 1, .*printk_late_init", out), "no stop in the initcall:\n" + out)
        check("do_one_initcall" in gdb.cmd("bt 3"), "not called as an initcall")
        check("built-in commands" not in g.console(), "init ran before the late initcall")
        # the breakpoint stays; the kernel frees its init code and boots
        c = gdb.begin("continue")
        gdb.wait_printed("Continuing.")
        g.wait_shell()
        seq = g.start("echo g > /proc/sysrq-trigger")
        out = gdb.end(c, 120)
        check("SIGTRAP" in out, "SysRq-g did not stop:\n" + out)
        check("__handle_sysrq" in gdb.cmd("bt 8"), "not stopped in sysrq")
        check("printk_late_init" in gdb.cmd("info breakpoints"), "GDB lost the breakpoint")
        detach(gdb)
        check(g.finish(seq)[0] == 0, "sysrq write failed")
        check("alive-42" in g.sh("echo alive-$((40+2))"), "guest dead")


@scenario(PLAIN)
def test_kaslr_offsets(k, name):
    """Without nokaslr, GDB's symbols match the running kernel (qOffsets)."""
    with Session(k, name, test_module=False) as s:
        check("nokaslr" not in s.g.sh("cat /proc/cmdline"), "test must run with KASLR")
        text = s.g.sh("grep ' _text$' /proc/kallsyms").split()[0]
        jiffies = s.g.sh("grep ' jiffies_64$' /proc/kallsyms").split()[0]
        # read-only data, init code, data written once at boot: not just .text/.data/.bss
        others = {sym: kallsyms(s, sym) for sym in ("linux_banner", "start_kernel",
                                                   "__per_cpu_offset")}
        with open(k.kdir + "/System.map") as f:
            linked = [l.split()[0] for l in f if l.rstrip().endswith(" _text")][0]
        check(int(text, 16) != int(linked, 16), "KASLR did not move the kernel (%s)" % text)
        seq = s.attach()
        out = s.gdb.cmd("p/x &jiffies_64")
        check(re.search(r"= 0x%s\b" % jiffies.lstrip("0"), out),
              "GDB's jiffies_64 %s, kernel's %s" % (out.strip(), jiffies))
        out = s.gdb.cmd("x/i write_sysrq_trigger")
        check("write_sysrq_trigger" in out and "Cannot access" not in out, out)
        for sym, addr in others.items():
            out = s.gdb.cmd("info symbol %#x" % addr)
            check(re.match(r"%s in section " % sym, out), "GDB's %s is not at %#x: %s"
                  % (sym, addr, out))
        check("Linux version" in s.gdb.cmd("p linux_banner"), "linux_banner")
        s.detach()
        s.g.finish(seq)


@scenario(PLAIN)
def test_detach_restores_text_and_reattach(k, name):
    """After detach the function's bytes are the original ones; a second attach works."""
    with Session(k, name) as s:
        a = ARCH[k.arch]
        addr, orig = s.text_bytes()
        seq = s.attach()
        s.load_test_symbols()
        bp = s.break_at("kstub_test_func")
        off = bp - addr
        check(0 <= off < len(orig), "breakpoint at +%d is outside the dump" % off)
        # running with the breakpoint in: the CPU sees int3
        s.resume(seq)
        _, live = s.text_bytes()
        n = len(a["bp_insn"])
        check(live[off:off + n] == a["bp_insn"] and live[:off] == orig[:off]
              and live[off + n:] == orig[off + n:],
              "while running, expected the breakpoint instruction at +%d only" % off)
        seq = s.stop()
        s.gdb.end(s.gdb.seq)
        s.detach()
        s.g.finish(seq)
        _, after = s.text_bytes()
        check(after == orig, "text differs after detach")
        check("kstub_test_func(3, 6) = 96" in
              s.g.sh("echo 3 > /proc/kstub_test/call; dmesg | grep 'kstub_test_func(3, 6)'"),
              "function does not run after detach")
        # a second attach, with a new GDB
        s.check_reattach("second attach")
        guest_alive(s)


@scenario(PLAIN, transport=True)
def test_rmmod_after_detach(k, name):
    """rmmod after a session leaves the text as it was; insmod again works."""
    with Session(k, name) as s:
        addr, orig = s.text_bytes()
        seq = s.attach()
        s.load_test_symbols()
        s.break_at("kstub_test_func")
        out, call = s.cont_then("echo 2 > /proc/kstub_test/call", pending=seq)
        check("Breakpoint 1, kstub_test_func" in out, out)
        s.detach()
        s.g.finish(call)
        check(s.g.sh(port_owner(k)).strip().endswith("0"),
              "the kernel's serial driver still has kstub's port")
        s.g.sh("rmmod kstub")
        _, after = s.text_bytes()
        check(after == orig, "text differs after rmmod")
        check(not s.g.sh(port_owner(k)).strip().endswith("0"),
              "the port was not given back to the kernel's serial driver")
        s.g.sh("insmod /kstub.ko")
        s.read_sections()
        s.check_reattach("attach after re-insmod")
        s.g.sh("rmmod kstub")


@scenario(PLAIN, DEBUG)
def test_rmmod_with_breakpoints_in(k, name):
    """rmmod while GDB's breakpoints are still in the running kernel takes them out."""
    with Session(k, name) as s:
        addr, orig = s.text_bytes()
        seq = s.attach()
        s.load_test_symbols()
        s.break_at("kstub_test_func")
        s.resume(seq)
        _, live = s.text_bytes()
        check(live != orig, "breakpoint not in the running text")
        s.gdb.close()
        s.gdb = None
        s.g.sh("rmmod kstub")
        _, after = s.text_bytes()
        check(after == orig, "text differs after rmmod with breakpoints in")
        check("kstub_test_func(4, 8) = 114" in
              s.g.sh("echo 4 > /proc/kstub_test/call; dmesg | grep 'kstub_test_func(4, 8)'"),
              "function does not run after rmmod")


@scenario(PLAIN, transport=True)
def test_bad_parameter(k, name):
    """A wrong transport parameter fails insmod with EINVAL and one dmesg line naming it."""
    g = Guest(k)
    cases = [("uart=bogus", "uart=bogus"), ("virtio=bogus", "virtio=bogus"),
             ("uart=%s virtio=auto" % ARCH[k.arch]["uart"], "virtio=auto"),
             # no console (no CONFIG_CONSOLE_POLL here: only a
             # console's UART can be shared)
             ("tty=ttyS3", "tty=ttyS3")]
    if k.arch == "x86_64":
        # past the 8250 driver's table; faster than the port's clock
        cases += [("uart=ttyS31", "uart=ttyS31"), ("uart=ttyS1 baud=1000000", "baud=1000000"),
                  ("uart=ttyS1 baud=0", "baud=0")]
    try:
        for args, named in cases:
            insmod_fails(g, args, named)
            g.sh("dmesg -c >/dev/null")
        # and with no parameter kstub picks its port itself
        g.sh("insmod /kstub.ko")
        ready = g.sh("dmesg | grep 'kstub: ready'")
        want = "virtio auto" if k.transport == "virtio" else "uart " + ARCH[k.arch]["uart"]
        check("ready on " + want in ready, "picked the wrong transport: " + ready)
    finally:
        g.check_console(expected=[r"kstub: (uart|virtio|tty)="])
        g.close()
        g.keep_log(name)
