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
 * Where a step cannot start just now, kstub asks again: a few times back
 * to back, from a self-IPI that comes once this interrupt has exited,
 * then every 2 ms from a timer. Not now is: the interrupt came from user
 * code, or from kstub's own (a later one may come from the kernel's), or
 * the arch says so (arm64, while softirqs are pending: under load they
 * stay pending for many interrupts in a row, the softirq thread has them
 * and more come; eight back-to-back tries all failed, spread over a
 * quarter of a second the step found its moment). Only then does kstub
 * stop in its own handler.
 */
enum {
	KSTUB_BREAKIN_QUICK_TRIES = 8,
	KSTUB_BREAKIN_TRIES = 128,
	KSTUB_BREAKIN_SPACING_NS = 2 * NSEC_PER_MSEC,
};

static void kstub_rx_irq_hard(struct irq_work *work);
static void kstub_rx_later(void);

/*
 * The request (@signal, @packet), @tries and @regs are read and written
 * by the CPU that holds kstub_master, whoever that is: between tries the
 * request waits with kstub_master free, so that the kernel runs as it
 * does without kstub (a breakpoint hit meanwhile stops it as any hit
 * does, and that stop answers the request). @rx_work is queued by
 * whichever receive handler runs in a thread, and by the master as a stop
 * ends; @rx_timer is set by whichever receive interrupt found the stop
 * taken (on its own CPU).
 */
struct kstub_breakin kstub_breakin = {
	.rx_work = IRQ_WORK_INIT_HARD(kstub_rx_irq_hard),
};

/* this CPU only: its next compiled-in break is kstub_breakin_again()'s */
static DEFINE_PER_CPU(bool, kstub_breakin_last);

static int kstub_breakin_try(struct pt_regs *regs, bool own_irq);
static void kstub_breakin_again(int ret);

/**
 * kstub_rx_irq() - bytes came in while the kernel runs
 *
 * A transport's receive interrupt calls this. GDB's Ctrl-C (0x03), or the
 * first packet of a GDB that has just connected, stops the kernel: where
 * it can, one instruction into the code the interrupt came from, as if
 * the debugger had been there all along; otherwise right here.
 *
 * Context: the transport's receive handler. In a hard interrupt it reads
 * at once. A handler the kernel runs in a thread (PREEMPT_RT threads every
 * interrupt handler not marked IRQF_NO_THREAD, virtio's among them) passes
 * the work to a hard irq_work: a preemptible thread must not own the stop
 * while another CPU spins for it with interrupts off, and has no
 * interrupted frame to step into.
 * Return: whether there were bytes to read (a poller that polls sooner
 * while the line is busy loses fewer to a full FIFO); in a thread, true.
 */
bool kstub_rx_irq(void)
{
	int cpu;
	bool any = false;
	int c;

	if (!READ_ONCE(kstub_ready))
		return false;
	if (!in_hardirq()) {
		irq_work_queue(&kstub_breakin.rx_work);
		return true;
	}
	/*
	 * While stopped or stepping, the master reads the bytes: own the
	 * stop before reading, so that two CPUs never drive the transport.
	 */
	cpu = smp_processor_id();
	if (atomic_cmpxchg(&kstub_master, KSTUB_NO_CPU, cpu) != KSTUB_NO_CPU) {
		kstub_rx_later();
		return false;
	}
	/*
	 * A stop asked for already waits for its moment: the bytes after
	 * it (the rest of a new GDB's packet) are the stop's to read. This
	 * interrupt is one more moment to try, outside the tries' count:
	 * the retries go on by themselves, and a poller (tty=, 1 kHz while
	 * bytes come) would use the count up in a tenth of a second (FULL=1
	 * once stopped in kstub so, under user code on 6.1 arm64).
	 */
	if (kstub_breakin.signal) {
		if (kstub_breakin_try(get_irq_regs(), false))
			atomic_set(&kstub_master, KSTUB_NO_CPU);
		return false;
	}
	while ((c = kstub_transport->get_char()) >= 0) {
		any = true;
		if (c == KSTUB_CTRL_C || c == '$')
			break;
	}
	if (c < 0) {
		atomic_set(&kstub_master, KSTUB_NO_CPU);
		return any;
	}
	kstub_breakin.packet = c == '$';
	kstub_breakin.signal = c == '$' ? KSTUB_SIGTRAP : KSTUB_SIGINT;
	kstub_breakin.tries = 0;
	kstub_breakin_again(kstub_breakin_try(get_irq_regs(), false));
	return true;
}

