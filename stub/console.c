// SPDX-License-Identifier: GPL-2.0
/*
 * Text for people: to GDB's console as 'O' packets, and to the kernel's
 * consoles while the kernel is stopped (printk would only print once it
 * runs again).
 */
#include <linux/console.h>
#include <linux/kprobes.h>
#include "compat.h"
#include "core.h"

enum {
	KSTUB_OUTPUT_CHUNK = 64,	/* console text per 'O' packet */
};

/*
 * Text for GDB to print, as 'O' packets. Context: any: a console prints
 * while the kernel runs, in a frame of its own, not the session's.
 */
void kstub_output(const char *s, size_t n)
{
	u8 frame[2 + 2 * KSTUB_OUTPUT_CHUNK + 3];

	kstub_write_output(kstub_transport_write, NULL, s, n, frame, sizeof(frame));
}

/*
 * A trap defers printk to an irq_work that runs only once GDB resumes the
 * kernel: say why it waits on the consoles themselves, as kdb does.
 * PREEMPT_RT calls a console's write method only from its printing
 * thread: drivers take sleeping locks there (virtio's console) or have
 * none (nbcon's), and the line goes to the log, printed once the kernel
 * runs. @a starts with "kstub: ".
 * Context: trap; a console lock another CPU holds is only tried.
 */
void kstub_console_say(const char *a, const char *b, const char *c)
{
	struct console *con;
	int cookie;

	if (IS_ENABLED(CONFIG_PREEMPT_RT)) {
		pr_emerg("%s%s%s", a + strlen(KBUILD_MODNAME ": "), b, c);
		return;
	}
	cookie = kstub_consoles_read_lock();
	kstub_for_each_console(con) {
		if (!(kstub_console_flags(con) & CON_ENABLED) || !con->write)
			continue;
		oops_in_progress++;
		con->write(con, a, strlen(a));
		con->write(con, b, strlen(b));
		con->write(con, c, strlen(c));
		oops_in_progress--;
	}
	kstub_consoles_read_unlock(cookie);
}

/*
 * Every line logged so far out on the consoles, before a stop that may
 * come at once (kstubwait): a CPU that held the console lock when the
 * line was logged prints it, and the stop would catch that CPU before it
 * had, leaving the user no line that says the kernel waits for GDB.
 * Taking the lock waits for that CPU and prints what is left; a printk
 * that takes the printing over from us as we unlock prints every line up
 * to its own, so the second time round waits for it too.
 * Context: process, may sleep.
 */
void kstub_console_flush(void)
{
	console_lock();
	console_unlock();
	console_lock();
	console_unlock();
}

/**
 * kstub_gdb_console() - console text for the line GDB is attached to
 * @s: the text
 * @n: its length
 *
 * Raw text would break into GDB's packets. While GDB waits for the kernel
 * to stop it goes to GDB as 'O' packets, which GDB prints; while kstub
 * is stopped or stepping, nothing on the kernel side should print, and
 * it is dropped.
 * Context: a console's write method; any.
 * Return: false if no GDB is attached: the console prints @s itself.
 */
bool kstub_gdb_console(const char *s, unsigned int n)
{
	if (!READ_ONCE(kstub_ready) || !kstub_gdb_attached())
		return false;
	if (atomic_read(&kstub_master) == KSTUB_NO_CPU)
		kstub_output(s, n);
	return true;
}
