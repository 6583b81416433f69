// SPDX-License-Identifier: GPL-2.0
/*
 * kstub's own polled 16550 driver. It needs no CONFIG_CONSOLE_POLL: the
 * port is taken from the 8250 driver for as long as kstub is loaded and
 * given back on unload (uart=), or, for tty= on a console's port, left to
 * that driver and only read and written here (kstub_uart_share()).
 */
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/serial_8250.h>
#include <linux/serial_core.h>
#include <linux/serial_reg.h>
#include <linux/tty.h>
#include <linux/kprobes.h>
#include "transport.h"

enum {
	KSTUB_UART_REGS = 8,
	KSTUB_UART_CLOCK = 1843200,	/* the PC's standard crystal */
	KSTUB_UART_FIFO = 16,
	KSTUB_UART_MAX_LINE = 32,
};

/* exported by the 8250 core, declared in its private header */
struct uart_8250_port *serial8250_get_port(int line);

/*
 * Where the registers are: at I/O ports (uart=, and a PC's COM ports), or
 * mapped, a byte or a 32-bit word each, 1 << shift apart. Set at init,
 * before the transport is up.
 */
static unsigned long kstub_uart_base;
static void __iomem *kstub_uart_mem;
static unsigned char kstub_uart_iotype = UPIO_PORT;
static unsigned char kstub_uart_shift;
static unsigned int kstub_uart_fifo = KSTUB_UART_FIFO;
static int kstub_uart_line = -1;	/* 8250 line we took over, if any */
static struct uart_8250_port kstub_uart_saved;
static bool kstub_uart_claimed;
static int kstub_uart_irq;		/* 0: GDB cannot break in */

static u8 kstub_uart_in(int reg)
{
	switch (kstub_uart_iotype) {
	case UPIO_MEM:
		return readb(kstub_uart_mem + (reg << kstub_uart_shift));
	case UPIO_MEM32:
		return readl(kstub_uart_mem + (reg << kstub_uart_shift));
	default:
		return inb(kstub_uart_base + reg);
	}
}

NOKPROBE_SYMBOL(kstub_uart_in);

static void kstub_uart_out(int reg, u8 val)
{
	switch (kstub_uart_iotype) {
	case UPIO_MEM:
		writeb(val, kstub_uart_mem + (reg << kstub_uart_shift));
		break;
	case UPIO_MEM32:
		writel(val, kstub_uart_mem + (reg << kstub_uart_shift));
		break;
	default:
		outb(val, kstub_uart_base + reg);
	}
}

NOKPROBE_SYMBOL(kstub_uart_out);

/* Atomic-safe. */
static int kstub_uart_get_char(void)
{
	if (!(kstub_uart_in(UART_LSR) & UART_LSR_DR))
		return -1;
	return kstub_uart_in(UART_RX);
}

NOKPROBE_SYMBOL(kstub_uart_get_char);

/* Atomic-safe: fills the FIFO whenever it drains. */
static void kstub_uart_put_chars(const u8 *buf, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		while (!(kstub_uart_in(UART_LSR) & UART_LSR_THRE))
			cpu_relax();
		for (n = 0; n < kstub_uart_fifo && i < len; n++)
			kstub_uart_out(UART_TX, buf[i++]);
	}
}

NOKPROBE_SYMBOL(kstub_uart_put_chars);

static int kstub_uart_parse(const char *arg, unsigned long *base, int *line)
{
	unsigned int n;

	*line = -1;
	if (sscanf(arg, "ttyS%u", &n) == 1 && n < KSTUB_UART_MAX_LINE) {
		*line = n;
		return 0;
	}
	if (!strncmp(arg, "io:", 3))
		arg += 3;
	return kstrtoul(arg, 0, base);
}

/* The 8250 line that drives the port at @base, or -1. */
static int kstub_uart_8250_line(unsigned long base)
{
	struct uart_8250_port *up;
	int line;

	for (line = 0; line < CONFIG_SERIAL_8250_NR_UARTS; line++) {
		up = serial8250_get_port(line);
		if (up->port.iobase == base && up->port.type != PORT_UNKNOWN)
			return line;
	}
	return -1;
}

