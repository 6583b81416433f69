// SPDX-License-Identifier: GPL-2.0
/*
 * x86_64: int3 breakpoints, TF single-step with interrupts masked, NMI
 * roundup, and GDB's amd64 register layout.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kdebug.h>
#include <linux/notifier.h>
#include <linux/uaccess.h>
#include <asm/apic.h>
#include <asm/debugreg.h>
#include <asm/nmi.h>
#include <asm/processor-flags.h>
#include <asm/msr.h>
#include <asm/segment.h>
#include <asm/traps.h>
#include "kstub.h"

enum {
	KSTUB_X86_INT3 = 0xcc,
	KSTUB_X86_CLI = 0xfa,
	KSTUB_X86_STI = 0xfb,
	KSTUB_X86_PUSHF = 0x9c,
	KSTUB_X86_POPF = 0x9d,
	KSTUB_X86_IRET = 0xcf,
	KSTUB_X86_MAX_PREFIXES = 14,
	/* a notifier ahead of kgdb (0), behind kprobes and hw_breakpoint */
	KSTUB_X86_DIE_PRIORITY = INT_MAX - 1,
};

static const u8 kstub_x86_int3[] = { KSTUB_X86_INT3 };

static unsigned long kstub_x86_text_poke_kgdb;
static unsigned long kstub_x86_kernel_text_address;
static unsigned long kstub_x86_within_kprobe_blacklist;
static unsigned long kstub_x86_ftrace_location;
static unsigned long kstub_x86_stext;

static const struct kstub_sym kstub_x86_syms[] = {
	{ "text_poke_kgdb", &kstub_x86_text_poke_kgdb },
	{ "kernel_text_address", &kstub_x86_kernel_text_address },
	{ "within_kprobe_blacklist", &kstub_x86_within_kprobe_blacklist },
	{ "_text", &kstub_x86_stext },
	{ "ftrace_location_range", &kstub_x86_ftrace_location, true },
};

/* state that is not in pt_regs, recorded by each CPU as it stops */
struct kstub_x86_cpu {
	u16 seg[4];		/* ds es fs gs */
	u64 base[2];		/* fs_base gs_base */
};

static struct kstub_x86_cpu kstub_x86_cpus[NR_CPUS];

/* the single-step in progress */
static unsigned long kstub_x86_step_if;
static u8 kstub_x86_step_op;

/* an oops already reported at DIE_GPF is not reported again at DIE_OOPS */
static struct pt_regs *kstub_x86_oops_regs[NR_CPUS];

/* ---- registers, in the order of the target description below ---- */

enum kstub_x86_src {
	KSTUB_X86_PT,		/* a pt_regs field */
	KSTUB_X86_SEG,		/* a data segment selector */
	KSTUB_X86_BASE,		/* fs_base / gs_base */
	KSTUB_X86_NONE,		/* x87/SSE: described, never available */
};

struct kstub_x86_reg {
	u8 size;
	u8 src;
	u16 off;		/* pt_regs offset or index */
};

#define PT(f, n)	{ n, KSTUB_X86_PT, offsetof(struct pt_regs, f) }
#define NONE(n)		{ n, KSTUB_X86_NONE, 0 }

static const struct kstub_x86_reg kstub_x86_regs[] = {
	PT(ax, 8), PT(bx, 8), PT(cx, 8), PT(dx, 8),
	PT(si, 8), PT(di, 8), PT(bp, 8), PT(sp, 8),
	PT(r8, 8), PT(r9, 8), PT(r10, 8), PT(r11, 8),
	PT(r12, 8), PT(r13, 8), PT(r14, 8), PT(r15, 8),
	PT(ip, 8), PT(flags, 4), PT(cs, 4), PT(ss, 4),
	{ 4, KSTUB_X86_SEG, 0 }, { 4, KSTUB_X86_SEG, 1 },
	{ 4, KSTUB_X86_SEG, 2 }, { 4, KSTUB_X86_SEG, 3 },
	NONE(10), NONE(10), NONE(10), NONE(10),		/* st0-st7 */
	NONE(10), NONE(10), NONE(10), NONE(10),
	NONE(4), NONE(4), NONE(4), NONE(4),		/* fctrl-fop */
	NONE(4), NONE(4), NONE(4), NONE(4),
	NONE(16), NONE(16), NONE(16), NONE(16),		/* xmm0-xmm15 */
	NONE(16), NONE(16), NONE(16), NONE(16),
	NONE(16), NONE(16), NONE(16), NONE(16),
	NONE(16), NONE(16), NONE(16), NONE(16),
	NONE(4),					/* mxcsr */
	{ 8, KSTUB_X86_BASE, 0 }, { 8, KSTUB_X86_BASE, 1 },
};

