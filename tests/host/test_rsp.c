// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests for the packet layer, the command table and the breakpoint
 * table: the same stub/ sources as the module, built with ASan and UBSan,
 * driven by table-driven vectors against a fake target (a memory window,
 * a register file and two threads).
 */
#include <stdio.h>
#include <stdlib.h>
#include "../../stub/rsp.h"
#include "../../stub/tdesc.h"

static int failures, passes;

#define CHECK(cond, ...) do {						\
	if (cond) {							\
		passes++;						\
	} else {							\
		failures++;						\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

/* ---- fake target ---- */

enum { MEM_BASE = 0x10000, MEM_SIZE = 0x8000, NREGS = 4 };
static u8 mem[MEM_SIZE];
static u64 regs[3][NREGS];	/* threads 1 and 2 */
static const u8 bp_insn[] = { 0xcc };

static bool in_mem(u64 a, size_t n)
{
	return a >= MEM_BASE && a + n <= MEM_BASE + MEM_SIZE && a + n >= a;
}

static int f_read(void *ctx, u64 a, u8 *b, size_t n)
{
	if (!in_mem(a, n))
		return -EFAULT;
	memcpy(b, mem + (a - MEM_BASE), n);
	return 0;
}

static int f_write(void *ctx, u64 a, const u8 *b, size_t n)
{
	if (!in_mem(a, n))
		return -EFAULT;
	memcpy(mem + (a - MEM_BASE), b, n);
	return 0;
}

static int f_reg_get(void *ctx, int tid, int regno, u8 *val, bool *avail)
{
	if (tid < 1 || tid > 2 || regno < 0)
		return -ESRCH;
	if (regno >= NREGS)
		return 0;
	*avail = regno != 3;	/* register 3 exists but has no value */
	memcpy(val, &regs[tid][regno], 8);
	return 8;
}

static int f_reg_set(void *ctx, int tid, int regno, const u8 *val)
{
	if (regno == 2)
		return -EPERM;	/* read-only, like a segment register */
	memcpy(&regs[tid][regno], val, 8);
	return 0;
}

static int f_thread_next(void *ctx, int tid)
{
	return tid < 2 ? tid + 1 : 0;
}

static bool f_alive(void *ctx, int tid)
{
	return tid == 1 || tid == 2;
}

static void f_extra(void *ctx, int tid, char *buf, size_t cap)
{
	snprintf(buf, cap, "CPU %d", tid - 1);
}

static void f_name(void *ctx, int tid, char *buf, size_t cap)
{
	snprintf(buf, cap, tid == 1 ? "swapper/0" : "a<b>&\"c\"*\n");
}

static int f_monitor(void *ctx, const char *cmd, struct kstub_session *s)
{
	if (!strncmp(cmd, "echo ", 5)) {
		kstub_session_output(s, cmd + 5, strlen(cmd + 5));
		return 0;
	}
	return strcmp(cmd, "fail") ? -ENOENT : -EIO;
}

static const int f_expedite[] = { 0, 3, 1, -1 };	/* 3 has no value */

static int f_core(void *ctx, int tid)
{
	return tid - 1;
}

static u64 f_image_base(void *ctx)
{
	return 0xffffffff9a000000ULL;
}

static int f_valid(void *ctx, u64 a)
{
	return in_mem(a, 1) ? 0 : -EFAULT;
}

/* from here on, text goes while the target runs (see f_gone()) */
static u64 gone_from = ~0ULL;

/* set: every patch fails (on arm64, a stopped CPU holds text_mutex) */
static bool patch_fails;

static int f_patch(void *ctx, u64 a, const u8 *b, size_t n)
{
	if (patch_fails)
		return -EBUSY;
	return a >= gone_from ? -EFAULT : f_write(ctx, a, b, n);
}

static const char xml[] = "<target><architecture>test</architecture></target>";

/* two loaded objects; the second's name needs escaping */
static int f_library(void *ctx, unsigned int i, const char **name,
		     const u64 **bases)
{
	static const u64 b0[] = { 0xffffffffc0000000ULL, 0, 0xffffffffc0002000ULL };
	static const u64 b1[] = { 0x10 };

	switch (i) {
	case 0:
		*name = "a_mod.ko";
		*bases = b0;
		return 3;
	case 1:
		*name = "b&c.ko";
		*bases = b1;
		return 1;
	}
	return -ENOENT;
}

/*
 * Two hardware slots, as GDB's Z1-Z4 fill them: no read watchpoints (as
 * on x86), a watched length of 1, 2, 4 or 8 bytes, naturally aligned.
 */
struct fake_hw {
	int type;
	u64 addr, len;
};

static struct fake_hw hw[2];

static int f_hw_insert(void *ctx, int type, u64 addr, u64 len)
{
	size_t i;

	if (type == KSTUB_HW_READ)
		return -EOPNOTSUPP;
	if (type != KSTUB_HW_EXEC &&
	    ((len != 1 && len != 2 && len != 4 && len != 8) || (addr & (len - 1))))
		return -EINVAL;
	for (i = 0; i < 2; i++) {
		if (!hw[i].type) {
			hw[i] = (struct fake_hw){ type, addr, len };
			return 0;
		}
	}
	return -ENOSPC;
}

static int f_hw_remove(void *ctx, int type, u64 addr, u64 len)
{
	size_t i;

	if (type == KSTUB_HW_READ)
		return -EOPNOTSUPP;
	for (i = 0; i < 2; i++) {
		if (hw[i].type == type && hw[i].addr == addr && hw[i].len == len) {
			hw[i].type = 0;
			return 0;
		}
	}
	return -ENOENT;
}

static void f_hw_clear(void *ctx)
{
	memset(hw, 0, sizeof(hw));
}

static int hw_used(void)
{
	return !!hw[0].type + !!hw[1].type;
}

static const struct kstub_target_ops fake_target = {
	.read_mem = f_read,
	.write_mem = f_write,
	.reg_get = f_reg_get,
	.reg_set = f_reg_set,
	.thread_next = f_thread_next,
	.thread_alive = f_alive,
	.thread_extra = f_extra,
	.thread_name = f_name,
	.thread_core = f_core,
	.image_base = f_image_base,
	.monitor = f_monitor,
	.target_xml = xml,
	.expedite = f_expedite,
	.library = f_library,
	.hw_insert = f_hw_insert,
	.hw_remove = f_hw_remove,
	.hw_clear = f_hw_clear,
};

/*
 * The last 0x100 bytes are text that has gone (a module's init code);
 * from gone_from on, text goes while the target runs and can no longer
 * be written (the kernel's init code, freed).
 */
static bool f_gone(void *ctx, u64 a)
{
	return a >= gone_from ||
	       (a >= MEM_BASE + MEM_SIZE - 0x100 && a < MEM_BASE + MEM_SIZE);
}

static const struct kstub_bp_ops fake_bp_ops = {
	.valid = f_valid,
	.read = f_read,
	.patch = f_patch,
	.gone = f_gone,
	.insn = bp_insn,
	.insn_len = sizeof(bp_insn),
};

/* ---- output capture ---- */

static char out[2 * KSTUB_FRAME_CAP];
static size_t out_len;

static void cap_write(void *io, const u8 *b, size_t n)
{
	if (out_len + n < sizeof(out)) {
		memcpy(out + out_len, b, n);
		out_len += n;
		out[out_len] = 0;
	}
}

static struct kstub_buffers bufs;
static struct kstub_bp_table bps;
static struct kstub_session sess;

static void reset(bool reliable)
{
	size_t i;

	for (i = 0; i < MEM_SIZE; i++)
		mem[i] = (u8)(i * 7 + 3);
	memset(regs, 0, sizeof(regs));
	regs[1][0] = 0x1122334455667788ULL;
	regs[2][0] = 0xfeedULL;
	memset(&sess, 0, sizeof(sess));
	memset(hw, 0, sizeof(hw));
	kstub_bp_init(&bps, &fake_bp_ops, NULL);
	kstub_session_init(&sess, &bufs);
	sess.target = &fake_target;
	sess.bps = &bps;
	sess.write = cap_write;
	sess.reliable = reliable;
	sess.stop_tid = 1;
	sess.signal = KSTUB_SIGTRAP;
	out_len = 0;
	out[0] = 0;
}

static u8 csum(const char *p, size_t n)
{
	u8 s = 0;

	while (n--)
		s += (u8)*p++;
	return s;
}

/* Feed "$payload#xx" with a correct checksum; return the last action. */
static enum kstub_action send_pkt(const char *payload, size_t n)
{
	enum kstub_action a = KSTUB_STAY;
	char tail[4];
	size_t i;

	a = kstub_session_feed(&sess, '$');
	for (i = 0; i < n; i++)
		a = kstub_session_feed(&sess, (u8)payload[i]);
	snprintf(tail, sizeof(tail), "#%02x", csum(payload, n));
	for (i = 0; i < 3; i++)
		a = kstub_session_feed(&sess, (u8)tail[i]);
	return a;
}

/* A reference decoder, written for clarity, to check the framer against. */
static int naive_unframe(const char *w, size_t n, char *dst, size_t cap)
{
	size_t i = 1, o = 0;
	u8 sum = 0;
	unsigned int want;

	if (n < 4 || w[0] != '$' || w[n - 3] != '#')
		return -1;
	for (; i < n - 3; i++) {
		sum += (u8)w[i];
		if (w[i] == '}') {
			sum += (u8)w[++i];
			dst[o++] = w[i] ^ 0x20;
		} else if (w[i] == '*') {
			int rep = (u8)w[++i] - 29;

			sum += (u8)w[i];
			if (o == 0 || rep < 3)
				return -1;
			while (rep-- && o < cap)
				dst[o] = dst[o - 1], o++;
		} else {
			dst[o++] = w[i];
		}
		if (o >= cap)
			return -1;
	}
	if (sscanf(w + n - 2, "%2x", &want) != 1 || want != sum)
		return -1;
	return (int)o;
}

/* The reply the last packet produced, decoded, without its leading ack. */
static char reply[2 * KSTUB_FRAME_CAP];

static const char *last_reply(void)
{
	const char *p = out;
	int n;

	while (*p == '+' || *p == '-')
		p++;
	n = naive_unframe(p, out_len - (p - out), reply, sizeof(reply) - 1);
	if (n < 0)
		return "<badframe>";
	reply[n] = 0;
	return reply;
}

static const char *exchange(const char *payload)
{
	out_len = 0;
	out[0] = 0;
	send_pkt(payload, strlen(payload));
	return last_reply();
}

/* ---- vectors ---- */

struct vector {
	const char *in;
	const char *want;	/* exact reply, or prefix if it ends in '*' */
};

static const struct vector vectors[] = {
	{ "?", "T05thread:1;core:0;0:8877665544332211;1:0000000000000000;" },
	{ "qC", "QC1" },
	{ "qAttached", "1" },
	{ "qOffsets", "TextSeg=ffffffff9a000000" },
	{ "qfThreadInfo", "m1,2" },
	{ "qThreadExtraInfo,2", "435055203" "1" },
	{ "vCont?", "vCont;c;C;s;S" },
	{ "vMustReplyEmpty", "" },
	{ "qTStatus", "" },
	{ "Z1,10000,1", "OK" },
	{ "Z2,10000,4", "OK" },
	{ "Z2,10002,4", "E16" },		/* misaligned */
	{ "Z2,10000,3", "E16" },
	{ "Z3,10000,4", "" },			/* no read watchpoints: GDB tries Z4 */
	{ "Z4,10000,8", "OK" },
	{ "Z5,10000,1", "" },
	{ "Zq,10000,1", "E16" },
	{ "Z2,10000", "E16" },
	{ "z2,10000,4", "OK" },			/* not there: what GDB wanted */
	{ "z3,10000,4", "" },
	{ "m10000,4", "030a1118" },
	{ "m10000,0", "" },
	{ "m0,4", "E0e" },
	{ "mffffffffffffffff,10", "E16" },
	{ "m17ffe,4", "f5fc" },			/* readable prefix */
	{ "m10000", "E16" },
	{ "m1000x,4", "E16" },
	{ "m10000,99999999", "E16" },
	{ "m11111111111111111,1", "E16" },
	{ "M10000,2:abcd", "OK" },
	{ "M10000,2:abc", "E16" },
	{ "M10000,2:abzz", "E16" },
	{ "M0,1:00", "E0e" },
	{ "X10000,0:", "OK" },
	{ "X10000,3:ab", "E16" },
	{ "g", "8877665544332211" "0000000000000000" "0000000000000000" "xxxxxxxxxxxxxxxx" },
	{ "p0", "8877665544332211" },
	{ "p3", "xxxxxxxxxxxxxxxx" },
	{ "p4", "E16" },
	{ "pzz", "E16" },
	{ "P1=0100000000000000", "OK" },
	{ "P1=01", "E16" },
	{ "P2=0100000000000000", "E01" },
	{ "Hg2", "OK" },
	{ "Hg9", "E03" },
	{ "Hc-1", "OK" },
	{ "Hx1", "E16" },
	{ "T2", "OK" },
	{ "T7", "E03" },
	{ "Z0,10010,1", "OK" },
	{ "Z0,10,1", "E0e" },
	{ "Z0,zz", "E16" },
	{ "z0,10010,1", "OK" },
	{ "z0,10020,1", "OK" },
	{ "qXfer:features:read:target.xml:0,10", "m<target><archite" },
	{ "qXfer:features:read:target.xml:28,100", "l></target>" },
	{ "qXfer:features:read:target.xml:400,10", "l" },
	{ "qXfer:features:read:other.xml:0,10", "E02" },
	{ "qSupported:multiprocess+;swbreak+", "PacketSize=10000;qXfer:features:read+;qXfer:threads:read+;swbreak+;vContSupported+;hwbreak+;qXfer:libraries:read+" },
	{ "vCont;q", "E16" },
};

static void test_vectors(void)
{
	const struct vector *v;
	const char *got;
	size_t i, n;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		v = &vectors[i];
		reset(false);
		got = exchange(v->in);
		n = strlen(v->want);
		CHECK(!strcmp(got, v->want), "%s: got '%s' want '%s'", v->in, got, v->want);
		CHECK(out[0] == '+', "%s: not acked", v->in);
		(void)n;
	}
}

