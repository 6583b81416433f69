// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel text, as breakpoints touch it: where one may go, reading and
 * writing the bytes under it (with the other CPUs parked, or under
 * stop_machine while the kernel runs), and putting back later the bytes
 * of one that could not come out when GDB removed it.
 */
#include <linux/cpu.h>
#include <linux/irq_work.h>
#include <linux/kprobes.h>
#include <linux/mutex.h>
#include <linux/stop_machine.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include "core.h"
#include "kstub_arch.h"

static unsigned long kstub_text_mutex;
static unsigned long kstub_stop_machine_cpuslocked;
static unsigned long kstub_sinittext, kstub_einittext;
/* Context: process, with text_mutex held and every CPU in stop_machine */
static bool kstub_patch_under_stop_machine;
/* kstub_stale_hit() gave up waiting for text_mutex (the master's) */
bool kstub_patch_forced;

/*
 * Breakpoints GDB removed whose bytes could not go back at the time
 * (stale): a stop's resume queues the irq_work, which queues the work that
 * takes them out under text_mutex and stop_machine. The CPU that runs
 * into one meanwhile retries it (kstub_stale_hit()).
 */
static struct irq_work kstub_restore_irq_work;
static struct work_struct kstub_restore_work;

static const struct kstub_sym kstub_text_syms[] = {
	{ "text_mutex", &kstub_text_mutex },
	{ "stop_machine_cpuslocked", &kstub_stop_machine_cpuslocked },
	{ "_sinittext", &kstub_sinittext },
	{ "_einittext", &kstub_einittext },
};

/*
 * The kernel's own init code, from the moment the kernel starts to free
 * it (kstub built in, or loaded with kstubwait from the initramfs): a
 * breakpoint there is taken and never written again, as in a module's.
 * Its memory may be freed, and poisoned, at any time, and there is no
 * stop in between as there is for a module's. Context: any.
 */
bool kstub_kernel_init_gone(u64 addr)
{
	return READ_ONCE(system_state) >= SYSTEM_FREEING_INITMEM &&
	       addr >= kstub_sinittext && addr < kstub_einittext;
}

NOKPROBE_SYMBOL(kstub_kernel_init_gone);

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
	return kstub_target_libs->text_gone(addr);
}

NOKPROBE_SYMBOL(kstub_bp_gone);

struct kstub_bp_ops kstub_bp_text = {
	.valid = kstub_bp_valid,
	.read = kstub_bp_read,
	.patch = kstub_bp_patch,
	.gone = kstub_bp_gone,
};

/*
 * Whether the breakpoint instruction is at @addr. Inline, with no call
 * out of kstub: a CPU that may run into breakpoints uses it.
 */
bool kstub_text_is_bp(unsigned long addr)
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

int kstub_hook_all(void *unused)
{
	kstub_bp_activate(&kstub_hooks);
	return 0;
}

static int kstub_restore_stale(void *unused)
{
	kstub_bp_restore_stale(&kstub_bps);
	return 0;
}

static void kstub_restore_work_fn(struct work_struct *work)
{
	kstub_patch_running(kstub_restore_stale);
}

/* Hard interrupt context: the work needs process context. */
static void kstub_restore_irq_work_fn(struct irq_work *work)
{
	schedule_work(&kstub_restore_work);
}

int kstub_unpatch_all(void *unused)
{
	kstub_bp_clear_all(&kstub_bps);
	kstub_bp_clear_all(&kstub_hooks);
	return 0;
}

/*
 * Kernel text changes while the kernel runs with every CPU held in
 * stop_machine, the same guarantee a stop gives. Process context.
 * The locks in the kernel's order (jump labels, static calls, kprobes):
 * the CPU hotplug lock before text_mutex, so stop_machine's own hotplug
 * lock is taken first, and its variant that expects it held is called
 * (it is not exported).
 */
void kstub_patch_running(cpu_stop_fn_t fn)
{
	struct mutex *text_mutex = (struct mutex *)kstub_text_mutex;

	cpus_read_lock();
	mutex_lock(text_mutex);
	kstub_patch_under_stop_machine = true;
	kstub_call(kstub_stop_machine_cpuslocked, (unsigned long)fn, 0, 0);
	kstub_patch_under_stop_machine = false;
	mutex_unlock(text_mutex);
	cpus_read_unlock();
}

/* Context: any; see kstub_bp_in_range() */
bool kstub_breakpoints_in(u64 lo, u64 hi)
{
	return kstub_bp_in_range(&kstub_bps, lo, hi);
}

/* Context: any, interrupts off: the trap path queues it. */
void kstub_text_restore_later(void)
{
	irq_work_queue(&kstub_restore_irq_work);
}

NOKPROBE_SYMBOL(kstub_text_restore_later);

int kstub_text_init(void)
{
	kstub_bp_text.insn = kstub_arch.bp_insn;
	kstub_bp_text.insn_len = kstub_arch.bp_len;
	init_irq_work(&kstub_restore_irq_work, kstub_restore_irq_work_fn);
	INIT_WORK(&kstub_restore_work, kstub_restore_work_fn);
	return kstub_syms_resolve(kstub_text_syms, ARRAY_SIZE(kstub_text_syms));
}

/* No more stale breakpoints will be queued (kstub_closing is set). */
void kstub_text_exit(void)
{
	irq_work_sync(&kstub_restore_irq_work);
	cancel_work_sync(&kstub_restore_work);
}
