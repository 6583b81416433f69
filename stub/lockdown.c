// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel lockdown, as kgdb and kdb obey it since the fix for
 * CVE-2022-21499: a kernel locked down for integrity lets GDB read, not
 * write (no memory, register or breakpoint writes, so no flow control
 * that would bypass it: no jump, no call); one locked down for
 * confidentiality keeps its memory and registers from GDB too. Lockdown
 * can be raised while the kernel runs (securityfs), never lowered, so the
 * core asks again at every stop.
 */
#include <linux/kprobes.h>
#include <linux/security.h>
#include <linux/string.h>
#include "core.h"

/**
 * kstub_lockdown_allows() - what lockdown leaves to GDB now
 *
 * Context: any; lockdown's hook reads one variable (and may print a
 * rate-limited notice when it refuses).
 * Return: KSTUB_MAY_READ and KSTUB_MAY_WRITE, or'ed.
 */
unsigned int kstub_lockdown_allows(void)
{
	if (security_locked_down(LOCKDOWN_DBG_READ_KERNEL))
		return 0;
	if (security_locked_down(LOCKDOWN_DBG_WRITE_KERNEL))
		return KSTUB_MAY_READ;
	return KSTUB_MAY_READ | KSTUB_MAY_WRITE;
}

/*
 * At load: a kernel that keeps its memory from debuggers gets no debugger;
 * one that keeps it from writes gets one that only reads, and says so.
 * Context: process, module init.
 */
int kstub_lockdown_check(void)
{
	unsigned int may = kstub_lockdown_allows();

	if (!(may & KSTUB_MAY_READ)) {
		pr_err("the kernel is locked down for confidentiality: kstub does not load\n");
		return -EPERM;
	}
	if (!(may & KSTUB_MAY_WRITE))
		pr_notice("the kernel is locked down for integrity: GDB may read, not write (no memory, register or breakpoint writes)\n");
	return 0;
}

/*
 * Lockdown raised since the last stop takes effect now: with writes
 * locked down, GDB's breakpoints come out of the text for good (GDB is
 * told, and its next attempt is refused); with reads locked down too,
 * kstub's own hook on panic() goes as well, as kprobes would, and no stop
 * is served (every stop says so).
 * Context: the master, stopped, every breakpoint out.
 */
void kstub_lockdown_stop(void)
{
	unsigned int was = kstub_may;
	const char *msg = "kstub: the kernel is locked down: GDB may read, not write\n";

	kstub_may = kstub_lockdown_allows();
	if (!(kstub_may & KSTUB_MAY_WRITE))
		kstub_bp_clear_all(&kstub_bps);
	if (!(kstub_may & KSTUB_MAY_READ)) {
		kstub_bp_clear_all(&kstub_hooks);
		msg = "kstub: the kernel is locked down for confidentiality: no stop for GDB\n";
	} else if (kstub_may == was) {
		return;
	}
	pr_notice("%s", msg + strlen("kstub: "));
	if (kstub_gdb_attached())
		kstub_output(msg, strlen(msg));
}

NOKPROBE_SYMBOL(kstub_lockdown_stop);