static void test_resume_actions(void)
{
	static const struct { const char *in; enum kstub_action act; } t[] = {
		{ "c", KSTUB_CONTINUE }, { "s", KSTUB_STEP }, { "C0b", KSTUB_CONTINUE },
		{ "S05", KSTUB_STEP }, { "vCont;c", KSTUB_CONTINUE },
		{ "vCont;s:1;c", KSTUB_STEP }, { "vCont;s:2;c", KSTUB_CONTINUE },
		{ "vCont;S05:1", KSTUB_STEP }, { "vCont;s", KSTUB_STEP },
		{ "D", KSTUB_DETACH }, { "D;1", KSTUB_DETACH }, { "k", KSTUB_DETACH },
		{ "g", KSTUB_STAY },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		reset(false);
		out_len = 0;
		CHECK(send_pkt(t[i].in, strlen(t[i].in)) == t[i].act, "%s action", t[i].in);
	}
	/* a resume sends nothing but the ack; the stop reply comes later */
	reset(false);
	send_pkt("c", 1);
	CHECK(out_len == 1 && out[0] == '+', "c replied '%s'", out);
	reset(false);
	send_pkt("k", 1);
	CHECK(out_len == 1, "k replied '%s'", out);
}

static void test_thread_list_walk(void)
{
	reset(false);
	CHECK(!strcmp(exchange("qfThreadInfo"), "m1,2"), "qf: %s", reply);
	CHECK(!strcmp(exchange("qsThreadInfo"), "l"), "qs: %s", reply);
	CHECK(!strcmp(exchange("qfThreadInfo"), "m1,2"), "qf again restarts: %s", reply);
}

