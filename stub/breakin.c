// SPDX-License-Identifier: GPL-2.0
/*
 * Breaking in: GDB's Ctrl-C, or a new GDB's first packet, arrives while
 * the kernel runs, and the transport's receive interrupt stops it.
 */
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/kprobes.h>
#include <asm/irq_regs.h>
#include "core.h"
#include "kstub_arch.h"

/*
 * An arch that cannot step from this interrupt just now (arm64, while
 * softirqs are pending) is asked again: a few times back to back, from a
 * self-IPI that comes once this interrupt has exited, then every 2 ms.
 * Under load softirqs stay pending for many interrupts in a row (the
 * softirq thread has them, and more come), and eight back-to-back tries
 * all failed; spread over a quarter of a second the step found its
 * moment. Only then does kstub stop in its own handler.
 */
enum {
	KSTUB_CTRL_C = 0x03,
	KSTUB_BREAKIN_QUICK_TRIES = 8,
	KSTUB_BREAKIN_TRIES = 128,
	KSTUB_BREAKIN_SPACING_NS = 2 * NSEC_PER_MSEC,
};

/* owned by the CPU that holds kstub_master */
struct kstub_breakin kstub_breakin;

static void kstub_breakin_arm(bool own_irq);

/**
 * kstub_rx_irq() - bytes came in while the kernel runs
 *
 * A transport's receive interrupt calls this. GDB's Ctrl-C (0x03), or the
 * first packet of a GDB that has just connected, stops the kernel: where
 * it can, one instruction into the code the interrupt came from, as if
 * the debugger had been there all along; otherwise right here.
 *
 * Context: hard interrupt, from the transport's handler.
 */
void kstub_rx_irq(void)
{
	int cpu = smp_processor_id();
	int c;

	/*
	 * While stopped or stepping, the master reads the bytes: own the
	 * stop before reading, so that two CPUs never drive the transport.
	 */
	if (!READ_ONCE(kstub_ready) ||
	    atomic_cmpxchg(&kstub_master, KSTUB_NO_CPU, cpu) != KSTUB_NO_CPU)
		return;
	do {
		c = kstub_transport->get_char();
	} while (c >= 0 && c != KSTUB_CTRL_C && c != '$');
	if (c < 0) {
		atomic_set(&kstub_master, KSTUB_NO_CPU);
		return;
	}
	kstub_breakin.packet = c == '$';
	kstub_breakin.signal = c == '$' ? KSTUB_SIGTRAP : KSTUB_SIGINT;
	kstub_breakin.tries = 0;
	kstub_breakin_arm(false);
}

NOKPROBE_SYMBOL(kstub_rx_irq);

/*
 * Context: hard interrupt, with kstub_master held by this CPU. An arch
 * that cannot step from here just now (-EAGAIN) is asked again from
 * kstub's own irq_work, queued at once or by the timer.
 */
static void kstub_breakin_arm(bool own_irq)
{
	struct pt_regs *regs = get_irq_regs();
	int cpu = smp_processor_id();
	int ret = -EPERM;

	if (regs && READ_ONCE(kstub_ready) && !kstub_owns(instruction_pointer(regs)))
		ret = kstub_arch.step_irq(regs, own_irq);
	if (!ret) {
		kstub_breakin.regs = regs;
		WRITE_ONCE(kstub_step_cpu, cpu);
		return;
	}
	if (ret == -EAGAIN && READ_ONCE(kstub_ready) &&
	    ++kstub_breakin.tries < KSTUB_BREAKIN_TRIES) {
		if (kstub_breakin.tries < KSTUB_BREAKIN_QUICK_TRIES)
			irq_work_queue(&kstub_breakin.work);
		else
			hrtimer_start(&kstub_breakin.timer,
				      ns_to_ktime(KSTUB_BREAKIN_SPACING_NS),
				      HRTIMER_MODE_REL_PINNED_HARD);
		return;
	}
	atomic_set(&kstub_master, KSTUB_NO_CPU);
	if (READ_ONCE(kstub_ready))
		kstub_arch_break();
}

NOKPROBE_SYMBOL(kstub_breakin_arm);

static void kstub_breakin_retry(struct irq_work *work)
{
	kstub_breakin_arm(true);
}

NOKPROBE_SYMBOL(kstub_breakin_retry);

/*
 * Not from here: code that runs after a timer's callback in the same
 * interrupt may restore an interrupt mask saved before it (arm64).
 */
static enum hrtimer_restart kstub_breakin_later(struct hrtimer *timer)
{
	if (READ_ONCE(kstub_ready))
		irq_work_queue(&kstub_breakin.work);
	else
		atomic_set(&kstub_master, KSTUB_NO_CPU);
	return HRTIMER_NORESTART;
}

NOKPROBE_SYMBOL(kstub_breakin_later);

void kstub_breakin_init(void)
{
	init_irq_work(&kstub_breakin.work, kstub_breakin_retry);
	hrtimer_init(&kstub_breakin.timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	kstub_breakin.timer.function = kstub_breakin_later;
}

/*
 * kstub_ready is false: neither queues the other again once each has
 * seen it, which a second round makes sure of (one may have run just
 * before it was cleared, and queued the other after the first round).
 */
void kstub_breakin_exit(void)
{
	int round;

	for (round = 0; round < 2; round++) {
		hrtimer_cancel(&kstub_breakin.timer);
		irq_work_sync(&kstub_breakin.work);
	}
}
