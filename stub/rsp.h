/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The GDB session: turns received packets into calls on the target and
 * replies. Pure C, shared by the module and the host tests.
 */
#ifndef KSTUB_RSP_H
#define KSTUB_RSP_H

#include "kstub_env.h"
#include "packet.h"
#include "bp.h"

enum {
	KSTUB_PACKET_SIZE = 0x10000,	/* advertised PacketSize */
	KSTUB_RX_CAP = KSTUB_PACKET_SIZE + 1,
	KSTUB_REPLY_CAP = KSTUB_PACKET_SIZE,
	KSTUB_FRAME_CAP = 2 * KSTUB_PACKET_SIZE + 8,
	KSTUB_SCRATCH_CAP = KSTUB_PACKET_SIZE / 2,
	KSTUB_PICKED = 8,
	KSTUB_REG_MAX = 64,		/* bytes in the widest register */
};

/* What the stop loop does once a packet has been handled. */
enum kstub_action {
	KSTUB_STAY,		/* keep serving packets */
	KSTUB_CONTINUE,
	KSTUB_STEP,		/* one instruction on the stopped thread */
	KSTUB_DETACH,		/* breakpoints are cleared; resume */
};

/* Signals in stop replies, GDB's numbering (not always the kernel's). */
enum kstub_signal {
	KSTUB_SIGINT = 2,
	KSTUB_SIGILL = 4,
	KSTUB_SIGABRT = 6,
	KSTUB_SIGTRAP = 5,
	KSTUB_SIGFPE = 8,
	KSTUB_SIGBUS = 10,
	KSTUB_SIGSEGV = 11,
};

/*
 * E-reply codes: errno values, as gdbserver sends them. Handlers pass the
 * negative errno their helper returned.
 */

/**
 * struct kstub_target_ops - the stopped machine, as the session sees it
 * @read_mem: fault-safe read; 0 or -errno (never oopses on a bad address).
 * @write_mem: fault-safe write; 0 or -errno.
 * @reg_get: value of register @regno of thread @tid in GDB's order and
 *	byte order; returns its size, 0 past the last register. Sets *@avail
 *	false for a register that exists but has no value.
 * @reg_set: set register @regno of thread @tid; 0 or -errno.
 * @thread_next: the thread id after @tid (0 asks for the first), 0 at end.
 * @thread_alive: whether @tid names a thread.
 * @thread_extra: NUL-terminated description of @tid for "info threads".
 * @thread_name: NUL-terminated name of @tid (a task's comm), or "".
 * @thread_core: the CPU @tid runs on, or -1.
 * @thread_on_cpu: whether @tid was running on a CPU when the target
 *	stopped. With it, the list GDB reads at each stop holds only those
 *	threads and the ones GDB is looking at (see kstub_cmd_threads()); may
 *	be NULL: every list is the whole one.
 * @image_base: where the kernel image starts (_text, its first loadable
 *	segment) in the running kernel, for qOffsets (KASLR).
 * @target_xml: the target description GDB reads as "target.xml".
 * @monitor: run GDB's "monitor <@cmd>", printing through
 *	kstub_session_output(); 0, -ENOENT for an unknown command, or
 *	another -errno. May be NULL.
 * @expedite: registers every stop reply carries, so that GDB needs no
 *	register fetch to show where it stopped; ends with -1; may be NULL.
 * @library: loaded object @i (from 0) for qXfer:libraries: its file name
 *	in *@name and, in *@bases, what to add to each of the file's
 *	allocated sections, in the file's section order; returns how many
 *	bases, -ENOENT past the last object. May be NULL.
 * @hw_insert: a hardware breakpoint or watchpoint (enum kstub_hw_type)
 *	on [@addr, @addr + @len) (for a breakpoint @len is GDB's kind); 0,
 *	-EOPNOTSUPP for a type the target has none of (GDB then tries
 *	another: an access watchpoint for a read one), or another -errno
 *	(no slot free, a length or alignment the hardware cannot hold). May
 *	be NULL: the target has none.
 * @hw_remove: take one out again; -ENOENT if it is not there.
 * @hw_clear: take them all out (a detach, a new GDB).
 *
 * All members are called with the target stopped: they must be atomic-safe.
 */
struct kstub_session;

struct kstub_target_ops {
	int (*read_mem)(void *ctx, u64 addr, u8 *buf, size_t len);
	int (*write_mem)(void *ctx, u64 addr, const u8 *buf, size_t len);
	int (*reg_get)(void *ctx, int tid, int regno, u8 *val, bool *avail);
	int (*reg_set)(void *ctx, int tid, int regno, const u8 *val);
	int (*thread_next)(void *ctx, int tid);
	bool (*thread_alive)(void *ctx, int tid);
	void (*thread_extra)(void *ctx, int tid, char *buf, size_t cap);
	void (*thread_name)(void *ctx, int tid, char *buf, size_t cap);
	int (*thread_core)(void *ctx, int tid);
	bool (*thread_on_cpu)(void *ctx, int tid);
	u64 (*image_base)(void *ctx);
	int (*monitor)(void *ctx, const char *cmd, struct kstub_session *s);
	const char *target_xml;
	const int *expedite;
	int (*library)(void *ctx, unsigned int i, const char **name,
		       const u64 **bases);
	int (*hw_insert)(void *ctx, int type, u64 addr, u64 len);
	int (*hw_remove)(void *ctx, int type, u64 addr, u64 len);
	void (*hw_clear)(void *ctx);
};

