/* SPDX-License-Identifier: GPL-2.0 */
/*
 * GDB remote serial protocol framing: a byte-fed receiver and a reply
 * framer. Neither touches the wire; the transport pushes bytes in and
 * takes framed bytes out.
 */
#ifndef KSTUB_PACKET_H
#define KSTUB_PACKET_H

#include "kstub_env.h"

/* GDB's interrupt: a byte of its own, outside any packet */
#define KSTUB_CTRL_C	0x03

enum kstub_rx_state {
	KSTUB_RX_IDLE,		/* between packets: acks, Ctrl-C, noise */
	KSTUB_RX_DATA,		/* after '$' */
	KSTUB_RX_ESCAPE,	/* after '}' inside data */
	KSTUB_RX_CSUM_HI,	/* after '#' */
	KSTUB_RX_CSUM_LO,
};

enum kstub_rx_event {
	KSTUB_RX_NONE,		/* byte consumed, nothing complete */
	KSTUB_RX_PACKET,	/* a packet with a good checksum is in buf */
	KSTUB_RX_BAD_CSUM,	/* framing or checksum error: NAK it */
	KSTUB_RX_OVERFLOW,	/* good checksum, but longer than buf */
	KSTUB_RX_ACK,
	KSTUB_RX_NAK,
	KSTUB_RX_INTERRUPT,	/* Ctrl-C outside a packet */
};

struct kstub_rx {
	u8 *buf;		/* unescaped payload, NUL terminated */
	size_t cap;		/* size of buf, including the NUL */
	size_t len;
	enum kstub_rx_state state;
	u8 sum;			/* running checksum of the raw bytes */
	u8 csum;		/* checksum received after '#' */
	bool overflow;
};

void kstub_rx_init(struct kstub_rx *rx, u8 *buf, size_t cap);
enum kstub_rx_event kstub_rx_feed(struct kstub_rx *rx, u8 c);

/**
 * kstub_frame() - frame a reply payload for the wire
 * @payload: reply bytes (binary allowed)
 * @len: number of payload bytes
 * @out: destination, "$...#xx"
 * @cap: size of @out
 * @rle: run-length encode runs (GDB always accepts it in replies)
 *
 * Return: number of bytes written to @out, or 0 if @out is too small.
 */
size_t kstub_frame(const u8 *payload, size_t len, u8 *out, size_t cap, bool rle);

/**
 * kstub_frame_hex() - frame the hex digits of binary bytes as a reply
 * @bin: the bytes (a memory read's)
 * @len: how many
 * @out: destination, "$<hex>#xx"
 * @cap: size of @out
 * @rle: run-length encode runs of digits
 *
 * What kstub_frame() makes of the bytes' hex digits, without spelling them
 * out first: memory reads are the bulk of what GDB asks for.
 * Return: number of bytes written to @out, or 0 if @out is too small.
 */
size_t kstub_frame_hex(const u8 *bin, size_t len, u8 *out, size_t cap, bool rle);

/**
 * kstub_frame_output() - frame console text as an 'O' packet
 * @text: the text, any bytes
 * @len: its length
 * @taken: set to how much of @text fitted
 * @out: destination, "$O<hex>#xx"
 * @cap: size of @out
 *
 * GDB prints an 'O' packet's text while it waits for the target to stop.
 * Return: number of bytes written to @out; 0 if nothing fitted.
 */
size_t kstub_frame_output(const u8 *text, size_t len, size_t *taken, u8 *out,
			  size_t cap);

int kstub_hex_val(u8 c);

static inline char kstub_hex_digit(unsigned int v)
{
	return "0123456789abcdef"[v & 0xf];
}

#endif /* KSTUB_PACKET_H */
