// SPDX-License-Identifier: GPL-2.0
/*
 * kstub: a GDB remote stub for kernels built without CONFIG_KGDB.
 * Module parameters, SysRq entry, and the init/exit sequence.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sysrq.h>
#include "compat.h"
#include "kstub.h"
#include "kstub_arch.h"

#ifdef CONFIG_ARM64
#define KSTUB_UART_DEFAULT "pl011"
#define KSTUB_UART_IO kstub_io_pl011
#define KSTUB_UART_HELP "pl011 (the first in the device tree) or mmio:<address>"
#else
#define KSTUB_UART_DEFAULT "ttyS1"
#define KSTUB_UART_IO kstub_io_uart16550
#define KSTUB_UART_HELP "ttyS<N> or an I/O port such as io:0x2f8"
#endif

static char *kstub_uart;
module_param_named(uart, kstub_uart, charp, 0444);
MODULE_PARM_DESC(uart, "GDB on a UART: " KSTUB_UART_HELP
		 " (default " KSTUB_UART_DEFAULT ")");

static char *kstub_virtio;
module_param_named(virtio, kstub_virtio, charp, 0444);
MODULE_PARM_DESC(virtio, "GDB on a virtio console device of its own: auto or virtio<N>");

static char *kstub_tty;
module_param_named(tty, kstub_tty, charp, 0444);
MODULE_PARM_DESC(tty, "GDB on a tty it shares, as kgdboc: <tty>[,<baud>] (CONFIG_CONSOLE_POLL kernels)");

static const struct kstub_io_ops *kstub_io;
static const char *kstub_io_arg;

static bool kstub_wait;
module_param_named(kstubwait, kstub_wait, bool, 0444);
MODULE_PARM_DESC(kstubwait, "Stop and wait for GDB as soon as kstub is loaded");

module_param_named(crash_wait, kstub_crash_wait, int, 0644);
MODULE_PARM_DESC(crash_wait,
		 "Seconds a panic or oops waits for a GDB not attached: 0 none, -1 (default) no limit unless the kernel reboots (panic=N) or has a crash kernel, then none");

#ifndef MODULE
/* built in, kgdbwait's spelling works too: a bare kstubwait on the command line */
static int __init kstub_wait_setup(char *arg)
{
	if (!*arg) {
		kstub_wait = true;
		return 1;
	}
	/* kstubwait=<bool>; anything else only starts with our name */
	return *arg == '=' && !kstrtobool(arg + 1, &kstub_wait);
}
__setup("kstubwait", kstub_wait_setup);
#endif

static void kstub_sysrq(KSTUB_SYSRQ_KEY_T key)
{
	kstub_arch_break();
}

static const struct sysrq_key_op kstub_sysrq_op = {
	.handler = kstub_sysrq,
	.help_msg = "debug(g)",
	.action_msg = "kstub: waiting for GDB",
	.enable_mask = SYSRQ_ENABLE_DUMP,
};

enum { KSTUB_SYSRQ_KEY = 'g' };

/*
 * One transport: the one a parameter names, else a single-port virtio
 * console if the machine has one (that is what such a device is for),
 * else the usual UART.
 */
static int kstub_pick_io(void)
{
	if (!!kstub_uart + !!kstub_virtio + !!kstub_tty > 1) {
		pr_err("uart=%s virtio=%s tty=%s: give kstub one transport, not several\n",
		       kstub_uart ?: "", kstub_virtio ?: "", kstub_tty ?: "");
		return -EINVAL;
	}
	kstub_io = &KSTUB_UART_IO;
	kstub_io_arg = kstub_uart ? kstub_uart : KSTUB_UART_DEFAULT;
	if (kstub_uart)
		return 0;
	if (kstub_tty) {
#ifdef KSTUB_HAVE_TTY
		kstub_io = &kstub_io_tty;
		kstub_io_arg = kstub_tty;
		return 0;
#else
		pr_err("tty=%s: this kernel has no CONFIG_CONSOLE_POLL; use uart= (%s) or virtio=\n",
		       kstub_tty, KSTUB_UART_HELP);
		return -EINVAL;
#endif
	}
#ifdef KSTUB_HAVE_VIRTIO
	if (kstub_virtio || kstub_virtio_find("auto")) {
		kstub_io = &kstub_io_virtio;
		kstub_io_arg = kstub_virtio ? kstub_virtio : "auto";
	}
#else
	if (kstub_virtio) {
		pr_err("virtio=%s: this kernel has no built-in virtio; use uart= (%s)\n",
		       kstub_virtio, KSTUB_UART_HELP);
		return -EINVAL;
	}
#endif
	return 0;
}

