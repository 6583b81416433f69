// SPDX-License-Identifier: GPL-2.0
/*
 * x86_64: int3 breakpoints, TF single-step with interrupts masked, NMI
 * roundup, and GDB's amd64 register layout.
 */
#include <linux/jump_label.h>
#include <linux/kdebug.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/stdarg.h>
#include <linux/notifier.h>
#include <linux/percpu.h>
#include <linux/uaccess.h>
#include <linux/kprobes.h>
#include <asm/apic.h>
#include <asm/debugreg.h>
#include <asm/ftrace.h>
#include <asm/insn.h>
#include <asm/nops.h>
#include <asm/nmi.h>
#include <asm/processor-flags.h>
#include <asm/msr.h>
#include <asm/segment.h>
#include <asm/traps.h>
#include <asm/switch_to.h>
#include <asm/sync_core.h>
#include <asm/text-patching.h>
#include "kstub.h"
#include "tdesc.h"
#include "hwbp.h"

enum {
	KSTUB_X86_INT3 = 0xcc,
	KSTUB_X86_CLI = 0xfa,
	KSTUB_X86_STI = 0xfb,
	KSTUB_X86_PUSHF = 0x9c,
	KSTUB_X86_POPF = 0x9d,
	KSTUB_X86_IRET = 0xcf,
	KSTUB_X86_HLT = 0xf4,
	KSTUB_X86_MAX_PREFIXES = 14,
	/*
	 * The die notifiers run in order on every int3 and #DB: kstub's
	 * comes behind hw_breakpoint's and kprobes' (the same priority,
	 * registered at boot), ahead of uprobes', ftrace's dump on oops and
	 * kgdb's (0). kstub_x86_in_die_chain() keeps GDB's breakpoints out of
	 * the ones ahead.
	 */
	KSTUB_X86_DIE_PRIORITY = INT_MAX,
};

static const u8 kstub_x86_int3[] = { KSTUB_X86_INT3 };
static const u8 kstub_x86_nop5[] = { BYTES_NOP5 };	/* an idle ftrace site */
static const u8 kstub_x86_nop2[] = { BYTES_NOP2 };	/* an off short static branch */
static const u8 kstub_x86_endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };

static unsigned long kstub_x86_insn_decode;
static unsigned long kstub_x86_size_offset;
static unsigned long kstub_x86_jump_table_start;
static unsigned long kstub_x86_jump_table_end;
static unsigned long kstub_x86_module_text_address;
static unsigned long kstub_x86_static_call_reserved;
static unsigned long kstub_x86_sct_start;
static unsigned long kstub_x86_sct_end;
static unsigned long kstub_x86_kernel_text_address;
static unsigned long kstub_x86_within_kprobe_blacklist;
static unsigned long kstub_x86_ftrace_location;
static unsigned long kstub_x86_stext;
static unsigned long kstub_x86_search_extable;
static unsigned long kstub_x86_die_chain;

static const struct kstub_sym kstub_x86_syms[] = {
	{ "insn_decode", &kstub_x86_insn_decode },
	{ "kallsyms_lookup_size_offset", &kstub_x86_size_offset },
	/* static branches, read here: see kstub_x86_jump_site() */
	{ "__start___jump_table", &kstub_x86_jump_table_start, !IS_ENABLED(CONFIG_JUMP_LABEL) },
	{ "__stop___jump_table", &kstub_x86_jump_table_end, !IS_ENABLED(CONFIG_JUMP_LABEL) },
	{ "__module_text_address", &kstub_x86_module_text_address },
	/* static calls patched in place, and their trampolines */
	{ "static_call_text_reserved", &kstub_x86_static_call_reserved, true },
	{ "__static_call_text_start", &kstub_x86_sct_start, true },
	{ "__static_call_text_end", &kstub_x86_sct_end, true },
	{ "kernel_text_address", &kstub_x86_kernel_text_address },
	{ "within_kprobe_blacklist", &kstub_x86_within_kprobe_blacklist },
	{ "_text", &kstub_x86_stext },
	{ "search_exception_tables", &kstub_x86_search_extable, true },
	{ "ftrace_location_range", &kstub_x86_ftrace_location, true },
	{ "die_chain", &kstub_x86_die_chain },
};

/* state that is not in pt_regs, recorded by each CPU as it stops */
struct kstub_x86_cpu {
	u16 seg[4];		/* ds es fs gs */
	u64 base[2];		/* fs_base gs_base */
};

static DEFINE_PER_CPU(struct kstub_x86_cpu, kstub_x86_cpus);

/* the single-step in progress */
static unsigned long kstub_x86_step_if;
static unsigned long kstub_x86_step_ip;
static u8 kstub_x86_step_op;

/* an oops already reported at DIE_GPF is not reported again at DIE_OOPS */
static DEFINE_PER_CPU(struct pt_regs *, kstub_x86_oops_regs);

/* ---- registers: GDB's amd64 layout, and where each value lives ---- */

