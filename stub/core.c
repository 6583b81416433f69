// SPDX-License-Identifier: GPL-2.0
/*
 * The stop/resume cycle. One CPU (the master) talks to GDB; every other
 * online CPU is parked in kstub_park() by the arch roundup. Everything
 * here is reachable from the trap path: atomic-safe, no allocation, no
 * sleeping, no lock another stopped CPU might hold.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/atomic.h>
#include <linux/console.h>
#include <linux/delay.h>
#include <linux/irq_work.h>
#include <linux/kallsyms.h>
#include <linux/kexec.h>
#include <linux/kernel.h>
#include <linux/mutex.h>
#include <linux/nmi.h>
#include <linux/panic.h>
#include <linux/sched.h>
#include <linux/signal.h>
#include <linux/smp.h>
#include <linux/stop_machine.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <linux/kprobes.h>
#include <asm/irq_regs.h>
#include "kstub.h"
#include "kstub_arch.h"

enum {
	KSTUB_ROUNDUP_WAIT_US = 1000000,
	KSTUB_RELEASE_SPINS = 100000000,	/* cpu_relax()es, ~1 s and more */
	KSTUB_TOUCH_EVERY = 4096,	/* polls between watchdog touches */
	KSTUB_NO_CPU = -1,
	KSTUB_OUTPUT_CHUNK = 64,	/* console text per 'O' packet */
	KSTUB_CTRL_C = 0x03,
	KSTUB_BREAKIN_TRIES = 8,
	KSTUB_PANIC_MSG_MAX = 512,
	KSTUB_STALE_TRIES = 10000,
};

struct kstub_cpu {
	struct pt_regs *regs;	/* trap frame while stopped, else NULL */
	bool hold;		/* the master wants this CPU parked */
	struct task_struct *task;	/* what it was running */
};

static struct kstub_cpu kstub_cpus[NR_CPUS];
static atomic_t kstub_master = ATOMIC_INIT(KSTUB_NO_CPU);
static atomic_t kstub_nparked = ATOMIC_INIT(0);
static int kstub_step_cpu = KSTUB_NO_CPU;
static bool kstub_ready;
/* rmmod has begun: no breakpoint is written in again (process context sets it) */
static bool kstub_closing;
/* a breakpoint kstub_reentered() took out, not told yet (the master's) */
static unsigned long kstub_refused_news;
static struct cpumask kstub_roundup_mask;

/*
 * A break-in from kstub_rx_irq(): the interrupted frame carries an armed
 * step, so the stop comes one instruction into the interrupted code.
 */
static struct pt_regs *kstub_breakin_regs;
static int kstub_breakin_signal;	/* the stop it asked for, or 0 */
static bool kstub_breakin_packet;	/* a new GDB's first packet has begun */
static struct irq_work kstub_breakin_work;
static int kstub_breakin_tries;

/*
 * Breakpoints GDB removed whose bytes could not go back at the time
 * (stale): a stop's resume queues the irq_work, which queues the work that
 * takes them out under text_mutex and stop_machine. The CPU that runs
 * into one meanwhile retries it (kstub_stale_hit()).
 */
static struct irq_work kstub_restore_irq_work;
static struct work_struct kstub_restore_work;

static const struct kstub_io_ops *kstub_io;
static struct kstub_buffers kstub_bufs;
static struct kstub_session kstub_sess;
static struct kstub_bp_table kstub_bps;
/* kstub's own breakpoints (panic()'s entry), which GDB neither sees nor removes */
static struct kstub_bp_table kstub_hooks;
static char kstub_panic_msg[KSTUB_PANIC_MSG_MAX];
static const char kstub_panic_says[] = "Kernel panic - not syncing: ";
static unsigned long kstub_libs_told;	/* the module list GDB knows of */

/*
 * How long a panic or an oops holds the kernel for a GDB that is not
 * attached, in seconds (kstub.crash_wait): 0 not at all, -1 with no limit
 * unless the kernel would reboot (panic=N) or boot a crash kernel, and
 * then not at all. A GDB that is attached always gets the stop.
 * Context: the user sets it through sysfs; the master reads it once a stop.
 */
int kstub_crash_wait = -1;

static unsigned long kstub_copy_to_kernel_nofault;
static unsigned long kstub_touch_softlockup_sync;
static unsigned long kstub_rcu_cpu_stall_reset;
static unsigned long kstub_clocksource_touch;
static unsigned long kstub_text_mutex;
static unsigned long kstub_idle_task_fn;
static bool kstub_patch_under_stop_machine;
/* kstub_stale_hit() gave up waiting for text_mutex (that CPU's own) */
static bool kstub_patch_forced;

