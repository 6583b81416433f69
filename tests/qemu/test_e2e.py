# SPDX-License-Identifier: GPL-2.0
"""End-to-end tests: a real kernel under QEMU TCG, real gdb-multiarch.

Each test boots its own guest so that one failure cannot leak into the
next, and each ends by checking the guest console for kernel complaints.
"""
import contextlib
import os
import re
import signal
import time

from harness import Gdb, Guest, RawRsp, TestFailure, check, wait_until
from registry import BUILTIN, DEBUG, KGDB, PLAIN, scenario


# What differs between the architectures, as the tests see it.
ARCH = {
    "x86_64": dict(
        regs=("rax", "rbx", "rsp", "rip", "eflags", "cs", "ss", "fs_base", "gs_base"),
        xml=b"i386:x86-64",
        bug_signal="SIGILL",
        bug_oops="invalid opcode",
        bug_warns=False,
        oops_lines=[r"BUG: kernel NULL pointer dereference", r"Oops:", r"Call Trace:",
                    r"BUG: unable to handle"],
        bug_lines=[r"kernel BUG at", r"Oops:", r"invalid opcode", r"Call Trace:"],
        mask_bits=0x300,            # eflags IF and TF
        bp_insn=b"\xcc",
        port_owner="grep '^1:' /proc/tty/driver/serial | grep -c uart:16550; true",
        uart="ttyS1",
    ),
    "arm64": dict(
        regs=("x0", "x29", "x30", "sp", "pc", "cpsr", "v0", "v31", "fpsr", "fpcr"),
        xml=b"aarch64",
        bug_signal="SIGSEGV",       # arm64's BUG() is a BRK that ends in die()
        bug_oops="Internal error: Oops - BUG",
        oops_lines=[r"Unable to handle kernel NULL pointer", r"Internal error: Oops",
                    r"Oops", r"Call trace:"],
        # arm64 6.1 itself warns in context tracking when a task dies in
        # BUG()'s debug exception (seen without kstub loaded too)
        bug_lines=[r"kernel BUG at", r"Internal error: Oops - BUG", r"Oops", r"Call trace:",
                   r"WARNING: .* at kernel/context_tracking.c:\d+ ct_kernel_exit"],
        bug_warns=True,
        mask_bits=0x3c0,            # DAIF
        bp_insn=(0xd4200000 | 0x3b0 << 5).to_bytes(4, "little"),
        port_owner="ls /sys/bus/amba/drivers/uart-pl011/ | grep -c pl011; true",
        uart="pl011",
    ),
}

TAINT_OOT_MODULE = 1 << 12
# the test kernels check module signatures (lockdown selects it), as
# Debian's do, and the test modules are not signed
TAINT_UNSIGNED_MODULE = 1 << 13
# a line of "info threads": GDB's number, the thread id, the name, kstub's extra
# ('*' for the current one, GDB's number, thread id, name, kstub's extra)
THREAD_LINE = re.compile(r'^(\*?)\s*(\d+)\s+Thread (\d+) "([^"]*)" \(([^)]*)\)', re.M)
SYSRQ_LINE = "kstub: waiting for GDB"

# kstub's device in the virtio guests is the only virtio device on PCI
VIRTIO_PORT_OWNER = "readlink /sys/bus/pci/devices/*/virtio*/driver | grep -c virtio_console; true"


def port_owner(k):
    """A guest command printing 1 when the kernel's own driver has kstub's port, else 0."""
    return VIRTIO_PORT_OWNER if k.transport == "virtio" else ARCH[k.arch]["port_owner"]


def regs_of(out):
    """GDB's 'info registers' as {name: value}."""
    regs = {}
    for m in re.finditer(r"^(\w+)\s+(0x[0-9a-f]+|-?\d+)", out, re.M):
        regs[m.group(1)] = int(m.group(2), 0) & (2 ** 64 - 1)
    return regs


def first_patchable(gdb, arch, fn):
    """The start of @fn's first line, past what kstub refuses to patch
    there on x86: the ENDBR an indirect call must land on, and ftrace's
    call site (a 5-byte NOP or a call)."""
    out = gdb.cmd("info line %s" % fn)
    m = re.search(r"starts at address (0x[0-9a-f]+)", out)
    check(m, "no line for %s: %s" % (fn, out))
    addr = int(m.group(1), 16)
    if arch != "x86_64":
        return addr
    out = gdb.cmd("x/3i %#x" % addr)
    for m in re.finditer(r"^\s*(?:=> )?(0x[0-9a-f]+)[^:]*:\s+(\S+)(.*)$", out, re.M):
        if m.group(2) == "endbr64" or m.group(2).startswith("nop") or "fentry" in m.group(3) \
                or "ftrace" in m.group(3):
            continue
        return int(m.group(1), 16)
    raise TestFailure("no instruction past the ENDBR and ftrace's site in %s:\n%s" % (fn, out))


class Session:
    """A booted guest with kstub (and the test module) loaded."""

    def __init__(self, kernel, name, test_module=True, kstub_args="", panic_on_warn=True,
                 load=True, append="", expected=()):
        self.k, self.name = kernel, name
        # console lines the test expects, which close() does not take for complaints
        self.expected = expected
        self.g = Guest(kernel, append=append, panic_on_warn=panic_on_warn)
        self.gdb = None
        self.sections = {}
        self.test_module, self.kstub_args = test_module, kstub_args
        if load:
            self.load()

    def load(self):
        self.g.sh("insmod /kstub.ko %s %s" % (self.k.kstub_args, self.kstub_args))
        if self.test_module:
            self.g.sh("insmod /kstub_test.ko")
        self.read_sections()

    def read_sections(self):
        """Where the loaded modules are, for add-symbol-file."""
        self.sections = {}
        lsmod = self.g.sh("cat /proc/modules")
        mods = [(m, ko) for m, ko in (("kstub", self.k.kstub_ko), ("kstub_test", self.k.test_ko))
                if re.search(r"^%s " % m, lsmod, re.M)]
        for mod, ko in mods:
            out = self.g.sh("for f in /sys/module/%s/sections/.*; do [ -f $f ] && "
                            "echo \"@${f##*/} $(cat $f)\"; done; true" % mod)
            # kernel messages may land in between: take only whole "@name address" lines
            self.sections[ko] = dict(re.findall(r"^@(\.\S+) (0x[0-9a-f]+)$", out, re.M))
            check(".text" in self.sections[ko], "no sections for %s:\n%s" % (mod, out))

    def new_gdb(self, suffix=""):
        if self.gdb:
            self.gdb.close()
        self.gdb = Gdb(self.k, self.name + suffix)
        return self.gdb

    def stop(self):
        """Stop the kernel with SysRq-g; returns the guest command to finish later.
        Returns once the kernel is stopping: a GDB that connected before would
        break in by itself, and the SysRq stop would come after."""
        n = self.g.console().count(SYSRQ_LINE)
        seq = self.g.start("echo g > /proc/sysrq-trigger")
        self.g.wait_logged(SYSRQ_LINE, n + 1)
        return seq

    def attach(self):
        """SysRq-g, then a fresh GDB attaches; returns the sysrq command's seq."""
        seq = self.stop()
        self.new_gdb().attach(self.g)
        return seq

    def load_test_symbols(self):
        """Symbols of kstub and the test module, at their load addresses."""
        for ko, secs in self.sections.items():
            # the sections code and variables live in; GDB misplaces the
            # debug info of .init/.exit code given its own addresses
            rest = " ".join("-s %s %s" % (n, a) for n, a in sorted(secs.items())
                            if n != ".text" and re.match(r"\.(text|data|bss|rodata)", n))
            out = self.gdb.cmd("add-symbol-file %s %s %s" % (ko, secs[".text"], rest))
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

    def resume(self, pending):
        """continue in GDB and let the guest command @pending (a seq) finish."""
        self.gdb.begin("continue")
        self.gdb.wait_printed("Continuing.")
        self.g.finish(pending)

    def check_reattach(self, what):
        """A fresh GDB attaches through SysRq-g, unwinds the sysrq path, detaches."""
        seq = self.attach()
        self.load_test_symbols()
        bt = self.gdb.cmd("bt 3")
        check("__handle_sysrq" in bt, "%s:\n%s" % (what, bt))
        self.detach()
        self.g.finish(seq)

    def break_at(self, fn):
        """A breakpoint on @fn's first line. (GDB's 'break fn' on arm64 also
        lands on the ftrace NOPs before it, which the line table gives to the
        previous function.)"""
        addr = first_patchable(self.gdb, self.k.arch, fn)
        out = self.gdb.cmd("break *%#x" % addr)
        check(re.search(r"Breakpoint \d+ at", out), out)
        return addr

    def detach(self):
        detach(self.gdb)

    def text_bytes(self):
        syms = self.g.sh("grep -w kstub_test_func /proc/kallsyms")
        m = re.search(r"^([0-9a-f]+) [tT] kstub_test_func\b", syms, re.M)
        check(m, "kstub_test_func not in kallsyms: " + syms)
        addr = m.group(1)
        out = self.g.sh("cat /proc/kstub_test/text")
        m = re.search(r"^([0-9a-f]{32,})$", out, re.M)
        check(m, "no text dump: " + out)
        return int(addr, 16), bytes.fromhex(m.group(1))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(self.expected)

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