static int kstub_uart_take_from_8250(int line)
{
	struct uart_8250_port *up = serial8250_get_port(line);
	struct uart_port *port = &up->port;

	if (uart_console(port)) {
		pr_err("uart: ttyS%d is the console; give kstub another port\n", line);
		return -EBUSY;
	}
	if (port->state && tty_port_users(&port->state->port)) {
		pr_err("uart: ttyS%d is open; close it or give kstub another port\n", line);
		return -EBUSY;
	}
	memset(&kstub_uart_saved, 0, sizeof(kstub_uart_saved));
	kstub_uart_saved.port.iobase = port->iobase;
	kstub_uart_saved.port.irq = port->irq;
	kstub_uart_saved.port.uartclk = port->uartclk;
	kstub_uart_saved.port.iotype = port->iotype;
	kstub_uart_saved.port.flags = port->flags | UPF_BOOT_AUTOCONF;
	kstub_uart_saved.port.regshift = port->regshift;
	serial8250_unregister_port(line);
	kstub_uart_line = line;
	return 0;
}

static void kstub_uart_give_back(void)
{
	if (kstub_uart_line < 0)
		return;
	if (serial8250_register_8250_port(&kstub_uart_saved) < 0)
		pr_warn("uart: could not give ttyS%d back to the 8250 driver\n",
			kstub_uart_line);
	kstub_uart_line = -1;
}

/* 0 where @baud is too fast for @clock */
static unsigned long kstub_uart_divisor(unsigned int clock, unsigned int baud)
{
	return baud ? DIV_ROUND_CLOSEST((unsigned long)clock, 16UL * baud) : 0;
}

static void kstub_uart_setup(unsigned int clock, unsigned int baud)
{
	unsigned long div = kstub_uart_divisor(clock, baud);

	kstub_uart_out(UART_IER, 0);
	kstub_uart_out(UART_LCR, UART_LCR_DLAB);
	kstub_uart_out(UART_DLL, div & 0xff);
	kstub_uart_out(UART_DLM, div >> 8);
	kstub_uart_out(UART_LCR, UART_LCR_WLEN8);
	/*
	 * A deep receive trigger lets an emulated 16550 hand over a whole
	 * burst at once; a lone Ctrl-C still interrupts, on the FIFO timeout.
	 */
	kstub_uart_out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR |
		       UART_FCR_CLEAR_XMIT | UART_FCR_R_TRIG_11);
	/* OUT2 connects the interrupt line on PC-style ports */
	kstub_uart_out(UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	while (kstub_uart_get_char() >= 0)
		;
}

static irqreturn_t kstub_uart_interrupt(int irq, void *unused)
{
	if (!(kstub_uart_in(UART_LSR) & UART_LSR_DR))
		return IRQ_NONE;
	kstub_rx_irq();
	return IRQ_HANDLED;
}

/* Lets GDB's Ctrl-C and a new connection in while the kernel runs. */
static void kstub_uart_irq_on(int irq)
{
	kstub_uart_irq = kstub_transport_request_irq(irq, kstub_uart_interrupt, &kstub_uart_base);
	if (kstub_uart_irq)
		kstub_uart_out(UART_IER, UART_IER_RDI);
}

static void kstub_uart_irq_off(void)
{
	kstub_uart_out(UART_IER, 0);
	if (kstub_uart_irq)
		free_irq(kstub_uart_irq, &kstub_uart_base);
	kstub_uart_irq = 0;
}

static unsigned int kstub_uart_baud = 115200;
module_param_named(baud, kstub_uart_baud, uint, 0444);
MODULE_PARM_DESC(baud, "UART speed (default 115200)");

