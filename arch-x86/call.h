/* SPDX-License-Identifier: GPL-2.0 */
/* Assembly helpers in call.S. */
#ifndef KSTUB_X86_CALL_H
#define KSTUB_X86_CALL_H

void kstub_x86_breakpoint(void);
/* where the int3 in kstub_x86_breakpoint() returns to */
extern const char kstub_x86_break_return[];

#endif /* KSTUB_X86_CALL_H */