def kallsyms(sess, sym):
    """@sym's address in the guest's /proc/kallsyms."""
    out = sess.g.sh("grep -w %s /proc/kallsyms; true" % sym)
    m = re.search(r"^([0-9a-f]+) \w %s\b" % sym, out, re.M)
    check(m, "%s not in kallsyms: %s" % (sym, out))
    return int(m.group(1), 16)


def source_line(text):
    """The line of the test module's source that holds @text."""
    with open(os.path.join(os.path.dirname(__file__), "..", "kernel", "kstub_test.c")) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise TestFailure("kstub_test.c has no %r" % text)


def gdb_addr(gdb, expr):
    out = gdb.cmd("p/x (unsigned long)%s" % expr)
    m = re.search(r"= (0x[0-9a-f]+)", out)
    check(m, "p %s: %s" % (expr, out))
    return int(m.group(1), 16)


@scenario(PLAIN, DEBUG)
def test_module_symbols(k, name):
    """Modules are GDB's shared libraries: symbols with no add-symbol-file, pending
    breakpoints in a module's init and code, unload and reload while attached."""
    with Session(k, name, test_module=False) as s:
        want = {sym: kallsyms(s, sym) for sym in ("kstub_sess", "kstub_session_feed")}
        seq = s.stop()
        g = s.new_gdb()
        # GDB finds each module's .ko by its name on this path
        g.cmd("set solib-search-path %s:%s" % (k.kstub_dir, k.test_dir))
        g.attach(s.g)
        libs = g.cmd("info sharedlibrary")
        check(re.search(r"Yes\s+\S*/kstub\.ko", libs), "kstub.ko not loaded:\n" + libs)
        check(gdb_addr(g, "&kstub_sess") == want["kstub_sess"],
              "kstub's variable is not where the kernel put it")
        # (arm64's debug info starts a function after its ftrace NOPs)
        out = g.cmd("info symbol %#x" % want["kstub_session_feed"])
        check(re.match(r"kstub_session_feed in section \.text of \S*/kstub\.ko", out),
              "kstub's function is not where the kernel put it: " + out)
        bt = g.cmd("bt 8")
        check(re.search(r"kstub_sysrq \(.*\) at \S*/stub/main\.c:\d+", bt),
              "no source lines in kstub's own frames:\n" + bt)
        # breakpoints in a module that is not loaded yet, on source lines
        # (arm64's 'break fn' has a second location on the ftrace NOPs)
        g.cmd("set breakpoint pending on")
        for where in (source_line("hrtimer_init(&kstub_test_timer"),
                      source_line("int sum = a + b;")):
            check("pending" in g.cmd("break kstub_test.c:%d" % where), "not pending: %d" % where)
        out, ins = s.cont_then("insmod /kstub_test.ko", pending=seq)
        check(re.search(r"Breakpoint 1, kstub_test_init \(\) at \S*kstub_test\.c:\d+", out),
              "no stop in the module's init:\n" + out)
        check("do_init_module" in g.cmd("bt 4"), "init is not called from do_init_module")
        init_pc = gdb_addr(g, "$pc")
        libs = g.cmd("info sharedlibrary")
        check(re.search(r"Yes\s+\S*/kstub_test\.ko", libs), "kstub_test.ko not loaded:\n" + libs)
        out, call = s.cont_then("echo 5 > /proc/kstub_test/call", pending=ins)
        check(re.search(r"Breakpoint 2, kstub_test_func \(a=(a@entry=)?5, b=(b@entry=)?10\) at "
                        r"\S*kstub_test\.c:\d+", out), "no stop in the module's code:\n" + out)
        bt = g.cmd("bt 3")
        check(re.search(r"kstub_test_call_write \(.*\) at \S*kstub_test\.c:\d+", bt),
              "bt through module code:\n" + bt)
        # init has run and its memory is freed, maybe to be the next
        # module's init: GDB no longer names it after this module's init
        out = g.cmd("info symbol %#x" % init_pc)
        check("No symbol matches" in out, "GDB still names freed init code: " + out)
        libs = g.cmd("info sharedlibrary")
        check(re.search(r"Yes\s+\S*/kstub_test\.ko", libs), "kstub_test.ko gone:\n" + libs)
        # a variable the linker gave an address of its own in the .ko
        where = gdb_addr(g, "&kstub_test_global")
        check(re.search(r"= 42\b", g.cmd("p kstub_test_global")), "wrong value")
        # unloaded while GDB is attached: GDB forgets it, the breakpoint waits
        c = g.begin("continue")
        g.wait_printed("Continuing.")
        s.g.finish(call)
        check(where == kallsyms(s, "kstub_test_global"),
              "the module's variable is not where the kernel put it")
        check(s.g.finish(s.g.start("rmmod kstub_test"))[0] == 0, "rmmod failed")
        seq = s.stop()
        g.end(c)
        libs = g.cmd("info sharedlibrary")
        check("kstub_test.ko" not in libs, "kstub_test.ko still listed:\n" + libs)
        check("<PENDING>" in g.cmd("info breakpoints"), "breakpoints not pending again")
        # and loaded again, somewhere else perhaps: the breakpoints follow
        out, ins = s.cont_then("insmod /kstub_test.ko", pending=seq)
        check(re.search(r"Breakpoint 1, kstub_test_init \(\) at", out),
              "no stop in init after reload:\n" + out)
        g.cmd("delete")
        s.detach()
        s.g.finish(ins)
        check("kstub_test_func(3, 6) = " in s.g.sh("echo 3 > /proc/kstub_test/call; dmesg | tail -3"),
              "module code does not run after detach")
        guest_alive(s)


