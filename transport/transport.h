/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the transports share among themselves, and nothing outside transport/
 * needs: their ops, for transport.c's table, the receive interrupt the
 * UARTs take to let GDB in while the kernel runs, and the ways tty= reaches
 * a line whose kernel driver keeps the port.
 */
#ifndef KSTUB_TRANSPORT_H
#define KSTUB_TRANSPORT_H

#include <linux/interrupt.h>
#include "kstub.h"

/* the arch's UART (a 16550 or a PL011), virtio, tty */
extern const struct kstub_transport_ops kstub_transport_uart;
extern const struct kstub_transport_ops kstub_transport_virtio;
extern const struct kstub_transport_ops kstub_transport_tty;

int kstub_transport_request_irq(int irq, irq_handler_t handler, void *dev);

struct tty_driver;
struct tty_port;
struct uart_port;

/**
 * struct kstub_line_ops - how tty= moves bytes on a line whose kernel
 * driver keeps the port (transport/tty.c holds what the ways share)
 * @how: said in dmesg, after "shared through".
 * @find: the tty @name names ("ttyS0"; @options is NULL or what came
 *	after a comma, "115200" or "115200n8"): its driver, with a reference held, and its line in
 *	@line; ERR_PTR(-ENODEV) when this way cannot reach it and the next
 *	should be tried, another ERR_PTR with one line in dmesg when it
 *	must not be. Process context.
 * @get_char: a received byte, or -1. Atomic-safe.
 * @put_chars: send bytes, waiting for room as needed. Atomic-safe.
 * @release: undo @find, all but the driver's reference. Process context.
 */
struct kstub_line_ops {
	const char *how;
	struct tty_driver *(*find)(const char *name, const char *options, int *line);
	int (*get_char)(void);
	void (*put_chars)(const u8 *buf, size_t len);
	void (*release)(void);
};

/* the driver's polling hooks, as kgdboc (CONFIG_CONSOLE_POLL kernels) */
extern const struct kstub_line_ops kstub_line_poll;
/* the registers of a console's UART, through kstub's own UART code */
extern const struct kstub_line_ops kstub_line_uart;

/* a tty's bytes handed on (tty.c, tty_hello.c): how many were taken */
typedef size_t (*kstub_tty_recv_t)(const u8 *cp, const u8 *fp, size_t count);

/* tty_hello.c: GDB's first bytes told from a user's on an open tty */
void kstub_tty_hello_init(struct tty_port *port, kstub_tty_recv_t pass, kstub_tty_recv_t keep);
void kstub_tty_hello_exit(void);
void kstub_tty_hello_over(void);
bool kstub_tty_hello_pending(void);
size_t kstub_tty_hello_sift(const u8 *cp, const u8 *fp, size_t count);

/*
 * The architecture's UART file, for kstub_line_uart: read and write
 * @port's registers through kstub_transport_uart's get_char and
 * put_chars, with the port left to its driver (its speed, its interrupt).
 * Return: 0, or -EINVAL, said in dmesg, if @port is not of the kind that
 * file drives.
 * Context: process.
 */
int kstub_uart_share(struct uart_port *port, const char *dev_name);
void kstub_uart_unshare(void);

#endif /* KSTUB_TRANSPORT_H */
