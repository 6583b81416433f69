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

#endif /* KSTUB_ARCH_H */
