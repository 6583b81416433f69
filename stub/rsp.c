// SPDX-License-Identifier: GPL-2.0
/*
 * RSP commands: one table row and one handler per packet. Handlers parse
 * with the cursor helpers and build replies with the reply helpers, so
 * every length and address from the wire is checked in one place.
 * Atomic-safe: runs in the trap path with the other CPUs parked.
 */
#include "rsp.h"

enum {
	KSTUB_NUM_MAX = 24,	/* digits of a u64, in base 10 or 16 */
};

struct kstub_cur {
	const u8 *p;
	const u8 *end;
};

/* ---- reading the packet ---- */

static bool kstub_cur_done(const struct kstub_cur *c)
{
	return c->p >= c->end;
}

static bool kstub_cur_char(struct kstub_cur *c, u8 ch)
{
	if (kstub_cur_done(c) || *c->p != ch)
		return false;
	c->p++;
	return true;
}

/* A hex number of at most 16 digits; at least one digit required. */
static bool kstub_cur_hex(struct kstub_cur *c, u64 *val)
{
	int digits = 0, v;

	*val = 0;
	while (!kstub_cur_done(c) && (v = kstub_hex_val(*c->p)) >= 0) {
		if (++digits > 16)
			return false;
		*val = (*val << 4) | v;
		c->p++;
	}
	return digits > 0;
}

/* "-1" (all threads) is returned as -1, "0" (any) as 0. */
static bool kstub_cur_thread(struct kstub_cur *c, int *tid)
{
	u64 v;

	if (kstub_cur_char(c, '-')) {
		if (!kstub_cur_char(c, '1'))
			return false;
		*tid = -1;
		return true;
	}
	if (!kstub_cur_hex(c, &v) || v > 0x7fffffff)
		return false;
	*tid = (int)v;
	return true;
}

/* "addr,len" with len no larger than @max */
static bool kstub_cur_range(struct kstub_cur *c, u64 *addr, u64 *len, u64 max)
{
	return kstub_cur_hex(c, addr) && kstub_cur_char(c, ',') &&
	       kstub_cur_hex(c, len) && *len <= max;
}