enum kstub_x86_src {
	KSTUB_X86_PT,		/* a pt_regs field */
	KSTUB_X86_SEG,		/* a data segment selector */
	KSTUB_X86_BASE,		/* fs_base / gs_base */
	KSTUB_X86_NONE,		/* x87/SSE: described, never available */
};

#define PT(n, f, t)	{ .name = n, .bits = 64, .type = t, .src = KSTUB_X86_PT, \
			  .off = offsetof(struct pt_regs, f) }
#define PT32(n, f)	{ .name = n, .bits = 32, .type = "int32", .src = KSTUB_X86_PT, \
			  .off = offsetof(struct pt_regs, f) }
#define SEG(n, i)	{ .name = n, .bits = 32, .type = "int32", .src = KSTUB_X86_SEG, .off = i }
#define NONE(n, b, t)	{ .name = n, .bits = b, .type = t, .src = KSTUB_X86_NONE }

/*
 * Exactly GDB's own amd64 register set (GDB 8 and later: core, SSE and
 * segments, in that order), which GDB takes when a target description
 * names no registers: so kstub's description names only the architecture
 * and the OS ABI, some 90 bytes where the registers' would be 3.5 KB, the
 * most of what GDB read at an attach (0.3 s on a 115200 line). The table
 * still gives each register's size and where its value lives.
 */
static const struct kstub_reg_desc kstub_x86_regs[] = {
	{ .feature = "org.gnu.gdb.i386.core", .name = "rax", .bits = 64,
	  .type = "int64", .src = KSTUB_X86_PT, .off = offsetof(struct pt_regs, ax) },
	PT("rbx", bx, "int64"), PT("rcx", cx, "int64"), PT("rdx", dx, "int64"),
	PT("rsi", si, "int64"), PT("rdi", di, "int64"),
	PT("rbp", bp, "data_ptr"), PT("rsp", sp, "data_ptr"),
	PT("r8", r8, "int64"), PT("r9", r9, "int64"), PT("r10", r10, "int64"),
	PT("r11", r11, "int64"), PT("r12", r12, "int64"), PT("r13", r13, "int64"),
	PT("r14", r14, "int64"), PT("r15", r15, "int64"),
	PT("rip", ip, "code_ptr"),
	{ .name = "eflags", .bits = 32, .type = "i386_eflags", .src = KSTUB_X86_PT,
	  .off = offsetof(struct pt_regs, flags) },
	PT32("cs", cs), PT32("ss", ss),
	SEG("ds", 0), SEG("es", 1), SEG("fs", 2), SEG("gs", 3),
	NONE("st0", 80, "i387_ext"), NONE("st1", 80, "i387_ext"),
	NONE("st2", 80, "i387_ext"), NONE("st3", 80, "i387_ext"),
	NONE("st4", 80, "i387_ext"), NONE("st5", 80, "i387_ext"),
	NONE("st6", 80, "i387_ext"), NONE("st7", 80, "i387_ext"),
	NONE("fctrl", 32, "int"), NONE("fstat", 32, "int"), NONE("ftag", 32, "int"),
	NONE("fiseg", 32, "int"), NONE("fioff", 32, "int"), NONE("foseg", 32, "int"),
	NONE("fooff", 32, "int"), NONE("fop", 32, "int"),
	{ .feature = "org.gnu.gdb.i386.sse", .name = "xmm0", .bits = 128,
	  .type = "uint128", .src = KSTUB_X86_NONE },
	NONE("xmm1", 128, "uint128"), NONE("xmm2", 128, "uint128"),
	NONE("xmm3", 128, "uint128"), NONE("xmm4", 128, "uint128"),
	NONE("xmm5", 128, "uint128"), NONE("xmm6", 128, "uint128"),
	NONE("xmm7", 128, "uint128"), NONE("xmm8", 128, "uint128"),
	NONE("xmm9", 128, "uint128"), NONE("xmm10", 128, "uint128"),
	NONE("xmm11", 128, "uint128"), NONE("xmm12", 128, "uint128"),
	NONE("xmm13", 128, "uint128"), NONE("xmm14", 128, "uint128"),
	NONE("xmm15", 128, "uint128"), NONE("mxcsr", 32, "int"),
	{ .feature = "org.gnu.gdb.i386.segments", .name = "fs_base", .bits = 64,
	  .type = "int", .src = KSTUB_X86_BASE, .off = 0 },
	{ .name = "gs_base", .bits = 64, .type = "int", .src = KSTUB_X86_BASE, .off = 1 },
};

#undef PT
#undef PT32
#undef SEG
#undef NONE

enum { KSTUB_X86_XML_CAP = 256 };
static char kstub_x86_xml[KSTUB_X86_XML_CAP];

