/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The core's own header: how main.c wires the parts of stub/ together,
 * the state the stop cycle shares among its files (core.c, target.c,
 * text.c, console.c, crash.c, breakin.c, lockdown.c) and the calls
 * between them. Arch and transport code include kstub.h, the contract.
 */
#ifndef KSTUB_CORE_H
#define KSTUB_CORE_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/percpu.h>
#include <linux/stop_machine.h>
#include "kstub.h"

enum {
	KSTUB_NO_CPU = -1,
	KSTUB_TOUCH_EVERY = 4096,	/* polls between watchdog touches */
};

/* ---- how main.c wires stub/ together ---- */

/* lockdown.c: what kernel lockdown leaves to GDB */
enum {
	KSTUB_MAY_READ = 1,
	KSTUB_MAY_WRITE = 2,
};

unsigned int kstub_lockdown_allows(void);
int kstub_lockdown_check(void);

/* crash.c: seconds a panic or an oops waits for a GDB that is not attached */
extern int kstub_crash_wait;

/* monitor.c: GDB's "monitor" commands, which main.c hands to the core */
typedef int (*kstub_monitor_fn)(void *ctx, const char *cmd, struct kstub_session *s);
int kstub_monitor(void *ctx, const char *cmd, struct kstub_session *s);
int kstub_monitor_init(void);
/* core.c, for the monitor: what @cpu was running when it stopped */
bool kstub_cpu_stopped(int cpu, struct task_struct **task, struct pt_regs **regs);

/* core.c */

/*
 * modules.c: the kernel's modules as GDB's shared libraries. main.c hands
 * them to the core, which reaches modules.c only through these.
 */
struct kstub_libs_ops {
	/*
	 * Loaded module @i: its name and section bases; returns how many
	 * bases, or -ENOENT past the last module. Context: stopped kernel.
	 */
	int (*library)(void *ctx, unsigned int i, const char **name, const u64 **bases);
	/* changes with every module that comes or goes. Context: stopped kernel */
	unsigned long (*gen)(void);
	/*
	 * Whether @addr is in a module on its way out, or in init code that
	 * has run (see &struct kstub_bp_ops @gone). Context: any; lockless.
	 */
	bool (*text_gone)(u64 addr);
};

extern const struct kstub_libs_ops kstub_module_libs;
int kstub_modules_init(void);
void kstub_modules_exit(void);

/*
 * modfile.c, for modules.c: a module's ELF image, from the loading task's
 * memory, a .ko or a .ko.xz (decompressed whole); where a module's file is,
 * from modules.dep; the name GDB finds its debug file by. Context: process.
 */
struct kstub_modfile {
	struct file *file;		/* an uncompressed .ko */
	const void __user *mem;		/* init_module()'s image */
	void *buf;			/* a decompressed .ko.xz */
	unsigned long len;		/* of @mem or @buf */
};

void kstub_modfile_user(struct kstub_modfile *f, const void __user *mem,
			unsigned long len);
int kstub_modfile_open(struct kstub_modfile *f, struct file *file);
int kstub_modfile_open_path(struct kstub_modfile *f, const char *path);
int kstub_modfile_read(struct kstub_modfile *f, u64 off, void *buf, size_t len);
void kstub_modfile_close(struct kstub_modfile *f);
char *kstub_moddep_read(void);
char *kstub_moddep_find(const char *moddep, const char *name);
char *kstub_modfile_libname(const char *path);

int kstub_core_init(const struct kstub_transport_ops *io, kstub_monitor_fn monitor,
		    const struct kstub_libs_ops *libs);
void kstub_core_exit(void);

/* text.c, for modules.c: whether a breakpoint is in [@lo, @hi) */
bool kstub_breakpoints_in(u64 lo, u64 hi);
/* text.c: whether @addr is the kernel's own init code, freed or being freed */
bool kstub_kernel_init_gone(u64 addr);

/* ---- the stop cycle's parts ---- */

/* core.c: the stop cycle */
struct kstub_cpu {
	struct pt_regs *regs;	/* trap frame while stopped, else NULL */
	bool hold;		/* the master wants this CPU parked */
	/* this CPU only: in kstub_park(), where an NMI may call it again */
	bool parked;
	/* this CPU only: its trap frame while it waits for kstub_master */
	struct pt_regs *waiting;
	/* parked, in the watchdogs' code: set by this CPU, read by the master */
	bool touching;
	struct task_struct *task;	/* what it was running */
};

DECLARE_PER_CPU(struct kstub_cpu, kstub_cpus);
extern atomic_t kstub_master;
extern int kstub_step_cpu;
extern bool kstub_ready;
extern bool kstub_closing;
extern const struct kstub_transport_ops *kstub_transport;
extern struct kstub_session kstub_sess;
extern struct kstub_bp_table kstub_bps;
extern struct kstub_bp_table kstub_hooks;
void kstub_transport_write(void *io, const u8 *buf, size_t len);

/* target.c: the stopped kernel as the session sees it */
extern unsigned int kstub_may;
extern struct kstub_target_ops kstub_target;
extern kstub_monitor_fn kstub_target_monitor;
extern const struct kstub_libs_ops *kstub_target_libs;
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
void kstub_console_flush(void);

/* crash.c: panics and oopses */
u64 kstub_crash_wait_ns(char *says, size_t len);
void kstub_panic_say(struct pt_regs *regs, const char *waits);
void kstub_panic_tell_gdb(void);

/* breakin.c: a stop asked for while the kernel runs; the master's */
struct kstub_breakin {
	struct pt_regs *regs;	/* the interrupted frame, with a step armed */
	int signal;		/* the stop it asked for, or 0 */
	bool packet;		/* a new GDB's first packet has begun */
	int tries;
	struct irq_work work;	/* asks the arch again */
	struct hrtimer timer;	/* queues @work a little later */
	struct irq_work rx_work;	/* kstub_rx_irq() from a thread, or resumed */
	struct hrtimer rx_timer;	/* kstub_rx_irq() again: the stop was taken */
};

extern struct kstub_breakin kstub_breakin;
bool kstub_breakin_answered(void);
void kstub_breakin_init(void);
void kstub_breakin_exit(void);
void kstub_breakin_drain(void);
void kstub_rx_resumed(void);

/* lockdown.c */
void kstub_lockdown_stop(void);

/* hwbp.c: hardware breakpoints and watchpoints */
extern int kstub_hw_want;
int kstub_hw_init(void);
void kstub_hw_exit(void);
int kstub_hw_insert(void *ctx, int type, u64 addr, u64 len);
int kstub_hw_remove(void *ctx, int type, u64 addr, u64 len);
void kstub_hw_clear(void *ctx);
void kstub_hw_show(char *buf, size_t size);
/* the stop cycle's: see hwbp.c */
void kstub_hw_stop(void);
void kstub_hw_follow(void);
void kstub_hw_resume(bool step);
unsigned int kstub_hw_told(int cpu, u64 *data);

#endif /* KSTUB_CORE_H */
