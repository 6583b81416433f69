// SPDX-License-Identifier: GPL-2.0
/*
 * arm64: BRK breakpoints with a private immediate, hardware single-step
 * with interrupts masked, IPI roundup, and GDB's aarch64 register layout.
 *
 * How BRK and step exceptions reach kstub depends on the kernel:
 * 6.1 (and 6.12.0-6.12.92) have the list-based break/step hook API;
 * 6.12.93+ call their handlers from a fixed chain, so kstub puts an ftrace
 * callback on do_el1_brk64() and do_el1_softstep(): its own events are
 * consumed there (the traced function is skipped), everything else passes
 * through untouched. Which one applies is decided at build time from the
 * kernel's headers and checked at load time.
 */
#include <linux/ftrace.h>
#include <linux/interrupt.h>
#include <linux/jump_label.h>
#include <linux/kdebug.h>
#include <linux/kernel.h>
#include <linux/stdarg.h>
#include <linux/notifier.h>
#include <linux/of.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <linux/kprobes.h>
#include <asm/irq_regs.h>
#include <asm/debug-monitors.h>
#include <asm/esr.h>
#include <asm/ptrace.h>
#include "kstub.h"
#include "tdesc.h"
#include "kstub_arch.h"
#include "fpsimd.h"
#include "hooks.h"
#include "poke.h"
#include "hwbp.h"

enum {
	KSTUB_ARM64_INSN_SIZE = 4,
	KSTUB_ARM64_BRK_BASE = 0xd4200000,	/* BRK #imm: imm in bits 5-20 */
	KSTUB_ARM64_NOP = 0xd503201f,
	/* BTI, BTI c, BTI j, BTI jc: HINT #32/34/36/38 */
	KSTUB_ARM64_BTI_MASK = 0xffffff3f,
	KSTUB_ARM64_BTI = 0xd503241f,
	KSTUB_ARM64_DIE_PRIORITY = INT_MAX - 1,
};

/* instructions whose effect on DAIF the masked step must not undo */
enum {
	KSTUB_ARM64_MSR_DAIFSET_MASK = 0xfffff0ff,
	KSTUB_ARM64_MSR_DAIFSET = 0xd50340df,
	KSTUB_ARM64_MSR_DAIFCLR = 0xd50340ff,
	KSTUB_ARM64_XT_MASK = 0xffffffe0,
	KSTUB_ARM64_MSR_DAIF = 0xd51b4220,	/* msr daif, xt */
	KSTUB_ARM64_MRS_DAIF = 0xd53b4220,	/* mrs xt, daif */
	KSTUB_ARM64_XZR = 31,
};

#define KSTUB_ARM64_IF	(PSR_I_BIT | PSR_F_BIT)

static const u32 kstub_arm64_brk_insn = KSTUB_ARM64_BRK_BASE | (KSTUB_ARM64_BRK << 5);

static DEFINE_PER_CPU(struct kstub_arm64_fpsimd, kstub_arm64_fp);

static unsigned long kstub_arm64_jump_label_reserved;
static unsigned long kstub_arm64_size_offset;
static unsigned long kstub_arm64_enable_step;
static unsigned long kstub_arm64_disable_step;
static unsigned long kstub_arm64_kernel_text_address;
static unsigned long kstub_arm64_within_kprobe_blacklist;
static unsigned long kstub_arm64_ftrace_location;
static unsigned long kstub_arm64_stext;
static unsigned long kstub_arm64_irq_preempt_key;

static const struct kstub_sym kstub_arm64_syms[] = {
	{ "jump_label_text_reserved", &kstub_arm64_jump_label_reserved },
	{ "kallsyms_lookup_size_offset", &kstub_arm64_size_offset },
	{ "kernel_enable_single_step", &kstub_arm64_enable_step },
	{ "kernel_disable_single_step", &kstub_arm64_disable_step },
	{ "kernel_text_address", &kstub_arm64_kernel_text_address },
	{ "within_kprobe_blacklist", &kstub_arm64_within_kprobe_blacklist },
	{ "_text", &kstub_arm64_stext },
	{ "ftrace_location_range", &kstub_arm64_ftrace_location, true },
	{ "sk_dynamic_irqentry_exit_cond_resched", &kstub_arm64_irq_preempt_key, true },
};