static int kstub_x86_reg_get(struct pt_regs *regs, int cpu,
			     struct task_struct *task, int regno, u8 *val,
			     bool *avail)
{
	const struct kstub_reg_desc *r;
	struct kstub_x86_cpu *xc = per_cpu_ptr(&kstub_x86_cpus, cpu);
	int size;

	if (regno < 0 || regno >= ARRAY_SIZE(kstub_x86_regs))
		return 0;
	r = &kstub_x86_regs[regno];
	size = r->bits / 8;
	*avail = regs && r->src != KSTUB_X86_NONE;
	if (!*avail)
		return size;
	switch (r->src) {
	case KSTUB_X86_PT:
		/* little-endian: the low bytes of the field */
		memcpy(val, (u8 *)regs + r->off, size);
		break;
	case KSTUB_X86_SEG:
		memset(val, 0, size);
		memcpy(val, &xc->seg[r->off], sizeof(xc->seg[0]));
		break;
	case KSTUB_X86_BASE:
		memcpy(val, &xc->base[r->off], size);
		break;
	}
	return size;
}

/* GDB's numbers of the frame and stack pointers and pc in kstub_x86_regs[] */
enum {
	KSTUB_X86_RBP_REGNO = 6,
	KSTUB_X86_RSP_REGNO = 7,
	KSTUB_X86_RIP_REGNO = 16,
};

static const int kstub_x86_expedite[] = {
	KSTUB_X86_RBP_REGNO, KSTUB_X86_RSP_REGNO, KSTUB_X86_RIP_REGNO, -1
};

static bool kstub_x86_switch_saves(const struct kstub_reg_desc *r)
{
	static const size_t saved[] = {
		offsetof(struct pt_regs, bx), offsetof(struct pt_regs, bp),
		offsetof(struct pt_regs, r12), offsetof(struct pt_regs, r13),
		offsetof(struct pt_regs, r14), offsetof(struct pt_regs, r15),
		offsetof(struct pt_regs, ip), offsetof(struct pt_regs, sp),
		offsetof(struct pt_regs, cs), offsetof(struct pt_regs, ss),
	};
	size_t i;

	for (i = 0; r->src == KSTUB_X86_PT && i < ARRAY_SIZE(saved); i++)
		if (r->off == saved[i])
			return true;
	return false;
}

/*
 * __switch_to_asm() pushed the callee-saved registers onto the task's
 * stack, under the return address into __schedule(), and left the stack
 * pointer in thread.sp: the task resumes as if that call returned.
 */
static int kstub_x86_task_reg_get(struct task_struct *t, int regno, u8 *val,
				  bool *avail)
{
	struct inactive_task_frame frame;
	struct pt_regs regs = {};
	unsigned long sp = READ_ONCE(t->thread.sp);
	int size = kstub_x86_reg_get(NULL, 0, NULL, regno, val, avail);

	if (size <= 0 || !kstub_x86_switch_saves(&kstub_x86_regs[regno]) ||
	    copy_from_kernel_nofault(&frame, (void *)sp, sizeof(frame)))
		return size;
	regs.r15 = frame.r15;
	regs.r14 = frame.r14;
	regs.r13 = frame.r13;
	regs.r12 = frame.r12;
	regs.bx = frame.bx;
	regs.bp = frame.bp;
	regs.ip = frame.ret_addr;
	regs.sp = sp + sizeof(frame);
	regs.cs = __KERNEL_CS;
	regs.ss = __KERNEL_DS;
	return kstub_x86_reg_get(&regs, 0, t, regno, val, avail);
}

static int kstub_x86_reg_set(struct pt_regs *regs, int regno, const u8 *val)
{
	const struct kstub_reg_desc *r;
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
	if (r->bits != 64)
		return -EPERM;	/* cs, ss: the trap return needs them as they are */
	memcpy((u8 *)regs + r->off, val, sizeof(unsigned long));
	return 0;
}

static void kstub_x86_save_cpu(int cpu)
{
	struct kstub_x86_cpu *xc = per_cpu_ptr(&kstub_x86_cpus, cpu);

	savesegment(ds, xc->seg[0]);
	savesegment(es, xc->seg[1]);
	savesegment(fs, xc->seg[2]);
	savesegment(gs, xc->seg[3]);
	rdmsrl(MSR_FS_BASE, xc->base[0]);
	rdmsrl(MSR_GS_BASE, xc->base[1]);
}

NOKPROBE_SYMBOL(kstub_x86_save_cpu);

/* ---- stopping the other CPUs ---- */

/*
 * Set by the master for each CPU it sends the NMI to, cleared by that
 * CPU's handler: the NMI is kstub's even when it finds nothing to do (it
 * came after the CPU had parked itself, waiting in its own trap, and the
 * stop was over), and the kernel must not call it unknown.
 */
static DEFINE_PER_CPU(bool, kstub_x86_nmi_sent);

static int kstub_x86_nmi(unsigned int cmd, struct pt_regs *regs)
{
	bool sent = this_cpu_read(kstub_x86_nmi_sent);

	if (sent)
		this_cpu_write(kstub_x86_nmi_sent, false);
	return kstub_park(regs) || sent ? NMI_HANDLED : NMI_DONE;
}

NOKPROBE_SYMBOL(kstub_x86_nmi);

