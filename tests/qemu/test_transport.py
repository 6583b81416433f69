# SPDX-License-Identifier: GPL-2.0
"""Bytes on the line, end to end: bad input, a tty shared with the console,
kgdb beside kstub.
"""
import os
import random
import re
import signal
import socket
import time

from harness import check, Gdb, RawRsp, stress, TestFailure, wait_until
from registry import KGDB, PLAIN, SHARED, scenario
from session import (ARCH, check_stepi_from, ctrl_c, guest_alive, insmod_fails, Session, spawn,
                     unspawn)


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
        check(xml.startswith(b"l<target") and ARCH[k.arch]["xml"] in xml, xml[:80])
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


# random bytes per phase: make check's short form, and STRESS=long's;
# KSTUB_NOISE_SEED=N replays a run's bytes. A polled tty reads some 2 KB
# a second under TCG: its short form is smaller
NOISE_BYTES = {"tty": stress(2 * 1024, 1024 * 1024)}
NOISE_BYTES_ELSE = stress(16 * 1024, 1024 * 1024)


def pour(r, data, what):
    """Send @data down the line in pieces, reading (and dropping) all
    kstub sends back meanwhile, so that its writes never wait on us."""
    t0 = time.time()
    r.s.settimeout(0.001)
    for i in range(0, len(data), 512):
        r.s.sendall(data[i:i + 512])
        try:
            while r.s.recv(65536):
                pass
        except (socket.timeout, BlockingIOError):
            pass
    print("    %d random bytes %s in %.1f s" % (len(data), what, time.time() - t0))


def drained(r, timeout):
    """Wait until the stopped kstub has read all that was sent before: it
    answers a qC sent after it (sent again every 2 s, as GDB would), then
    every other qC sent meanwhile, so that no answer is left on the line
    for the next GDB to take for its own (a 1 MiB run on arm64's PL011
    took 88 s to answer, and the 43 qCs after the first put GDB's
    qSupported answer where it waited for vMustReplyEmpty's)."""
    t0 = time.time()
    deadline = t0 + timeout
    seen = b""
    sent = 0
    until = t0
    first = None
    r.s.settimeout(0.2)
    while first is None or seen.count(b"$QC") < sent:
        check(time.time() < deadline, "kstub did not answer the %d qC after the noise (%d s)"
              % (sent, timeout))
        if first is None and time.time() >= until:
            r.s.sendall(r.frame(b"qC"))
            sent += 1
            until = time.time() + 2
        try:
            seen += r.s.recv(65536)
        except (socket.timeout, BlockingIOError):
            pass
        if first is None and b"$QC" in seen:
            first = time.time() - t0
    print("    kstub read it all and answered %.1f s later (%d qC sent, all answered %.1f s later)"
          % (first, sent, time.time() - t0))


