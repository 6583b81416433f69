# SPDX-License-Identifier: GPL-2.0
"""The kernel as GDB sees it, end to end: modules as shared libraries, tasks
as threads, the kernel's own GDB scripts, monitor commands.
"""
import os
import re
import time

from harness import check
from registry import DEBUG, KGDB, PLAIN, scenario
from session import gdb_addr, guest_alive, kallsyms, Session, source_line, THREAD_LINE


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
        # the shell's own read: a cat per task took minutes under TCG
        for line in s.g.sh("for p in /proc/[0-9]*; do read c <$p/comm && echo \"@${p#/proc/} $c\"; "
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


def thread_lists(log):
    """What each thread list GDB read held, in order, from its remote log
    (set remotelogfile): the thread ids of each read, its windows of
    qXfer:threads joined from offset 0 to the last."""
    with open(log, errors="replace") as f:
        lines = f.read().split("\n")
    # each line is "w <bytes GDB wrote>" or "r <bytes it read>"
    wire = [(ln[0], ln[2:]) for ln in lines if ln[:2] in ("w ", "r ")]
    lists, xml = [], None
    for i, (d, data) in enumerate(wire):
        m = re.search(r"\$qXfer:threads:read::([0-9a-f]+),", data) if d == "w" else None
        if not m:
            continue
        reply = next((r for e, r in wire[i + 1:] if e == "r"), "")
        part = re.search(r"\$([ml])(.*?)#[0-9a-f]{2}", reply)
        if not part:
            continue
        if int(m.group(1), 16) == 0:
            xml = ""
        # runs are run-length encoded on the wire: "0*!" is 0000
        xml += re.sub(r"(.)\*(.)", lambda r: r.group(1) * (ord(r.group(2)) - 28), part.group(2))
        if part.group(1) == "l":
            lists.append([int(t, 16) for t in re.findall(r'<thread id="([0-9a-f]+)"', xml)])
    return lists


@scenario(PLAIN)
def test_short_thread_list(k, name):
    """With 200 extra tasks the thread list GDB reads at a stop (two at
    attach, one at a stepi, one at SysRq-g) holds only the tasks on a CPU,
    the one that stopped and the one GDB selected; info threads and thread
    find list every task, and a sleeper's bt works after a stop; monitor
    threads all lists every task at every stop."""
    with Session(k, name, test_module=False) as s:
        # until each has run sleep: a child the shell has forked but that
        # has not exec'd yet is named sh (FULL=1 once found 197 sleepers)
        s.g.sh("i=0; while [ $i -lt 200 ]; do sleep 1000 & i=$((i+1)); done; "
               "while [ $(pidof sleep | wc -w) -lt 200 ]; do usleep 10000; done", timeout=300)
        seq = s.stop()
        log = os.path.join(s.g.dir, "rsp.log")
        gdb = s.new_gdb()
        gdb.cmd("set remotelogfile " + log)
        gdb.attach(s.g)
        lists = thread_lists(log)
        check(len(lists) == 2 and all(2 <= len(t) <= 3 for t in lists),
              "the lists at attach: %s" % lists)
        out = gdb.cmd("info threads", timeout=300)
        threads = {int(m.group(3)): (int(m.group(2)), m.group(4), m.group(5))
                   for m in THREAD_LINE.finditer(out)}
        sleepers = [p for p, (_, n, _) in threads.items() if n == "sleep"]
        check(len(sleepers) >= 200 and len(thread_lists(log)[-1]) == len(threads),
              "info threads: %d threads, %d sleepers" % (len(threads), len(sleepers)))
        gdb.cmd("stepi")
        short = thread_lists(log)[-1]
        check(len(thread_lists(log)) == 4 and 2 <= len(short) <= 3,
              "the list at a stepi: %s" % short)
        # a sleeper, found again after the stop
        pid = sleepers[len(sleepers) // 2]
        out = gdb.cmd("thread find %d" % pid)
        m = re.search(r"^Thread (\d+) has target id 'Thread %d\b" % pid, out, re.M)
        check(m, "thread find %d:\n%s" % (pid, out))
        check("Switching to thread %s" % m.group(1) in gdb.cmd("thread " + m.group(1)),
              "thread switch")
        check("schedule" in gdb.cmd("bt 12"), "the sleeper's bt")
        # the next stop's short list keeps the sleeper GDB selected
        out, seq = s.cont_then("echo g > /proc/sysrq-trigger", pending=seq)
        short = thread_lists(log)[-1]
        check(pid in short and len(short) <= 4, "the list at SysRq-g: %s" % short)
        check("monitor threads [auto|all]" in gdb.cmd("monitor help"), "monitor help")
        gdb.cmd("monitor threads all")
        out, seq = s.cont_then("echo g > /proc/sysrq-trigger", pending=seq)
        check(len(thread_lists(log)[-1]) >= 200, "threads all: %d" % len(thread_lists(log)[-1]))
        gdb.cmd("monitor threads auto")
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
