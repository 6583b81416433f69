// SPDX-License-Identifier: GPL-2.0
/*
 * A tty shared with the console: a board with one UART keeps its console
 * and its login on that UART, and GDB talks over it too.
 *
 * While the kernel is stopped, bytes go straight to the line, one of two
 * ways (struct kstub_line_ops): the driver's polling hooks, as kgdboc
 * (tty_poll.c, CONFIG_CONSOLE_POLL), or else, on a console's 16550 or
 * PL011, the UART's registers (tty_uart.c). While it runs, a timer
 * watches for GDB's Ctrl-C or a new GDB's first packet:
 *  - while the driver has not started the port, nobody else reads the
 *    line, and the timer polls it;
 *  - once it has (a tty was opened; a console's port stays started even
 *    after the last close), its interrupt takes every byte. A hook in
 *    front of the line discipline keeps the bytes for kstub, from the
 *    moment GDB attaches until it detaches, and whenever the tty is not
 *    open. Bytes for an open tty with no GDB attached are the user's,
 *    but for a new GDB's first packet, which stops the kernel
 *    (tty_hello.c).
 * A console on the line would break into GDB's packets: while GDB is
 * attached, its text goes to GDB as 'O' packets instead.
 */
#include <linux/console.h>
#include <linux/hrtimer.h>
#include <linux/serial_core.h>
#include <linux/tty.h>
#include <linux/tty_driver.h>
#include <linux/tty_flip.h>
#include <linux/tty_port.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <linux/kprobes.h>
#include "compat.h"
#include "transport.h"

enum {
	KSTUB_TTY_NAME_MAX = 64,
	KSTUB_TTY_POLL_MS = 10,		/* Ctrl-C answered within 1 s, easily */
	/* while bytes come: a 16-byte FIFO fills in 1.4 ms at 115200 baud */
	KSTUB_TTY_BUSY_US = 1000,
	KSTUB_TTY_RING = 1024,		/* a power of two */
	KSTUB_TTY_LATE = 256,		/* a power of two, and more than a FIFO */
	KSTUB_TTY_DRAIN_MAX = 4096,	/* bytes read out as a stop ends, at most */
	KSTUB_TTY_BUFS_MAX = 1024,	/* a tty buffer list longer than this is broken */
};

/* set at init, before the transport is up, and cleared at exit */
static const struct kstub_line_ops *kstub_tty_io;
static struct tty_driver *kstub_tty_drv;
static int kstub_tty_line;
static struct tty_port *kstub_tty_port;	/* NULL: the driver keeps no ports */
static const struct tty_port_client_operations *kstub_tty_client_orig;
static struct tty_port_client_operations kstub_tty_client;
static struct hrtimer kstub_tty_timer;
static struct console *kstub_tty_con;
static void (*kstub_tty_con_write_orig)(struct console *co, const char *s,
					unsigned int n);

/*
 * A byte ring with one producer and one consumer, so no lock, which a
 * stopped kernel could never release.
 */
struct kstub_tty_bytes {
	u8 *buf;
	unsigned int size;		/* a power of two */
	unsigned int head, tail;	/* the producer's, the consumer's */
};

static bool kstub_tty_bytes_empty(struct kstub_tty_bytes *r)
{
	/* pairs with the release in kstub_tty_bytes_put() */
	return smp_load_acquire(&r->head) == READ_ONCE(r->tail);
}

/* The producer's side: false, and @c dropped, when the ring is full. */
static bool kstub_tty_bytes_put(struct kstub_tty_bytes *r, u8 c)
{
	unsigned int head = r->head;

	if (head - READ_ONCE(r->tail) >= r->size)
		return false;
	r->buf[head % r->size] = c;
	/* pairs with the acquires in _empty() and _peek() */
	smp_store_release(&r->head, head + 1);
	return true;
}

NOKPROBE_SYMBOL(kstub_tty_bytes_put);