/* ---- registers: GDB's aarch64 layout ---- */

enum kstub_arm64_src {
	KSTUB_ARM64_X,		/* regs->regs[off] */
	KSTUB_ARM64_SP,
	KSTUB_ARM64_PC,
	KSTUB_ARM64_PSTATE,
	KSTUB_ARM64_V,		/* v[off], live FP/SIMD */
	KSTUB_ARM64_FPSR,
	KSTUB_ARM64_FPCR,
	KSTUB_ARM64_TASK,	/* sp_el0: the task, while in the kernel */
};

static const struct kstub_flag_desc kstub_arm64_cpsr_flags[] = {
	{ "SP", 0 }, { "EL", 2 }, { "nRW", 4 }, { "F", 6 }, { "I", 7 },
	{ "A", 8 }, { "D", 9 }, { "SS", 21 }, { "PAN", 22 }, { "V", 28 },
	{ "C", 29 }, { "Z", 30 }, { "N", 31 }, { NULL, 0 },
};

#define X(n)	{ .name = "x" #n, .bits = 64, .type = "int", .src = KSTUB_ARM64_X, .off = n }
#define V(n)	{ .name = "v" #n, .bits = 128, .type = "uint128", .src = KSTUB_ARM64_V, .off = n }

static const struct kstub_reg_desc kstub_arm64_regs[] = {
	{ .feature = "org.gnu.gdb.aarch64.core", .name = "x0", .bits = 64,
	  .type = "int", .src = KSTUB_ARM64_X, .off = 0 },
	X(1), X(2), X(3), X(4), X(5), X(6), X(7), X(8), X(9), X(10),
	X(11), X(12), X(13), X(14), X(15), X(16), X(17), X(18), X(19), X(20),
	X(21), X(22), X(23), X(24), X(25), X(26), X(27), X(28), X(29), X(30),
	{ .name = "sp", .bits = 64, .type = "data_ptr", .src = KSTUB_ARM64_SP },
	{ .name = "pc", .bits = 64, .type = "code_ptr", .src = KSTUB_ARM64_PC },
	{ .name = "cpsr", .bits = 32, .type = "cpsr_flags", .flags = kstub_arm64_cpsr_flags,
	  .src = KSTUB_ARM64_PSTATE },
	{ .feature = "org.gnu.gdb.aarch64.fpu", .name = "v0", .bits = 128,
	  .type = "uint128", .src = KSTUB_ARM64_V, .off = 0 },
	V(1), V(2), V(3), V(4), V(5), V(6), V(7), V(8), V(9), V(10),
	V(11), V(12), V(13), V(14), V(15), V(16), V(17), V(18), V(19), V(20),
	V(21), V(22), V(23), V(24), V(25), V(26), V(27), V(28), V(29), V(30), V(31),
	{ .name = "fpsr", .bits = 32, .type = "int", .src = KSTUB_ARM64_FPSR },
	{ .name = "fpcr", .bits = 32, .type = "int", .src = KSTUB_ARM64_FPCR },
	/*
	 * What the kernel's GDB scripts read for $lx_current(); an integer,
	 * as QEMU's stub has it: 6.1's scripts shift it, which GDB refuses
	 * to do to a pointer.
	 */
	{ .feature = "org.kstub.aarch64.kernel", .name = "SP_EL0", .bits = 64,
	  .type = "uint64", .src = KSTUB_ARM64_TASK },
};

#undef X
#undef V

enum { KSTUB_ARM64_XML_CAP = 8192 };
static char kstub_arm64_xml[KSTUB_ARM64_XML_CAP];