def scripts_gdb(s):
    """A GDB with the kernel's own scripts (vmlinux-gdb.py) and kstub.ko's,
    which GDB loads from the .ko (auto-load must allow them)."""
    g = s.new_gdb()
    g.cmd("set auto-load safe-path /")
    g.cmd("set solib-search-path %s:%s" % (s.k.kstub_dir, s.k.test_dir))
    out = g.cmd("source %s" % os.path.join(s.k.kdir, "vmlinux-gdb.py"))
    check("Error" not in out and "Traceback" not in out, "vmlinux-gdb.py:\n" + out)
    return g


@scenario(PLAIN)
def test_kernel_scripts(k, name):
    """The kernel's GDB scripts work over kstub: lx-dmesg, lx-ps, lx-lsmod, $lx_current()."""
    with Session(k, name) as s:
        s.g.sh("sleep 4321 & echo $! > /tmp/sleeper; true")
        sleeper = int(s.g.sh("cat /tmp/sleeper"))
        s.g.sh("echo kstub-marker-$((6*7)) > /dev/kmsg")
        seq = s.stop()
        g = scripts_gdb(s)
        g.attach(s.g)
        dmesg = g.cmd("lx-dmesg", timeout=300)
        check("kstub-marker-42" in dmesg and "kstub: ready on" in dmesg,
              "lx-dmesg lacks the log:\n" + dmesg[-2000:])
        ps = g.cmd("lx-ps", timeout=300)
        check(re.search(r"\b%d\s+sleep\b" % sleeper, ps), "lx-ps lacks the sleeper:\n" + ps)
        lsmod = g.cmd("lx-lsmod")
        for mod in ("kstub", "kstub_test"):
            check(re.search(r"^0x[0-9a-f]+\s+%s\s" % mod, lsmod, re.M),
                  "lx-lsmod lacks %s:\n%s" % (mod, lsmod))
        # the current task: the shell that wrote to sysrq-trigger
        check(re.search(r'= "sh"', g.cmd("p $lx_current().comm")),
              "$lx_current() is not the stopped shell")
        # what runs on CPU 1, asked from its thread (the scripts read the
        # CPU's current task on x86, SP_EL0, each thread's own task, on arm64)
        threads = g.cmd("info threads")
        on1 = [m for m in THREAD_LINE.finditer(threads) if re.match(r"CPU 1\b", m.group(5))]
        check(len(on1) == 1, "not one thread running on CPU 1:\n" + threads)
        num, comm = on1[0].group(2), on1[0].group(4)
        check(comm in g.cmd("monitor cpus").split("CPU 1:")[1].split("\n")[0],
              "monitor cpus does not have %s on CPU 1" % comm)
        g.cmd("thread " + num)
        check('= "%s' % comm in g.cmd("p $lx_current().comm"),
              "$lx_current() in the thread on CPU 1 is not %s" % comm)
        if k.arch == "x86_64":
            # and by number, and from CPU 1's idle thread whatever runs there
            check('= "%s' % comm in g.cmd("p $lx_current(1).comm"),
                  "$lx_current(1) is not %s" % comm)
            m = re.search(r"Thread (\d+) has (target )?name", g.cmd("thread find swapper/1"))
            check(m, "no idle thread for CPU 1")
            g.cmd("thread %s" % m.group(1))
            check('= "%s' % comm in g.cmd("p $lx_current().comm"),
                  "$lx_current() in CPU 1's idle thread is not %s" % comm)
        s.detach()
        s.g.finish(seq)
        s.g.sh("kill %d" % sleeper)
        guest_alive(s)


@scenario(PLAIN)
def test_lx_symbols(k, name):
    """lx-symbols loads the modules' symbols over kstub. It reloads vmlinux at its
    link address, so this guest runs without KASLR, as the script needs."""
    with Session(k, name, append="nokaslr") as s:
        text = s.sections[k.test_ko][".text"]
        seq = s.stop()
        g = scripts_gdb(s)
        g.attach(s.g)
        out = g.cmd("lx-symbols %s %s" % (k.test_dir, k.kstub_dir), timeout=300)
        check(re.search(r"loading @%s: \S*/kstub_test\.ko" % text, out),
              "lx-symbols did not load kstub_test.ko at %s:\n%s" % (text, out))
        check("Traceback" not in out and "Error" not in out, "lx-symbols:\n" + out)
        out, call = s.cont_then("echo 4 > /proc/kstub_test/call", pending=seq) \
            if "Breakpoint" in g.cmd("break kstub_test.c:%d" % source_line("int sum = a + b;")) \
            else (None, None)
        check(out and re.search(r"kstub_test_func \(a=(a@entry=)?4, b=(b@entry=)?8\) at "
                                r"\S*kstub_test\.c:\d+", out), "no stop in module code:\n%s" % out)
        g.cmd("delete")
        s.detach()
        s.g.finish(call)
        guest_alive(s)


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
    """insmod kstubwait=1 blocks until GDB attaches, and GDB sees that stop."""
    kstubwait_module(k, name, "insmod /kstub.ko kstubwait=1 %s" % k.kstub_args)


@scenario(PLAIN, DEBUG)
def test_breakpoint_and_stepping(k, name):
    """Breakpoint on the test function: hit with named arguments, finish, next, step, stepi, hit again."""
    with Session(k, name) as s:
        seq = s.attach()
        s.load_test_symbols()
        s.break_at("kstub_test_func")
        stop, call = s.cont_then("echo 5 > /proc/kstub_test/call", pending=seq)
        check(re.search(r"Breakpoint 1, kstub_test_func \(a=(a@entry=)?5, b=(b@entry=)?10\)", stop), "no hit:\n" + stop)
        args = s.gdb.cmd("info args")
        check("a = 5" in args and "b = 10" in args, args)
        fin = s.gdb.cmd("finish")
        check("Run till exit" in fin and re.search(r"Value returned is \$\d+ = 132", fin),
              "finish:\n" + fin)
        out, call2 = s.cont_then("echo 7 > /proc/kstub_test/call", pending=call)
        check(re.search(r"Breakpoint 1, kstub_test_func \(a=(a@entry=)?7, b=(b@entry=)?14\)", out), "second hit:\n" + out)
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
            check(re.search(r"= 0xffff[0-9a-f]{12}$", pc), "stepi left the kernel: " + pc)
            pcs.add(pc)
        check(len(pcs) == 4, "stepi did not move the pc: %s" % pcs)
        out, call3 = s.cont_then("echo 9 > /proc/kstub_test/call", pending=call2)
        check(re.search(r"Breakpoint 1, kstub_test_func \(a=(a@entry=)?9, b=(b@entry=)?18\)", out), "third hit:\n" + out)
        s.gdb.cmd("delete")
        s.detach()
        s.g.finish(call3)
        check("kstub_test_func(9, 18) = 204" in s.g.console(), "call result wrong after stepping")
        guest_alive(s)


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