static const struct kstub_sym kstub_core_syms[] = {
	{ "copy_to_kernel_nofault", &kstub_copy_to_kernel_nofault },
	{ "text_mutex", &kstub_text_mutex },
	{ "touch_softlockup_watchdog_sync", &kstub_touch_softlockup_sync, true },
	{ "rcu_cpu_stall_reset", &kstub_rcu_cpu_stall_reset, true },
	{ "clocksource_touch_watchdog", &kstub_clocksource_touch, true },
	{ "idle_task", &kstub_idle_task_fn },
};

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

/* ---- the target as the session sees it ---- */

/*
 * What kernel lockdown lets GDB do at this stop (KSTUB_MAY_*), asked again
 * at every stop. Context: the master's.
 */
static unsigned int kstub_may = KSTUB_MAY_READ | KSTUB_MAY_WRITE;

static int kstub_read_kernel(u64 addr, u8 *buf, size_t len)
{
	return copy_from_kernel_nofault(buf, (void *)(unsigned long)addr, len) ?
	       -EFAULT : 0;
}

static int kstub_t_read_mem(void *ctx, u64 addr, u8 *buf, size_t len)
{
	if (!(kstub_may & KSTUB_MAY_READ))
		return -EPERM;
	return kstub_read_kernel(addr, buf, len);
}

static int kstub_t_write_mem(void *ctx, u64 addr, const u8 *buf, size_t len)
{
	long ret;

	if (!(kstub_may & KSTUB_MAY_WRITE))
		return -EPERM;
	ret = kstub_call(kstub_copy_to_kernel_nofault, addr, (unsigned long)buf, len);

	return ret ? -EFAULT : 0;
}

/*
 * Threads are tasks. A task's thread id is its pid; the idle tasks (pid
 * 0, one per CPU) get ids past any pid. GDB's list starts with what each
 * CPU was running, then the idle tasks, then every other task.
 * The kernel is stopped: the task list holds still, and is read without
 * its lock, which a parked CPU may hold.
 */
enum {
	KSTUB_TID_IDLE = PID_MAX_LIMIT + 1,	/* + the CPU number */
	KSTUB_WALK_CPUS = 0,
	KSTUB_WALK_IDLE,
	KSTUB_WALK_TASKS,
	KSTUB_WALK_END,
};

struct kstub_walk {
	int phase;
	int cpu;
	struct task_struct *p, *t;
	int tid;		/* of the thread the walk is on */
};

/* the last walk's position, so that GDB's thread by thread list is linear */
static struct kstub_walk kstub_walk_cache;

static struct task_struct *kstub_idle(int cpu)
{
	return (struct task_struct *)kstub_call(kstub_idle_task_fn, cpu, 0, 0);
}

static int kstub_task_tid(struct task_struct *t)
{
	return t->pid ? t->pid : KSTUB_TID_IDLE + task_cpu(t);
}

/* The CPU that stopped while running @t, or -1: @t is switched out. */
static int kstub_task_running(struct task_struct *t)
{
	int cpu;

	for_each_online_cpu(cpu)
		if (kstub_cpus[cpu].task == t && READ_ONCE(kstub_cpus[cpu].regs))
			return cpu;
	return -1;
}

static struct task_struct *kstub_walk_task(struct kstub_walk *w)
{
	switch (w->phase) {
	case KSTUB_WALK_CPUS:
		return kstub_cpus[w->cpu].task;
	case KSTUB_WALK_IDLE:
		return kstub_idle(w->cpu);
	case KSTUB_WALK_TASKS:
		return w->t;
	default:
		return NULL;
	}
}

/* Step @w to the next thread; false at the end. */
static bool kstub_walk_next(struct kstub_walk *w)
{
	struct task_struct *t;

	for (;;) {
		switch (w->phase) {
		case KSTUB_WALK_CPUS:
		case KSTUB_WALK_IDLE:
			w->cpu = cpumask_next(w->cpu, cpu_online_mask);
			if (w->cpu >= nr_cpu_ids) {
				w->phase++;
				w->cpu = -1;
				if (w->phase == KSTUB_WALK_TASKS) {
					w->p = next_task(&init_task);
					w->t = w->p;
					if (w->p == &init_task)
						w->phase = KSTUB_WALK_END;
				}
				if (w->phase == KSTUB_WALK_END)
					return false;
				if (w->phase == KSTUB_WALK_TASKS)
					break;
				continue;
			}
			if (w->phase == KSTUB_WALK_CPUS &&
			    (!READ_ONCE(kstub_cpus[w->cpu].regs) || !kstub_cpus[w->cpu].task))
				continue;
			break;
		case KSTUB_WALK_TASKS:
			t = next_thread(w->t);
			if (t != w->p) {
				w->t = t;
			} else {
				w->p = next_task(w->p);
				w->t = w->p;
				if (w->p == &init_task) {
					w->phase = KSTUB_WALK_END;
					return false;
				}
			}
			break;
		default:
			return false;
		}
		t = kstub_walk_task(w);
		/* each task once: a CPU's task is not listed again */
		if (!t || (w->phase != KSTUB_WALK_CPUS && kstub_task_running(t) >= 0))
			continue;
		w->tid = kstub_task_tid(t);
		return true;
	}
}