NOKPROBE_SYMBOL(kstub_rx_irq);

static void kstub_rx_irq_hard(struct irq_work *work)
{
	kstub_rx_irq();
}

NOKPROBE_SYMBOL(kstub_rx_irq_hard);

/*
 * A receive interrupt found the stop taken: most often by the master of
 * a stop that is just ending, which has let the other CPUs go and not
 * yet let go itself (GDB's Ctrl-C, sent right after its continue,
 * reaches a parked CPU's pending receive interrupt so). The interrupt is
 * acknowledged, and no device here signals a byte again that it
 * signalled once: QEMU's PL011 raises RX only as its FIFO goes from
 * empty, an ISA 16550's edge has come and gone, virtio calls back once
 * for the buffers it used. Unread, GDB's one Ctrl-C would wait until GDB
 * sent something else, and GDB waits for the stop: look again in 2 ms,
 * and so on until the stop is ours. A polled transport asks again by
 * itself. Context: hard interrupt, outside any stop.
 */
static void kstub_rx_later(void)
{
	if (READ_ONCE(kstub_ready) && !kstub_transport->polled)
		hrtimer_start(&kstub_breakin.rx_timer, ns_to_ktime(KSTUB_BREAKIN_SPACING_NS),
			      HRTIMER_MODE_REL_PINNED_HARD);
}

NOKPROBE_SYMBOL(kstub_rx_later);

/**
 * kstub_rx_resumed() - a stop ends: look at the line once the kernel runs
 *
 * GDB sends its Ctrl-C right after the packet that resumes, and the
 * bytes may be in kstub's own buffer already (virtio's, one buffer for
 * both), where the stop reads no further and no interrupt will say they
 * are there. An irq_work, not the timer: queueing one takes no lock,
 * where a parked CPU may hold a timer base's for good.
 * Context: the master, before it lets the other CPUs go.
 */
void kstub_rx_resumed(void)
{
	if (!kstub_transport->polled)
		irq_work_queue(&kstub_breakin.rx_work);
}

NOKPROBE_SYMBOL(kstub_rx_resumed);

static enum hrtimer_restart kstub_rx_look(struct hrtimer *timer)
{
	kstub_rx_irq();
	return HRTIMER_NORESTART;
}

NOKPROBE_SYMBOL(kstub_rx_look);

/*
 * Arm the step into the code @regs (the interrupted frame, or NULL) goes
 * back to: 0, or why not.
 *
 * Context: hard interrupt, with kstub_master held by this CPU.
 */
static int kstub_breakin_try(struct pt_regs *regs, bool own_irq)
{
	int ret;

	if (!READ_ONCE(kstub_ready))
		return -EPERM;
	/* x86's irq_work interrupt does not say what it interrupted */
	if (!regs || user_mode(regs) || kstub_owns(instruction_pointer(regs)))
		return -EAGAIN;
	ret = kstub_arch.step_irq(regs, own_irq);
	if (!ret) {
		kstub_breakin.regs = regs;
		WRITE_ONCE(kstub_step_cpu, smp_processor_id());
	}
	return ret;
}

NOKPROBE_SYMBOL(kstub_breakin_try);

static void kstub_breakin_later_again(void)
{
	hrtimer_start(&kstub_breakin.timer, ns_to_ktime(KSTUB_BREAKIN_SPACING_NS),
		      HRTIMER_MODE_REL_PINNED_HARD);
}

NOKPROBE_SYMBOL(kstub_breakin_later_again);

/*
 * After a try that returned @ret: done (the step is armed, and this CPU
 * keeps kstub_master until it traps), ask again later, or stop here.
 * Between tries kstub_master is free: a CPU that held it on would stop
 * in itself at a breakpoint it runs into (kstub_reentered()), and the
 * others would wait for it in their traps, interrupts masked.
 *
 * Context: hard interrupt, with kstub_master held by this CPU.
 */
