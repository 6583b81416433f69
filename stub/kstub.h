/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-side contracts: the core owns the protocol and the stop/resume
 * cycle, arch code owns traps, registers and patching, transport code owns
 * bytes. Each plugs in through a const ops struct.
 */
#ifndef KSTUB_H
#define KSTUB_H

#include <linux/types.h>
#include <linux/ptrace.h>
#include <linux/cpumask.h>
#include <linux/sched.h>
#include "rsp.h"

/* Why a CPU entered the debugger; decides the stop reply. */
enum kstub_reason {
	KSTUB_REASON_BREAK,	/* kstub's compiled-in breakpoint (sysrq, kstubwait) */
	KSTUB_REASON_SWBREAK,	/* one of GDB's breakpoints */
	KSTUB_REASON_STEP,
	KSTUB_REASON_OOPS,
	KSTUB_REASON_PANIC,	/* kstub's own breakpoint on panic() */
	KSTUB_REASON_WATCH,	/* one of GDB's hardware watchpoints */
	KSTUB_REASON_HWBREAK,	/* one of GDB's hardware breakpoints */
};

/**
 * struct kstub_arch_ops - what an architecture provides
 * @name: for dmesg.
 * @target_xml: GDB target description with every register reg_get reports.
 * @init: install trap hooks and the CPU roundup handler; process context.
 * @exit: remove them; process context.
 * @reg_get: register @regno of a stopped CPU in GDB's numbering (see
 *	&struct kstub_target_ops); @regs is that CPU's trap frame, @task
 *	what it was running.
 * @reg_set: write register @regno into @regs; 0 or -errno.
 * @task_reg_get: register @regno of a task that is switched out, from
 *	what the context switch saved (the return into __schedule(), the
 *	stack and frame pointers, callee-saved registers); the others are
 *	unavailable. Atomic-safe.
 * @expedite: GDB's numbers of the registers a stop reply carries (frame
 *	pointer, stack pointer, program counter), ending with -1.
 * @save_cpu: called on each CPU as it stops, to record state that is not
 *	in pt_regs (segment bases, FP state). Atomic-safe.
 * @stop_cpus: ask the CPUs in @mask to call kstub_park(); must work with
 *	interrupts off and must not wait. Atomic-safe.
 * @bp_insn: the software breakpoint instruction.
 * @bp_len: its length.
 * @bp_valid: 0 if a software breakpoint may go at @addr, or -errno.
 * @patch: write kernel text; 0 or -errno. Called with the other CPUs
 *	parked, and also while they run, to take a breakpoint out at the
 *	start of a stop: a CPU that runs into it then must see the old or
 *	the new instruction.
 * @patch_unlocked: @patch calls no kernel code and takes no lock: it works
 *	whatever lock a parked CPU holds, and a breakpoint cannot be hit
 *	while it runs.
 * @set_pc: move a trapped CPU's program counter (to re-execute an
 *	instruction whose breakpoint has gone).
 * @step_arm: make @regs execute one instruction, interrupts masked,
 *	then trap to kstub_trap(KSTUB_REASON_STEP).
 * @step_done: undo @step_arm after the step trap, keeping what the
 *	stepped instruction itself did to the interrupt mask.
 * @step_irq: from inside an interrupt handler, @step_arm the frame
 *	@regs it returns to (kernel code); -errno where a step cannot
 *	start from there (the exit path could switch tasks first), -EAGAIN
 *	where it may from the next interrupt. @own_irq says the handler is
 *	kstub's own irq_work, which the interrupt runs last, with no
 *	saved interrupt state of anyone else's restored after it; other
 *	handlers may still do that. Atomic-safe.
 * @step_cancel: take back a @step_irq whose step has not run.
 * @image_base: where the kernel image (_text) is in the running kernel.
 * @hook_addr: where in the function at @fn a breakpoint of kstub's own
 *	can stay for as long as kstub is loaded: past the entry instructions
 *	that ftrace and control-flow integrity own, before any that touches
 *	the arguments or the stack pointer.
 * @printf_args: format into @buf (of @size bytes) the printf-style call
 *	of a function stopped at its hook: the format is its first
 *	argument, the values follow as the calling convention passes them.
 *	Atomic-safe.
 * @hw_after: a data breakpoint traps after the access (x86), and one hit
 *	by a stepped instruction comes in the step's own exception; else
 *	before it (arm64), and the CPU takes it again unless it goes.
 * @hw_changed: kstub has just changed this CPU's debug registers, in a
 *	trap; make them stick once the trap returns (x86's NMI and #DB exits
 *	put back what they found on entry). May be NULL. Atomic-safe.
 * @hw_quiet: change @info, a slot's parse as perf registered it, so
 *	that the slot matches nothing while it stays installed and enabled
 *	(what an idle slot holds). May be NULL: the slot then stays on
 *	kstub's unused word or function. Process context.
 */
