// SPDX-License-Identifier: GPL-2.0
/*
 * The stop/resume cycle. One CPU (the master) talks to GDB; every other
 * online CPU is parked in kstub_park() by the arch roundup. Everything
 * here is reachable from the trap path: atomic-safe, no allocation, no
 * sleeping, no lock another stopped CPU might hold.
 */
#include <linux/module.h>
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/nmi.h>
#include <linux/sched.h>
#include <linux/signal.h>
#include <linux/smp.h>
#include <linux/timekeeping.h>
#include "core.h"
#include "kstub_arch.h"

enum {
	KSTUB_WAIT_SPINS = 100000000,	/* cpu_relax()es, ~1 s and more */
	KSTUB_STALE_TRIES = 10000,
};

/* how long a detach waits for GDB's last ack: a round trip on a slow line */
#define KSTUB_LAST_ACK_NS (200 * NSEC_PER_MSEC)

/*
 * Each CPU writes its own slot as it stops; the master sets hold and
 * reads the rest.
 */
DEFINE_PER_CPU(struct kstub_cpu, kstub_cpus);
/* the CPU that owns the stop, or KSTUB_NO_CPU: taken by cmpxchg */
atomic_t kstub_master = ATOMIC_INIT(KSTUB_NO_CPU);
static atomic_t kstub_nparked = ATOMIC_INIT(0);
/* the master, from its roundup's start to its end */
static bool kstub_rounding_up;
/* the master's: breakpoints it ran into while rounding up and could not take out */
static unsigned long kstub_roundup_stuck;
/*
 * The master's: its breakpoints are out of the text, and a parked CPU
 * may call a kernel function (the watchdogs') without running into one.
 */
static bool kstub_text_clean;
/* the CPU stepping for GDB: the master writes it, any CPU's trap reads it */
int kstub_step_cpu = KSTUB_NO_CPU;
/* traps are kstub's: set at the end of init, cleared in exit */
bool kstub_ready;
/* rmmod has begun: no breakpoint is written in again (process context sets it) */
bool kstub_closing;

/* The master's, from here on. */
/* a breakpoint kstub_reentered() took out, not told yet */
static unsigned long kstub_refused_news;
static struct cpumask kstub_roundup_mask;
const struct kstub_transport_ops *kstub_transport;
static struct kstub_buffers kstub_bufs;
struct kstub_session kstub_sess;
struct kstub_bp_table kstub_bps;
/* kstub's own breakpoints (panic()'s entry), which GDB neither sees nor removes */
struct kstub_bp_table kstub_hooks;
static unsigned long kstub_libs_told;	/* the module list GDB knows of */

/* kernel functions, resolved at module init and only read after it */
static unsigned long kstub_touch_softlockup_sync;
static unsigned long kstub_rcu_cpu_stall_reset;
static unsigned long kstub_clocksource_touch;

static const struct kstub_sym kstub_core_syms[] = {
	{ "touch_softlockup_watchdog_sync", &kstub_touch_softlockup_sync, true },
	{ "rcu_cpu_stall_reset", &kstub_rcu_cpu_stall_reset, true },
	{ "clocksource_touch_watchdog", &kstub_clocksource_touch, true },
};

static void kstub_tell_refused(void);

/* What a kernel trap's signal is called in a GDB stop reply. */
int kstub_gdb_signal(int linux_signal)
{
	switch (linux_signal) {
	case SIGILL:
		return KSTUB_SIGILL;
	case SIGTRAP:
		return KSTUB_SIGTRAP;
	case SIGFPE:
		return KSTUB_SIGFPE;
	case SIGBUS:
		return KSTUB_SIGBUS;
	default:
		return KSTUB_SIGSEGV;
	}
}

/*
 * kstub's own text: GDB may not put breakpoints there, and on x86 an int3
 * there is kstub_arch_break(). Built in, kstub's code lies among the
 * kernel's, and is known by its functions' prefix. Context: any.
 */
bool kstub_owns(unsigned long addr)
{
#ifdef MODULE
	return within_module(addr, THIS_MODULE);
#else
	char name[KSYM_SYMBOL_LEN];

	if (!core_kernel_text(addr))
		return false;
	sprint_symbol_no_offset(name, addr);
	return !strncmp(name, "kstub_", strlen("kstub_"));
#endif
}

