// SPDX-License-Identifier: GPL-2.0
/*
 * Trigger points for kstub's end-to-end tests, under /proc/kstub_test/:
 *   call    write N: calls kstub_test_func(N, 2 * N)
 *   oops    write anything: NULL dereference in kstub_test_oops()
 *   bug     write anything: BUG() in kstub_test_bug()
 *   gpf     write anything (x86): a general protection fault in kstub_test_gpf(),
 *           interrupts on
 *   ticks   write N: a timer pinned to each CPU, firing every N microseconds
 *           (0 stops them), counted in kstub_test_ticks[cpu]
 *   global  read/write kstub_test_global
 *   busy    write 1/0: start/stop one kthread per CPU calling kstub_test_hot();
 *           write 2: the kthreads call kstub_test_stress_a() and _b() too
 *   stress  write N: calls kstub_test_stress_a() and _b() N times each;
 *           read: how often each has been called, from anywhere
 *   udelay  write N: udelay(N)
 *   conlock write N: a kworker holds the console lock for N milliseconds
 *           (printk then leaves the printing to it), and logs "conlock:
 *           releasing" before it lets go; returns once it has the lock
 *   key     write 1/0: enable/disable kstub_test_key and run kstub_test_branchy();
 *           read: the address of the static branch on it in kstub_test_branchy()
 *   timer   write N: an hrtimer firing every N microseconds (0 stops it);
 *           read: how often it fired
 *   steps   write anything: runs kstub_test_straight(), straight-line code to step through
 *   mask    write anything: runs kstub_test_irqmask(), which reads the interrupt
 *           mask around instructions that change it; read: what it saw
 *   fp      write anything (arm64): runs kstub_test_fpsimd(), which puts known
 *           values in v7 and v30 and calls kstub_test_fp_probe()
 *   text    read: the first bytes of kstub_test_func, in hex, as the CPU sees them
 *           (its address is in /proc/kallsyms)
 *   hottext read: the same of kstub_test_hot
 *   timertext read: the same of kstub_test_timer_fn
 *   watch   write "HOW N": N into kstub_test_watched from this task (p), from a
 *           kworker on another CPU (k), from an hrtimer's callback (t), or into
 *           kstub_test_objp->field (f); "r": read kstub_test_watched;
 *           read: its value, and where the last write ran
 *   hwregs  read: the addresses each online CPU's debug registers can match
 *           (breakpoints and watchpoints enabled, on arm64 also selecting
 *           a byte: one that selects none matches nothing)
 *   peek    write up to KSTUB_TEST_PEEKS kernel addresses in hex; read: a line
 *           "ADDR BYTES" for each, its first KSTUB_TEST_PEEK_BYTES in hex as
 *           the CPU sees them ("-" where they cannot be read)
 *   gone    (x86) an int3 that is gone by the time the die notifiers look
 *           at it: write "arm" to put this module's die notifier in the
 *           chain (kstub loaded after it comes behind it); then 0 or 1 puts
 *           an int3 on the static branch in kstub_test_branchy() with the key
 *           off (a nop) or on (a jump), 2 on the call in kstub_test_caller(),
 *           and runs it. The notifier puts the byte back as the trap passes.
 *           The write fails unless the code ran as it would have without.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/console.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/jump_label.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include "kstub_test.h"
#ifdef CONFIG_ARM64
#include <asm/neon.h>
#include <asm/sysreg.h>
#endif
#ifdef CONFIG_X86
#include <linux/kdebug.h>
#include <asm/debugreg.h>
#include <asm/special_insns.h>
#include <asm/sync_core.h>
#endif

enum {
	KSTUB_TEST_CPUS = 8,
	KSTUB_TEST_TEXT_BYTES = 96,
	KSTUB_TEST_PEEKS = 128,
	KSTUB_TEST_PEEK_BYTES = 16,
};

int kstub_test_global = 42;
int kstub_test_result;
int *kstub_test_null;
unsigned long kstub_test_counters[KSTUB_TEST_CPUS];
static struct task_struct *kstub_test_busy_tasks[KSTUB_TEST_CPUS];
static struct proc_dir_entry *kstub_test_dir;

noinline int kstub_test_helper(int x)
{
	int y = x * 3;

	y += kstub_test_global;
	return y;
}

noinline int kstub_test_func(int a, int b)
{
	int sum = a + b;
	int i;

	sum += kstub_test_helper(a);
	for (i = 0; i < 4; i++)
		sum += i * b;
	kstub_test_result = sum;
	return sum;
}

/* what the busy kthreads run, on every CPU: a function that is always hot */
noinline void kstub_test_hot(unsigned long cpu)
{
	WRITE_ONCE(kstub_test_counters[cpu], kstub_test_counters[cpu] + 1);
}

/*
 * Two functions the stress test puts a breakpoint on and the busy
 * kthreads call together, so that both CPUs run into one at the same
 * moment; each counts its calls, for GDB's hit counts to match.
 */
static bool kstub_test_stress_on;
atomic_long_t kstub_test_stress_calls[2];

noinline void kstub_test_stress_a(void)
{
	atomic_long_inc(&kstub_test_stress_calls[0]);
}