struct arch_hw_breakpoint;

struct kstub_arch_ops {
	const char *name;
	const char *target_xml;
	int (*init)(void);
	void (*exit)(void);
	int (*reg_get)(struct pt_regs *regs, int cpu, struct task_struct *task,
		       int regno, u8 *val, bool *avail);
	int (*reg_set)(struct pt_regs *regs, int regno, const u8 *val);
	int (*task_reg_get)(struct task_struct *t, int regno, u8 *val,
			    bool *avail);
	const int *expedite;
	void (*save_cpu)(int cpu);
	void (*stop_cpus)(const struct cpumask *mask);
	const u8 *bp_insn;
	size_t bp_len;
	int (*bp_valid)(unsigned long addr);
	int (*patch)(unsigned long addr, const void *buf, size_t len);
	bool patch_unlocked;
	void (*set_pc)(struct pt_regs *regs, unsigned long pc);
	void (*step_arm)(struct pt_regs *regs);
	void (*step_done)(struct pt_regs *regs);
	int (*step_irq)(struct pt_regs *regs, bool own_irq);
	void (*step_cancel)(struct pt_regs *regs);
	unsigned long (*image_base)(void);
	unsigned long (*hook_addr)(unsigned long fn);
	void (*printf_args)(struct pt_regs *regs, char *buf, size_t size);
	bool hw_after;
	void (*hw_changed)(void);
	void (*hw_quiet)(struct arch_hw_breakpoint *info);
};

/**
 * struct kstub_transport_ops - a transport
 * @name: as given in the module parameter.
 * @reliable: the link never drops or corrupts bytes (no-ack mode offered).
 * @polled: kstub_rx_irq() is called again and again while received bytes
 *	wait (a timer's poll), not once as they come: the core need not
 *	look at the line again by itself (breakin.c).
 * @init: claim the device named by @arg; process context; 0 or -errno.
 *	A device that can interrupt on receive calls kstub_rx_irq() from its
 *	handler, so that GDB can break in while the kernel runs.
 * @exit: release it; process context.
 * @get_char: a received byte, or -1 if none is waiting. Atomic-safe.
 * @put_chars: send bytes, waiting for room as needed. Atomic-safe.
 * @probe: with no transport parameter given, whether the machine has a
 *	device for this transport that kstub should take; process context.
 *	May be NULL: only a parameter chooses it (the UART is the default).
 * @default_arg: what @init gets when it is chosen without a parameter.
 * @detached: GDB has let go, the kernel still stopped; may be NULL.
 *	Atomic-safe.
 * @resume: the kernel is about to go on, the other CPUs still stopped
 *	(not before a single step); may be NULL. Atomic-safe.
 */
struct kstub_transport_ops {
	const char *name;
	bool reliable;
	bool polled;
	bool (*probe)(void);
	const char *default_arg;
	int (*init)(const char *arg);
	void (*exit)(void);
	int (*get_char)(void);
	void (*put_chars)(const u8 *buf, size_t len);
	void (*detached)(void);
	void (*resume)(void);
};

extern const struct kstub_arch_ops kstub_arch;
/* transport/transport.c: the one the parameters name, or the machine has */
int kstub_transport_pick(const struct kstub_transport_ops **io, const char **arg);

/* kernel symbols the core and arch code resolve at load time */
struct kstub_sym {
	const char *name;
	unsigned long *addr;
	bool optional;
};

int kstub_syms_resolve(const struct kstub_sym *syms, size_t n);
unsigned long kstub_lookup(const char *name);
unsigned long kstub_call(unsigned long fn, unsigned long a0, unsigned long a1,
			 unsigned long a2);
unsigned long kstub_call4(unsigned long fn, unsigned long a0, unsigned long a1,
			  unsigned long a2, unsigned long a3);

int kstub_gdb_signal(int linux_signal);

/* entry points for arch trap code; all atomic-safe */
bool kstub_trap(struct pt_regs *regs, enum kstub_reason why, int signal);
bool kstub_trap_swbreak(struct pt_regs *regs, unsigned long addr);
bool kstub_park(struct pt_regs *regs);
bool kstub_is_stepping(void);
bool kstub_serving(void);
bool kstub_rx_irq(void);
bool kstub_gdb_attached(void);
bool kstub_gdb_console(const char *s, unsigned int n);
bool kstub_owns(unsigned long addr);

#endif /* KSTUB_H */