NOKPROBE_SYMBOL(kstub_owns);

static void kstub_touch_watchdogs(void)
{
	if (kstub_touch_softlockup_sync)
		kstub_call(kstub_touch_softlockup_sync, 0, 0, 0);
	if (kstub_clocksource_touch)
		kstub_call(kstub_clocksource_touch, 0, 0, 0);
	if (kstub_rcu_cpu_stall_reset)
		kstub_call(kstub_rcu_cpu_stall_reset, 0, 0, 0);
	touch_nmi_watchdog();
}

NOKPROBE_SYMBOL(kstub_touch_watchdogs);

static void kstub_record_cpu(int cpu, struct pt_regs *regs)
{
	struct kstub_cpu *kc = per_cpu_ptr(&kstub_cpus, cpu);

	kc->task = current;
	kstub_arch.save_cpu(cpu);
	WRITE_ONCE(kc->regs, regs);
}

NOKPROBE_SYMBOL(kstub_record_cpu);

/*
 * Called by the arch roundup handler (an NMI on x86), and by a CPU that
 * waits for kstub_master in its own trap (interrupts masked: on arm64 the
 * roundup's IPI cannot reach it). Such a CPU parks with its trap frame,
 * and an NMI that comes on top of that finds it parked already.
 */
bool kstub_park(struct pt_regs *regs)
{
	int cpu = raw_smp_processor_id();
	struct kstub_cpu *kc = per_cpu_ptr(&kstub_cpus, cpu);
	unsigned long n = 0;

	if (!READ_ONCE(kc->hold))
		return false;
	if (READ_ONCE(kc->parked))
		return true;
	WRITE_ONCE(kc->parked, true);
	barrier();
	/* an NMI between the first look and here may have parked us already */
	if (!READ_ONCE(kc->hold)) {
		WRITE_ONCE(kc->parked, false);
		return false;
	}
	kstub_record_cpu(cpu, kc->waiting ?: regs);
	/* the master reads our regs once it sees the count */
	smp_mb__before_atomic();
	atomic_inc(&kstub_nparked);
	while (READ_ONCE(kc->hold)) {
		cpu_relax();
		if (++n % KSTUB_TOUCH_EVERY)
			continue;
		WRITE_ONCE(kc->touching, true);
		/* pairs with kstub_text_dirty(): one of us sees the other's write */
		smp_mb();
		if (READ_ONCE(kstub_text_clean)) {
			touch_nmi_watchdog();
			kstub_hw_follow();
		}
		/* out of the watchdogs' code before the master sees us leave */
		smp_store_release(&kc->touching, false);
	}
	/* pairs with kstub_release_cpus(): GDB's writes to our frame are in */
	smp_rmb();
	WRITE_ONCE(kc->regs, NULL);
	/*
	 * Not parked before the count drops: an NMI of the next stop (which
	 * starts once the count is zero, or the last master gave up on it)
	 * must park us.
	 */
	WRITE_ONCE(kc->parked, false);
	/* regs are gone before the master may start the next stop */
	smp_mb__before_atomic();
	atomic_dec(&kstub_nparked);
	return true;
}

NOKPROBE_SYMBOL(kstub_park);

static void kstub_roundup_cpus(int self)
{
	unsigned int want, cpu;
	unsigned long n;

	cpumask_copy(&kstub_roundup_mask, cpu_online_mask);
	cpumask_clear_cpu(self, &kstub_roundup_mask);
	want = cpumask_weight(&kstub_roundup_mask);
	if (!want)
		return;
	for_each_cpu(cpu, &kstub_roundup_mask)
		WRITE_ONCE(per_cpu(kstub_cpus, cpu).hold, true);
	/* hold must be visible before the NMI that makes a CPU look at it */
	smp_mb();
	kstub_arch.stop_cpus(&kstub_roundup_mask);
	/* no udelay(): the breakpoints are still in */
	for (n = 0; n < KSTUB_WAIT_SPINS; n++) {
		if (atomic_read(&kstub_nparked) >= want)
			return;
		cpu_relax();
	}
	/* a CPU that did not answer is listed, with no registers */
}