static void test_registers_by_thread(void)
{
	reset(false);
	exchange("Hg2");
	CHECK(!strcmp(exchange("p0"), "edfe000000000000"), "Hg2 then p0: %s", reply);
	/* G writes only what changed, so a read-only register with its old value is fine */
	CHECK(!strcmp(exchange("G0100000000000000" "0200000000000000" "0000000000000000"
			       "xxxxxxxxxxxxxxxx"), "OK"), "G: %s", reply);
	CHECK(regs[2][0] == 1 && regs[2][1] == 2 && regs[1][0] == 0x1122334455667788ULL,
	      "G wrote the wrong thread");
	CHECK(!strcmp(exchange("G0100000000000000" "0200000000000000" "0300000000000000"), "E01"),
	      "G to read-only: %s", reply);
}

static void test_memory_write_then_read(void)
{
	static const char bin[] = { 'X', '1', '0', '0', '0', '0', ',', '4', ':', '}', '#' ^ 0x20, 0, '*' };
	u8 want[4] = { '#', 0, '*', 0x7d };

	reset(false);
	CHECK(!strcmp(exchange("M10004,3:010203"), "OK"), "M");
	CHECK(!strcmp(exchange("m10004,3"), "010203"), "m after M: %s", reply);
	/* binary write with escapes: '#' escaped, a raw NUL, '*' as is, '}' escaped */
	out_len = 0;
	kstub_session_feed(&sess, '$');
	{
		char pkt[32];
		size_t n = 0, i;

		memcpy(pkt, bin, sizeof(bin));
		n = sizeof(bin);
		pkt[n++] = '}';
		pkt[n++] = 0x7d ^ 0x20;
		for (i = 0; i < n; i++)
			kstub_session_feed(&sess, (u8)pkt[i]);
		char tail[4];

		snprintf(tail, sizeof(tail), "#%02x", csum(pkt, n));
		for (i = 0; i < 3; i++)
			kstub_session_feed(&sess, (u8)tail[i]);
	}
	CHECK(!strcmp(last_reply(), "OK"), "X: %s", reply);
	CHECK(!memcmp(mem, want, 4), "X bytes %02x %02x %02x %02x", mem[0], mem[1], mem[2], mem[3]);
}

static void test_framing_errors(void)
{
	size_t i;
	static const char *noise = "garbage\x01\xff+++---";

	reset(false);
	/* bad checksum: NAK and nothing else */
	for (i = 0; i < 6; i++)
		kstub_session_feed(&sess, (u8)"$g#00"[i]);
	CHECK(out_len == 1 && out[0] == '-', "bad checksum gave '%s'", out);
	/* non-hex checksum */
	out_len = 0;
	for (i = 0; i < 5; i++)
		kstub_session_feed(&sess, (u8)"$g#zz"[i]);
	CHECK(out_len == 1 && out[0] == '-', "non-hex checksum gave '%s'", out);
	/* garbage between packets is ignored; a NAK with nothing sent does nothing */
	out_len = 0;
	for (i = 0; noise[i]; i++)
		kstub_session_feed(&sess, (u8)noise[i]);
	CHECK(out_len == 0, "garbage produced '%s'", out);
	/* still serving */
	CHECK(!strcmp(exchange("qC"), "QC1"), "after garbage: %s", reply);
	/* NAK resends the last reply */
	out_len = 0;
	kstub_session_feed(&sess, '-');
	CHECK(!strcmp(last_reply(), "QC1"), "resend: %s", reply);
	/* '$' inside a packet restarts it */
	out_len = 0;
	kstub_session_feed(&sess, '$');
	kstub_session_feed(&sess, 'x');
	send_pkt("qC", 2);
	CHECK(!strcmp(last_reply(), "QC1"), "restart: %s", reply);
}

static void test_overflow(void)
{
	static char big[KSTUB_PACKET_SIZE + 100];

	reset(false);
	memset(big, 'm', sizeof(big));
	out_len = 0;
	send_pkt(big, sizeof(big));
	CHECK(!strcmp(last_reply(), "E5a"), "overflow: %s", reply);
	CHECK(!strcmp(exchange("qC"), "QC1"), "after overflow: %s", reply);
}

static void test_big_read_and_rle(void)
{
	char cmd[32];
	const char *got;

	reset(false);
	memset(mem, 0, MEM_SIZE);
	snprintf(cmd, sizeof(cmd), "m%x,%x", MEM_BASE, KSTUB_PACKET_SIZE / 2);
	got = exchange(cmd);
	CHECK(strlen(got) == KSTUB_PACKET_SIZE, "big read length %zu", strlen(got));
	/* runs of 97 as three bytes: about a thirtieth */
	CHECK(out_len < KSTUB_PACKET_SIZE / 25, "RLE should shrink zeros, wire %zu bytes", out_len);
	snprintf(cmd, sizeof(cmd), "m%x,%x", MEM_BASE, KSTUB_PACKET_SIZE / 2 + 1);
	CHECK(!strcmp(exchange(cmd), "E16"), "read over PacketSize: %s", reply);
}

/* Whether a frame's body has a '#' or '$' of its own (it must not). */
static bool raw_delimiter(const u8 *wire, size_t w)
{
	size_t i;

	for (i = 1; i + 3 < w; i++)
		if (wire[i] == '#' || wire[i] == '$')
			return true;
	return false;
}