static int kstub_uart_init(const char *arg)
{
	unsigned int clock = KSTUB_UART_CLOCK;
	int line, ret, irq = 0;
	unsigned long div;

	if (kstub_uart_parse(arg, &kstub_uart_base, &line)) {
		pr_err("uart=%s: expected ttyS<N> or an I/O port (io:0x2f8)\n", arg);
		return -EINVAL;
	}
	/* the 8250 driver's table has this many lines, and checks none */
	if (line >= CONFIG_SERIAL_8250_NR_UARTS) {
		pr_err("uart=%s: the 8250 driver has ttyS0-ttyS%d\n", arg,
		       CONFIG_SERIAL_8250_NR_UARTS - 1);
		return -EINVAL;
	}
	if (line >= 0) {
		kstub_uart_base = serial8250_get_port(line)->port.iobase;
		if (!kstub_uart_base) {
			pr_err("uart=%s: no such 8250 port with an I/O address\n", arg);
			return -EINVAL;
		}
	}
	line = kstub_uart_8250_line(kstub_uart_base);
	if (line >= 0) {
		if (serial8250_get_port(line)->port.uartclk)
			clock = serial8250_get_port(line)->port.uartclk;
		irq = serial8250_get_port(line)->port.irq;
	}
	div = kstub_uart_divisor(clock, kstub_uart_baud);
	if (!div || div > 0xffff) {
		pr_err("uart=%s: baud=%u is out of the port's range (%u-%u)\n", arg,
		       kstub_uart_baud, DIV_ROUND_UP(clock, 16 * 0xffff), clock / 16);
		return -EINVAL;
	}
	if (line >= 0) {
		ret = kstub_uart_take_from_8250(line);
		if (ret)
			return ret;
	}
	if (!request_region(kstub_uart_base, KSTUB_UART_REGS, "kstub")) {
		pr_err("uart=%s: I/O ports %#lx-%#lx are busy\n", arg,
		       kstub_uart_base, kstub_uart_base + KSTUB_UART_REGS - 1);
		kstub_uart_give_back();
		return -EBUSY;
	}
	kstub_uart_claimed = true;
	kstub_uart_setup(clock, kstub_uart_baud);
	kstub_uart_irq_on(irq);
	pr_info("uart: 16550 at I/O %#lx, IRQ %d, %u baud\n", kstub_uart_base,
		kstub_uart_irq, kstub_uart_baud);
	return 0;
}

static void kstub_uart_exit(void)
{
	if (kstub_uart_claimed)
		kstub_uart_irq_off();
	if (kstub_uart_claimed)
		release_region(kstub_uart_base, KSTUB_UART_REGS);
	kstub_uart_claimed = false;
	kstub_uart_give_back();
}

int kstub_uart_share(struct uart_port *port, const char *dev_name)
{
	if (strcmp(dev_name, "ttyS")) {
		pr_err("tty: %s%d is not an 8250/16550 port, the one UART kstub drives on x86\n",
		       dev_name, port->line);
		return -EINVAL;
	}
	if (!(port->iotype == UPIO_PORT && port->iobase) &&
	    !((port->iotype == UPIO_MEM || port->iotype == UPIO_MEM32) && port->membase)) {
		pr_err("tty: ttyS%d's registers are reached in a way kstub does not know (iotype %d)\n",
		       port->line, port->iotype);
		return -EINVAL;
	}
	kstub_uart_iotype = port->iotype;
	kstub_uart_base = port->iobase;
	kstub_uart_mem = port->membase;
	kstub_uart_shift = port->regshift;
	/* no deeper than the driver found it: an 8250 without a FIFO has 1 */
	kstub_uart_fifo = clamp_t(unsigned int, port->fifosize, 1, KSTUB_UART_FIFO);
	return 0;
}

void kstub_uart_unshare(void)
{
	kstub_uart_iotype = UPIO_PORT;
	kstub_uart_base = 0;
	kstub_uart_mem = NULL;
	kstub_uart_shift = 0;
	kstub_uart_fifo = KSTUB_UART_FIFO;
}

const struct kstub_transport_ops kstub_transport_uart = {
	.name = "uart",
	.reliable = false,
	.default_arg = "ttyS1",
	.init = kstub_uart_init,
	.exit = kstub_uart_exit,
	.get_char = kstub_uart_get_char,
	.put_chars = kstub_uart_put_chars,
};