NOKPROBE_SYMBOL(kstub_roundup_cpus);

/*
 * A crash says on the consoles what kstub does with it (the oops or the
 * panic says what it is) before the other CPUs stop: a console's driver
 * may take a lock that a CPU stopped in the middle of its own write would
 * hold for good (virtio's console, written to from another CPU:
 * test_oops_while_console_busy hung there). The rest of the stop reads
 * the same state (kstub_stopped()), and lockdown is applied there.
 * Context: the master, in the roundup or stepping.
 */
static void kstub_crash_tell(struct pt_regs *regs, enum kstub_reason why)
{
	char waits[64] = "; waiting for GDB\n";

	if (why != KSTUB_REASON_PANIC && why != KSTUB_REASON_OOPS)
		return;
	if (!(kstub_lockdown_allows() & KSTUB_MAY_READ))
		snprintf(waits, sizeof(waits), "; the kernel is locked down, going on\n");
	else
		kstub_crash_wait_ns(waits, sizeof(waits));
	if (why == KSTUB_REASON_PANIC)
		kstub_panic_say(regs, waits);
	else if (!kstub_gdb_attached())
		kstub_console_say("kstub: oops", "", waits);
}

NOKPROBE_SYMBOL(kstub_crash_tell);

/*
 * The roundup runs kernel code (the IPIs, the cpumask helpers, a crash's
 * words on the consoles) with the breakpoints still in: a breakpoint the
 * master runs into there takes them all out at once, for this stop
 * (kstub_trap_swbreak()).
 */
static void kstub_roundup(int self, struct pt_regs *regs, enum kstub_reason why)
{
	WRITE_ONCE(kstub_rounding_up, true);
	kstub_crash_tell(regs, why);
	kstub_roundup_cpus(self);
	WRITE_ONCE(kstub_rounding_up, false);
}

NOKPROBE_SYMBOL(kstub_roundup);

/*
 * The breakpoints are in: from here to the end of the stop the master
 * calls no kernel function, any of which may hold one (udelay(), the
 * cpumask helpers of a kernel with many CPUs): only inline code.
 */
static void kstub_release_cpus(void)
{
	unsigned int cpu;
	unsigned long n;

	/* GDB's register writes to parked CPUs are in place before they leave */
	smp_mb();
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		if (cpu_online(cpu))
			WRITE_ONCE(per_cpu(kstub_cpus, cpu).hold, false);
	for (n = 0; n < KSTUB_WAIT_SPINS && atomic_read(&kstub_nparked); n++)
		cpu_relax();
}

NOKPROBE_SYMBOL(kstub_release_cpus);

/*
 * Wait to own the stop. Another CPU's stop parks us meanwhile, with our
 * trap frame @regs, and once it is over we report our own trap: none is
 * lost. Context: a trap, interrupts masked.
 */
static void kstub_acquire(int cpu, struct pt_regs *regs)
{
	struct kstub_cpu *kc = per_cpu_ptr(&kstub_cpus, cpu);

	WRITE_ONCE(kc->waiting, regs);
	while (atomic_cmpxchg(&kstub_master, KSTUB_NO_CPU, cpu) != KSTUB_NO_CPU) {
		if (READ_ONCE(kc->hold))
			kstub_park(regs);
		cpu_relax();
	}
	WRITE_ONCE(kc->waiting, NULL);
}

NOKPROBE_SYMBOL(kstub_acquire);

/*
 * The breakpoints go back in: no parked CPU may be in a kernel function
 * from here on. Context: the master, the other CPUs parked.
 */
static void kstub_text_dirty(void)
{
	unsigned int cpu;

	WRITE_ONCE(kstub_text_clean, false);
	/* pairs with kstub_park(): one of us sees the other's write */
	smp_mb();
	for_each_online_cpu(cpu)
		/* acquire: that CPU is out of the watchdogs' code */
		while (smp_load_acquire(&per_cpu(kstub_cpus, cpu).touching))
			cpu_relax();
}

