# SPDX-License-Identifier: GPL-2.0
"""End-to-end tests: a real kernel under QEMU TCG, real gdb-multiarch.

Each test boots its own guest so that one failure cannot leak into the
next, and each ends by checking the guest console for kernel complaints.
"""
import re
import time

from harness import Gdb, Guest, RawRsp, TestFailure, check

TEST_MODULE_SECTIONS = (".text", ".data", ".bss", ".rodata")


class Session:
    """A booted guest with kstub (and the test module) loaded."""

    def __init__(self, kernel, name, test_module=True, kstub_args=""):
        self.k, self.name = kernel, name
        self.g = Guest(kernel)
        self.gdb = None
        self.sections = {}
        self.g.sh("insmod /kstub.ko %s" % kstub_args)
        if test_module:
            self.g.sh("insmod /kstub_test.ko")
            for sec in TEST_MODULE_SECTIONS:
                out = self.g.sh("cat /sys/module/kstub_test/sections/%s" % sec)
                # kernel messages may land in between: take the line that is only an address
                self.sections[sec] = re.search(r"^0x[0-9a-f]+$", out, re.M).group(0)

    def new_gdb(self, suffix=""):
        if self.gdb:
            self.gdb.close()
        self.gdb = Gdb(self.k, self.name + suffix)
        return self.gdb

    def stop(self):
        """Stop the kernel with SysRq-g; returns the guest command to finish later."""
        return self.g.start("echo g > /proc/sysrq-trigger")

    def attach(self):
        """SysRq-g, then a fresh GDB attaches; returns the sysrq command's seq."""
        seq = self.stop()
        self.new_gdb().attach(self.g)
        return seq

    def load_test_symbols(self):
        s = self.sections
        out = self.gdb.cmd("add-symbol-file %s %s -s .data %s -s .bss %s -s .rodata %s"
                           % (self.k.test_ko, s[".text"], s[".data"], s[".bss"], s[".rodata"]))
        check("Reading symbols" in out, "add-symbol-file failed:\n" + out)

    def cont_then(self, guest_cmd, pending=None, timeout=120):
        """continue in GDB, let the guest command @pending (a seq) finish, run
        @guest_cmd in the guest; return what GDB printed at the stop, and @guest_cmd's seq."""
        s = self.gdb.begin("continue")
        self.gdb.wait_printed("Continuing.")
        if pending is not None:
            self.g.finish(pending)
        seq = self.g.start(guest_cmd)
        return self.gdb.end(s, timeout), seq

    def detach(self):
        out = self.gdb.cmd("detach")
        check("detached" in out.lower(), "detach failed:\n" + out)

    def text_bytes(self):
        addr = self.g.sh("grep -w kstub_test_func /proc/kallsyms").split()[0]
        out = self.g.sh("cat /proc/kstub_test/text")
        m = re.search(r"^([0-9a-f]{32,})$", out, re.M)
        check(m, "no text dump: " + out)
        return int(addr, 16), bytes.fromhex(m.group(1))

    def close(self, expected=()):
        try:
            if self.gdb:
                self.gdb.close()
            self.g.check_console(expected)
        finally:
            self.g.close()
            self.g.keep_log(self.name)


def guest_alive(sess):
    check("alive-42" in sess.g.sh("echo alive-$((40+2))"), "guest shell does not answer")


# ---- the scenarios ----

def test_sysrq_attach(k, name):
    """SysRq-g stops the kernel; GDB sees the sysrq path, registers, variables; continue resumes."""
    s = Session(k, name, test_module=False)
    try:
        seq = s.attach()
        bt = s.gdb.cmd("bt 12")
        for fn in ("__handle_sysrq", "write_sysrq_trigger", "vfs_write"):
            check(fn in bt, "bt lacks %s:\n%s" % (fn, bt))
        check(re.search(r"sysrq\.c:\d+", bt), "bt has no source lines:\n" + bt)
        regs = s.gdb.cmd("info registers")
        for r in ("rax", "rsp", "rip", "eflags", "cs", "gs_base"):
            check(re.search(r"^%s\s+0x" % r, regs, re.M), "no %s in:\n%s" % (r, regs))
        check(re.search(r"^rsp\s+0xffff", regs, re.M), "rsp is not a kernel address:\n" + regs)
        check(re.search(r"^cs\s+0x10\b", regs, re.M), "cs is not __KERNEL_CS:\n" + regs)
        check(re.search(r"^gs_base\s+0xffff", regs, re.M), "gs_base is not the per-CPU base:\n" + regs)
        j1 = s.gdb.cmd("p jiffies")
        check(re.search(r"\$\d+ = \d+", j1), "p jiffies: " + j1)
        s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        rc, _ = s.g.finish(seq)
        check(rc == 0, "sysrq write failed")
        guest_alive(s)
    finally:
        s.close()