#undef PT
#undef NONE

static const char kstub_x86_xml[] =
	"<?xml version=\"1.0\"?>"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	"<target version=\"1.0\"><architecture>i386:x86-64</architecture>"
	"<feature name=\"org.gnu.gdb.i386.core\">"
	"<flags id=\"i386_eflags\" size=\"4\">"
	"<field name=\"CF\" start=\"0\" end=\"0\"/>"
	"<field name=\"\" start=\"1\" end=\"1\"/>"
	"<field name=\"PF\" start=\"2\" end=\"2\"/>"
	"<field name=\"AF\" start=\"4\" end=\"4\"/>"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/>"
	"<field name=\"SF\" start=\"7\" end=\"7\"/>"
	"<field name=\"TF\" start=\"8\" end=\"8\"/>"
	"<field name=\"IF\" start=\"9\" end=\"9\"/>"
	"<field name=\"DF\" start=\"10\" end=\"10\"/>"
	"<field name=\"OF\" start=\"11\" end=\"11\"/>"
	"<field name=\"NT\" start=\"14\" end=\"14\"/>"
	"<field name=\"RF\" start=\"16\" end=\"16\"/>"
	"<field name=\"VM\" start=\"17\" end=\"17\"/>"
	"<field name=\"AC\" start=\"18\" end=\"18\"/>"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/>"
	"<field name=\"VIP\" start=\"20\" end=\"20\"/>"
	"<field name=\"ID\" start=\"21\" end=\"21\"/>"
	"</flags>"
	"<reg name=\"rax\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>"
	"<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>"
	"<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
	"<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>"
	"<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.sse\">"
	"<reg name=\"xmm0\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm1\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm2\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm3\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm4\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm5\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm6\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm7\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm8\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm9\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm10\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm11\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm12\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm13\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm14\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"xmm15\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"int\" group=\"vector\"/>"
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.segments\">"
	"<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/>"
	"<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>"
	"</feature>"
	"</target>";

static int kstub_x86_reg_get(struct pt_regs *regs, int cpu, int regno,
			     u8 *val, bool *avail)
{
	const struct kstub_x86_reg *r;
	struct kstub_x86_cpu *xc = &kstub_x86_cpus[cpu];

	if (regno < 0 || regno >= ARRAY_SIZE(kstub_x86_regs))
		return 0;
	r = &kstub_x86_regs[regno];
	*avail = regs && r->src != KSTUB_X86_NONE;
	if (!*avail)
		return r->size;
	switch (r->src) {
	case KSTUB_X86_PT:
		/* little-endian: the low bytes of the field */
		memcpy(val, (u8 *)regs + r->off, r->size);
		break;
	case KSTUB_X86_SEG:
		memset(val, 0, r->size);
		memcpy(val, &xc->seg[r->off], sizeof(xc->seg[0]));
		break;
	case KSTUB_X86_BASE:
		memcpy(val, &xc->base[r->off], r->size);
		break;
	}
	return r->size;
}

static int kstub_x86_reg_set(struct pt_regs *regs, int regno, const u8 *val)
{
	const struct kstub_x86_reg *r;
	u32 flags;

	if (regno < 0 || regno >= ARRAY_SIZE(kstub_x86_regs))
		return -EINVAL;
	r = &kstub_x86_regs[regno];
	if (r->src != KSTUB_X86_PT)
		return -EPERM;
	if (r->off == offsetof(struct pt_regs, flags)) {
		memcpy(&flags, val, sizeof(flags));
		regs->flags = (regs->flags & ~0xffffffffUL) | flags;
		return 0;
	}
	if (r->size != sizeof(unsigned long))
		return -EPERM;	/* cs, ss: the trap return needs them as they are */
	memcpy((u8 *)regs + r->off, val, r->size);
	return 0;
}