NOKPROBE_SYMBOL(kstub_text_dirty);

/* The session's write op, and the console's: the transport's bytes out. */
void kstub_transport_write(void *io, const u8 *buf, size_t len)
{
	kstub_transport->put_chars(buf, len);
}

NOKPROBE_SYMBOL(kstub_transport_write);

/*
 * GDB acks a detach's OK after kstub has sent it, and then goes. Taken
 * while the kernel is still stopped, that '+' cannot reach a tty that
 * shares the line once the kernel runs; any byte ends the wait.
 */
static void kstub_take_last_ack(void)
{
	u64 deadline = ktime_get_mono_fast_ns() + KSTUB_LAST_ACK_NS;

	while (kstub_transport->get_char() < 0 && ktime_get_mono_fast_ns() < deadline)
		udelay(2);
}

NOKPROBE_SYMBOL(kstub_take_last_ack);

/*
 * Serve GDB until it resumes the kernel. @wait_ns: how long to wait for
 * a first byte (U64_MAX: no limit); with none by then, the kernel goes on.
 */
static enum kstub_action kstub_serve(u64 wait_ns)
{
	u64 deadline = U64_MAX;
	enum kstub_action act;
	unsigned long n = 0;
	int c;

	if (wait_ns != U64_MAX)
		deadline = ktime_get_mono_fast_ns() + wait_ns;
	for (;;) {
		c = kstub_transport->get_char();
		if (c < 0) {
			/*
			 * A pause, not a spin: an emulated device refills its
			 * receive FIFO only when its emulator gets a look in.
			 */
			udelay(2);
			if (!(++n % KSTUB_TOUCH_EVERY))
				touch_nmi_watchdog();
			if (deadline != U64_MAX && ktime_get_mono_fast_ns() > deadline)
				return KSTUB_CONTINUE;
			continue;
		}
		/* a GDB is talking: no limit */
		deadline = U64_MAX;
		act = kstub_session_feed(&kstub_sess, c);
		if (act == KSTUB_DETACH && kstub_sess.ack_due)
			kstub_take_last_ack();
		if (act == KSTUB_DETACH && kstub_transport->detached)
			kstub_transport->detached();
		if (act != KSTUB_STAY)
			return act;
	}
}

NOKPROBE_SYMBOL(kstub_serve);

/* The master's side of a stop, from entry to resume. */
static void kstub_stopped(int cpu, struct pt_regs *regs,
			  enum kstub_reason why, int signal)
{
	enum kstub_action act;
	unsigned int flags = 0;
	unsigned long libs;
	u64 data;
	bool packet = kstub_breakin.packet;
	bool ctrl_c = false;
	u64 wait = U64_MAX;
	char waits[64];	/* said already, by kstub_crash_tell() */

	kstub_record_cpu(cpu, regs);
	kstub_bp_forget_gone(&kstub_bps);
	kstub_tell_refused();
	kstub_lockdown_stop();
	if (!(kstub_may & KSTUB_MAY_READ)) {
		/* nothing to show GDB: it goes, and the kernel goes on */
		kstub_session_end(&kstub_sess);
		wait = 0;
	} else if (why == KSTUB_REASON_PANIC || why == KSTUB_REASON_OOPS) {
		wait = kstub_crash_wait_ns(waits, sizeof(waits));
	}
	/* a kernel panics once: the hook has done its work */
	if (why == KSTUB_REASON_PANIC) {
		kstub_bp_clear(&kstub_hooks, instruction_pointer(regs));
		kstub_panic_tell_gdb();
	}
	/*
	 * GDB's Ctrl-C came in while the kernel ran, and another stop came
	 * first: that stop says what it is, and the Ctrl-C stops the kernel
	 * at the next resume, as a SIGINT left pending does under
	 * gdbserver. GDB would resume from a hit it ignores (an ignore
	 * count, a false condition), and wait on for a stop it asked for.
	 */
	if (why == KSTUB_REASON_BREAK && kstub_breakin.signal)
		signal = kstub_breakin.signal;
	else if (kstub_breakin.signal == KSTUB_SIGINT)
		ctrl_c = true;
	kstub_breakin.signal = 0;
	kstub_breakin.packet = false;
	/* the new GDB asks for the stop itself, after its first packet */
	if (packet)
		kstub_session_new_client(&kstub_sess);
	kstub_target_stopped();
	if (why == KSTUB_REASON_SWBREAK)
		flags |= KSTUB_STOP_SWBREAK;
	/*
	 * a hardware hit on this CPU: its own stop, or the step it came in
	 * (x86), which a break-in's step may be
	 */
	flags |= kstub_hw_told(cpu, &data);
	/* a GDB that connects now reads the list anyway */
	libs = kstub_target_libs->gen();
	if (libs != kstub_libs_told && kstub_sess.connected)
		flags |= KSTUB_STOP_LIBRARY;
	kstub_libs_told = libs;
	kstub_session_stop(&kstub_sess, kstub_task_tid(current), signal, flags, data);
	if (packet)
		kstub_session_feed(&kstub_sess, '$');
	else if (ctrl_c)
		kstub_session_feed(&kstub_sess, KSTUB_CTRL_C);
	act = wait ? kstub_serve(wait) : KSTUB_CONTINUE;

