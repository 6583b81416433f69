/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Software breakpoints as a small state machine. GDB's Z0 only records a
 * slot (SET); the instruction is written when the target resumes (ACTIVE)
 * and the original bytes are back on every stop, so GDB never talks to a
 * kernel whose text is patched.
 */
#ifndef KSTUB_BP_H
#define KSTUB_BP_H

#include "kstub_env.h"

enum kstub_bp_state {
	KSTUB_BP_FREE,
	KSTUB_BP_SET,		/* wanted, text untouched (target stopped) */
	KSTUB_BP_ACTIVE,	/* breakpoint instruction in text (running) */
	KSTUB_BP_GONE,		/* removed; address kept to recognise late traps */
	KSTUB_BP_REFUSED,	/* taken out by kstub for good; never written again */
	KSTUB_BP_STALE,		/* removed, still in text: kstub_bp_restore_stale() */
};

enum {
	KSTUB_BP_MAX = 64,
	KSTUB_BP_INSN_MAX = 4,
};

/**
 * struct kstub_bp_ops - how the breakpoint table touches target text
 * @valid: 0 if a breakpoint may be placed at @addr, else -errno. Called
 *	while stopped: atomic-safe.
 * @read: fault-safe read of @len bytes at @addr; 0 or -errno.
 * @patch: write @len bytes of text at @addr with the other CPUs parked;
 *	0 or -errno.
 * @gone: whether @addr is in text that is gone or going away (a module's
 *	init code once init has run, a module being unloaded): a breakpoint
 *	there is taken but never written. May be NULL. Atomic-safe.
 * @insn: the breakpoint instruction.
 * @insn_len: its length, at most %KSTUB_BP_INSN_MAX.
 */
struct kstub_bp_ops {
	int (*valid)(void *ctx, u64 addr);
	int (*read)(void *ctx, u64 addr, u8 *buf, size_t len);
	int (*patch)(void *ctx, u64 addr, const u8 *buf, size_t len);
	bool (*gone)(void *ctx, u64 addr);
	const u8 *insn;
	size_t insn_len;
};

struct kstub_bp {
	u64 addr;
	enum kstub_bp_state state;
	u8 saved[KSTUB_BP_INSN_MAX];
};

struct kstub_bp_table {
	const struct kstub_bp_ops *ops;
	void *ctx;
	struct kstub_bp slot[KSTUB_BP_MAX];
};

void kstub_bp_init(struct kstub_bp_table *t, const struct kstub_bp_ops *ops,
		   void *ctx);
int kstub_bp_set(struct kstub_bp_table *t, u64 addr);
int kstub_bp_clear(struct kstub_bp_table *t, u64 addr);
int kstub_bp_refuse(struct kstub_bp_table *t, u64 addr);
void kstub_bp_clear_all(struct kstub_bp_table *t);
int kstub_bp_activate(struct kstub_bp_table *t);
int kstub_bp_deactivate(struct kstub_bp_table *t);
enum kstub_bp_state kstub_bp_state_at(const struct kstub_bp_table *t, u64 addr);
bool kstub_bp_known(const struct kstub_bp_table *t, u64 addr);
void kstub_bp_forget_gone(struct kstub_bp_table *t);
bool kstub_bp_in_range(const struct kstub_bp_table *t, u64 lo, u64 hi);
int kstub_bp_restore_stale(struct kstub_bp_table *t);
bool kstub_bp_any_stale(const struct kstub_bp_table *t);
void kstub_bp_shadow(const struct kstub_bp_table *t, u64 addr, u8 *buf,
		     size_t len);

#endif /* KSTUB_BP_H */