noinline void kstub_test_stress_b(void)
{
	atomic_long_inc(&kstub_test_stress_calls[1]);
}

/* a static branch, like a tracepoint's, which the kernel rewrites when the key flips */
DEFINE_STATIC_KEY_FALSE(kstub_test_key);
int kstub_test_branchy_calls;
int kstub_test_branch_taken;

noinline void kstub_test_branchy(void)
{
	/* the line before the branch, run whichever way the key is */
	WRITE_ONCE(kstub_test_branchy_calls, kstub_test_branchy_calls + 1); /* KSTUB_TEST_BRANCHY */
	barrier();
	if (static_branch_unlikely(&kstub_test_key))
		WRITE_ONCE(kstub_test_branch_taken, kstub_test_branch_taken + 1);
}

/* the CPU's own fault, not KASAN's report of it, on a KASAN kernel too */
noinline __no_sanitize_address void kstub_test_oops(void)
{
	*kstub_test_null = 1;	/* KSTUB_TEST_OOPS_LINE */
}

#ifdef CONFIG_X86
/* a non-canonical address: #GP, not a page fault, with interrupts on */
noinline __no_sanitize_address void kstub_test_gpf(void)
{
	WRITE_ONCE(*(int *)0xdead000000000000UL, 1);	/* KSTUB_TEST_GPF_LINE */
}
#endif

/* a real BUG(), what the oops tests enter on (checkpatch's CHECK is meant) */
noinline void kstub_test_bug(void)
{
	BUG();	/* KSTUB_TEST_BUG_LINE */
}

/* No branches: each single-step must land exactly one instruction further. */
noinline void kstub_test_straight(void)
{
#ifdef CONFIG_ARM64
	asm volatile(".rept 250\n\tadd x9, x9, #1\n\t.endr" ::: "x9");
#else
	asm volatile(".rept 250\n\taddq $1, %%rax\n\t.endr" ::: "rax", "cc");
#endif
}

/* interrupt mask as read before, after masking, and after unmasking */
unsigned long kstub_test_mask_seen[3];

noinline void kstub_test_irqmask(void)
{
	unsigned long before, masked, unmasked;

#ifdef CONFIG_ARM64
	asm volatile("mrs %0, daif\n\t"
		     "msr daifset, #2\n\t"
		     "mrs %1, daif\n\t"
		     "msr daifclr, #2\n\t"
		     "mrs %2, daif"
		     : "=&r"(before), "=&r"(masked), "=&r"(unmasked) :: "memory");
#else
	asm volatile("pushfq\n\tpopq %0\n\t"
		     "cli\n\t"
		     "pushfq\n\tpopq %1\n\t"
		     "sti\n\t"
		     "pushfq\n\tpopq %2"
		     : "=&r"(before), "=&r"(masked), "=&r"(unmasked) :: "memory");
#endif
	kstub_test_mask_seen[0] = before;
	kstub_test_mask_seen[1] = masked;
	kstub_test_mask_seen[2] = unmasked;
}

#ifdef CONFIG_ARM64
/* where the test stops to look at the FP/SIMD registers */
noinline void kstub_test_fp_probe(void)
{
	asm volatile("" ::: "memory");
}

noinline void kstub_test_fpsimd(void)
{
	kernel_neon_begin();
	asm volatile("movi v7.16b, #0x5a\n\t"
		     "movi v30.2d, #0xff00ff00ff00ff00" ::: "memory");
	kstub_test_fp_probe();
	kernel_neon_end();
}
#endif

/*
 * A timer pinned to each CPU: a count that moves while the kernel is
 * stopped is a CPU that takes interrupts while stopped.
 */
static DEFINE_PER_CPU(struct hrtimer, kstub_test_tick_timer);
static ktime_t kstub_test_tick_period;
unsigned long kstub_test_ticks[KSTUB_TEST_CPUS];

static enum hrtimer_restart kstub_test_tick_fn(struct hrtimer *t)
{
	int cpu = smp_processor_id();

	if (cpu < KSTUB_TEST_CPUS)
		WRITE_ONCE(kstub_test_ticks[cpu], kstub_test_ticks[cpu] + 1);
	hrtimer_forward_now(t, kstub_test_tick_period);
	return HRTIMER_RESTART;
}

static void kstub_test_ticks_start_here(void *unused)
{
	hrtimer_start(this_cpu_ptr(&kstub_test_tick_timer), kstub_test_tick_period,
		      HRTIMER_MODE_REL_PINNED);
}

static void kstub_test_ticks_stop(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		hrtimer_cancel(per_cpu_ptr(&kstub_test_tick_timer, cpu));
}

/* what GDB's watchpoints watch (the "watch" file) */
struct kstub_test_obj {
	long before;
	long field;
};

long kstub_test_watched;
long kstub_test_watch_sink;
static struct kstub_test_obj kstub_test_obj_storage;
struct kstub_test_obj *kstub_test_objp = &kstub_test_obj_storage;
static long kstub_test_watch_value;
static char kstub_test_watch_where[48];
static struct hrtimer kstub_test_watch_timer;
static struct work_struct kstub_test_watch_work;