	if (act == KSTUB_STEP) {
		/* the other CPUs stay parked: a step is one instruction */
		WRITE_ONCE(kstub_step_cpu, cpu);
		kstub_hw_resume(true);
		kstub_arch.step_arm(regs);
		return;
	}
	if (kstub_transport->resume)
		kstub_transport->resume();
	/* GDB's Ctrl-C may have come right after its continue */
	kstub_rx_resumed();
	WRITE_ONCE(per_cpu(kstub_cpus, cpu).regs, NULL);
	kstub_touch_watchdogs();
	if (kstub_bp_any_stale(&kstub_bps) && !READ_ONCE(kstub_closing))
		kstub_text_restore_later();
	kstub_hw_resume(false);
	kstub_text_dirty();
	/* last, then only inline code: see kstub_release_cpus() */
	if (!READ_ONCE(kstub_closing)) {
		kstub_bp_activate(&kstub_hooks);
		kstub_bp_activate(&kstub_bps);
	}
	kstub_release_cpus();
	atomic_set(&kstub_master, KSTUB_NO_CPU);
}

NOKPROBE_SYMBOL(kstub_stopped);

/*
 * A fault on the CPU that owns the stop, while it serves GDB: kstub itself
 * went wrong. It cannot stop in itself; it lets the other CPUs go and the
 * kernel handle the fault (an oops), rather than hang every CPU.
 * Context: the master, in a trap; the breakpoints are out.
 */
static void kstub_abandon(struct pt_regs *regs)
{
	/* not serving any more (kstub_serving()) */
	WRITE_ONCE(per_cpu(kstub_cpus, raw_smp_processor_id()).regs, NULL);
	WRITE_ONCE(kstub_step_cpu, KSTUB_NO_CPU);
	WRITE_ONCE(kstub_rounding_up, false);
	kstub_release_cpus();
	atomic_set(&kstub_master, KSTUB_NO_CPU);
	pr_emerg("fault at %pS inside kstub's stop; the kernel handles it\n",
		 (void *)instruction_pointer(regs));
}

NOKPROBE_SYMBOL(kstub_abandon);

/*
 * The CPU that owns the stop ran into one of kstub's breakpoints outside
 * a step: it was writing the breakpoints in, and the code that writes
 * one holds another (only where the arch patches through kernel code).
 * It cannot stop in itself. The breakpoint goes, for good: GDB's next
 * attempt to insert it is refused, and GDB is told why now.
 * Context: the master, in a trap.
 * Return: true if the breakpoint was kstub's and is out.
 */
static bool kstub_reentered(struct pt_regs *regs, unsigned long addr)
{
	struct kstub_bp_table *t = &kstub_bps;

	if (kstub_bp_state_at(t, addr) != KSTUB_BP_ACTIVE)
		t = &kstub_hooks;
	if (kstub_bp_state_at(t, addr) != KSTUB_BP_ACTIVE || kstub_bp_refuse(t, addr))
		return false;
	kstub_arch.set_pc(regs, addr);
	/* told at the next stop: other breakpoints may still be in */
	if (!kstub_refused_news)
		kstub_refused_news = addr;
	return true;
}

