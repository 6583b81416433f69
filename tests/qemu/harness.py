# SPDX-License-Identifier: GPL-2.0
"""QEMU + GDB machinery for kstub's end-to-end tests.

Builds the modules and an initramfs for a test kernel, boots it under TCG
with the console on a socket (ttyS0) and kstub's UART on TCP (ttyS1), and
drives gdb-multiarch through its command stream. Nothing here is a mock:
the guest is a real kernel and the client is real GDB.
"""
import copy
import os
import re
import shutil
import socket
import sys
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
MODULE_SOURCES = ["Kbuild", "Makefile", "Kconfig", "stub", "arch-x86", "arch-arm64", "transport",
                  "tools"]
CACHE = os.environ.get("KSTUB_CACHE", os.path.expanduser("~/.cache/kstub"))
GDB_INDEX_CACHE = os.path.join(CACHE, "gdb-index")
GUEST_SRC = os.path.join(ROOT, "tests", "guest")

# Per-architecture facts the harness and the tests need.
ARCH = {
    "x86_64": dict(image="arch/x86/boot/bzImage", make=[], busybox="/bin/busybox",
                   console="ttyS0,115200", tty="ttyS0", kgdboc="ttyS1", cc="gcc"),
    "arm64": dict(image="arch/arm64/boot/Image",
                  make=["ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-"],
                  busybox=os.path.join(CACHE, "busybox-arm64", "bin", "busybox"),
                  console="hvc0", tty="ttyAMA0", kgdboc="ttyS0", cc="aarch64-linux-gnu-gcc"),
}

# What a healthy guest never prints. Tests that provoke an oops list the
# lines they expect instead.
BAD_CONSOLE = [
    r"BUG:", r"WARNING:", r"Oops", r"rcu: INFO: .* stall", r"rcu_.*detected stall",
    r"soft lockup", r"hard LOCKUP", r"Kernel panic", r"general protection fault",
    r"Call Trace:",
    # the kernel's own line on loading an unsigned module is not kstub's;
    # words, not parts of a function's name (virtqueue_dma_mapping_error)
    r"kstub: (?!module verification failed: signature and/or required key missing)"
    r".*\b(error|failed)\b", r"Oops - BRK", r"Unexpected kernel single-step",
    r"Internal error", r"NMI handler \(kstub", r"NMI received for unknown reason",
    # what the debug kernel's checkers say beyond BUG: and WARNING: lines
    r"INFO: trying to register non-static key", r"turning off the locking correctness validator",
    r"INFO: lockdep is turned off",
]


# STRESS=long: the endurance form of the stress scenarios (make check runs
# their short form)
STRESS_LONG = os.environ.get("STRESS", "") == "long"


def stress(short, long):
    """How many rounds a stress scenario runs."""
    return long if STRESS_LONG else short


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def wait_until(cond, what, timeout=30, every=0.1):
    """Wait for @cond() to hold; fail saying @what if it does not within @timeout s."""
    deadline = time.time() + timeout
    while not cond():
        check(time.time() < deadline, "%s (after %d s)" % (what, timeout))
        time.sleep(every)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# The test that runs on this thread (the runner runs tests side by side,
# one thread each): its QEMU and GDB processes, so that the runner can stop
# what a test left or a test that overran, and its output, printed whole
# when it ends. Threads a test starts itself have none.
current = threading.local()


def track(proc, kind):
    """Note @proc (kind "qemu", "gdb", or "group": the leader of a process
    group of its own, stopped as a whole) as the current test's."""
    procs = getattr(current, "procs", None)
    if procs is not None:
        procs.append((kind, proc))


_ports_lock = threading.Lock()
_ports_given = set()


def free_port():
    """A port nobody listens on, never one this run handed out before (a
    guest beside may not be listening on its own yet)."""
    with _ports_lock:
        while True:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _ports_given:
                _ports_given.add(port)
                return port


