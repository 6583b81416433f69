// SPDX-License-Identifier: GPL-2.0
/*
 * Breakpoint slots. Everything here runs with the target stopped (or from
 * module exit under stop_machine), so there is no locking: atomic-safe.
 */
#include "bp.h"

void kstub_bp_init(struct kstub_bp_table *t, const struct kstub_bp_ops *ops,
		   void *ctx)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->ctx = ctx;
}

/* Its instruction is in the text: wanted there, or owed back (STALE). */
static bool kstub_bp_written(const struct kstub_bp *bp)
{
	return bp->state == KSTUB_BP_ACTIVE || bp->state == KSTUB_BP_STALE;
}

NOKPROBE_SYMBOL(kstub_bp_written);

/* Wanted, or still in the text: the address matters to kstub. */
static bool kstub_bp_live(const struct kstub_bp *bp)
{
	return bp->state == KSTUB_BP_SET || kstub_bp_written(bp);
}

/*
 * The slot for @addr: one wanted (SET, ACTIVE), or with @gone_too one
 * kstub still remembers (REFUSED, STALE; GONE last, as there may be an
 * older memory of the same address).
 */
static struct kstub_bp *kstub_bp_find(const struct kstub_bp_table *t,
				      u64 addr, bool gone_too)
{
	const struct kstub_bp *bp, *gone = NULL;
	size_t i;

	for (i = 0; i < KSTUB_BP_MAX; i++) {
		bp = &t->slot[i];
		if (bp->addr != addr || bp->state == KSTUB_BP_FREE)
			continue;
		if (bp->state == KSTUB_BP_SET || bp->state == KSTUB_BP_ACTIVE)
			return (struct kstub_bp *)bp;
		if (!gone_too)
			continue;
		if (bp->state != KSTUB_BP_GONE)
			return (struct kstub_bp *)bp;
		gone = bp;
	}
	return (struct kstub_bp *)gone;
}

NOKPROBE_SYMBOL(kstub_bp_find);

static bool kstub_bp_text_gone(const struct kstub_bp_table *t, u64 addr)
{
	return t->ops->gone && t->ops->gone(t->ctx, addr);
}

static struct kstub_bp *kstub_bp_alloc(struct kstub_bp_table *t)
{
	size_t i;

	for (i = 0; i < KSTUB_BP_MAX; i++)
		if (t->slot[i].state == KSTUB_BP_FREE)
			return &t->slot[i];
	/* forget the oldest memory of a removed breakpoint only when full */
	for (i = 0; i < KSTUB_BP_MAX; i++)
		if (t->slot[i].state == KSTUB_BP_GONE)
			return &t->slot[i];
	return NULL;
}

int kstub_bp_set(struct kstub_bp_table *t, u64 addr)
{
	struct kstub_bp *bp;
	int ret;

	if (kstub_bp_find(t, addr, false))
		return 0;
	/* GDB still has symbols there and inserts it at every resume */
	if (kstub_bp_text_gone(t, addr))
		return 0;
	bp = kstub_bp_find(t, addr, true);
	if (bp && bp->state == KSTUB_BP_REFUSED)
		return -EPERM;
	ret = t->ops->valid(t->ctx, addr);
	if (ret)
		return ret;
	/* wanted again while still in the text: its saved bytes hold */
	if (bp && bp->state == KSTUB_BP_STALE) {
		bp->state = KSTUB_BP_ACTIVE;
		return 0;
	}
	/* the original bytes must be readable now, or patching will fail */
	if (!bp)
		bp = kstub_bp_alloc(t);
	if (!bp)
		return -ENOSPC;
	ret = t->ops->read(t->ctx, addr, bp->saved, t->ops->insn_len);
	if (ret)
		return ret;
	bp->addr = addr;
	bp->state = KSTUB_BP_SET;
	return 0;
}

int kstub_bp_clear(struct kstub_bp_table *t, u64 addr)
{
	struct kstub_bp *bp = kstub_bp_find(t, addr, false);

	if (!bp) {
		bp = kstub_bp_find(t, addr, true);
		if (bp && bp->state == KSTUB_BP_REFUSED)
			return 0;
		return kstub_bp_text_gone(t, addr) ? 0 : -ENOENT;
	}
	/* its bytes cannot go back now: GDB is done with it, kstub is not */
	if (bp->state == KSTUB_BP_ACTIVE &&
	    t->ops->patch(t->ctx, addr, bp->saved, t->ops->insn_len)) {
		bp->state = KSTUB_BP_STALE;
		return 0;
	}
	bp->state = KSTUB_BP_GONE;
	return 0;
}

/*
 * Take the breakpoint at @addr out for good: its bytes back now, and any
 * later kstub_bp_set() there refused. Return: 0, or -errno if its bytes
 * could not be put back (it stays as it was).
 */
int kstub_bp_refuse(struct kstub_bp_table *t, u64 addr)
{
	struct kstub_bp *bp = kstub_bp_find(t, addr, false);

	if (!bp)
		return -ENOENT;
	if (bp->state == KSTUB_BP_ACTIVE &&
	    t->ops->patch(t->ctx, addr, bp->saved, t->ops->insn_len))
		return -EIO;
	bp->state = KSTUB_BP_REFUSED;
	return 0;
}

NOKPROBE_SYMBOL(kstub_bp_refuse);

void kstub_bp_clear_all(struct kstub_bp_table *t)
{
	size_t i;

	kstub_bp_deactivate(t);
	for (i = 0; i < KSTUB_BP_MAX; i++) {
		if (t->slot[i].state == KSTUB_BP_SET)
			t->slot[i].state = KSTUB_BP_GONE;
		else if (t->slot[i].state == KSTUB_BP_ACTIVE)
			t->slot[i].state = KSTUB_BP_STALE;
	}
}

