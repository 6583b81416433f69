/* SPDX-License-Identifier: GPL-2.0 */
/* What the tests look up by name, in GDB and in /proc/kallsyms. */
#ifndef KSTUB_TEST_H
#define KSTUB_TEST_H

int kstub_test_helper(int x);
int kstub_test_func(int a, int b);
void kstub_test_hot(unsigned long cpu);
void kstub_test_stress_a(void);
void kstub_test_stress_b(void);
void kstub_test_branchy(void);
void kstub_test_callee(void);
void kstub_test_caller(void);
struct hrtimer;
enum hrtimer_restart kstub_test_timer_fn(struct hrtimer *t);
void kstub_test_oops(void);
void kstub_test_bug(void);
void kstub_test_gpf(void);
void kstub_test_straight(void);
void kstub_test_irqmask(void);
void kstub_test_fp_probe(void);
void kstub_test_fpsimd(void);
void kstub_test_watch_write(long v);
long kstub_test_watch_read(void);
struct kstub_test_obj;
void kstub_test_field_write(struct kstub_test_obj *o, long v);

#endif /* KSTUB_TEST_H */
