// SPDX-License-Identifier: GPL-2.0
/*
 * RSP framing. Atomic-safe: no allocation, no locks, called from the trap
 * path with the transport's bytes.
 */
#include "packet.h"

enum {
	KSTUB_ESCAPE_XOR = 0x20,
	KSTUB_CTRL_C = 0x03,
	/* a run count is sent as (n - 1 + 29), printable and never '#'/'$' */
	KSTUB_RLE_BIAS = 29,
	KSTUB_RLE_MIN = 4,
	KSTUB_RLE_MAX = 97,
};

int kstub_hex_val(u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void kstub_rx_init(struct kstub_rx *rx, u8 *buf, size_t cap)
{
	rx->buf = buf;
	rx->cap = cap;
	rx->len = 0;
	rx->state = KSTUB_RX_IDLE;
	rx->sum = 0;
	rx->csum = 0;
	rx->overflow = false;
}

static void kstub_rx_start(struct kstub_rx *rx)
{
	rx->state = KSTUB_RX_DATA;
	rx->len = 0;
	rx->sum = 0;
	rx->overflow = false;
}

static void kstub_rx_store(struct kstub_rx *rx, u8 c)
{
	if (rx->len + 1 < rx->cap)
		rx->buf[rx->len++] = c;
	else
		rx->overflow = true;
}

static enum kstub_rx_event kstub_rx_idle(u8 c)
{
	switch (c) {
	case '+':
		return KSTUB_RX_ACK;
	case '-':
		return KSTUB_RX_NAK;
	case KSTUB_CTRL_C:
		return KSTUB_RX_INTERRUPT;
	default:
		return KSTUB_RX_NONE;
	}
}

enum kstub_rx_event kstub_rx_feed(struct kstub_rx *rx, u8 c)
{
	int v;

	/* '$' always starts over: GDB resends whole packets after a NAK */
	if (c == '$' && rx->state != KSTUB_RX_ESCAPE) {
		kstub_rx_start(rx);
		return KSTUB_RX_NONE;
	}

	switch (rx->state) {
	case KSTUB_RX_IDLE:
		return kstub_rx_idle(c);
	case KSTUB_RX_DATA:
		if (c == '#') {
			rx->state = KSTUB_RX_CSUM_HI;
			return KSTUB_RX_NONE;
		}
		rx->sum += c;
		if (c == '}')
			rx->state = KSTUB_RX_ESCAPE;
		else
			kstub_rx_store(rx, c);
		return KSTUB_RX_NONE;
	case KSTUB_RX_ESCAPE:
		rx->sum += c;
		kstub_rx_store(rx, c ^ KSTUB_ESCAPE_XOR);
		rx->state = KSTUB_RX_DATA;
		return KSTUB_RX_NONE;
	case KSTUB_RX_CSUM_HI:
		v = kstub_hex_val(c);
		if (v < 0)
			break;
		rx->csum = v << 4;
		rx->state = KSTUB_RX_CSUM_LO;
		return KSTUB_RX_NONE;
	case KSTUB_RX_CSUM_LO:
		v = kstub_hex_val(c);
		if (v < 0)
			break;
		rx->csum |= v;
		rx->state = KSTUB_RX_IDLE;
		rx->buf[rx->len] = '\0';
		if (rx->csum != rx->sum)
			return KSTUB_RX_BAD_CSUM;
		return rx->overflow ? KSTUB_RX_OVERFLOW : KSTUB_RX_PACKET;
	}
	rx->state = KSTUB_RX_IDLE;
	return KSTUB_RX_BAD_CSUM;
}

static bool kstub_needs_escape(u8 c)
{
	return c == '$' || c == '#' || c == '}' || c == '*';
}

static size_t kstub_run_length(const u8 *p, size_t left)
{
	size_t n = 1;

	while (n < left && n < KSTUB_RLE_MAX && p[n] == p[0])
		n++;
	/* counts that would encode as '#' or '$' are cut short */
	while (n - 1 + KSTUB_RLE_BIAS == '#' || n - 1 + KSTUB_RLE_BIAS == '$')
		n--;
	return n;
}

size_t kstub_frame(const u8 *payload, size_t len, u8 *out, size_t cap, bool rle)
{
	size_t i = 0, o = 0, n;
	u8 sum = 0, c;

	if (cap < 4)
		return 0;
	out[o++] = '$';
	while (i < len) {
		c = payload[i];
		if (o + 3 + 3 > cap)
			return 0;
		if (kstub_needs_escape(c)) {
			out[o++] = '}';
			out[o++] = c ^ KSTUB_ESCAPE_XOR;
			sum += '}' + (c ^ KSTUB_ESCAPE_XOR);
			i++;
			continue;
		}
		out[o++] = c;
		sum += c;
		/* most bytes start no run: look further only when one might */
		if (!rle || i + KSTUB_RLE_MIN > len || payload[i + 1] != c ||
		    payload[i + 2] != c || payload[i + 3] != c) {
			i++;
			continue;
		}
		n = kstub_run_length(payload + i, len - i);
		if (n >= KSTUB_RLE_MIN) {
			out[o++] = '*';
			out[o++] = n - 1 + KSTUB_RLE_BIAS;
			sum += '*' + (u8)(n - 1 + KSTUB_RLE_BIAS);
		} else {
			n = 1;
		}
		i += n;
	}
	out[o++] = '#';
	out[o++] = kstub_hex_digit(sum >> 4);
	out[o++] = kstub_hex_digit(sum);
	return o;
}

/*
 * @n of digit @c as RLE chunks, each "c*<count>" or, for the last few, the
 * digits themselves. Returns the new output position, or 0 past @end.
 */
static size_t kstub_put_run(u8 *out, size_t o, size_t end, u8 c, size_t n,
			    u8 *sum)
{
	size_t k;

	while (n) {
		k = kstub_min(n, KSTUB_RLE_MAX);
		/* counts that would encode as '#' or '$' are cut short */
		while (k - 1 + KSTUB_RLE_BIAS == '#' || k - 1 + KSTUB_RLE_BIAS == '$')
			k--;
		if (o + kstub_min(k, 3) > end)
			return 0;
		n -= k;
		if (k < KSTUB_RLE_MIN) {
			for (; k; k--) {
				out[o++] = c;
				*sum += c;
			}
			continue;
		}
		out[o++] = c;
		out[o++] = '*';
		out[o++] = k - 1 + KSTUB_RLE_BIAS;
		*sum += c + '*' + (u8)(k - 1 + KSTUB_RLE_BIAS);
	}
	return o;
}

size_t kstub_frame_hex(const u8 *bin, size_t len, u8 *out, size_t cap, bool rle)
{
	size_t i = 0, o = 0, run;
	u8 sum = 0, b, hi, lo;

	if (cap < 4)
		return 0;
	out[o++] = '$';
	while (i < len) {
		if (o + 2 + 3 > cap)
			return 0;
		b = bin[i++];
		hi = kstub_hex_digit(b >> 4);
		lo = kstub_hex_digit(b);
		out[o++] = hi;
		out[o++] = lo;
		sum += hi + lo;
		/*
		 * Hex digits never need escaping. Runs are looked for only
		 * where memory has them, repeats of a byte whose two digits
		 * match (00, ff, cc).
		 */
		if (!rle || hi != lo || i >= len || bin[i] != b)
			continue;
		for (run = 1; i < len && bin[i] == b; i++)
			run++;
		/* the run's first byte is sent again, as part of it */
		sum -= hi + lo;
		o = kstub_put_run(out, o - 2, cap - 3, lo, 2 * run, &sum);
		if (!o)
			return 0;
	}
	out[o++] = '#';
	out[o++] = kstub_hex_digit(sum >> 4);
	out[o++] = kstub_hex_digit(sum);
	return o;
}

size_t kstub_frame_output(const u8 *text, size_t len, size_t *taken, u8 *out,
			  size_t cap)
{
	size_t i, o = 0;
	u8 sum = 'O';
	char hi, lo;

	*taken = 0;
	/* "$O", two digits a byte, "#xx"; "O" alone would mean nothing */
	if (!len || cap < 7)
		return 0;
	out[o++] = '$';
	out[o++] = 'O';
	for (i = 0; i < len && o + 2 + 3 <= cap; i++) {
		hi = kstub_hex_digit(text[i] >> 4);
		lo = kstub_hex_digit(text[i]);
		out[o++] = hi;
		out[o++] = lo;
		sum += hi + lo;
	}
	out[o++] = '#';
	out[o++] = kstub_hex_digit(sum >> 4);
	out[o++] = kstub_hex_digit(sum);
	*taken = i;
	return o;
}
