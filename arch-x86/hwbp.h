/* SPDX-License-Identifier: GPL-2.0 */
/* x86's side of hardware breakpoints and watchpoints (hwbp.c). */
#ifndef KSTUB_X86_HWBP_H
#define KSTUB_X86_HWBP_H

/* process context: module init and exit */
void kstub_x86_hw_init(void);
void kstub_x86_hw_exit(void);
/* &struct kstub_arch_ops @hw_changed. Atomic-safe */
void kstub_x86_hw_changed(void);

#endif /* KSTUB_X86_HWBP_H */
