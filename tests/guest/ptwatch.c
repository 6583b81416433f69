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
 * No C library: the guest has none, and the arm64 cross compiler comes
 * without one. Built with -nostdlib -ffreestanding -static; every system
 * call is made by hand, the numbers and layouts are the kernel's UAPI.
 */

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
#define AT_FDCWD	(-100)
#define O_WRONLY	1

#if defined(__x86_64__)
#define NR_write	1
#define NR_close	3
#define NR_getpid	39
#define NR_clone	56
#define NR_wait4	61
#define NR_kill		62
#define NR_ptrace	101
#define NR_exit_group	231
#define NR_openat	257

/* offsetof(struct user, u_debugreg) in <sys/user.h> */
#define USER_DEBUGREG	848

static long sys6(long n, long a, long b, long c, long d, long e)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

__asm__(".text\n.globl _start\n_start:\n"
	"	xor %rbp, %rbp\n"
	"	mov (%rsp), %rdi\n"
	"	lea 8(%rsp), %rsi\n"
	"	and $-16, %rsp\n"
	"	call ptwatch_main\n"
	"	mov %eax, %edi\n"
	"	mov $231, %eax\n"
	"	syscall\n");

#elif defined(__aarch64__)
#define NR_openat	56
#define NR_close	57
#define NR_write	64
#define NR_exit_group	94
#define NR_ptrace	117
#define NR_kill		129
#define NR_getpid	172
#define NR_clone	220
#define NR_wait4	260

static long sys6(long n, long a, long b, long c, long d, long e)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;

	__asm__ volatile("svc #0" : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4)
			 : "memory");
	return x0;
}

__asm__(".text\n.globl _start\n_start:\n"
	"	ldr x0, [sp]\n"
	"	add x1, sp, #8\n"
	"	bl ptwatch_main\n"
	"	mov x8, #94\n"
	"	svc #0\n");
#else
#error "ptwatch: x86_64 or arm64"
#endif

int ptwatch_main(int argc, char **argv);

/* each store stays where it is: the watchpoint must see both */
static inline void barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

/* what the child writes and the parent watches: one aligned word */
static long kstub_ptwatch_var;

static long sys(long n, long a, long b, long c, long d)
{
	return sys6(n, a, b, c, d, 0);
}

static void say(const char *what, long n)
{
	char buf[64], num[24];
	unsigned long v = n < 0 ? -n : n;
	int len = 0, k = 0;

	while (*what && len < 40)
		buf[len++] = *what++;
	do {
		num[k++] = '0' + v % 10;
		v /= 10;
	} while (v);
	if (n < 0)
		num[k++] = '-';
	while (k)
		buf[len++] = num[--k];
	buf[len++] = '\n';
	sys(NR_write, 1, (long)buf, len, 0);
}

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

int ptwatch_main(int argc, char **argv)
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