PANIC_MSG = "kstub-test panic 7 sh 8 9 10 11 feed"
PANIC_LINES = [r"Kernel panic - not syncing: " + PANIC_MSG, r"kstub: panic: " + PANIC_MSG,
               r"Call Trace:", r"Call trace:"]


def kallsyms_addr(s, symbol):
    """@symbol's address as the running kernel has it (the guest must run).
    For per-CPU data GDB's own is wrong under KASLR on x86_64: GDB
    relocates the zero-based per-CPU symbols by the text offset."""
    return int(s.g.sh("grep -w %s /proc/kallsyms" % symbol).split()[0], 16)


def other_cpu_thread(g, threads, runqueues):
    """The one CPU thread in @threads ('info threads') that is not GDB's
    current one, checked against the task the scheduler has running on
    that CPU (@runqueues: its address from kallsyms_addr()). Returns
    (GDB's thread number, pid, name, CPU)."""
    other = [(int(m.group(2)), int(m.group(3)), m.group(4), int(m.group(5).split()[1]))
             for m in THREAD_LINE.finditer(threads)
             if m.group(5).startswith("CPU ") and not m.group(1)]
    check(len(other) == 1, "want one other CPU's thread:\n" + threads)
    _, pid, _, cpu = other[0]
    curr = g.cmd("p ((struct rq *)(%#x + __per_cpu_offset[%d]))->curr->pid" % (runqueues, cpu))
    check(re.search(r"= %d$" % pid, curr.strip()),
          "CPU %d's thread is not the task it runs: %s, the scheduler's %s"
          % (cpu, other[0], curr.strip()))
    return other[0]


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


def wait_reboot(s, what, timeout=60):
    """The guest reboots (QEMU runs with -no-reboot: it exits)."""
    deadline = time.time() + timeout
    while s.g.qemu.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    check(s.g.qemu.poll() is not None, what)


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


@contextlib.contextmanager
def guest_with_gdb(k, name, **guest_args):
    """A guest with nothing loaded, and a GDB not attached yet; at the end
    both go, and the console is checked."""
    g = Guest(k, **guest_args)
    gdb = None
    try:
        gdb = Gdb(k, name)
        yield g, gdb
    finally:
        if gdb:
            gdb.close()
        g.check_console()
        g.close()
        g.keep_log(name)


def detach(gdb):
    out = gdb.cmd("detach")
    check("detached" in out.lower(), "detach failed:\n" + out)


def kstubwait_attached(g, gdb):
    """GDB attaches to a kernel stopped by kstubwait; returns what it printed."""
    out = gdb.attach(g)
    check("SIGTRAP" in out + gdb.cmd("info program"), "no SIGTRAP stop:\n" + out)
    return out


def kstubwait_module(k, name, load, append=""):
    """The guest command @load, loading kstub with kstubwait, waits for GDB; GDB
    sees the stop in kstub's init; @load finishes once GDB detaches."""
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


@scenario(PLAIN)
def test_modprobe_kstubwait(k, name):
    """kstub.kstubwait=1 on the kernel command line holds a modprobe of kstub for GDB."""
    kstubwait_module(k, name, "r=$(uname -r); mkdir -p /lib/modules/$r; "
                     "cp /kstub.ko /lib/modules/$r/; depmod; modprobe kstub %s" % k.kstub_args,
                     append="kstub.kstubwait=1")


def builtin_args(k):
    """kstub's parameters on the command line of a kernel it is built into."""
    if k.transport == "virtio":
        return "kstub.virtio=auto"
    return "kstub.uart=" + ARCH[k.arch]["uart"]


@scenario(BUILTIN, transport=True)
def test_builtin_kstubwait(k, name):
    """Built in, kstubwait stops the boot in kstub's initcall, before init; a
    breakpoint on a later initcall is hit; one left in the kernel's init code
    is never written once that code is freed; the booted kernel then stops
    on SysRq-g as with the module."""
    with guest_with_gdb(k, name, append="kstubwait " + builtin_args(k),
                        wait_shell=False) as (g, gdb):
        # arm64's virtio console is not up yet at that point of a 6.1 boot,
        # and says nothing: then GDB's look at the log and the state tells
        try:
            g.wait_for("kstubwait: waiting for GDB", 20)
        except TestFailure:
            check(not g.console().strip(), "no kstubwait stop:\n" + g.log_tail())
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
def test_memory_write(k, name):
    """set var on a module global is seen by the guest."""
    with Session(k, name) as s:
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


def module_array(gdb, name):
    """The values of one of the test module's unsigned long arrays."""
    gdb.cmd("set print repeats unlimited")
    out = gdb.cmd("p " + name)
    m = re.search(r"= \{([\d, ]*)\}", out)
    check(m, "cannot read %s: %s" % (name, out))
    return [int(n) for n in m.group(1).split(",")]


def counters(gdb):
    return module_array(gdb, "kstub_test_counters")


def busy(s):
    """The test module's busy thread on each CPU, once each has counted."""
    s.g.sh("echo 1 > /proc/kstub_test/busy")
    wait_until(lambda: all(int(c) for c in s.g.sh("cat /proc/kstub_test/busy").split()[:2]),
               "the busy threads do not run")


@scenario(PLAIN, DEBUG)
def test_all_cpus_stopped(k, name):
    """While stopped, the per-CPU busy threads do not count; every CPU is a GDB thread."""
    with Session(k, name) as s:
        check(s.g.sh("grep -c ^processor /proc/cpuinfo").strip().endswith("2"), "guest needs 2 CPUs")
        busy(s)
        runqueues = kallsyms_addr(s, "runqueues")
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
        # the other CPU's thread is the task that CPU was running, as the
        # scheduler has it (mostly its busy thread; a kworker at times)
        other = other_cpu_thread(s.gdb, threads, runqueues)
        t2 = s.gdb.cmd("thread %d" % other[0])
        check("Switching to thread %d" % other[0] in t2, t2)
        bt = s.gdb.cmd("bt 3")
        check(re.search(r"#0\s+\S", bt), "no frame on the other CPU:\n" + bt)
        me = [m.group(2) for m in THREAD_LINE.finditer(threads) if m.group(1)]
        s.gdb.cmd("thread " + me[0])
        # and they do count once the kernel runs again
        s.resume(seq)
        time.sleep(1)
        seq = s.stop()
        stop = s.gdb.end(s.gdb.seq)
        check("SIGTRAP" in stop, stop)
        c3 = counters(s.gdb)
        check(c3[0] > c2[0] and c3[1] > c2[1], "counters did not move while running: %s -> %s" % (c2, c3))
        s.detach()
        s.g.finish(seq)
        s.g.sh("echo 0 > /proc/kstub_test/busy")