static void test_frame_differential(void)
{
	static u8 payload[3000];
	static u8 wire[2 * sizeof(payload) + 8];
	static char back[sizeof(payload) + 1];
	unsigned int seed = 1;
	int round, n;
	size_t len, i, w;

	for (round = 0; round < 2000; round++) {
		len = (size_t)(rand_r(&seed) % sizeof(payload));
		for (i = 0; i < len; i++) {
			/* runs of all lengths, and every special character */
			if (i && rand_r(&seed) % 3)
				payload[i] = payload[i - 1];
			else
				payload[i] = "0a#$}*x\0+-"[rand_r(&seed) % 10];
		}
		w = kstub_frame(payload, len, wire, sizeof(wire), round & 1);
		n = naive_unframe((char *)wire, w, back, sizeof(back));
		if (n != (int)len || memcmp(back, payload, len)) {
			CHECK(0, "frame round %d len %zu decoded %d", round, len, n);
			return;
		}
		if (raw_delimiter(wire, w)) {
			CHECK(0, "raw '#' or '$' in frame, round %d", round);
			return;
		}
	}
	CHECK(1, "differential");
	CHECK(kstub_frame(payload, 100, wire, 50, false) == 0, "small buffer refused");
}

/* kstub_frame_hex() against the hex digits framed by kstub_frame() */
static void test_frame_hex_differential(void)
{
	static u8 bin[3000];
	static u8 hex[2 * sizeof(bin)];
	static u8 wire[2 * sizeof(hex) + 8], plain[2 * sizeof(hex) + 8];
	static char back[sizeof(hex) + 1];
	unsigned int seed = 7;
	size_t len, i, w, pw;
	int round, n;

	for (round = 0; round < 2000; round++) {
		len = (size_t)(rand_r(&seed) % sizeof(bin));
		for (i = 0; i < len; i++) {
			/* long runs of run-prone bytes, and bytes that only half match */
			if (i && rand_r(&seed) % 4)
				bin[i] = bin[i - 1];
			else
				bin[i] = "\x00\xff\xcc\x0f\xf0\x12\x11"[rand_r(&seed) % 7];
			hex[2 * i] = kstub_hex_digit(bin[i] >> 4);
			hex[2 * i + 1] = kstub_hex_digit(bin[i]);
		}
		w = kstub_frame_hex(bin, len, wire, sizeof(wire), round & 1);
		n = naive_unframe((char *)wire, w, back, sizeof(back));
		if (n != (int)(2 * len) || memcmp(back, hex, 2 * len)) {
			CHECK(0, "hex frame round %d len %zu decoded %d", round, len, n);
			return;
		}
		if (raw_delimiter(wire, w)) {
			CHECK(0, "raw '#' or '$' in hex frame, round %d", round);
			return;
		}
		pw = kstub_frame(hex, 2 * len, plain, sizeof(plain), round & 1);
		/*
		 * Never longer than the plain digits; with RLE, close to what
		 * framing the digits gives (it also finds runs that straddle
		 * two bytes, 0xf0 0x00).
		 */
		if (w > 2 * len + 4 || ((round & 1) && w > pw + pw / 10 + 8)) {
			CHECK(0, "hex frame round %d: %zu bytes, framing the digits %zu", round, w, pw);
			return;
		}
		/* exactly the room it needs is enough, one byte less is not */
		if (kstub_frame_hex(bin, len, wire, w, round & 1) != w ||
		    (len && kstub_frame_hex(bin, len, wire, w - 1, round & 1) != 0)) {
			CHECK(0, "hex frame round %d: room of %zu refused or overrun", round, w);
			return;
		}
	}
	CHECK(1, "hex differential");
}

static void test_frame_output(void)
{
	static const char text[] = "kstub: $m0,4#1 \n";
	u8 wire[64];
	size_t taken, w;
	char back[64];
	int n;

	w = kstub_frame_output((const u8 *)text, strlen(text), &taken, wire, sizeof(wire));
	CHECK(taken == strlen(text) && w == 2 + 2 * taken + 3, "O packet of %zu bytes", w);
	n = naive_unframe((char *)wire, w, back, sizeof(back));
	CHECK(n == (int)(1 + 2 * taken) && back[0] == 'O', "O packet decodes");
	CHECK(!memcmp(back + 1, "6b737475623a20246d", 18), "text is hex: %.18s", back + 1);
	w = kstub_frame_output((const u8 *)text, strlen(text), &taken, wire, 12);
	CHECK(taken == 3 && w == 11, "a short buffer takes what fits: %zu, %zu", taken, w);
	CHECK(kstub_frame_output((const u8 *)text, 0, &taken, wire, sizeof(wire)) == 0 &&
	      !taken, "no text, no packet");
}

static void test_no_ack(void)
{
	reset(true);
	CHECK(strstr(exchange("qSupported"), "QStartNoAckMode+") != NULL, "reliable offers no-ack");
	CHECK(!strcmp(exchange("QStartNoAckMode"), "OK"), "QStartNoAckMode");
	CHECK(out[0] == '+', "the QStartNoAckMode packet itself is acked");
	exchange("qC");
	CHECK(out[0] == '$', "no ack after no-ack mode: '%c'", out[0]);
	exchange("D");
	CHECK(!sess.no_ack && !sess.connected, "detach ends no-ack mode");
	CHECK(!sess.ack_due, "no ack due after a detach in no-ack mode");
	exchange("D");
	CHECK(sess.ack_due, "GDB acks a detach's OK in ack mode: the core waits for it");
	send_pkt("k", 1);
	CHECK(!sess.ack_due, "no ack due after k, which has no reply");

	/* a GDB that went away without detaching, and a new one */
	exchange("QStartNoAckMode");
	exchange("qSupported:multiprocess+");
	CHECK(out[0] == '+', "a new GDB's qSupported is acked: '%c'", out[0]);
	CHECK(!sess.no_ack, "a new GDB starts in ack mode");

	exchange("QStartNoAckMode");
	kstub_session_new_client(&sess);
	CHECK(!sess.no_ack && !sess.connected, "new client: ack mode, not connected");
	out_len = 0;
	kstub_session_stop(&sess, 1, KSTUB_SIGINT, 0, 0);
	CHECK(out_len == 0, "no unsolicited stop reply to a new client");
	CHECK(!strncmp(exchange("?"), "T02thread:1;core:0;", 19), "break-in stop: %s", reply);
	CHECK(out[0] == '+', "acked after new client");
}