static void kstub_walk_start(struct kstub_walk *w)
{
	w->phase = KSTUB_WALK_CPUS;
	w->cpu = -1;
	w->p = NULL;
	w->t = NULL;
	w->tid = 0;
}

/* Position a walk on thread @tid; false if there is no such thread. */
static bool kstub_walk_find(struct kstub_walk *w, int tid)
{
	if (kstub_walk_cache.tid == tid && tid) {
		*w = kstub_walk_cache;
		return true;
	}
	kstub_walk_start(w);
	while (kstub_walk_next(w))
		if (w->tid == tid)
			return true;
	return false;
}

static struct task_struct *kstub_tid_task(int tid)
{
	struct kstub_walk w;

	if (tid <= 0)
		return NULL;
	if (tid >= KSTUB_TID_IDLE && tid < KSTUB_TID_IDLE + nr_cpu_ids) {
		if (!cpu_online(tid - KSTUB_TID_IDLE))
			return NULL;
		return kstub_idle(tid - KSTUB_TID_IDLE);
	}
	if (!kstub_walk_find(&w, tid))
		return NULL;
	kstub_walk_cache = w;
	return kstub_walk_task(&w);
}

static int kstub_t_reg_get(void *ctx, int tid, int regno, u8 *val, bool *avail)
{
	struct task_struct *t = kstub_tid_task(tid);
	int cpu, n;

	if (!t)
		return -ESRCH;
	cpu = kstub_task_running(t);
	if (cpu >= 0)
		n = kstub_arch.reg_get(kstub_cpus[cpu].regs, cpu, regno, val, avail);
	else
		n = kstub_arch.task_reg_get(t, regno, val, avail);
	/* the register exists; under lockdown its value is not GDB's to see */
	if (n > 0 && !(kstub_may & KSTUB_MAY_READ)) {
		memset(val, 0, n);
		*avail = false;
	}
	return n;
}

static int kstub_t_reg_set(void *ctx, int tid, int regno, const u8 *val)
{
	struct task_struct *t = kstub_tid_task(tid);
	int cpu;

	if (!t)
		return -ESRCH;
	if (!(kstub_may & KSTUB_MAY_WRITE))
		return -EPERM;
	cpu = kstub_task_running(t);
	/* a switched-out task resumes from what __schedule() saved */
	if (cpu < 0)
		return -EPERM;
	return kstub_arch.reg_set(kstub_cpus[cpu].regs, regno, val);
}

static int kstub_t_thread_next(void *ctx, int tid)
{
	struct kstub_walk w;

	if (!tid)
		kstub_walk_start(&w);
	else if (!kstub_walk_find(&w, tid))
		return 0;
	if (!kstub_walk_next(&w))
		return 0;
	kstub_walk_cache = w;
	return w.tid;
}

static bool kstub_t_thread_alive(void *ctx, int tid)
{
	return kstub_tid_task(tid);
}

static const char *kstub_task_state(struct task_struct *t)
{
	switch (task_state_to_char(t)) {
	case 'R':
		return "runnable";
	case 'S':
		return "sleeping";
	case 'D':
		return "uninterruptible";
	case 'T':
		return "stopped";
	case 't':
		return "traced";
	case 'X':
		return "dead";
	case 'Z':
		return "zombie";
	case 'P':
		return "parked";
	case 'I':
		return "idle";
	default:
		return "?";
	}
}

static void kstub_t_thread_extra(void *ctx, int tid, char *buf, size_t cap)
{
	struct task_struct *t = kstub_tid_task(tid);
	int cpu = t ? kstub_task_running(t) : -1;

	if (!t)
		snprintf(buf, cap, "gone");
	else if (cpu >= 0)
		snprintf(buf, cap, "CPU %d", cpu);
	else if (!t->pid && !READ_ONCE(kstub_cpus[task_cpu(t)].regs))
		snprintf(buf, cap, "CPU %d idle, did not stop", task_cpu(t));
	else
		snprintf(buf, cap, "%s", kstub_task_state(t));
}

static void kstub_t_thread_name(void *ctx, int tid, char *buf, size_t cap)
{
	struct task_struct *t = kstub_tid_task(tid);
	char comm[TASK_COMM_LEN];

	if (!t) {
		buf[0] = 0;
		return;
	}
	/* comm may change under a parked CPU: copy it, terminated */
	memcpy(comm, t->comm, sizeof(comm));
	comm[sizeof(comm) - 1] = 0;
	strscpy(buf, comm, cap);
}

static int kstub_t_thread_core(void *ctx, int tid)
{
	struct task_struct *t = kstub_tid_task(tid);
	int cpu = t ? kstub_task_running(t) : -1;

	return cpu >= 0 ? cpu : (t ? task_cpu(t) : -1);
}