def stop_location(s, what):
    """Where GDB says the kernel stopped; must be kernel code outside kstub."""
    pc = int(re.search(r"= (0x[0-9a-f]+)", s.gdb.cmd("p/x $pc")).group(1), 16)
    where = s.gdb.cmd("info symbol $pc").strip()
    symbol = where.split(" in section ")[0]
    check(pc >> 48 == 0xffff, "%s: pc %#x is not kernel code" % (what, pc))
    # kstub's symbols are loaded: its own code says "of .../kstub.ko"
    # (a stepi may land in a module's PLT, which has no symbol)
    check("/kstub.ko" not in where,
          "%s: stopped inside kstub, not in the interrupted code: %s" % (what, where))
    return pc, symbol


def check_stepi_from(s, what):
    pc, _ = stop_location(s, what)
    s.gdb.cmd("stepi")
    pc2, _ = stop_location(s, what + ", after stepi")
    check(pc2 != pc, "%s: stepi did not move from %#x" % (what, pc))


@scenario(PLAIN, KGDB, DEBUG, transport=True)
def test_break_in(k, name):
    """GDB attaches to a running kernel without SysRq; Ctrl-C stops it, in
    the interrupted code, whether the CPUs are busy, idle, or in a storm of
    softirqs (pending at nearly every interrupt's exit: on arm64 the step
    must wait for a moment they are not, or for softirq context)."""
    with Session(k, name) as s:
        out = s.new_gdb().attach(s.g)
        s.load_test_symbols()
        check_stepi_from(s, "attach to a running kernel")
        for load, busy, storm in (("busy", 1, 0), ("softirq storm", 0, 1), ("idle", 0, 0)):
            cont = s.gdb.begin("continue")
            s.gdb.wait_printed("Continuing.")
            s.g.sh("echo %d > /proc/kstub_test/busy; echo %d > /proc/kstub_test/softirqs"
                   % (busy, storm))
            time.sleep(1)
            t0 = time.time()
            s.gdb.p.send_signal(signal.SIGINT)
            out = s.gdb.end(cont, timeout=30)
            took = time.time() - t0
            print("    Ctrl-C (%s) stopped the kernel in %.2f s" % (load, took))
            check("SIGINT" in out, "Ctrl-C gave no SIGINT stop:\n" + out)
            c1 = counters(s.gdb)
            time.sleep(1)
            check(counters(s.gdb) == c1, "the kernel still runs after Ctrl-C")
            check_stepi_from(s, "Ctrl-C, " + load)
        threads = s.gdb.cmd("info threads")
        check("did not stop" not in threads, "a CPU did not stop:\n" + threads)
        s.detach()
        guest_alive(s)


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


@scenario(PLAIN, KGDB, transport=True)
def test_bad_input(k, name):
    """Bad checksums, garbage, over-long and unknown packets, bad addresses: correct answers, still serving."""
    with Session(k, name, test_module=False) as s:
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
        sup = r.request(b"qSupported").decode()
        m = re.search(r"PacketSize=([0-9a-f]+)", sup)
        check(m, "no PacketSize in %r" % sup)
        # 64 KiB through a polled tty takes a while under TCG
        check(r.request(b"x" * (int(m.group(1), 16) + 100), timeout=180) == b"E5a",
              "over-long packet")
        check(r.request(b"qKstubNoSuchPacket") == b"", "unknown packet must get an empty reply")
        check(r.request(b"vKstubNoSuch;1") == b"", "unknown v packet")
        check(r.request(b"m0,8") == b"E0e", "read of address 0")
        check(r.request(b"mffff800000000000,10").startswith(b"E"), "read of a hole")
        check(r.request(b"m1,ffffffff") == b"E16", "read longer than PacketSize")
        check(r.request(b"Mffffffffffffff00,2:0000") == b"E0e", "write to an unmapped address")
        check(r.request(b"M0,1:zz") == b"E16", "malformed write")
        check(r.request(b"Z0,0,1").startswith(b"E"), "breakpoint at 0")
        check(r.request(b"p9999") == b"E16", "register past the end")
        check(r.request(b"Hg3fffff0") == b"E03", "no such thread")
        sup = r.request(b"qSupported:swbreak+")
        check(b"PacketSize=10000" in sup and b"qXfer:features:read+" in sup, sup)
        xml = r.request(b"qXfer:features:read:target.xml:0,fff")
        check(xml.startswith(b"l<?xml") and ARCH[k.arch]["xml"] in xml, xml[:80])
        check(r.request(b"?").startswith(b"T05thread:"), "stop reason")
        # acks can go only where the link cannot lose bytes
        if k.transport == "virtio":
            check(b"QStartNoAckMode+" in sup, "virtio does not offer no-ack mode: %r" % sup)
            check(r.request(b"QStartNoAckMode") == b"OK", "QStartNoAckMode")
            r.write(r.frame(b"qC"))
            r.read_until(lambda b: len(b) >= 1)
            check(r.buf.startswith(b"$"), "acked in no-ack mode: %r" % r.buf[:20])
            check(r.read_packet().startswith(b"QC"), "qC in no-ack mode")
            r.write(r.frame(b"D"))
            check(r.read_packet() == b"OK", "detach in no-ack mode")
        else:
            check(b"QStartNoAckMode" not in sup, "a UART must keep acks: %r" % sup)
            check(r.request(b"D") == b"OK", "detach")
        r.close()
        s.g.finish(seq)
        guest_alive(s)
        # and a real GDB still gets in afterwards
        s.check_reattach("GDB after raw session")


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


def timer_interrupts(s):
    """Local timer interrupts taken so far, per CPU."""
    out = s.g.sh("cat /proc/interrupts")
    label = "LOC:" if s.k.arch == "x86_64" else "arch_timer"
    line = [l for l in out.splitlines() if label in l]
    check(line, "no timer line in /proc/interrupts:\n" + out)
    return [int(x) for x in re.findall(r"\s(\d+)", line[0].split(":", 1)[1])[:2]]


def every_cpu_takes_interrupts(s):
    """With a busy thread on each CPU, every CPU's timer interrupt count moves."""
    s.g.sh("echo 1 > /proc/kstub_test/busy")
    before = timer_interrupts(s)
    time.sleep(1)
    after = timer_interrupts(s)
    s.g.sh("echo 0 > /proc/kstub_test/busy")
    check(all(b > a for a, b in zip(before, after)),
          "a CPU takes no timer interrupts after the session: %s -> %s" % (before, after))