/* The consumer's side: the oldest byte, left in the ring, or -1. */
static int kstub_tty_bytes_peek(struct kstub_tty_bytes *r)
{
	/* pairs with the release in kstub_tty_bytes_put() */
	if (r->tail == smp_load_acquire(&r->head))
		return -1;
	return r->buf[r->tail % r->size];
}

NOKPROBE_SYMBOL(kstub_tty_bytes_peek);

/* The consumer's side: the byte peeked at is done with. */
static void kstub_tty_bytes_drop(struct kstub_tty_bytes *r)
{
	/* the byte is read before the producer may reuse its slot */
	smp_store_release(&r->tail, r->tail + 1);
}

NOKPROBE_SYMBOL(kstub_tty_bytes_drop);

/*
 * Bytes the hook took from an open tty. Producer: the port's flush work;
 * consumer: kstub's reader (the timer, or the stopped master).
 */
static u8 kstub_tty_ring_buf[KSTUB_TTY_RING];
static struct kstub_tty_bytes kstub_tty_ring = {
	.buf = kstub_tty_ring_buf, .size = KSTUB_TTY_RING,
};

/*
 * The driver has started the port, or is starting it (a tty is being
 * opened): its interrupt reads the line. Not a poll of ours while it
 * starts: a PL011's startup drains the FIFO, then clears and enables the
 * receive interrupt, and a poll in between would clear it for good.
 */
static bool kstub_tty_driver_reads(void)
{
	/* without a port to ask, assume nobody else reads the line */
	return kstub_tty_port && (tty_port_initialized(kstub_tty_port) ||
				  READ_ONCE(kstub_tty_port->count));
}

/*
 * The ring first, then the line, but only while nobody else reads it: once
 * the driver has started the port, its interrupt takes every byte while the
 * kernel runs, and a read of ours then would take a byte from under it, and
 * with a PL011's polling hook, which clears the UART's pending interrupts
 * first, leave it none for the bytes still in the FIFO: QEMU's PL011 raises
 * its receive interrupt only as its FIFO goes from empty to one byte, and
 * has no receive timeout, so the driver never read the line again.
 * Atomic-safe.
 */
static int kstub_tty_get_char(void)
{
	int c = kstub_tty_bytes_peek(&kstub_tty_ring);

	if (c >= 0) {
		kstub_tty_bytes_drop(&kstub_tty_ring);
		return c;
	}
	if (kstub_tty_driver_reads() && !kstub_serving())
		return -1;
	return kstub_tty_io->get_char();
}

NOKPROBE_SYMBOL(kstub_tty_get_char);

/* Atomic-safe. */
static void kstub_tty_put_chars(const u8 *buf, size_t len)
{
	kstub_tty_io->put_chars(buf, len);
}

NOKPROBE_SYMBOL(kstub_tty_put_chars);

/*
 * How many times GDB has detached: written by the master while stopped.
 * A hook call that began before a detach takes the rest of its bytes for
 * a GDB that has gone (kstub_tty_keep()).
 */
static unsigned int kstub_tty_detaches;
/* kstub_tty_detaches as the hook's call began; under the port's buffer lock */
static unsigned int kstub_tty_call_detaches;

/* Bytes for kstub, into the ring. Context: the port's buffer lock held. */
static size_t kstub_tty_keep(const u8 *cp, const u8 *fp, size_t count)
{
	size_t i;

	/* the GDB they were for detached while this call was stopped: they go */
	if (READ_ONCE(kstub_tty_detaches) != kstub_tty_call_detaches)
		return count;
	for (i = 0; i < count; i++)
		/* full: drop, as a UART's FIFO would; GDB retransmits */
		if ((!fp || fp[i] == TTY_NORMAL) &&
		    !kstub_tty_bytes_put(&kstub_tty_ring, cp[i]))
			break;
	return count;
}

/*
 * What the tty's buffer held when GDB detached: it came while GDB was
 * attached, so it is GDB's (acks of console 'O' packets the driver took
 * just before a stop), and goes; the tty's reader would get it once the
 * kernel runs. Written by the master while stopped, then by the flush work.
 */
