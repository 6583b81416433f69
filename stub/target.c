// SPDX-License-Identifier: GPL-2.0
/*
 * The stopped kernel as the session sees it: memory, threads (tasks) and
 * their registers, what lockdown lets GDB see and change. Context: every
 * function here runs on the master, with the target stopped.
 */
#include <linux/kprobes.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include "core.h"
#include "kstub_arch.h"

static unsigned long kstub_copy_to_kernel_nofault;
static unsigned long kstub_idle_task_fn;

static const struct kstub_sym kstub_target_syms[] = {
	{ "copy_to_kernel_nofault", &kstub_copy_to_kernel_nofault },
	{ "idle_task", &kstub_idle_task_fn },
};

/*
 * What kernel lockdown lets GDB do at this stop (KSTUB_MAY_*), asked again
 * at every stop. Context: the master's.
 */
unsigned int kstub_may = KSTUB_MAY_READ | KSTUB_MAY_WRITE;

/* the monitor commands, given by whoever wires kstub together (main.c) */
kstub_monitor_fn kstub_target_monitor;
/* the modules as libraries, likewise */
const struct kstub_libs_ops *kstub_target_libs;

int kstub_read_kernel(u64 addr, u8 *buf, size_t len)
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

/*
 * The last walk's position, so that GDB's thread by thread list is linear.
 * Context: the master's; reset at every stop.
 */
static struct kstub_walk kstub_walk_cache;

static struct task_struct *kstub_idle(int cpu)
{
	return (struct task_struct *)kstub_call(kstub_idle_task_fn, cpu, 0, 0);
}

int kstub_task_tid(struct task_struct *t)
{
	return t->pid ? t->pid : KSTUB_TID_IDLE + task_cpu(t);
}

/* The CPU that stopped while running @t, or -1: @t is switched out. */
static int kstub_task_running(struct task_struct *t)
{
	struct task_struct *task;
	struct pt_regs *regs;
	int cpu;

	for_each_online_cpu(cpu)
		if (kstub_cpu_stopped(cpu, &task, &regs) && task == t)
			return cpu;
	return -1;
}

static struct task_struct *kstub_walk_task(struct kstub_walk *w)
{
	switch (w->phase) {
	case KSTUB_WALK_CPUS:
		return per_cpu(kstub_cpus, w->cpu).task;
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
	struct pt_regs *regs;

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
			    !kstub_cpu_stopped(w->cpu, &t, &regs))
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
		n = kstub_arch.reg_get(per_cpu(kstub_cpus, cpu).regs, cpu, t, regno, val, avail);
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
	return kstub_arch.reg_set(per_cpu(kstub_cpus, cpu).regs, regno, val);
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
	else if (!t->pid && !READ_ONCE(per_cpu(kstub_cpus, task_cpu(t)).regs))
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
	*regs = READ_ONCE(per_cpu(kstub_cpus, cpu).regs);
	*task = per_cpu(kstub_cpus, cpu).task;
	return *regs && *task;
}

/* The short thread list's threads: what the CPUs were running. */
static bool kstub_t_thread_on_cpu(void *ctx, int tid)
{
	struct task_struct *task;
	struct pt_regs *regs;
	int cpu;

	for_each_online_cpu(cpu)
		if (kstub_cpu_stopped(cpu, &task, &regs) && kstub_task_tid(task) == tid)
			return true;
	return false;
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
	return kstub_target_monitor ? kstub_target_monitor(ctx, cmd, s) : -ENOENT;
}

static int kstub_t_library(void *ctx, unsigned int i, const char **name,
			   const u64 **bases)
{
	if (!(kstub_may & KSTUB_MAY_READ))
		return -ENOENT;
	return kstub_target_libs->library(ctx, i, name, bases);
}

struct kstub_target_ops kstub_target = {
	.read_mem = kstub_t_read_mem,
	.write_mem = kstub_t_write_mem,
	.reg_get = kstub_t_reg_get,
	.reg_set = kstub_t_reg_set,
	.thread_next = kstub_t_thread_next,
	.thread_alive = kstub_t_thread_alive,
	.thread_extra = kstub_t_thread_extra,
	.thread_name = kstub_t_thread_name,
	.thread_core = kstub_t_thread_core,
	.thread_on_cpu = kstub_t_thread_on_cpu,
	.image_base = kstub_t_image_base,
	.monitor = kstub_t_monitor,
	.library = kstub_t_library,
	.hw_insert = kstub_hw_insert,
	.hw_remove = kstub_hw_remove,
	.hw_clear = kstub_hw_clear,
};

/* A stop begins: the thread list is read afresh. */
void kstub_target_stopped(void)
{
	kstub_walk_start(&kstub_walk_cache);
}

int kstub_target_init(void)
{
	kstub_target.target_xml = kstub_arch.target_xml;
	kstub_target.expedite = kstub_arch.expedite;
	return kstub_syms_resolve(kstub_target_syms, ARRAY_SIZE(kstub_target_syms));
}