@scenario(PLAIN, DEBUG)
def test_step_with_interrupts_firing(k, name):
    """200 stepi through straight-line code while a 10 kHz hrtimer fires: every stop is the next instruction."""
    with Session(k, name) as s:
        s.g.sh("echo 100 > /proc/kstub_test/timer")
        t0 = int(s.g.sh("cat /proc/kstub_test/timer").split()[-1])
        time.sleep(1)
        t = int(s.g.sh("cat /proc/kstub_test/timer").split()[-1])
        check(t > t0, "the hrtimer does not fire: %d -> %d" % (t0, t))
        seq = s.attach()
        s.load_test_symbols()
        lo = int(re.search(r"0x[0-9a-f]+", s.gdb.cmd("p/x &kstub_test_straight")).group(0), 16)
        s.break_at("kstub_test_straight")
        out, steps = s.cont_then("echo 1 > /proc/kstub_test/steps", pending=seq)
        check("Breakpoint 1, " in out, out)
        # one GDB loop, so the 200 steps are not 400 round trips from here
        out = s.gdb.cmd("set $i = 0\nwhile $i < 200\nstepi\nprintf \"@PC %lx\\n\", $pc\n"
                        "set $i = $i + 1\nend", timeout=300)
        pcs = [int(x, 16) for x in re.findall(r"^@PC ([0-9a-f]+)$", out, re.M)]
        check(len(pcs) == 200, "%d of 200 steps reported:\n%s" % (len(pcs), out[-2000:]))
        prev = None
        for i, pc in enumerate(pcs):
            check(lo <= pc < lo + 4096, "step %d left kstub_test_straight: pc %#x" % (i, pc))
            if prev is not None:
                check(0 < pc - prev <= 15, "step %d is not the next instruction: %#x -> %#x"
                      % (i, prev, pc))
            prev = pc
        s.gdb.cmd("delete")
        s.detach()
        s.g.finish(steps)
        # every CPU takes interrupts again once GDB lets go (whether this
        # test's hrtimer always resumes on x86 6.1 is still under study)
        every_cpu_takes_interrupts(s)
        s.g.sh("echo 0 > /proc/kstub_test/timer")


def step_straight_line(s, func):
    """stepi, one instruction at a time, from the stop to @func's first
    branch: each step must end on the next instruction (not past it, as
    a step over an instruction that unmasks interrupts may, and not in an
    interrupt handler). Returns how many steps it took."""
    insns = []
    for m in re.finditer(r"(0x[0-9a-f]+) <%s(?:\+\d+)?>:\s+(\S+)" % re.escape(func),
                         s.gdb.cmd("x/64i $pc")):
        insns.append((int(m.group(1), 16), m.group(2)))
    check(len(insns) > 1, "no disassembly of %s" % func)
    branch = re.compile(r"^(j\w*|call\w*|ret\w*|b|bl|blr|br|b\.\w+|cbn?z|tbn?z|eret)$")

    def pc():
        return int(re.search(r"0x[0-9a-f]+", s.gdb.cmd("p/x $pc")).group(0), 16)

    steps = 0
    i = 0
    while i + 1 < len(insns) and not branch.match(insns[i][1]):
        addr, op = insns[i]
        check(pc() == addr, "step %d: at %#x, want %#x (%s)" % (steps, pc(), addr, op))
        s.gdb.cmd("stepi")
        steps += 1
        # x86: the CPU (and QEMU) takes the step's trap only after the
        # instruction in sti's interrupt shadow (Documentation/arch.rst)
        ends = [insns[i + 1][0]]
        if op == "sti" and i + 2 < len(insns):
            ends.append(insns[i + 2][0])
        now = pc()
        check(now in ends, "stepi over %s at %#x ended at %#x, not at %s"
              % (op, addr, now, " or ".join("%#x" % e for e in ends)))
        i += ends.index(now) + 1
    return steps


@scenario(PLAIN)
def test_step_interrupt_mask_instructions(k, name):
    """Stepping the instructions that read and change the interrupt mask
    ends each step on the next instruction and gives the values they give
    undebugged."""
    with Session(k, name) as s:
        bits = ARCH[k.arch]["mask_bits"]
        s.g.sh("echo 1 > /proc/kstub_test/mask")
        want = [int(x, 16) & bits for x in s.g.sh("cat /proc/kstub_test/mask").split()[-3:]]
        check(want[0] != want[1] and want[0] == want[2], "the test function did not change the mask: %s"
              % want)
        seq = s.attach()
        s.load_test_symbols()
        s.break_at("kstub_test_irqmask")
        out, run = s.cont_then("echo 1 > /proc/kstub_test/mask", pending=seq)
        check("Breakpoint 1, " in out, out)
        s.gdb.cmd("delete")
        steps = step_straight_line(s, "kstub_test_irqmask")
        check(steps >= 5, "only %d instructions stepped" % steps)
        s.detach()
        s.g.finish(run)
        got = [int(x, 16) & bits for x in s.g.sh("cat /proc/kstub_test/mask").split()[-3:]]
        check(got == want, "stepped: mask bits %s, undebugged %s" % ([hex(x) for x in got],
                                                                   [hex(x) for x in want]))


@scenario(PLAIN, arch="arm64")
def test_fpsimd_registers(k, name):
    """GDB sees the live FP/SIMD registers of the stopped code (kgdb reports zeros)."""
    with Session(k, name) as s:
        seq = s.attach()
        s.load_test_symbols()
        s.break_at("kstub_test_fp_probe")
        out, run = s.cont_then("echo 1 > /proc/kstub_test/fp", pending=seq)
        check("Breakpoint 1, " in out, out)
        v7 = s.gdb.cmd("p/x $v7")
        check("0x" + "5a" * 16 in v7, "v7: " + v7)
        v30 = s.gdb.cmd("p/x $v30")
        check("0x" + "ff00" * 8 in v30, "v30: " + v30)
        check(re.search(r"fpcr\s+0x", s.gdb.cmd("info registers fpcr")), "no fpcr")
        s.gdb.cmd("delete")
        s.detach()
        s.g.finish(run)


def insmod_fails(g, args, named):
    """insmod kstub @args fails with EINVAL and one dmesg line naming @named."""
    rc, out = g.finish(g.start("insmod /kstub.ko %s 2>&1" % args))
    check(rc != 0 and "Invalid" in out, "insmod %s: rc %d %s" % (args, rc, out))
    # busybox insmod tries init_module after finit_module: one line per try
    lines = {re.sub(r"^\[[ \d.]+\] ", "", l)
             for l in g.sh("dmesg | grep kstub:").splitlines() if named in l}
    check(len(lines) == 1, "want one dmesg line naming %s, got %s" % (named, lines))


@scenario(PLAIN, transport=True)
def test_bad_parameter(k, name):
    """A wrong transport parameter fails insmod with EINVAL and one dmesg line naming it."""
    g = Guest(k)
    cases = [("uart=bogus", "uart=bogus"), ("virtio=bogus", "virtio=bogus"),
             ("uart=%s virtio=auto" % ARCH[k.arch]["uart"], "virtio=auto"),
             # these kernels have no CONFIG_CONSOLE_POLL
             ("tty=ttyS0", "tty=ttyS0")]
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


# ---- a kgdb kernel: kstub on a tty it shares, and kgdb beside it ----

def ctrl_c(s, what, meanwhile=None):
    """continue, run @meanwhile, then GDB's Ctrl-C: it must stop the kernel,
    outside kstub. How fast is make bench's to measure (no wall-clock
    assertion under TCG); GDB gives up after 30 s."""
    cont = s.gdb.begin("continue")
    s.gdb.wait_printed("Continuing.")
    if meanwhile:
        meanwhile()
    time.sleep(1)
    t0 = time.time()
    s.gdb.p.send_signal(signal.SIGINT)
    out = s.gdb.end(cont, timeout=30)
    took = time.time() - t0
    print("    Ctrl-C (%s) stopped the kernel in %.2f s" % (what, took))
    check("SIGINT" in out, "%s: Ctrl-C gave no SIGINT stop:\n%s" % (what, out))
    check_stepi_from(s, what)