def test_kstubwait(k, name):
    """insmod kstubwait=1 blocks until GDB attaches, and GDB sees that stop."""
    g = Guest(k)
    gdb = None
    try:
        seq = g.start("insmod /kstub.ko kstubwait=1")
        g.wait_for("kstubwait: waiting for GDB", 60)
        time.sleep(1)
        check("@@R%d" % seq not in g.console(), "insmod returned before GDB attached")
        gdb = Gdb(k, name)
        out = gdb.attach(g)
        bt = gdb.cmd("bt 8")
        check("do_init_module" in bt or "do_one_initcall" in bt, "not stopped in module init:\n" + bt)
        check("SIGTRAP" in out or "in ?? ()" in out or "kstub" in out, "attach did not report the stop:\n" + out)
        gdb.cmd("detach")
        rc, _ = g.finish(seq)
        check(rc == 0, "insmod kstubwait=1 failed")
        check("alive-42" in g.sh("echo alive-$((40+2))"), "guest dead")
    finally:
        if gdb:
            gdb.close()
        g.check_console()
        g.close()
        g.keep_log(name)


def test_breakpoint_and_stepping(k, name):
    """Breakpoint on the test function: hit with named arguments, finish, next, step, stepi, hit again."""
    s = Session(k, name)
    try:
        seq = s.attach()
        s.load_test_symbols()
        out = s.gdb.cmd("break kstub_test_func")
        check("Breakpoint 1 at" in out, out)
        stop, call = s.cont_then("echo 5 > /proc/kstub_test/call", pending=seq)
        check(re.search(r"Breakpoint 1, kstub_test_func \(a=5, b=10\)", stop), "no hit:\n" + stop)
        args = s.gdb.cmd("info args")
        check("a = 5" in args and "b = 10" in args, args)
        fin = s.gdb.cmd("finish")
        check("Run till exit" in fin and re.search(r"Value returned is \$\d+ = 132", fin),
              "finish:\n" + fin)
        out, call2 = s.cont_then("echo 7 > /proc/kstub_test/call", pending=call)
        check(re.search(r"Breakpoint 1, kstub_test_func \(a=7, b=14\)", out), "second hit:\n" + out)
        line0 = s.gdb.cmd("frame")
        nxt = s.gdb.cmd("next")
        check(re.search(r"^\d+\s", nxt, re.M), "next printed no line:\n" + nxt)
        check(nxt.strip() != line0.strip(), "next did not move")
        for _ in range(4):
            stp = s.gdb.cmd("step")
            check(re.search(r"^\d+\s", stp, re.M), "step printed no line:\n" + stp)
            if re.search(r"kstub_test_helper \(x=(x@entry=)?7\)", stp):
                break
        check(re.search(r"kstub_test_helper \(x=(x@entry=)?7\)", stp),
              "step did not enter the helper:\n" + stp)
        check("kstub_test_func" in s.gdb.cmd("bt 2"), "helper's caller is not in the backtrace")
        pcs = set()
        for _ in range(4):
            s.gdb.cmd("stepi 25", timeout=180)
            pc = s.gdb.cmd("p/x $pc").strip()
            check(re.search(r"= 0xffffffff[0-9a-f]{8}$", pc), "stepi left the kernel: " + pc)
            pcs.add(pc)
        check(len(pcs) == 4, "stepi did not move the pc: %s" % pcs)
        out, call3 = s.cont_then("echo 9 > /proc/kstub_test/call", pending=call2)
        check(re.search(r"Breakpoint 1, kstub_test_func \(a=9, b=18\)", out), "third hit:\n" + out)
        s.gdb.cmd("delete")
        s.detach()
        s.g.finish(call3)
        check("kstub_test_func(9, 18) = 204" in s.g.console(), "call result wrong after stepping")
        guest_alive(s)
    finally:
        s.close()


