# SPDX-License-Identifier: GPL-2.0
"""Where each end-to-end test runs, said where it is defined.

    @scenario(PLAIN, DEBUG, transport=True)
    def test_break_in(k, name): ...

The kernels (each of Debian's 6.1 and 6.12, x86_64 and arm64):
  PLAIN    the test kernel (KGDB off), with kstub as a module;
  SHARED   the same, kstub over tty= on the console's UART: with no
           CONFIG_CONSOLE_POLL, through kstub's own UART code;
  KGDB     the same with kgdb and kgdboc: kstub over tty=, the console on
           the same line (on the debug kernel where the run has it);
  BUILTIN  the same with kstub built in;
  DEBUG    the kgdb kernel with lockdep, atomic-sleep checks and KASAN.
transport=True: the transport plays a part in the scenario (its claim and
release, its receive interrupt, its first contact, bad bytes on it, long
replies, output while the kernel runs), so make check runs it over every
transport; the others run over one per kernel (FULL=1: all over all).
arch: the one architecture that has what the test checks.
"""
PLAIN, SHARED, KGDB, BUILTIN, DEBUG = "plain", "shared", "kgdb", "builtin", "debug"

# every test, in the order tests/run.py imports the files and each defines them
ALL = []


def scenario(*kernels, transport=False, arch=None):
    def register(fn):
        fn.kernels, fn.transport, fn.arch = frozenset(kernels), transport, arch
        ALL.append(fn)
        return fn
    return register


def tests(kernel, arch):
    """The tests that run on @kernel (PLAIN, KGDB, ...) of @arch."""
    return [t for t in ALL if kernel in t.kernels and t.arch in (None, arch)]