/* Hardware slots fill up, free, and go with a detach or a new GDB. */
static void test_hw_slots(void)
{
	struct kstub_target_ops none = fake_target;

	reset(false);
	CHECK(!strcmp(exchange("Z2,10000,4"), "OK"), "a watchpoint: %s", reply);
	CHECK(!strcmp(exchange("Z1,10010,1"), "OK"), "a hardware breakpoint: %s", reply);
	CHECK(!strcmp(exchange("Z4,10020,2"), "E1c"), "no slot left: %s", reply);
	CHECK(!strcmp(exchange("z2,10000,4"), "OK") && hw_used() == 1, "one freed");
	CHECK(!strcmp(exchange("Z4,10020,2"), "OK"), "and taken again: %s", reply);
	exchange("D");
	CHECK(hw_used() == 0, "a detach takes every slot back");
	exchange("Z2,10000,4");
	exchange("Z4,10008,8");
	kstub_session_new_client(&sess);
	exchange("qSupported:multiprocess+");
	CHECK(hw_used() == 0, "a new GDB does not inherit the last one's watchpoints");
	exchange("Z2,10000,4");
	exchange("k");
	CHECK(hw_used() == 0, "nor after a kill");

	/* a target without: every type unsupported, none offered */
	reset(false);
	none.hw_insert = NULL;
	none.hw_remove = NULL;
	none.hw_clear = NULL;
	sess.target = &none;
	CHECK(!strcmp(exchange("Z2,10000,4"), ""), "no hardware: %s", reply);
	CHECK(!strcmp(exchange("z1,10000,1"), ""), "no hardware: %s", reply);
	CHECK(!strstr(exchange("qSupported"), "hwbreak"), "hwbreak not offered: %s", reply);
	CHECK(!strcmp(exchange("Z0,10010,1"), "OK"), "software breakpoints still: %s", reply);
	exchange("D");
}

static void test_stop_reply(void)
{
	reset(false);
	kstub_session_stop(&sess, 2, KSTUB_SIGSEGV, 0, 0);
	CHECK(out_len == 0, "no stop reply before GDB talked");
	exchange("qC");
	out_len = 0;
	regs[2][0] = 0x1122334455667788ULL;
	regs[2][1] = 0;
	kstub_session_stop(&sess, 2, KSTUB_SIGTRAP, KSTUB_STOP_SWBREAK, 0);
	CHECK(!strcmp(last_reply(), "T05thread:2;core:1;swbreak:;0:8877665544332211;"
		      "1:0000000000000000;"), "stop with expedited registers: %s", reply);
	out_len = 0;
	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, KSTUB_STOP_LIBRARY, 0);
	CHECK(!strncmp(last_reply(), "T05thread:1;core:0;library:;0:", 30),
	      "a module came or went: %s", reply);
	CHECK(!strncmp(exchange("?"), "T05thread:1;core:0;library:;", 28),
	      "'?' says it again: %s", reply);
	out_len = 0;
	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, KSTUB_STOP_WATCH, 0xffff888001234568ULL);
	CHECK(!strncmp(last_reply(), "T05thread:1;core:0;watch:ffff888001234568;0:", 44),
	      "a write watchpoint names its address: %s", reply);
	out_len = 0;
	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, KSTUB_STOP_RWATCH, 0x10);
	CHECK(!strncmp(last_reply(), "T05thread:1;core:0;rwatch:10;0:", 31), "rwatch: %s", reply);
	out_len = 0;
	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, KSTUB_STOP_AWATCH, 0);
	CHECK(!strncmp(last_reply(), "T05thread:1;core:0;awatch:0;0:", 30), "awatch: %s", reply);
	out_len = 0;
	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, KSTUB_STOP_HWBREAK, 0);
	CHECK(!strncmp(last_reply(), "T05thread:1;core:0;hwbreak:;0:", 30), "hwbreak: %s", reply);
	exchange("D");
	out_len = 0;
	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, 0, 0);
	CHECK(out_len == 0, "no stop reply after detach");
}

/*
 * GDB's Ctrl-C that reaches a stopped kernel (GDB was stepping over a
 * breakpoint when the user pressed it) is sent once: the next stop says
 * SIGINT, at once if GDB continues, else after the step.
 */
static void test_interrupt_while_stopped(void)
{
	reset(false);
	kstub_session_feed(&sess, 0x03);
	CHECK(!sess.interrupt, "a Ctrl-C before any GDB talked is not kept");
	exchange("qC");
	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, KSTUB_STOP_SWBREAK, 0);
	kstub_session_feed(&sess, 0x03);
	out_len = 0;
	CHECK(send_pkt("vCont;c", 7) == KSTUB_STAY, "continue after Ctrl-C resumes");
	CHECK(!strncmp(last_reply(), "T02thread:1;core:0;0:", 21),
	      "continue after Ctrl-C: SIGINT at once: %s", reply);
	out_len = 0;
	CHECK(send_pkt("vCont;c", 7) == KSTUB_CONTINUE, "the next continue resumes");

	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, KSTUB_STOP_SWBREAK, 0);
	kstub_session_feed(&sess, 0x03);
	CHECK(send_pkt("vCont;s:1", 9) == KSTUB_STEP, "a step after Ctrl-C steps");
	out_len = 0;
	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, 0, 0);
	CHECK(!strncmp(last_reply(), "T02thread:1;", 12), "the step's stop says SIGINT: %s", reply);
	CHECK(send_pkt("c", 1) == KSTUB_CONTINUE, "then a continue resumes");

	/* a fault in the step keeps its signal, and answers the Ctrl-C */
	kstub_session_feed(&sess, 0x03);
	send_pkt("s", 1);
	out_len = 0;
	kstub_session_stop(&sess, 1, KSTUB_SIGSEGV, 0, 0);
	CHECK(!strncmp(last_reply(), "T0bthread:1;", 12), "a fault stays SIGSEGV: %s", reply);
	CHECK(send_pkt("c", 1) == KSTUB_CONTINUE, "the fault answered the Ctrl-C");

	/* so does a watchpoint the step triggered (x86 reports both at once) */
	kstub_session_feed(&sess, 0x03);
	send_pkt("s", 1);
	out_len = 0;
	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, KSTUB_STOP_WATCH, 0x10);
	CHECK(!strncmp(last_reply(), "T05thread:1;core:0;watch:10;", 28),
	      "a watchpoint hit is not lost to a Ctrl-C: %s", reply);
	CHECK(send_pkt("c", 1) == KSTUB_CONTINUE, "the watchpoint answered the Ctrl-C");

	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, 0, 0);
	kstub_session_feed(&sess, 0x03);
	exchange("D");
	exchange("qC");
	CHECK(send_pkt("c", 1) == KSTUB_CONTINUE, "a detach forgets the Ctrl-C");

	/*
	 * a GDB that dies leaves its Ctrl-C (or a line's noise leaves one,
	 * test_random_bytes): the next GDB never sent it
	 */
	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, 0, 0);
	kstub_session_feed(&sess, 0x03);
	exchange("qSupported:multiprocess+");
	CHECK(send_pkt("c", 1) == KSTUB_CONTINUE, "a new GDB forgets the last one's Ctrl-C");

	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, 0, 0);
	kstub_session_feed(&sess, 0x03);
	out_len = 0;
	CHECK(send_pkt("k", 1) == KSTUB_DETACH && out_len == 1, "k: the ack alone");
	CHECK(!sess.connected && !sess.interrupt, "k ends the session, Ctrl-C and all");
}

/* a target of 20 threads, the first two on a CPU */
static int m_next(void *ctx, int tid)
{
	return tid < 20 ? tid + 1 : 0;
}

static bool m_alive(void *ctx, int tid)
{
	return tid >= 1 && tid <= 20;
}

static bool m_on_cpu(void *ctx, int tid)
{
	return tid == 1 || tid == 2;
}

