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

/*
 * An address no kernel code can have: above the largest user address (52
 * bits), below the kernel's, with a top byte of 0 (not a tagged user
 * pointer) and bit 55 clear (GDB strips a pointer signature by it). GDB is
 * told that a module's sections the loader dropped, and its init sections
 * once they are freed, are there (stub/modules.c).
 */
#define KSTUB_ARCH_NOWHERE 0x0040000000000000ULL

#endif /* KSTUB_ARCH_H */
