// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for kstub's command layer (stub/rsp.c, stub/bp.c)
 * against a hostile target: hundreds of threads whose names and
 * descriptions are full of what XML and the framing must escape, a wide
 * and ragged register set, a long module list, a long target description,
 * monitor output larger than a packet, memory that faults, text that
 * cannot be patched.
 *
 * Input: the first byte picks a big target or a small one (bits 1 and 2
 * both set: big) and whether every thread list is whole (bit 3), and a raw byte
 * stream (framing errors, acks, Ctrl-C, overflow) or a list of packets,
 * one per line, that the harness
 * frames with a good checksum so that the commands themselves are reached.
 * Resumes are answered with a new stop, so resume/stop cycles are fuzzed
 * too. Everything kstub writes must be '+', '-' or frames GDB reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include "rsp.h"
#include "gdb_read.h"

#define MEM_BASE	0xffffffff81000000ULL
enum {
	MEM_SIZE = 0x10000,
	RO_SIZE = 0x100,	/* the first bytes: read-only */
	GONE_SIZE = 0x100,	/* the last bytes: text that has gone */
	NTHREADS = 300,		/* a big target's; a small one has 12 */
	TID_STEP = 37,		/* thread ids are sparse: 1, 38, 75, ... */
	NREGS = 90,
	NLIBS = 200,		/* likewise; a small one has 8 */
	OUT_CAP = 1 << 22,
};

static u8 mem[MEM_SIZE];
static u8 pristine[MEM_SIZE];	/* what each input starts from */
/* this input's target: big (every thread and module) or small */
static int nthreads, nlibs;
static u8 out[OUT_CAP];
static size_t out_len;
static bool out_full;
/* longer than a qXfer window GDB asks for, cheap to serve */
static char target_xml[8 * 1024];
static u64 lib_bases[64];
static const u8 bp_insn[] = { 0xcc };
static const int expedite[] = { 0, 5, NREGS - 1, NREGS + 10, -1 };

/* what escaping must survive, in names, descriptions and file names */
static const char nasty[] = "<&*}#$\"'>]]>\x01\x7f\xff%s%n{}";

static bool in_mem(u64 a, size_t n)
{
	return a >= MEM_BASE && n <= MEM_SIZE && a - MEM_BASE <= MEM_SIZE - n;
}

static int t_read(void *ctx, u64 a, u8 *b, size_t n)
{
	if (!in_mem(a, n))
		return -EFAULT;
	memcpy(b, &mem[a - MEM_BASE], n);
	return 0;
}

static int t_write(void *ctx, u64 a, const u8 *b, size_t n)
{
	if (!in_mem(a, n))
		return -EFAULT;
	if (a - MEM_BASE < RO_SIZE)
		return -EPERM;
	memcpy(&mem[a - MEM_BASE], b, n);
	return 0;
}

static bool t_alive(void *ctx, int tid)
{
	return tid > 0 && (tid - 1) % TID_STEP == 0 && (tid - 1) / TID_STEP < nthreads;
}

static int t_reg_get(void *ctx, int tid, int regno, u8 *val, bool *avail)
{
	int size, i;

	if (regno < 0 || regno >= NREGS)
		return 0;
	size = 1 + (regno * 7) % KSTUB_REG_MAX;
	for (i = 0; i < size; i++)
		val[i] = (u8)(tid * 31 + regno * 7 + i);
	*avail = regno % 5 != 3;
	return size;
}

static int t_reg_set(void *ctx, int tid, int regno, const u8 *val)
{
	return regno >= 0 && regno < NREGS && regno % 11 ? 0 : -EINVAL;
}

static int t_thread_next(void *ctx, int tid)
{
	if (tid <= 0)
		return 1;
	return t_alive(ctx, tid + TID_STEP) ? tid + TID_STEP : 0;
}

/* @cap - 1 characters of @nasty, from a place that depends on @tid */
static void t_fill(int tid, char *buf, size_t cap, size_t want)
{
	size_t i, n = want < cap ? want : cap - 1;

	for (i = 0; i < n; i++)
		buf[i] = nasty[(tid + i) % (sizeof(nasty) - 1)];
	buf[n] = '\0';
}

/*
 * Most are short, as a task's are; in the big target now and then one
 * fills all the room it is given.
 */
static bool t_long(int tid)
{
	return tid > 12 * TID_STEP && tid % 53 == 7;
}

static void t_extra(void *ctx, int tid, char *buf, size_t cap)
{
	t_fill(tid, buf, cap, t_long(tid) ? cap : 12 + (size_t)tid % 20);
}

static void t_name(void *ctx, int tid, char *buf, size_t cap)
{
	t_fill(tid + 1, buf, cap, t_long(tid + 1) ? cap : (size_t)tid % 16);
}

static int t_core(void *ctx, int tid)
{
	return tid % 3 - 1;
}

/* two "CPUs": the short thread list holds their threads */
static bool t_on_cpu(void *ctx, int tid)
{
	return t_alive(ctx, tid) && tid <= 2 * TID_STEP;
}

