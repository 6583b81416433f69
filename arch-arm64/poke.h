/* SPDX-License-Identifier: GPL-2.0 */
/* Writing kernel text with no kernel function in the way (poke.c). */
#ifndef KSTUB_ARM64_POKE_H
#define KSTUB_ARM64_POKE_H

#include <linux/types.h>

/* process context: module init and exit */
int kstub_arm64_poke_init(void);
void kstub_arm64_poke_exit(void);
/* the instruction @insn at @addr; 0 or -errno. Atomic-safe */
int kstub_arm64_poke(unsigned long addr, u32 insn);

#endif /* KSTUB_ARM64_POKE_H */