noinline void kstub_test_watch_write(long v)
{
	WRITE_ONCE(kstub_test_watched, v);
	snprintf(kstub_test_watch_where, sizeof(kstub_test_watch_where), "cpu %d %s",
		 raw_smp_processor_id(), in_hardirq() ? "hardirq" : "task");
}

noinline long kstub_test_watch_read(void)
{
	return READ_ONCE(kstub_test_watched);
}

noinline void kstub_test_field_write(struct kstub_test_obj *o, long v)
{
	WRITE_ONCE(o->field, v);
}

static enum hrtimer_restart kstub_test_watch_timer_fn(struct hrtimer *t)
{
	kstub_test_watch_write(kstub_test_watch_value);
	return HRTIMER_NORESTART;
}

static void kstub_test_watch_work_fn(struct work_struct *w)
{
	kstub_test_watch_write(kstub_test_watch_value);
}

static struct hrtimer kstub_test_timer;
static ktime_t kstub_test_timer_period;
unsigned long kstub_test_timer_count;

noinline enum hrtimer_restart kstub_test_timer_fn(struct hrtimer *t)
{
	WRITE_ONCE(kstub_test_timer_count, kstub_test_timer_count + 1);
	hrtimer_forward_now(t, kstub_test_timer_period);
	return HRTIMER_RESTART;
}

static int kstub_test_busy_fn(void *data)
{
	unsigned long cpu = (unsigned long)data;

	while (!kthread_should_stop()) {
		kstub_test_hot(cpu);
		if (READ_ONCE(kstub_test_stress_on)) {
			kstub_test_stress_a();
			kstub_test_stress_b();
		}
		cond_resched();
	}
	return 0;
}

static void kstub_test_busy_stop(void)
{
	int cpu;

	for (cpu = 0; cpu < KSTUB_TEST_CPUS; cpu++) {
		if (kstub_test_busy_tasks[cpu])
			kthread_stop(kstub_test_busy_tasks[cpu]);
		kstub_test_busy_tasks[cpu] = NULL;
	}
}

static void kstub_test_busy_start(void)
{
	struct task_struct *t;
	unsigned long cpu;

	for_each_online_cpu(cpu) {
		if (cpu >= KSTUB_TEST_CPUS || kstub_test_busy_tasks[cpu])
			continue;
		t = kthread_create(kstub_test_busy_fn, (void *)cpu, "kstub_busy/%lu", cpu);
		if (IS_ERR(t))
			continue;
		kthread_bind(t, cpu);
		kstub_test_busy_tasks[cpu] = t;
		wake_up_process(t);
	}
}

/*
 * A softirq storm: on each CPU a tasklet that schedules itself again, so
 * that softirqs are pending at nearly every interrupt's exit (and the
 * softirq thread has them): what arm64's break-in must step around.
 */
static struct tasklet_struct kstub_test_storm[KSTUB_TEST_CPUS];
static bool kstub_test_storming;

static void kstub_test_storm_fn(struct tasklet_struct *t)
{
	if (READ_ONCE(kstub_test_storming))
		tasklet_schedule(t);
}

static void kstub_test_storm_start_here(void *unused)
{
	int cpu = smp_processor_id();

	if (cpu < KSTUB_TEST_CPUS)
		tasklet_schedule(&kstub_test_storm[cpu]);
}

static void kstub_test_storm_stop(void)
{
	int cpu;

	WRITE_ONCE(kstub_test_storming, false);
	for (cpu = 0; cpu < KSTUB_TEST_CPUS; cpu++)
		tasklet_kill(&kstub_test_storm[cpu]);
}

static int kstub_test_get_int(const char __user *buf, size_t len, int *val)
{
	char tmp[24];

	if (len >= sizeof(tmp))
		return -EINVAL;
	if (copy_from_user(tmp, buf, len))
		return -EFAULT;
	tmp[len] = '\0';
	return kstrtoint(strim(tmp), 0, val);
}

static ssize_t kstub_test_call_write(struct file *f, const char __user *buf,
				     size_t len, loff_t *pos)
{
	int n, ret = kstub_test_get_int(buf, len, &n);

	if (ret)
		return ret;
	pr_info("kstub_test_func(%d, %d) = %d\n", n, 2 * n, kstub_test_func(n, 2 * n));
	return len;
}

static ssize_t kstub_test_oops_write(struct file *f, const char __user *buf,
				     size_t len, loff_t *pos)
{
	kstub_test_oops();
	return len;
}

static ssize_t kstub_test_bug_write(struct file *f, const char __user *buf,
				    size_t len, loff_t *pos)
{
	kstub_test_bug();
	return len;
}

/* a message with arguments, in registers and (x86_64) on the stack */
static ssize_t kstub_test_panic_write(struct file *f, const char __user *buf,
				      size_t len, loff_t *pos)
{
	int n, ret = kstub_test_get_int(buf, len, &n);

	if (ret)
		return ret;
	panic("kstub-test panic %d %s %d %d %d %d %lx\n", n, current->comm,
	      n + 1, n + 2, n + 3, n + 4, 0xfeedUL);
}

#ifdef CONFIG_X86
static ssize_t kstub_test_gpf_write(struct file *f, const char __user *buf,
				    size_t len, loff_t *pos)
{
	kstub_test_gpf();
	return len;
}
#endif