static int kstub_arm64_reg_get(struct pt_regs *regs, int cpu,
			       struct task_struct *task, int regno, u8 *val,
			       bool *avail)
{
	const struct kstub_reg_desc *r;
	struct kstub_arm64_fpsimd *fp = per_cpu_ptr(&kstub_arm64_fp, cpu);
	int size;
	u32 v32;

	if (regno < 0 || regno >= ARRAY_SIZE(kstub_arm64_regs))
		return 0;
	r = &kstub_arm64_regs[regno];
	size = r->bits / 8;
	*avail = regs;
	if (!regs)
		return size;
	switch (r->src) {
	case KSTUB_ARM64_X:
		memcpy(val, &regs->regs[r->off], size);
		break;
	case KSTUB_ARM64_SP:
		memcpy(val, &regs->sp, size);
		break;
	case KSTUB_ARM64_PC:
		memcpy(val, &regs->pc, size);
		break;
	case KSTUB_ARM64_PSTATE:
		v32 = regs->pstate;
		memcpy(val, &v32, size);
		break;
	case KSTUB_ARM64_V:
		memcpy(val, fp->v[r->off], size);
		break;
	case KSTUB_ARM64_FPSR:
		memcpy(val, &fp->fpsr, size);
		break;
	case KSTUB_ARM64_FPCR:
		memcpy(val, &fp->fpcr, size);
		break;
	case KSTUB_ARM64_TASK:
		/* a CPU stopped in user mode has a user value there */
		if (!task || user_mode(regs))
			*avail = false;
		else
			memcpy(val, &task, size);
		break;
	}
	return size;
}

/* GDB's numbers of the registers in kstub_arm64_regs[] that code names */
enum {
	KSTUB_ARM64_X19 = 19,
	KSTUB_ARM64_FP_REGNO = 29,
	KSTUB_ARM64_SP_REGNO = 31,
	KSTUB_ARM64_PC_REGNO = 32,
	KSTUB_ARM64_CPSR = 33,
};

static const int kstub_arm64_expedite[] = {
	KSTUB_ARM64_FP_REGNO, KSTUB_ARM64_SP_REGNO, KSTUB_ARM64_PC_REGNO, -1
};

/*
 * cpu_switch_to() saved x19-x28, the frame and stack pointers and its
 * return address into __switch_to() in thread.cpu_context: the task
 * resumes as if that call returned.
 */
static int kstub_arm64_task_reg_get(struct task_struct *t, int regno, u8 *val,
				    bool *avail)
{
	const struct cpu_context *cc = &t->thread.cpu_context;
	struct pt_regs regs = {};
	int size = kstub_arm64_reg_get(NULL, 0, NULL, regno, val, avail);

	if (size > 0 && kstub_arm64_regs[regno].src == KSTUB_ARM64_TASK) {
		/* a task switched out in the kernel, where sp_el0 is current */
		memcpy(val, &t, size);
		*avail = true;
		return size;
	}
	if (size <= 0 || regno < KSTUB_ARM64_X19 || regno > KSTUB_ARM64_CPSR)
		return size;
	regs.regs[19] = cc->x19;
	regs.regs[20] = cc->x20;
	regs.regs[21] = cc->x21;
	regs.regs[22] = cc->x22;
	regs.regs[23] = cc->x23;
	regs.regs[24] = cc->x24;
	regs.regs[25] = cc->x25;
	regs.regs[26] = cc->x26;
	regs.regs[27] = cc->x27;
	regs.regs[28] = cc->x28;
	regs.regs[29] = cc->fp;
	regs.regs[30] = cc->pc;
	regs.sp = cc->sp;
	regs.pc = cc->pc;
	regs.pstate = PSR_MODE_EL1h;
	return kstub_arm64_reg_get(&regs, 0, t, regno, val, avail);
}

static int kstub_arm64_reg_set(struct pt_regs *regs, int regno, const u8 *val)
{
	const struct kstub_reg_desc *r;
	u32 v32;

	if (regno < 0 || regno >= ARRAY_SIZE(kstub_arm64_regs))
		return -EINVAL;
	r = &kstub_arm64_regs[regno];
	switch (r->src) {
	case KSTUB_ARM64_X:
		memcpy(&regs->regs[r->off], val, sizeof(u64));
		return 0;
	case KSTUB_ARM64_SP:
		memcpy(&regs->sp, val, sizeof(u64));
		return 0;
	case KSTUB_ARM64_PC:
		memcpy(&regs->pc, val, sizeof(u64));
		return 0;
	case KSTUB_ARM64_PSTATE:
		/* only the condition flags: the rest is how we return to EL1 */
		memcpy(&v32, val, sizeof(v32));
		regs->pstate = (regs->pstate & ~0xf0000000UL) | (v32 & 0xf0000000U);
		return 0;
	default:
		/* FP/SIMD values are a snapshot; writing them would be lost */
		return -EPERM;
	}
}

static void kstub_arm64_save_cpu(int cpu)
{
	kstub_arm64_save_fpsimd(per_cpu_ptr(&kstub_arm64_fp, cpu));
}

