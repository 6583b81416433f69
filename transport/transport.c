// SPDX-License-Identifier: GPL-2.0
/*
 * Which transport carries GDB: the table of those kstub knows, whether
 * this build carries each, and the parameters that name one (uart=,
 * virtio=, tty=). With none named, the first whose probe says yes: a
 * single-port virtio console if the machine has one (that is what such a
 * device is for), else the architecture's UART.
 */
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include "transport.h"

/* what uart= takes: the architecture's UART (kstub_transport_uart) */
#ifdef CONFIG_ARM64
#define KSTUB_UART_HELP "pl011 (the first in the device tree) or mmio:<address>"
#define KSTUB_UART_DEFAULT "pl011"
#else
#define KSTUB_UART_HELP "ttyS<N> or an I/O port such as io:0x2f8"
#define KSTUB_UART_DEFAULT "ttyS1"
#endif

static char *kstub_uart;
module_param_named(uart, kstub_uart, charp, 0444);
MODULE_PARM_DESC(uart, "GDB on a UART: " KSTUB_UART_HELP " (default " KSTUB_UART_DEFAULT ")");

static char *kstub_virtio;
module_param_named(virtio, kstub_virtio, charp, 0444);
MODULE_PARM_DESC(virtio, "GDB on a virtio console device of its own: auto or virtio<N>");

static char *kstub_tty;
module_param_named(tty, kstub_tty, charp, 0444);
MODULE_PARM_DESC(tty, "GDB on a tty it shares, as kgdboc: <tty>[,<baud>] (without CONFIG_CONSOLE_POLL: a console's 16550 or PL011)");

/**
 * struct kstub_transport_row - one row of the table
 * @param: its parameter's name, and its own name in dmesg.
 * @arg: the parameter's value, NULL if not given.
 * @io: its ops, NULL if this build cannot carry it.
 * @why_not: if @io is NULL, why; said with what to use instead.
 */
struct kstub_transport_row {
	const char *param;
	char **arg;
	const struct kstub_transport_ops *io;
	const char *why_not;
};

/* in the order kstub tries them when no parameter names one */
static const struct kstub_transport_row kstub_transports[] = {
	{ "virtio", &kstub_virtio, IS_ENABLED(CONFIG_KSTUB_VIRTIO) ? &kstub_transport_virtio : NULL,
	  "this kernel has no built-in virtio; use uart= (" KSTUB_UART_HELP ")" },
	{ "tty", &kstub_tty, &kstub_transport_tty, NULL },
	{ "uart", &kstub_uart, &kstub_transport_uart, NULL },
};

/**
 * kstub_transport_pick() - the transport to use, and what to give its init
 * @io: set to its ops
 * @arg: set to its argument
 *
 * Context: process, module init.
 * Return: 0, or -EINVAL with one line in dmesg that names the parameter.
 */
int kstub_transport_pick(const struct kstub_transport_ops **io, const char **arg)
{
	const struct kstub_transport_row *t, *named = NULL;
	int given = 0;

	for (t = kstub_transports; t < kstub_transports + ARRAY_SIZE(kstub_transports); t++) {
		if (*t->arg) {
			named = t;
			given++;
		}
	}
	if (given > 1) {
		pr_err("uart=%s virtio=%s tty=%s: give kstub one transport, not several\n",
		       kstub_uart ?: "", kstub_virtio ?: "", kstub_tty ?: "");
		return -EINVAL;
	}
	if (named && !named->io) {
		pr_err("%s=%s: %s\n", named->param, *named->arg, named->why_not);
		return -EINVAL;
	}
	for (t = kstub_transports; t < kstub_transports + ARRAY_SIZE(kstub_transports); t++)
		if (!named && t->io && t->io->probe && t->io->probe())
			named = t;
	/* the UART needs no probe: it is the default, the table's last row */
	if (!named)
		named = &kstub_transports[ARRAY_SIZE(kstub_transports) - 1];
	*io = named->io;
	*arg = *named->arg ?: named->io->default_arg;
	return 0;
}

/**
 * kstub_transport_request_irq() - a UART's receive interrupt, shared
 * @irq: the UART's, 0 or less if it has none
 * @handler: what tells the core a byte came (kstub_rx_irq())
 * @dev: the UART's cookie, for free_irq()
 *
 * Without it GDB cannot interrupt a running kernel, which dmesg says; a
 * stopped kernel polls the UART either way.
 * Context: process, module init.
 * Return: @irq, or 0 when there is none to have.
 */
int kstub_transport_request_irq(int irq, irq_handler_t handler, void *dev)
{
	if (irq <= 0)
		return 0;
	/*
	 * In hard interrupt context, where the break-in steps into the code
	 * the interrupt came from; a line shared with a handler the kernel
	 * threads (PREEMPT_RT threads them all) refuses that, and kstub's
	 * handler is then threaded too (kstub_rx_irq() copes).
	 */
	if (!request_irq(irq, handler, IRQF_SHARED | IRQF_NO_THREAD, "kstub", dev))
		return irq;
	if (request_irq(irq, handler, IRQF_SHARED, "kstub", dev)) {
		pr_warn("uart: IRQ %d is busy; GDB cannot interrupt a running kernel\n", irq);
		return 0;
	}
	return irq;
}