static ssize_t kstub_test_ticks_write(struct file *f, const char __user *buf,
				      size_t len, loff_t *pos)
{
	int us, ret = kstub_test_get_int(buf, len, &us);

	if (ret)
		return ret;
	if (us < 0)
		return -EINVAL;
	kstub_test_ticks_stop();
	if (us) {
		kstub_test_tick_period = ns_to_ktime((u64)us * NSEC_PER_USEC);
		on_each_cpu(kstub_test_ticks_start_here, NULL, 1);
	}
	return len;
}

static ssize_t kstub_test_global_write(struct file *f, const char __user *buf,
				       size_t len, loff_t *pos)
{
	int ret = kstub_test_get_int(buf, len, &kstub_test_global);

	return ret ? ret : len;
}

static int kstub_test_global_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%d\n", READ_ONCE(kstub_test_global));
	return 0;
}

static ssize_t kstub_test_busy_write(struct file *f, const char __user *buf,
				     size_t len, loff_t *pos)
{
	int on, ret = kstub_test_get_int(buf, len, &on);

	if (ret)
		return ret;
	WRITE_ONCE(kstub_test_stress_on, on == 2);
	if (on)
		kstub_test_busy_start();
	else
		kstub_test_busy_stop();
	return len;
}

static ssize_t kstub_test_stress_write(struct file *f, const char __user *buf,
				       size_t len, loff_t *pos)
{
	int n, ret = kstub_test_get_int(buf, len, &n);

	if (ret)
		return ret;
	while (n-- > 0) {
		kstub_test_stress_a();
		kstub_test_stress_b();
	}
	return len;
}

static int kstub_test_stress_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%ld %ld\n", atomic_long_read(&kstub_test_stress_calls[0]),
		   atomic_long_read(&kstub_test_stress_calls[1]));
	return 0;
}

static ssize_t kstub_test_softirqs_write(struct file *f, const char __user *buf,
					 size_t len, loff_t *pos)
{
	int on, ret = kstub_test_get_int(buf, len, &on);

	if (ret)
		return ret;
	kstub_test_storm_stop();
	if (on) {
		WRITE_ONCE(kstub_test_storming, true);
		on_each_cpu(kstub_test_storm_start_here, NULL, 1);
	}
	return len;
}

static int kstub_test_busy_show(struct seq_file *m, void *v)
{
	int cpu;

	for (cpu = 0; cpu < KSTUB_TEST_CPUS; cpu++)
		seq_printf(m, "%lu ", READ_ONCE(kstub_test_counters[cpu]));
	seq_putc(m, '\n');
	return 0;
}

static ssize_t kstub_test_timer_write(struct file *f, const char __user *buf,
				      size_t len, loff_t *pos)
{
	int us, ret = kstub_test_get_int(buf, len, &us);

	if (ret)
		return ret;
	hrtimer_cancel(&kstub_test_timer);
	if (us > 0) {
		kstub_test_timer_period = ns_to_ktime(us * NSEC_PER_USEC);
		hrtimer_start(&kstub_test_timer, kstub_test_timer_period, HRTIMER_MODE_REL);
	}
	return len;
}

static int kstub_test_timer_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%lu\n", READ_ONCE(kstub_test_timer_count));
	return 0;
}

static ssize_t kstub_test_steps_write(struct file *f, const char __user *buf,
				      size_t len, loff_t *pos)
{
	kstub_test_straight();
	return len;
}

static ssize_t kstub_test_mask_write(struct file *f, const char __user *buf,
				     size_t len, loff_t *pos)
{
	kstub_test_irqmask();
	return len;
}

static ssize_t kstub_test_fp_write(struct file *f, const char __user *buf,
				   size_t len, loff_t *pos)
{
#ifdef CONFIG_ARM64
	kstub_test_fpsimd();
	return len;
#else
	return -EOPNOTSUPP;
#endif
}

static int kstub_test_mask_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%lx %lx %lx\n", kstub_test_mask_seen[0], kstub_test_mask_seen[1],
		   kstub_test_mask_seen[2]);
	return 0;
}

static ssize_t kstub_test_udelay_write(struct file *f, const char __user *buf,
				       size_t len, loff_t *off)
{
	int n;

	if (kstub_test_get_int(buf, len, &n) || n < 0 || n > 1000)
		return -EINVAL;
	udelay(n);
	return len;
}

static unsigned int kstub_test_conlock_ms;
static DECLARE_COMPLETION(kstub_test_conlock_held);
/* one writer at a time: the completion is set up again for each */
static DEFINE_MUTEX(kstub_test_conlock_mutex);

static void kstub_test_conlock_fn(struct work_struct *work)
{
	console_lock();
	complete(&kstub_test_conlock_held);
	msleep(kstub_test_conlock_ms);
	pr_info("conlock: releasing\n");
	console_unlock();
}

static DECLARE_WORK(kstub_test_conlock_work, kstub_test_conlock_fn);