/* What @cpu was running when it stopped; false if it did not stop. */
bool kstub_cpu_stopped(int cpu, struct task_struct **task, struct pt_regs **regs)
{
	*regs = READ_ONCE(kstub_cpus[cpu].regs);
	*task = kstub_cpus[cpu].task;
	return *regs && *task;
}

static u64 kstub_t_image_base(void *ctx)
{
	return kstub_arch.image_base();
}

static int kstub_t_monitor(void *ctx, const char *cmd, struct kstub_session *s)
{
	/* what the monitor shows is read from the kernel's memory */
	if (!(kstub_may & KSTUB_MAY_READ))
		return -EPERM;
	return kstub_monitor(ctx, cmd, s);
}

static int kstub_t_library(void *ctx, unsigned int i, const char **name,
			   const u64 **bases)
{
	if (!(kstub_may & KSTUB_MAY_READ))
		return -ENOENT;
	return kstub_library(ctx, i, name, bases);
}

static struct kstub_target_ops kstub_target = {
	.read_mem = kstub_t_read_mem,
	.write_mem = kstub_t_write_mem,
	.reg_get = kstub_t_reg_get,
	.reg_set = kstub_t_reg_set,
	.thread_next = kstub_t_thread_next,
	.thread_alive = kstub_t_thread_alive,
	.thread_extra = kstub_t_thread_extra,
	.thread_name = kstub_t_thread_name,
	.thread_core = kstub_t_thread_core,
	.image_base = kstub_t_image_base,
	.monitor = kstub_t_monitor,
	.library = kstub_t_library,
};

/* ---- breakpoint text access ---- */

static int kstub_bp_valid(void *ctx, u64 addr)
{
	if (READ_ONCE(kstub_closing))
		return -ESHUTDOWN;
	if (!(kstub_may & KSTUB_MAY_WRITE))
		return -EPERM;
	if (kstub_owns(addr))
		return -EPERM;
	return kstub_arch.bp_valid(addr);
}

static int kstub_bp_read(void *ctx, u64 addr, u8 *buf, size_t len)
{
	return kstub_read_kernel(addr, buf, len);
}

/*
 * Whether the task on this CPU holds text_mutex. Then no other CPU is
 * half way through a patch (patching takes it), and this one is not
 * either: it trapped outside the patching code, where kstub refuses
 * breakpoints, and the arch's patch op checks its own lock besides.
 */
static bool kstub_text_mutex_mine(struct mutex *m)
{
#ifdef CONFIG_PREEMPT_RT
	return false;
#else
	/* the owner field is the task, its low bits the mutex's flags */
	return (atomic_long_read(&m->owner) & ~0x07UL) == (unsigned long)current;
#endif
}

NOKPROBE_SYMBOL(kstub_text_mutex_mine);

static int kstub_bp_patch(void *ctx, u64 addr, const u8 *buf, size_t len)
{
	struct mutex *m = (struct mutex *)kstub_text_mutex;

	/* the bytes there may not be the kernel's any more */
	if (kstub_kernel_init_gone(addr))
		return -EFAULT;
	/*
	 * text_mutex held elsewhere may mean a patch is half done on a
	 * stopped CPU, in the way of an arch that patches through the
	 * kernel's own helpers
	 */
	if (!kstub_arch.patch_unlocked && !kstub_patch_under_stop_machine &&
	    !kstub_patch_forced && mutex_is_locked(m) && !kstub_text_mutex_mine(m))
		return -EBUSY;
	return kstub_arch.patch(addr, buf, len);
}

NOKPROBE_SYMBOL(kstub_bp_patch);

static bool kstub_bp_gone(void *ctx, u64 addr)
{
	return kstub_text_gone(addr);
}

static struct kstub_bp_ops kstub_bp_text = {
	.valid = kstub_bp_valid,
	.read = kstub_bp_read,
	.patch = kstub_bp_patch,
	.gone = kstub_bp_gone,
};

/* Context: any; see kstub_bp_in_range() */
bool kstub_breakpoints_in(u64 lo, u64 hi)
{
	return kstub_bp_in_range(&kstub_bps, lo, hi);
}

/* ---- stopping and starting the other CPUs ---- */

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
	struct kstub_cpu *kc = &kstub_cpus[cpu];

	kc->task = current;
	kstub_arch.save_cpu(cpu);
	WRITE_ONCE(kc->regs, regs);
}

NOKPROBE_SYMBOL(kstub_record_cpu);