def test_oops_entry(k, name):
    """An oops stops in GDB at the faulting source line with SIGSEGV."""
    s = Session(k, name)
    try:
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
    finally:
        s.close(expected=[r"BUG: kernel NULL pointer dereference", r"Oops:",
                          r"Call Trace:", r"BUG: unable to handle"])


def marked_line(k, marker):
    with open(k.test_dir + "/kstub_test.c") as f:
        for i, line in enumerate(f, 1):
            if marker in line:
                return i
    raise TestFailure("no %s in the test module" % marker)


def test_bug_entry(k, name):
    """BUG() stops in GDB at its line with SIGILL, before the oops; continue lets the oops go on."""
    s = Session(k, name)
    try:
        seq = s.attach()
        s.load_test_symbols()
        out, bug = s.cont_then("sh -c 'echo 1 > /proc/kstub_test/bug'", pending=seq)
        check("SIGILL" in out, "no SIGILL stop:\n" + out)
        check(re.search(r"kstub_test_bug \(\) at .*kstub_test\.c:%d"
                        % marked_line(k, "KSTUB_TEST_BUG_LINE"), out), "not at BUG():\n" + out)
        check("Oops" not in s.g.console(), "stopped only after the oops")
        s.detach()
        rc, _ = s.g.finish(bug)
        check(rc != 0, "the process that hit BUG() should have been killed")
        check("invalid opcode" in s.g.console(), "the oops did not proceed after continue")
        guest_alive(s)
    finally:
        s.close(expected=[r"kernel BUG at", r"Oops:", r"invalid opcode", r"Call Trace:"])


def test_memory_write(k, name):
    """set var on a module global is seen by the guest."""
    s = Session(k, name)
    try:
        check(s.g.sh("cat /proc/kstub_test/global").strip().endswith("42"), "initial value")
        seq = s.attach()
        s.load_test_symbols()
        check("= 42" in s.gdb.cmd("p kstub_test_global"), "read before write")
        s.gdb.cmd("set var kstub_test_global = 4242")
        check("= 4242" in s.gdb.cmd("p kstub_test_global"), "read back")
        s.detach()
        s.g.finish(seq)
        check(s.g.sh("cat /proc/kstub_test/global").strip().endswith("4242"),
              "guest does not see the write")
    finally:
        s.close()


def counters(gdb):
    out = gdb.cmd("p kstub_test_counters")
    m = re.search(r"\{([^}]*)\}", out)
    check(m, "counters: " + out)
    return [int(x) for x in re.findall(r"\d+", m.group(1))]


def test_all_cpus_stopped(k, name):
    """While stopped, the per-CPU busy threads do not count; every CPU is a GDB thread."""
    s = Session(k, name)
    try:
        check(s.g.sh("grep -c ^processor /proc/cpuinfo").strip().endswith("2"), "guest needs 2 CPUs")
        s.g.sh("echo 1 > /proc/kstub_test/busy")
        time.sleep(1)
        seq = s.attach()
        s.load_test_symbols()
        c1 = counters(s.gdb)
        check(c1[0] > 0 and c1[1] > 0, "busy threads did not run: %s" % c1)
        time.sleep(2)
        c2 = counters(s.gdb)
        check(c1 == c2, "counters moved while stopped: %s -> %s" % (c1, c2))
        threads = s.gdb.cmd("info threads")
        check("CPU 0" in threads and "CPU 1" in threads, "not every CPU is a thread:\n" + threads)
        check("did not stop" not in threads, "a CPU did not stop:\n" + threads)
        t2 = s.gdb.cmd("thread 2")
        check("Switching to thread 2" in t2, t2)
        bt = s.gdb.cmd("bt 3")
        check(re.search(r"#0\s+\S", bt), "no frame on CPU 1:\n" + bt)
        s.gdb.cmd("thread 1")
        # and they do count once the kernel runs again
        s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        s.g.finish(seq)
        time.sleep(1)
        seq = s.stop()
        stop = s.gdb.end(s.gdb.seq)
        check("SIGTRAP" in stop, stop)
        c3 = counters(s.gdb)
        check(c3[0] > c2[0] and c3[1] > c2[1], "counters did not move while running: %s -> %s" % (c2, c3))
        s.detach()
        s.g.finish(seq)
        s.g.sh("echo 0 > /proc/kstub_test/busy")
    finally:
        s.close()