/* Decode @n bytes of hex into @out; the cursor must hold exactly them. */
static bool kstub_cur_hexbytes(struct kstub_cur *c, u8 *out, size_t n)
{
	size_t i;
	int hi, lo;

	if ((size_t)(c->end - c->p) != 2 * n)
		return false;
	for (i = 0; i < n; i++) {
		hi = kstub_hex_val(c->p[2 * i]);
		lo = kstub_hex_val(c->p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = hi << 4 | lo;
	}
	c->p = c->end;
	return true;
}

/* ---- building the reply ---- */

static void kstub_put(struct kstub_session *s, const void *data, size_t n)
{
	if (s->reply_len + n > KSTUB_REPLY_CAP) {
		s->reply_full = true;
		return;
	}
	memcpy(s->reply + s->reply_len, data, n);
	s->reply_len += n;
}

static void kstub_put_str(struct kstub_session *s, const char *str)
{
	kstub_put(s, str, strlen(str));
}

static void kstub_put_char(struct kstub_session *s, char ch)
{
	kstub_put(s, &ch, 1);
}

/* The hot loop of every memory read: room is checked once, not per digit. */
static void kstub_put_hexbytes(struct kstub_session *s, const u8 *b, size_t n)
{
	u8 *out;
	size_t i;

	if (s->reply_len + 2 * n > KSTUB_REPLY_CAP) {
		s->reply_full = true;
		return;
	}
	out = s->reply + s->reply_len;
	for (i = 0; i < n; i++) {
		*out++ = kstub_hex_digit(b[i] >> 4);
		*out++ = kstub_hex_digit(b[i]);
	}
	s->reply_len += 2 * n;
}

/* @v in @base (10 or 16) into @buf, most significant digit first; its length */
static size_t kstub_fmt_num(char buf[KSTUB_NUM_MAX], u64 v, unsigned int base)
{
	char tmp[KSTUB_NUM_MAX];
	size_t n = 0, i;

	do {
		tmp[n++] = kstub_hex_digit(v % base);
		v /= base;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

static void kstub_put_hex(struct kstub_session *s, u64 v)
{
	char buf[KSTUB_NUM_MAX];

	kstub_put(s, buf, kstub_fmt_num(buf, v, 16));
}

static void kstub_put_ok(struct kstub_session *s)
{
	kstub_put_str(s, "OK");
}

static void kstub_put_err(struct kstub_session *s, int err)
{
	u8 code = err < 0 ? -err : err;

	s->reply_len = 0;
	s->reply_bin = NULL;
	kstub_put_char(s, 'E');
	kstub_put_hexbytes(s, &code, 1);
}

/* OK for 0; a negative errno goes back to the dispatcher, which says E */
static int kstub_ok_or_err(struct kstub_session *s, int ret)
{
	if (ret)
		return ret;
	kstub_put_ok(s);
	return KSTUB_STAY;
}

/* <regno>:<value>; for each register the target expedites */
static void kstub_put_expedited(struct kstub_session *s)
{
	const int *regno = s->target->expedite;
	u8 val[KSTUB_REG_MAX];
	bool avail;
	int n;

	for (; regno && *regno >= 0; regno++) {
		avail = true;
		n = s->target->reg_get(s->ctx, s->stop_tid, *regno, val, &avail);
		if (n <= 0 || !avail)
			continue;
		kstub_put_hex(s, *regno);
		kstub_put_char(s, ':');
		kstub_put_hexbytes(s, val, n);
		kstub_put_char(s, ';');
	}
}

static void kstub_put_stop(struct kstub_session *s)
{
	u8 sig = s->signal;
	int core = s->target->thread_core(s->ctx, s->stop_tid);

	kstub_put_char(s, 'T');
	kstub_put_hexbytes(s, &sig, 1);
	kstub_put_str(s, "thread:");
	kstub_put_hex(s, s->stop_tid);
	kstub_put_char(s, ';');
	if (core >= 0) {
		kstub_put_str(s, "core:");
		kstub_put_hex(s, core);
		kstub_put_char(s, ';');
	}
	if (s->stop_flags & KSTUB_STOP_SWBREAK)
		kstub_put_str(s, "swbreak:;");
	if (s->stop_flags & KSTUB_STOP_HWBREAK)
		kstub_put_str(s, "hwbreak:;");
	if (s->stop_flags & KSTUB_STOP_ANY_WATCH) {
		kstub_put_str(s, s->stop_flags & KSTUB_STOP_WATCH ? "watch:" :
			      s->stop_flags & KSTUB_STOP_RWATCH ? "rwatch:" : "awatch:");
		kstub_put_hex(s, s->stop_data);
		kstub_put_char(s, ';');
	}
	if (s->stop_flags & KSTUB_STOP_LIBRARY)
		kstub_put_str(s, "library:;");
	kstub_put_expedited(s);
}

static int kstub_reg_tid(struct kstub_session *s)
{
	return s->g_tid > 0 ? s->g_tid : s->stop_tid;
}

/* ---- handlers ---- */

/*
 * A handler puts its reply and returns what the session does next (an
 * enum kstub_action), or a negative errno: the dispatcher then replies
 * E<errno> instead.
 */
typedef int (*kstub_cmd_fn)(struct kstub_session *s, struct kstub_cur *c);

/* ? -> T<sig>thread:<tid>;core:<n>; */
static int kstub_cmd_why(struct kstub_session *s, struct kstub_cur *c)
{
	/* a GDB that connects reads the thread list twice before its prompt */
	s->short_lists = 2;
	kstub_put_stop(s);
	return KSTUB_STAY;
}

/* g -> hex of every register, 'x' for registers with no value */
static int kstub_cmd_read_regs(struct kstub_session *s, struct kstub_cur *c)
{
	u8 val[KSTUB_REG_MAX];
	bool avail;
	int regno, n;

	for (regno = 0; ; regno++) {
		avail = true;
		n = s->target->reg_get(s->ctx, kstub_reg_tid(s), regno, val, &avail);
		if (n <= 0)
			break;
		if (avail) {
			kstub_put_hexbytes(s, val, n);
			continue;
		}
		while (n--)
			kstub_put_str(s, "xx");
	}
	return n < 0 ? n : KSTUB_STAY;
}

/* G<hex> -> OK; registers whose value does not change are not written */
static int kstub_cmd_write_regs(struct kstub_session *s, struct kstub_cur *c)
{
	u8 old[KSTUB_REG_MAX], val[KSTUB_REG_MAX];
	struct kstub_cur one;
	int tid = kstub_reg_tid(s), regno, n, ret;
	bool avail;

	for (regno = 0; !kstub_cur_done(c); regno++) {
		n = s->target->reg_get(s->ctx, tid, regno, old, &avail);
		if (n <= 0 || c->end - c->p < 2 * n)
			break;
		one.p = c->p;
		one.end = c->p + 2 * n;
		c->p = one.end;
		if (!kstub_cur_hexbytes(&one, val, n))
			continue;	/* 'x' marks a register GDB has no value for */
		if (avail && !memcmp(old, val, n))
			continue;
		ret = s->target->reg_set(s->ctx, tid, regno, val);
		if (ret)
			return ret;
	}
	kstub_put_ok(s);
	return KSTUB_STAY;
}

/* p<regno> -> hex value */
static int kstub_cmd_read_reg(struct kstub_session *s, struct kstub_cur *c)
{
	u8 val[KSTUB_REG_MAX];
	bool avail = true;
	u64 regno;
	int n;

	if (!kstub_cur_hex(c, &regno) || !kstub_cur_done(c) || regno > 0xffff)
		return -EINVAL;
	n = s->target->reg_get(s->ctx, kstub_reg_tid(s), regno, val, &avail);
	if (n <= 0)
		return n ? n : -EINVAL;
	if (avail) {
		kstub_put_hexbytes(s, val, n);
		return KSTUB_STAY;
	}
	while (n--)
		kstub_put_str(s, "xx");
	return KSTUB_STAY;
}

/* P<regno>=<hex> -> OK */
static int kstub_cmd_write_reg(struct kstub_session *s, struct kstub_cur *c)
{
	u8 val[KSTUB_REG_MAX];
	bool avail;
	u64 regno;
	int n, ret;

	if (!kstub_cur_hex(c, &regno) || !kstub_cur_char(c, '=') || regno > 0xffff)
		return -EINVAL;
	n = s->target->reg_get(s->ctx, kstub_reg_tid(s), regno, val, &avail);
	if (n <= 0 || !kstub_cur_hexbytes(c, val, n))
		return -EINVAL;
	ret = s->target->reg_set(s->ctx, kstub_reg_tid(s), regno, val);
	return kstub_ok_or_err(s, ret);
}

/*
 * Read as much of [addr, addr+len) as is mapped, a page at a time, so a
 * read that runs off the end of a mapping returns its readable prefix.
 */
static size_t kstub_read_prefix(struct kstub_session *s, u64 addr, size_t len)
{
	const u64 page = 4096;
	size_t done = 0, n;

	while (done < len) {
		n = kstub_min(len - done, page - ((addr + done) & (page - 1)));
		if (s->target->read_mem(s->ctx, addr + done, s->scratch + done, n))
			break;
		done += n;
	}
	if (s->bps)
		kstub_bp_shadow(s->bps, addr, s->scratch, done);
	return done;
}

/* m<addr>,<len> -> hex bytes, or E0e if the first byte is unreadable */
static int kstub_cmd_read_mem(struct kstub_session *s, struct kstub_cur *c)
{
	u64 addr, len;
	size_t got;

	if (!kstub_cur_range(c, &addr, &len, KSTUB_REPLY_CAP / 2) ||
	    !kstub_cur_done(c) || addr + len < addr)
		return -EINVAL;
	got = kstub_read_prefix(s, addr, len);
	if (!got && len)
		return -EFAULT;
	/* framed straight from the bytes read, the bulk of any session */
	s->reply_bin = s->scratch;
	s->reply_bin_len = got;
	return KSTUB_STAY;
}

static int kstub_write_reply(struct kstub_session *s, u64 addr,
			     const u8 *buf, size_t len)
{
	int ret = len ? s->target->write_mem(s->ctx, addr, buf, len) : 0;

	return kstub_ok_or_err(s, ret);
}

/* M<addr>,<len>:<hex> -> OK */
static int kstub_cmd_write_mem(struct kstub_session *s, struct kstub_cur *c)
{
	u64 addr, len;

	if (!kstub_cur_range(c, &addr, &len, KSTUB_SCRATCH_CAP) ||
	    !kstub_cur_char(c, ':') || !kstub_cur_hexbytes(c, s->scratch, len))
		return -EINVAL;
	return kstub_write_reply(s, addr, s->scratch, len);
}

/* X<addr>,<len>:<binary> -> OK; the framing already removed the escapes */
static int kstub_cmd_write_bin(struct kstub_session *s, struct kstub_cur *c)
{
	u64 addr, len;

	if (!kstub_cur_range(c, &addr, &len, KSTUB_PACKET_SIZE) ||
	    !kstub_cur_char(c, ':') || (u64)(c->end - c->p) != len)
		return -EINVAL;
	return kstub_write_reply(s, addr, c->p, len);
}

/* c[addr], s[addr], C<sig>[;addr], S<sig>[;addr]: no reply until the stop */
static int kstub_cmd_continue(struct kstub_session *s, struct kstub_cur *c)
{
	return KSTUB_CONTINUE;
}

static int kstub_cmd_step(struct kstub_session *s, struct kstub_cur *c)
{
	return KSTUB_STEP;
}

/* vCont? -> the actions we take */
static int kstub_cmd_vcont_query(struct kstub_session *s, struct kstub_cur *c)
{
	kstub_put_str(s, "vCont;c;C;s;S");
	return KSTUB_STAY;
}

/*
 * vCont;<action>[:tid];... -> the stopped thread steps if any action
 * steps it (or steps every thread); everything else continues.
 */
static int kstub_cmd_vcont(struct kstub_session *s, struct kstub_cur *c)
{
	enum kstub_action act = KSTUB_CONTINUE;
	bool step;
	int tid;
	u64 sig;

	while (kstub_cur_char(c, ';')) {
		if (kstub_cur_char(c, 's'))
			step = true;
		else if (kstub_cur_char(c, 'S') && kstub_cur_hex(c, &sig))
			step = true;
		else if (kstub_cur_char(c, 'c'))
			step = false;
		else if (kstub_cur_char(c, 'C') && kstub_cur_hex(c, &sig))
			step = false;
		else
			goto bad;
		tid = -1;
		if (kstub_cur_char(c, ':') && !kstub_cur_thread(c, &tid))
			goto bad;
		if (step && (tid == -1 || tid == s->stop_tid))
			act = KSTUB_STEP;
	}
	if (kstub_cur_done(c))
		return act;
bad:
	return -EINVAL;
}

/*
 * Z<type>,<addr>,<kind> / z<type>,<addr>,<kind> -> OK. Type 0 is a
 * software breakpoint, 1-4 the target's hardware (enum kstub_hw_type),
 * where <kind> is the watched length. A type the target has none of gets
 * the empty reply: GDB then knows it is not supported.
 */
static bool kstub_cur_bp(struct kstub_cur *c, u64 *type, u64 *addr, u64 *kind)
{
	return kstub_cur_hex(c, type) && kstub_cur_char(c, ',') &&
	       kstub_cur_hex(c, addr) && kstub_cur_char(c, ',') &&
	       kstub_cur_hex(c, kind);
}

static int kstub_cmd_bp(struct kstub_session *s, struct kstub_cur *c, bool insert)
{
	u64 type, addr, kind;
	int ret;

	if (!kstub_cur_bp(c, &type, &addr, &kind))
		return -EINVAL;
	if (type == 0)
		ret = insert ? kstub_bp_set(s->bps, addr) : kstub_bp_clear(s->bps, addr);
	else if (type > KSTUB_HW_ACCESS || !s->target->hw_insert)
		return KSTUB_STAY;
	else if (insert)
		ret = s->target->hw_insert(s->ctx, type, addr, kind);
	else
		ret = s->target->hw_remove(s->ctx, type, addr, kind);
	if (ret == -EOPNOTSUPP)
		return KSTUB_STAY;
	/* removing one that is not there is what GDB wanted anyway */
	return kstub_ok_or_err(s, ret == -ENOENT && !insert ? 0 : ret);
}

static int kstub_cmd_bp_insert(struct kstub_session *s, struct kstub_cur *c)
{
	return kstub_cmd_bp(s, c, true);
}

static int kstub_cmd_bp_remove(struct kstub_session *s, struct kstub_cur *c)
{
	return kstub_cmd_bp(s, c, false);
}

/* every breakpoint and watchpoint goes: GDB detached, or a new one came */
static void kstub_clear_all(struct kstub_session *s)
{
	kstub_bp_clear_all(s->bps);
	if (s->target->hw_clear)
		s->target->hw_clear(s->ctx);
}

/*
 * The thread list. GDB reads it whole at every stop it shows the user
 * (GDB 13's normal_stop()), and forgets every thread the list leaves out:
 * with a thousand tasks that is some 50 KB a stop, seconds on a serial
 * line. So the first read after a stop (the first two after '?') gets the
 * short list: the threads that were on a CPU, the one that stopped, and
 * those GDB selected lately. A read after those in the same stop comes
 * from a command (info threads, thread apply, thread find) and gets every
 * thread. "monitor threads all" makes every list the whole one.
 */
static bool kstub_list_begin(struct kstub_session *s)
{
	bool short_list = s->short_lists > 0 && !s->threads_all && s->target->thread_on_cpu;

	if (s->short_lists > 0)
		s->short_lists--;
	return short_list;
}

/* Whether the list being read holds @tid. */
static bool kstub_listed(struct kstub_session *s, int tid)
{
	int i;

	if (!s->list_short || tid == s->stop_tid || tid == s->g_tid ||
	    s->target->thread_on_cpu(s->ctx, tid))
		return true;
	for (i = 0; i < KSTUB_PICKED; i++)
		if (s->picked[i] == tid)
			return true;
	return false;
}

/* GDB selected @tid (thread N): it stays in the short list. */
static void kstub_pick(struct kstub_session *s, int tid)
{
	int i;

	for (i = 0; i < KSTUB_PICKED; i++)
		if (s->picked[i] == tid)
			return;
	s->picked[s->picked_next++ % KSTUB_PICKED] = tid;
}

/* Hg<tid> / Hc<tid> -> OK */
static int kstub_cmd_set_thread(struct kstub_session *s, struct kstub_cur *c)
{
	bool regs = kstub_cur_char(c, 'g');
	int tid;

	if ((!regs && !kstub_cur_char(c, 'c')) || !kstub_cur_thread(c, &tid) ||
	    !kstub_cur_done(c))
		return -EINVAL;
	if (tid > 0 && !s->target->thread_alive(s->ctx, tid))
		return -ESRCH;
	if (regs)
		s->g_tid = tid;
	kstub_put_ok(s);
	return KSTUB_STAY;
}

/* T<tid> -> OK if alive */
static int kstub_cmd_thread_alive(struct kstub_session *s, struct kstub_cur *c)
{
	int tid;

	if (!kstub_cur_thread(c, &tid) || !kstub_cur_done(c) || tid <= 0 ||
	    !s->target->thread_alive(s->ctx, tid))
		return -ESRCH;
	/* GDB asks before it selects a thread: the user's "thread N" */
	kstub_pick(s, tid);
	kstub_put_ok(s);
	return KSTUB_STAY;
}

/* qC -> QC<tid> */
static int kstub_cmd_current_thread(struct kstub_session *s, struct kstub_cur *c)
{
	kstub_put_str(s, "QC");
	kstub_put_hex(s, s->stop_tid);
	return KSTUB_STAY;
}

/* qsThreadInfo -> m<tid>,<tid>... or l when the walk is over */
static int kstub_cmd_thread_next(struct kstub_session *s, struct kstub_cur *c)
{
	const size_t room = KSTUB_REPLY_CAP - 20;	/* one more id must fit */
	char sep = 'm';
	int tid;

	while (s->reply_len < room) {
		tid = s->target->thread_next(s->ctx, s->thread_iter);
		if (!tid)
			break;
		s->thread_iter = tid;
		if (!kstub_listed(s, tid))
			continue;
		kstub_put_char(s, sep);
		kstub_put_hex(s, tid);
		sep = ',';
	}
	if (!s->reply_len)
		kstub_put_char(s, 'l');
	return KSTUB_STAY;
}

/* qfThreadInfo -> the first part of the thread list */
static int kstub_cmd_thread_first(struct kstub_session *s, struct kstub_cur *c)
{
	s->thread_iter = 0;
	s->list_short = kstub_list_begin(s);
	return kstub_cmd_thread_next(s, c);
}

/* qThreadExtraInfo,<tid> -> hex of a description */
static int kstub_cmd_thread_extra(struct kstub_session *s, struct kstub_cur *c)
{
	char *text = (char *)s->scratch;
	int tid;

	if (!kstub_cur_thread(c, &tid) || tid <= 0 ||
	    !s->target->thread_alive(s->ctx, tid))
		return -ESRCH;
	text[0] = '\0';
	s->target->thread_extra(s->ctx, tid, text, 256);
	text[255] = '\0';
	kstub_put_hexbytes(s, (const u8 *)text, strlen(text));
	return KSTUB_STAY;
}

/* qAttached -> 1: detaching must leave the kernel running */
static int kstub_cmd_attached(struct kstub_session *s, struct kstub_cur *c)
{
	kstub_put_char(s, '1');
	return KSTUB_STAY;
}

/* qOffsets -> TextSeg=<where the image starts> (KASLR) */
static int kstub_cmd_offsets(struct kstub_session *s, struct kstub_cur *c)
{
	/*
	 * KASLR moves the whole image: GDB moves every segment with the
	 * first one (Text= would move only .text, .data and .bss).
	 */
	kstub_put_str(s, "TextSeg=");
	kstub_put_hex(s, s->target->image_base(s->ctx));
	return KSTUB_STAY;
}

/* qSupported[:features] -> what we offer */
static int kstub_cmd_supported(struct kstub_session *s, struct kstub_cur *c)
{
	kstub_put_str(s, "PacketSize=");
	kstub_put_hex(s, KSTUB_PACKET_SIZE);
	kstub_put_str(s, ";qXfer:features:read+;qXfer:threads:read+;swbreak+;vContSupported+");
	if (s->target->hw_insert)
		kstub_put_str(s, ";hwbreak+");
	if (s->target->library)
		kstub_put_str(s, ";qXfer:libraries:read+");
	if (s->reliable)
		kstub_put_str(s, ";QStartNoAckMode+");
	return KSTUB_STAY;
}

/*
 * The thread list as XML, generated afresh for each window GDB asks for:
 * nothing is kept between packets, and the list cannot change while the
 * target is stopped.
 */
struct kstub_window {
	struct kstub_session *s;
	u64 pos, off, end;
};

/* The part of @str that falls in the window, in one piece. */
static void kstub_win_put(struct kstub_window *w, const char *str, size_t n)
{
	u64 from = w->pos > w->off ? w->pos : w->off;
	u64 to = w->pos + n < w->end ? w->pos + n : w->end;

	if (from < to)
		kstub_put(w->s, str + (from - w->pos), to - from);
	w->pos += n;
}

static void kstub_win_str(struct kstub_window *w, const char *str)
{
	kstub_win_put(w, str, strlen(str));
}

/*
 * @str with XML's special characters as entities, and what GDB's XML
 * parser or the framing would stumble on as '?'. Runs of plain characters
 * go out whole: a thread list is built again for every window GDB reads.
 */
static void kstub_win_text(struct kstub_window *w, const char *str)
{
	const char *run = str, *ent;

	for (;; str++) {
		switch (*str) {
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '&':
			ent = "&amp;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\0':
			ent = "";
			break;
		default:
			if ((u8)*str >= 0x20 && (u8)*str < 0x7f && *str != '*')
				continue;
			ent = "?";
		}
		kstub_win_put(w, run, str - run);
		if (!*str)
			return;
		kstub_win_str(w, ent);
		run = str + 1;
	}
}

static void kstub_win_num(struct kstub_window *w, u64 v, unsigned int base)
{
	char buf[KSTUB_NUM_MAX];

	kstub_win_put(w, buf, kstub_fmt_num(buf, v, base));
}

/*
 * <off>,<len> of a qXfer read: what the window lets through. The reply
 * starts 'l' (the last part); kstub_win_end() makes it 'm' if more follows.
 */
static int kstub_win_begin(struct kstub_window *w, struct kstub_session *s,
			   struct kstub_cur *c)
{
	u64 off, len;

	if (!kstub_cur_range(c, &off, &len, ~0ULL) || !kstub_cur_done(c))
		return -EINVAL;
	w->s = s;
	w->pos = 0;
	w->off = off;
	w->end = off + kstub_min(len, KSTUB_REPLY_CAP - 1);
	if (w->end < off)
		w->end = ~0ULL;
	kstub_put_char(s, 'l');
	return 0;
}

static int kstub_win_end(struct kstub_window *w)
{
	if (w->pos > w->end)
		w->s->reply[0] = 'm';
	return KSTUB_STAY;
}

/* qXfer:features:read:target.xml:<off>,<len> -> m<data> or l<data> */
static int kstub_cmd_features(struct kstub_session *s, struct kstub_cur *c)
{
	const char *xml = s->target->target_xml;
	const char *annex = "target.xml:";
	struct kstub_window w;
	int ret;

	if ((size_t)(c->end - c->p) < strlen(annex) ||
	    memcmp(c->p, annex, strlen(annex)))
		return -ENOENT;
	c->p += strlen(annex);
	ret = kstub_win_begin(&w, s, c);
	if (ret)
		return ret;
	kstub_win_put(&w, xml, strlen(xml));
	return kstub_win_end(&w);
}

/* qXfer:threads:read::<off>,<len> -> m<xml> or l<xml> */
static int kstub_cmd_threads(struct kstub_session *s, struct kstub_cur *c)
{
	char *text = (char *)s->scratch;
	struct kstub_window w;
	int tid, core, ret;

	if (!kstub_cur_char(c, ':'))
		return -EINVAL;
	ret = kstub_win_begin(&w, s, c);
	if (ret)
		return ret;
	if (!w.off)
		s->list_short = kstub_list_begin(s);
	/*
	 * No newline, and no '*' (escaped, it becomes one): serial core's
	 * polling hooks, under tty=, send '\n' as "\r\n".
	 */
	kstub_win_str(&w, "<?xml version=\"1.0\"?><threads>");
	for (tid = s->target->thread_next(s->ctx, 0); tid && w.pos <= w.end;
	     tid = s->target->thread_next(s->ctx, tid)) {
		if (!kstub_listed(s, tid))
			continue;
		kstub_win_str(&w, "<thread id=\"");
		kstub_win_num(&w, tid, 16);
		core = s->target->thread_core(s->ctx, tid);
		if (core >= 0) {
			kstub_win_str(&w, "\" core=\"");
			kstub_win_num(&w, core, 10);
		}
		kstub_win_str(&w, "\" name=\"");
		text[0] = 0;
		if (s->target->thread_name)
			s->target->thread_name(s->ctx, tid, text, KSTUB_SCRATCH_CAP);
		kstub_win_text(&w, text);
		kstub_win_str(&w, "\">");
		text[0] = 0;
		s->target->thread_extra(s->ctx, tid, text, KSTUB_SCRATCH_CAP);
		kstub_win_text(&w, text);
		kstub_win_str(&w, "</thread>");
	}
	kstub_win_str(&w, "</threads>");
	return kstub_win_end(&w);
}

/*
 * qXfer:libraries:read::<off>,<len> -> m<xml> or l<xml>: each loaded
 * object with one base per allocated section, as GDB relocates a
 * relocatable file (a .ko has no segments to give one offset for).
 */
static int kstub_cmd_libraries(struct kstub_session *s, struct kstub_cur *c)
{
	struct kstub_window w;
	const u64 *bases;
	const char *name;
	unsigned int i;
	int n, k, ret;

	if (!s->target->library)
		return KSTUB_STAY;	/* empty: not supported */
	if (!kstub_cur_char(c, ':'))
		return -EINVAL;
	ret = kstub_win_begin(&w, s, c);
	if (ret)
		return ret;
	kstub_win_str(&w, "<library-list>");
	for (i = 0; w.pos <= w.end; i++) {
		n = s->target->library(s->ctx, i, &name, &bases);
		if (n < 0)
			break;
		kstub_win_str(&w, "<library name=\"");
		kstub_win_text(&w, name);
		kstub_win_str(&w, "\">");
		for (k = 0; k < n; k++) {
			kstub_win_str(&w, "<section address=\"0x");
			kstub_win_num(&w, bases[k], 16);
			kstub_win_str(&w, "\"/>");
		}
		kstub_win_str(&w, "</library>");
	}
	kstub_win_str(&w, "</library-list>");
	return kstub_win_end(&w);
}

void kstub_write_output(kstub_write_fn write, void *io, const char *text,
			size_t len, u8 *frame, size_t cap)
{
	size_t taken, n;

	while (len) {
		n = kstub_frame_output((const u8 *)text, len, &taken, frame, cap);
		write(io, frame, n);
		text += taken;
		len -= taken;
	}
}

void kstub_session_output(struct kstub_session *s, const char *text,
			  size_t len)
{
	kstub_write_output(s->write, s->io, text, len, s->frame, KSTUB_FRAME_CAP);
	s->frame_len = 0;	/* a NAK resends replies, not output */
}

/* qRcmd,<hex of the command> -> its output as O packets, then OK */
static int kstub_cmd_monitor(struct kstub_session *s, struct kstub_cur *c)
{
	size_t n = (c->end - c->p) / 2;
	char *cmd = (char *)s->scratch;
	int ret;

	if (!s->target->monitor)
		return KSTUB_STAY;	/* empty: not supported */
	if (n >= KSTUB_SCRATCH_CAP || !kstub_cur_hexbytes(c, (u8 *)cmd, n))
		return -EINVAL;
	cmd[n] = 0;
	ret = s->target->monitor(s->ctx, cmd, s);
	if (ret == -ENOENT) {
		static const char unknown[] = "unknown command; monitor help lists them\n";

		/*
		 * and an error: the kernel's GDB scripts take any answer to
		 * "monitor info version" for QEMU's gdbstub
		 */
		kstub_session_output(s, unknown, sizeof(unknown) - 1);
	}
	return kstub_ok_or_err(s, ret);
}

/* QStartNoAckMode -> OK, and no acks from the next packet on */
static int kstub_cmd_no_ack(struct kstub_session *s, struct kstub_cur *c)
{
	kstub_put_ok(s);
	return KSTUB_STAY;
}

/* D[;pid] -> OK; every breakpoint goes and the kernel runs on */
static int kstub_cmd_detach(struct kstub_session *s, struct kstub_cur *c)
{
	kstub_clear_all(s);
	kstub_put_ok(s);
	return KSTUB_DETACH;
}

/* k -> no reply; a kernel is not killed, it is let go like D */
static int kstub_cmd_kill(struct kstub_session *s, struct kstub_cur *c)
{
	kstub_clear_all(s);
	s->silent = true;
	return KSTUB_DETACH;
}

struct kstub_cmd {
	const char *name;	/* prefix of the packet */
	bool exact;		/* the whole packet must equal @name */
	kstub_cmd_fn fn;
};

/* First match wins: longer names sharing a prefix come first. */
static const struct kstub_cmd kstub_cmds[] = {
	{ "?", true, kstub_cmd_why },
	{ "g", true, kstub_cmd_read_regs },
	{ "G", false, kstub_cmd_write_regs },
	{ "p", false, kstub_cmd_read_reg },
	{ "P", false, kstub_cmd_write_reg },
	{ "m", false, kstub_cmd_read_mem },
	{ "M", false, kstub_cmd_write_mem },
	{ "X", false, kstub_cmd_write_bin },
	{ "c", false, kstub_cmd_continue },
	{ "C", false, kstub_cmd_continue },
	{ "s", false, kstub_cmd_step },
	{ "S", false, kstub_cmd_step },
	{ "vCont?", true, kstub_cmd_vcont_query },
	{ "vCont", false, kstub_cmd_vcont },
	{ "Z", false, kstub_cmd_bp_insert },
	{ "z", false, kstub_cmd_bp_remove },
	{ "H", false, kstub_cmd_set_thread },
	{ "T", false, kstub_cmd_thread_alive },
	{ "qC", true, kstub_cmd_current_thread },
	{ "qfThreadInfo", true, kstub_cmd_thread_first },
	{ "qsThreadInfo", true, kstub_cmd_thread_next },
	{ "qThreadExtraInfo,", false, kstub_cmd_thread_extra },
	{ "qAttached", false, kstub_cmd_attached },
	{ "qOffsets", true, kstub_cmd_offsets },
	{ "qSupported", false, kstub_cmd_supported },
	{ "qXfer:features:read:", false, kstub_cmd_features },
	{ "qXfer:threads:read:", false, kstub_cmd_threads },
	{ "qXfer:libraries:read:", false, kstub_cmd_libraries },
	{ "qRcmd,", false, kstub_cmd_monitor },
	{ "QStartNoAckMode", true, kstub_cmd_no_ack },
	{ "D", false, kstub_cmd_detach },
	{ "k", true, kstub_cmd_kill },
};

static const struct kstub_cmd *kstub_cmd_find(const u8 *pkt, size_t len)
{
	const struct kstub_cmd *cmd;
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(kstub_cmds); i++) {
		cmd = &kstub_cmds[i];
		n = strlen(cmd->name);
		if (len < n || memcmp(pkt, cmd->name, n))
			continue;
		if (cmd->exact && len != n)
			continue;
		return cmd;
	}
	return NULL;
}

/* ---- the session ---- */

void kstub_session_init(struct kstub_session *s, struct kstub_buffers *b)
{
	kstub_rx_init(&s->rx, b->rx, sizeof(b->rx));
	s->reply = b->reply;
	s->frame = b->frame;
	s->scratch = b->scratch;
	s->reply_len = 0;
	s->reply_bin = NULL;
	s->frame_len = 0;
	s->connected = false;
	s->no_ack = false;
	s->g_tid = 0;
	s->thread_iter = 0;
	s->threads_all = false;
	s->short_lists = 0;
	s->list_short = false;
	memset(s->picked, 0, sizeof(s->picked));
	s->picked_next = 0;
}

static void kstub_send_reply(struct kstub_session *s)
{
	if (s->reply_full)
		kstub_put_err(s, -ENOSPC);
	if (s->reply_bin)
		s->frame_len = kstub_frame_hex(s->reply_bin, s->reply_bin_len,
					       s->frame, KSTUB_FRAME_CAP, true);
	else
		s->frame_len = kstub_frame(s->reply, s->reply_len, s->frame,
					   KSTUB_FRAME_CAP, true);
	s->write(s->io, s->frame, s->frame_len);
}

static void kstub_reply_begin(struct kstub_session *s)
{
	s->reply_len = 0;
	s->reply_full = false;
	s->reply_bin = NULL;
	s->silent = false;
}

/* Called on every entry: tell an attached GDB why we stopped. */
void kstub_session_stop(struct kstub_session *s, int tid, int signal,
			unsigned int flags, u64 data)
{
	/*
	 * Any stop answers GDB's Ctrl-C; a step's (a SIGTRAP) says it is
	 * the interrupt GDB asked for. A fault keeps its own signal, and a
	 * watchpoint its report (GDB would not see the access again).
	 */
	if (s->interrupt && signal == KSTUB_SIGTRAP && !(flags & KSTUB_STOP_ANY_WATCH)) {
		signal = KSTUB_SIGINT;
		flags &= ~KSTUB_STOP_CAUSE;
	}
	s->interrupt = false;
	s->stop_tid = tid;
	s->signal = signal;
	s->stop_flags = flags;
	s->stop_data = data;
	s->g_tid = 0;
	s->short_lists = 1;
	if (!s->connected)
		return;	/* GDB asks with '?' when it attaches */
	kstub_reply_begin(s);
	kstub_put_stop(s);
	kstub_send_reply(s);
}

enum kstub_action kstub_session_handle(struct kstub_session *s,
				       const u8 *pkt, size_t len)
{
	const struct kstub_cmd *cmd = kstub_cmd_find(pkt, len);
	enum kstub_action act = KSTUB_STAY;
	struct kstub_cur c;
	int ret;

	kstub_reply_begin(s);
	s->connected = true;
	if (cmd) {
		c.p = pkt + strlen(cmd->name);
		c.end = pkt + len;
		ret = cmd->fn(s, &c);
		if (ret < 0)
			kstub_put_err(s, ret);
		else
			act = ret;
	}
	/*
	 * GDB's Ctrl-C came while the kernel was stopped (between the
	 * packets of a step over a breakpoint, say): GDB waits for the
	 * stop it asked for, and sends it only once. The kernel stops
	 * again at once, as if it had run for an instant.
	 */
	if (act == KSTUB_CONTINUE && s->interrupt) {
		s->interrupt = false;
		s->signal = KSTUB_SIGINT;
		s->stop_flags = 0;
		kstub_put_stop(s);
		act = KSTUB_STAY;
	}
	if (act == KSTUB_CONTINUE || act == KSTUB_STEP)
		return act;
	if (!s->silent)
		kstub_send_reply(s);
	if (cmd && cmd->fn == kstub_cmd_no_ack)
		s->no_ack = true;
	/* D, or k (silent): the next GDB starts afresh */
	if (act == KSTUB_DETACH) {
		s->ack_due = !s->no_ack && !s->silent;
		s->connected = false;
		s->no_ack = false;
		s->interrupt = false;
	}
	return act;
}

static const u8 kstub_ack = '+';
static const u8 kstub_nak = '-';

/*
 * A GDB that starts talking to us is in ack mode whatever the last one
 * agreed to, and qSupported is the first thing it sends; a GDB already in
 * no-ack mode never sends it again.
 */
static bool kstub_new_gdb(const struct kstub_rx *rx)
{
	static const char first[] = "qSupported";

	return rx->len >= sizeof(first) - 1 &&
	       !memcmp(rx->buf, first, sizeof(first) - 1);
}

void kstub_session_new_client(struct kstub_session *s)
{
	s->connected = false;
	s->no_ack = false;
	s->interrupt = false;
	memset(s->picked, 0, sizeof(s->picked));
}

void kstub_session_end(struct kstub_session *s)
{
	if (s->connected) {
		kstub_reply_begin(s);
		kstub_put_str(s, "W00");
		kstub_send_reply(s);
	}
	kstub_session_new_client(s);
}

enum kstub_action kstub_session_feed(struct kstub_session *s, u8 c)
{
	switch (kstub_rx_feed(&s->rx, c)) {
	case KSTUB_RX_PACKET:
		/*
		 * A new GDB knows nothing of the last one's breakpoints (that
		 * one may have died without detaching): they go, as kgdb's go
		 * at a new session. GDB inserts its own before it resumes.
		 */
		if (kstub_new_gdb(&s->rx)) {
			s->no_ack = false;
			/* the last one's Ctrl-C, or a byte of noise's */
			s->interrupt = false;
			kstub_clear_all(s);
		}
		if (!s->no_ack)
			s->write(s->io, &kstub_ack, 1);
		return kstub_session_handle(s, s->rx.buf, s->rx.len);
	case KSTUB_RX_OVERFLOW:
		if (!s->no_ack)
			s->write(s->io, &kstub_ack, 1);
		kstub_reply_begin(s);
		kstub_put_err(s, -EMSGSIZE);
		kstub_send_reply(s);
		return KSTUB_STAY;
	case KSTUB_RX_BAD_CSUM:
		if (!s->no_ack)
			s->write(s->io, &kstub_nak, 1);
		return KSTUB_STAY;
	case KSTUB_RX_NAK:
		if (!s->no_ack && s->frame_len)
			s->write(s->io, s->frame, s->frame_len);
		return KSTUB_STAY;
	case KSTUB_RX_INTERRUPT:
		s->interrupt = s->connected;
		return KSTUB_STAY;
	default:
		/* acks need nothing */
		return KSTUB_STAY;
	}
}
