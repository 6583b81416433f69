/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the guest programs (the .c files in tests/guest) have instead of a C library:
 * the guest has none, and the arm64 cross compiler comes without one. The
 * harness builds each program with -nostdlib -ffreestanding -static; every
 * system call is made by hand, the numbers and layouts are the kernel's
 * UAPI. A program defines guest_main(argc, argv), whose value is its exit
 * status.
 */
#ifndef KSTUB_GUEST_NOLIBC_H
#define KSTUB_GUEST_NOLIBC_H

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
#define NR_finit_module	313

static inline long sys6(long n, long a, long b, long c, long d, long e)
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
	"	call guest_main\n"
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
#define NR_finit_module	273

static inline long sys6(long n, long a, long b, long c, long d, long e)
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
	"	bl guest_main\n"
	"	mov x8, #94\n"
	"	svc #0\n");
#else
#error "the guest programs are for x86_64 or arm64"
#endif

#define AT_FDCWD	(-100)
#define O_RDONLY	0
#define O_WRONLY	1

int guest_main(int argc, char **argv);

static inline long sys(long n, long a, long b, long c, long d)
{
	return sys6(n, a, b, c, d, 0);
}

/* "@what@n\n" on standard output */
static inline void say(const char *what, long n)
{
	char buf[72], num[24];
	unsigned long v = n < 0 ? -n : n;
	int len = 0, k = 0;

	while (*what && len < 40)
		buf[len++] = *what++;
	do {
		num[k++] = '0' + v % 10;
		v /= 10;
	} while (v);
	if (n < 0)
		buf[len++] = '-';
	while (k)
		buf[len++] = num[--k];
	buf[len++] = '\n';
	sys(NR_write, 1, (long)buf, len, 0);
}

#endif /* KSTUB_GUEST_NOLIBC_H */