NOKPROBE_SYMBOL(kstub_arm64_save_cpu);

/* ---- stopping the other CPUs: an IPI (arm64 has no NMI a module can send) ---- */

static DEFINE_PER_CPU(call_single_data_t, kstub_arm64_csd);
static DEFINE_PER_CPU(bool, kstub_arm64_csd_busy);

/*
 * The request is answered before the CPU parks: an async csd is free
 * again before its function runs, and the next stop, which may start as
 * soon as this CPU has left its park, must be able to send it again.
 */
static void kstub_arm64_ipi(void *unused)
{
	this_cpu_write(kstub_arm64_csd_busy, false);
	kstub_park(get_irq_regs());
}

NOKPROBE_SYMBOL(kstub_arm64_ipi);

static void kstub_arm64_roundup(const struct cpumask *mask)
{
	call_single_data_t *csd;
	unsigned int cpu;

	for_each_cpu(cpu, mask) {
		/* a request the CPU has not answered yet must not be sent again */
		if (per_cpu(kstub_arm64_csd_busy, cpu))
			continue;
		per_cpu(kstub_arm64_csd_busy, cpu) = true;
		csd = &per_cpu(kstub_arm64_csd, cpu);
		INIT_CSD(csd, kstub_arm64_ipi, NULL);
		if (smp_call_function_single_async(cpu, csd))
			per_cpu(kstub_arm64_csd_busy, cpu) = false;
	}
}

NOKPROBE_SYMBOL(kstub_arm64_roundup);

/* ---- breakpoints and patching ---- */

/*
 * Kernel code kstub runs with its breakpoints in, where one would be hit
 * with no way out. Functions a kernel does not have are skipped.
 * - What kstub_arm64_poke() calls to find a module's page: hit while
 *   kstub writes the others in or out, it could not be taken out.
 * - How a BRK reaches kstub where ftrace brings it (hooks_ftrace.c): a BRK
 *   in there would find ftrace's recursion guard taken, never reach kstub,
 *   and oops (test_breakpoint_roulette found ftrace_ops_test).
 * - The roundup's IPI, sent with the breakpoints still in: a BRK taken
 *   inside kstub's own handler does not reach kstub where ftrace brings it.
 * Elsewhere, a breakpoint kstub runs into while it serves GDB is taken out
 * and refused (core.c, kstub_reentered()).
 */
static const char * const kstub_arm64_patch_path[] = {
	"vmalloc_to_page",
	"arch_ftrace_ops_list_func", "ftrace_ops_list_func", "ftrace_ops_test",
	"ftrace_lookup_ip", "ftrace_ops_assist_func",
	"smp_call_function_single_async", "generic_exec_single",
	"__smp_call_single_queue", "send_call_function_single_ipi",
	"arch_send_call_function_single_ipi", "smp_cross_call", "llist_add_batch",
	"__ipi_send_mask", "__ipi_send_single", "ipi_send_mask", "ipi_send_single",
	"gic_ipi_send_mask", "__bitmap_weight", "_find_next_bit", "_find_first_bit",
	"cpumask_next",
};

/*
 * The way of a debug exception to kstub's hooks and back. Its entry code
 * is noinstr, which the kprobes blacklist has, but on arm64 nothing keeps
 * noinstr code from calling out-of-line copies of inline helpers in plain
 * text (objtool checks that on x86 only). A BRK in one of those is taken
 * again by every debug exception before kstub sees the first:
 *  - entering and leaving, context tracking's ct_nmi_enter() and
 *    ct_nmi_exit() call context_tracking.c's __kern_my_cpu_offset():
 *    a BRK there recursed until the stack ran over and the kernel's page
 *    tables were written (test_breakpoint_roulette, 6.12 arm64); with
 *    lockdep, its irq-state hooks call helpers of their own too;
 *  - before the step hook, the kernel puts back the hardware breakpoints
 *    a step suspended (hw_breakpoint.c's __kern_my_cpu_offset(), found by
 *    test_breakpoint_roulette too): a BRK there, in a break-in's step,
 *    left the kernel with a step kstub no longer expected ("Unexpected
 *    kernel single-step exception at EL1").
 * These and the functions they call directly are refused.
 */
