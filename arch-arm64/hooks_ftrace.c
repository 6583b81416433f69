// SPDX-License-Identifier: GPL-2.0
/*
 * kstub's BRK and single-step handlers on kernels with no hook lists for
 * them (6.12 of those tested), through ftrace on the kernel's own handlers.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/ftrace.h>
#include <linux/string.h>
#include <asm/debug-monitors.h>
#include "kstub.h"
#include "kstub_arch.h"
#include "hooks.h"

/*
 * Kernels whose BRK and step handlers are a fixed chain. The traced
 * function gets (esr, regs); when the event is kstub's, the ftrace return
 * goes to an empty function instead, so the kernel's handler (which would
 * oops on an unknown BRK, or warn about an unexpected step) never runs.
 */
static void kstub_arm64_skip(void)
{
}

NOKPROBE_SYMBOL(kstub_arm64_skip);

static void kstub_arm64_ftrace_brk(unsigned long ip, unsigned long parent_ip,
				   struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	unsigned long esr = ftrace_regs_get_argument(fregs, 0);
	struct pt_regs *regs = (struct pt_regs *)ftrace_regs_get_argument(fregs, 1);

	if (kstub_arm64_brk(regs, esr))
		ftrace_regs_set_instruction_pointer(fregs, (unsigned long)kstub_arm64_skip);
}

NOKPROBE_SYMBOL(kstub_arm64_ftrace_brk);

static void kstub_arm64_ftrace_step(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	struct pt_regs *regs = (struct pt_regs *)ftrace_regs_get_argument(fregs, 1);

	if (kstub_arm64_step(regs))
		ftrace_regs_set_instruction_pointer(fregs, (unsigned long)kstub_arm64_skip);
}

NOKPROBE_SYMBOL(kstub_arm64_ftrace_step);

static struct ftrace_ops kstub_arm64_brk_ops = { .func = kstub_arm64_ftrace_brk };
static struct ftrace_ops kstub_arm64_step_ops = { .func = kstub_arm64_ftrace_step };

static int kstub_arm64_hook_one(struct ftrace_ops *ops, char *fn)
{
	int ret = ftrace_set_filter(ops, fn, strlen(fn), 1);

	if (ret) {
		pr_err("arm64: cannot trace %s (needs CONFIG_DYNAMIC_FTRACE): %d\n", fn, ret);
		return ret;
	}
	ret = register_ftrace_function(ops);
	if (ret)
		pr_err("arm64: cannot hook %s: %d\n", fn, ret);
	return ret;
}

int kstub_arm64_hooks_init(void)
{
	int ret;

	ret = kstub_arm64_hook_one(&kstub_arm64_brk_ops, "do_el1_brk64");
	if (ret)
		return ret;
	ret = kstub_arm64_hook_one(&kstub_arm64_step_ops, "do_el1_softstep");
	if (ret)
		goto err_unhook_brk;
	pr_info("arm64: hooking do_el1_brk64/do_el1_softstep through ftrace\n");
	return 0;

err_unhook_brk:
	unregister_ftrace_function(&kstub_arm64_brk_ops);
	return ret;
}

void kstub_arm64_hooks_exit(void)
{
	unregister_ftrace_function(&kstub_arm64_step_ops);
	unregister_ftrace_function(&kstub_arm64_brk_ops);
}
