/* SPDX-License-Identifier: GPL-2.0 */
/* arm64 pieces the core inlines. */
#ifndef KSTUB_ARCH_H
#define KSTUB_ARCH_H

#define KSTUB_ARM64_BRK		0x3b0	/* GDB's breakpoints */
#define KSTUB_ARM64_BRK_COMPILED	0x3b1	/* kstub_arch_break() */

/*
 * The compiled-in breakpoint behind SysRq-g and kstubwait, known by its
 * immediate. Inlined, so GDB unwinds from the caller's own frame.
 */
static __always_inline void kstub_arch_break(void)
{
	asm volatile("brk %0" :: "i" (KSTUB_ARM64_BRK_COMPILED));
}

#endif /* KSTUB_ARCH_H */
