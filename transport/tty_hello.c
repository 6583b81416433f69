// SPDX-License-Identifier: GPL-2.0
/*
 * GDB's first bytes told from a user's typing, on a shared tty that is
 * open (a getty, a shell) while no GDB is attached. GDB opens with "+"
 * and then "$qSupported:...". Bytes that may be the start of that are held
 * back from the tty until they are seen whole, or ruled out:
 *  - whole: GDB is here. They and all that follows are kstub's (until
 *    GDB detaches, or KSTUB_HELLO_CLAIM_MS if it never gets in), and once
 *    the rest of its first packet has come, the kernel stops;
 *  - ruled out: they are the user's and go on to the tty, in order. A
 *    user who types '+' or '$' sees it echoed with the next key, or after
 *    KSTUB_HELLO_HOLD_MS.
 * So a user's input is never lost nor reordered, and none of GDB's
 * reaches the tty; a user who types "$qSupported" stops the kernel.
 *
 * Context: the tty port's flush work (its receive_buf, through tty.c's
 * hook) and the hold's timeout work. Both hold the port's buffer lock,
 * which guards all the state here; kstub_tty_hello_exit() runs after the
 * hook is gone. The claim alone is also read by the tty's timer, and
 * ended by the master at a detach, the kernel stopped.
 */
#include <linux/jiffies.h>
#include <linux/string.h>
#include <linux/tty_flip.h>
#include <linux/tty_port.h>
#include <linux/workqueue.h>
#include <linux/kprobes.h>
#include "transport.h"

enum {
	KSTUB_HELLO_HOLD_MS = 300,	/* GDB writes its hello at once */
	KSTUB_HELLO_CLAIM_MS = 3000,	/* GDB's first packet comes at once */
};

static const char kstub_hello[] = "+$qSupported";
#define KSTUB_HELLO_LEN (sizeof(kstub_hello) - 1)

static struct tty_port *kstub_hello_port;
static kstub_tty_recv_t kstub_hello_pass;	/* the tty's own receive_buf */
static kstub_tty_recv_t kstub_hello_keep;	/* kstub's */
static u8 kstub_hello_held[KSTUB_HELLO_LEN];
static size_t kstub_hello_n;		/* bytes held */
/* how much of kstub_hello they are; 0 with bytes held: they are the user's */
static size_t kstub_hello_pos;
static unsigned long kstub_hello_claimed;	/* jiffies of GDB's hello, or 0 */
static unsigned int kstub_hello_end;	/* of its packet's "#xx", seen */
static bool kstub_hello_done;		/* its whole first packet is kstub's */
static struct delayed_work kstub_hello_timeout;

/* Where @c takes a match that has reached @pos: the next position, or 0. */
static size_t kstub_hello_next(size_t pos, int c)
{
	/* GDB's '+' is optional: a later GDB may send it no more */
	if (pos == 0 && c == '$')
		return 2;
	return c == kstub_hello[pos] ? pos + 1 : 0;
}

/* Hand the user's held bytes to the tty: true when none are left. */
static bool kstub_hello_give(void)
{
	size_t took = 0;

	if (kstub_hello_n)
		took = kstub_hello_pass(kstub_hello_held, NULL, kstub_hello_n);
	memmove(kstub_hello_held, kstub_hello_held + took, kstub_hello_n - took);
	kstub_hello_n -= took;
	return !kstub_hello_n;
}

static void kstub_hello_expire(struct work_struct *work)
{
	tty_buffer_lock_exclusive(kstub_hello_port);
	kstub_hello_pos = 0;
	/* a full tty takes the rest later; a closed one never will */
	if (!kstub_hello_give() && READ_ONCE(kstub_hello_port->count))
		schedule_delayed_work(&kstub_hello_timeout,
				      msecs_to_jiffies(KSTUB_HELLO_HOLD_MS));
	else
		kstub_hello_n = 0;
	tty_buffer_unlock_exclusive(kstub_hello_port);
}

/* Whether GDB said hello, and has not detached since. Context: any. */
static bool kstub_hello_claim_holds(void)
{
	unsigned long at = READ_ONCE(kstub_hello_claimed);

	return at && time_before(jiffies, at + msecs_to_jiffies(KSTUB_HELLO_CLAIM_MS));
}

/**
 * kstub_tty_hello_over() - GDB has detached: the bytes that come now are
 * the tty's again (its session may have begun and ended while the kernel
 * was stopped, faster than any claim's time)
 *
 * Context: the master, the kernel stopped (tty.c's detached op).
 */
void kstub_tty_hello_over(void)
{
	WRITE_ONCE(kstub_hello_claimed, 0);
}

NOKPROBE_SYMBOL(kstub_tty_hello_over);