def line_to_guest(s, text):
    """Type @text on GDB's line, as a terminal on it would, with GDB away."""
    r = RawRsp(s.g.gdb_port)
    r.write(text.encode() + b"\n")
    time.sleep(0.5)
    r.close()


NOISE = "kstub-noise $m0,4 #1 +-"


@scenario(KGDB)
def test_tty_shared(k, name):
    """tty= shares the console's line: attach to a running kernel, Ctrl-C, console output
    in between, a getty-like reader on the tty; the line goes back on detach and rmmod."""
    with Session(k, name) as s:
        tty = k.facts["tty"]
        ready = s.g.sh("dmesg | grep 'kstub: ready'")
        check("ready on tty " + tty in ready, "not on the shared tty: " + ready)
        check(s.g.sh("cat /proc/consoles | grep -c '^%s'; true" % tty).strip() == "1",
              "%s is not a console" % tty)
        # the tty is closed: kstub polls it, and a new GDB's first packet stops the kernel
        s.new_gdb().attach(s.g)
        s.load_test_symbols()
        check_stepi_from(s, "attach over the shared tty")
        # kernel messages on the same line, with packet characters in them,
        # while GDB waits for the kernel to stop (a few hundred a second:
        # QEMU does not pace this UART, and a flood GDB cannot print as
        # fast as it comes would queue up in front of the stop)
        s.break_at("kstub_test_func")
        cont = s.gdb.begin("continue")
        s.gdb.wait_printed("Continuing.")
        s.g.sh("(while :; do echo '%s' > /dev/kmsg; usleep 5000; done) >/dev/null 2>&1 & echo $! > /tmp/noise"
               % NOISE)
        time.sleep(2)
        call = s.g.start("echo 5 > /proc/kstub_test/call")
        out = s.gdb.end(cont, timeout=60)
        check(re.search(r"Breakpoint 1, kstub_test_func \(a=(a@entry=)?5", out), "no hit:\n" + out)
        check(NOISE in s.g.console(), "the guest printed no noise")
        check(NOISE in out, "the console's text did not reach GDB:\n" + out[-2000:])
        fin = s.gdb.cmd("finish")
        check(re.search(r"Value returned is \$\d+ = 132", fin), "finish:\n" + fin)
        s.gdb.cmd("delete")
        ctrl_c(s, "console output on the line")
        dump = s.gdb.cmd("dump binary memory %s/dump.bin _stext _stext+16384"
                         % s.g.dir, timeout=120)
        check(os.path.getsize(s.g.dir + "/dump.bin") == 16384, "memory dump short:\n" + dump)

        # a reader holds the tty open, as a getty would: the driver takes the
        # bytes now. GDB's Ctrl-C still reaches kstub, and none of GDB's
        # bytes reach the reader
        def open_tty():
            s.g.finish(call)
            s.g.sh("kill $(cat /tmp/noise)")
            s.g.sh("cat /dev/%s > /tmp/ttyin 2>&1 & echo $! > /tmp/reader" % tty)
        ctrl_c(s, "the tty open", open_tty)
        s.detach()
        line_to_guest(s, "typed-after-detach")
        wait_until(lambda: "typed-after-detach" in s.g.sh("cat /tmp/ttyin"),
                   "the line was not given back on detach", timeout=10)
        got = s.g.sh("cat /tmp/ttyin")
        check(not re.search(r"[$#]|qSupported|vCont", got), "GDB's bytes reached the tty: %r" % got)
        # sysrq still stops it with the tty open; a new GDB gets in
        seq = s.attach()
        check(re.search(r"= \d+", s.gdb.cmd("p jiffies")), "GDB does not work with the tty open")
        s.detach()
        s.g.finish(seq)
        s.g.sh("r=$(cat /tmp/reader); kill $r; while kill -0 $r 2>/dev/null; do usleep 50000; done")
        # closed again; a console's port stays started, so its interrupt now
        # reads the line, and a new GDB still stops the kernel by itself
        s.new_gdb().attach(s.g)
        check(re.search(r"= \d+", s.gdb.cmd("p jiffies")), "attach after the tty closed")
        s.detach()
        s.g.sh("rmmod kstub")
        # and the tty works as before without kstub
        s.g.sh("cat /dev/%s > /tmp/ttyin2 2>&1 & r=$!; echo $r > /tmp/reader; "
               "while ! ls -l /proc/$r/fd 2>/dev/null | grep -q /dev/%s; do usleep 50000; done"
               % (tty, tty), timeout=30)
        line_to_guest(s, "typed-after-rmmod")
        wait_until(lambda: "typed-after-rmmod" in s.g.sh("cat /tmp/ttyin2"),
                   "the tty lost its input after rmmod", timeout=10)
        s.g.sh("kill $(cat /tmp/reader)")
        guest_alive(s)


def kgdb_stops(s, what):
    """SysRq-g enters kgdb: a GDB on kgdboc's port sees kgdb's breakpoint; detach."""
    seq = s.g.start("echo g > /proc/sysrq-trigger")
    s.g.wait_for("DEBUG", 30)
    gdb = Gdb(s.k, s.name + "-kgdb")
    try:
        out = gdb.cmd("target remote 127.0.0.1:%d" % s.g.kgdb_port, timeout=60)
        check("Remote debugging using" in out, "%s: kgdb did not answer:\n%s" % (what, out))
        bt = gdb.cmd("bt 4")
        check("kgdb_breakpoint" in bt and "__handle_sysrq" in bt,
              "%s: not stopped in kgdb:\n%s" % (what, bt))
        gdb.cmd("detach")
    finally:
        gdb.close()
    s.g.finish(seq)


@scenario(KGDB)
def test_kgdb_coexist(k, name):
    """With kgdb and kgdboc configured, kstub loads, takes SysRq-g and its own port; rmmod
    gives SysRq-g back to kgdb."""
    # kgdb knows nothing of KASLR (no qOffsets): GDB's symbols must fit as linked
    with Session(k, name, load=False, append="nokaslr", expected=[r"kstub: tty=ttyXYZ9"]) as s:
        check("KGDB: Registered I/O driver kgdboc" in s.g.sh("dmesg"), "kgdboc is not configured")
        kgdb_stops(s, "before kstub")
        # a tty that is not there fails insmod with one line naming it
        insmod_fails(s.g, "tty=ttyXYZ9", "tty=ttyXYZ9")
        s.load()
        check("sysrq 'g' stops in kstub now" in s.g.sh("dmesg | grep kstub:"),
              "kstub did not say it took SysRq-g from kgdb")
        seq = s.attach()
        s.load_test_symbols()
        check("__handle_sysrq" in s.gdb.cmd("bt 4"), "SysRq-g did not stop in kstub")
        s.break_at("kstub_test_func")
        out, call = s.cont_then("echo 5 > /proc/kstub_test/call", pending=seq)
        check(re.search(r"Breakpoint 1, kstub_test_func \(a=(a@entry=)?5", out), "no hit:\n" + out)
        s.gdb.cmd("stepi")
        s.gdb.cmd("delete")
        s.detach()
        s.g.finish(call)
        s.gdb.close()
        s.gdb = None
        s.g.sh("rmmod kstub")
        kgdb_stops(s, "after rmmod kstub")
        guest_alive(s)


