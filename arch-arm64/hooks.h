/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How kstub's BRK and single-step handlers get called: from the kernel's
 * hook lists where it has them (hooks.c), else through ftrace on its own
 * handlers (hooks_ftrace.c). Kbuild builds the one that fits the kernel's
 * asm/debug-monitors.h.
 */
#ifndef KSTUB_ARM64_HOOKS_H
#define KSTUB_ARM64_HOOKS_H

#include <asm/ptrace.h>

/* arm64.c: whether the event was kstub's; if so it is handled */
bool kstub_arm64_brk(struct pt_regs *regs, unsigned long esr);
bool kstub_arm64_step(struct pt_regs *regs);

/* hooks.c or hooks_ftrace.c: process context, module init and exit */
int kstub_arm64_hooks_init(void);
void kstub_arm64_hooks_exit(void);

#endif /* KSTUB_ARM64_HOOKS_H */