def test_kaslr_offsets(k, name):
    """Without nokaslr, GDB's symbols match the running kernel (qOffsets)."""
    s = Session(k, name, test_module=False)
    try:
        check("nokaslr" not in s.g.sh("cat /proc/cmdline"), "test must run with KASLR")
        text = s.g.sh("grep ' _text$' /proc/kallsyms").split()[0]
        jiffies = s.g.sh("grep ' jiffies_64$' /proc/kallsyms").split()[0]
        check(int(text, 16) != 0xffffffff81000000, "KASLR did not move the kernel")
        seq = s.attach()
        out = s.gdb.cmd("p/x &jiffies_64")
        check(re.search(r"= 0x%s\b" % jiffies.lstrip("0"), out),
              "GDB's jiffies_64 %s, kernel's %s" % (out.strip(), jiffies))
        out = s.gdb.cmd("x/i write_sysrq_trigger")
        check("write_sysrq_trigger" in out and "Cannot access" not in out, out)
        s.detach()
        s.g.finish(seq)
    finally:
        s.close()


def test_detach_restores_text_and_reattach(k, name):
    """After detach the function's bytes are the original ones; a second attach works."""
    s = Session(k, name)
    try:
        addr, orig = s.text_bytes()
        seq = s.attach()
        s.load_test_symbols()
        out = s.gdb.cmd("break kstub_test_func")
        bp = int(re.search(r"at (0x[0-9a-f]+)", out).group(1), 16)
        off = bp - addr
        check(0 <= off < len(orig), "breakpoint at +%d is outside the dump" % off)
        # running with the breakpoint in: the CPU sees int3
        s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        s.g.finish(seq)
        _, live = s.text_bytes()
        check(live[off] == 0xcc and live[:off] == orig[:off] and live[off + 1:] == orig[off + 1:],
              "while running, expected int3 at +%d only" % off)
        seq = s.stop()
        s.gdb.end(s.gdb.seq)
        s.detach()
        s.g.finish(seq)
        _, after = s.text_bytes()
        check(after == orig, "text differs after detach")
        check("kstub_test_func(3, 6)" in s.g.sh("echo 3 > /proc/kstub_test/call; dmesg | tail -1"),
              "function does not run after detach")
        # a second attach, with a new GDB
        seq = s.attach()
        bt = s.gdb.cmd("bt 3")
        check("__handle_sysrq" in bt, "second attach:\n" + bt)
        s.detach()
        s.g.finish(seq)
        guest_alive(s)
    finally:
        s.close()


def test_bad_input(k, name):
    """Bad checksums, garbage, over-long and unknown packets, bad addresses: correct answers, still serving."""
    s = Session(k, name, test_module=False)
    try:
        seq = s.stop()
        s.g.wait_for("kstub: waiting for GDB")
        time.sleep(0.5)
        r = RawRsp(s.g.gdb_port)
        r.write(b"$qC#00")
        check(r.read_ack() == b"-", "bad checksum not NAKed")
        r.write(b"\x01\xffgarbage}}##$$")
        r.write(b"#01")  # ends the '$' the garbage opened, with a bad checksum
        check(r.read_ack() == b"-", "garbage packet not NAKed")
        check(r.request(b"qC").startswith(b"QC"), "qC after garbage")
        check(r.request(b"x" * 20000) == b"E5a", "over-long packet")
        check(r.request(b"qKstubNoSuchPacket") == b"", "unknown packet must get an empty reply")
        check(r.request(b"vKstubNoSuch;1") == b"", "unknown v packet")
        check(r.request(b"m0,8") == b"E0e", "read of address 0")
        check(r.request(b"mffff800000000000,10").startswith(b"E"), "read of a hole")
        check(r.request(b"m1,ffffffff") == b"E16", "read longer than PacketSize")
        check(r.request(b"Mffffffffffffff00,2:0000") == b"E0e", "write to an unmapped address")
        check(r.request(b"M0,1:zz") == b"E16", "malformed write")
        check(r.request(b"Z0,0,1").startswith(b"E"), "breakpoint at 0")
        check(r.request(b"p9999") == b"E16", "register past the end")
        check(r.request(b"Hg99") == b"E03", "no such thread")
        sup = r.request(b"qSupported:swbreak+")
        check(b"PacketSize=4000" in sup and b"qXfer:features:read+" in sup, sup)
        xml = r.request(b"qXfer:features:read:target.xml:0,fff")
        check(xml.startswith(b"l<?xml") and b"i386:x86-64" in xml, xml[:80])
        check(r.request(b"?").startswith(b"T05thread:"), "stop reason")
        check(r.request(b"D") == b"OK", "detach")
        r.close()
        s.g.finish(seq)
        guest_alive(s)
        # and a real GDB still gets in afterwards
        seq = s.attach()
        check("__handle_sysrq" in s.gdb.cmd("bt 3"), "GDB after raw session")
        s.detach()
        s.g.finish(seq)
    finally:
        s.close()