# ---- kernel awareness ----

SLEEPERS = 1000          # over virtio; a UART shows 30 (GDB reads each one's frame)


@scenario(PLAIN, KGDB, DEBUG, transport=True)
def test_task_threads(k, name):
    """Every task is a thread, named, with its CPU or state; a sleeping task's bt goes through schedule()."""
    with Session(k, name, test_module=False) as s:
        want = SLEEPERS if k.transport == "virtio" else 30
        t0 = time.time()
        s.g.sh("i=0; while [ $i -lt %d ]; do sleep 1000 & i=$((i+1)); done" % want,
               timeout=300)
        print("    %d sleepers started in %.0f s" % (want, time.time() - t0))
        tasks = {}
        # a cat per task: minutes for 1000 under TCG beside a build
        for line in s.g.sh("for p in /proc/[0-9]*; do echo \"@${p#/proc/} $(cat $p/comm)\"; "
                           "done 2>/dev/null; true", timeout=300).splitlines():
            m = re.match(r"^@(\d+) (.*)$", line)
            if m:
                tasks[int(m.group(1))] = m.group(2)
        sleepers = [p for p, c in tasks.items() if c == "sleep"]
        check(len(sleepers) >= want, "only %d sleepers started" % len(sleepers))
        seq = s.attach()
        s.load_test_symbols()   # arm64 GDB unwinds kstub's code only with them
        t0 = time.time()
        out = s.gdb.cmd("info threads", timeout=400)
        print("    info threads: %.0f s" % (time.time() - t0))
        threads = {int(m.group(3)): (int(m.group(2)), m.group(4), m.group(5))
                   for m in THREAD_LINE.finditer(out)}
        current = [int(m.group(2)) for m in THREAD_LINE.finditer(out) if m.group(1)]
        check(len(current) == 1, "no current thread:\n" + out[:3000])
        missing = [p for p in tasks if p not in threads]
        # the shell that ran the listing has exited, and sysrq's own echo
        # was not there yet: allow the tasks that came and went
        check(len(missing) <= 2, "tasks missing from info threads: %s" % missing[:20])
        # GDB has the task's comm; /proc may say more (6.12: kthreads' full
        # names, a kworker's workqueue)
        wrong = [(p, tasks[p], threads[p][1]) for p in tasks
                 if p in threads and (not threads[p][1] or
                                      not tasks[p].startswith(threads[p][1]))]
        check(not wrong, "threads with the wrong name: %s" % wrong[:10])
        check(len(threads) >= len(tasks) - 2 + 2, "too few threads: %d" % len(threads))
        idle = [t for t, (_, n, _) in threads.items() if n.startswith("swapper/")]
        check(len(idle) == 2, "want an idle task per CPU: %s" % idle)
        running = sorted(extra for _, _, extra in threads.values() if extra.startswith("CPU "))
        check(running == ["CPU 0", "CPU 1"], "want one running task per CPU: %s" % running)
        check(all(threads[p][2] == "sleeping" for p in sleepers),
              "a sleeper is not sleeping: %s" % [threads[p] for p in sleepers
                                                 if threads[p][2] != "sleeping"][:5])
        # a sleeping task's backtrace, from where it switched out
        num = threads[sleepers[-1]][0]
        check("Switching to thread %d" % num in s.gdb.cmd("thread %d" % num), "thread switch")
        bt = s.gdb.cmd("bt 12")
        for fn in ("schedule", "do_nanosleep"):
            check(re.search(r"\b%s \(" % fn, bt), "sleeper's bt lacks %s:\n%s" % (fn, bt))
        check(re.search(r"at \S+/kernel/time/hrtimer\.c:\d+", bt), "no source lines:\n" + bt)
        check("<unavailable>" not in s.gdb.cmd("p $pc"), "sleeper's pc unavailable")
        # the thread that stopped runs on its CPU, with that CPU's registers
        s.gdb.cmd("thread %d" % current[0])
        check("__handle_sysrq" in s.gdb.cmd("bt 6"), "the stopped thread is not the sysrq writer")
        s.detach()
        s.g.finish(seq)
        s.g.sh("killall sleep; true")
        guest_alive(s)


@scenario(PLAIN)
def test_monitor_commands(k, name):
    """monitor help, ps, dmesg [N], lsmod, cpus: answered from the stopped kernel."""
    with Session(k, name) as s:
        s.g.sh("echo kstub-monitor-mark > /dev/kmsg")
        seq = s.attach()
        out = s.gdb.cmd("monitor help")
        for c in ("ps", "dmesg", "lsmod", "cpus"):
            check("monitor " + c in out, "help lacks %s:\n%s" % (c, out))
        ps = s.gdb.cmd("monitor ps", timeout=120)
        check(re.search(r"^\s+1\s+\d+\s+init\s+", ps, re.M), "ps lacks init:\n" + ps[:2000])
        # (runnable when the stop comes as it starts a kernel thread)
        check(re.search(r"^\s+2\s+\d+\s+kthreadd\s+(sleeping|runnable)$", ps, re.M),
              "ps lacks kthreadd:\n" + ps[:2000])
        check(re.search(r"^\s+\d+\s+1\s+swapper/1\s+", ps, re.M), "ps lacks CPU 1's idle task:\n" + ps[:2000])
        m = re.search(r"^(\d+) threads$", ps, re.M)
        check(m and int(m.group(1)) > 20, "ps did not count its threads:\n" + ps[-500:])
        log = s.gdb.cmd("monitor dmesg", timeout=120)
        check("kstub-monitor-mark" in log and "Linux version" in log, "dmesg:\n" + log[-2000:])
        last = s.gdb.cmd("monitor dmesg 3")
        lines = [l for l in last.splitlines() if l.strip()]
        check(len(lines) == 3 and "sysrq" in last.lower(), "dmesg 3:\n" + last)
        mods = s.gdb.cmd("monitor lsmod")
        text = s.sections[k.test_ko][".text"]
        check(re.search(r"^kstub_test\s+%s\s+\d+ live$" % text, mods, re.M),
              "lsmod lacks kstub_test at %s:\n%s" % (text, mods))
        check(re.search(r"^kstub\s+0x", mods, re.M), "lsmod lacks kstub:\n" + mods)
        cpus = s.gdb.cmd("monitor cpus")
        check(re.search(r"^CPU 0: \S+/\d+ at \S+", cpus, re.M) and
              re.search(r"^CPU 1: \S+/\d+ at \S+", cpus, re.M), "cpus:\n" + cpus)
        check("__handle_sysrq" in cpus or "sysrq" in cpus, "no CPU in the sysrq path:\n" + cpus)
        check("unknown command" in s.gdb.cmd("monitor bogus"), "unknown command")
        s.detach()
        s.g.finish(seq)
        guest_alive(s)