/* Called by the arch roundup handler (an NMI on x86). */
bool kstub_park(struct pt_regs *regs)
{
	int cpu = raw_smp_processor_id();
	struct kstub_cpu *kc = &kstub_cpus[cpu];
	unsigned long n = 0;

	if (!READ_ONCE(kc->hold))
		return false;
	kstub_record_cpu(cpu, regs);
	/* the master reads our regs once it sees the count */
	smp_mb__before_atomic();
	atomic_inc(&kstub_nparked);
	while (READ_ONCE(kc->hold)) {
		cpu_relax();
		if (!(++n % KSTUB_TOUCH_EVERY))
			touch_nmi_watchdog();
	}
	WRITE_ONCE(kc->regs, NULL);
	/* regs are gone before the master may start the next stop */
	smp_mb__before_atomic();
	atomic_dec(&kstub_nparked);
	return true;
}

NOKPROBE_SYMBOL(kstub_park);

static void kstub_roundup(int self)
{
	unsigned int want, cpu;
	int us;

	cpumask_copy(&kstub_roundup_mask, cpu_online_mask);
	cpumask_clear_cpu(self, &kstub_roundup_mask);
	want = cpumask_weight(&kstub_roundup_mask);
	if (!want)
		return;
	for_each_cpu(cpu, &kstub_roundup_mask)
		WRITE_ONCE(kstub_cpus[cpu].hold, true);
	/* hold must be visible before the NMI that makes a CPU look at it */
	smp_mb();
	kstub_arch.stop_cpus(&kstub_roundup_mask);
	for (us = 0; us < KSTUB_ROUNDUP_WAIT_US; us++) {
		if (atomic_read(&kstub_nparked) >= want)
			return;
		udelay(1);
	}
	/* a CPU that did not answer is listed, with no registers */
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

	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		if (cpu_online(cpu))
			WRITE_ONCE(kstub_cpus[cpu].hold, false);
	/* GDB's register writes to parked CPUs are in place before they leave */
	smp_mb();
	for (n = 0; n < KSTUB_RELEASE_SPINS && atomic_read(&kstub_nparked); n++)
		cpu_relax();
}

NOKPROBE_SYMBOL(kstub_release_cpus);

static void kstub_acquire(int cpu)
{
	/* while we wait, the master's roundup parks us like any other CPU */
	while (atomic_cmpxchg(&kstub_master, KSTUB_NO_CPU, cpu) != KSTUB_NO_CPU)
		cpu_relax();
}

NOKPROBE_SYMBOL(kstub_acquire);

static void kstub_panic_say(struct pt_regs *regs, const char *waits);
static void kstub_console_say(const char *a, const char *b, const char *c);
static void kstub_output(const char *s, size_t n);
static void kstub_tell_refused(void);

/* ---- talking to GDB ---- */

static void kstub_io_write(void *io, const u8 *buf, size_t len)
{
	kstub_io->put_chars(buf, len);
}

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
		c = kstub_io->get_char();
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
		if (act != KSTUB_STAY)
			return act;
	}
}

NOKPROBE_SYMBOL(kstub_serve);

/*
 * How long a panic or an oops holds the kernel for GDB (see
 * kstub_crash_wait), in ns: U64_MAX for no limit, 0 for not at all; and
 * the console's words for it in @says. A kernel that would reboot or dump
 * is not made one that hangs because kstub is loaded.
 * Context: the master, stopped.
 */
static u64 kstub_crash_wait_ns(char *says, size_t len)
{
	int wait = READ_ONCE(kstub_crash_wait);

	if (!(kstub_may & KSTUB_MAY_READ)) {
		snprintf(says, len, "; the kernel is locked down, going on\n");
		return 0;
	}
	if (kstub_gdb_attached() || (wait < 0 && !panic_timeout && !kexec_crash_loaded()))
		return U64_MAX;
	if (wait < 0) {
		snprintf(says, len, "; no GDB attached, going on (%s)\n",
			 kexec_crash_loaded() ? "crash kernel loaded" : "panic= set");
		return 0;
	}
	if (!wait) {
		snprintf(says, len, "; no GDB attached, going on (kstub.crash_wait=0)\n");
		return 0;
	}
	snprintf(says, len, "; waiting %d s for GDB\n", wait);
	return (u64)wait * NSEC_PER_SEC;
}

NOKPROBE_SYMBOL(kstub_crash_wait_ns);

/*
 * Lockdown raised since the last stop takes effect now: with writes
 * locked down, GDB's breakpoints come out of the text for good (GDB is
 * told, and its next attempt is refused); with reads locked down too,
 * kstub's own hook on panic() goes as well, as kprobes would, and no stop
 * is served (every stop says so).
 * Context: the master, stopped, every breakpoint out.
 */
static void kstub_lockdown_stop(void)
{
	unsigned int was = kstub_may;
	const char *msg = "kstub: the kernel is locked down: GDB may read, not write\n";

	kstub_may = kstub_lockdown_allows();
	if (!(kstub_may & KSTUB_MAY_WRITE))
		kstub_bp_clear_all(&kstub_bps);
	if (!(kstub_may & KSTUB_MAY_READ)) {
		kstub_bp_clear_all(&kstub_hooks);
		msg = "kstub: the kernel is locked down for confidentiality: no stop for GDB\n";
	} else if (kstub_may == was) {
		return;
	}
	pr_notice("%s", msg + strlen("kstub: "));
	if (kstub_gdb_attached())
		kstub_output(msg, strlen(msg));
}

