/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one switch between the two builds of the protocol code: inside the
 * kernel it uses kernel headers, on the host it maps the few kernel types
 * and helpers it needs onto libc so the same files run under ASan/UBSan.
 */
#ifndef KSTUB_ENV_H
#define KSTUB_ENV_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/kprobes.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>

typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* the trap path is not for kprobes; on the host, a declaration of nothing */
#define NOKPROBE_SYMBOL(fname) extern int kstub_nokprobe_##fname
#endif

static inline u64 kstub_min(u64 a, u64 b)
{
	return a < b ? a : b;
}

#endif /* KSTUB_ENV_H */
