/* SPDX-License-Identifier: GPL-2.0 */
/*
 * void kstub_arm64_save_fpsimd(struct kstub_arm64_fpsimd *st)
 *
 * Copies the live FP/SIMD registers of this CPU, so GDB sees the values
 * the stopped code has (kgdb reports zeros). Kernel C code is built
 * without FP, so nothing between the trap and here has touched them.
 */
#include <linux/linkage.h>

	.text
SYM_FUNC_START(kstub_arm64_save_fpsimd)
	stp	q0, q1, [x0, #16 * 0]
	stp	q2, q3, [x0, #16 * 2]
	stp	q4, q5, [x0, #16 * 4]
	stp	q6, q7, [x0, #16 * 6]
	stp	q8, q9, [x0, #16 * 8]
	stp	q10, q11, [x0, #16 * 10]
	stp	q12, q13, [x0, #16 * 12]
	stp	q14, q15, [x0, #16 * 14]
	stp	q16, q17, [x0, #16 * 16]
	stp	q18, q19, [x0, #16 * 18]
	stp	q20, q21, [x0, #16 * 20]
	stp	q22, q23, [x0, #16 * 22]
	stp	q24, q25, [x0, #16 * 24]
	stp	q26, q27, [x0, #16 * 26]
	stp	q28, q29, [x0, #16 * 28]
	stp	q30, q31, [x0, #16 * 30]
	mrs	x1, fpsr
	str	w1, [x0, #16 * 32]
	mrs	x1, fpcr
	str	w1, [x0, #16 * 32 + 4]
	ret
SYM_FUNC_END(kstub_arm64_save_fpsimd)