NOKPROBE_SYMBOL(kstub_lockdown_stop);

/* The master's side of a stop, from entry to resume. */
static void kstub_stopped(int cpu, struct pt_regs *regs,
			  enum kstub_reason why, int signal)
{
	enum kstub_action act;
	unsigned int flags = 0;
	unsigned long libs;
	bool packet = kstub_breakin_packet;
	u64 wait = U64_MAX;
	char waits[64] = "; waiting for GDB\n";

	kstub_record_cpu(cpu, regs);
	kstub_bp_forget_gone(&kstub_bps);
	kstub_tell_refused();
	kstub_lockdown_stop();
	if (!(kstub_may & KSTUB_MAY_READ)) {
		/* nothing to show GDB: it goes, and the kernel goes on */
		kstub_session_end(&kstub_sess);
		wait = 0;
	}
	if (why == KSTUB_REASON_PANIC || why == KSTUB_REASON_OOPS)
		wait = kstub_crash_wait_ns(waits, sizeof(waits));
	/* a kernel panics once: the hook has done its work */
	if (why == KSTUB_REASON_PANIC) {
		kstub_bp_clear(&kstub_hooks, instruction_pointer(regs));
		kstub_panic_say(regs, waits);
	} else if (why == KSTUB_REASON_OOPS && !kstub_gdb_attached()) {
		/* the oops says what it is; the console says what kstub does */
		kstub_console_say("kstub: oops", "", waits);
	}
	if (why == KSTUB_REASON_BREAK && kstub_breakin_signal)
		signal = kstub_breakin_signal;
	kstub_breakin_signal = 0;
	kstub_breakin_packet = false;
	/* the new GDB asks for the stop itself, after its first packet */
	if (packet)
		kstub_session_new_client(&kstub_sess);
	kstub_walk_start(&kstub_walk_cache);
	if (why == KSTUB_REASON_SWBREAK)
		flags |= KSTUB_STOP_SWBREAK;
	/* a GDB that connects now reads the list anyway */
	libs = kstub_libraries_gen();
	if (libs != kstub_libs_told && kstub_sess.connected)
		flags |= KSTUB_STOP_LIBRARY;
	kstub_libs_told = libs;
	kstub_session_stop(&kstub_sess, kstub_task_tid(current), signal, flags);
	if (packet)
		kstub_session_feed(&kstub_sess, '$');
	act = wait ? kstub_serve(wait) : KSTUB_CONTINUE;