static unsigned int kstub_tty_stale;

/*
 * Just past the bytes kstub_tty_receive_buf() has taken, or is taking:
 * the flush work tells the buffer (its read offset) only once receive_buf
 * has returned, and a CPU stopped before then would have bytes already
 * taken counted as stale, and as many of the user's next ones dropped.
 * The stop that a call's own byte brings about (GDB's Ctrl-C, put in the
 * ring, seen by the tty's timer on another CPU) comes while that call is
 * still inside the hook: so the call claims all its bytes as it begins,
 * and those it then takes after a detach follow kstub_tty_detaches.
 * Written by the flush work, read by the master while stopped.
 */
static const u8 *kstub_tty_seen;

/*
 * What the UART's FIFO held when a stop ended, read out so that the
 * driver's receive interrupt comes for the next byte (kstub_tty_resume()),
 * for the port's flush work to route as it would have routed it from the
 * driver. One producer (the master, at the end of a stop) and one
 * consumer (under the port's buffer lock: the flush work, or
 * kstub_tty_late_work), so no lock, which a stopped kernel could never
 * release.
 */
static u8 kstub_tty_late_buf[KSTUB_TTY_LATE];
static struct kstub_tty_bytes kstub_tty_late = {
	.buf = kstub_tty_late_buf, .size = KSTUB_TTY_LATE,
};

static struct work_struct kstub_tty_late_work;
/* kstub_tty_late's head when GDB last detached: written by the master */
static unsigned int kstub_tty_late_gone;
/*
 * How many bytes the tty's buffer held when the late ones were read out:
 * older, they go first. Written by the master while stopped, then by the
 * flush work.
 */
static unsigned int kstub_tty_ahead;

/*
 * How many bytes the tty's buffer holds that the hook has not been given
 * yet. Atomic-safe: the kernel is stopped, the buffer list read
 * fault-safe.
 */
static unsigned int kstub_tty_buffered(void)
{
	struct tty_buffer *b;
	const u8 *seen = READ_ONCE(kstub_tty_seen);
	typeof(b->used) used, read;
	unsigned int n = 0, bufs = 0;

	if (get_kernel_nofault(b, &kstub_tty_port->buf.head))
		return 0;
	/* a list that long is one a stopped CPU was changing: leave it */
	while (b && bufs++ < KSTUB_TTY_BUFS_MAX) {
		if (get_kernel_nofault(used, &b->used) || get_kernel_nofault(read, &b->read))
			break;
		/* the first buffer's may be taken already (kstub_tty_seen) */
		if (bufs == 1 && seen > (const u8 *)b->data + read &&
		    seen <= (const u8 *)b->data + used)
			read = seen - (const u8 *)b->data;
		n += used - read;
		if (get_kernel_nofault(b, &b->next))
			break;
	}
	return n;
}

NOKPROBE_SYMBOL(kstub_tty_buffered);

/*
 * GDB has let go: a claim on the line for its hello ends, and what the
 * tty's buffer holds now is counted as stale.
 * Atomic-safe: the kernel is stopped.
 */
static void kstub_tty_detached(void)
{
	if (!kstub_tty_client_orig)
		return;
	kstub_tty_hello_over();
	WRITE_ONCE(kstub_tty_detaches, kstub_tty_detaches + 1);
	WRITE_ONCE(kstub_tty_late_gone, kstub_tty_late.head);
	WRITE_ONCE(kstub_tty_stale, kstub_tty_buffered());
}

NOKPROBE_SYMBOL(kstub_tty_detached);

/* Bytes for the tty's reader. Context: the port's flush work. */
static size_t kstub_tty_pass(const u8 *cp, const u8 *fp, size_t count)
{
	return kstub_tty_client_orig->receive_buf(kstub_tty_port, cp, fp, count);
}

