# SPDX-License-Identifier: GPL-2.0
"""What the end-to-end tests share: a booted guest with kstub loaded and
GDB on it (Session), what differs between the architectures (ARCH),
and the helpers more than one test file uses.

Each test boots its own guest so that one failure cannot leak into the
next, and each ends by checking the guest console for kernel complaints.
"""
import contextlib
import os
import re
import signal
import sys
import time

from harness import check, Gdb, Guest, TestFailure, wait_until


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


# a line of "info threads": GDB's number, the thread id, the name, kstub's extra
# ('*' for the current one, GDB's number, thread id, name, kstub's extra)
THREAD_LINE = re.compile(r'^(\*?)\s*(\d+)\s+Thread (\d+) "([^"]*)" \(([^)]*)\)', re.M)


SYSRQ_LINE = "kstub: waiting for GDB"


# kstub's device in the virtio guests is the only virtio device on PCI
VIRTIO_PORT_OWNER = "readlink /sys/bus/pci/devices/*/virtio*/driver | grep -c virtio_console; true"


def port_owner(k):
    """A guest command printing 1 when the kernel's own driver has kstub's port, else 0."""
    return VIRTIO_PORT_OWNER if k.transport == "virtio" else ARCH[k.arch]["port_owner"]


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

    # kstub's words that say who owns the stop and what a break-in waits
    # for, with their sizes in 32-bit words: a hung test's QEMU state
    # shows them (Guest.qemu_state())
    STATE_WORDS = {"kstub_master": 1, "kstub_step_cpu": 1, "kstub_breakin": 6,
                   "kstub_nparked": 1, "kstub_ready": 1}

    def load(self):
        self.g.sh("insmod /kstub.ko %s %s" % (self.k.kstub_args, self.kstub_args))
        if self.test_module:
            self.g.sh("insmod /kstub_test.ko")
        self.read_sections()
        out = self.g.sh("grep -w -e %s /proc/kallsyms; true" % " -e ".join(self.STATE_WORDS))
        self.g.state_words = [(n, int(a, 16), self.STATE_WORDS[n]) for a, n in
                              re.findall(r"^([0-9a-f]{16}) [bBdD] (\w+)\s+\[kstub\]$", out, re.M)]

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

    def attach_stopped(self):
        """attach(), then let the SysRq's shell command end (the kernel
        runs meanwhile) and stop again with GDB's Ctrl-C: GDB attached, the
        kernel stopped, no guest command pending."""
        seq = self.attach()
        cont = self.gdb.begin("continue")
        self.gdb.wait_printed("Continuing.")
        self.g.finish(seq)
        self.gdb.p.send_signal(signal.SIGINT)
        check("SIGINT" in self.gdb.end(cont, timeout=60), "no stop after the attach")

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
        pending = sys.exc_info()[1]
        if isinstance(pending, TestFailure) and str(pending).startswith("gdb: no"):
            # GDB waited in vain: what the guest said and did meanwhile
            print("    the guest as GDB gave up:\n        "
                  + self.g.log_tail(30).replace("\n", "\n        "))
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


PANIC_MSG = "kstub-test panic 7 sh 8 9 10 11 feed"


PANIC_LINES = [r"Kernel panic - not syncing: " + PANIC_MSG, r"kstub: panic: " + PANIC_MSG,
               r"Call Trace:", r"Call trace:"]


def peek(s, addrs):
    """The first bytes at each of @addrs as the running guest's CPU sees
    them (the test module's "peek"), in hex: {address: hex, or "-" where
    they cannot be read}."""
    seen = {}
    # BusyBox's shell takes lines of up to 1024 characters
    for i in range(0, len(addrs), 40):
        want = " ".join("%x" % a for a in addrs[i:i + 40])
        out = s.g.sh("echo '%s' > /proc/kstub_test/peek; cat /proc/kstub_test/peek" % want)
        seen.update((int(a, 16), b) for a, b in re.findall(r"^([0-9a-f]+) (\S+)$", out, re.M))
    check(all(a in seen for a in addrs), "peek did not read every address:\n" + out)
    return {a: seen[a] for a in addrs}


PEEK_BYTES = 16