/*
 * kgdb, when kgdboc has a port, holds SysRq-g. Loading kstub is asking
 * for kstub: it takes the key for as long as it is loaded, and gives it
 * back on unload if kgdb still has a port then.
 */
static const struct sysrq_key_op *kstub_kgdb_sysrq;

static int kstub_sysrq_take(void)
{
	const struct sysrq_key_op *kgdb;
	unsigned long io;

	if (!register_sysrq_key(KSTUB_SYSRQ_KEY, &kstub_sysrq_op))
		return 0;
	kgdb = (const struct sysrq_key_op *)kstub_lookup("sysrq_dbg_op");
	io = kstub_lookup("dbg_io_ops");
	if (!kgdb || !io || unregister_sysrq_key(KSTUB_SYSRQ_KEY, kgdb)) {
		pr_err("sysrq 'g' is taken by something other than kgdb\n");
		return -EBUSY;
	}
	if (register_sysrq_key(KSTUB_SYSRQ_KEY, &kstub_sysrq_op)) {
		register_sysrq_key(KSTUB_SYSRQ_KEY, kgdb);
		pr_err("sysrq 'g' is busy\n");
		return -EBUSY;
	}
	kstub_kgdb_sysrq = kgdb;
	pr_info("sysrq 'g' stops in kstub now, not in kgdb; rmmod kstub gives it back\n");
	return 0;
}

static void kstub_sysrq_give_back(void)
{
	unsigned long io = kstub_lookup("dbg_io_ops");

	unregister_sysrq_key(KSTUB_SYSRQ_KEY, &kstub_sysrq_op);
	/* kgdb re-registers the key itself if kgdboc gets a new port */
	if (kstub_kgdb_sysrq && io && READ_ONCE(*(void **)io))
		register_sysrq_key(KSTUB_SYSRQ_KEY, kstub_kgdb_sysrq);
	kstub_kgdb_sysrq = NULL;
}

static int __init kstub_init(void)
{
	int ret;

	ret = kstub_lockdown_check();
	if (ret)
		return ret;
	ret = kstub_pick_io();
	if (ret)
		return ret;
	ret = kstub_io->init(kstub_io_arg);
	if (ret)
		return ret;
	ret = kstub_arch.init();
	if (ret)
		goto err_exit_io;
	ret = kstub_core_init(kstub_io);
	if (ret)
		goto err_exit_arch;
	ret = kstub_sysrq_take();
	if (ret)
		goto err_exit_core;
	ret = kstub_modules_init();
	if (ret)
		goto err_give_back;
	pr_info("ready on %s %s (%s); echo g > /proc/sysrq-trigger to stop\n",
		kstub_io->name, kstub_io_arg, kstub_arch.name);
	if (kstub_wait) {
		pr_info("kstubwait: waiting for GDB\n");
		kstub_arch_break();
	}
	return 0;

err_give_back:
	kstub_sysrq_give_back();
err_exit_core:
	kstub_core_exit();
err_exit_arch:
	kstub_arch.exit();
err_exit_io:
	kstub_io->exit();
	return ret;
}

static void __exit kstub_exit(void)
{
	kstub_modules_exit();
	kstub_sysrq_give_back();
	kstub_core_exit();
	kstub_arch.exit();
	kstub_io->exit();
}

module_init(kstub_init);
module_exit(kstub_exit);
MODULE_DESCRIPTION("GDB remote stub for kernels without KGDB");
MODULE_LICENSE("GPL");