/*
 * A parked CPU stays in this handler for as long as GDB keeps the kernel
 * stopped; a max_duration no stop can reach keeps the NMI code from
 * reporting that as a slow handler every time.
 */
static struct nmiaction kstub_x86_nmiaction = {
	.handler = kstub_x86_nmi,
	.name = "kstub",
	.max_duration = U64_MAX,
};

static void kstub_x86_roundup(const struct cpumask *mask)
{
	unsigned int cpu;

	for_each_cpu(cpu, mask)
		WRITE_ONCE(per_cpu(kstub_x86_nmi_sent, cpu), true);
	apic->send_IPI_mask(mask, NMI_VECTOR);
}

NOKPROBE_SYMBOL(kstub_x86_roundup);

/* ---- breakpoints and patching ---- */

#ifdef CONFIG_JUMP_LABEL
/*
 * The length of the static branch at @code: a 2- or 5-byte jump or nop.
 * Anything else is a branch a parked CPU is rewriting (text_poke_bp()
 * puts an int3 on its first byte until the new bytes are all in), and
 * counts as the longest one. The kernel's own arch_jump_entry_size()
 * BUG()s on it, which is why kstub does not ask jump_label_text_reserved().
 */
static unsigned long kstub_x86_jump_len(unsigned long code)
{
	u8 buf[MAX_INSN_SIZE];
	struct insn insn;

	if (!copy_from_kernel_nofault(buf, (void *)code, sizeof(buf)) &&
	    !kstub_call4(kstub_x86_insn_decode, (unsigned long)&insn,
			 (unsigned long)buf, sizeof(buf), INSN_MODE_KERN) &&
	    (insn.length == JMP8_INSN_SIZE || insn.length == JMP32_INSN_SIZE))
		return insn.length;
	return JMP32_INSN_SIZE;
}

static bool kstub_x86_jump_in(const struct jump_entry *e, const struct jump_entry *end,
			      unsigned long addr, bool init)
{
	unsigned long code;

	for (; e < end; e++) {
		code = jump_entry_code(e);
		/* the cheap test first: only a site just below @addr is read */
		if (code > addr || addr - code >= JMP32_INSN_SIZE)
			continue;
		if ((init || !jump_entry_is_init(e)) && addr - code < kstub_x86_jump_len(code))
			return true;
	}
	return false;
}

/*
 * Whether @addr is in a static branch, the kernel's or a module's: the
 * kernel rewrites those expecting its own bytes there (and BUG()s on an
 * int3). The same walk as jump_label_text_reserved(), which takes no lock
 * either: init code's branches count until that code is freed.
 * Context: stopped kernel.
 */
static bool kstub_x86_jump_site(unsigned long addr)
{
	struct module *mod;

	if (kstub_x86_jump_in((struct jump_entry *)kstub_x86_jump_table_start,
			      (struct jump_entry *)kstub_x86_jump_table_end, addr,
			      system_state < SYSTEM_RUNNING))
		return true;
	mod = (struct module *)kstub_call(kstub_x86_module_text_address, addr, 0, 0);
	return mod && kstub_x86_jump_in(mod->jump_entries,
					mod->jump_entries + mod->num_jump_entries, addr,
					mod->state == MODULE_STATE_COMING);
}
#else
static bool kstub_x86_jump_site(unsigned long addr)
{
	return false;
}
#endif

/* Whether @addr is in a static call site the kernel patches in place. */
static bool kstub_x86_static_call_site(unsigned long addr)
{
	return kstub_x86_static_call_reserved &&
	       (kstub_call(kstub_x86_static_call_reserved, addr, addr, 0) & 0xff);
}

/* The ftrace call site @addr is in, or 0. */
static unsigned long kstub_x86_ftrace_site(unsigned long addr)
{
	return kstub_x86_ftrace_location ?
	       kstub_call(kstub_x86_ftrace_location, addr, addr, 0) : 0;
}

/*
 * Whether the kernel may be rewriting the instruction at @at, whose first
 * byte is an int3: a static branch, a static call or an ftrace site that
 * a parked CPU is half way through (text_poke_bp()). Other int3s are
 * instructions of their own (the one after a return, under SLS).
 */
static bool kstub_x86_rewriting(unsigned long at)
{
	return kstub_x86_jump_site(at) || kstub_x86_static_call_site(at) ||
	       kstub_x86_ftrace_site(at) == at;
}

/*
 * 0 if @addr starts an instruction, decoding from the start of its
 * function as kprobes does (an int3 in the middle of one would change what
 * the instructions around it are); -EINVAL if it does not; -EBUSY if an
 * instruction before it is being rewritten, whose length (and so where
 * the next one starts) is not known until the rewrite is done.
 */