NOKPROBE_SYMBOL(kstub_reentered);

/*
 * The CPU that owns the stop ran into one of kstub's breakpoints while it
 * rounds up the others (the IPIs, the cpumask helpers): every breakpoint
 * comes out now, for this stop, and the CPU runs the instruction. The
 * other CPUs are not all parked yet: one that holds text_mutex is no sign
 * of a patch left half done. One that could not come out is run into
 * again, and tried again; after KSTUB_STALE_TRIES, the kernel gets the
 * trap (an oops, not a hang).
 * Context: the master, in a trap, inside kstub_roundup().
 * Return: true if the breakpoint was kstub's and the CPU goes on.
 */
static bool kstub_roundup_reentered(struct pt_regs *regs, unsigned long addr)
{
	int stuck;

	if (!kstub_bp_known(&kstub_bps, addr) && !kstub_bp_known(&kstub_hooks, addr))
		return false;
	kstub_patch_forced = true;
	stuck = kstub_bp_deactivate(&kstub_bps) + kstub_bp_deactivate(&kstub_hooks);
	kstub_patch_forced = false;
	if (!stuck) {
		kstub_roundup_stuck = 0;
	} else if (++kstub_roundup_stuck > KSTUB_STALE_TRIES) {
		kstub_roundup_stuck = 0;
		kstub_abandon(regs);
		return false;
	}
	kstub_arch.set_pc(regs, addr);
	return true;
}

NOKPROBE_SYMBOL(kstub_roundup_reentered);

/* Say which breakpoint kstub_reentered() took out. Context: the master, stopped. */
static void kstub_tell_refused(void)
{
	char msg[KSYM_SYMBOL_LEN + 80];

	if (!kstub_refused_news)
		return;
	snprintf(msg, sizeof(msg),
		 "kstub: breakpoint at %pS taken out: kstub runs that code itself\n",
		 (void *)kstub_refused_news);
	kstub_refused_news = 0;
	pr_warn("%s", msg + strlen("kstub: "));
	if (kstub_gdb_attached())
		kstub_output(msg, strlen(msg));
}

/*
 * Called with kstub_master held by @cpu. A CPU that was single-stepping
 * still has the others parked; any other CPU rounds them up now.
 */
static void kstub_enter(int cpu, struct pt_regs *regs, enum kstub_reason why,
			int signal, bool stepping)
{
	struct pt_regs *breakin = kstub_breakin.regs;

	if (!stepping) {
		kstub_roundup(cpu, regs, why);
	} else if (!breakin) {
		/* GDB's step: the others stayed parked, the breakpoints out */
		WRITE_ONCE(kstub_step_cpu, KSTUB_NO_CPU);
		kstub_arch.step_done(regs);
		kstub_crash_tell(regs, why);
	} else {
		/* a break-in: the other CPUs are still running */
		WRITE_ONCE(kstub_step_cpu, KSTUB_NO_CPU);
		kstub_breakin.regs = NULL;
		if (why == KSTUB_REASON_STEP) {
			kstub_arch.step_done(regs);
			why = KSTUB_REASON_BREAK;
		} else {
			/* trapped on the way out of the interrupt: stop here */
			kstub_arch.step_cancel(breakin);
		}
		kstub_roundup(cpu, regs, why);
	}
	/*
	 * The breakpoints out once the other CPUs are parked: a CPU that
	 * runs into one meanwhile waits in kstub_acquire() and reports it
	 * after this stop. Before the master runs any other kernel code
	 * (the panic message, GDB's requests).
	 */
	kstub_bp_deactivate(&kstub_bps);
	kstub_bp_deactivate(&kstub_hooks);
	WRITE_ONCE(kstub_text_clean, true);
	kstub_hw_stop();
	kstub_stopped(cpu, regs, why, signal);
}

NOKPROBE_SYMBOL(kstub_enter);