/* Where bytes the tty has not been told of as stale go. */
static size_t kstub_tty_route(struct tty_port *port, const u8 *cp, const u8 *fp,
			      size_t count)
{
	if (kstub_gdb_attached() || !READ_ONCE(port->count))
		return kstub_tty_keep(cp, fp, count);
	return kstub_tty_hello_sift(cp, fp, count);
}

/*
 * The bytes kstub_tty_resume() read out, routed: true once none are left
 * (a full tty takes the rest later). Context: the port's buffer lock held.
 */
static bool kstub_tty_late_route(struct tty_port *port)
{
	int c;
	u8 b;

	while ((c = kstub_tty_bytes_peek(&kstub_tty_late)) >= 0) {
		b = c;
		/* before GDB detached: GDB's, and it has gone */
		if ((int)(READ_ONCE(kstub_tty_late_gone) - kstub_tty_late.tail) <= 0 &&
		    !kstub_tty_route(port, &b, NULL, 1))
			return false;
		kstub_tty_bytes_drop(&kstub_tty_late);
	}
	return true;
}

/*
 * Every byte the driver's interrupt takes, in front of the line
 * discipline: kstub's while GDB is attached or the tty is closed; for an
 * open tty with no GDB, the reader's, but for GDB's first packet and what
 * GDB left in the tty's buffer when it detached.
 */
static size_t kstub_tty_sort(struct tty_port *port, const u8 *cp, const u8 *fp, size_t count)
{
	unsigned int stale = READ_ONCE(kstub_tty_stale);

	if (stale && !kstub_gdb_attached()) {
		count = min_t(size_t, count, stale);
		WRITE_ONCE(kstub_tty_stale, stale - count);
		return count;
	}
	return kstub_tty_route(port, cp, fp, count);
}

/*
 * What a stop's end read out of the FIFO (kstub_tty_late) came after what
 * the tty's buffer held then (kstub_tty_ahead), and before the rest.
 */
static size_t kstub_tty_take(struct tty_port *port, const u8 *cp, const u8 *fp, size_t count)
{
	unsigned int ahead = READ_ONCE(kstub_tty_ahead);
	size_t took;

	if (!ahead)
		return kstub_tty_late_route(port) ? kstub_tty_sort(port, cp, fp, count) : 0;
	took = kstub_tty_sort(port, cp, fp, min_t(size_t, count, ahead));
	WRITE_ONCE(kstub_tty_ahead, ahead - took);
	return took;
}

/* The late bytes, when no new ones bring the flush work. Process context. */
static void kstub_tty_late_fn(struct work_struct *work)
{
	tty_buffer_lock_exclusive(kstub_tty_port);
	kstub_tty_call_detaches = READ_ONCE(kstub_tty_detaches);
	/* the bytes still in the tty's buffer go first, with the flush work */
	if (!READ_ONCE(kstub_tty_ahead))
		kstub_tty_late_route(kstub_tty_port);
	tty_buffer_unlock_exclusive(kstub_tty_port);
}

static KSTUB_TTY_COUNT_T kstub_tty_receive_buf(struct tty_port *port, const u8 *cp,
					       const u8 *fp, size_t count)
{
	size_t took;

	kstub_tty_call_detaches = READ_ONCE(kstub_tty_detaches);
	/* before any of them can reach kstub: the ring's release orders it */
	WRITE_ONCE(kstub_tty_seen, cp + count);
	took = kstub_tty_take(port, cp, fp, count);
	WRITE_ONCE(kstub_tty_seen, cp + took);
	return took;
}

/* Context: hard interrupt, so a break-in stops in the interrupted code. */
static enum hrtimer_restart kstub_tty_tick(struct hrtimer *timer)
{
	bool busy = false;

	if ((!kstub_tty_bytes_empty(&kstub_tty_ring) && !kstub_tty_hello_pending()) ||
	    !kstub_tty_driver_reads())
		busy = kstub_rx_irq();
	if (!kstub_tty_bytes_empty(&kstub_tty_late))
		schedule_work(&kstub_tty_late_work);
	hrtimer_forward_now(timer, busy ? ns_to_ktime(KSTUB_TTY_BUSY_US * NSEC_PER_USEC) :
				    ms_to_ktime(KSTUB_TTY_POLL_MS));
	return HRTIMER_RESTART;
}