	if (act == KSTUB_STEP) {
		/* the other CPUs stay parked: a step is one instruction */
		kstub_step_cpu = cpu;
		kstub_arch.step_arm(regs);
		return;
	}
	WRITE_ONCE(kstub_cpus[cpu].regs, NULL);
	kstub_touch_watchdogs();
	if (kstub_bp_any_stale(&kstub_bps) && !READ_ONCE(kstub_closing))
		irq_work_queue(&kstub_restore_irq_work);
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
 * Whether the breakpoint instruction is at @addr. Inline, with no call
 * out of kstub: a CPU that may run into breakpoints uses it.
 */
static bool kstub_text_is_bp(unsigned long addr)
{
	size_t i;
	u8 b;

	for (i = 0; i < kstub_arch.bp_len; i++) {
		__get_kernel_nofault(&b, (u8 *)addr + i, u8, fault);
		if (b != kstub_arch.bp_insn[i])
			return false;
	}
	return true;
fault:
	return false;
}

NOKPROBE_SYMBOL(kstub_text_is_bp);

/*
 * A fault on the CPU that owns the stop, while it serves GDB: kstub itself
 * went wrong. It cannot stop in itself; it lets the other CPUs go and the
 * kernel handle the fault (an oops), rather than hang every CPU.
 * Context: the master, in a trap; the breakpoints are out.
 */
static void kstub_abandon(struct pt_regs *regs)
{
	kstub_step_cpu = KSTUB_NO_CPU;
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
	struct pt_regs *breakin = kstub_breakin_regs;

	/*
	 * First, before the master runs any kernel code (the roundup's
	 * IPIs and delays, the panic message): every breakpoint out, so that
	 * none is hit by the CPU that owns the stop. The other CPUs may
	 * still run; the arch writes one breakpoint's bytes in a way a CPU
	 * running into them survives (kstub_trap_swbreak() finds it gone).
	 */
	kstub_bp_deactivate(&kstub_bps);
	kstub_bp_deactivate(&kstub_hooks);
	if (!stepping) {
		kstub_roundup(cpu);
	} else if (!breakin) {
		kstub_step_cpu = KSTUB_NO_CPU;
		kstub_arch.step_done(regs);
	} else {
		/* a break-in: the other CPUs are still running */
		kstub_step_cpu = KSTUB_NO_CPU;
		kstub_breakin_regs = NULL;
		if (why == KSTUB_REASON_STEP) {
			kstub_arch.step_done(regs);
			why = KSTUB_REASON_BREAK;
		} else {
			/* trapped on the way out of the interrupt: stop here */
			kstub_arch.step_cancel(breakin);
		}
		kstub_roundup(cpu);
	}
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
	if (!stepping)
		kstub_acquire(cpu);
	kstub_enter(cpu, regs, why, signal, stepping);
	return true;
}

NOKPROBE_SYMBOL(kstub_trap);

/* Text for GDB to print, as 'O' packets. Context: any. */
static void kstub_output(const char *s, size_t n)
{
	u8 frame[2 + 2 * KSTUB_OUTPUT_CHUNK + 3];
	size_t taken, len;

	while (n) {
		len = kstub_frame_output((const u8 *)s, n, &taken, frame, sizeof(frame));
		kstub_io->put_chars(frame, len);
		s += taken;
		n -= taken;
	}
}

/*
 * A trap defers printk to an irq_work that runs only once GDB resumes the
 * kernel: say why it waits on the consoles themselves, as kdb does.
 * Context: trap; a console lock another CPU holds is only tried.
 */
static void kstub_console_say(const char *a, const char *b, const char *c)
{
	struct console *con;
#ifdef KSTUB_CONSOLE_LIST_LOCK
	int cookie = console_srcu_read_lock();

	for_each_console_srcu(con) {
		if (!(console_srcu_read_flags(con) & CON_ENABLED))
			continue;
#else
	for_each_console(con) {
		if (!(con->flags & CON_ENABLED))
			continue;
#endif
		if (!con->write)
			continue;
		oops_in_progress++;
		con->write(con, a, strlen(a));
		con->write(con, b, strlen(b));
		con->write(con, c, strlen(c));
		oops_in_progress--;
	}
#ifdef KSTUB_CONSOLE_LIST_LOCK
	console_srcu_read_unlock(cookie);
#endif
}

/*
 * A panic stops before the kernel stops the other CPUs, at panic()'s
 * entry, where the message is not made yet: make it from the arguments,
 * for the log (monitor dmesg) and the console, and for a GDB that waits.
 * Context: the master, every breakpoint out (so vsnprintf() and the
 * consoles may hold one), the other CPUs parked by kstub.
 */
static void kstub_panic_say(struct pt_regs *regs, const char *waits)
{
	size_t n;

	kstub_arch.printf_args(regs, kstub_panic_msg, sizeof(kstub_panic_msg));
	n = strlen(kstub_panic_msg);
	if (n && kstub_panic_msg[n - 1] == '\n')
		kstub_panic_msg[--n] = '\0';
	pr_emerg("panic: %s\n", kstub_panic_msg);
	kstub_console_say("kstub: panic: ", kstub_panic_msg, waits);
	if (!kstub_gdb_attached())
		return;
	kstub_output(kstub_panic_says, sizeof(kstub_panic_says) - 1);
	kstub_output(kstub_panic_msg, n);
	kstub_output("\n", 1);
}

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
	 * stop_machine() that cannot preempt it): after a while, rely on the
	 * arch's own check alone (arm64's patch_lock)
	 */
	kstub_patch_forced = ++tries > KSTUB_STALE_TRIES;
	if (!kstub_bp_restore_stale(&kstub_bps))
		tries = 0;
	kstub_patch_forced = false;
	kstub_arch.set_pc(regs, addr);
	if (kstub_bp_any_stale(&kstub_bps))
		irq_work_queue(&kstub_restore_irq_work);
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

	if (!READ_ONCE(kstub_ready))
		return false;
	if (!stepping && atomic_read(&kstub_master) == cpu)
		return kstub_reentered(regs, addr);
	if (!stepping)
		kstub_acquire(cpu);
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
	if (!stepping)
		atomic_set(&kstub_master, KSTUB_NO_CPU);
	return false;
}

NOKPROBE_SYMBOL(kstub_trap_swbreak);

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
		c = kstub_io->get_char();
	} while (c >= 0 && c != KSTUB_CTRL_C && c != '$');
	if (c < 0) {
		atomic_set(&kstub_master, KSTUB_NO_CPU);
		return;
	}
	kstub_breakin_packet = c == '$';
	kstub_breakin_signal = c == '$' ? KSTUB_SIGTRAP : KSTUB_SIGINT;
	kstub_breakin_tries = 0;
	kstub_breakin_arm(false);
}

NOKPROBE_SYMBOL(kstub_rx_irq);