static int kstub_x86_insn_start(unsigned long addr)
{
	unsigned long size, off, at;
	u8 buf[MAX_INSN_SIZE];
	struct insn insn;

	if (!kstub_call(kstub_x86_size_offset, addr, (unsigned long)&size,
			(unsigned long)&off))
		return -EINVAL;
	for (at = addr - off; at < addr; at += insn.length) {
		if (copy_from_kernel_nofault(buf, (void *)at, sizeof(buf)))
			return -EINVAL;
		if (buf[0] == KSTUB_X86_INT3 && kstub_x86_rewriting(at))
			return -EBUSY;
		if (kstub_call4(kstub_x86_insn_decode, (unsigned long)&insn,
				(unsigned long)buf, sizeof(buf), INSN_MODE_KERN) ||
		    !insn.length)
			return -EINVAL;
	}
	return at == addr ? 0 : -EINVAL;
}

static struct notifier_block kstub_x86_die_nb;

/*
 * Whether @addr is in function @fn, or in one that @fn calls or jumps to
 * directly (@depth levels down). Context: stopped kernel.
 */
static bool kstub_x86_reaches(unsigned long fn, unsigned long addr, int depth)
{
	unsigned long size, off, at, to;
	u8 buf[MAX_INSN_SIZE];
	struct insn insn;
	u8 op;

	if (!kstub_call(kstub_x86_size_offset, fn, (unsigned long)&size, (unsigned long)&off))
		return false;
	fn -= off;
	if (addr >= fn && addr < fn + size)
		return true;
	for (at = fn; depth && at < fn + size; at += insn.length) {
		if (copy_from_kernel_nofault(buf, (void *)at, sizeof(buf)) ||
		    kstub_call4(kstub_x86_insn_decode, (unsigned long)&insn,
				(unsigned long)buf, sizeof(buf), INSN_MODE_KERN) ||
		    !insn.length)
			return false;
		op = insn.opcode.bytes[0];
		if (insn.opcode.nbytes != 1 || (op != 0xe8 && op != 0xe9))
			continue;
		to = at + insn.length + insn.immediate.value;
		if ((to < fn || to >= fn + size) && kstub_x86_reaches(to, addr, depth - 1))
			return true;
	}
	return false;
}

/*
 * Whether @addr is in a die notifier that runs ahead of kstub's (see
 * KSTUB_X86_DIE_PRIORITY), or in what it calls: an int3 there would trap
 * again in every int3's way to kstub, until the exception stack ran out.
 * hw_breakpoint's is not on the kprobes blacklist: kprobes take int3
 * before the die notifiers. Context: stopped kernel; the chain is RCU's.
 */
static bool kstub_x86_in_die_chain(unsigned long addr)
{
	struct atomic_notifier_head *chain = (void *)kstub_x86_die_chain;
	struct notifier_block *nb;

	for (nb = rcu_dereference_raw(chain->head); nb && nb != &kstub_x86_die_nb;
	     nb = rcu_dereference_raw(nb->next))
		if (kstub_x86_reaches((unsigned long)nb->notifier_call, addr, 1))
			return true;
	return false;
}

static int kstub_x86_bp_valid(unsigned long addr)
{
	u8 insn[sizeof(kstub_x86_nop5)];
	unsigned long site;
	int ret;

	if (!kstub_call(kstub_x86_kernel_text_address, addr, 0, 0))
		return -EFAULT;
	/* entry, noinstr and NOKPROBE code run where a trap is not survivable */
	if (kstub_call(kstub_x86_within_kprobe_blacklist, addr, 0, 0) & 0xff)
		return -EPERM;
	if (kstub_x86_in_die_chain(addr))
		return -EPERM;
	ret = kstub_x86_insn_start(addr);
	if (ret)
		return ret;
	/*
	 * Code the kernel rewrites while it runs, expecting its own bytes
	 * there: static branches (jump_label BUG()s on an int3), static
	 * calls and their trampolines.
	 */
	if (kstub_x86_jump_site(addr))
		return -EBUSY;
	if (kstub_x86_static_call_site(addr))
		return -EBUSY;
	if (addr >= kstub_x86_sct_start && addr < kstub_x86_sct_end)
		return -EBUSY;
	/* a call site ftrace is using is rewritten under us at any time */
	site = kstub_x86_ftrace_site(addr);
	if (site && (copy_from_kernel_nofault(insn, (void *)site, sizeof(insn)) ||
		     memcmp(insn, kstub_x86_nop5, sizeof(insn))))
		return -EBUSY;
	/*
	 * Where the CPU enforces IBT an indirect call must land on an
	 * ENDBR, not an int3. (GDB's 'break fn' often lands there: such a
	 * CPU needs 'break *fn+4'.)
	 */
	if (cpu_feature_enabled(X86_FEATURE_IBT)) {
		if (copy_from_kernel_nofault(insn, (void *)addr, sizeof(kstub_x86_endbr64)))
			return -EFAULT;
		if (!memcmp(insn, kstub_x86_endbr64, sizeof(kstub_x86_endbr64)))
			return -EINVAL;
	}
	return 0;
}

static __always_inline void kstub_x86_write_cr0(unsigned long v)
{
	asm volatile("mov %0, %%cr0" : : "r" (v) : "memory");
}

