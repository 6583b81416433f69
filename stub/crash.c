// SPDX-License-Identifier: GPL-2.0
/*
 * Panics and oopses: how long one waits for a GDB that is not attached
 * (kstub.crash_wait), and a panic's message, made at panic()'s entry
 * before the kernel makes it.
 */
#include <linux/kexec.h>
#include <linux/kprobes.h>
#include <linux/panic.h>
#include <linux/string.h>
#include "core.h"
#include "kstub_arch.h"

enum {
	KSTUB_PANIC_MSG_MAX = 512,
};

/*
 * How long a panic or an oops holds the kernel for a GDB that is not
 * attached, in seconds (kstub.crash_wait): 0 not at all, -1 with no limit
 * unless the kernel would reboot (panic=N) or boot a crash kernel, and
 * then not at all. A GDB that is attached always gets the stop.
 * Context: the user sets it through sysfs; the master reads it once a stop.
 */
int kstub_crash_wait = -1;

/* the master's */
static char kstub_panic_msg[KSTUB_PANIC_MSG_MAX];
static const char kstub_panic_says[] = "Kernel panic - not syncing: ";

/*
 * How long a panic or an oops holds the kernel for GDB (see
 * kstub_crash_wait), in ns: U64_MAX for no limit, 0 for not at all; and
 * the console's words for it in @says. A kernel that would reboot or dump
 * is not made one that hangs because kstub is loaded.
 * Context: the master.
 */
u64 kstub_crash_wait_ns(char *says, size_t len)
{
	int wait = READ_ONCE(kstub_crash_wait);

	if (kstub_gdb_attached() || (wait < 0 && !panic_timeout && !kexec_crash_loaded()))
		return U64_MAX;
	if (wait < 0) {
		snprintf(says, len, "; no GDB attached, going on (%s)\n",
			 kexec_crash_loaded() ? "crash kernel loaded" : "panic= set");
		return 0;
	}
	if (!wait) {
		snprintf(says, len, "; no GDB attached, going on (kstub.crash_wait=0)\n");
		return 0;
	}
	snprintf(says, len, "; waiting %d s for GDB\n", wait);
	return (u64)wait * NSEC_PER_SEC;
}

NOKPROBE_SYMBOL(kstub_crash_wait_ns);

/*
 * A panic stops before the kernel stops the other CPUs, at panic()'s
 * entry, where the message is not made yet: make it from the arguments,
 * for the log (monitor dmesg) and the console, and for a GDB that waits
 * (kstub_panic_tell_gdb()).
 * Context: the master, in the roundup (kstub_crash_tell()): vsnprintf()
 * and the consoles may hold a breakpoint, which then comes out.
 */
void kstub_panic_say(struct pt_regs *regs, const char *waits)
{
	size_t n;

	kstub_arch.printf_args(regs, kstub_panic_msg, sizeof(kstub_panic_msg));
	n = strlen(kstub_panic_msg);
	if (n && kstub_panic_msg[n - 1] == '\n')
		kstub_panic_msg[--n] = '\0';
	pr_emerg("panic: %s\n", kstub_panic_msg);
	kstub_console_say("kstub: panic: ", kstub_panic_msg, waits);
}

NOKPROBE_SYMBOL(kstub_panic_say);

/* The panic's message, to an attached GDB. Context: the master, stopped. */
void kstub_panic_tell_gdb(void)
{
	if (!kstub_gdb_attached())
		return;
	kstub_output(kstub_panic_says, sizeof(kstub_panic_says) - 1);
	kstub_output(kstub_panic_msg, strlen(kstub_panic_msg));
	kstub_output("\n", 1);
}

NOKPROBE_SYMBOL(kstub_panic_tell_gdb);
