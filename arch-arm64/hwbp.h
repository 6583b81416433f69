/* SPDX-License-Identifier: GPL-2.0 */
/* arm64's side of hardware breakpoints and watchpoints (hwbp.c). */
#ifndef KSTUB_ARM64_HWBP_H
#define KSTUB_ARM64_HWBP_H

struct arch_hw_breakpoint;

/* &struct kstub_arch_ops @hw_quiet. Process context */
void kstub_arm64_hw_quiet(struct arch_hw_breakpoint *info);

#endif /* KSTUB_ARM64_HWBP_H */