def check_text_kept(s, before, what):
    """Detach left no trace: the bytes peek() read before a test at each
    address are the same now (the guest must run)."""
    after = peek(s, list(before))
    changed = ["%#x: %s, now %s" % (a, before[a], after[a]) for a in before if after[a] != before[a]]
    check(not changed, "%s: text changed after detach:\n%s" % (what, "\n".join(changed)))
    print("    %s: the text at %d breakpoint addresses is as it was" % (what, len(before)))


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


def wait_reboot(s, what, timeout=60):
    """The guest reboots (QEMU runs with -no-reboot: it exits)."""
    deadline = time.time() + timeout
    while s.g.qemu.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    check(s.g.qemu.poll() is not None, what)


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


def kstubwait_booted(g):
    """Wait for a built-in kstub's kstubwait stop in the boot."""
    # arm64's virtio console is not up yet at that point of a 6.1 boot,
    # and says nothing: then GDB's look at the log and the state tells
    try:
        g.wait_for("kstubwait: waiting for GDB", 20)
    except TestFailure:
        check(not g.console().strip(), "no kstubwait stop:\n" + g.log_tail())


def builtin_args(k):
    """kstub's parameters on the command line of a kernel it is built into."""
    if k.transport == "virtio":
        return "kstub.virtio=auto"
    return "kstub.uart=" + ARCH[k.arch]["uart"]


def module_array(gdb, name):
    """The values of one of the test module's unsigned long arrays."""
    gdb.cmd("set print repeats unlimited")
    out = gdb.cmd("p " + name)
    m = re.search(r"= \{([\d, ]*)\}", out)
    check(m, "cannot read %s: %s" % (name, out))
    return [int(n) for n in m.group(1).split(",")]


def spawn(s, name, script):
    """Run @script in the guest apart from its shell: not one of the
    shell's jobs (BusyBox's shell may exit, dropping the command it was
    given, when a job of its ends or is killed). /tmp/@name.pid has its
    pid; /tmp/@name.done appears when it ends."""
    s.g.sh("rm -f /tmp/{0}.done; ( ( {1}; touch /tmp/{0}.done ) >/dev/null 2>&1 &"
           " echo $! > /tmp/{0}.pid )".format(name, script))


def unspawn(s, name):
    """Stop what spawn() started as @name."""
    s.g.sh("kill $(cat /tmp/%s.pid) 2>/dev/null; true" % name)


def wait_spawned(s, name, timeout):
    """Wait for what spawn() started as @name to end by itself."""
    wait_until(lambda: "ended" in s.g.sh("[ -e /tmp/%s.done ] && echo ended; true" % name),
               "%s did not end" % name, timeout=timeout, every=1)


def busy(s):
    """The test module's busy thread on each CPU, once each has counted."""
    s.g.sh("echo 1 > /proc/kstub_test/busy")
    wait_until(lambda: all(int(c) for c in s.g.sh("cat /proc/kstub_test/busy").split()[:2]),
               "the busy threads do not run")


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
    """A stepi from where the kernel stopped executes an instruction: the
    pc moves, or (an x86 rep string instruction steps one iteration at a
    time) the count in rcx does."""
    pc, _ = stop_location(s, what)
    rep = s.k.arch == "x86_64" and re.search(r":\s+rep", s.gdb.cmd("x/i $pc"))
    count = s.gdb.cmd("p/x $rcx") if rep else None
    s.gdb.cmd("stepi")
    pc2, _ = stop_location(s, what + ", after stepi")
    if rep and pc2 == pc:
        check(s.gdb.cmd("p/x $rcx").split("=")[-1] != count.split("=")[-1],
              "%s: stepi did not run the rep instruction at %#x" % (what, pc))
    else:
        check(pc2 != pc, "%s: stepi did not move from %#x" % (what, pc))


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


def insmod_fails(g, args, named):
    """insmod kstub @args fails with EINVAL and one dmesg line naming @named."""
    rc, out = g.finish(g.start("insmod /kstub.ko %s 2>&1" % args))
    check(rc != 0 and "Invalid" in out, "insmod %s: rc %d %s" % (args, rc, out))
    # busybox insmod tries init_module after finit_module: one line per try
    lines = {re.sub(r"^\[[ \d.]+\] ", "", l)
             for l in g.sh("dmesg | grep kstub:").splitlines() if named in l}
    check(len(lines) == 1, "want one dmesg line naming %s, got %s" % (named, lines))