/**
 * kstub_trap() - enter the debugger from a trap handler
 * @regs: the trap frame; GDB's register changes are written back into it
 * @why: what trapped
 * @signal: the signal GDB is told about
 *
 * Context: any, interrupts off. Returns when GDB resumes the kernel.
 * Return: false if the trap was not kstub's (a step trap on a CPU that is
 * not stepping for GDB), true otherwise.
 */
bool kstub_trap(struct pt_regs *regs, enum kstub_reason why, int signal)
{
	int cpu = raw_smp_processor_id();
	bool stepping = READ_ONCE(kstub_step_cpu) == cpu;

	if (!READ_ONCE(kstub_ready))
		return false;
	if (why == KSTUB_REASON_STEP && !stepping)
		return false;
	if (!stepping && atomic_read(&kstub_master) == cpu) {
		kstub_abandon(regs);
		return false;
	}
	if (!stepping) {
		kstub_acquire(cpu, regs);
		if (why == KSTUB_REASON_BREAK && kstub_breakin_answered()) {
			atomic_set(&kstub_master, KSTUB_NO_CPU);
			return true;
		}
	}
	kstub_enter(cpu, regs, why, signal, stepping);
	return true;
}

NOKPROBE_SYMBOL(kstub_trap);

/*
 * A CPU ran into a breakpoint GDB removed and whose bytes kstub could not
 * put back: put them back now if the arch can, else leave the CPU to run
 * into it again (a retry; the CPU or another that holds text_mutex gets
 * to run meanwhile) until the deferred work has put them back.
 * Context: trap, with kstub_master held by this CPU; the others run.
 */
static void kstub_stale_hit(struct pt_regs *regs, unsigned long addr)
{
	static unsigned long tries;

	/*
	 * The holder of text_mutex may be waiting for this CPU (a
	 * stop_machine() that cannot preempt it): after a while, patch anyway
	 */
	kstub_patch_forced = ++tries > KSTUB_STALE_TRIES;
	if (!kstub_bp_restore_stale(&kstub_bps))
		tries = 0;
	kstub_patch_forced = false;
	kstub_arch.set_pc(regs, addr);
	if (kstub_bp_any_stale(&kstub_bps))
		kstub_text_restore_later();
}

NOKPROBE_SYMBOL(kstub_stale_hit);

/**
 * kstub_trap_swbreak() - a breakpoint instruction trapped at @addr
 *
 * Context: trap handler, interrupts off.
 * Return: true if the trap was one of kstub's breakpoints (handled, and the
 * pc set to @addr), false if it belongs to someone else.
 */
bool kstub_trap_swbreak(struct pt_regs *regs, unsigned long addr)
{
	int cpu = raw_smp_processor_id();
	bool stepping = READ_ONCE(kstub_step_cpu) == cpu;
	unsigned long pc = instruction_pointer(regs);
	bool known;

	if (!READ_ONCE(kstub_ready))
		return false;
	if (!stepping && atomic_read(&kstub_master) == cpu)
		return READ_ONCE(kstub_rounding_up) ? kstub_roundup_reentered(regs, addr) :
						      kstub_reentered(regs, addr);
	/*
	 * Parked while it waits, this CPU shows GDB the breakpoint's address,
	 * not the instruction after it (x86). GDB may move it meanwhile.
	 */
	known = kstub_bp_known(&kstub_bps, addr) || kstub_bp_known(&kstub_hooks, addr);
	if (!stepping) {
		if (known)
			kstub_arch.set_pc(regs, addr);
		kstub_acquire(cpu, regs);
		if (known && instruction_pointer(regs) != addr) {
			atomic_set(&kstub_master, KSTUB_NO_CPU);
			return true;
		}
	}
	if (kstub_bp_state_at(&kstub_bps, addr) == KSTUB_BP_ACTIVE) {
		kstub_arch.set_pc(regs, addr);
		kstub_enter(cpu, regs, KSTUB_REASON_SWBREAK, KSTUB_SIGTRAP, stepping);
		return true;
	}
	if (kstub_bp_state_at(&kstub_hooks, addr) == KSTUB_BP_ACTIVE) {
		kstub_arch.set_pc(regs, addr);
		kstub_enter(cpu, regs, KSTUB_REASON_PANIC, KSTUB_SIGABRT, stepping);
		return true;
	}
	if (kstub_bp_state_at(&kstub_bps, addr) == KSTUB_BP_STALE) {
		kstub_stale_hit(regs, addr);
		if (!stepping)
			atomic_set(&kstub_master, KSTUB_NO_CPU);
		return true;
	}
	/* removed while this CPU was on its way in: run the real instruction */
	if ((kstub_bp_known(&kstub_bps, addr) || kstub_bp_known(&kstub_hooks, addr)) &&
	    !kstub_text_is_bp(addr)) {
		kstub_arch.set_pc(regs, addr);
		if (!stepping)
			atomic_set(&kstub_master, KSTUB_NO_CPU);
		return true;
	}
	kstub_arch.set_pc(regs, pc);
	if (!stepping)
		atomic_set(&kstub_master, KSTUB_NO_CPU);
	return false;
}