static u64 t_image_base(void *ctx)
{
	return MEM_BASE;
}

static int t_monitor(void *ctx, const char *cmd, struct kstub_session *s)
{
	static char chunk[1500];
	int i;

	/* many 'O' packets */
	if (!strcmp(cmd, "big")) {
		for (i = 0; i < 8; i++) {
			t_fill(i, chunk, sizeof(chunk), sizeof(chunk));
			kstub_session_output(s, chunk, strlen(chunk));
		}
		return 0;
	}
	if (!strcmp(cmd, "fail"))
		return -EIO;
	if (!strncmp(cmd, "echo ", 5)) {
		kstub_session_output(s, cmd + 5, strlen(cmd + 5));
		return 0;
	}
	return -ENOENT;
}

static int t_library(void *ctx, unsigned int i, const char **name, const u64 **bases)
{
	static char names[NLIBS][48];

	if (i >= (unsigned int)nlibs)
		return -ENOENT;
	snprintf(names[i], sizeof(names[i]), "/lib/modules/%.12s%u.ko", nasty, i);
	*name = names[i];
	*bases = lib_bases;
	return i % (int)ARRAY_SIZE(lib_bases);
}

/*
 * Hardware slots: a few, filled and freed as GDB's Z1-Z4 ask; a removal
 * must name one that is there, and the table never holds more.
 */
enum { HW_SLOTS = 4 };
static struct { int type; u64 addr, len; } hw[HW_SLOTS];

static int t_hw_insert(void *ctx, int type, u64 addr, u64 len)
{
	int i;

	if (type < KSTUB_HW_EXEC || type > KSTUB_HW_ACCESS)
		abort();
	if (type == KSTUB_HW_READ && (addr & 1))
		return -EOPNOTSUPP;
	if (len > 8)
		return -EINVAL;
	for (i = 0; i < HW_SLOTS; i++) {
		if (!hw[i].type) {
			hw[i].type = type;
			hw[i].addr = addr;
			hw[i].len = len;
			return 0;
		}
	}
	return -ENOSPC;
}

static int t_hw_remove(void *ctx, int type, u64 addr, u64 len)
{
	int i;

	if (type < KSTUB_HW_EXEC || type > KSTUB_HW_ACCESS)
		abort();
	for (i = 0; i < HW_SLOTS; i++) {
		if (hw[i].type == type && hw[i].addr == addr && hw[i].len == len) {
			hw[i].type = 0;
			return 0;
		}
	}
	return -ENOENT;
}

static void t_hw_clear(void *ctx)
{
	memset(hw, 0, sizeof(hw));
}

static const struct kstub_target_ops target = {
	.read_mem = t_read,
	.write_mem = t_write,
	.reg_get = t_reg_get,
	.reg_set = t_reg_set,
	.thread_next = t_thread_next,
	.thread_alive = t_alive,
	.thread_extra = t_extra,
	.thread_name = t_name,
	.thread_core = t_core,
	.thread_on_cpu = t_on_cpu,
	.image_base = t_image_base,
	.monitor = t_monitor,
	.target_xml = target_xml,
	.expedite = expedite,
	.library = t_library,
	.hw_insert = t_hw_insert,
	.hw_remove = t_hw_remove,
	.hw_clear = t_hw_clear,
};

static int t_valid(void *ctx, u64 a)
{
	return in_mem(a, 1) && a - MEM_BASE >= RO_SIZE ? 0 : -EINVAL;
}

/* some text cannot be written now (a lock is held elsewhere) */
static int t_patch(void *ctx, u64 a, const u8 *b, size_t n)
{
	if (!in_mem(a, n) || a % 97 == 0)
		return -EBUSY;
	memcpy(&mem[a - MEM_BASE], b, n);
	return 0;
}

static bool t_gone(void *ctx, u64 a)
{
	return a >= MEM_BASE + MEM_SIZE - GONE_SIZE && a < MEM_BASE + MEM_SIZE;
}

static const struct kstub_bp_ops bp_ops = {
	.valid = t_valid,
	.read = t_read,
	.patch = t_patch,
	.gone = t_gone,
	.insn = bp_insn,
	.insn_len = sizeof(bp_insn),
};

static void cap_write(void *io, const u8 *b, size_t n)
{
	if (out_full || n > OUT_CAP - out_len) {
		out_full = true;
		return;
	}
	memcpy(out + out_len, b, n);
	out_len += n;
}

/* All kstub wrote: acks, and frames that GDB reads. */
static void check_output(void)
{
	static u8 dec[4 * OUT_CAP];
	size_t i = 0, j;

	while (i < out_len) {
		if (out[i] == '+' || out[i] == '-') {
			i++;
			continue;
		}
		FUZZ_CHECK(out[i] == '$', "a byte outside any frame");
		for (j = i + 1; j < out_len && out[j] != '#'; j++)
			;
		FUZZ_CHECK(j + 2 < out_len, "a frame cut short");
		fuzz_gdb_read_frame(out + i, j + 3 - i, dec);
		i = j + 3;
	}
}

