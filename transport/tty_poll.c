// SPDX-License-Identifier: GPL-2.0
/*
 * tty= through the tty driver's polling hooks, as kgdboc: any driver that
 * has them, on a kernel built with CONFIG_CONSOLE_POLL (a kgdb kernel).
 * The first way tty.c tries.
 */
#include <linux/kernel.h>
#include <linux/serial_core.h>
#include <linux/tty_driver.h>
#include <linux/kprobes.h>
#include "transport.h"

enum {
	KSTUB_TTY_POLL_NAME_MAX = 64,
};

/* set by find before the transport is up, then only read */
static struct tty_driver *kstub_tty_poll_drv;
static int kstub_tty_poll_line;

static struct tty_driver *kstub_tty_poll_find(const char *name, const char *options,
					      int *line)
{
	char arg[KSTUB_TTY_POLL_NAME_MAX];

	/* "ttyS0,115200", as kgdboc takes it; the hooks apply the speed */
	snprintf(arg, sizeof(arg), "%s%s%s", name, options ? "," : "", options ?: "");
	kstub_tty_poll_drv = tty_find_polling_driver(arg, &kstub_tty_poll_line);
	if (!kstub_tty_poll_drv)
		return ERR_PTR(-ENODEV);
	*line = kstub_tty_poll_line;
	return kstub_tty_poll_drv;
}

/* Atomic-safe. */
static int kstub_tty_poll_get_char(void)
{
	int c = kstub_tty_poll_drv->ops->poll_get_char(kstub_tty_poll_drv,
						       kstub_tty_poll_line);

	return c == NO_POLL_CHAR ? -1 : c;
}

NOKPROBE_SYMBOL(kstub_tty_poll_get_char);

/* Atomic-safe. */
static void kstub_tty_poll_put_chars(const u8 *buf, size_t len)
{
	while (len--)
		kstub_tty_poll_drv->ops->poll_put_char(kstub_tty_poll_drv,
						       kstub_tty_poll_line, *buf++);
}

NOKPROBE_SYMBOL(kstub_tty_poll_put_chars);

static void kstub_tty_poll_release(void)
{
	kstub_tty_poll_drv = NULL;
}

const struct kstub_line_ops kstub_line_poll = {
	.how = "its polling hooks",
	.find = kstub_tty_poll_find,
	.get_char = kstub_tty_poll_get_char,
	.put_chars = kstub_tty_poll_put_chars,
	.release = kstub_tty_poll_release,
};