#define THREADS_XFER "qXfer:threads:read::0,fff"

static int count_threads(const char *r)
{
	int n = 0;

	while ((r = strstr(r, "<thread id=")) != NULL) {
		n++;
		r++;
	}
	return n;
}

static bool lists(const char *r, int tid)
{
	char el[32];

	snprintf(el, sizeof(el), "<thread id=\"%x\"", tid);
	return strstr(r, el) != NULL;
}

/*
 * At a stop GDB's first read of the thread list (its first two after '?')
 * gets the threads on a CPU, the one that stopped and those GDB selected;
 * every later read in the same stop gets them all.
 */
static void test_short_thread_list(void)
{
	static struct kstub_target_ops many;
	static char whole[4096];
	char part[64];
	size_t n, off;
	const char *r;

	reset(false);
	many = fake_target;
	many.thread_next = m_next;
	many.thread_alive = m_alive;
	many.thread_on_cpu = m_on_cpu;
	sess.target = &many;
	exchange("?");
	r = exchange(THREADS_XFER);
	CHECK(count_threads(r) == 2 && lists(r, 1) && lists(r, 2), "connect, 1st: %s", r);
	CHECK(count_threads(exchange(THREADS_XFER)) == 2, "connect, 2nd: %s", reply);
	CHECK(count_threads(exchange(THREADS_XFER)) == 20, "info threads: %s", reply);
	CHECK(count_threads(exchange(THREADS_XFER)) == 20, "info threads again: %s", reply);

	/* thread 7 (GDB's T7), then a stop in thread 12 */
	CHECK(!strcmp(exchange("T7"), "OK"), "T7: %s", reply);
	kstub_session_stop(&sess, 12, KSTUB_SIGTRAP, 0, 0);
	r = exchange(THREADS_XFER);
	CHECK(count_threads(r) == 4 && lists(r, 7) && lists(r, 12) && !lists(r, 3),
	      "the stop's list: %s", r);
	CHECK(count_threads(exchange(THREADS_XFER)) == 20, "then info threads: %s", reply);

	/* the short list in windows adds up to the same list */
	kstub_session_stop(&sess, 12, KSTUB_SIGTRAP, 0, 0);
	snprintf(whole, sizeof(whole), "%s", exchange(THREADS_XFER) + 1);
	kstub_session_stop(&sess, 12, KSTUB_SIGTRAP, 0, 0);
	for (n = 0, off = 0; ; off += 0x13) {
		snprintf(part, sizeof(part), "qXfer:threads:read::%zx,13", off);
		r = exchange(part);
		if (strncmp(whole + n, r + 1, strlen(r + 1))) {
			CHECK(0, "window at %zu differs: %s", off, r);
			break;
		}
		n += strlen(r + 1);
		if (r[0] != 'm')
			break;
	}
	CHECK(n == strlen(whole) && count_threads(whole) == 4, "windows: %zu of %zu", n,
	      strlen(whole));

	/* qfThreadInfo the same way */
	kstub_session_stop(&sess, 3, KSTUB_SIGTRAP, 0, 0);
	CHECK(!strcmp(exchange("qfThreadInfo"), "m1,2,3,7"), "qf at a stop: %s", reply);
	CHECK(!strcmp(exchange("qsThreadInfo"), "l"), "qs at a stop: %s", reply);
	CHECK(!strncmp(exchange("qfThreadInfo"), "m1,2,3,4,5,", 11), "qf then: %s", reply);

	/* monitor threads all */
	sess.threads_all = true;
	kstub_session_stop(&sess, 3, KSTUB_SIGTRAP, 0, 0);
	CHECK(count_threads(exchange(THREADS_XFER)) == 20, "threads all: %s", reply);
	sess.threads_all = false;

	/* a new GDB: what the last one selected is not kept */
	kstub_session_new_client(&sess);
	kstub_session_stop(&sess, 1, KSTUB_SIGTRAP, 0, 0);
	exchange("?");
	r = exchange(THREADS_XFER);
	CHECK(count_threads(r) == 2 && !lists(r, 7), "a new GDB's list: %s", r);
}

static void test_thread_xml(void)
{
	static char whole[4096];
	char part[64];
	size_t n, off, size;
	const char *r;

	reset(false);
	r = exchange("qXfer:threads:read::0,fff");
	CHECK(r[0] == 'l' && strstr(r, "<threads>"), "threads xml: %.40s", r);
	CHECK(strstr(r, "<thread id=\"1\" core=\"0\" name=\"swapper/0\">CPU 0</thread>") != NULL,
	      "thread 1 element: %s", r);
	CHECK(strstr(r, "<thread id=\"2\" core=\"1\" name=\"a&lt;b&gt;&amp;&quot;c&quot;??\">"
		     "CPU 1</thread>") != NULL, "names are escaped: %s", r);
	CHECK(!memchr(out, '\n', out_len) && !memchr(out, '\r', out_len),
	      "no newline on the wire (tty= turns it into \\r\\n)");
	snprintf(whole, sizeof(whole), "%s", r + 1);
	/* in small windows of every size, which cut entities anywhere */
	for (size = 1; size <= 0x25; size++) {
		for (n = 0, off = 0; ; off += size) {
			snprintf(part, sizeof(part), "qXfer:threads:read::%zx,%zx", off, size);
			r = exchange(part);
			CHECK(r[0] == 'm' || r[0] == 'l', "window at %zu: %s", off, r);
			if (strlen(r + 1) > size || strncmp(whole + n, r + 1, strlen(r + 1))) {
				CHECK(0, "window %zu at %zu differs: %s", size, off, r);
				break;
			}
			n += strlen(r + 1);
			if (r[0] == 'l')
				break;
		}
		CHECK(n == strlen(whole), "windows of %zu add up: %zu of %zu", size, n,
		      strlen(whole));
	}
	CHECK(exchange("qXfer:threads:read::1000,20")[0] == 'l', "past the end");
	CHECK(!strcmp(exchange("qXfer:threads:read:x:0,20"), "E16"), "an annex is refused");
	CHECK(strstr(exchange("qSupported"), "qXfer:threads:read+") != NULL, "offered");
}

static void test_library_xml(void)
{
	static const char want[] =
		"<library-list><library name=\"a_mod.ko\">"
		"<section address=\"0xffffffffc0000000\"/><section address=\"0x0\"/>"
		"<section address=\"0xffffffffc0002000\"/></library>"
		"<library name=\"b&amp;c.ko\"><section address=\"0x10\"/></library>"
		"</library-list>";
	static char whole[1024];
	char part[64];
	size_t off;
	const char *r;

	reset(false);
	CHECK(strstr(exchange("qSupported"), ";qXfer:libraries:read+") != NULL, "offered");
	r = exchange("qXfer:libraries:read::0,fff");
	CHECK(r[0] == 'l' && !strcmp(r + 1, want), "library list: %s", r);
	whole[0] = 0;
	for (off = 0; ; off += 0x1d) {
		snprintf(part, sizeof(part), "qXfer:libraries:read::%zx,1d", off);
		r = exchange(part);
		CHECK(r[0] == 'm' || r[0] == 'l', "window at %zu: %s", off, r);
		if (strlen(whole) + strlen(r + 1) >= sizeof(whole))
			break;
		strcat(whole, r + 1);
		if (r[0] != 'm')
			break;
	}
	CHECK(!strcmp(whole, want), "windows add up: %s", whole);
	CHECK(!strcmp(exchange("qXfer:libraries:read:x:0,20"), "E16"), "an annex is refused");
}