static const char * const kstub_arm64_debug_path[] = {
	"ct_nmi_enter", "ct_nmi_exit", "arm64_enter_el1_dbg",
	"lockdep_hardirqs_off", "lockdep_hardirqs_on", "lockdep_hardirqs_on_prepare",
	"trace_hardirqs_off_finish", "trace_hardirqs_on_prepare",
	"do_debug_exception", "reinstall_suspended_bps", "try_step_suspended_breakpoints",
};

enum {
	/* the callees: some 40 on a kernel with lockdep and KASAN */
	KSTUB_ARM64_CALLEES_MAX = 96,
	KSTUB_ARM64_B_MASK = 0x7c000000,	/* B, and BL with bit 31 */
	KSTUB_ARM64_B = 0x14000000,
	KSTUB_ARM64_IMM26 = 0x03ffffff,
};

/* where no breakpoint goes, set at init; read while stopped */
static struct {
	unsigned long start, end;
} kstub_arm64_refused[ARRAY_SIZE(kstub_arm64_patch_path) + ARRAY_SIZE(kstub_arm64_debug_path) +
		      KSTUB_ARM64_CALLEES_MAX];
static size_t kstub_arm64_nrefused;

/* Refuse the function @addr is in; returns its start, 0 if none. */
static unsigned long kstub_arm64_refuse_fn(unsigned long addr, unsigned long *size)
{
	unsigned long off;
	size_t i;

	if (!addr ||
	    !kstub_call(kstub_arm64_size_offset, addr, (unsigned long)size, (unsigned long)&off))
		return 0;
	for (i = 0; i < kstub_arm64_nrefused; i++)
		if (kstub_arm64_refused[i].start == addr - off)
			return addr - off;
	if (kstub_arm64_nrefused == ARRAY_SIZE(kstub_arm64_refused)) {
		pr_warn("arm64: no room to refuse breakpoints in %ps\n", (void *)addr);
		return 0;
	}
	kstub_arm64_refused[kstub_arm64_nrefused].start = addr - off;
	kstub_arm64_refused[kstub_arm64_nrefused++].end = addr - off + *size;
	return addr - off;
}

/* Refuse @name's function and those it calls or jumps to directly. */
static void kstub_arm64_refuse_callees(const char *name)
{
	unsigned long fn, size, csize, at, to;
	u32 insn;

	fn = kstub_arm64_refuse_fn(kstub_lookup(name), &size);
	for (at = fn; fn && at < fn + size; at += KSTUB_ARM64_INSN_SIZE) {
		if (copy_from_kernel_nofault(&insn, (void *)at, sizeof(insn)))
			return;
		if ((insn & KSTUB_ARM64_B_MASK) != KSTUB_ARM64_B)
			continue;
		/* imm26, in instructions, signed */
		to = at + ((long)((u64)(insn & KSTUB_ARM64_IMM26) << 38) >> 36);
		if (to < fn || to >= fn + size)
			kstub_arm64_refuse_fn(to, &csize);
	}
}

static void kstub_arm64_refused_init(void)
{
	unsigned long size;
	size_t i;

	kstub_arm64_nrefused = 0;
	for (i = 0; i < ARRAY_SIZE(kstub_arm64_patch_path); i++)
		kstub_arm64_refuse_fn(kstub_lookup(kstub_arm64_patch_path[i]), &size);
	for (i = 0; i < ARRAY_SIZE(kstub_arm64_debug_path); i++)
		kstub_arm64_refuse_callees(kstub_arm64_debug_path[i]);
}

static bool kstub_arm64_refused_at(unsigned long addr)
{
	size_t i;

	for (i = 0; i < kstub_arm64_nrefused; i++)
		if (addr >= kstub_arm64_refused[i].start && addr < kstub_arm64_refused[i].end)
			return true;
	return false;
}

