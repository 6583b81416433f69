/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The core's own header: the state the stop cycle shares among its files
 * (core.c, target.c, text.c, console.c, crash.c, breakin.c, lockdown.c)
 * and the calls between them. Arch and transport code include kstub.h.
 */
#ifndef KSTUB_CORE_H
#define KSTUB_CORE_H

#include <linux/atomic.h>
#include <linux/irq_work.h>
#include <linux/stop_machine.h>
#include "kstub.h"

enum {
	KSTUB_NO_CPU = -1,
	KSTUB_TOUCH_EVERY = 4096,	/* polls between watchdog touches */
};

/* core.c: the stop cycle */
struct kstub_cpu {
	struct pt_regs *regs;	/* trap frame while stopped, else NULL */
	bool hold;		/* the master wants this CPU parked */
	struct task_struct *task;	/* what it was running */
};

extern struct kstub_cpu kstub_cpus[NR_CPUS];
extern atomic_t kstub_master;
extern int kstub_step_cpu;
extern bool kstub_ready;
extern bool kstub_closing;
extern const struct kstub_io_ops *kstub_io;
extern struct kstub_session kstub_sess;
extern struct kstub_bp_table kstub_bps;
extern struct kstub_bp_table kstub_hooks;

/* target.c: the stopped kernel as the session sees it */
extern unsigned int kstub_may;
extern struct kstub_target_ops kstub_target;
extern kstub_monitor_fn kstub_target_monitor;
int kstub_target_init(void);
void kstub_target_stopped(void);
int kstub_task_tid(struct task_struct *t);
int kstub_read_kernel(u64 addr, u8 *buf, size_t len);

/* text.c: kernel text under breakpoints */
extern struct kstub_bp_ops kstub_bp_text;
extern bool kstub_patch_forced;
int kstub_text_init(void);
void kstub_text_exit(void);
bool kstub_text_is_bp(unsigned long addr);
void kstub_text_restore_later(void);
void kstub_patch_running(cpu_stop_fn_t fn);
int kstub_hook_all(void *unused);
int kstub_unpatch_all(void *unused);

/* console.c: text for GDB's console and the kernel's */
void kstub_output(const char *s, size_t n);
void kstub_console_say(const char *a, const char *b, const char *c);

/* crash.c: panics and oopses */
u64 kstub_crash_wait_ns(char *says, size_t len);
void kstub_panic_say(struct pt_regs *regs, const char *waits);

/* breakin.c: a stop asked for while the kernel runs; the master's */
struct kstub_breakin {
	struct pt_regs *regs;	/* the interrupted frame, with a step armed */
	int signal;		/* the stop it asked for, or 0 */
	bool packet;		/* a new GDB's first packet has begun */
	int tries;
	struct irq_work work;
};

extern struct kstub_breakin kstub_breakin;
void kstub_breakin_init(void);
void kstub_breakin_exit(void);

/* lockdown.c */
void kstub_lockdown_stop(void);

#endif /* KSTUB_CORE_H */
