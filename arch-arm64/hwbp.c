// SPDX-License-Identifier: GPL-2.0
/*
 * arm64's idle hardware breakpoint slots. kstub keeps its slots installed
 * and enabled while GDB does not use them (stub/hwbp.c), and QEMU's TCG
 * pays for every enabled breakpoint register: it compares the address of
 * each block of translated code it looks up against them, which cost an
 * idle guest's system call loop some 15% with kstub's six loaded. A
 * breakpoint whose byte address select (BCR.BAS) is 0 selects no
 * instruction: TCG leaves it out, the kernel's breakpoint_handler()
 * finds no byte of it matched, and on hardware, where BAS 0 is
 * CONSTRAINED UNPREDICTABLE for A64 code, it may at worst match the
 * function nothing calls that the slot points at.
 *
 * Watchpoints keep their bytes: do_watchpoint() takes the range a
 * watchpoint covers from its BAS (__ffs() and __fls(), undefined for 0),
 * and would find an empty one matching accesses far beyond its address.
 * Idle, a watchpoint watches a word of kstub's that nothing writes; TCG
 * pays for it only on accesses to that page.
 */
#include <linux/hw_breakpoint.h>
#include "kstub.h"
#include "hwbp.h"

void kstub_arm64_hw_quiet(struct arch_hw_breakpoint *info)
{
	if (info->ctrl.type == ARM_BREAKPOINT_EXECUTE)
		info->ctrl.len = 0;
}