static ssize_t kstub_test_conlock_write(struct file *f, const char __user *buf,
					size_t len, loff_t *off)
{
	int n;

	if (kstub_test_get_int(buf, len, &n) || n < 0 || n > 60000)
		return -EINVAL;
	mutex_lock(&kstub_test_conlock_mutex);
	flush_work(&kstub_test_conlock_work);
	kstub_test_conlock_ms = n;
	reinit_completion(&kstub_test_conlock_held);
	queue_work(system_unbound_wq, &kstub_test_conlock_work);
	wait_for_completion(&kstub_test_conlock_held);
	mutex_unlock(&kstub_test_conlock_mutex);
	return len;
}

static ssize_t kstub_test_key_write(struct file *f, const char __user *buf,
				    size_t len, loff_t *off)
{
	int on;

	if (kstub_test_get_int(buf, len, &on))
		return -EINVAL;
	if (on)
		static_branch_enable(&kstub_test_key);
	else
		static_branch_disable(&kstub_test_key);
	kstub_test_branchy();
	return len;
}

/* the static branch on kstub_test_key in kstub_test_branchy(), or 0 */
static unsigned long kstub_test_key_site(void)
{
	struct jump_entry *e = THIS_MODULE->jump_entries;
	unsigned int i;

	for (i = 0; i < THIS_MODULE->num_jump_entries; i++, e++)
		if (jump_entry_key(e) == &kstub_test_key.key)
			return jump_entry_code(e);
	return 0;
}

static int kstub_test_key_show(struct seq_file *m, void *v)
{
	unsigned long site = kstub_test_key_site();

	if (!site)
		return -ENOENT;
	seq_printf(m, "%lx\n", site);
	return 0;
}

#ifdef CONFIG_X86
static unsigned long kstub_test_callee_ret;	/* where kstub_test_callee() returned to */
static int kstub_test_callee_calls;

noinline void kstub_test_callee(void)
{
	kstub_test_callee_ret = (unsigned long)__builtin_return_address(0);
	WRITE_ONCE(kstub_test_callee_calls, kstub_test_callee_calls + 1);
}

noinline void kstub_test_caller(void)
{
	kstub_test_callee();
	barrier();	/* a call, not a tail jump */
}

/*
 * Written by the task that writes "gone", read by the die notifier on
 * the same CPU (the write runs with preemption off).
 */
static unsigned long kstub_test_gone_at;	/* the int3's address, until put back */
static u8 kstub_test_gone_byte;			/* the byte it took the place of */
static bool kstub_test_gone_armed;

/* One byte of text, with write protection lifted for it, on this CPU. */
static void kstub_test_poke(unsigned long at, u8 byte)
{
	unsigned long cr0 = native_read_cr0(), cr4 = __read_cr4();
	unsigned long flags;

	local_irq_save(flags);
	if (cr4 & X86_CR4_CET)
		asm volatile("mov %0, %%cr4" : : "r" (cr4 & ~X86_CR4_CET) : "memory");
	asm volatile("mov %0, %%cr0" : : "r" (cr0 & ~X86_CR0_WP) : "memory");
	WRITE_ONCE(*(u8 *)at, byte);
	asm volatile("mov %0, %%cr0" : : "r" (cr0) : "memory");
	if (cr4 & X86_CR4_CET)
		asm volatile("mov %0, %%cr4" : : "r" (cr4) : "memory");
	sync_core();
	local_irq_restore(flags);
}

/* ahead of kstub's: the int3 is gone by the time kstub looks */
static int kstub_test_gone_notify(struct notifier_block *nb, unsigned long cmd, void *data)
{
	struct die_args *args = data;
	unsigned long at = READ_ONCE(kstub_test_gone_at);

	if (cmd == DIE_INT3 && at && args->regs->ip - 1 == at) {
		kstub_test_poke(at, kstub_test_gone_byte);
		WRITE_ONCE(kstub_test_gone_at, 0);
	}
	return NOTIFY_DONE;
}

static struct notifier_block kstub_test_gone_nb = {
	.notifier_call = kstub_test_gone_notify,
	.priority = INT_MAX,
};

/* an int3 on @at, gone as it traps, then @fn; 0 if it trapped */
static int kstub_test_gone_run(unsigned long at, void (*fn)(void))
{
	int ret = 0;

	if (copy_from_kernel_nofault(&kstub_test_gone_byte, (void *)at, 1))
		return -EFAULT;
	preempt_disable();
	WRITE_ONCE(kstub_test_gone_at, at);
	kstub_test_poke(at, 0xcc);
	fn();
	if (READ_ONCE(kstub_test_gone_at)) {
		kstub_test_poke(at, kstub_test_gone_byte);
		WRITE_ONCE(kstub_test_gone_at, 0);
		ret = -EIO;
	}
	preempt_enable();
	return ret;
}

