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
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#endif

#endif /* KSTUB_ENV_H */