static int kstub_arm64_bp_valid(unsigned long addr)
{
	unsigned long site;
	u32 insn;

	if (addr & (KSTUB_ARM64_INSN_SIZE - 1))
		return -EINVAL;
	if (!kstub_call(kstub_arm64_kernel_text_address, addr, 0, 0))
		return -EFAULT;
	if (kstub_call(kstub_arm64_within_kprobe_blacklist, addr, 0, 0) & 0xff)
		return -EPERM;
	if (kstub_arm64_refused_at(addr))
		return -EPERM;
	/* a static branch: the kernel rewrites it expecting its own instruction */
	if (kstub_call(kstub_arm64_jump_label_reserved, addr, addr, 0) & 0xff)
		return -EBUSY;
	if (copy_from_kernel_nofault(&insn, (void *)addr, sizeof(insn)))
		return -EFAULT;
	/* a call site ftrace is using is rewritten under us at any time */
	site = kstub_arm64_ftrace_location ?
	       kstub_call(kstub_arm64_ftrace_location, addr, addr, 0) : 0;
	if (site && insn != KSTUB_ARM64_NOP)
		return -EBUSY;
	/* a BTI landing pad must stay one where BTI is enforced */
	if ((insn & KSTUB_ARM64_BTI_MASK) == KSTUB_ARM64_BTI)
		return -EINVAL;
	return 0;
}

/* Context: see kstub_arm64_poke(). Instructions are little-endian */
static int kstub_arm64_patch(unsigned long addr, const void *buf, size_t len)
{
	const u8 *b = buf;

	if (len != KSTUB_ARM64_INSN_SIZE)
		return -EINVAL;
	return kstub_arm64_poke(addr, b[0] | b[1] << 8 | b[2] << 16 | (u32)b[3] << 24);
}

NOKPROBE_SYMBOL(kstub_arm64_patch);

static void kstub_arm64_set_pc(struct pt_regs *regs, unsigned long pc)
{
	regs->pc = pc;
}

NOKPROBE_SYMBOL(kstub_arm64_set_pc);

/* ---- single-step with interrupts masked ---- */

static u64 kstub_arm64_step_if;
static u32 kstub_arm64_step_insn;

static void kstub_arm64_step_arm(struct pt_regs *regs)
{
	kstub_arm64_step_if = regs->pstate & KSTUB_ARM64_IF;
	if (copy_from_kernel_nofault(&kstub_arm64_step_insn, (void *)regs->pc,
				     sizeof(kstub_arm64_step_insn)))
		kstub_arm64_step_insn = 0;
	regs->pstate |= KSTUB_ARM64_IF;
	kstub_call(kstub_arm64_enable_step, (unsigned long)regs, 0, 0);
}

NOKPROBE_SYMBOL(kstub_arm64_step_arm);

/*
 * The step ran with I and F set, so no interrupt was taken into it. Put
 * them back as they were, plus whatever the instruction itself changed,
 * and give an "mrs xt, daif" the value it would have read without the
 * debugger.
 */
static void kstub_arm64_step_done(struct pt_regs *regs)
{
	u32 insn = kstub_arm64_step_insn;
	unsigned int rt = insn & ~KSTUB_ARM64_XT_MASK;
	u64 mask = kstub_arm64_step_if, imm = 0;

	kstub_call(kstub_arm64_disable_step, 0, 0, 0);
	/* msr daifset/daifclr, #imm: imm bits 1 and 0 are I and F */
	if (insn & 0x200)
		imm |= PSR_I_BIT;
	if (insn & 0x100)
		imm |= PSR_F_BIT;
	if ((insn & KSTUB_ARM64_MSR_DAIFSET_MASK) == KSTUB_ARM64_MSR_DAIFSET)
		mask |= imm;
	else if ((insn & KSTUB_ARM64_MSR_DAIFSET_MASK) == KSTUB_ARM64_MSR_DAIFCLR)
		mask &= ~imm;
	else if ((insn & KSTUB_ARM64_XT_MASK) == KSTUB_ARM64_MSR_DAIF)
		return;		/* it set all of DAIF itself */
	else if ((insn & KSTUB_ARM64_XT_MASK) == KSTUB_ARM64_MRS_DAIF &&
		 rt != KSTUB_ARM64_XZR)
		regs->regs[rt] = (regs->regs[rt] & ~KSTUB_ARM64_IF) | kstub_arm64_step_if;
	regs->pstate = (regs->pstate & ~KSTUB_ARM64_IF) | mask;
}

NOKPROBE_SYMBOL(kstub_arm64_step_done);

/*
 * Between an interrupt handler and its eret, arm64 may preempt the
 * interrupted task (the frame's mask is not asked) and runs softirqs with
 * interrupts on, and a nested interrupt unmasks debug exceptions: a step
 * armed in the handler would then fire in the wrong place.
 */