static ssize_t kstub_test_gone_write(struct file *f, const char __user *buf,
				     size_t len, loff_t *off)
{
	static DEFINE_MUTEX(lock);
	int what, calls, taken, ret;
	unsigned long at;
	char word[3];

	if (len >= sizeof(word) && !copy_from_user(word, buf, sizeof(word)) &&
	    !memcmp(word, "arm", sizeof(word))) {
		mutex_lock(&lock);
		ret = kstub_test_gone_armed ? 0 : register_die_notifier(&kstub_test_gone_nb);
		kstub_test_gone_armed = !ret;
		mutex_unlock(&lock);
		return ret ?: len;
	}
	if (kstub_test_get_int(buf, len, &what) || what < 0 || what > 2)
		return -EINVAL;
	if (!kstub_test_gone_armed)
		return -ENOENT;
	mutex_lock(&lock);
	if (what < 2) {
		if (what)
			static_branch_enable(&kstub_test_key);
		else
			static_branch_disable(&kstub_test_key);
		calls = kstub_test_branchy_calls;
		taken = kstub_test_branch_taken;
		ret = kstub_test_gone_run(kstub_test_key_site(), kstub_test_branchy);
		/* the line before the branch ran once, and the branch went its way */
		if (!ret && (kstub_test_branchy_calls != calls + 1 ||
			     kstub_test_branch_taken != taken + what))
			ret = -EIO;
	} else {
		kstub_test_caller();
		at = kstub_test_callee_ret - 5;
		calls = kstub_test_callee_calls;
		ret = *(u8 *)at == 0xe8 ? kstub_test_gone_run(at, kstub_test_caller) : -ENOENT;
		if (!ret && kstub_test_callee_calls != calls + 1)
			ret = -EIO;
	}
	mutex_unlock(&lock);
	return ret ?: len;
}
#else
static ssize_t kstub_test_gone_write(struct file *f, const char __user *buf,
				     size_t len, loff_t *off)
{
	return -EOPNOTSUPP;
}
#endif

static int kstub_test_dump(struct seq_file *m, const void *fn)
{
	u8 bytes[KSTUB_TEST_TEXT_BYTES];
	int i;

	if (copy_from_kernel_nofault(bytes, fn, sizeof(bytes)))
		return -EFAULT;
	for (i = 0; i < sizeof(bytes); i++)
		seq_printf(m, "%02x", bytes[i]);
	seq_putc(m, '\n');
	return 0;
}

static int kstub_test_text_show(struct seq_file *m, void *v)
{
	return kstub_test_dump(m, kstub_test_func);
}

static int kstub_test_hottext_show(struct seq_file *m, void *v)
{
	return kstub_test_dump(m, kstub_test_hot);
}

static int kstub_test_timertext_show(struct seq_file *m, void *v)
{
	return kstub_test_dump(m, kstub_test_timer_fn);
}

static ssize_t kstub_test_watch_write_op(struct file *f, const char __user *ubuf,
					 size_t len, loff_t *pos)
{
	char buf[32], how;
	long v = 0;
	int cpu;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	how = buf[0];
	if (how != 'r' && (len < 3 || kstrtol(strim(buf + 2), 0, &v)))
		return -EINVAL;
	switch (how) {
	case 'p':
		kstub_test_watch_write(v);
		break;
	case 'r':
		WRITE_ONCE(kstub_test_watch_sink, kstub_test_watch_read());
		break;
	case 'f':
		kstub_test_field_write(kstub_test_objp, v);
		break;
	case 'k':
		kstub_test_watch_value = v;
		cpu = cpumask_any_but(cpu_online_mask, get_cpu());
		put_cpu();
		if (cpu >= nr_cpu_ids)
			return -ENODEV;
		queue_work_on(cpu, system_wq, &kstub_test_watch_work);
		flush_work(&kstub_test_watch_work);
		break;
	case 't':
		kstub_test_watch_value = v;
		hrtimer_start(&kstub_test_watch_timer, ns_to_ktime(100 * NSEC_PER_USEC),
			      HRTIMER_MODE_REL);
		break;
	default:
		return -EINVAL;
	}
	return len;
}

static int kstub_test_watch_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%ld %s\n", READ_ONCE(kstub_test_watched), kstub_test_watch_where);
	return 0;
}

/* each CPU's enabled debug registers' addresses, up to KSTUB_TEST_HWREGS */
enum { KSTUB_TEST_HWREGS = 10 };
static unsigned long kstub_test_hwregs[KSTUB_TEST_CPUS][KSTUB_TEST_HWREGS];

