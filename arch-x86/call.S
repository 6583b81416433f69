/* SPDX-License-Identifier: GPL-2.0 */
/*
 * unsigned long kstub_call(unsigned long fn, unsigned long a0,
 *			    unsigned long a1, unsigned long a2)
 *
 * Calls a kernel function found by kallsyms. Unexported functions that
 * nothing takes the address of have their ENDBR sealed at boot on IBT
 * kernels, so an indirect call to them takes a #CP. This reaches @fn with
 * a return instead of an indirect branch, which IBT does not check, and
 * @fn returns straight to our caller. kstub_call4() passes one more.
 */
#include <linux/linkage.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>
#include <asm/asm.h>

	.text
SYM_FUNC_START(kstub_call)
	mov	%rdi, %rax
	mov	%rsi, %rdi
	mov	%rdx, %rsi
	mov	%rcx, %rdx
	push	%rax
	UNWIND_HINT_FUNC
	ANNOTATE_UNRET_SAFE
	ret
	int3
SYM_FUNC_END(kstub_call)
_ASM_NOKPROBE(kstub_call)

SYM_FUNC_START(kstub_call4)
	mov	%rdi, %rax
	mov	%rsi, %rdi
	mov	%rdx, %rsi
	mov	%rcx, %rdx
	mov	%r8, %rcx
	push	%rax
	UNWIND_HINT_FUNC
	ANNOTATE_UNRET_SAFE
	ret
	int3
SYM_FUNC_END(kstub_call4)
_ASM_NOKPROBE(kstub_call4)
