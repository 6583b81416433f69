// SPDX-License-Identifier: GPL-2.0
/*
 * GDB's "monitor" commands, answered from the stopped kernel. The other
 * CPUs are parked wherever they were, perhaps holding any lock, so
 * nothing here sleeps or locks: the task and module lists and the printk
 * ring are read the way their lockless readers do.
 */
#include <linux/kernel.h>
#include <linux/kmsg_dump.h>
#include <linux/module.h>
#include <linux/string.h>
#include "compat.h"
#include "core.h"

enum {
	KSTUB_MON_LINE = 256,
	KSTUB_MON_DMESG_LINE = 1024,
};

static unsigned long kstub_mon_modules;	/* the kernel's module list */

static const struct kstub_sym kstub_mon_syms[] = {
	{ "modules", &kstub_mon_modules, true },
};

static __printf(2, 3) void kstub_mon_printf(struct kstub_session *s,
					    const char *fmt, ...)
{
	char line[KSTUB_MON_LINE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vscnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	kstub_session_output(s, line, n);
}

/* ps: every task GDB sees as a thread */
static int kstub_mon_ps(struct kstub_session *s, const char *arg)
{
	const struct kstub_target_ops *t = s->target;
	char name[TASK_COMM_LEN], extra[64];
	int tid, n = 0;

	kstub_mon_printf(s, "%8s %4s  %-16s %s\n", "THREAD", "CPU", "NAME", "STATE");
	for (tid = t->thread_next(s->ctx, 0); tid; tid = t->thread_next(s->ctx, tid)) {
		t->thread_name(s->ctx, tid, name, sizeof(name));
		t->thread_extra(s->ctx, tid, extra, sizeof(extra));
		kstub_mon_printf(s, "%8d %4d  %-16s %s\n", tid,
				 t->thread_core(s->ctx, tid), name, extra);
		n++;
	}
	kstub_mon_printf(s, "%d threads\n", n);
	return 0;
}

/* dmesg [N]: the kernel log, or its last N records */
static int kstub_mon_dmesg(struct kstub_session *s, const char *arg)
{
	static char line[KSTUB_MON_DMESG_LINE];	/* one user: the stopped master */
	struct kmsg_dump_iter iter;
	unsigned long last = 0, count = 0, i = 0;
	size_t len;

	if (*arg && kstrtoul(arg, 10, &last))
		return -EINVAL;
	kmsg_dump_rewind(&iter);
	while (kmsg_dump_get_line(&iter, false, NULL, 0, &len))
		count++;
	kmsg_dump_rewind(&iter);
	while (kmsg_dump_get_line(&iter, false, line, sizeof(line), &len))
		if (!last || i++ >= count - min(count, last))
			kstub_session_output(s, line, len);
	return 0;
}

/* lsmod: loaded modules with their code's address */
static int kstub_mon_lsmod(struct kstub_session *s, const char *arg)
{
	static const char * const states[] = { "live", "loading", "unloading", "new" };
	struct list_head *mods = (struct list_head *)kstub_mon_modules;
	unsigned long base, size;
	struct module *mod;

	if (!mods)
		return -EOPNOTSUPP;
	kstub_mon_printf(s, "%-24s %-18s %8s %s\n", "MODULE", "TEXT", "SIZE", "STATE");
	list_for_each_entry_rcu(mod, mods, list, true) {
		kstub_module_text(mod, false, &base, &size);
		/* a debugger is there to show addresses */
		kstub_mon_printf(s, "%-24s 0x%lx %8lu %s\n", mod->name, base, size,
				 mod->state < ARRAY_SIZE(states) ? states[mod->state] : "?");
	}
	return 0;
}

/* cpus: what each CPU was doing when the kernel stopped */
static int kstub_mon_cpus(struct kstub_session *s, const char *arg)
{
	struct task_struct *task;
	struct pt_regs *regs;
	int cpu;

	for_each_online_cpu(cpu) {
		if (!kstub_cpu_stopped(cpu, &task, &regs)) {
			kstub_mon_printf(s, "CPU %d: did not stop\n", cpu);
			continue;
		}
		kstub_mon_printf(s, "CPU %d: %s/%d at %pS%s\n", cpu, task->comm,
				 task_pid_nr(task), (void *)instruction_pointer(regs),
				 user_mode(regs) ? " (user mode)" : "");
	}
	return 0;
}

static int kstub_mon_help(struct kstub_session *s, const char *arg);

/*
 * threads [auto|all]: which thread list GDB gets at a stop (see
 * kstub_list_begin() in rsp.c)
 */
static int kstub_mon_threads(struct kstub_session *s, const char *arg)
{
	if (!strcmp(arg, "all"))
		s->threads_all = true;
	else if (!strcmp(arg, "auto"))
		s->threads_all = false;
	else if (*arg)
		return -EINVAL;
	if (s->threads_all)
		kstub_mon_printf(s, "threads all: GDB lists every task at every stop\n");
	else
		kstub_mon_printf(s, "%s\n%s\n",
				 "threads auto: at a stop GDB lists the tasks that were on a CPU",
				 "and those selected lately; info threads lists every task");
	return 0;
}

/* hw: kstub's hardware breakpoint and watchpoint slots, and GDB's in them */
static int kstub_mon_hw(struct kstub_session *s, const char *arg)
{
	char buf[1024];

	kstub_hw_show(buf, sizeof(buf));
	kstub_session_output(s, buf, strlen(buf));
	return 0;
}

static const struct kstub_mon_cmd {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(struct kstub_session *s, const char *arg);
} kstub_mon_cmds[] = {
	{ "help", "", "this list", kstub_mon_help },
	{ "ps", "", "every task: thread id, CPU, name, state", kstub_mon_ps },
	{ "dmesg", " [N]", "the kernel log (its last N records)", kstub_mon_dmesg },
	{ "lsmod", "", "loaded modules and where their code is", kstub_mon_lsmod },
	{ "cpus", "", "what each CPU was running when the kernel stopped", kstub_mon_cpus },
	{ "hw", "", "hardware breakpoint and watchpoint slots, and what is in them", kstub_mon_hw },
	{ "threads", " [auto|all]", "the thread list at a stop: short (auto) or every task",
	  kstub_mon_threads },
};

static int kstub_mon_help(struct kstub_session *s, const char *arg)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kstub_mon_cmds); i++)
		kstub_mon_printf(s, "monitor %s%s  -- %s\n", kstub_mon_cmds[i].name,
				 kstub_mon_cmds[i].args, kstub_mon_cmds[i].help);
	return 0;
}

/**
 * kstub_monitor() - run one monitor command
 * @ctx: the target's context (unused)
 * @cmd: the command line GDB sent
 * @s: the session, for output
 *
 * Context: the stopped master. Return: 0, -ENOENT for an unknown
 * command, or another -errno.
 */
int kstub_monitor(void *ctx, const char *cmd, struct kstub_session *s)
{
	size_t i, n;

	cmd = skip_spaces(cmd);
	for (i = 0; i < ARRAY_SIZE(kstub_mon_cmds); i++) {
		n = strlen(kstub_mon_cmds[i].name);
		if (!strncmp(cmd, kstub_mon_cmds[i].name, n) &&
		    (!cmd[n] || cmd[n] == ' '))
			return kstub_mon_cmds[i].fn(s, skip_spaces(cmd + n));
	}
	return -ENOENT;
}

int kstub_monitor_init(void)
{
	return kstub_syms_resolve(kstub_mon_syms, ARRAY_SIZE(kstub_mon_syms));
}