static void kstub_tty_con_write(struct console *co, const char *s, unsigned int n)
{
	if (!kstub_gdb_console(s, n))
		kstub_tty_con_write_orig(co, s, n);
}

/* The console that prints on kstub's line, if any, writes through kstub. */
static void kstub_tty_con_hook(void)
{
	struct console *con;
	int index;

	kstub_consoles_lock();
	for_each_console(con) {
		if (!con->device || con->device(con, &index) != kstub_tty_drv ||
		    index != kstub_tty_line)
			continue;
		if (!con->write) {
			/* an nbcon console (PREEMPT_RT's 8250) writes another way */
			pr_warn("tty: console %s%d prints past kstub: while GDB is attached its text reaches GDB raw\n",
				con->name, index);
			break;
		}
		kstub_tty_con = con;
		kstub_tty_con_write_orig = con->write;
		WRITE_ONCE(con->write, kstub_tty_con_write);
		break;
	}
	kstub_consoles_unlock();
}

static void kstub_tty_con_unhook(void)
{
	if (!kstub_tty_con)
		return;
	kstub_consoles_lock();
	WRITE_ONCE(kstub_tty_con->write, kstub_tty_con_write_orig);
	kstub_consoles_unlock();
	/* consoles print under the console lock: no CPU is in the hook now */
	console_lock();
	console_unlock();
	kstub_tty_con = NULL;
}

/*
 * The kernel goes on: a driver that reads the line gets its interrupt for
 * the next byte only if the FIFO is empty now (see kstub_tty_get_char()).
 * What is in it came after GDB's last packet, or was typed as GDB
 * detached: it goes where the driver would have sent it, after what the
 * tty's buffer holds, later (kstub_tty_late). Without a hook to route
 * it, or more than that holds, it is lost, as bytes a stopped kernel's
 * UART had no room for would be; a line that never stops sending is read
 * for so long only.
 * Atomic-safe: the other CPUs are stopped.
 */
static void kstub_tty_resume(void)
{
	bool first = kstub_tty_bytes_empty(&kstub_tty_late);
	unsigned int n = 0;
	int c;

	if (!kstub_tty_driver_reads())
		return;
	while (n++ < KSTUB_TTY_DRAIN_MAX && (c = kstub_tty_io->get_char()) >= 0) {
		if (!kstub_tty_client_orig)
			continue;
		/* counted before the consumer can see a late byte */
		if (first)
			WRITE_ONCE(kstub_tty_ahead, kstub_tty_buffered());
		first = false;
		kstub_tty_bytes_put(&kstub_tty_late, c);
	}
}

NOKPROBE_SYMBOL(kstub_tty_resume);

/* the ways to the line, in the order they are tried */
static const struct kstub_line_ops *const kstub_tty_ways[] = {
	IS_ENABLED(CONFIG_KSTUB_TTY_POLL) ? &kstub_line_poll : NULL,
	&kstub_line_uart,
};