/* GDB's Z1-Z4: the type of a hardware breakpoint or watchpoint */
enum kstub_hw_type {
	KSTUB_HW_EXEC = 1,
	KSTUB_HW_WRITE = 2,
	KSTUB_HW_READ = 3,
	KSTUB_HW_ACCESS = 4,
};

/* Where the session sends framed bytes; the transport owns the wire. */
typedef void (*kstub_write_fn)(void *io, const u8 *buf, size_t len);

struct kstub_session {
	const struct kstub_target_ops *target;
	void *ctx;
	struct kstub_bp_table *bps;
	kstub_write_fn write;
	void *io;
	bool reliable;		/* transport may offer no-ack mode */

	struct kstub_rx rx;
	u8 *reply;
	size_t reply_len;
	bool reply_full;
	const u8 *reply_bin;	/* if set, the reply is these bytes in hex */
	size_t reply_bin_len;
	u8 *frame;
	size_t frame_len;
	u8 *scratch;

	bool connected;		/* a GDB has talked to us since the last detach */
	bool no_ack;
	bool silent;		/* handler sends no reply (k, resume) */
	bool interrupt;		/* GDB's Ctrl-C came while stopped: the next stop is SIGINT */
	bool ack_due;		/* detached in ack mode: GDB's '+' for the OK is on its way */
	int stop_tid;		/* thread that stopped */
	int g_tid;		/* thread for g/G/p/P, from Hg */
	int signal;
	unsigned int stop_flags;	/* KSTUB_STOP_*: what else the stop reply says */
	u64 stop_data;		/* the address a watchpoint stop names */
	int thread_iter;	/* qfThreadInfo/qsThreadInfo position */
	/* the thread list: what GDB reads at a stop, and what it reads on demand */
	bool threads_all;	/* every list is the whole one (monitor threads all) */
	int short_lists;	/* list reads still to get the short list at this stop */
	bool list_short;	/* the list being read is the short one */
	int picked[KSTUB_PICKED];	/* threads GDB selected lately (T): always listed */
	unsigned int picked_next;	/* where the next one goes in @picked */
};

/**
 * struct kstub_buffers - memory for one session, owned by the caller
 * (static in the module: nothing is allocated on the trap path)
 */
struct kstub_buffers {
	u8 rx[KSTUB_RX_CAP];
	u8 reply[KSTUB_REPLY_CAP];
	u8 frame[KSTUB_FRAME_CAP];
	u8 scratch[KSTUB_SCRATCH_CAP];
};

/* what a stop reply says beyond the signal */
enum {
	KSTUB_STOP_SWBREAK = 1,		/* at one of GDB's breakpoints */
	KSTUB_STOP_LIBRARY = 2,		/* the list of loaded objects changed */
	KSTUB_STOP_HWBREAK = 4,		/* at one of GDB's hardware breakpoints */
	KSTUB_STOP_WATCH = 8,		/* a write watchpoint at @data triggered */
	KSTUB_STOP_RWATCH = 16,		/* a read watchpoint */
	KSTUB_STOP_AWATCH = 32,		/* an access watchpoint */
	KSTUB_STOP_ANY_WATCH = KSTUB_STOP_WATCH | KSTUB_STOP_RWATCH | KSTUB_STOP_AWATCH,
	KSTUB_STOP_CAUSE = KSTUB_STOP_SWBREAK | KSTUB_STOP_HWBREAK | KSTUB_STOP_ANY_WATCH,
};

void kstub_session_init(struct kstub_session *s, struct kstub_buffers *b);
/* @data: the watched address a KSTUB_STOP_*WATCH stop names, else unused */
void kstub_session_stop(struct kstub_session *s, int tid, int signal,
			unsigned int flags, u64 data);
enum kstub_action kstub_session_feed(struct kstub_session *s, u8 c);
/* text for GDB's console, from a monitor command, sent at once */
/*
 * text for GDB's console as 'O' packets, framed in @frame (@cap bytes),
 * through @write; for output outside a session's stop
 */
void kstub_write_output(kstub_write_fn write, void *io, const char *text,
			size_t len, u8 *frame, size_t cap);
void kstub_session_output(struct kstub_session *s, const char *text,
			  size_t len);
/* the bytes that follow come from a GDB that has just connected */
void kstub_session_new_client(struct kstub_session *s);
/*
 * kstub will not serve this GDB (the kernel is locked down): tell it the
 * target exited, which ends its session, and forget it
 */
void kstub_session_end(struct kstub_session *s);
enum kstub_action kstub_session_handle(struct kstub_session *s,
				       const u8 *pkt, size_t len);

#endif /* KSTUB_RSP_H */