static __always_inline void kstub_x86_write_cr4(unsigned long v)
{
	asm volatile("mov %0, %%cr4" : : "r" (v) : "memory");
}

/*
 * Kernel text is written in place, with write protection lifted on this
 * CPU for the few instructions it takes (and CET, which forbids lifting
 * it, off with it; the kernel's own setters would refuse both). No kernel
 * function runs, so no breakpoint can be hit while one is written, no
 * lock is taken, and another CPU stopped in the middle of text_poke() is
 * not in the way. A breakpoint is one byte: a CPU that runs into it as it
 * changes sees the int3 or the instruction, as with text_poke_bp().
 * Context: interrupts off; the other CPUs parked or running.
 */
static int kstub_x86_patch(unsigned long addr, const void *buf, size_t len)
{
	unsigned long cr0 = native_read_cr0(), cr4 = native_read_cr4();
	const u8 *src = buf;
	u8 *dst = (u8 *)addr;
	int ret = 0;

	if (cr4 & X86_CR4_CET)
		kstub_x86_write_cr4(cr4 & ~X86_CR4_CET);
	kstub_x86_write_cr0(cr0 & ~X86_CR0_WP);
	while (len--) {
		__put_kernel_nofault(dst + len, src + len, u8, fault);
		continue;
fault:
		ret = -EFAULT;
		break;
	}
	kstub_x86_write_cr0(cr0);
	if (cr4 & X86_CR4_CET)
		kstub_x86_write_cr4(cr4);
	sync_core();
	return ret;
}

NOKPROBE_SYMBOL(kstub_x86_patch);

static void kstub_x86_set_pc(struct pt_regs *regs, unsigned long pc)
{
	regs->ip = pc;
}

NOKPROBE_SYMBOL(kstub_x86_set_pc);

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

NOKPROBE_SYMBOL(kstub_x86_is_prefix);

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

NOKPROBE_SYMBOL(kstub_x86_opcode);

static void kstub_x86_step_arm(struct pt_regs *regs)
{
	kstub_x86_step_if = regs->flags & X86_EFLAGS_IF;
	kstub_x86_step_ip = regs->ip;
	kstub_x86_step_op = kstub_x86_opcode(regs->ip);
	/* hlt with interrupts masked would never finish */
	if (kstub_x86_step_op != KSTUB_X86_HLT)
		regs->flags &= ~X86_EFLAGS_IF;
	regs->flags |= X86_EFLAGS_TF;
}

NOKPROBE_SYMBOL(kstub_x86_step_arm);

/* Give a pushf that ran during the step the flags it would have seen. */
static void kstub_x86_fix_pushf(struct pt_regs *regs, unsigned long if_flag)
{
	unsigned long pushed;

	if (copy_from_kernel_nofault(&pushed, (void *)regs->sp, sizeof(pushed)))
		return;
	pushed = (pushed & ~(X86_EFLAGS_TF | X86_EFLAGS_IF)) | if_flag;
	pagefault_disable();
	__put_kernel_nofault((void *)regs->sp, &pushed, unsigned long, out);
out:
	pagefault_enable();
}

NOKPROBE_SYMBOL(kstub_x86_fix_pushf);

/*
 * The step ran with IF clear so no interrupt handler was entered. Put IF
 * back unless the instruction itself decided it, and hide the masking from
 * a pushf that saw it.
 */
static void kstub_x86_step_done(struct pt_regs *regs)
{
	regs->flags &= ~X86_EFLAGS_TF;
	switch (kstub_x86_step_op) {
	case KSTUB_X86_STI:
		/*
		 * Some CPUs (and QEMU) deliver the step trap only after the
		 * instruction in sti's shadow: that one ran too.
		 */
		if (regs->ip != kstub_x86_step_ip + 1 &&
		    kstub_x86_opcode(kstub_x86_step_ip + 1) == KSTUB_X86_PUSHF)
			kstub_x86_fix_pushf(regs, X86_EFLAGS_IF);
		return;
	case KSTUB_X86_CLI:
	case KSTUB_X86_POPF:
	case KSTUB_X86_IRET:
	case KSTUB_X86_HLT:
		return;
	case KSTUB_X86_PUSHF:
		kstub_x86_fix_pushf(regs, kstub_x86_step_if);
		break;
	}
	regs->flags |= kstub_x86_step_if;
}

NOKPROBE_SYMBOL(kstub_x86_step_done);

/*
 * The interrupt exit path leaves the frame alone once IF is clear in it:
 * no preemption, so the step is taken by the interrupted code itself.
 */
static int kstub_x86_step_irq(struct pt_regs *regs, bool own_irq)
{
	if (user_mode(regs))
		return -EPERM;
	kstub_x86_step_arm(regs);
	return 0;
}

NOKPROBE_SYMBOL(kstub_x86_step_irq);

static void kstub_x86_step_cancel(struct pt_regs *regs)
{
	regs->flags = (regs->flags & ~X86_EFLAGS_TF) | kstub_x86_step_if;
}

NOKPROBE_SYMBOL(kstub_x86_step_cancel);