static bool kstub_arm64_irq_exit_preempts(void)
{
	if (!IS_ENABLED(CONFIG_PREEMPTION) || preempt_count() != HARDIRQ_OFFSET)
		return false;
	if (IS_ENABLED(CONFIG_PREEMPT_DYNAMIC) && kstub_arm64_irq_preempt_key)
		return static_key_enabled((struct static_key *)kstub_arm64_irq_preempt_key);
	return true;
}

NOKPROBE_SYMBOL(kstub_arm64_irq_exit_preempts);

/*
 * A handler's caller may restore DAIF from flags it saved before the
 * handler ran (an hrtimer's next callback does), unmasking the armed step
 * in the middle of the interrupt. kstub's own irq_work runs last in its
 * IPI, with nothing restored after it: arm the step only from there.
 */
static int kstub_arm64_step_irq(struct pt_regs *regs, bool own_irq)
{
	if (user_mode(regs))
		return -EPERM;
	if (kstub_arm64_irq_exit_preempts())
		return -EBUSY;
	if (!own_irq)
		return -EAGAIN;
	/*
	 * Pending softirqs run on this interrupt's way out, with interrupts
	 * on, unless it interrupted a softirq or a BH-disabled section
	 * (then they run later, in that context, after the step).
	 */
	if (irq_count() == HARDIRQ_OFFSET && local_softirq_pending())
		return -EAGAIN;
	/* interrupt handlers run with debug exceptions unmasked */
	asm volatile("msr daifset, #8" ::: "memory");
	kstub_arm64_step_arm(regs);
	return 0;
}

NOKPROBE_SYMBOL(kstub_arm64_step_irq);

static void kstub_arm64_step_cancel(struct pt_regs *regs)
{
	kstub_call(kstub_arm64_disable_step, 0, 0, 0);
	regs->pstate &= ~(DBG_SPSR_SS | KSTUB_ARM64_IF);
	regs->pstate |= kstub_arm64_step_if;
}

NOKPROBE_SYMBOL(kstub_arm64_step_cancel);

/* ---- traps ---- */

/* BRK #imm from kstub: enter, and step over the compiled-in one on resume. */
bool kstub_arm64_brk(struct pt_regs *regs, unsigned long esr)
{
	unsigned long pc = regs->pc;

	switch (esr & ESR_ELx_BRK64_ISS_COMMENT_MASK) {
	case KSTUB_ARM64_BRK:
		return kstub_trap_swbreak(regs, pc);
	case KSTUB_ARM64_BRK_COMPILED:
		if (!kstub_trap(regs, KSTUB_REASON_BREAK, KSTUB_SIGTRAP))
			return false;
		if (regs->pc == pc)
			regs->pc += KSTUB_ARM64_INSN_SIZE;
		return true;
	default:
		return false;
	}
}

NOKPROBE_SYMBOL(kstub_arm64_brk);

bool kstub_arm64_step(struct pt_regs *regs)
{
	return kstub_is_stepping() && kstub_trap(regs, KSTUB_REASON_STEP, KSTUB_SIGTRAP);
}

NOKPROBE_SYMBOL(kstub_arm64_step);

/*
 * An oops stops once, after the kernel printed it. If GDB moved the pc the
 * kernel resumes there; otherwise the oops goes on.
 */
static int kstub_arm64_notify(struct notifier_block *nb, unsigned long cmd,
			      void *data)
{
	struct die_args *args = data;
	struct pt_regs *regs = args->regs;
	unsigned long pc;

	if (cmd != DIE_OOPS || !regs || user_mode(regs))
		return NOTIFY_DONE;
	pc = regs->pc;
	if (!kstub_trap(regs, KSTUB_REASON_OOPS, kstub_gdb_signal(args->signr)))
		return NOTIFY_DONE;
	return regs->pc != pc ? NOTIFY_STOP : NOTIFY_DONE;
}

NOKPROBE_SYMBOL(kstub_arm64_notify);

static struct notifier_block kstub_arm64_die_nb = {
	.notifier_call = kstub_arm64_notify,
	.priority = KSTUB_ARM64_DIE_PRIORITY,
};

static unsigned long kstub_arm64_image_base(void)
{
	return kstub_arm64_stext;
}