/* Find the line @arg names ("ttyS0", "ttyS0,115200"): 0 or -errno. */
static int kstub_tty_find(const char *arg)
{
	char name[KSTUB_TTY_NAME_MAX];
	struct tty_driver *drv;
	char *options;
	unsigned int i;

	if (strscpy(name, arg, sizeof(name)) < 0) {
		pr_err("tty=%s: name too long\n", arg);
		return -EINVAL;
	}
	options = strchr(name, ',');
	if (options)
		*options++ = '\0';
	if (!*name || (options && !*options)) {
		pr_err("tty=%s: expected a tty name with its line and an optional speed, as for kgdboc (ttyS0, ttyAMA0,115200)\n",
		       arg);
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(kstub_tty_ways); i++) {
		if (!kstub_tty_ways[i])
			continue;
		drv = kstub_tty_ways[i]->find(name, options, &kstub_tty_line);
		if (!IS_ERR(drv)) {
			kstub_tty_io = kstub_tty_ways[i];
			kstub_tty_drv = drv;
			return 0;
		}
		if (PTR_ERR(drv) != -ENODEV)
			return PTR_ERR(drv);
	}
	if (IS_ENABLED(CONFIG_KSTUB_TTY_POLL))
		pr_err("tty=%s: no tty of that name whose driver can be polled, and no UART console; expected a tty name with its line and an optional speed, as for kgdboc (ttyS0, ttyAMA0,115200)\n",
		       arg);
	else
		pr_err("tty=%s: no UART console of that name (without CONFIG_CONSOLE_POLL kstub shares a console's UART only, through its registers; uart= gives kstub a port of its own)\n",
		       arg);
	return -EINVAL;
}

static int kstub_tty_init(const char *arg)
{
	int ret = kstub_tty_find(arg);

	if (ret)
		return ret;
	kstub_tty_stale = 0;
	kstub_tty_seen = NULL;
	kstub_tty_late.head = 0;
	kstub_tty_late.tail = 0;
	kstub_tty_late_gone = 0;
	kstub_tty_detaches = 0;
	kstub_tty_call_detaches = 0;
	kstub_tty_ahead = 0;
	INIT_WORK(&kstub_tty_late_work, kstub_tty_late_fn);
	if (kstub_tty_drv->ports)
		kstub_tty_port = kstub_tty_drv->ports[kstub_tty_line];
	if (kstub_tty_port && kstub_tty_port->client_ops &&
	    kstub_tty_port->client_ops->receive_buf) {
		kstub_tty_client_orig = kstub_tty_port->client_ops;
		kstub_tty_hello_init(kstub_tty_port, kstub_tty_pass, kstub_tty_keep);
		kstub_tty_client = *kstub_tty_client_orig;
		kstub_tty_client.receive_buf = kstub_tty_receive_buf;
		WRITE_ONCE(kstub_tty_port->client_ops, &kstub_tty_client);
	}
	if (!kstub_tty_driver_reads())
		while (kstub_tty_get_char() >= 0)
			;
	kstub_tty_con_hook();
	hrtimer_init(&kstub_tty_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	kstub_tty_timer.function = kstub_tty_tick;
	hrtimer_start(&kstub_tty_timer, ms_to_ktime(KSTUB_TTY_POLL_MS),
		      HRTIMER_MODE_REL_HARD);
	pr_info("tty: %s%d, shared through %s%s\n",
		kstub_tty_drv->name, kstub_tty_line, kstub_tty_io->how,
		kstub_tty_con ? "; its console goes to GDB while GDB is attached" : "");
	return 0;
}

static void kstub_tty_exit(void)
{
	hrtimer_cancel(&kstub_tty_timer);
	/* the timer queued it: it may run no more once the timer is gone */
	cancel_work_sync(&kstub_tty_late_work);
	kstub_tty_con_unhook();
	if (kstub_tty_client_orig) {
		WRITE_ONCE(kstub_tty_port->client_ops, kstub_tty_client_orig);
		/* a flush already inside the hook finishes before kstub goes */
		flush_work(&kstub_tty_port->buf.work);
		kstub_tty_hello_exit();
		kstub_tty_client_orig = NULL;
	}
	kstub_tty_port = NULL;
	kstub_tty_io->release();
	kstub_tty_io = NULL;
	tty_driver_kref_put(kstub_tty_drv);
	kstub_tty_drv = NULL;
}

const struct kstub_transport_ops kstub_transport_tty = {
	.name = "tty",
	.reliable = false,
	.polled = true,
	.init = kstub_tty_init,
	.exit = kstub_tty_exit,
	.get_char = kstub_tty_get_char,
	.put_chars = kstub_tty_put_chars,
	.detached = kstub_tty_detached,
	.resume = kstub_tty_resume,
};
