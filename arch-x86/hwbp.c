// SPDX-License-Identifier: GPL-2.0
/*
 * x86's debug registers after a stop. kstub rewrites a CPU's slots in a
 * trap (an NMI for a parked CPU; int3, #DB or the NMI-like entry of a
 * hit for the master), and those keep DR7 clear while they run: the
 * kernel has one #DB stack, and a #DB inside #DB would overwrite its
 * frame. So the registers perf's install writes go dark again at once,
 * perf's own copy (cpu_dr7) keeps the new value, and:
 * - the NMI's exit puts back the DR7 it saved on entry (local_db_save()):
 *   that saved value becomes the new one, so a parked CPU runs on with
 *   its new slots at once;
 * - otherwise the registers are reloaded from perf's copy
 *   (hw_breakpoint_restore()) by an irq_work, which runs as soon as the
 *   trap has returned and the CPU takes interrupts. Until then the CPU
 *   has no slot in (the #DB's exit may put back the old DR7, whose slots
 *   a hit then finds freed, stub/hwbp.c), and while GDB single-steps it
 *   (interrupts masked) none triggers.
 *
 * State: one irq_work per CPU, queued by that CPU only.
 */
#include <linux/hw_breakpoint.h>
#include <linux/irq_work.h>
#include <linux/kprobes.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sizes.h>
#include <asm/debugreg.h>
#include "kstub.h"
#include "hwbp.h"

static DEFINE_PER_CPU(struct irq_work, kstub_x86_dr_work);
/* the NMI's saved DR7 (arch/x86/kernel/nmi.c), found at load; may be NULL */
static unsigned long __percpu *kstub_x86_nmi_dr7;

static void kstub_x86_dr_reload(struct irq_work *work)
{
	hw_breakpoint_restore();
}

void kstub_x86_hw_changed(void)
{
	if (in_nmi()) {
		set_debugreg(0, 7);
		if (kstub_x86_nmi_dr7)
			this_cpu_write(*kstub_x86_nmi_dr7, this_cpu_read(cpu_dr7));
	}
	irq_work_queue(this_cpu_ptr(&kstub_x86_dr_work));
}

NOKPROBE_SYMBOL(kstub_x86_hw_changed);

void kstub_x86_hw_init(void)
{
	int cpu;

	unsigned long nmi_dr7 = kstub_lookup("nmi_dr7"), end = kstub_lookup("__per_cpu_end");

	/*
	 * x86-64's per-CPU symbols are offsets into the per-CPU area, from 0
	 * (its end a few hundred KiB): anything else is not used
	 */
	if (nmi_dr7 && nmi_dr7 < end && end < SZ_16M)
		kstub_x86_nmi_dr7 = (unsigned long __percpu *)nmi_dr7;
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
