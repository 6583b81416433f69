// SPDX-License-Identifier: GPL-2.0
/*
 * kstub: a GDB remote stub for kernels built without CONFIG_KGDB.
 * Module parameters, SysRq entry, and the init/exit sequence.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sysrq.h>
#include "compat.h"
#include "core.h"
#include "kstub_arch.h"

/* the transport, chosen at init (transport/transport.c) */
static const struct kstub_transport_ops *kstub_main_transport;
static const char *kstub_main_io_arg;

static bool kstub_wait;
module_param_named(kstubwait, kstub_wait, bool, 0444);
MODULE_PARM_DESC(kstubwait, "Stop and wait for GDB as soon as kstub is loaded");

module_param_named(crash_wait, kstub_crash_wait, int, 0644);
MODULE_PARM_DESC(crash_wait,
		 "Seconds a panic or oops waits for a GDB not attached: 0 none, -1 (default) no limit unless the kernel reboots (panic=N) or has a crash kernel, then none");

module_param_named(hw_slots, kstub_hw_want, int, 0444);
MODULE_PARM_DESC(hw_slots,
		 "Hardware breakpoint and watchpoint slots of each kind kstub takes at load (default: all that are free; 0: none)");

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

/* kstub's own boot parameter: Documentation/builtin.rst, not the kernel's list */
#define KSTUB_WAIT_PARAM "kstubwait"
__setup(KSTUB_WAIT_PARAM, kstub_wait_setup);

/*
 * Built in, nothing of kstub runs before its initcall (the parameter
 * above only sets a bool): a boot that stops before this line stopped
 * before kstub ran, which is what the tests need to know
 * (testing.rst, "A boot that fails before kstub is loaded").
 */
static void __init kstub_say_start(void)
{
	pr_info("built in; starting\n");
}
#else
static void __init kstub_say_start(void)
{
}
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

	kstub_say_start();
	ret = kstub_lockdown_check();
	if (ret)
		return ret;
	ret = kstub_transport_pick(&kstub_main_transport, &kstub_main_io_arg);
	if (ret)
		return ret;
	ret = kstub_main_transport->init(kstub_main_io_arg);
	if (ret)
		return ret;
	ret = kstub_arch.init();
	if (ret)
		goto err_exit_io;
	ret = kstub_monitor_init();
	if (ret)
		goto err_exit_arch;
	ret = kstub_core_init(kstub_main_transport, kstub_monitor, &kstub_module_libs);
	if (ret)
		goto err_exit_arch;
	ret = kstub_hw_init();
	if (ret)
		goto err_exit_core;
	ret = kstub_sysrq_take();
	if (ret)
		goto err_exit_hw;
	ret = kstub_modules_init();
	if (ret)
		goto err_give_back;
	pr_info("ready on %s %s (%s); echo g > /proc/sysrq-trigger to stop\n",
		kstub_main_transport->name, kstub_main_io_arg, kstub_arch.name);
	if (kstub_wait) {
		pr_info("kstubwait: waiting for GDB\n");
		kstub_console_flush();
		kstub_arch_break();
	}
	return 0;

err_give_back:
	kstub_sysrq_give_back();
err_exit_hw:
	kstub_core_exit();
	kstub_hw_exit();
	goto err_exit_arch;
err_exit_core:
	kstub_core_exit();
err_exit_arch:
	kstub_arch.exit();
err_exit_io:
	kstub_main_transport->exit();
	kstub_breakin_drain();
	return ret;
}

static void __exit kstub_exit(void)
{
	kstub_modules_exit();
	kstub_sysrq_give_back();
	/*
	 * Not the mirror of init: the core takes GDB's breakpoints out first,
	 * since the slots' teardown runs kernel code (perf's) on every CPU
	 */
	kstub_core_exit();
	kstub_hw_exit();
	kstub_arch.exit();
	kstub_main_transport->exit();
	kstub_breakin_drain();
}

module_init(kstub_init);
module_exit(kstub_exit);
MODULE_DESCRIPTION("GDB remote stub for kernels without KGDB");
MODULE_LICENSE("GPL");