/*
 * Context: hard interrupt, with kstub_master held by this CPU. An arch
 * that cannot step from here just now (-EAGAIN) is asked again from the
 * next interrupt, a self-IPI that comes once this one has exited.
 */
static void kstub_breakin_arm(bool own_irq)
{
	struct pt_regs *regs = get_irq_regs();
	int cpu = smp_processor_id();
	int ret = -EPERM;

	if (regs && READ_ONCE(kstub_ready) && !kstub_owns(instruction_pointer(regs)))
		ret = kstub_arch.step_irq(regs, own_irq);
	if (!ret) {
		kstub_breakin_regs = regs;
		WRITE_ONCE(kstub_step_cpu, cpu);
		return;
	}
	if (ret == -EAGAIN && READ_ONCE(kstub_ready) &&
	    ++kstub_breakin_tries < KSTUB_BREAKIN_TRIES) {
		irq_work_queue(&kstub_breakin_work);
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

/**
 * kstub_gdb_console() - console text for the line GDB is attached to
 * @s: the text
 * @n: its length
 *
 * Raw text would break into GDB's packets. While GDB waits for the kernel
 * to stop it goes to GDB as 'O' packets, which GDB prints; while kstub
 * is stopped or stepping, nothing on the kernel side should print, and
 * it is dropped.
 * Context: a console's write method; any.
 * Return: false if no GDB is attached: the console prints @s itself.
 */
bool kstub_gdb_console(const char *s, unsigned int n)
{
	if (!READ_ONCE(kstub_ready) || !kstub_gdb_attached())
		return false;
	if (atomic_read(&kstub_master) == KSTUB_NO_CPU)
		kstub_output(s, n);
	return true;
}

bool kstub_is_stepping(void)
{
	return READ_ONCE(kstub_step_cpu) == raw_smp_processor_id();
}

NOKPROBE_SYMBOL(kstub_is_stepping);

/* ---- setup ---- */

static int kstub_hook_all(void *unused)
{
	kstub_bp_activate(&kstub_hooks);
	return 0;
}

static int kstub_restore_stale(void *unused)
{
	kstub_bp_restore_stale(&kstub_bps);
	return 0;
}

static void kstub_patch_running(cpu_stop_fn_t fn);

static void kstub_restore_work_fn(struct work_struct *work)
{
	kstub_patch_running(kstub_restore_stale);
}

/* Hard interrupt context: the work needs process context. */
static void kstub_restore_irq_work_fn(struct irq_work *work)
{
	schedule_work(&kstub_restore_work);
}

static int kstub_unpatch_all(void *unused)
{
	kstub_bp_clear_all(&kstub_bps);
	kstub_bp_clear_all(&kstub_hooks);
	return 0;
}

/*
 * Kernel text changes while the kernel runs with every CPU held in
 * stop_machine, the same guarantee a stop gives. Process context.
 */
static void kstub_patch_running(cpu_stop_fn_t fn)
{
	struct mutex *text_mutex = (struct mutex *)kstub_text_mutex;

	mutex_lock(text_mutex);
	kstub_patch_under_stop_machine = true;
	stop_machine(fn, NULL, NULL);
	kstub_patch_under_stop_machine = false;
	mutex_unlock(text_mutex);
}

int kstub_core_init(const struct kstub_io_ops *io)
{
	int ret;

	ret = kstub_syms_resolve(kstub_core_syms, ARRAY_SIZE(kstub_core_syms));
	if (!ret)
		ret = kstub_monitor_init();
	if (ret)
		return ret;
	kstub_io = io;
	kstub_target.target_xml = kstub_arch.target_xml;
	kstub_target.expedite = kstub_arch.expedite;
	kstub_bp_text.insn = kstub_arch.bp_insn;
	kstub_bp_text.insn_len = kstub_arch.bp_len;
	kstub_bp_init(&kstub_bps, &kstub_bp_text, NULL);
	kstub_session_init(&kstub_sess, &kstub_bufs);
	kstub_sess.target = &kstub_target;
	kstub_sess.bps = &kstub_bps;
	kstub_sess.write = kstub_io_write;
	kstub_sess.reliable = io->reliable;
	init_irq_work(&kstub_breakin_work, kstub_breakin_retry);
	init_irq_work(&kstub_restore_irq_work, kstub_restore_irq_work_fn);
	INIT_WORK(&kstub_restore_work, kstub_restore_work_fn);
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
	irq_work_sync(&kstub_restore_irq_work);
	cancel_work_sync(&kstub_restore_work);
	kstub_patch_running(kstub_unpatch_all);
	WRITE_ONCE(kstub_ready, false);
	irq_work_sync(&kstub_breakin_work);
	/* a CPU that ran into a stale one may have queued it again */
	irq_work_sync(&kstub_restore_irq_work);
	cancel_work_sync(&kstub_restore_work);
}