#ifdef CONFIG_X86
static void kstub_test_hwregs_one(void *data)
{
	unsigned long *out = kstub_test_hwregs[smp_processor_id()];
	unsigned long dr7, addr[4];
	int i, n = 0;

	get_debugreg(dr7, 7);
	get_debugreg(addr[0], 0);
	get_debugreg(addr[1], 1);
	get_debugreg(addr[2], 2);
	get_debugreg(addr[3], 3);
	for (i = 0; i < 4; i++)
		if (dr7 & (3 << (2 * i)))
			out[n++] = addr[i];
}
#else
/* enabled (E, bit 0), and a byte selected (BAS, from bit 5; a breakpoint's 4 bits) */
#define KSTUB_TEST_WP(n) do {						\
	u64 c = read_sysreg(dbgwcr##n##_el1);				\
									\
	if ((c & 1) && (c & GENMASK(12, 5)))				\
		out[i++] = read_sysreg(dbgwvr##n##_el1);		\
} while (0)
#define KSTUB_TEST_BP(n) do {						\
	u64 c = read_sysreg(dbgbcr##n##_el1);				\
									\
	if ((c & 1) && (c & GENMASK(8, 5)))				\
		out[i++] = read_sysreg(dbgbvr##n##_el1);		\
} while (0)

/* QEMU's cortex-a57 has 4 watchpoints and 6 breakpoints */
static void kstub_test_hwregs_one(void *data)
{
	unsigned long *out = kstub_test_hwregs[smp_processor_id()];
	int i = 0;

	KSTUB_TEST_WP(0);
	KSTUB_TEST_WP(1);
	KSTUB_TEST_WP(2);
	KSTUB_TEST_WP(3);
	KSTUB_TEST_BP(0);
	KSTUB_TEST_BP(1);
	KSTUB_TEST_BP(2);
	KSTUB_TEST_BP(3);
	KSTUB_TEST_BP(4);
	KSTUB_TEST_BP(5);
}
#endif

static int kstub_test_hwregs_show(struct seq_file *m, void *v)
{
	int cpu, i;

	memset(kstub_test_hwregs, 0, sizeof(kstub_test_hwregs));
	on_each_cpu(kstub_test_hwregs_one, NULL, 1);
	for_each_online_cpu(cpu) {
		if (cpu >= KSTUB_TEST_CPUS)
			break;
		seq_printf(m, "cpu %d:", cpu);
		for (i = 0; i < KSTUB_TEST_HWREGS && kstub_test_hwregs[cpu][i]; i++)
			seq_printf(m, " %lx", kstub_test_hwregs[cpu][i]);
		seq_putc(m, '\n');
	}
	return 0;
}

/* the addresses the last write to "peek" named; the tests use it one at a time */
static unsigned long kstub_test_peeks[KSTUB_TEST_PEEKS];
static int kstub_test_npeeks;
static DEFINE_MUTEX(kstub_test_peek_lock);

static ssize_t kstub_test_peek_write(struct file *f, const char __user *ubuf,
				     size_t len, loff_t *pos)
{
	char *buf, *cur, *word;
	int ret = 0;

	buf = memdup_user_nul(ubuf, min_t(size_t, len, PAGE_SIZE * 2));
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	mutex_lock(&kstub_test_peek_lock);
	kstub_test_npeeks = 0;
	cur = buf;
	while ((word = strsep(&cur, "\n ")) && !ret) {
		if (!*word)
			continue;
		if (kstub_test_npeeks == KSTUB_TEST_PEEKS)
			ret = -E2BIG;
		else
			ret = kstrtoul(word, 16, &kstub_test_peeks[kstub_test_npeeks++]);
	}
	mutex_unlock(&kstub_test_peek_lock);
	kfree(buf);
	return ret ? ret : len;
}

static int kstub_test_peek_show(struct seq_file *m, void *v)
{
	u8 bytes[KSTUB_TEST_PEEK_BYTES];
	int i, j;

	mutex_lock(&kstub_test_peek_lock);
	for (i = 0; i < kstub_test_npeeks; i++) {
		seq_printf(m, "%lx ", kstub_test_peeks[i]);
		if (copy_from_kernel_nofault(bytes, (void *)kstub_test_peeks[i], sizeof(bytes))) {
			seq_puts(m, "-\n");
			continue;
		}
		for (j = 0; j < sizeof(bytes); j++)
			seq_printf(m, "%02x", bytes[j]);
		seq_putc(m, '\n');
	}
	mutex_unlock(&kstub_test_peek_lock);
	return 0;
}

static int kstub_test_empty_show(struct seq_file *m, void *v)
{
	return 0;
}

#define KSTUB_TEST_FILE(name, show, write)				\
static int kstub_test_##name##_open(struct inode *i, struct file *f)	\
{									\
	return single_open(f, show, NULL);				\
}									\
static const struct proc_ops kstub_test_##name##_ops = {		\
	.proc_open = kstub_test_##name##_open,				\
	.proc_read = seq_read,						\
	.proc_lseek = seq_lseek,					\
	.proc_release = single_release,					\
	.proc_write = write,						\
}

KSTUB_TEST_FILE(call, kstub_test_empty_show, kstub_test_call_write);
KSTUB_TEST_FILE(oops, kstub_test_empty_show, kstub_test_oops_write);
KSTUB_TEST_FILE(bug, kstub_test_empty_show, kstub_test_bug_write);
#ifdef CONFIG_X86
KSTUB_TEST_FILE(gpf, kstub_test_empty_show, kstub_test_gpf_write);
#endif
KSTUB_TEST_FILE(ticks, kstub_test_empty_show, kstub_test_ticks_write);
KSTUB_TEST_FILE(panic, kstub_test_empty_show, kstub_test_panic_write);
KSTUB_TEST_FILE(global, kstub_test_global_show, kstub_test_global_write);
KSTUB_TEST_FILE(busy, kstub_test_busy_show, kstub_test_busy_write);
KSTUB_TEST_FILE(stress, kstub_test_stress_show, kstub_test_stress_write);
KSTUB_TEST_FILE(softirqs, kstub_test_empty_show, kstub_test_softirqs_write);
KSTUB_TEST_FILE(text, kstub_test_text_show, NULL);
KSTUB_TEST_FILE(hottext, kstub_test_hottext_show, NULL);
KSTUB_TEST_FILE(timertext, kstub_test_timertext_show, NULL);
KSTUB_TEST_FILE(peek, kstub_test_peek_show, kstub_test_peek_write);
KSTUB_TEST_FILE(watch, kstub_test_watch_show, kstub_test_watch_write_op);
KSTUB_TEST_FILE(hwregs, kstub_test_hwregs_show, NULL);
KSTUB_TEST_FILE(timer, kstub_test_timer_show, kstub_test_timer_write);
KSTUB_TEST_FILE(steps, kstub_test_empty_show, kstub_test_steps_write);
KSTUB_TEST_FILE(mask, kstub_test_mask_show, kstub_test_mask_write);
KSTUB_TEST_FILE(fp, kstub_test_empty_show, kstub_test_fp_write);
KSTUB_TEST_FILE(udelay, kstub_test_empty_show, kstub_test_udelay_write);
KSTUB_TEST_FILE(conlock, kstub_test_empty_show, kstub_test_conlock_write);
KSTUB_TEST_FILE(key, kstub_test_key_show, kstub_test_key_write);
KSTUB_TEST_FILE(gone, kstub_test_empty_show, kstub_test_gone_write);

static int __init kstub_test_init(void)
{
	int cpu;

	for (cpu = 0; cpu < KSTUB_TEST_CPUS; cpu++)
		tasklet_setup(&kstub_test_storm[cpu], kstub_test_storm_fn);
	for_each_possible_cpu(cpu) {
		hrtimer_init(per_cpu_ptr(&kstub_test_tick_timer, cpu), CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL_PINNED);
		per_cpu(kstub_test_tick_timer, cpu).function = kstub_test_tick_fn;
	}
	hrtimer_init(&kstub_test_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	hrtimer_init(&kstub_test_watch_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	kstub_test_watch_timer.function = kstub_test_watch_timer_fn;
	INIT_WORK(&kstub_test_watch_work, kstub_test_watch_work_fn);
	kstub_test_timer.function = kstub_test_timer_fn;
	kstub_test_dir = proc_mkdir("kstub_test", NULL);
	if (!kstub_test_dir)
		return -ENOMEM;
	proc_create("call", 0200, kstub_test_dir, &kstub_test_call_ops);
	proc_create("oops", 0200, kstub_test_dir, &kstub_test_oops_ops);
	proc_create("bug", 0200, kstub_test_dir, &kstub_test_bug_ops);
#ifdef CONFIG_X86
	proc_create("gpf", 0200, kstub_test_dir, &kstub_test_gpf_ops);
#endif
	proc_create("ticks", 0200, kstub_test_dir, &kstub_test_ticks_ops);
	proc_create("panic", 0200, kstub_test_dir, &kstub_test_panic_ops);
	proc_create("global", 0600, kstub_test_dir, &kstub_test_global_ops);
	proc_create("busy", 0600, kstub_test_dir, &kstub_test_busy_ops);
	proc_create("stress", 0600, kstub_test_dir, &kstub_test_stress_ops);
	proc_create("softirqs", 0200, kstub_test_dir, &kstub_test_softirqs_ops);
	proc_create("text", 0400, kstub_test_dir, &kstub_test_text_ops);
	proc_create("hottext", 0400, kstub_test_dir, &kstub_test_hottext_ops);
	proc_create("timertext", 0400, kstub_test_dir, &kstub_test_timertext_ops);
	proc_create("peek", 0600, kstub_test_dir, &kstub_test_peek_ops);
	proc_create("watch", 0600, kstub_test_dir, &kstub_test_watch_ops);
	proc_create("hwregs", 0400, kstub_test_dir, &kstub_test_hwregs_ops);
	proc_create("timer", 0600, kstub_test_dir, &kstub_test_timer_ops);
	proc_create("steps", 0200, kstub_test_dir, &kstub_test_steps_ops);
	proc_create("mask", 0600, kstub_test_dir, &kstub_test_mask_ops);
	proc_create("fp", 0200, kstub_test_dir, &kstub_test_fp_ops);
	proc_create("udelay", 0200, kstub_test_dir, &kstub_test_udelay_ops);
	proc_create("conlock", 0200, kstub_test_dir, &kstub_test_conlock_ops);
	proc_create("key", 0600, kstub_test_dir, &kstub_test_key_ops);
#ifdef CONFIG_X86
	proc_create("gone", 0200, kstub_test_dir, &kstub_test_gone_ops);
#endif
	return 0;
}

static void __exit kstub_test_exit(void)
{
	kstub_test_busy_stop();
	kstub_test_storm_stop();
	kstub_test_ticks_stop();
	hrtimer_cancel(&kstub_test_timer);
	hrtimer_cancel(&kstub_test_watch_timer);
	flush_work(&kstub_test_watch_work);
	proc_remove(kstub_test_dir);
#ifdef CONFIG_X86
	if (kstub_test_gone_armed)
		unregister_die_notifier(&kstub_test_gone_nb);
#endif
	/* after the file is gone: no write queues it again */
	flush_work(&kstub_test_conlock_work);
}

module_init(kstub_test_init);
module_exit(kstub_test_exit);
MODULE_DESCRIPTION("kstub test trigger points");
MODULE_LICENSE("GPL");