static const char *hex_of(const char *text)
{
	static char buf[256];
	size_t i;

	for (i = 0; text[i] && 2 * i + 2 < sizeof(buf); i++)
		sprintf(buf + 2 * i, "%02x", (u8)text[i]);
	return buf;
}

/* the reply after any O packets */
static const char *final_reply(void)
{
	size_t i = out_len;
	int n;

	while (i && out[i - 1] != '$')
		i--;
	if (!i)
		return "<none>";
	n = naive_unframe(out + i - 1, out_len - i + 1, reply, sizeof(reply) - 1);
	reply[n < 0 ? 0 : n] = 0;
	return reply;
}

static void test_monitor(void)
{
	char pkt[300];
	const char *o;

	reset(false);
	snprintf(pkt, sizeof(pkt), "qRcmd,%s", hex_of("echo hi there"));
	exchange(pkt);
	CHECK(!strcmp(final_reply(), "OK"), "monitor echo: %s", reply);
	o = strstr(out, "$O");
	CHECK(o && !strncmp(o + 2, hex_of("hi there"), 16), "output as an O packet: %.*s",
	      (int)out_len, out);
	CHECK(o && o < strstr(out, "$OK"), "output before OK");
	snprintf(pkt, sizeof(pkt), "qRcmd,%s", hex_of("fail"));
	CHECK(!strcmp(exchange(pkt), "E05"), "failing command: %s", reply);
	snprintf(pkt, sizeof(pkt), "qRcmd,%s", hex_of("bogus"));
	exchange(pkt);
	CHECK(!strcmp(final_reply(), "E02") && strstr(out, "$O"),
	      "unknown command says so, and fails: %s", final_reply());
	CHECK(!strcmp(exchange("qRcmd,4"), "E16"), "odd hex");
}

static void test_breakpoints(void)
{
	u8 orig = 0;
	int i;

	reset(false);
	f_read(NULL, 0x10010, &orig, 1);
	CHECK(kstub_bp_set(&bps, 0x10010) == 0, "set");
	CHECK(kstub_bp_set(&bps, 0x10010) == 0, "set twice is one slot");
	CHECK(mem[0x10] == orig, "Z0 must not patch while stopped");
	CHECK(kstub_bp_activate(&bps) == 0 && mem[0x10] == 0xcc, "activate patches");
	CHECK(kstub_bp_state_at(&bps, 0x10010) == KSTUB_BP_ACTIVE, "active");
	CHECK(kstub_bp_deactivate(&bps) == 0 && mem[0x10] == orig, "stop restores");
	CHECK(kstub_bp_clear(&bps, 0x10010) == 0, "clear");
	CHECK(kstub_bp_known(&bps, 0x10010), "cleared one is remembered");
	CHECK(kstub_bp_state_at(&bps, 0x10010) == KSTUB_BP_FREE, "cleared is not set");
	CHECK(kstub_bp_clear(&bps, 0x10010) == -ENOENT, "clear twice");
	for (i = 0; i < KSTUB_BP_MAX; i++)
		kstub_bp_set(&bps, 0x10100 + i);
	CHECK(kstub_bp_set(&bps, 0x10400) == -ENOSPC, "table full");
	kstub_bp_activate(&bps);
	kstub_bp_clear_all(&bps);
	for (i = 0; i < KSTUB_BP_MAX; i++)
		if (mem[0x100 + i] == 0xcc)
			break;
	CHECK(i == KSTUB_BP_MAX, "clear_all restores every byte");
	/* text that has gone: taken, never written, forgotten at a stop */
	reset(false);
	mem[MEM_SIZE - 0x10] = 0x90;
	CHECK(!strcmp(exchange("Z0,17ff0,1"), "OK"), "a breakpoint in gone text is taken");
	CHECK(kstub_bp_activate(&bps) == 0 && mem[MEM_SIZE - 0x10] == 0x90,
	      "and never written");
	CHECK(!strcmp(exchange("z0,17ff0,1"), "OK"), "and removed");
	CHECK(!kstub_bp_in_range(&bps, 0x17f00, 0x18000), "nothing wanted there");
	CHECK(!strcmp(exchange("Z0,17e00,1"), "OK"), "set just before it");
	CHECK(kstub_bp_in_range(&bps, 0x17e00, 0x17f00), "wanted in range");
	CHECK(!kstub_bp_in_range(&bps, 0x17e01, 0x18000), "range is half open");
	kstub_bp_forget_gone(&bps);
	CHECK(kstub_bp_state_at(&bps, 0x17e00) == KSTUB_BP_SET, "live text is kept");
	/* text that went while its breakpoint was written in */
	reset(false);
	exchange("Z0,17000,1");
	exchange("Z0,16000,1");
	CHECK(kstub_bp_activate(&bps) == 0 && mem[0x7000] == 0xcc, "written in");
	gone_from = 0x17000;
	CHECK(kstub_bp_deactivate(&bps) == 1 && mem[0x7000] == 0xcc && mem[0x6000] != 0xcc,
	      "gone text is not written at a stop");
	kstub_bp_forget_gone(&bps);
	CHECK(kstub_bp_state_at(&bps, 0x17000) == KSTUB_BP_FREE &&
	      kstub_bp_state_at(&bps, 0x16000) == KSTUB_BP_SET, "and its breakpoint is dropped");
	mem[0x7000] = 0x90;
	CHECK(kstub_bp_activate(&bps) == 0 && mem[0x7000] == 0x90 && mem[0x6000] == 0xcc,
	      "and never written again");
	gone_from = ~0ULL;
	/* D removes all breakpoints */
	reset(false);
	exchange("Z0,10020,1");
	exchange("D");
	CHECK(kstub_bp_state_at(&bps, 0x10020) == KSTUB_BP_FREE, "D clears breakpoints");
}

/* A breakpoint kstub had to take out (it ran into it itself) stays out. */
static void test_breakpoint_refused(void)
{
	u8 orig;

	reset(false);
	orig = mem[0x30];
	CHECK(!strcmp(exchange("Z0,10030,1"), "OK"), "set");
	CHECK(kstub_bp_refuse(&bps, 0x10030) == 0 && mem[0x30] == orig, "refuse while set");
	CHECK(!strcmp(exchange("Z0,10031,1"), "OK"), "another one");
	kstub_bp_activate(&bps);
	CHECK(kstub_bp_refuse(&bps, 0x10031) == 0 && mem[0x31] != 0xcc,
	      "refusing a written one puts its byte back");
	CHECK(kstub_bp_known(&bps, 0x10031), "a refused one is known for late traps");
	CHECK(kstub_bp_state_at(&bps, 0x10031) == KSTUB_BP_REFUSED, "and refused");
	CHECK(!strcmp(exchange("z0,10031,1"), "OK"), "GDB may remove it");
	CHECK(!strncmp(exchange("Z0,10031,1"), "E", 1), "but never insert it again");
	CHECK(kstub_bp_activate(&bps) == 0 && mem[0x31] != 0xcc, "and it is never written");
	CHECK(kstub_bp_refuse(&bps, 0x10040) == -ENOENT, "refusing nothing");
	/* its bytes cannot go back: it stays in, as it was */
	exchange("Z0,17100,1");
	kstub_bp_activate(&bps);
	gone_from = 0x17000;
	CHECK(kstub_bp_refuse(&bps, 0x17100) == -EIO &&
	      kstub_bp_state_at(&bps, 0x17100) == KSTUB_BP_ACTIVE, "a refusal that cannot patch");
	gone_from = ~0ULL;
}

