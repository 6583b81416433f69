/* SPDX-License-Identifier: GPL-2.0 */
/* The live FP/SIMD registers of a stopped CPU (fpsimd.S). */
#ifndef KSTUB_ARM64_FPSIMD_H
#define KSTUB_ARM64_FPSIMD_H

#include <linux/types.h>

struct kstub_arm64_fpsimd {
	u8 v[32][16];
	u32 fpsr;
	u32 fpcr;
};

void kstub_arm64_save_fpsimd(struct kstub_arm64_fpsimd *st);

#endif /* KSTUB_ARM64_FPSIMD_H */
