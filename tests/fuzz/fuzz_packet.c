// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for kstub's framing (stub/packet.c): the byte-fed
 * receiver, and the three framers checked against GDB's own rules for
 * reading a reply (gdb/remote.c, read_frame() and remote_unescape_input()).
 *
 * The first input byte picks what is fuzzed; the rest is the data. Every
 * framed reply must decode back to exactly what was framed, with a good
 * checksum, no '$' or '#' inside, and run lengths GDB reads as meant.
 */
#include <stdio.h>
#include <stdlib.h>
#include "packet.h"
#include "gdb_read.h"

enum { FUZZ_CAP = 1 << 17 };

static u8 fuzz_out[FUZZ_CAP];
static u8 fuzz_dec[4 * FUZZ_CAP];
static u8 fuzz_rxbuf[512];

static void fuzz_hex(const u8 *bin, size_t len, u8 *hex)
{
	size_t i;

	for (i = 0; i < len; i++) {
		hex[2 * i] = kstub_hex_digit(bin[i] >> 4);
		hex[2 * i + 1] = kstub_hex_digit(bin[i]);
	}
}

/* Any bytes into the receiver: it never writes past its buffer. */
static void fuzz_rx(const u8 *data, size_t len, size_t cap)
{
	struct kstub_rx rx;
	enum kstub_rx_event ev;
	size_t i;

	kstub_rx_init(&rx, fuzz_rxbuf, cap);
	for (i = 0; i < len; i++) {
		ev = kstub_rx_feed(&rx, data[i]);
		FUZZ_CHECK(rx.len < cap, "receiver past its buffer");
		if (ev == KSTUB_RX_PACKET)
			FUZZ_CHECK(rx.buf[rx.len] == '\0', "packet not terminated");
	}
}

/* A packet framed as GDB frames its own (no runs) is received whole. */
static void fuzz_rx_back(const u8 *f, size_t n, const u8 *data, size_t len)
{
	struct kstub_rx rx;
	size_t i;

	kstub_rx_init(&rx, fuzz_rxbuf, sizeof(fuzz_rxbuf));
	for (i = 0; i < n; i++)
		FUZZ_CHECK(kstub_rx_feed(&rx, f[i]) == KSTUB_RX_NONE, "packet ended early");
	FUZZ_CHECK(kstub_rx_feed(&rx, f[n]) == KSTUB_RX_PACKET, "packet not received");
	FUZZ_CHECK(rx.len == len && !memcmp(rx.buf, data, len), "received other bytes");
}

/*
 * What kstub frames, GDB reads back. A receiver fed the frame (as kstub
 * would read GDB's packets) gets the payload back too.
 */
static void fuzz_frame(const u8 *data, size_t len, bool rle)
{
	size_t n, d;

	n = kstub_frame(data, len, fuzz_out, sizeof(fuzz_out), rle);
	FUZZ_CHECK(n, "a payload that fits was not framed");
	d = fuzz_gdb_unescape(fuzz_dec, fuzz_gdb_read_frame(fuzz_out, n, fuzz_dec));
	FUZZ_CHECK(d == len && !memcmp(fuzz_dec, data, len), "frame does not decode back");
	/* too small an output buffer is refused, never overrun */
	FUZZ_CHECK(!kstub_frame(data, len, fuzz_out, n - 1, rle), "framed into too little room");
	if (!rle && len < sizeof(fuzz_rxbuf))
		fuzz_rx_back(fuzz_out, n - 1, data, len);
}

static void fuzz_frame_hex(const u8 *data, size_t len, bool rle)
{
	static u8 hex[2 * FUZZ_CAP];
	size_t n, d;

	n = kstub_frame_hex(data, len, fuzz_out, sizeof(fuzz_out), rle);
	FUZZ_CHECK(n, "memory that fits was not framed");
	d = fuzz_gdb_read_frame(fuzz_out, n, fuzz_dec);
	fuzz_hex(data, len, hex);
	FUZZ_CHECK(d == 2 * len && !memcmp(fuzz_dec, hex, d), "hex frame does not decode back");
	FUZZ_CHECK(!kstub_frame_hex(data, len, fuzz_out, n - 1, rle),
		   "hex framed into too little room");
}

static void fuzz_frame_output(const u8 *data, size_t len, size_t cap)
{
	static u8 hex[2 * FUZZ_CAP];
	size_t n, d, taken;

	n = kstub_frame_output(data, len, &taken, fuzz_out, cap);
	FUZZ_CHECK(n <= cap, "output framed past its room");
	if (!n) {
		FUZZ_CHECK(!len || cap < 7, "console text not framed");
		return;
	}
	FUZZ_CHECK(taken >= 1 && taken <= len, "output took nothing or too much");
	d = fuzz_gdb_read_frame(fuzz_out, n, fuzz_dec);
	fuzz_hex(data, taken, hex);
	FUZZ_CHECK(d == 1 + 2 * taken && fuzz_dec[0] == 'O' && !memcmp(fuzz_dec + 1, hex, d - 1),
		   "'O' packet does not decode back");
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	u8 how;

	if (!size)
		return 0;
	how = data[0];
	data++;
	size--;
	if (size > FUZZ_CAP / 4)
		size = FUZZ_CAP / 4;
	switch (how % 6) {
	case 0:
		fuzz_rx(data, size, 2 + how / 6 % (sizeof(fuzz_rxbuf) - 2));
		break;
	case 1:
	case 2:
		fuzz_frame(data, size, how % 6 == 1);
		break;
	case 3:
	case 4:
		fuzz_frame_hex(data, size, how % 6 == 3);
		break;
	case 5:
		fuzz_frame_output(data, size, how / 6 + 1);
		break;
	}
	return 0;
}
