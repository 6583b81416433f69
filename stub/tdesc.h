/* SPDX-License-Identifier: GPL-2.0 */
/*
 * GDB target descriptions, generated from the same register table that
 * lays out 'g' replies, so the two can never disagree.
 */
#ifndef KSTUB_TDESC_H
#define KSTUB_TDESC_H

#include "kstub_env.h"

/* one bit of a flags register, for GDB's "[ IF ZF ]" display */
struct kstub_flag_desc {
	const char *name;
	u8 bit;
};

/**
 * struct kstub_reg_desc - one register as GDB sees it
 * @feature: GDB feature this register opens (NULL: same as the previous)
 * @name: GDB's register name
 * @bits: size in bits
 * @type: GDB type name, or the id of @flags
 * @flags: bits of a flags type named @type, terminated by a NULL name
 * @src: where the arch code finds the value (arch-defined)
 * @off: offset or index within @src (arch-defined)
 */
struct kstub_reg_desc {
	const char *feature;
	const char *name;
	u16 bits;
	const char *type;
	const struct kstub_flag_desc *flags;
	u16 src;
	u16 off;
};

size_t kstub_tdesc_build(char *buf, size_t cap, const char *arch,
			 const struct kstub_reg_desc *regs, size_t n);

#endif /* KSTUB_TDESC_H */
