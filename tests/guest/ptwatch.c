// SPDX-License-Identifier: GPL-2.0
/*
 * ptwatch: a guest program that debugs its own child with a ptrace hardware
 * watchpoint, as GDB does in user space, while kstub holds the kernel's.
 * tests/qemu/test_watch.py runs it; the harness builds it for the guest's
 * architecture and puts it in the initramfs as /ptwatch.
 *
 *   ptwatch [FILE]
 *
 * The child stops itself, then writes kstub_ptwatch_var twice; the parent
 * has put a write watchpoint on it in between, so each write must stop the
 * child with SIGTRAP. Between the two writes the child writes "p 11" to
 * FILE (the test module's watch file): with GDB watching the kernel's
 * variable that stops the whole kernel in this task, with the child's own
 * watchpoint in its CPU's registers, and the second write shows that kstub's
 * stop left the register alone. Prints one line:
 *
 *   ptwatch: hits N        (N is 2 when all went well)
 *   ptwatch: set: error E  (the kernel refused the watchpoint: -E, e.g. 28
 *                           when kstub holds every slot)
 *
 * No C library: nolibc.h has what it needs.
 */
#include "nolibc.h"

#define SIGTRAP		5
#define SIGKILL		9
#define SIGCHLD		17
#define SIGSTOP		19
#define PTRACE_TRACEME	0
#define PTRACE_CONT	7
#define PTRACE_SINGLESTEP 9
#define PTRACE_POKEUSER	6
#define PTRACE_SETREGSET 0x4205
#define NT_ARM_HW_WATCH	0x403
/* x86: offsetof(struct user, u_debugreg) in <sys/user.h> */
#define USER_DEBUGREG	848

/* each store stays where it is: the watchpoint must see both */
static inline void barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

/* what the child writes and the parent watches: one aligned word */
static long kstub_ptwatch_var;

#if defined(__x86_64__)
/* DR0 watches 8 bytes at @addr for writes; DR7 enables it (0: disables) */
static long watch(long pid, unsigned long addr, int on)
{
	long r = 0;

	if (on)
		r = sys(NR_ptrace, PTRACE_POKEUSER, pid, USER_DEBUGREG, addr);
	if (r)
		return r;
	/* L0, R/W0 = 01 (write), LEN0 = 10 (8 bytes) */
	return sys(NR_ptrace, PTRACE_POKEUSER, pid, USER_DEBUGREG + 7 * 8,
		   on ? 0x1 | 1 << 16 | 2 << 18 : 0);
}
#else
/* struct user_hwdebug_state with one register: the NT_ARM_HW_WATCH regset */
struct ptwatch_hwdebug {
	unsigned int dbg_info, pad;
	struct {
		unsigned long addr;
		unsigned int ctrl, pad;
	} reg;
};

static long watch(long pid, unsigned long addr, int on)
{
	struct ptwatch_hwdebug st;
	struct {
		void *base;
		unsigned long len;
	} iov = { &st, sizeof(st) };

	st.dbg_info = 0;
	st.pad = 0;
	st.reg.addr = addr;
	st.reg.pad = 0;
	/* enable, EL0, store, byte-address-select all 8 bytes */
	st.reg.ctrl = on ? 1 | 2 << 1 | 2 << 3 | 0xff << 5 : 0;
	return sys(NR_ptrace, PTRACE_SETREGSET, pid, NT_ARM_HW_WATCH, (long)&iov);
}
#endif

static int stopsig(int st)
{
	return (st & 0xff) == 0x7f ? (st >> 8) & 0xff : 0;
}

int guest_main(int argc, char **argv)
{
	unsigned long addr = (unsigned long)&kstub_ptwatch_var;
	long pid, r;
	int st = 0, hits = 0;

	pid = sys6(NR_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		say("ptwatch: clone: error ", pid);
		return 1;
	}
	if (!pid) {
		sys(NR_ptrace, PTRACE_TRACEME, 0, 0, 0);
		sys(NR_kill, sys(NR_getpid, 0, 0, 0, 0), SIGSTOP, 0, 0);
		kstub_ptwatch_var = 1;
		barrier();
		if (argc > 1) {
			long fd = sys(NR_openat, AT_FDCWD, (long)argv[1], O_WRONLY, 0);

			if (fd >= 0) {
				sys(NR_write, fd, (long)"p 11\n", 5, 0);
				sys(NR_close, fd, 0, 0, 0);
			}
		}
		kstub_ptwatch_var = 2;
		barrier();
		sys(NR_exit_group, 0, 0, 0, 0);
	}
	sys(NR_wait4, pid, (long)&st, 0, 0);
	if (stopsig(st) != SIGSTOP) {
		say("ptwatch: child did not stop: status ", st);
		return 1;
	}
	r = watch(pid, addr, 1);
	if (r) {
		say("ptwatch: set: error ", -r);
		sys(NR_kill, pid, SIGKILL, 0, 0);
		sys(NR_wait4, pid, (long)&st, 0, 0);
		return 1;
	}
	for (;;) {
		sys(NR_ptrace, PTRACE_CONT, pid, 0, 0);
		if (sys(NR_wait4, pid, (long)&st, 0, 0) != pid || stopsig(st) != SIGTRAP)
			break;
		hits++;
#if defined(__aarch64__)
		/*
		 * arm64 stops before the store: step over it with the
		 * watchpoint out, as GDB does, then put it back
		 */
		watch(pid, addr, 0);
		sys(NR_ptrace, PTRACE_SINGLESTEP, pid, 0, 0);
		sys(NR_wait4, pid, (long)&st, 0, 0);
		watch(pid, addr, 1);
#endif
	}
	if (stopsig(st)) {
		say("ptwatch: child stopped by signal ", stopsig(st));
		sys(NR_kill, pid, SIGKILL, 0, 0);
		return 1;
	}
	say("ptwatch: hits ", hits);
	return 0;
}
