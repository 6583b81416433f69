/* SPDX-License-Identifier: GPL-2.0 */
/* x86_64 pieces the core inlines. */
#ifndef KSTUB_ARCH_H
#define KSTUB_ARCH_H

/*
 * The compiled-in breakpoint behind SysRq-g and kstubwait. An int3 inside
 * kstub's own text can only be this one: GDB may not set breakpoints there.
 * Inlined, so GDB unwinds from the caller's own frame.
 */
static __always_inline void kstub_arch_break(void)
{
	asm volatile("int3");
}

/*
 * An address no kernel code can have: not canonical with 4- or 5-level
 * paging. GDB is told that a module's sections the loader dropped, and its
 * init sections once they are freed, are there (stub/modules.c).
 */
#define KSTUB_ARCH_NOWHERE 0x8000000000000000ULL

#endif /* KSTUB_ARCH_H */