NOKPROBE_SYMBOL(kstub_trap_swbreak);

/*
 * From GDB's first packet until it detaches, the line is GDB's: a
 * transport shared with other users routes its bytes to kstub.
 * Context: any; a racy read is fine, the line changes hands slowly.
 */
bool kstub_gdb_attached(void)
{
	return READ_ONCE(kstub_sess.connected);
}

NOKPROBE_SYMBOL(kstub_gdb_attached);

/*
 * Whether the kernel is stopped, or stepping one instruction with
 * interrupts masked, and this CPU serves GDB: the only time a transport
 * may read a device whose kernel driver reads it too (tty=), since no
 * interrupt handler of the driver's can run then. Context: any.
 */
bool kstub_serving(void)
{
	int cpu = raw_smp_processor_id();

	return atomic_read(&kstub_master) == cpu &&
	       READ_ONCE(per_cpu(kstub_cpus, cpu).regs);
}

NOKPROBE_SYMBOL(kstub_serving);

bool kstub_is_stepping(void)
{
	return READ_ONCE(kstub_step_cpu) == raw_smp_processor_id();
}

NOKPROBE_SYMBOL(kstub_is_stepping);

/* ---- setup ---- */

int kstub_core_init(const struct kstub_transport_ops *io, kstub_monitor_fn monitor,
		    const struct kstub_libs_ops *libs)
{
	int ret;

	ret = kstub_syms_resolve(kstub_core_syms, ARRAY_SIZE(kstub_core_syms));
	if (!ret)
		ret = kstub_target_init();
	if (!ret)
		ret = kstub_text_init();
	if (ret)
		return ret;
	kstub_transport = io;
	kstub_target_monitor = monitor;
	kstub_target_libs = libs;
	kstub_bp_init(&kstub_bps, &kstub_bp_text, NULL);
	kstub_session_init(&kstub_sess, &kstub_bufs);
	kstub_sess.target = &kstub_target;
	kstub_sess.bps = &kstub_bps;
	kstub_sess.write = kstub_transport_write;
	kstub_sess.reliable = io->reliable;
	kstub_breakin_init();
	kstub_bp_init(&kstub_hooks, &kstub_bp_text, NULL);
	/* a debugger that cannot see panics is still a debugger */
	ret = kstub_bp_set(&kstub_hooks, kstub_arch.hook_addr((unsigned long)panic));
	if (ret)
		pr_warn("panic() cannot be hooked (%d): a panic will not stop\n", ret);
	WRITE_ONCE(kstub_ready, true);
	kstub_patch_running(kstub_hook_all);
	return 0;
}

/*
 * GDB may still have breakpoints in the running kernel: take them out
 * while kstub still takes their traps (a CPU may be about to hit one), and
 * write none in again (a stop may come before they are out: GDB's resume
 * then leaves them out). Only then stop taking traps.
 */
void kstub_core_exit(void)
{
	WRITE_ONCE(kstub_closing, true);
	kstub_text_exit();
	kstub_patch_running(kstub_unpatch_all);
	WRITE_ONCE(kstub_ready, false);
	kstub_breakin_exit();
	/* a CPU that ran into a stale one may have queued it again */
	kstub_text_exit();
}
