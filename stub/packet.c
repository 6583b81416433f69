// SPDX-License-Identifier: GPL-2.0
/*
 * RSP framing. Atomic-safe: no allocation, no locks, called from the trap
 * path with the transport's bytes.
 */
#include "packet.h"

enum {
	KSTUB_ESCAPE_XOR = 0x20,
	/*
	 * a run count is sent as (n - 1 + 29): printable, and never '#' or
	 * '$' (GDB's rule) nor '}' (a reader that unescapes before it expands
	 * runs would take it for an escape)
	 */
	KSTUB_RLE_BIAS = 29,
	KSTUB_RLE_MIN = 4,
	KSTUB_RLE_MAX = 97,
	KSTUB_HEX_SAME = 1 << 24,	/* in kstub_hex_tab: the two digits match */
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

/*
 * @n of @c as RLE chunks, each "c*<count>" or, for the last few, the
 * digits themselves. Returns the new output position, or 0 past @end.
 */
static size_t kstub_put_run(u8 *out, size_t o, size_t end, u8 c, size_t n,
			    u8 *sum)
{
	size_t k;

	while (n) {
		k = kstub_min(n, KSTUB_RLE_MAX);
		/* counts that would encode as '#', '$' or '}' are cut short */
		while (k - 1 + KSTUB_RLE_BIAS == '#' || k - 1 + KSTUB_RLE_BIAS == '$' ||
		       k - 1 + KSTUB_RLE_BIAS == '}')
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
		/* most bytes start no run: look further only when one might */
		if (!rle || i + KSTUB_RLE_MIN > len || payload[i + 1] != c ||
		    payload[i + 2] != c || payload[i + 3] != c) {
			out[o++] = c;
			sum += c;
			i++;
			continue;
		}
		for (n = KSTUB_RLE_MIN; i + n < len && payload[i + n] == c; n++)
			;
		o = kstub_put_run(out, o, cap - 3, c, n, &sum);
		if (!o)
			return 0;
		i += n;
	}
	out[o++] = '#';
	out[o++] = kstub_hex_digit(sum >> 4);
	out[o++] = kstub_hex_digit(sum);
	return o;
}

/*
 * For each byte: its high hex digit (bits 0-7), its low one (8-15), their
 * sum for the checksum (16-23) and whether they are equal (24), so a
 * memory read costs one table load and one add a byte. Made by a loop
 * over 0-255.
 */
static const u32 kstub_hex_tab[256] = {
	0x1603030, 0x0613130, 0x0623230, 0x0633330, 0x0643430, 0x0653530,
	0x0663630, 0x0673730, 0x0683830, 0x0693930, 0x0916130, 0x0926230,
	0x0936330, 0x0946430, 0x0956530, 0x0966630, 0x0613031, 0x1623131,
	0x0633231, 0x0643331, 0x0653431, 0x0663531, 0x0673631, 0x0683731,
	0x0693831, 0x06a3931, 0x0926131, 0x0936231, 0x0946331, 0x0956431,
	0x0966531, 0x0976631, 0x0623032, 0x0633132, 0x1643232, 0x0653332,
	0x0663432, 0x0673532, 0x0683632, 0x0693732, 0x06a3832, 0x06b3932,
	0x0936132, 0x0946232, 0x0956332, 0x0966432, 0x0976532, 0x0986632,
	0x0633033, 0x0643133, 0x0653233, 0x1663333, 0x0673433, 0x0683533,
	0x0693633, 0x06a3733, 0x06b3833, 0x06c3933, 0x0946133, 0x0956233,
	0x0966333, 0x0976433, 0x0986533, 0x0996633, 0x0643034, 0x0653134,
	0x0663234, 0x0673334, 0x1683434, 0x0693534, 0x06a3634, 0x06b3734,
	0x06c3834, 0x06d3934, 0x0956134, 0x0966234, 0x0976334, 0x0986434,
	0x0996534, 0x09a6634, 0x0653035, 0x0663135, 0x0673235, 0x0683335,
	0x0693435, 0x16a3535, 0x06b3635, 0x06c3735, 0x06d3835, 0x06e3935,
	0x0966135, 0x0976235, 0x0986335, 0x0996435, 0x09a6535, 0x09b6635,
	0x0663036, 0x0673136, 0x0683236, 0x0693336, 0x06a3436, 0x06b3536,
	0x16c3636, 0x06d3736, 0x06e3836, 0x06f3936, 0x0976136, 0x0986236,
	0x0996336, 0x09a6436, 0x09b6536, 0x09c6636, 0x0673037, 0x0683137,
	0x0693237, 0x06a3337, 0x06b3437, 0x06c3537, 0x06d3637, 0x16e3737,
	0x06f3837, 0x0703937, 0x0986137, 0x0996237, 0x09a6337, 0x09b6437,
	0x09c6537, 0x09d6637, 0x0683038, 0x0693138, 0x06a3238, 0x06b3338,
	0x06c3438, 0x06d3538, 0x06e3638, 0x06f3738, 0x1703838, 0x0713938,
	0x0996138, 0x09a6238, 0x09b6338, 0x09c6438, 0x09d6538, 0x09e6638,
	0x0693039, 0x06a3139, 0x06b3239, 0x06c3339, 0x06d3439, 0x06e3539,
	0x06f3639, 0x0703739, 0x0713839, 0x1723939, 0x09a6139, 0x09b6239,
	0x09c6339, 0x09d6439, 0x09e6539, 0x09f6639, 0x0913061, 0x0923161,
	0x0933261, 0x0943361, 0x0953461, 0x0963561, 0x0973661, 0x0983761,
	0x0993861, 0x09a3961, 0x1c26161, 0x0c36261, 0x0c46361, 0x0c56461,
	0x0c66561, 0x0c76661, 0x0923062, 0x0933162, 0x0943262, 0x0953362,
	0x0963462, 0x0973562, 0x0983662, 0x0993762, 0x09a3862, 0x09b3962,
	0x0c36162, 0x1c46262, 0x0c56362, 0x0c66462, 0x0c76562, 0x0c86662,
	0x0933063, 0x0943163, 0x0953263, 0x0963363, 0x0973463, 0x0983563,
	0x0993663, 0x09a3763, 0x09b3863, 0x09c3963, 0x0c46163, 0x0c56263,
	0x1c66363, 0x0c76463, 0x0c86563, 0x0c96663, 0x0943064, 0x0953164,
	0x0963264, 0x0973364, 0x0983464, 0x0993564, 0x09a3664, 0x09b3764,
	0x09c3864, 0x09d3964, 0x0c56164, 0x0c66264, 0x0c76364, 0x1c86464,
	0x0c96564, 0x0ca6664, 0x0953065, 0x0963165, 0x0973265, 0x0983365,
	0x0993465, 0x09a3565, 0x09b3665, 0x09c3765, 0x09d3865, 0x09e3965,
	0x0c66165, 0x0c76265, 0x0c86365, 0x0c96465, 0x1ca6565, 0x0cb6665,
	0x0963066, 0x0973166, 0x0983266, 0x0993366, 0x09a3466, 0x09b3566,
	0x09c3666, 0x09d3766, 0x09e3866, 0x09f3966, 0x0c76166, 0x0c86266,
	0x0c96366, 0x0ca6466, 0x0cb6566, 0x1cc6666,
};

size_t kstub_frame_hex(const u8 *bin, size_t len, u8 *out, size_t cap, bool rle)
{
	size_t i = 0, o = 0, run;
	u8 sum = 0, b;
	u32 e;

	if (cap < 4)
		return 0;
	out[o++] = '$';
	while (i < len) {
		if (o + 2 + 3 > cap)
			return 0;
		b = bin[i++];
		e = kstub_hex_tab[b];
		out[o++] = e;
		out[o++] = e >> 8;
		sum += e >> 16;
		/*
		 * Hex digits never need escaping. Runs are looked for only
		 * where memory has them, repeats of a byte whose two digits
		 * match (00, ff, cc).
		 */
		if (!(e & KSTUB_HEX_SAME) || !rle || i >= len || bin[i] != b)
			continue;
		for (run = 1; i < len && bin[i] == b; i++)
			run++;
		/* the run's first byte is sent again, as part of it */
		sum -= e >> 16;
		o = kstub_put_run(out, o - 2, cap - 3, out[o - 1], 2 * run, &sum);
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
