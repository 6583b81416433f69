// SPDX-License-Identifier: GPL-2.0
/*
 * kstub's own polled PL011 driver (arm64). The port is found in the device
 * tree (the first "arm,pl011") or given as an MMIO address. If the
 * amba-pl011 driver has it, kstub unbinds that driver while loaded and
 * binds it again on unload. The line speed is left as the firmware or the
 * previous driver set it. For tty= on a console's PL011, the driver keeps
 * the port, and kstub only reads and writes it (kstub_uart_share()).
 */
#include <linux/amba/bus.h>
#include <linux/amba/serial.h>
#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/serial_core.h>
#include <linux/kprobes.h>
#include "transport.h"

enum {
	KSTUB_PL011_SIZE = 0x1000,
	KSTUB_PL011_FIFO = 16,
};

/* set at init, before the transport is up */
static void __iomem *kstub_pl011_base;
static struct device *kstub_pl011_dev;	/* unbound from its driver by us */
static int kstub_pl011_irq;		/* 0: GDB cannot break in */

/* Atomic-safe. */
static int kstub_pl011_get_char(void)
{
	if (readl(kstub_pl011_base + UART01x_FR) & UART01x_FR_RXFE)
		return -1;
	return readl(kstub_pl011_base + UART01x_DR) & 0xff;
}

NOKPROBE_SYMBOL(kstub_pl011_get_char);

/*
 * Atomic-safe. Waits for an empty FIFO, then fills it without looking:
 * every PL011 revision holds at least 16, and each look is a trap to the
 * emulator under QEMU.
 */
static void kstub_pl011_put_chars(const u8 *buf, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		while (!(readl(kstub_pl011_base + UART01x_FR) & UART011_FR_TXFE))
			cpu_relax();
		for (n = 0; n < KSTUB_PL011_FIFO && i < len; n++)
			writel_relaxed(buf[i++], kstub_pl011_base + UART01x_DR);
	}
}

NOKPROBE_SYMBOL(kstub_pl011_put_chars);

/*
 * Clear, then read: a byte that comes after the last read raises the
 * interrupt again. Cleared after the reads, one that came in between was
 * never signalled (QEMU raises RX only as its FIFO goes from empty to one
 * byte), and no byte after it either: line noise silenced break-in for
 * good (test_random_bytes).
 */
static irqreturn_t kstub_pl011_interrupt(int irq, void *unused)
{
	if (!(readl(kstub_pl011_base + UART011_MIS) & (UART011_RXIS | UART011_RTIS)))
		return IRQ_NONE;
	writel(UART011_RXIS | UART011_RTIS, kstub_pl011_base + UART011_ICR);
	kstub_rx_irq();
	return IRQ_HANDLED;
}

/* Lets GDB's Ctrl-C and a new connection in while the kernel runs. */
static void kstub_pl011_irq_on(int irq)
{
	kstub_pl011_irq = kstub_transport_request_irq(irq, kstub_pl011_interrupt,
						      &kstub_pl011_base);
	if (kstub_pl011_irq)
		writel(UART011_RXIM | UART011_RTIM, kstub_pl011_base + UART011_IMSC);
}

static void kstub_pl011_irq_off(void)
{
	writel(0, kstub_pl011_base + UART011_IMSC);
	if (kstub_pl011_irq)
		free_irq(kstub_pl011_irq, &kstub_pl011_base);
	kstub_pl011_irq = 0;
}

static int kstub_pl011_find(const char *arg, struct resource *res,
			    struct device_node **np)
{
	unsigned long addr;

	*np = NULL;
	if (!strcmp(arg, "pl011")) {
		*np = of_find_compatible_node(NULL, NULL, "arm,pl011");
		if (!*np) {
			pr_err("uart=pl011: no arm,pl011 in the device tree\n");
			return -ENODEV;
		}
		return of_address_to_resource(*np, 0, res);
	}
	if (strncmp(arg, "mmio:", 5) || kstrtoul(arg + 5, 0, &addr)) {
		pr_err("uart=%s: expected pl011 or an MMIO address (mmio:0x9000000)\n", arg);
		return -EINVAL;
	}
	res->start = addr;
	res->end = addr + KSTUB_PL011_SIZE - 1;
	return 0;
}

/* Give the port back to the amba-pl011 driver, if it was bound before. */
static void kstub_pl011_give_back(void)
{
	if (!kstub_pl011_dev)
		return;
	if (device_attach(kstub_pl011_dev) < 0)
		pr_warn("uart: could not give the PL011 back to its driver\n");
	put_device(kstub_pl011_dev);
	kstub_pl011_dev = NULL;
}

static int kstub_pl011_init(const char *arg)
{
	struct device_node *np;
	struct resource res;
	struct device *dev;
	int ret, irq = 0;

	ret = kstub_pl011_find(arg, &res, &np);
	if (ret)
		return ret;
	dev = np ? bus_find_device_by_of_node(&amba_bustype, np) : NULL;
	of_node_put(np);
	if (dev)
		irq = to_amba_device(dev)->irq[0];
	if (dev && dev->driver) {
		device_release_driver(dev);
		kstub_pl011_dev = dev;
	} else {
		put_device(dev);
	}
	kstub_pl011_base = ioremap(res.start, resource_size(&res));
	if (!kstub_pl011_base) {
		kstub_pl011_give_back();
		return -ENOMEM;
	}
	writel(0, kstub_pl011_base + UART011_IMSC);
	writel(UART01x_LCRH_WLEN_8 | UART01x_LCRH_FEN, kstub_pl011_base + UART011_LCRH);
	writel(UART01x_CR_UARTEN | UART011_CR_TXE | UART011_CR_RXE,
	       kstub_pl011_base + UART011_CR);
	while (kstub_pl011_get_char() >= 0)
		;
	kstub_pl011_irq_on(irq);
	pr_info("uart: PL011 at %pa, IRQ %d\n", &res.start, kstub_pl011_irq);
	return 0;
}

static void kstub_pl011_exit(void)
{
	kstub_pl011_irq_off();
	iounmap(kstub_pl011_base);
	kstub_pl011_give_back();
}

int kstub_uart_share(struct uart_port *port, const char *dev_name)
{
	unsigned long flags;
	u32 cr;

	if (strcmp(dev_name, "ttyAMA") || !port->membase) {
		pr_err("tty: %s%d is not a PL011, the one UART kstub drives on arm64\n",
		       dev_name, port->line);
		return -EINVAL;
	}
	kstub_pl011_base = port->membase;
	/*
	 * A console that no tty has opened may transmit only (its write
	 * sets UARTEN and TXE): kstub needs the receiver too, and leaves it
	 * on, as opening the tty would.
	 */
	spin_lock_irqsave(&port->lock, flags);
	cr = readl(kstub_pl011_base + UART011_CR);
	writel(cr | UART01x_CR_UARTEN | UART011_CR_RXE | UART011_CR_TXE,
	       kstub_pl011_base + UART011_CR);
	spin_unlock_irqrestore(&port->lock, flags);
	return 0;
}

void kstub_uart_unshare(void)
{
	kstub_pl011_base = NULL;
}

const struct kstub_transport_ops kstub_transport_uart = {
	.name = "uart",
	.reliable = false,
	.default_arg = "pl011",
	.init = kstub_pl011_init,
	.exit = kstub_pl011_exit,
	.get_char = kstub_pl011_get_char,
	.put_chars = kstub_pl011_put_chars,
};