/*
 * A GDB that died left its breakpoints in; the next one knows nothing of
 * them: they go at its first qSupported, before it resumes the kernel.
 */
static void test_new_gdb_drops_breakpoints(void)
{
	reset(false);
	exchange("Z0,10050,1");
	CHECK(kstub_bp_state_at(&bps, 0x10050) == KSTUB_BP_SET, "GDB #1's breakpoint");
	kstub_session_new_client(&sess);
	exchange("qSupported:multiprocess+;swbreak+");
	CHECK(kstub_bp_state_at(&bps, 0x10050) == KSTUB_BP_FREE, "gone for GDB #2");
	exchange("?");
	exchange("vCont;c");
	CHECK(kstub_bp_activate(&bps) == 0 && mem[0x50] != 0xcc, "and not written at its resume");
}

/* A breakpoint whose bytes cannot go back when GDB removes it. */
static void test_breakpoint_stale(void)
{
	char want[8], around[8];
	u8 orig;

	reset(false);
	orig = mem[0x60];
	snprintf(want, sizeof(want), "%02x", orig);
	exchange("Z0,10060,1");
	kstub_bp_activate(&bps);
	CHECK(mem[0x60] == 0xcc, "written in at the resume");
	/* the next stop cannot take it out */
	patch_fails = true;
	CHECK(kstub_bp_deactivate(&bps) == 1 && mem[0x60] == 0xcc, "stays in at the stop");
	CHECK(!strcmp(exchange("m10060,1"), want), "GDB reads the original byte: %s", reply);
	CHECK(!strcmp(exchange("z0,10060,1"), "OK"), "GDB may remove it");
	CHECK(kstub_bp_state_at(&bps, 0x10060) == KSTUB_BP_STALE && kstub_bp_any_stale(&bps),
	      "kstub still owes its bytes");
	snprintf(around, sizeof(around), "%02x%02x%02x", mem[0x5f], orig, mem[0x61]);
	CHECK(!strcmp(exchange("m1005f,3"), around), "and around it: %s", reply);
	CHECK(kstub_bp_activate(&bps) == 0 && mem[0x60] == 0xcc, "not written again, not lost");
	CHECK(kstub_bp_restore_stale(&bps) == 1, "still cannot go back");
	/* GDB wants it again while it is still there: nothing to read back */
	CHECK(!strcmp(exchange("Z0,10060,1"), "OK") &&
	      kstub_bp_state_at(&bps, 0x10060) == KSTUB_BP_ACTIVE, "wanted again");
	CHECK(!strcmp(exchange("z0,10060,1"), "OK"), "and removed again");
	/* the deferred work, or the next stop, can patch now */
	patch_fails = false;
	CHECK(kstub_bp_restore_stale(&bps) == 0 && mem[0x60] == orig &&
	      kstub_bp_state_at(&bps, 0x10060) == KSTUB_BP_FREE && !kstub_bp_any_stale(&bps),
	      "its bytes are back");
	/* one left stale goes back at a stop */
	exchange("Z0,10061,1");
	kstub_bp_activate(&bps);
	patch_fails = true;
	kstub_bp_deactivate(&bps);
	exchange("z0,10061,1");
	patch_fails = false;
	CHECK(kstub_bp_deactivate(&bps) == 0 && mem[0x61] != 0xcc, "back at the next stop");
}

static void test_session_end(void)
{
	reset(false);
	out_len = 0;
	kstub_session_end(&sess);
	CHECK(!out_len, "nothing for a GDB that never talked");
	exchange("?");
	out_len = 0;
	kstub_session_end(&sess);
	CHECK(!strcmp(last_reply(), "W00"), "GDB is told the target exited: %s", last_reply());
	CHECK(!sess.connected && !sess.no_ack, "and forgotten");
}

static void test_tdesc(void)
{
	static const struct kstub_flag_desc fl[] = { { "IF", 9 }, { NULL, 0 } };
	static const struct kstub_reg_desc regs[] = {
		{ .feature = "org.test.core", .name = "r0", .bits = 64, .type = "int64" },
		{ .name = "flags", .bits = 32, .type = "t_flags", .flags = fl },
		{ .feature = "org.test.fp", .name = "f0", .bits = 80, .type = "i387_ext" },
		{ .name = "fctrl", .bits = 32, .type = "int" },
	};
	static const char want[] =
		"<target version=\"1.0\"><architecture>test</architecture><osabi>none</osabi>"
		"<feature name=\"org.test.core\">"
		"<reg name=\"r0\" bitsize=\"64\" type=\"int64\"/>"
		"<flags id=\"t_flags\" size=\"4\"><field name=\"IF\" start=\"9\" end=\"9\"/></flags>"
		"<reg name=\"flags\" bitsize=\"32\" type=\"t_flags\"/></feature>"
		"<feature name=\"org.test.fp\"><reg name=\"f0\" bitsize=\"80\" type=\"i387_ext\"/>"
		"<reg name=\"fctrl\" bitsize=\"32\"/></feature></target>";
	char buf[1024];
	size_t n = kstub_tdesc_build(buf, sizeof(buf), "test", regs, 4);

	CHECK(n == strlen(want) && !strcmp(buf, want), "tdesc:\n%s", buf);
	CHECK(kstub_tdesc_build(buf, 100, "test", regs, 4) == 0, "tdesc overflow reported");
	n = kstub_tdesc_build(buf, sizeof(buf), "test", NULL, 0);
	CHECK(n && !strcmp(buf, "<target version=\"1.0\"><architecture>test</architecture>"
			   "<osabi>none</osabi></target>"), "tdesc without registers:\n%s", buf);
}

int main(void)
{
	test_tdesc();
	test_vectors();
	test_resume_actions();
	test_thread_list_walk();
	test_registers_by_thread();
	test_memory_write_then_read();
	test_framing_errors();
	test_overflow();
	test_big_read_and_rle();
	test_frame_differential();
	test_frame_hex_differential();
	test_frame_output();
	test_thread_xml();
	test_short_thread_list();
	test_library_xml();
	test_monitor();
	test_no_ack();
	test_hw_slots();
	test_stop_reply();
	test_interrupt_while_stopped();
	test_breakpoints();
	test_breakpoint_refused();
	test_new_gdb_drops_breakpoints();
	test_session_end();
	test_breakpoint_stale();
	printf("host: %d checks passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