/* the first instruction past the ftrace site, if the function has one */
static unsigned long kstub_arm64_hook_addr(unsigned long fn)
{
	unsigned long site = kstub_arm64_ftrace_location ?
		kstub_call(kstub_arm64_ftrace_location, fn,
			   fn + 3 * KSTUB_ARM64_INSN_SIZE, 0) : 0;

	return site ? site + KSTUB_ARM64_INSN_SIZE : fn;
}

/*
 * The AAPCS64 va_list of the call: the format took x0, seven more
 * arguments are in x1-x7, the rest on the stack. No FP/SIMD registers:
 * the kernel passes none.
 */
static void kstub_arm64_printf_args(struct pt_regs *regs, char *buf, size_t size)
{
	unsigned long gr[8];
	va_list ap;

	memcpy(gr, regs->regs, sizeof(gr));
	ap.__stack = (void *)regs->sp;
	ap.__gr_top = gr + ARRAY_SIZE(gr);
	ap.__vr_top = NULL;
	ap.__gr_offs = -(int)(sizeof(gr) - sizeof(gr[0]));
	ap.__vr_offs = 0;
	vscnprintf(buf, size, (const char *)regs->regs[0], ap);
}

static int kstub_arm64_init(void)
{
	int ret;

	ret = kstub_syms_resolve(kstub_arm64_syms, ARRAY_SIZE(kstub_arm64_syms));
	if (ret)
		return ret;
	kstub_arm64_refused_init();
	if (!kstub_tdesc_build(kstub_arm64_xml, sizeof(kstub_arm64_xml), "aarch64",
			       kstub_arm64_regs, ARRAY_SIZE(kstub_arm64_regs)))
		return -ENOSPC;
	ret = kstub_arm64_poke_init();
	if (ret)
		return ret;
	ret = kstub_arm64_hooks_init();
	if (ret)
		goto err_exit_poke;
	ret = register_die_notifier(&kstub_arm64_die_nb);
	if (ret)
		goto err_exit_hooks;
	return 0;

err_exit_hooks:
	kstub_arm64_hooks_exit();
err_exit_poke:
	kstub_arm64_poke_exit();
	return ret;
}

static void kstub_arm64_exit(void)
{
	unregister_die_notifier(&kstub_arm64_die_nb);
	kstub_arm64_hooks_exit();
	kstub_arm64_poke_exit();
}

const struct kstub_arch_ops kstub_arch = {
	.name = "arm64",
	.target_xml = kstub_arm64_xml,
	.init = kstub_arm64_init,
	.exit = kstub_arm64_exit,
	.reg_get = kstub_arm64_reg_get,
	.reg_set = kstub_arm64_reg_set,
	.task_reg_get = kstub_arm64_task_reg_get,
	.expedite = kstub_arm64_expedite,
	.save_cpu = kstub_arm64_save_cpu,
	.stop_cpus = kstub_arm64_roundup,
	.bp_insn = (const u8 *)&kstub_arm64_brk_insn,
	.bp_len = sizeof(kstub_arm64_brk_insn),
	.bp_valid = kstub_arm64_bp_valid,
	.patch = kstub_arm64_patch,
	.patch_unlocked = true,
	.set_pc = kstub_arm64_set_pc,
	.step_arm = kstub_arm64_step_arm,
	.step_done = kstub_arm64_step_done,
	.step_irq = kstub_arm64_step_irq,
	.step_cancel = kstub_arm64_step_cancel,
	.image_base = kstub_arm64_image_base,
	.hook_addr = kstub_arm64_hook_addr,
	.printf_args = kstub_arm64_printf_args,
	.hw_quiet = kstub_arm64_hw_quiet,
};

unsigned long kstub_call(unsigned long fn, unsigned long a0, unsigned long a1,
			 unsigned long a2)
{
	unsigned long (*f)(unsigned long, unsigned long, unsigned long) = (void *)fn;

	return f(a0, a1, a2);
}

NOKPROBE_SYMBOL(kstub_call);

unsigned long kstub_call4(unsigned long fn, unsigned long a0, unsigned long a1,
			  unsigned long a2, unsigned long a3)
{
	unsigned long (*f)(unsigned long, unsigned long, unsigned long,
			   unsigned long) = (void *)fn;

	return f(a0, a1, a2, a3);
}