@scenario(PLAIN, SHARED, KGDB, transport=True)
def test_random_bytes(k, name):
    """NOISE_BYTES random bytes down the line while the kernel runs (none
    of them a Ctrl-C or a '$', which would stop it), then as many with
    them (the kernel stops, and reads the rest as a stopped kernel): no
    complaint, the kernel runs on while it should, and a GDB that attaches
    afterwards works: threads, a breakpoint hit, detach."""
    seed = int(os.environ.get("KSTUB_NOISE_SEED", "0")) or random.randrange(1, 1 << 31)
    print("    seed %d (KSTUB_NOISE_SEED=%d replays it)" % (seed, seed))
    rng = random.Random(seed)
    size = NOISE_BYTES.get(k.transport, NOISE_BYTES_ELSE)
    quiet = bytes(b for b in rng.randbytes(size * 2) if b not in (3, 0x24))[:size]
    with Session(k, name) as s:
        _, text = s.text_bytes()
        r = RawRsp(s.g.gdb_port)
        pour(r, quiet, "while the kernel runs")
        guest_alive(s)
        pour(r, rng.randbytes(size), "with Ctrl-Cs and packets in them")
        drained(r, 60 + size // 50)
        r.close()
        s.new_gdb().attach(s.g)
        s.load_test_symbols()
        threads = s.gdb.cmd("info threads")
        check("did not stop" not in threads and threads.count("Thread") > 10,
              "info threads after the noise:\n" + threads)
        s.break_at("kstub_test_func")
        out, call = s.cont_then("echo 6 > /proc/kstub_test/call")
        check(re.search(r"Breakpoint 1, kstub_test_func \(a=(a@entry=)?6", out),
              "no hit after the noise:\n" + out)
        s.gdb.cmd("delete")
        s.detach()
        s.g.finish(call)
        guest_alive(s)
        check(s.text_bytes()[1] == text, "kstub_test_func's text changed after detach")


# Ctrl-Cs sent as a stop of each CPU's ends: make check's, STRESS=long's
RESUME_ROUNDS = stress(4, 100)


@scenario(PLAIN, transport=True)
def test_ctrl_c_as_resumed(k, name):
    """GDB's Ctrl-C sent at once after its continue, from a stop that a
    breakpoint made on each CPU in turn: the byte may come in while the
    stop ends, the other CPUs already let go and the stop's CPU not yet
    (kstub_master still its). A CPU whose receive interrupt finds the stop
    taken so must look again later: the device does not signal that byte
    again (QEMU's PL011 raises RX only as its FIFO goes from empty; virtio
    calls back once), and GDB waits for the stop. Every Ctrl-C stops the
    kernel. (CI once waited 60 s so on 6.12 arm64, with the kernel running
    on, deaf to the line.)"""
    with Session(k, name) as s:
        s.g.sh("echo 1 > /proc/kstub_test/busy")
        # the SysRq's shell command ends first: the rounds stop the kernel often
        s.attach_stopped()
        s.load_test_symbols()
        for i in range(RESUME_ROUNDS):
            cpu = i % 2
            s.break_at("kstub_test_hot")
            # GDB's own condition: the other CPU's hits go on at once
            s.gdb.cmd("condition $bpnum cpu == %d" % cpu)
            cont = s.gdb.begin("continue")
            s.gdb.wait_printed("Continuing.")
            out = s.gdb.end(cont, timeout=60)
            check(re.search(r'"kstub_busy/%d" hit Breakpoint' % cpu, out),
                  "round %d: no hit on CPU %d:\n%s" % (i, cpu, out))
            s.gdb.cmd("delete")
            cont = s.gdb.begin("continue")
            s.gdb.wait_printed("Continuing.")
            s.gdb.p.send_signal(signal.SIGINT)
            out = s.gdb.end(cont, timeout=30)
            check("SIGINT" in out, "round %d: the Ctrl-C after the stop on CPU %d did not stop "
                  "the kernel:\n%s" % (i, cpu, out))
        print("    %d Ctrl-Cs, each sent as a stop ended (on CPU 0, then 1, ...), each answered"
              % RESUME_ROUNDS)
        s.detach()
        s.g.sh("echo 0 > /proc/kstub_test/busy")
        guest_alive(s)


# ---- a kgdb kernel: kstub on a tty it shares, and kgdb beside it ----

def line_to_guest(s, text):
    """Type @text on GDB's line, as a terminal on it would, with GDB away."""
    r = RawRsp(s.g.gdb_port)
    r.write(text.encode() + b"\n")
    time.sleep(0.5)
    r.close()


NOISE = "kstub-noise $m0,4 #1 +-"

# Ctrl-C and detach with the tty open, then a line typed (test_tty_shared)
TTY_ROUNDS = stress(2, 100)


def reader_got(s, text, what):
    """Wait for @text to reach the tty's reader; if it does not, say what
    the reader had, whether it still reads, and what kstub logged."""
    try:
        wait_until(lambda: text in s.g.sh("cat /tmp/ttyin"), what, timeout=10)
    except TestFailure as e:
        raise TestFailure("%s\n%s" % (e, s.g.sh(
            "cat /tmp/ttyin; r=$(cat /tmp/reader); ls -l /proc/$r/fd; cat /proc/$r/wchan;"
            " echo; grep -i -e tty -e uart -e pl011 /proc/interrupts; dmesg | tail -8")))


@scenario(KGDB, SHARED)
def test_tty_shared(k, name):
    """tty= shares the console's line (on the kgdb kernel through its
    driver's polling hooks, on the others, which have none, through the
    UART's registers): attach to a running kernel, Ctrl-C, console output
    in between, a getty-like reader on the tty that gets all that is typed
    and nothing of GDB's, a GDB that attaches with the tty open; the line
    goes back on detach and rmmod."""
    with Session(k, name) as s:
        tty = k.facts["tty"]
        ready = s.g.sh("dmesg | grep 'kstub: ready'")
        check("ready on tty " + tty in ready, "not on the shared tty: " + ready)
        how = "its polling hooks" if k.variant in ("kgdb", "debug") else "its UART's registers"
        way = s.g.sh("dmesg | grep 'kstub: tty:'")
        check("shared through " + how in way, "not shared through %s: %s" % (how, way))
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
        spawn(s, "noise", "while :; do echo '%s' > /dev/kmsg; usleep 5000; done" % NOISE)
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
            unspawn(s, "noise")
            s.g.sh("cat /dev/%s > /tmp/ttyin 2>&1 & echo $! > /tmp/reader" % tty)
        ctrl_c(s, "the tty open", open_tty)
        s.detach()
        # what a user types reaches the reader whole and in order, even
        # what looks like the start of GDB's first packet
        typed = ["typed-after-detach: $5 + $HOME", "+$qSupporte", "$qSupportx ++ $"]
        for line in typed:
            line_to_guest(s, line)
        reader_got(s, typed[-1], "the line was not given back on detach")
        # a new GDB stops the kernel by its first packet, the tty open
        s.new_gdb().attach(s.g)
        check(re.search(r"= \d+", s.gdb.cmd("p jiffies")), "GDB does not work with the tty open")
        s.detach()
        line_to_guest(s, "typed-after-gdb")
        reader_got(s, "typed-after-gdb", "the line was not given back after GDB's own attach")
        # A Ctrl-C's stop comes while the hook that kept GDB's 0x03 may
        # still be running (the tty's timer on the other CPU sees it at
        # once); at the detach, kstub must not count that byte as one GDB
        # left behind, and drop the user's next one for it. Typed at once,
        # the line often waits in the UART's FIFO until the detach ends.
        rounds = ["+typed-after-ctrl-c-and-detach %d" % i for i in range(TTY_ROUNDS)]
        for line in rounds:
            s.new_gdb().attach(s.g)
            ctrl_c(s, "the tty open, " + line[1:])
            s.detach()
            line_to_guest(s, line)
        reader_got(s, rounds[-1], "the line was not given back after a Ctrl-C and detach")
        # (the shell's output comes without its last newline)
        got = s.g.sh("cat /tmp/ttyin").replace("\r", "")
        want = "\n".join(typed + ["typed-after-gdb"] + rounds)
        check(got == want, "the tty's reader got %r, not exactly what was typed (%r)" % (got, want))
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


@scenario(KGDB, SHARED)
def test_tty_open_console_to_gdb(k, name):
    """A reader opens the tty (a getty would) while GDB is attached and
    kernel messages go to GDB as the kernel runs, GDB's acks of them
    coming back a few hundred a second: the driver starts the port under
    that flood, and must go on reading the line. On QEMU's PL011 a poll of
    the line from under the driver took its receive interrupt for good
    (FULL=1, December 4: tty_shared's reader got nothing more)."""
    with Session(k, name) as s:
        tty = k.facts["tty"]
        s.new_gdb().attach(s.g)
        for rnd in range(3):
            cont = s.gdb.begin("continue")
            s.gdb.wait_printed("Continuing.")
            if not rnd:
                # (GDB attached: its stop reply must not meet raw '$'s)
                spawn(s, "noise", "while :; do echo '%s' > /dev/kmsg; usleep 5000; done"
                      % NOISE)
                time.sleep(1)
                s.g.sh("cat /dev/%s > /tmp/ttyin 2>&1 & r=$!; echo $r > /tmp/reader; "
                       "while ! ls -l /proc/$r/fd 2>/dev/null | grep -q /dev/%s; do "
                       "usleep 50000; done" % (tty, tty), timeout=30)
            time.sleep(2)
            s.gdb.p.send_signal(signal.SIGINT)
            out = s.gdb.end(cont, timeout=30)
            check("SIGINT" in out, "round %d: Ctrl-C gave no SIGINT stop:\n%s" % (rnd, out[-2000:]))
            check(NOISE in out, "round %d: the console's text did not reach GDB:\n%s"
                  % (rnd, out[-2000:]))
        s.detach()
        unspawn(s, "noise")
        line_to_guest(s, "typed-after-acks")
        reader_got(s, "typed-after-acks", "the line was not the reader's after GDB's acks")
        # and GDB still gets in, the tty open
        s.new_gdb().attach(s.g)
        check(re.search(r"= \d+", s.gdb.cmd("p jiffies")), "GDB does not work with the tty open")
        s.detach()
        line_to_guest(s, "typed-after-gdb")
        reader_got(s, "typed-after-gdb", "the line was not the reader's after GDB's attach")
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