/* ---- traps ---- */

/*
 * An oops stops once. If GDB moved the pc the kernel resumes there;
 * otherwise the oops goes on as it would have without a debugger.
 * DIE_GPF comes after the #GP handler has turned interrupts back on (if
 * the faulting code had them on): a stop with interrupts on would run
 * the master's interrupt handlers while the other CPUs are parked,
 * holding whatever locks they hold, and could move it to another CPU.
 */
static int kstub_x86_oops(struct pt_regs *regs, bool early, int signal)
{
	unsigned long ip = regs->ip, flags;
	int cpu, ret = NOTIFY_DONE;

	local_irq_save(flags);
	cpu = raw_smp_processor_id();
	if (!early && per_cpu(kstub_x86_oops_regs, cpu) == regs) {
		per_cpu(kstub_x86_oops_regs, cpu) = NULL;
	} else if (kstub_trap(regs, KSTUB_REASON_OOPS, kstub_gdb_signal(signal))) {
		if (regs->ip != ip)
			ret = NOTIFY_STOP;
		else
			per_cpu(kstub_x86_oops_regs, cpu) = early ? regs : NULL;
	}
	local_irq_restore(flags);
	return ret;
}

NOKPROBE_SYMBOL(kstub_x86_oops);

/*
 * Whether the @len bytes at @at are @want. Inline reads only: the int3
 * trap uses it, where a call out of kstub could meet a breakpoint.
 */
static bool kstub_x86_bytes_are(unsigned long at, const u8 *want, size_t len)
{
	u8 b;

	while (len--) {
		__get_kernel_nofault(&b, (u8 *)at + len, u8, fault);
		if (b != want[len])
			return false;
	}
	return true;
fault:
	return false;
}

NOKPROBE_SYMBOL(kstub_x86_bytes_are);

/*
 * An int3 trapped at @regs->ip - 1 that no one claimed, and that is no
 * longer in memory. Only text_poke_bp() takes out int3s kstub does not
 * know of (kprobes claim theirs), and it puts the new instruction's
 * first byte in last: the instruction there is whole. A CPU that traps
 * while the patch is under way has poke_int3_handler() emulate the new
 * instruction; this CPU came after the patch's last IPI, which hardware
 * does not allow, but QEMU's TCG does: it can run a translation of the
 * int3 it made before the int3 went (seen at boot as keys flip, in
 * is_timers_nohz_active() and on __sched_clock_stable, the kernel dying of
 * the "int3"; 6.1's kprobes run the byte again, which a stale
 * translation traps on again). Emulate it the same way, from its bytes:
 * only the instructions text_poke_bp() writes, whose effect the bytes
 * alone give. Anything else goes on to the kernel, which dies as it
 * would without kstub.
 * Context: the int3 trap, interrupts off, any CPU.
 */
static bool kstub_x86_int3_gone(struct pt_regs *regs)
{
	unsigned long at = regs->ip - INT3_INSN_SIZE;
	s32 rel32;
	s8 rel8;
	u8 op;

	__get_kernel_nofault(&op, (u8 *)at, u8, fault);
	switch (op) {
	case RET_INSN_OPCODE:
		int3_emulate_ret(regs);
		return true;
	case CALL_INSN_OPCODE:
	case JMP32_INSN_OPCODE:
		__get_kernel_nofault(&rel32, (u8 *)at + 1, s32, fault);
		if (op == CALL_INSN_OPCODE)
			int3_emulate_call(regs, at + CALL_INSN_SIZE + rel32);
		else
			int3_emulate_jmp(regs, at + JMP32_INSN_SIZE + rel32);
		return true;
	case JMP8_INSN_OPCODE:
		__get_kernel_nofault(&rel8, (u8 *)at + 1, s8, fault);
		int3_emulate_jmp(regs, at + JMP8_INSN_SIZE + rel8);
		return true;
	case 0x0f:
		/* Jcc rel32, which static calls return through */
		__get_kernel_nofault(&op, (u8 *)at + 1, u8, fault);
		if ((op & 0xf0) != 0x80)
			break;
		__get_kernel_nofault(&rel32, (u8 *)at + 2, s32, fault);
		int3_emulate_jcc(regs, op & 0xf, at + 6, rel32);
		return true;
	}
	if (kstub_x86_bytes_are(at, kstub_x86_nop2, sizeof(kstub_x86_nop2))) {
		int3_emulate_jmp(regs, at + sizeof(kstub_x86_nop2));
		return true;
	}
	if (kstub_x86_bytes_are(at, kstub_x86_nop5, sizeof(kstub_x86_nop5))) {
		int3_emulate_jmp(regs, at + sizeof(kstub_x86_nop5));
		return true;
	}
fault:
	return false;
}