/*
 * Drop the breakpoints in text that is going away, while it is still
 * there and the original bytes are back (the target stopped): writing
 * them in or out later would write into freed memory. One still written
 * in (its bytes could not be put back) is in text that went while the
 * target ran: what is there now is not the target's text.
 */
void kstub_bp_forget_gone(struct kstub_bp_table *t)
{
	struct kstub_bp *bp;
	size_t i;

	for (i = 0; i < KSTUB_BP_MAX; i++) {
		bp = &t->slot[i];
		if (kstub_bp_live(bp) && kstub_bp_text_gone(t, bp->addr))
			bp->state = KSTUB_BP_GONE;
	}
}

/*
 * Whether a breakpoint is wanted, or still written, in [@lo, @hi).
 * Context: any; the table changes only while the target is stopped, and a
 * stale answer is safe for the caller (it stops the target to make sure).
 */
bool kstub_bp_in_range(const struct kstub_bp_table *t, u64 lo, u64 hi)
{
	size_t i;

	for (i = 0; i < KSTUB_BP_MAX; i++)
		if (kstub_bp_live(&t->slot[i]) &&
		    t->slot[i].addr >= lo && t->slot[i].addr < hi)
			return true;
	return false;
}

/* Return: the number of breakpoints that could not be written. */
int kstub_bp_activate(struct kstub_bp_table *t)
{
	struct kstub_bp *bp;
	int failed = 0;
	size_t i;

	for (i = 0; i < KSTUB_BP_MAX; i++) {
		bp = &t->slot[i];
		if (bp->state != KSTUB_BP_SET)
			continue;
		if (t->ops->read(t->ctx, bp->addr, bp->saved, t->ops->insn_len) ||
		    t->ops->patch(t->ctx, bp->addr, t->ops->insn, t->ops->insn_len)) {
			failed++;
			continue;
		}
		bp->state = KSTUB_BP_ACTIVE;
	}
	return failed;
}

NOKPROBE_SYMBOL(kstub_bp_activate);

/*
 * Put the saved bytes back under every breakpoint in state @from, which
 * then goes to @to. Return: how many could not be put back (they stay).
 */
static int kstub_bp_put_back(struct kstub_bp_table *t, enum kstub_bp_state from,
			     enum kstub_bp_state to)
{
	struct kstub_bp *bp;
	int failed = 0;
	size_t i;

	for (i = 0; i < KSTUB_BP_MAX; i++) {
		bp = &t->slot[i];
		if (bp->state != from)
			continue;
		if (t->ops->patch(t->ctx, bp->addr, bp->saved, t->ops->insn_len)) {
			failed++;
			continue;
		}
		bp->state = to;
	}
	return failed;
}

NOKPROBE_SYMBOL(kstub_bp_put_back);

/*
 * The start of a stop: every breakpoint out of the text, the stale ones
 * (see below) for good. Return: how many are still written in.
 */
int kstub_bp_deactivate(struct kstub_bp_table *t)
{
	return kstub_bp_put_back(t, KSTUB_BP_ACTIVE, KSTUB_BP_SET) +
	       kstub_bp_restore_stale(t);
}

NOKPROBE_SYMBOL(kstub_bp_deactivate);

/*
 * Put back the bytes of breakpoints that were removed while they could
 * not be (the patch op failed: on arm64, a stopped CPU held text_mutex).
 * Every stop tries, and so does the core's deferred work, which takes
 * text_mutex and stops the machine, as module unload does.
 * Return: how many are still written in.
 */
int kstub_bp_restore_stale(struct kstub_bp_table *t)
{
	return kstub_bp_put_back(t, KSTUB_BP_STALE, KSTUB_BP_GONE);
}

NOKPROBE_SYMBOL(kstub_bp_restore_stale);

bool kstub_bp_any_stale(const struct kstub_bp_table *t)
{
	size_t i;

	for (i = 0; i < KSTUB_BP_MAX; i++)
		if (t->slot[i].state == KSTUB_BP_STALE)
			return true;
	return false;
}

NOKPROBE_SYMBOL(kstub_bp_any_stale);

/*
 * What the text at [@addr, @addr + @len) in @buf, just read, holds under
 * any breakpoint still written there: GDB never reads a breakpoint
 * instruction, even one whose bytes could not go back.
 */
void kstub_bp_shadow(const struct kstub_bp_table *t, u64 addr, u8 *buf,
		     size_t len)
{
	const struct kstub_bp *bp;
	size_t i, j;

	for (i = 0; i < KSTUB_BP_MAX; i++) {
		bp = &t->slot[i];
		if (!kstub_bp_written(bp))
			continue;
		for (j = 0; j < t->ops->insn_len; j++)
			if (bp->addr + j >= addr && bp->addr + j - addr < len)
				buf[bp->addr + j - addr] = bp->saved[j];
	}
}

enum kstub_bp_state kstub_bp_state_at(const struct kstub_bp_table *t, u64 addr)
{
	const struct kstub_bp *bp = kstub_bp_find(t, addr, true);

	return bp && bp->state != KSTUB_BP_GONE ? bp->state : KSTUB_BP_FREE;
}

NOKPROBE_SYMBOL(kstub_bp_state_at);

bool kstub_bp_known(const struct kstub_bp_table *t, u64 addr)
{
	return kstub_bp_find(t, addr, true);
}

NOKPROBE_SYMBOL(kstub_bp_known);