static void kstub_breakin_again(int ret)
{
	if (!ret)
		return;
	if (ret == -EAGAIN && READ_ONCE(kstub_ready) &&
	    ++kstub_breakin.tries < KSTUB_BREAKIN_TRIES) {
		if (kstub_breakin.tries < KSTUB_BREAKIN_QUICK_TRIES)
			irq_work_queue(&kstub_breakin.work);
		else
			kstub_breakin_later_again();
		atomic_set(&kstub_master, KSTUB_NO_CPU);
		return;
	}
	atomic_set(&kstub_master, KSTUB_NO_CPU);
	if (READ_ONCE(kstub_ready)) {
		this_cpu_write(kstub_breakin_last, true);
		kstub_arch_break();
	}
}

NOKPROBE_SYMBOL(kstub_breakin_again);

/*
 * Own the stop for another try, if the request still waits: false if it
 * does not, or if another CPU owns the stop (a stop, which answers the
 * request; a try of its own; or a trap passing through, so this CPU asks
 * again later). Context: hard interrupt.
 */
static bool kstub_breakin_claim(void)
{
	if (atomic_cmpxchg(&kstub_master, KSTUB_NO_CPU, smp_processor_id()) != KSTUB_NO_CPU) {
		if (READ_ONCE(kstub_ready))
			kstub_breakin_later_again();
		return false;
	}
	if (kstub_breakin.signal)
		return true;
	atomic_set(&kstub_master, KSTUB_NO_CPU);
	return false;
}

NOKPROBE_SYMBOL(kstub_breakin_claim);

static void kstub_breakin_retry(struct irq_work *work)
{
	if (kstub_breakin_claim())
		kstub_breakin_again(kstub_breakin_try(get_irq_regs(), true));
}

NOKPROBE_SYMBOL(kstub_breakin_retry);

/*
 * The timer's interrupt says what it interrupted, where x86's irq_work
 * does not: try from here first. An arch that wants its own interrupt
 * for the step (arm64: code that runs after a timer's callback in the
 * same interrupt may restore an interrupt mask saved before it) gets it
 * from the irq_work.
 */
static enum hrtimer_restart kstub_breakin_later(struct hrtimer *timer)
{
	int ret;

	if (!kstub_breakin_claim())
		return HRTIMER_NORESTART;
	ret = kstub_breakin_try(get_irq_regs(), false);
	if (ret == -EAGAIN && READ_ONCE(kstub_ready)) {
		irq_work_queue(&kstub_breakin.work);
		atomic_set(&kstub_master, KSTUB_NO_CPU);
	} else {
		kstub_breakin_again(ret);
	}
	return HRTIMER_NORESTART;
}

NOKPROBE_SYMBOL(kstub_breakin_later);

/**
 * kstub_breakin_answered() - whether a compiled-in break is a stale one
 *
 * kstub_breakin_again() stops in its own handler with kstub_master free:
 * another stop may come first, and answer the request. Its break then
 * asks for nothing, and the kernel goes on.
 * Context: a compiled-in break's trap, with kstub_master held by this CPU.
 * Return: true if this CPU's break was the last resort of a request that
 * is answered.
 */
bool kstub_breakin_answered(void)
{
	if (!this_cpu_read(kstub_breakin_last))
		return false;
	this_cpu_write(kstub_breakin_last, false);
	return !kstub_breakin.signal;
}

NOKPROBE_SYMBOL(kstub_breakin_answered);

void kstub_breakin_init(void)
{
	/* hard: a lazy one runs in a thread on PREEMPT_RT, with no frame */
	kstub_breakin.work = IRQ_WORK_INIT_HARD(kstub_breakin_retry);
	hrtimer_init(&kstub_breakin.timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	kstub_breakin.timer.function = kstub_breakin_later;
	hrtimer_init(&kstub_breakin.rx_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	kstub_breakin.rx_timer.function = kstub_rx_look;
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
	hrtimer_cancel(&kstub_breakin.rx_timer);
}

/*
 * Once the transport's receive handler is gone (free_irq() and virtio's
 * del_vqs() wait for a handler thread to finish), nothing queues
 * @rx_work again: wait for the last one.
 */
void kstub_breakin_drain(void)
{
	irq_work_sync(&kstub_breakin.rx_work);
	/*
	 * A receive handler that saw kstub_ready before it was cleared may
	 * have set the timer after kstub_breakin_exit(); its callback sets
	 * none again. Not set up if the core never was (kstub_init()'s
	 * failure before it).
	 */
	if (kstub_breakin.rx_timer.function)
		hrtimer_cancel(&kstub_breakin.rx_timer);
}