static void kstub_x86_save_cpu(int cpu)
{
	struct kstub_x86_cpu *xc = &kstub_x86_cpus[cpu];

	savesegment(ds, xc->seg[0]);
	savesegment(es, xc->seg[1]);
	savesegment(fs, xc->seg[2]);
	savesegment(gs, xc->seg[3]);
	rdmsrl(MSR_FS_BASE, xc->base[0]);
	rdmsrl(MSR_GS_BASE, xc->base[1]);
}

/* ---- stopping the other CPUs ---- */

static int kstub_x86_nmi(unsigned int cmd, struct pt_regs *regs)
{
	return kstub_park(regs) ? NMI_HANDLED : NMI_DONE;
}

static void kstub_x86_roundup(const struct cpumask *mask)
{
	apic->send_IPI_mask(mask, NMI_VECTOR);
}

/* ---- breakpoints and patching ---- */

static int kstub_x86_bp_valid(unsigned long addr)
{
	if (!kstub_call(kstub_x86_kernel_text_address, addr, 0, 0))
		return -EFAULT;
	/* entry, noinstr and NOKPROBE code run where a trap is not survivable */
	if (kstub_call(kstub_x86_within_kprobe_blacklist, addr, 0, 0) & 0xff)
		return -EPERM;
	/* ftrace rewrites its call sites at run time */
	if (kstub_x86_ftrace_location &&
	    kstub_call(kstub_x86_ftrace_location, addr, addr, 0))
		return -EBUSY;
	return 0;
}

/* Context: every other CPU parked (a stop, or stop_machine at exit). */
static int kstub_x86_patch(unsigned long addr, const void *buf, size_t len)
{
	kstub_call(kstub_x86_text_poke_kgdb, addr, (unsigned long)buf, len);
	return 0;
}

static void kstub_x86_set_pc(struct pt_regs *regs, unsigned long pc)
{
	regs->ip = pc;
}

/* ---- single-step ---- */

static bool kstub_x86_is_prefix(u8 b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	default:
		return (b & 0xf0) == 0x40;	/* REX */
	}
}

static u8 kstub_x86_opcode(unsigned long ip)
{
	u8 b = 0;
	int i;

	for (i = 0; i < KSTUB_X86_MAX_PREFIXES; i++, ip++) {
		if (copy_from_kernel_nofault(&b, (void *)ip, 1))
			return 0;
		if (!kstub_x86_is_prefix(b))
			break;
	}
	return b;
}

static void kstub_x86_step_arm(struct pt_regs *regs)
{
	kstub_x86_step_if = regs->flags & X86_EFLAGS_IF;
	kstub_x86_step_op = kstub_x86_opcode(regs->ip);
	regs->flags &= ~X86_EFLAGS_IF;
	regs->flags |= X86_EFLAGS_TF;
}

/*
 * The step ran with IF clear so no interrupt handler was entered. Put IF
 * back unless the instruction itself decided it, and hide the masking from
 * a pushf that saw it.
 */
static void kstub_x86_step_done(struct pt_regs *regs)
{
	unsigned long pushed;

	regs->flags &= ~X86_EFLAGS_TF;
	switch (kstub_x86_step_op) {
	case KSTUB_X86_CLI:
	case KSTUB_X86_STI:
	case KSTUB_X86_POPF:
	case KSTUB_X86_IRET:
		return;
	case KSTUB_X86_PUSHF:
		if (copy_from_kernel_nofault(&pushed, (void *)regs->sp, sizeof(pushed)))
			break;
		pushed = (pushed & ~(X86_EFLAGS_TF | X86_EFLAGS_IF)) | kstub_x86_step_if;
		pagefault_disable();
		__put_kernel_nofault((void *)regs->sp, &pushed, unsigned long, out);
out:
		pagefault_enable();
		break;
	}
	regs->flags |= kstub_x86_step_if;
}

/* ---- traps ---- */

void kstub_x86_breakpoint(void);
extern const char kstub_x86_break_return[];