NOKPROBE_SYMBOL(kstub_x86_int3_gone);

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
		/* kstub_arch_break(): GDB's breakpoints never go in kstub's text */
		if (kstub_owns(regs->ip - 1))
			return kstub_trap(regs, KSTUB_REASON_BREAK, KSTUB_SIGTRAP) ?
			       NOTIFY_STOP : NOTIFY_DONE;
		if (kstub_trap_swbreak(regs, regs->ip - 1))
			return NOTIFY_STOP;
		return kstub_x86_int3_gone(regs) ? NOTIFY_STOP : NOTIFY_DONE;
	case DIE_DEBUG:
		dr6 = (unsigned long *)args->err;
		if (!(*dr6 & DR_STEP) || !kstub_is_stepping() ||
		    !kstub_trap(regs, KSTUB_REASON_STEP, KSTUB_SIGTRAP))
			return NOTIFY_DONE;
		*dr6 &= ~DR_STEP;
		return NOTIFY_STOP;
	case DIE_GPF:
		/* reached only after exception fixups declined it: fatal */
		return kstub_x86_oops(regs, true, args->signr);
	case DIE_TRAP:
		/* raised before fixups: stop only if none will take the fault */
		if (!kstub_x86_search_extable ||
		    kstub_call(kstub_x86_search_extable, regs->ip, 0, 0))
			return NOTIFY_DONE;
		return kstub_x86_oops(regs, true, args->signr);
	case DIE_OOPS:
		return kstub_x86_oops(regs, false, args->signr);
	default:
		return NOTIFY_DONE;
	}
}

NOKPROBE_SYMBOL(kstub_x86_notify);

static struct notifier_block kstub_x86_die_nb = {
	.notifier_call = kstub_x86_notify,
	.priority = KSTUB_X86_DIE_PRIORITY,
};

static unsigned long kstub_x86_image_base(void)
{
	return kstub_x86_stext;
}

static unsigned long kstub_x86_hook_addr(unsigned long fn)
{
	static const u8 endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	u8 insn[sizeof(endbr64)];

	if (!copy_from_kernel_nofault(insn, (void *)fn, sizeof(insn)) &&
	    !memcmp(insn, endbr64, sizeof(insn)))
		fn += sizeof(endbr64);
	if (kstub_x86_ftrace_location &&
	    kstub_call(kstub_x86_ftrace_location, fn, fn, 0) == fn)
		fn += sizeof(kstub_x86_nop5);
	return fn;
}

/*
 * The SysV va_list of the call: the format took the first of the six
 * argument registers, the rest follow on the stack past the return
 * address. No FP registers: the kernel passes none.
 */
static void kstub_x86_printf_args(struct pt_regs *regs, char *buf, size_t size)
{
	unsigned long gp[] = { regs->di, regs->si, regs->dx, regs->cx,
			       regs->r8, regs->r9 };
	va_list ap;

	ap[0].gp_offset = sizeof(gp[0]);
	ap[0].fp_offset = sizeof(gp) + 16 * 8;
	ap[0].overflow_arg_area = (void *)(regs->sp + sizeof(long));
	ap[0].reg_save_area = gp;
	vscnprintf(buf, size, (const char *)regs->di, ap);
}

static int kstub_x86_init(void)
{
	int ret;

	ret = kstub_syms_resolve(kstub_x86_syms, ARRAY_SIZE(kstub_x86_syms));
	if (ret)
		return ret;
	/*
	 * The OS ABI is why there is a description at all: from vmlinux
	 * GDB would take GNU/Linux, and look for modules through a dynamic
	 * linker's list instead of qXfer:libraries.
	 */
	if (!kstub_tdesc_build(kstub_x86_xml, sizeof(kstub_x86_xml), "i386:x86-64", NULL, 0))
		return -ENOSPC;
	kstub_x86_hw_init();
	INIT_LIST_HEAD(&kstub_x86_nmiaction.list);
	ret = __register_nmi_handler(NMI_LOCAL, &kstub_x86_nmiaction);
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
	kstub_x86_hw_exit();
}

const struct kstub_arch_ops kstub_arch = {
	.name = "x86_64",
	.target_xml = kstub_x86_xml,
	.init = kstub_x86_init,
	.exit = kstub_x86_exit,
	.reg_get = kstub_x86_reg_get,
	.reg_set = kstub_x86_reg_set,
	.task_reg_get = kstub_x86_task_reg_get,
	.expedite = kstub_x86_expedite,
	.save_cpu = kstub_x86_save_cpu,
	.stop_cpus = kstub_x86_roundup,
	.bp_insn = kstub_x86_int3,
	.bp_len = sizeof(kstub_x86_int3),
	.bp_valid = kstub_x86_bp_valid,
	.patch = kstub_x86_patch,
	.patch_unlocked = true,
	.set_pc = kstub_x86_set_pc,
	.step_arm = kstub_x86_step_arm,
	.step_done = kstub_x86_step_done,
	.step_irq = kstub_x86_step_irq,
	.step_cancel = kstub_x86_step_cancel,
	.image_base = kstub_x86_image_base,
	.hook_addr = kstub_x86_hook_addr,
	.printf_args = kstub_x86_printf_args,
	.hw_after = true,
	.hw_changed = kstub_x86_hw_changed,
};
