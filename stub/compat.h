/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels kstub supports, in one place. Kbuild
 * probes the kernel's headers for each (Kbuild, "interfaces that changed")
 * and defines KSTUB_<what>; the code uses only the names below.
 */
#ifndef KSTUB_COMPAT_H
#define KSTUB_COMPAT_H

#include <linux/console.h>
#include <linux/module.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/virtio_config.h>

/*
 * Whether perf may be changing @t's own events: a lock of one of its
 * contexts is held (6.2 gave a task one context; before, a breakpoint
 * was in the software one, or in the hardware one when a hardware event
 * leads its group). Context: any, @t the CPU's current task.
 */
#ifdef KSTUB_TASK_PERF_CTXS
static inline bool kstub_task_perf_locked(struct task_struct *t)
{
	int i;

	for (i = 0; i < perf_nr_task_contexts; i++) {
		struct perf_event_context *ctx = READ_ONCE(t->perf_event_ctxp[i]);

		if (ctx && raw_spin_is_locked(&ctx->lock))
			return true;
	}
	return false;
}
#else
static inline bool kstub_task_perf_locked(struct task_struct *t)
{
	struct perf_event_context *ctx = READ_ONCE(t->perf_event_ctxp);

	return ctx && raw_spin_is_locked(&ctx->lock);
}
#endif

/* 6.2: the console list has its own lock and is walked under SRCU */
#ifdef KSTUB_CONSOLE_LIST_LOCK
static inline int kstub_consoles_read_lock(void)
{
	return console_srcu_read_lock();
}

static inline void kstub_consoles_read_unlock(int cookie)
{
	console_srcu_read_unlock(cookie);
}

static inline short kstub_console_flags(struct console *con)
{
	return console_srcu_read_flags(con);
}

#define kstub_for_each_console(con) for_each_console_srcu(con)

static inline void kstub_consoles_lock(void)
{
	console_list_lock();
}

static inline void kstub_consoles_unlock(void)
{
	console_list_unlock();
}
#else
/* read without a lock, as the kernel's own emergency paths do */
static inline int kstub_consoles_read_lock(void)
{
	return 0;
}

static inline void kstub_consoles_read_unlock(int cookie)
{
}

static inline short kstub_console_flags(struct console *con)
{
	return con->flags;
}

#define kstub_for_each_console(con) for_each_console(con)

static inline void kstub_consoles_lock(void)
{
	console_lock();
}

static inline void kstub_consoles_unlock(void)
{
	console_unlock();
}
#endif

/* 6.4: a module's memory is described by mod->mem[] */
static inline void kstub_module_text(struct module *mod, bool init,
				     unsigned long *base, unsigned long *size)
{
#ifdef KSTUB_MODULE_MEMORY
	const struct module_memory *mem = &mod->mem[init ? MOD_INIT_TEXT : MOD_TEXT];

	*base = (unsigned long)mem->base;
	*size = mem->size;
#else
	const struct module_layout *l = init ? &mod->init_layout : &mod->core_layout;

	*base = (unsigned long)l->base;
	*size = l->text_size;
#endif
}

/* 6.6: tty_port's receive_buf returns a size_t, not an int */
#ifdef KSTUB_TTY_RECEIVE_SIZE_T
#define KSTUB_TTY_COUNT_T size_t
#else
#define KSTUB_TTY_COUNT_T int
#endif

/* 6.7: a SysRq handler takes a u8, not an int */
#ifdef KSTUB_SYSRQ_KEY_U8
#define KSTUB_SYSRQ_KEY_T u8
#else
#define KSTUB_SYSRQ_KEY_T int
#endif

/*
 * 6.4: register_virtio_driver() is a macro that passes the driver's
 * module; transport/virtio.c calls what it expands to through a pointer
 */
#ifdef KSTUB_VIRTIO_REGISTER_OWNER
#define KSTUB_VIRTIO_REGISTER __register_virtio_driver
#define kstub_virtio_register(fn, drv) ((fn)((drv), THIS_MODULE))
#else
#define KSTUB_VIRTIO_REGISTER register_virtio_driver
#define kstub_virtio_register(fn, drv) ((fn)(drv))
#endif

/* 6.11: virtio_find_vqs() takes one array of struct virtqueue_info */
static inline int kstub_find_2_vqs(struct virtio_device *vdev, struct virtqueue *vqs[2],
				   vq_callback_t *callbacks[2], const char *names[2])
{
#ifdef KSTUB_VIRTQUEUE_INFO
	struct virtqueue_info info[2] = {
		{ names[0], callbacks[0] },
		{ names[1], callbacks[1] },
	};

	return virtio_find_vqs(vdev, 2, vqs, info, NULL);
#else
	return virtio_find_vqs(vdev, 2, vqs, callbacks, names, NULL);
#endif
}

#endif /* KSTUB_COMPAT_H */
