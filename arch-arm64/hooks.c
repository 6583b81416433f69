// SPDX-License-Identifier: GPL-2.0
/*
 * kstub's BRK and single-step handlers on the kernel's hook lists
 * (register_kernel_break_hook(), register_kernel_step_hook()), as kgdb's
 * and kprobes' are, on the kernels that have them (6.1 of those tested).
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <asm/debug-monitors.h>
#include "kstub.h"
#include "kstub_arch.h"
#include "hooks.h"

/* resolved by name: the kernel does not export them */
static unsigned long kstub_arm64_reg_break, kstub_arm64_unreg_break;
static unsigned long kstub_arm64_reg_step, kstub_arm64_unreg_step;

static const struct kstub_sym kstub_arm64_hook_syms[] = {
	{ "register_kernel_break_hook", &kstub_arm64_reg_break },
	{ "unregister_kernel_break_hook", &kstub_arm64_unreg_break },
	{ "register_kernel_step_hook", &kstub_arm64_reg_step },
	{ "unregister_kernel_step_hook", &kstub_arm64_unreg_step },
};

static int kstub_arm64_break_fn(struct pt_regs *regs, unsigned long esr)
{
	return kstub_arm64_brk(regs, esr) ? DBG_HOOK_HANDLED : DBG_HOOK_ERROR;
}

NOKPROBE_SYMBOL(kstub_arm64_break_fn);

static int kstub_arm64_step_fn(struct pt_regs *regs, unsigned long esr)
{
	return kstub_arm64_step(regs) ? DBG_HOOK_HANDLED : DBG_HOOK_ERROR;
}

NOKPROBE_SYMBOL(kstub_arm64_step_fn);

static struct break_hook kstub_arm64_break_hook = {
	.fn = kstub_arm64_break_fn,
	.imm = KSTUB_ARM64_BRK,
	.mask = 1,	/* KSTUB_ARM64_BRK and KSTUB_ARM64_BRK_COMPILED */
};

static struct step_hook kstub_arm64_step_hook = {
	.fn = kstub_arm64_step_fn,
};

int kstub_arm64_hooks_init(void)
{
	int ret = kstub_syms_resolve(kstub_arm64_hook_syms,
				     ARRAY_SIZE(kstub_arm64_hook_syms));

	if (ret)
		return ret;
	kstub_call(kstub_arm64_reg_break, (unsigned long)&kstub_arm64_break_hook, 0, 0);
	kstub_call(kstub_arm64_reg_step, (unsigned long)&kstub_arm64_step_hook, 0, 0);
	pr_info("arm64: using the kernel's break/step hooks\n");
	return 0;
}

void kstub_arm64_hooks_exit(void)
{
	kstub_call(kstub_arm64_unreg_step, (unsigned long)&kstub_arm64_step_hook, 0, 0);
	kstub_call(kstub_arm64_unreg_break, (unsigned long)&kstub_arm64_break_hook, 0, 0);
}