static struct kstub_buffers bufs;
static struct kstub_bp_table bps;
static struct kstub_session sess;

static void reset(void)
{
	memcpy(mem, pristine, sizeof(mem));
	memset(&sess, 0, sizeof(sess));
	memset(hw, 0, sizeof(hw));
	kstub_bp_init(&bps, &bp_ops, NULL);
	kstub_session_init(&sess, &bufs);
	sess.target = &target;
	sess.bps = &bps;
	sess.write = cap_write;
	sess.reliable = true;
	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, 0, 0);
	out_len = 0;
	out_full = false;
}

static const unsigned int stop_flags[] = {
	KSTUB_STOP_SWBREAK, KSTUB_STOP_LIBRARY, KSTUB_STOP_HWBREAK, KSTUB_STOP_WATCH,
	KSTUB_STOP_RWATCH | KSTUB_STOP_LIBRARY, KSTUB_STOP_AWATCH, 0,
};

/* A resume is answered, as the kernel would, by the next stop. */
static void feed(u8 c, unsigned int *stops)
{
	enum kstub_action act = kstub_session_feed(&sess, c);

	if (act == KSTUB_STAY)
		return;
	if (act == KSTUB_DETACH)
		kstub_session_new_client(&sess);
	++*stops;
	kstub_session_stop(&sess, 1 + (*stops % nthreads) * TID_STEP,
			   *stops % 2 ? KSTUB_SIGTRAP : KSTUB_SIGINT,
			   stop_flags[*stops % ARRAY_SIZE(stop_flags)],
			   hw[*stops % HW_SLOTS].addr);
}

/*
 * @p framed as GDB frames a packet (remote_escape_output(): '$', '#',
 * '}' and '*' escaped; no runs), cut at @cap. The harness's own, not
 * kstub_frame(): that is fuzz_packet's to explore, and here its coverage
 * would only be noise.
 */
static size_t gdb_frame(const u8 *p, size_t len, u8 *out, size_t cap)
{
	size_t i, o = 0;
	u8 sum = 0, c;

	out[o++] = '$';
	for (i = 0; i < len && o + 2 < cap - 3; i++) {
		c = p[i];
		if (c == '$' || c == '#' || c == '}' || c == '*') {
			out[o++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		out[o++] = c;
		sum += c;
	}
	out[o++] = '#';
	out[o++] = "0123456789abcdef"[sum >> 4];
	out[o++] = "0123456789abcdef"[sum & 15];
	return o;
}

/* Each line of @data framed as a packet, as GDB would send it. */
static void feed_packets(const u8 *data, size_t size, unsigned int *stops)
{
	static u8 frame[2 * KSTUB_PACKET_SIZE + 8];
	size_t start = 0, end, n, i;

	while (start < size) {
		for (end = start; end < size && data[end] != '\n'; end++)
			;
		n = gdb_frame(data + start, end - start, frame, sizeof(frame));
		for (i = 0; i < n; i++)
			feed(frame[i], stops);
		/* an ack for the reply, unless no-ack mode is on */
		if (!sess.no_ack)
			feed('+', stops);
		start = end + 1;
	}
}

/* libFuzzer's entry points: their names are libFuzzer's (checkpatch's CamelCase) */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t i, n;

	n = (size_t)snprintf(target_xml, sizeof(target_xml), "<target version=\"1.0\">");
	for (i = 0; n < sizeof(target_xml) - 64; i++)
		n += (size_t)snprintf(target_xml + n, sizeof(target_xml) - n,
				      "<reg name=\"r%zu\" bitsize=\"%zu\"/>", i, 8 * (1 + i % 64));
	snprintf(target_xml + n, sizeof(target_xml) - n, "</target>");
	for (i = 0; i < ARRAY_SIZE(lib_bases); i++)
		lib_bases[i] = MEM_BASE + i * 0x1000;
	for (i = 0; i < MEM_SIZE; i++)
		pristine[i] = (u8)(i * 7 + 3);
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	unsigned int stops = 0;
	size_t i;
	bool big;

	if (!size)
		return 0;
	/*
	 * One input in four gets the big target: listing it costs some forty
	 * times the small one's, and the code it reaches beyond the small
	 * one's (full windows and replies) is little.
	 */
	big = (data[0] & 6) == 6;
	nthreads = big ? NTHREADS : 12;
	nlibs = big ? NLIBS : 8;
	reset();
	/* monitor threads all, or the short list at each stop */
	sess.threads_all = data[0] & 8;
	if (data[0] & 1) {
		for (i = 1; i < size; i++)
			feed(data[i], &stops);
	} else {
		feed_packets(data + 1, size - 1, &stops);
	}
	FUZZ_CHECK(!out_full, "more output than the harness keeps");
	check_output();
	return 0;
}