/* Watch what follows GDB's hello for the end of its packet: "#xx". */
static void kstub_hello_watch(const u8 *cp, size_t count)
{
	size_t i;

	for (i = 0; i < count && !kstub_hello_done; i++) {
		if (kstub_hello_end)
			kstub_hello_end++;
		else if (cp[i] == '#')
			kstub_hello_end = 1;
		if (kstub_hello_end == 3)
			/* pairs with kstub_tty_hello_pending(): the ring has them */
			smp_store_release(&kstub_hello_done, true);
	}
}

/**
 * kstub_tty_hello_pending() - whether GDB's first packet is still coming
 *
 * The kernel stops once the ring holds all of it: stopped earlier, the
 * rest would sit in the tty's buffer, which no one empties while the
 * kernel is stopped, and reach the tty's reader once GDB has gone.
 *
 * Context: any; the tty's timer.
 */
bool kstub_tty_hello_pending(void)
{
	/* pairs with the release in kstub_hello_watch() */
	return !smp_load_acquire(&kstub_hello_done) && kstub_hello_claim_holds();
}

/**
 * kstub_tty_hello_sift() - the tty's bytes, with GDB's kept for kstub
 * @cp, @fp, @count: as for a tty port's receive_buf
 *
 * Context: the port's flush work, for an open tty and no GDB attached.
 * Return: how many of @cp were taken.
 */
size_t kstub_tty_hello_sift(const u8 *cp, const u8 *fp, size_t count)
{
	size_t i, start = 0, took, pos;
	int c;

	if (kstub_hello_claim_holds()) {
		kstub_hello_keep(cp, fp, count);
		kstub_hello_watch(cp, count);
		return count;
	}
	/* the user's bytes a full tty did not take yet go first */
	if (kstub_hello_n && !kstub_hello_pos && !kstub_hello_give())
		return 0;
	for (i = 0; i < count; i++) {
		c = fp && fp[i] != TTY_NORMAL ? -1 : cp[i];
		if (kstub_hello_n) {
			pos = kstub_hello_next(kstub_hello_pos, c);
			if (pos) {
				kstub_hello_held[kstub_hello_n++] = c;
				kstub_hello_pos = pos;
				start = i + 1;
				if (pos < KSTUB_HELLO_LEN)
					continue;
				/* GDB's: all that follows is kstub's */
				kstub_hello_end = 0;
				WRITE_ONCE(kstub_hello_done, false);
				WRITE_ONCE(kstub_hello_claimed, jiffies ?: 1);
				kstub_hello_keep(kstub_hello_held, NULL, kstub_hello_n);
				kstub_hello_n = 0;
				kstub_hello_pos = 0;
				cancel_delayed_work(&kstub_hello_timeout);
				kstub_hello_keep(cp + start, fp ? fp + start : NULL,
						 count - start);
				kstub_hello_watch(cp + start, count - start);
				return count;
			}
			/* not GDB's: the held bytes go first, then this one */
			kstub_hello_pos = 0;
			if (!kstub_hello_give())
				return i;
		}
		pos = kstub_hello_next(0, c);
		if (!pos)
			continue;
		/* may be GDB's: what came before it goes on, it is held */
		if (i > start) {
			took = kstub_hello_pass(cp + start, fp ? fp + start : NULL, i - start);
			if (took < i - start)
				return start + took;
		}
		kstub_hello_held[0] = c;
		kstub_hello_n = 1;
		kstub_hello_pos = pos;
		start = i + 1;
		mod_delayed_work(system_wq, &kstub_hello_timeout,
				 msecs_to_jiffies(KSTUB_HELLO_HOLD_MS));
	}
	if (count > start)
		start += kstub_hello_pass(cp + start, fp ? fp + start : NULL, count - start);
	return start;
}

/**
 * kstub_tty_hello_init() - sift @port's bytes
 * @port: the shared tty's port
 * @pass: its own receive_buf, the tty's
 * @keep: kstub's receive_buf
 *
 * Context: process, before tty.c's hook is in.
 */
void kstub_tty_hello_init(struct tty_port *port, kstub_tty_recv_t pass, kstub_tty_recv_t keep)
{
	kstub_hello_port = port;
	kstub_hello_pass = pass;
	kstub_hello_keep = keep;
	kstub_hello_n = 0;
	kstub_hello_pos = 0;
	kstub_hello_claimed = 0;
	kstub_hello_done = false;
	INIT_DELAYED_WORK(&kstub_hello_timeout, kstub_hello_expire);
}

/**
 * kstub_tty_hello_exit() - give the tty what is still held
 *
 * Context: process, once tty.c's hook is out and no flush is inside it.
 */
void kstub_tty_hello_exit(void)
{
	cancel_delayed_work_sync(&kstub_hello_timeout);
	tty_buffer_lock_exclusive(kstub_hello_port);
	kstub_hello_give();
	kstub_hello_n = 0;
	tty_buffer_unlock_exclusive(kstub_hello_port);
	kstub_hello_port = NULL;
}
