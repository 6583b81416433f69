// SPDX-License-Identifier: GPL-2.0
/*
 * x86's debug registers after a stop. The NMI and #DB handlers clear DR7
 * on entry and put back, on their way out, what they found
 * (local_db_save() and local_db_restore()). A CPU whose slots kstub
 * changed while it was stopped in one of them (a parked CPU, in kstub's
 * NMI; the master after a step or a hit) would run on with the slots it
 * had before the stop. The kernel's own copy of the registers, which
 * install and uninstall keep, goes back in from an irq_work, which runs
 * as soon as the exception has returned and the CPU takes interrupts.
 * Until then a hit of a slot GDB freed is ignored (stub/hwbp.c).
 *
 * State: one irq_work per CPU, queued by that CPU only.
 */
#include <linux/hw_breakpoint.h>
#include <linux/irq_work.h>
#include <linux/kprobes.h>
#include <linux/percpu.h>
#include <asm/debugreg.h>
#include "hwbp.h"

static DEFINE_PER_CPU(struct irq_work, kstub_x86_dr_work);

static void kstub_x86_dr_reload(struct irq_work *work)
{
	hw_breakpoint_restore();
}

void kstub_x86_hw_changed(void)
{
	irq_work_queue(this_cpu_ptr(&kstub_x86_dr_work));
}

NOKPROBE_SYMBOL(kstub_x86_hw_changed);

void kstub_x86_hw_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		per_cpu(kstub_x86_dr_work, cpu) = IRQ_WORK_INIT_HARD(kstub_x86_dr_reload);
}

/* after kstub_hw_exit(): no CPU queues it again */
void kstub_x86_hw_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		irq_work_sync(per_cpu_ptr(&kstub_x86_dr_work, cpu));
}