/*
 * An oops stops once. If GDB moved the pc the kernel resumes there;
 * otherwise the oops goes on as it would have without a debugger.
 */
static int kstub_x86_oops(struct pt_regs *regs, bool early)
{
	int cpu = raw_smp_processor_id();
	unsigned long ip = regs->ip;

	if (!early && kstub_x86_oops_regs[cpu] == regs) {
		kstub_x86_oops_regs[cpu] = NULL;
		return NOTIFY_DONE;
	}
	if (!kstub_trap(regs, KSTUB_REASON_OOPS, KSTUB_SIGSEGV))
		return NOTIFY_DONE;
	if (regs->ip != ip)
		return NOTIFY_STOP;
	kstub_x86_oops_regs[cpu] = early ? regs : NULL;
	return NOTIFY_DONE;
}

static int kstub_x86_notify(struct notifier_block *nb, unsigned long cmd,
			    void *data)
{
	struct die_args *args = data;
	struct pt_regs *regs = args->regs;
	unsigned long *dr6;

	if (!regs || user_mode(regs))
		return NOTIFY_DONE;
	switch (cmd) {
	case DIE_INT3:
		if (regs->ip == (unsigned long)kstub_x86_break_return)
			return kstub_trap(regs, KSTUB_REASON_BREAK, KSTUB_SIGTRAP) ?
			       NOTIFY_STOP : NOTIFY_DONE;
		return kstub_trap_swbreak(regs, regs->ip - 1) ?
		       NOTIFY_STOP : NOTIFY_DONE;
	case DIE_DEBUG:
		dr6 = (unsigned long *)args->err;
		if (!(*dr6 & DR_STEP) || !kstub_is_stepping())
			return NOTIFY_DONE;
		*dr6 &= ~DR_STEP;
		kstub_trap(regs, KSTUB_REASON_STEP, KSTUB_SIGTRAP);
		return NOTIFY_STOP;
	case DIE_GPF:
		/* reached only after exception fixups declined it: fatal */
		return kstub_x86_oops(regs, true);
	case DIE_OOPS:
		return kstub_x86_oops(regs, false);
	default:
		/* DIE_TRAP comes before fixups, so it is not fatal yet */
		return NOTIFY_DONE;
	}
}

static struct notifier_block kstub_x86_die_nb = {
	.notifier_call = kstub_x86_notify,
	.priority = KSTUB_X86_DIE_PRIORITY,
};

static unsigned long kstub_x86_text_offset(void)
{
	return kstub_x86_stext - __START_KERNEL;
}

static int kstub_x86_init(void)
{
	int ret;

	ret = kstub_syms_resolve(kstub_x86_syms, ARRAY_SIZE(kstub_x86_syms));
	if (ret)
		return ret;
	ret = register_nmi_handler(NMI_LOCAL, kstub_x86_nmi, 0, "kstub");
	if (ret)
		return ret;
	ret = register_die_notifier(&kstub_x86_die_nb);
	if (ret)
		goto err_unregister_nmi;
	return 0;

err_unregister_nmi:
	unregister_nmi_handler(NMI_LOCAL, "kstub");
	return ret;
}

static void kstub_x86_exit(void)
{
	unregister_die_notifier(&kstub_x86_die_nb);
	unregister_nmi_handler(NMI_LOCAL, "kstub");
}

const struct kstub_arch_ops kstub_arch = {
	.name = "x86_64",
	.target_xml = kstub_x86_xml,
	.init = kstub_x86_init,
	.exit = kstub_x86_exit,
	.reg_get = kstub_x86_reg_get,
	.reg_set = kstub_x86_reg_set,
	.save_cpu = kstub_x86_save_cpu,
	.stop_cpus = kstub_x86_roundup,
	.bp_insn = kstub_x86_int3,
	.bp_len = sizeof(kstub_x86_int3),
	.bp_valid = kstub_x86_bp_valid,
	.patch = kstub_x86_patch,
	.set_pc = kstub_x86_set_pc,
	.step_arm = kstub_x86_step_arm,
	.step_done = kstub_x86_step_done,
	.breakpoint = kstub_x86_breakpoint,
	.text_offset = kstub_x86_text_offset,
};
