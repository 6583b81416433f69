// SPDX-License-Identifier: GPL-2.0
/*
 * tty= through the UART's registers, with kstub's own 16550 or PL011 code:
 * a distro kernel has no CONFIG_CONSOLE_POLL, so no polling hooks, and its
 * one serial port is usually its console. The console names the port: a
 * serial-core console's data is its uart_driver, whose state holds the
 * uart_port with the registers' address. The driver keeps the port, its
 * speed and its interrupt; kstub reads and writes the registers only while
 * the kernel is stopped, or while the port is not started (tty.c).
 */
#include <linux/console.h>
#include <linux/serial_core.h>
#include <linux/tty_driver.h>
#include <linux/kprobes.h>
#include "compat.h"
#include "transport.h"

static struct tty_driver *kstub_tty_uart_find(const char *name, const char *options,
					      int *line)
{
	struct tty_driver *drv = NULL;
	struct uart_port *port = NULL;
	struct uart_driver *ud;
	struct console *con;
	char con_name[sizeof(con->name) + 12];
	int ret;

	kstub_consoles_lock();
	for_each_console(con) {
		snprintf(con_name, sizeof(con_name), "%s%d", con->name, con->index);
		if (strcmp(con_name, name) || con->device != uart_console_device)
			continue;
		ud = con->data;
		port = ud->state[con->index].uart_port;
		drv = ud->tty_driver;
		*line = con->index;
		break;
	}
	kstub_consoles_unlock();
	if (!port)
		return ERR_PTR(-ENODEV);
	ret = kstub_uart_share(port, drv->name);
	if (ret)
		return ERR_PTR(ret);
	if (options)
		pr_info("tty=%s,%s: the line keeps the speed its driver set; ,%s is not applied\n",
			name, options, options);
	return tty_driver_kref_get(drv);
}

/* Atomic-safe. */
static int kstub_tty_uart_get_char(void)
{
	return kstub_transport_uart.get_char();
}

NOKPROBE_SYMBOL(kstub_tty_uart_get_char);

/* Atomic-safe. */
static void kstub_tty_uart_put_chars(const u8 *buf, size_t len)
{
	kstub_transport_uart.put_chars(buf, len);
}

NOKPROBE_SYMBOL(kstub_tty_uart_put_chars);

const struct kstub_line_ops kstub_line_uart = {
	.how = "its UART's registers",
	.find = kstub_tty_uart_find,
	.get_char = kstub_tty_uart_get_char,
	.put_chars = kstub_tty_uart_put_chars,
	.release = kstub_uart_unshare,
};
