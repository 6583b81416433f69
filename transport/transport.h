/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the transports share among themselves, and nothing outside transport/
 * needs: their ops, for transport.c's table, and the receive interrupt
 * the UARTs take to let GDB in while the kernel runs.
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

#endif /* KSTUB_TRANSPORT_H */