def test_rmmod_after_detach(k, name):
    """rmmod after a session leaves the text as it was; insmod again works."""
    s = Session(k, name)
    try:
        addr, orig = s.text_bytes()
        seq = s.attach()
        s.load_test_symbols()
        s.gdb.cmd("break kstub_test_func")
        out, call = s.cont_then("echo 2 > /proc/kstub_test/call", pending=seq)
        check("Breakpoint 1, kstub_test_func" in out, out)
        s.detach()
        s.g.finish(call)
        s.g.sh("rmmod kstub")
        _, after = s.text_bytes()
        check(after == orig, "text differs after rmmod")
        check(s.g.sh("cat /proc/tty/driver/serial | grep '^1:'").find("uart:16550") >= 0,
              "ttyS1 was not given back to the 8250 driver")
        s.g.sh("insmod /kstub.ko")
        seq = s.attach()
        check("__handle_sysrq" in s.gdb.cmd("bt 3"), "attach after re-insmod")
        s.detach()
        s.g.finish(seq)
        s.g.sh("rmmod kstub")
    finally:
        s.close()


def test_rmmod_with_breakpoints_in(k, name):
    """rmmod while GDB's breakpoints are still in the running kernel takes them out."""
    s = Session(k, name)
    try:
        addr, orig = s.text_bytes()
        seq = s.attach()
        s.load_test_symbols()
        s.gdb.cmd("break kstub_test_func")
        s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        s.g.finish(seq)
        _, live = s.text_bytes()
        check(live != orig, "breakpoint not in the running text")
        s.gdb.close()
        s.gdb = None
        s.g.sh("rmmod kstub")
        _, after = s.text_bytes()
        check(after == orig, "text differs after rmmod with breakpoints in")
        check("kstub_test_func(4, 8)" in s.g.sh("echo 4 > /proc/kstub_test/call; dmesg | tail -1"),
              "function does not run after rmmod")
    finally:
        s.close()


def test_bad_parameter(k, name):
    """A wrong uart= fails insmod with EINVAL and one dmesg line naming the parameter."""
    g = Guest(k)
    try:
        rc, out = g.finish(g.start("insmod /kstub.ko uart=bogus 2>&1"))
        check(rc != 0 and "Invalid" in out, "insmod uart=bogus: rc %d %s" % (rc, out))
        check("uart=bogus" in g.sh("dmesg | grep kstub"), "no dmesg line naming uart=")
        g.sh("insmod /kstub.ko")
    finally:
        g.check_console(expected=[r"kstub: uart=bogus"])
        g.close()
        g.keep_log(name)


TESTS = [
    test_sysrq_attach,
    test_kstubwait,
    test_breakpoint_and_stepping,
    test_oops_entry,
    test_bug_entry,
    test_memory_write,
    test_all_cpus_stopped,
    test_kaslr_offsets,
    test_detach_restores_text_and_reattach,
    test_bad_input,
    test_rmmod_after_detach,
    test_rmmod_with_breakpoints_in,
    test_bad_parameter,
]
