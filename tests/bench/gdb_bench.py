# SPDX-License-Identifier: GPL-2.0
"""GDB's side of make bench, sourced into gdb-multiarch.

Times each workload inside GDB, around the one GDB command that does it, so
that nothing between the host harness and GDB's command stream is in the
figure. Every result is one line, @@BENCH <name> <json>@@, which
tests/bench/bench.py parses.
"""
import json
import re
import time

import gdb


def _say(name, **kv):
    print("@@BENCH %s %s@@" % (name, json.dumps(kv)))


def bench_timed(name, command):
    """Run one GDB command; report its wall time and the tail of what it printed."""
    t0 = time.time()
    try:
        out = gdb.execute(command, from_tty=True, to_string=True)
    except gdb.error as e:
        _say(name, error="%s: %s" % (command, e), seconds=time.time() - t0)
        return
    t1 = time.time()
    _say(name, seconds=t1 - t0, out=out[-4000:],
         threads=len(re.findall(r"^\*?\s+\d+\s+Thread ", out, re.M)))


class _CountingBreakpoint(gdb.Breakpoint):
    """Auto-continues (stop() says no) until it has been hit @want times."""

    def __init__(self, spec, want):
        super().__init__(spec)
        self.silent = True
        self.want = want
        self.times = []

    def stop(self):
        self.times.append(time.time())
        return len(self.times) >= self.want


def bench_hits(spec, want):
    """@want hits of a breakpoint at @spec, continuing after each one, and the
    stop at the last. The rate is taken between the first hit and the last,
    so how soon the function is first called is not in it."""
    bp = _CountingBreakpoint(spec, want)
    t0 = time.time()
    err = None
    try:
        out = gdb.execute("continue", to_string=True)
    except gdb.error as e:
        err, out = str(e), ""
    t1 = time.time()
    times = bp.times
    bp.delete()
    kv = dict(hits=len(times), seconds=t1 - t0, out=out[-2000:])
    if times:
        kv.update(first=times[0] - t0, span=times[-1] - times[0])
    if err or len(times) < want:
        kv["error"] = err or "stopped after %d of %d hits" % (len(times), want)
    _say("hits", **kv)