class Kernel:
    """A built test kernel with kstub and the test module built against it."""

    def __init__(self, kver, arch, kdir, variant="", build=BUILD):
        """@build: where the modules and the initramfs go, a directory per kernel."""
        self.kver, self.arch, self.kdir, self.variant = kver, arch, kdir, variant
        self.vmlinux = os.path.join(kdir, "vmlinux")
        self.facts = ARCH[arch]
        self.image = os.path.join(kdir, self.facts["image"])
        self.out = os.path.join(build, "-".join(filter(None, (kver, arch, variant))))
        self.kstub_dir = os.path.join(self.out, "kstub")
        self.test_dir = os.path.join(self.out, "test")
        self.kstub_ko = os.path.join(self.kstub_dir, "kstub.ko")
        self.test_ko = os.path.join(self.test_dir, "kstub_test.ko")
        self.initramfs = os.path.join(self.out, "initramfs.cpio.gz")
        # the guest's own programs (tests/guest), built without a C library
        self.guest_progs = [os.path.join(self.out, "guest", p[:-2])
                            for p in sorted(os.listdir(GUEST_SRC)) if p.endswith(".c")]
        self.transport = "uart"
        # more files for the initramfs: path in the guest -> a file's path, or bytes
        self.initramfs_extra = {}

    def over(self, transport):
        """The same kernel, with GDB's port on @transport (uart, virtio, or
        tty: the same port as uart, shared with a console: through its
        driver's polling hooks on the kgdb kernels, its registers on the
        others)."""
        k = copy.copy(self)
        k.transport = transport
        return k

    @property
    def kstub_args(self):
        """What insmod kstub needs for this transport beyond its defaults."""
        return "tty=" + self.facts["tty"] if self.transport == "tty" else ""

    def _copy(self, names, src, dst):
        os.makedirs(dst, exist_ok=True)
        for n in names:
            s, d = os.path.join(src, n), os.path.join(dst, n)
            if os.path.isdir(s):
                shutil.copytree(s, d, dirs_exist_ok=True)
            else:
                shutil.copy2(s, d)

    def build_modules(self):
        self._copy(MODULE_SOURCES, ROOT, self.kstub_dir)
        self._copy(["kstub_test.c", "kstub_test.h", "Kbuild"], os.path.join(ROOT, "tests/kernel"),
                   self.test_dir)
        # kstub through its own Makefile, as a user builds it; the test
        # module as any module is built
        for cmd in (["-C", self.kstub_dir, "KDIR=" + self.kdir],
                    ["-C", self.kdir, "M=" + self.test_dir]):
            d = cmd[1]
            r = subprocess.run(["make", "-s"] + cmd + self.facts["make"] + ["modules"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            warnings = [l for l in r.stdout.splitlines() if "warning" in l or "error" in l]
            if r.returncode or warnings:
                raise TestFailure("module build in %s:\n%s" % (d, r.stdout))
        # as the documentation tells users to (kstub's Makefile does it for kstub.ko)
        run([os.path.join(ROOT, "tools", "kstub-gdb-ko"), self.test_ko])

    def build_guest_progs(self):
        for prog in self.guest_progs:
            os.makedirs(os.path.dirname(prog), exist_ok=True)
            src = os.path.join(GUEST_SRC, os.path.basename(prog) + ".c")
            r = subprocess.run([self.facts["cc"], "-static", "-nostdlib", "-ffreestanding",
                                "-fno-stack-protector", "-fno-pie", "-no-pie", "-O2", "-Wall",
                                "-Wextra", "-Werror", "-o", prog, src],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode:
                raise TestFailure("guest program %s:\n%s" % (src, r.stdout))

    def build_initramfs(self):
        self.build_guest_progs()
        root = tempfile.mkdtemp(prefix="kstub-initramfs-")
        try:
            for d in ("bin", "dev", "proc", "sys", "tmp"):
                os.makedirs(os.path.join(root, d))
            shutil.copy2(self.facts["busybox"], os.path.join(root, "bin/busybox"))
            init = os.path.join(root, "init")
            with open(init, "w") as f:
                f.write(INIT_SCRIPT)
            os.chmod(init, 0o755)
            shutil.copy2(self.kstub_ko, root)
            shutil.copy2(self.test_ko, root)
            for prog in self.guest_progs:
                shutil.copy2(prog, root)
            for path, what in self.initramfs_extra.items():
                dst = os.path.join(root, path.lstrip("/"))
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                if isinstance(what, bytes):
                    with open(dst, "wb") as f:
                        f.write(what)
                else:
                    shutil.copy2(what, dst)
            files = subprocess.run("cd %s && find . | cpio -o -H newc --quiet | gzip -1" % root,
                                   shell=True, check=True, stdout=subprocess.PIPE).stdout
            with open(self.initramfs, "wb") as f:
                f.write(files)
        finally:
            shutil.rmtree(root)


INIT_SCRIPT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
echo 0 > /proc/sys/kernel/kptr_restrict
export PS1='# '
# Modules the console needs first (Debian's 6.1 has its virtio console as
# a module), in the order /early/order gives. /dev/console was opened on
# a console already up; speak on the last console= once it is there.
if [ -f /early/order ]; then
	for m in $(cat /early/order); do insmod /early/$m.ko; done
	for w in $(cat /proc/cmdline); do
		case $w in console=*) c=${w#console=}; c=${c%%,*};; esac
	done
	i=0
	while ! grep -qw "$c" /sys/class/tty/console/active && [ $i -lt 1000 ]; do
		usleep 10000; i=$((i + 1))
	done
	exec </dev/$c >/dev/$c 2>&1
fi
echo KSTUB_GUEST_READY
# BusyBox's shell now and then exits at its next read after one of its
# background jobs is killed; the kernel would panic with init gone. init
# lets go of /dev/console, which may be kstub's shared tty (cttyhack finds
# the shell's tty in sysfs).
exec </dev/null >/dev/null 2>&1
while :; do
	setsid cttyhack sh
	echo KSTUB_SHELL_RESTARTED > /dev/kmsg
done
"""


class Guest:
    """One QEMU boot of a test kernel."""

    def __init__(self, kernel, append="", panic_on_warn=True, wait_shell=True, nodelay=True):
        self.k = kernel
        self.dir = tempfile.mkdtemp(prefix="kstub-guest-")
        self.con_path = os.path.join(self.dir, "console.sock")
        self.mon_path = os.path.join(self.dir, "monitor.sock")
        self.log_path = os.path.join(self.dir, "console.log")
        self.gdb_port = free_port()
        # kgdb and kgdboc for the tests over tty= (the kgdb tests: on the
        # kgdb kernel, or on the debug kernel, which has kgdb too)
        self.kgdb_port = (free_port() if kernel.transport == "tty"
                          and kernel.variant in ("kgdb", "debug") else None)
        self.seq = 0
        cmdline = "console=%s panic=-1 %s %s" % (kernel.facts["console"],
                                              "panic_on_warn=1" if panic_on_warn else "", append)
        if kernel.variant == "debug" and kernel.arch == "x86_64":
            # The debug kernel's ACPI runs the PCI interrupt routing method
            # (_PRT) for over 30 s under TCG and aborts it
            # (AE_AML_LOOP_TIMEOUT): a virtio-pci device then has no
            # interrupt, and kgdb's layout (the shell on a virtio console)
            # boots silent. The BIOS's PIR table routes them as well.
            cmdline += " pci=noacpi"
        # QEMU waits for us to connect, so the log starts at the first byte
        console = "socket,id=con,path=%s,server=on,wait=on" % self.con_path
        # QEMU's UARTs hand each byte to the socket on its own: with Nagle
        # on, every reply but its first byte waits for GDB's delayed ACK,
        # about 40 ms (the bench measures that link too: nodelay=False)
        nd = ",nodelay=on" if nodelay else ""
        gdb_port = "tcp:127.0.0.1:%d,server=on,wait=off%s" % (self.gdb_port, nd)
        uart = gdb_port
        virtio = []
        if kernel.transport == "virtio":
            # a virtio console device of kstub's own: one port, no multiport
            uart = "null"
            virtio = ["-device", "virtio-serial-pci,max_ports=1",
                      "-chardev", "socket,id=gdb,host=127.0.0.1,port=%d,server=on,wait=off%s"
                      % (self.gdb_port, nd), "-device", "virtconsole,chardev=gdb"]
        if kernel.transport == "tty":
            # the shell on a virtio console, GDB's line on the first UART
            # (a console too); on a kgdb kernel kgdboc on another UART
            facts = kernel.facts
            cmdline = cmdline.replace("console=" + facts["console"], "console=hvc0")
            # before the shell's: the last console= is /dev/console
            cmdline = "console=%s " % facts["tty"] + cmdline
            kgdb = []
            if self.kgdb_port:
                cmdline += " kgdboc=%s,115200" % facts["kgdboc"]
                kgdb = ["-chardev", "socket,id=kgdb,host=127.0.0.1,port=%d,server=on,wait=off%s"
                        % (self.kgdb_port, nd)]
            if kernel.arch == "x86_64":
                machine = ["qemu-system-x86_64", "-device", "virtio-serial-pci"]
                kgdb += ["-serial", "chardev:kgdb"] if kgdb else []
            else:
                machine = ["qemu-system-aarch64", "-M", "virt,gic-version=3", "-cpu",
                           "cortex-a57", "-device", "virtio-serial-device"]
                kgdb += ["-device", "pci-serial,chardev=kgdb"] if kgdb else []
            machine += ["-chardev", console, "-device", "virtconsole,chardev=con",
                        "-serial", uart] + kgdb
        elif kernel.arch == "x86_64":
            machine = ["qemu-system-x86_64", "-chardev", console, "-serial", "chardev:con",
                       "-serial", uart]
        elif kernel.transport == "virtio":
            # the console on the PL011: with two virtio consoles, which one
            # becomes hvc0 is a race
            cmdline = cmdline.replace("console=hvc0", "console=ttyAMA0")
            machine = ["qemu-system-aarch64", "-M", "virt,gic-version=3", "-cpu", "cortex-a57",
                       "-chardev", console, "-serial", "chardev:con"]
        else:
            # virt has one PL011: it is kstub's; the console is a virtio console
            machine = ["qemu-system-aarch64", "-M", "virt,gic-version=3", "-cpu", "cortex-a57",
                       "-device", "virtio-serial-device", "-chardev", console,
                       "-device", "virtconsole,chardev=con", "-serial", uart]
        machine += virtio
        self.argv = machine + [
            "-accel", "tcg", "-smp", "2", "-m", "512",
            "-kernel", kernel.image, "-initrd", kernel.initramfs,
            "-append", cmdline.strip(), "-display", "none", "-no-reboot",
            "-monitor", "unix:%s,server=on,wait=off" % self.mon_path,
        ]
        self._start()
        # kstub built in says so first thing in its initcall; seen where the
        # console is up before then (not arm64's virtio console)
        see_start = kernel.variant == "builtin" and "console=hvc0" not in cmdline
        if not wait_shell and not see_start:
            return
        try:
            self._boot(kernel, wait_shell, see_start)
        except BaseException:
            # a guest that never reached its shell is nobody else's to stop
            # (a hung one would spin on for the rest of the run)
            self.close()
            raise

    BOOT_TRIES = 6

    def _boot(self, kernel, wait_shell, see_start):
        # A boot that dies or hangs before the shell, on a kernel kstub is
        # not built into, fails before kstub is loaded: not what any test
        # checks. Under TCG one of about a hundred 6.12 x86_64 boots panics
        # as a static key flips while the other CPU runs over it
        # (sched_clock_stable(), early), and the 6.1 arm64 debug kernel
        # hangs in one boot of three or four before its console is up
        # (testing.rst, "A boot that fails before kstub is loaded"). Boot
        # again, up to BOOT_TRIES in all, and say so. The same for a shell
        # that does not answer its first command: once, on the 6.1 x86_64
        # debug kernel, the shell on its virtio console echoed it and said
        # nothing more for a minute (FULL=1, December 4).
        # A boot that complained before kstub was loaded is one too: the
        # Debian kernel, some 30 s to its shell under TCG, once reported
        # its RCU kthread starved at 25 s while the machine built kernels.
        # With kstub built in, a boot that died or complained after kstub's
        # first line ("kstub: built in; starting", first thing in its
        # initcall) is the test's failure, but for two cases that are the
        # kernel's alone: kstub declined to load (lockdown=confidentiality),
        # and a CPU trapped on an int3 that the text no longer holds, while
        # no GDB had yet been near (a static key's site, rewritten under a
        # CPU that ran its old code: TCG; on a real CPU the kernel's own
        # int3 handler covers the rewrite). December 4 and 5, three runs of
        # 6.12 x86_64's built-in boots in a row failed so: one hung in PCI's
        # enumeration, two trapped at is_timers_nohz_active+0x1 and at
        # sched_clock_stable+0x5 (the second with kstub not loaded).
        for tries in range(1, self.BOOT_TRIES + 1):
            last = tries == self.BOOT_TRIES
            try:
                if see_start:
                    self.wait_for(re.escape(self.BUILTIN_START), 120,
                                  silence=self.BOOT_SILENCE)
                    if not wait_shell:
                        return
                self.wait_shell()
                con = self._before_kstub(kernel, self.console())
                bad = [line for line in con.splitlines()
                       if any(re.search(p, line) for p in BAD_CONSOLE)]
                if not bad or last:
                    return
                why = "it said: " + bad[0].strip()[:80]
            except TestFailure:
                whole = self.console()
                con = self._before_kstub(kernel, whole)
                if last or (con != whole and not self._kernel_alone(whole)):
                    raise
                con = whole
                died = re.search(r"^.*(?:BUG:|RIP:|Kernel panic).*$", con, re.M)
                why = died.group(0).strip() if died else (
                    "the console silent" if not con.strip()
                    else "the shell did not answer" if "built-in commands" in con
                    else "no shell, last: " + con.strip().splitlines()[-1][:80])
            print("    boot failed before kstub was loaded (%s); booting again" % why,
                  flush=True)
            self.close()
            self.log.close()
            os.rename(self.log_path, self.log_path + ".died%d" % tries)
            if os.path.exists(self.con_path):
                os.unlink(self.con_path)
            self._start()

    BUILTIN_START = "kstub: built in; starting"

    def _before_kstub(self, kernel, con):
        """What the console said before kstub's code first ran."""
        if kernel.variant != "builtin":
            return con
        at = con.find(self.BUILTIN_START)
        return con if at < 0 else con[:at]

    # the byte before the one the oops marks (an int3 leaves RIP after it)
    OOPS_INT3 = re.compile(r"Oops: int3\b.*?\bCode: [^\n]*?\b([0-9a-f]{2}) <[0-9a-f]{2}>", re.S)

    def _kernel_alone(self, con):
        """Whether a failed boot of a kernel kstub is built into failed in
        the kernel's own code: kstub did not load, or a CPU trapped on an
        int3 the text no longer holds (a rewrite of the kernel's, under
        TCG; no GDB has set a breakpoint yet)."""
        if "kstub does not load" in con:
            return True
        m = self.OOPS_INT3.search(con)
        return bool(m) and m.group(1) != "cc"

    def _start(self):
        self.qemu = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        track(self.qemu, "qemu")
        deadline = time.time() + 30
        self.con = socket.socket(socket.AF_UNIX)
        # the socket's file is there a moment before QEMU listens on it
        while True:
            try:
                self.con.connect(self.con_path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.time() > deadline or self.qemu.poll() is not None:
                    raise TestFailure("QEMU did not start: %s" % self.qemu.stderr.read())
                time.sleep(0.05)
        self.buf = b""
        self.log = open(self.log_path, "wb")
        self.lock = threading.Lock()
        # Drain the console all the time, as a terminal would: a console
        # nobody reads stalls the guest's printk (and so RCU) behind it.
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    # a boot whose console says nothing for this long has hung (arm64's
    # virtio console starts last: the slowest boot, 6.1 arm64's debug
    # kernel, is silent for about 10 s, twice that under load)
    BOOT_SILENCE = 60

    def wait_shell(self, timeout=120):
        """Wait for the shell on the console (the end of the boot). The
        debug kernel (KASAN, lockdep and its self-tests) boots some three
        times slower under TCG: it has three times as long, and a console
        silent for a minute is a boot that hung, whichever the kernel."""
        scale = 3 if self.k.variant == "debug" else 1
        self.wait_for("built-in commands", timeout * scale, silence=self.BOOT_SILENCE)
        self.sh("stty -echo 2>/dev/null; true")

    def _drain(self):
        while True:
            try:
                data = self.con.recv(65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.buf += data
                self.log.write(data)
                self.log.flush()

    # a kernel message can land in the middle of a line the shell prints
    KERNEL_LINE = re.compile(rb"\[ *\d+\.\d+\] [^\n]*\n")

    def wait_for(self, pattern, timeout=60, silence=None):
        """Wait for @pattern on the console, at most @timeout seconds, and
        if @silence, at most that long without a byte from the guest."""
        deadline = time.time() + timeout
        rx = re.compile(pattern.encode())
        exited = None
        heard, heard_at = -1, time.time()
        while True:
            with self.lock:
                buf = self.buf
                m = rx.search(buf)
                if not m:
                    # only a match that needs the split removed sees it removed
                    buf = self.KERNEL_LINE.sub(b"", buf)
                    m = rx.search(buf)
                if m:
                    out = buf[:m.end()]
                    self.buf = buf[m.end():]
                    return out.decode(errors="replace")
            if time.time() > deadline:
                raise TestFailure("guest: no %r within %ss; console tail:\n%s"
                                  % (pattern, timeout, self.log_tail()))
            if silence:
                size = os.path.getsize(self.log_path)
                if size != heard:
                    heard, heard_at = size, time.time()
                elif time.time() > heard_at + silence:
                    raise TestFailure("guest: no %r, and the console silent for %ss; "
                                      "console tail:\n%s" % (pattern, silence, self.log_tail()))
            # a QEMU that has exited prints nothing more, once drained
            if exited is None and self.qemu.poll() is not None:
                exited = time.time()
            if exited is not None and time.time() > exited + 2:
                raise TestFailure("guest: no %r, and QEMU exited; console tail:\n%s"
                                  % (pattern, self.log_tail()))
            time.sleep(0.05)

    def wait_logged(self, text, times, timeout=60):
        """Wait until @text is on the console @times times; reads only the log."""
        deadline = time.time() + timeout
        while self.console().count(text) < times:
            if time.time() > deadline:
                raise TestFailure("guest: %r not seen %d times within %ss; console tail:\n%s"
                                  % (text, times, timeout, self.log_tail()))
            time.sleep(0.05)

    def send(self, line):
        self.con.sendall(line.encode() + b"\n")

    def start(self, cmd):
        """Run @cmd without waiting; finish() collects its output."""
        self.seq += 1
        # The command's own lines come back tagged, so kernel messages on
        # the same console cannot pass for its output; the marker is split
        # in the command so the echo of it never matches.
        self.send("{ %s; } >/tmp/.o 2>&1; r=$?; sed 's/^/@|/' /tmp/.o; "
                  "echo \"@@\"\"R%d:$r@@\"" % (cmd, self.seq))
        return self.seq

    # a console message cutting into a tagged line (not a tagged dmesg line)
    KERNEL_CUT = re.compile(r"(?<!@\|)\[ *\d+\.\d+\] [^\n]*\n")

    def finish(self, seq, timeout=60):
        out = self.wait_for(r"@@R%d:(\d+)@@" % seq, timeout)
        m = re.search(r"@@R%d:(\d+)@@" % seq, out)
        text = self.KERNEL_CUT.sub("", out[:m.start()].replace("\r", ""))
        text = re.sub(r"^# ", "", text, flags=re.M)   # the prompt
        lines = [l[2:] for l in text.split("\n") if l.startswith("@|")]
        return int(m.group(1)), "\n".join(lines).strip()

    def sh(self, cmd, timeout=60, ok=True):
        rc, out = self.finish(self.start(cmd), timeout)
        if ok and rc:
            raise TestFailure("guest command %r exited %d:\n%s" % (cmd, rc, out))
        return out

    def console(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def log_tail(self, n=60):
        return "\n".join(self.console().splitlines()[-n:]) + self.qemu_state()

    # what a hung guest's CPUs were doing, as QEMU sees them: halted or
    # running, where, and on x86 whether interrupts are enabled and which
    # are pending in the local APIC (a halted CPU with IF set and a vector
    # pending is QEMU's lost wakeup, not the guest's)
    QEMU_STATE = {"x86_64": ["info cpus", "info lapic 0", "info lapic 1"],
                  "arm64": ["info cpus"]}
    REG_LINES = re.compile(r"^ *(?:RIP=|PC=|PSTATE=).*$", re.M)

    def qemu_state(self):
        qemu = getattr(self, "qemu", None)
        if qemu is None or qemu.poll() is not None:
            return ""
        out = []
        try:
            with socket.socket(socket.AF_UNIX) as mon:
                mon.settimeout(3)
                mon.connect(self.mon_path)
                buf = b""

                def prompt():
                    nonlocal buf
                    while b"(qemu) " not in buf:
                        data = mon.recv(65536)
                        if not data:
                            raise OSError("monitor closed")
                        buf += data
                    text, buf = buf.split(b"(qemu) ", 1)
                    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]|\r", "", text.decode(errors="replace"))
                    return text.split("\n", 1)[1] if "\n" in text else ""

                prompt()
                # kstub's own state words (Session.load() finds them)
                cmds = [(c, "") for c in self.QEMU_STATE[self.k.arch] + ["info registers -a"]]
                cmds += [("x/%dxw %#x" % (n, a), " (%s)" % name)
                         for name, a, n in getattr(self, "state_words", [])]
                for cmd, label in cmds:
                    mon.sendall(cmd.encode() + b"\n")
                    text = prompt()
                    if cmd.startswith("info registers"):
                        text = "\n".join(self.REG_LINES.findall(text))
                    out.append("(qemu) %s%s\n%s" % (cmd, label, text.rstrip()))
        except OSError as e:
            out.append("(QEMU's monitor: %s)" % e)
        return "\nQEMU:\n" + "\n".join(out)

    def check_console(self, expected=()):
        """Fail on any complaint from the kernel that the test did not provoke.
        If the test already failed, its own failure is the one reported.
        The guest is stopped first: only then is the log whole (a log read
        while the reader still writes it can end in the middle of a line,
        and a line cut short may no longer match what the test expected)."""
        self.close()
        pending = sys.exc_info()[1]
        try:
            self._check_console(expected)
        except TestFailure as e:
            if pending is None:
                raise
            print("    (the console also complains: %s)" % str(e).replace("\n", " | "))

    # what a test writes to the console on purpose, as a regular expression:
    # taken out before the checks, so that the kernel's lines it broke into
    # are seen whole
    console_noise = None

    def _check_console(self, expected):
        bad = []
        text = self.console()
        if self.console_noise:
            text = re.sub(self.console_noise, "", text)
        for line in text.splitlines():
            if any(re.search(p, line) for p in BAD_CONSOLE):
                if not any(re.search(p, line) for p in expected):
                    bad.append(line)
        check(not bad, "guest console complains:\n" + "\n".join(bad[:20]))

    def close(self):
        """Stop the guest, once all it sent is in the log (QEMU's end is the
        console socket's end). Closing twice does no harm."""
        if self.qemu.poll() is None:
            self.qemu.kill()
        self.qemu.wait()
        if getattr(self, "reader", None):
            self.reader.join(10)
        try:
            self.con.shutdown(socket.SHUT_RDWR)
            self.con.close()
        except OSError:
            pass

    def keep_log(self, name):
        dst = os.path.join(BUILD, "logs")
        os.makedirs(dst, exist_ok=True)
        shutil.copy2(self.log_path, os.path.join(dst, name + ".console.log"))
        shutil.rmtree(self.dir, ignore_errors=True)


class Gdb:
    """gdb-multiarch driven through its command stream, one command at a time."""

    def __init__(self, kernel, log_name):
        self.k = kernel
        self.seq = 0
        logs = os.path.join(BUILD, "logs")
        os.makedirs(logs, exist_ok=True)
        self.log = open(os.path.join(logs, log_name + ".gdb.log"), "w")
        # GDB indexes vmlinux's DWARF on every start (4-5 s of CPU) unless
        # its index cache, keyed by build ID, has the index already. Only
        # for vmlinux: tools/kstub-gdb-ko rewrites kstub.ko under the same
        # build ID, so the cache is off again before any module loads.
        # KSTUB_RSP_LOG=1: every packet, both ways, into <name>.rsp.log
        rsp_log = []
        if os.environ.get("KSTUB_RSP_LOG", "") not in ("", "0"):
            rsp_log = ["-iex", "set remotelogfile %s" % os.path.join(logs, log_name + ".rsp.log")]
        self.p = subprocess.Popen(
            ["gdb-multiarch", "-q", "-nx", "-nh",
             "-iex", "set index-cache directory %s" % GDB_INDEX_CACHE,
             "-iex", "set index-cache enabled on"] + rsp_log + [kernel.vmlinux],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            bufsize=0)
        track(self.p, "gdb")
        os.set_blocking(self.p.stdout.fileno(), False)
        self.buf = b""
        for c in ("set pagination off", "set confirm off", "set width 0",
                  "set height 0", "set print pretty off", "set remotetimeout 10",
                  "set index-cache enabled off"):
            self.cmd(c)

    def _read_until(self, pattern, timeout):
        import select
        rx = re.compile(pattern.encode())
        deadline = time.time() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                out = self.buf[:m.start()]
                self.buf = self.buf[m.end():]
                text = out.decode(errors="replace")
                return text
            left = deadline - time.time()
            if left <= 0 or self.p.poll() is not None:
                self.log.write(self.buf.decode(errors="replace"))
                self.log.flush()
                raise TestFailure("gdb: no %r within %ss; gdb printed:\n%s"
                                  % (pattern, timeout, self.buf.decode(errors="replace")[-3000:]))
            r, _, _ = select.select([self.p.stdout], [], [], min(left, 0.2))
            if r:
                data = self.p.stdout.read(65536) or b""
                self.buf += data

    def send(self, line):
        self.log.write("(gdb) %s\n" % line)
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()

    def cmd(self, line, timeout=60):
        """Run one command; return everything it printed."""
        self.seq += 1
        self.send(line)
        self.send('echo \\n@@G%d@@\\n' % self.seq)
        out = self._read_until(r"@@G%d@@\n" % self.seq, timeout)
        self.log.write(out)
        self.log.flush()
        return out.replace("(gdb) ", "")

    def begin(self, line):
        """Start a command that runs until the target stops (continue)."""
        self.seq += 1
        self.send(line)
        self.send('echo \\n@@G%d@@\\n' % self.seq)
        return self.seq

    def wait_printed(self, pattern, timeout=60):
        """Wait for @pattern in the output of a command started with begin()."""
        rx = re.compile(pattern.encode())
        deadline = time.time() + timeout
        import select
        while not rx.search(self.buf):
            left = deadline - time.time()
            if left <= 0:
                raise TestFailure("gdb: no %r within %ss; gdb printed:\n%s"
                                  % (pattern, timeout, self.buf.decode(errors="replace")[-3000:]))
            r, _, _ = select.select([self.p.stdout], [], [], min(left, 0.2))
            if r:
                self.buf += self.p.stdout.read(65536) or b""

    def ended(self, seq, timeout):
        """end(), or None if the command is still running after @timeout s."""
        import select
        deadline = time.time() + timeout
        while not re.search(b"@@G%d@@\n" % seq, self.buf) and self.p.poll() is None:
            left = deadline - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], min(left, 0.2))
            if r:
                self.buf += self.p.stdout.read(65536) or b""
        return self.end(seq, 1)

    def end(self, seq, timeout=60):
        out = self._read_until(r"@@G%d@@\n" % seq, timeout)
        self.log.write(out)
        self.log.flush()
        return out.replace("(gdb) ", "")

    def attach(self, guest):
        out = self.cmd("target remote 127.0.0.1:%d" % guest.gdb_port, timeout=60)
        check("Remote debugging using" in out, "target remote failed:\n" + out)
        check("too long" not in out and "error" not in out.lower(), "attach complained:\n" + out)
        return out

    def close(self):
        try:
            self.send("quit")
            self.p.stdin.close()
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()
        self.log.close()


class RawRsp:
    """A bare RSP client, for input GDB itself would never send."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    @staticmethod
    def frame(payload):
        return b"$" + payload + b"#%02x" % (sum(payload) % 256)

    def write(self, data):
        self.s.sendall(data)

    def read_until(self, pred, timeout=20):
        deadline = time.time() + timeout
        while not pred(self.buf):
            self.s.settimeout(max(0.01, deadline - time.time()))
            try:
                data = self.s.recv(65536)
            except socket.timeout:
                raise TestFailure("raw rsp: timed out, have %r" % self.buf[-200:])
            if not data:
                raise TestFailure("raw rsp: connection closed")
            self.buf += data
            if time.time() > deadline:
                raise TestFailure("raw rsp: timed out, have %r" % self.buf[-200:])

    def read_ack(self, timeout=20):
        self.read_until(lambda b: len(b) >= 1, timeout)
        c, self.buf = self.buf[:1], self.buf[1:]
        return c

    def read_packet(self):
        """The next packet's payload, checksum verified, RLE expanded."""
        self.read_until(lambda b: re.search(rb"\$[^#]*#..", b, re.S) is not None)
        m = re.search(rb"\$([^#]*)#(..)", self.buf, re.S)
        self.buf = self.buf[m.end():]
        body, cs = m.group(1), int(m.group(2), 16)
        check(sum(body) % 256 == cs, "bad checksum from stub: %r" % m.group(0))
        out = bytearray()
        i = 0
        while i < len(body):
            if body[i:i + 1] == b"*":
                out += out[-1:] * (body[i + 1] - 29)
                i += 2
            elif body[i:i + 1] == b"}":
                out.append(body[i + 1] ^ 0x20)
                i += 2
            else:
                out.append(body[i])
                i += 1
        return bytes(out)

    def request(self, payload, timeout=20):
        """@timeout: for the ack, which comes once the stub has read it all."""
        self.write(self.frame(payload))
        ack = self.read_ack(timeout)
        check(ack == b"+", "expected ack for %r, got %r" % (payload[:40], ack))
        reply = self.read_packet()
        self.write(b"+")
        return reply

    def close(self):
        # wakes a thread blocked reading (close alone does not)
        try:
            self.s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.s.close()
