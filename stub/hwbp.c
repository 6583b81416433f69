// SPDX-License-Identifier: GPL-2.0
/*
 * Hardware breakpoints and watchpoints (GDB's Z1-Z4), in the debug
 * registers the kernel's hw_breakpoint layer hands out.
 *
 * Reserving a register sleeps (perf's mutexes), and a stop cannot sleep:
 * kstub reserves its slots when it loads, as wide breakpoints (one perf
 * event per CPU), pinned and enabled, so that perf installs them on every
 * CPU and hands their hits on (a disabled event's hits are dropped: since
 * 6.12.x perf_swevent_event() delivers only an active event's). Idle, a
 * slot watches a word of kstub's that nothing writes, or, for an
 * instruction slot, a function of kstub's that nothing calls; where the
 * arch can (@hw_quiet), it matches nothing at all, as from load on every
 * CPU: QEMU's TCG pays for an enabled slot as the guest runs, though
 * hardware does not.
 * While the kernel is stopped GDB fills and frees slots of the table
 * below, each checked by the arch's own parser; each CPU then rewrites
 * its own registers with the arch's uninstall and install, back to back
 * (what perf's own scheduling calls, interrupts off), only while kstub's
 * software breakpoints are out (those are kernel functions). Every CPU
 * has GDB's slots idle while the kernel is stopped and in while it runs
 * (a CPU that did not stop keeps what it had). A hit reaches perf's
 * handler, which calls kstub_hw_fired().
 *
 * Other users of the registers (ptrace, perf's mem: events, kgdb) get the
 * slots kstub did not take: with all of them kstub's (the default), their
 * request fails with ENOSPC; hw_slots=N leaves them the rest. kstub takes
 * what is free when it loads, never another user's, and install finds a
 * free register the way perf does, so theirs are never written. Where
 * instructions and data share the registers (x86's four), perf counts
 * them in one pool: kstub takes data slots, and uses them for every kind.
 * A CPU that comes online after kstub loaded has no slots of kstub's.
 */
#include <linux/hw_breakpoint.h>
#include <linux/kprobes.h>
#include <linux/perf_event.h>
#include <linux/stop_machine.h>
#include "compat.h"
#include "core.h"

enum {
	KSTUB_HW_MAX = 16,	/* slots of each class kstub takes, at most */
	KSTUB_HW_WAIT_SPINS = 100000000,
};

/* the hw_slots parameter (main.c): how many of each kind kstub takes */
int kstub_hw_want = KSTUB_HW_MAX;

/*
 * A slot. @ev and @exec are set at load time; the rest is GDB's request,
 * written by the master while every CPU is stopped, read by each CPU as
 * it installs the slot and by the handler of a hit.
 */
struct kstub_hw_slot {
	struct perf_event * __percpu *ev;	/* NULL on a CPU that was not online */
	struct perf_event *parse_ev;	/* one that exists, for the arch's parser */
	bool exec;		/* an instruction slot, else a data one */
	u32 class_type;		/* the bp_type it was reserved as */
	struct arch_hw_breakpoint idle;	/* what it holds while GDB's is not in */
	int type;		/* enum kstub_hw_type, 0 when free */
	u64 addr, len;
	u32 bp_type;		/* HW_BREAKPOINT_* of @type */
	struct arch_hw_breakpoint info;	/* the arch's parse of the request */
};

static struct kstub_hw_slot kstub_hw_slots[2 * KSTUB_HW_MAX];
static unsigned int kstub_hw_nslots;	/* given out to GDB: 0 once rmmod began */
static unsigned int kstub_hw_nloaded;	/* in the registers: set at load only */
/*
 * The master's: whether the CPUs should have GDB's slots in, and the
 * generation of that wish (and of the table), which a parked CPU reports
 * back once its registers follow.
 */
static bool kstub_hw_armed;
static unsigned long kstub_hw_gen;
/* a read watchpoint the hardware has (x86 has none: GDB asks for an access one) */
static bool kstub_hw_read_ok;
static u64 kstub_hw_exec_len;

/* what a CPU has in, and what hit it; this CPU's only */
struct kstub_hw_cpu {
	u32 installed;		/* slots that hold GDB's request, not their idle one */
	unsigned long gen;	/* the kstub_hw_gen it follows; read by the master */
	int hit_type;		/* the slot that hit here, not yet told, or 0 */
	u64 hit_addr;
};

static DEFINE_PER_CPU(struct kstub_hw_cpu, kstub_hw_cpus);

/* kernel functions, resolved at load and only read after it */
static unsigned long kstub_hw_parse_fn;
static unsigned long kstub_hw_install_fn;
static unsigned long kstub_hw_uninstall_fn;
static unsigned long kstub_hw_blacklisted_fn;

static const struct kstub_sym kstub_hw_syms[] = {
	{ "hw_breakpoint_arch_parse", &kstub_hw_parse_fn },
	{ "arch_install_hw_breakpoint", &kstub_hw_install_fn },
	{ "arch_uninstall_hw_breakpoint", &kstub_hw_uninstall_fn },
	{ "within_kprobe_blacklist", &kstub_hw_blacklisted_fn, true },
};

/* one set of registers for instructions and data (x86) */
static bool kstub_hw_shared(void)
{
	return IS_ENABLED(CONFIG_HAVE_MIXED_BREAKPOINTS_REGS);
}

static u32 kstub_hw_bp_type(int type)
{
	switch (type) {
	case KSTUB_HW_EXEC:
		return HW_BREAKPOINT_X;
	case KSTUB_HW_WRITE:
		return HW_BREAKPOINT_W;
	case KSTUB_HW_READ:
		return HW_BREAKPOINT_R;
	default:
		return HW_BREAKPOINT_RW;
	}
}

/* The arch's check of a request, into @info. Context: any, interrupts off. */
static int kstub_hw_parse(struct kstub_hw_slot *slot, u32 bp_type, u64 addr, u64 len,
			  struct arch_hw_breakpoint *info)
{
	struct perf_event_attr attr;

	hw_breakpoint_init(&attr);
	attr.bp_addr = addr;
	attr.bp_len = len;
	attr.bp_type = bp_type;
	return (int)kstub_call(kstub_hw_parse_fn, (unsigned long)slot->parse_ev,
			       (unsigned long)&attr, (unsigned long)info);
}

/*
 * Put @info in this CPU's register of @ev; false if it cannot be now.
 * perf has the event in (it is pinned and enabled), unless the CPU went
 * offline since kstub loaded (perf then leaves it out, for good), or an
 * NMI interrupted perf changing this CPU's registers: rescheduling its
 * events (the CPU's context lock held, the event maybe half in or out),
 * or taking the interrupted task's own events out as it is switched out
 * or exits (a ptrace watchpoint's; perf holds only the task's context
 * lock there, and the arch's uninstall is halfway through perf's copy
 * of DR7 on x86). Then nothing changes, and the CPU keeps what it had
 * until its next stop. (Another CPU holding the task's lock, to add or
 * read an event of the task's, makes it wait too: rare, and harmless.)
 */
static bool kstub_hw_load(struct perf_event *ev, const struct arch_hw_breakpoint *info,
			  u32 bp_type)
{
	if (READ_ONCE(ev->state) != PERF_EVENT_STATE_ACTIVE ||
	    READ_ONCE(ev->oncpu) != raw_smp_processor_id() ||
	    raw_spin_is_locked(&ev->ctx->lock) || kstub_task_perf_locked(current))
		return false;
	kstub_call(kstub_hw_uninstall_fn, (unsigned long)ev, 0, 0);
	ev->hw.info = *info;
	/* do_watchpoint() (arm64) matches the access against bp_type */
	ev->attr.bp_type = bp_type;
	kstub_call(kstub_hw_install_fn, (unsigned long)ev, 0, 0);
	return true;
}

NOKPROBE_SYMBOL(kstub_hw_load);

/*
 * This CPU's registers follow @on: GDB's requests in, or every slot idle.
 * Context: this CPU, interrupts off, kstub's software breakpoints out of
 * the text (uninstall and install are kernel code).
 */
static void kstub_hw_apply(bool on)
{
	unsigned int nslots = READ_ONCE(kstub_hw_nloaded);
	struct kstub_hw_cpu *hc = this_cpu_ptr(&kstub_hw_cpus);
	bool changed = false;
	unsigned int i;

	for (i = 0; i < nslots; i++) {
		struct kstub_hw_slot *slot = &kstub_hw_slots[i];
		struct perf_event *ev = *this_cpu_ptr(slot->ev);
		bool want = on && READ_ONCE(slot->type);

		if (!ev || (!want && !(hc->installed & BIT(i))))
			continue;
		if (want && kstub_hw_load(ev, &slot->info, slot->bp_type)) {
			hc->installed |= BIT(i);
			changed = true;
		} else if (!want && kstub_hw_load(ev, &slot->idle, slot->class_type)) {
			hc->installed &= ~BIT(i);
			changed = true;
		}
	}
	if (changed && kstub_arch.hw_changed)
		kstub_arch.hw_changed();
}

NOKPROBE_SYMBOL(kstub_hw_apply);

/*
 * A new wish for the parked CPUs: @armed, with the table as it is now.
 * Pairs with kstub_hw_follow(). Context: the master.
 */
static void kstub_hw_wish(bool armed)
{
	WRITE_ONCE(kstub_hw_armed, armed);
	/* the table and @armed before the generation that announces them */
	smp_store_release(&kstub_hw_gen, kstub_hw_gen + 1);
}

NOKPROBE_SYMBOL(kstub_hw_wish);

/* The stop begins: GDB's slots idle. Context: the master, text clean. */
void kstub_hw_stop(void)
{
	kstub_hw_wish(false);
	kstub_hw_apply(false);
}

NOKPROBE_SYMBOL(kstub_hw_stop);

/* A parked CPU follows the master. Context: that CPU, parked, text clean. */
void kstub_hw_follow(void)
{
	/* pairs with kstub_hw_wish(): the table as of @gen */
	unsigned long gen = smp_load_acquire(&kstub_hw_gen);

	if (this_cpu_read(kstub_hw_cpus.gen) == gen)
		return;
	kstub_hw_apply(READ_ONCE(kstub_hw_armed));
	/* the master reads it once our registers are done */
	smp_store_release(this_cpu_ptr(&kstub_hw_cpus.gen), gen);
}

NOKPROBE_SYMBOL(kstub_hw_follow);

/*
 * The kernel resumes: every parked CPU's slots on, and the master's,
 * before kstub's software breakpoints go back in (the parked CPUs install
 * theirs from kstub_park(), while the text is clean). A step runs on the
 * master alone: @step puts its own on and leaves the others off.
 * Context: the master, text clean.
 */
void kstub_hw_resume(bool step)
{
	unsigned int cpu;
	unsigned long n;

	if (READ_ONCE(kstub_closing))
		return;
	kstub_hw_apply(true);
	if (step)
		return;
	kstub_hw_wish(true);
	for_each_online_cpu(cpu) {
		if (!READ_ONCE(per_cpu(kstub_cpus, cpu).parked))
			continue;
		for (n = 0; n < KSTUB_HW_WAIT_SPINS; n++) {
			/* pairs with kstub_hw_follow(): its registers are done */
			if (smp_load_acquire(per_cpu_ptr(&kstub_hw_cpus.gen, cpu)) == kstub_hw_gen)
				break;
			cpu_relax();
		}
	}
}

NOKPROBE_SYMBOL(kstub_hw_resume);

/*
 * What the stop reply says of a hit on @cpu (KSTUB_STOP_*), and the
 * address a watchpoint names; the hit is told once.
 * Context: the master, stopped.
 */
unsigned int kstub_hw_told(int cpu, u64 *data)
{
	struct kstub_hw_cpu *hc = per_cpu_ptr(&kstub_hw_cpus, cpu);
	int type = hc->hit_type;

	hc->hit_type = 0;
	*data = hc->hit_addr;
	switch (type) {
	case KSTUB_HW_EXEC:
		return KSTUB_STOP_HWBREAK;
	case KSTUB_HW_WRITE:
		return KSTUB_STOP_WATCH;
	case KSTUB_HW_READ:
		return KSTUB_STOP_RWATCH;
	case KSTUB_HW_ACCESS:
		return KSTUB_STOP_AWATCH;
	default:
		return 0;
	}
}

/*
 * perf's breakpoint handler found one of kstub's slots hit, on this CPU.
 * Context: the debug exception (an NMI-like one on x86), interrupts off.
 */
static void kstub_hw_fired(struct perf_event *ev, struct perf_sample_data *data,
			   struct pt_regs *regs)
{
	struct kstub_hw_slot *slot = ev->overflow_handler_context;
	struct kstub_hw_cpu *hc = this_cpu_ptr(&kstub_hw_cpus);
	int cpu = raw_smp_processor_id();
	int type = READ_ONCE(slot->type);
	bool stepping = kstub_is_stepping();

	/*
	 * kstub's own code, before a stop has made this CPU's slots idle, or
	 * a slot GDB has just freed (x86, until hw_changed has run): not a
	 * hit of GDB's. Where the hit comes before the access (arm64), the
	 * CPU would take it again at once: its slots go idle now.
	 */
	if (!type || READ_ONCE(per_cpu(kstub_cpus, cpu).parked) ||
	    (!stepping && atomic_read(&kstub_master) == cpu))
		goto ignore;
	hc->hit_type = type;
	hc->hit_addr = slot->addr;
	/* x86: this exception goes on to the step's own trap, which tells it */
	if (stepping && kstub_arch.hw_after && type != KSTUB_HW_EXEC)
		return;
	if (kstub_trap(regs, type == KSTUB_HW_EXEC ? KSTUB_REASON_HWBREAK : KSTUB_REASON_WATCH,
		       KSTUB_SIGTRAP))
		return;
	/* kstub takes no traps any more (rmmod) */
	hc->hit_type = 0;
ignore:
	if (!kstub_arch.hw_after)
		kstub_hw_apply(false);
}

NOKPROBE_SYMBOL(kstub_hw_fired);

/* ---- the target's Z1-Z4 (enum kstub_hw_type); the master's, stopped ---- */

int kstub_hw_insert(void *ctx, int type, u64 addr, u64 len)
{
	bool exec = type == KSTUB_HW_EXEC;
	struct arch_hw_breakpoint info;
	struct kstub_hw_slot *slot = NULL;
	unsigned int i;
	int ret;

	if (type == KSTUB_HW_READ && !kstub_hw_read_ok)
		return -EOPNOTSUPP;
	if (!(kstub_may & KSTUB_MAY_WRITE))
		return -EPERM;
	if (READ_ONCE(kstub_closing))
		return -ESHUTDOWN;
	/* where a software breakpoint may never go, nor may a hardware one */
	if (exec && (kstub_owns(addr) ||
		     (kstub_hw_blacklisted_fn &&
		      kstub_call(kstub_hw_blacklisted_fn, addr, 0, 0) & 0xff)))
		return -EPERM;
	for (i = 0; i < kstub_hw_nslots && !slot; i++)
		if (!kstub_hw_slots[i].type &&
		    (kstub_hw_slots[i].exec == exec || kstub_hw_shared()))
			slot = &kstub_hw_slots[i];
	if (!slot)
		return -ENOSPC;
	if (exec)
		len = kstub_hw_exec_len;
	ret = kstub_hw_parse(slot, kstub_hw_bp_type(type), addr, len, &info);
	if (ret)
		return ret;
	slot->info = info;
	slot->addr = addr;
	slot->len = len;
	slot->bp_type = kstub_hw_bp_type(type);
	WRITE_ONCE(slot->type, type);
	return 0;
}

int kstub_hw_remove(void *ctx, int type, u64 addr, u64 len)
{
	unsigned int i;

	if (type == KSTUB_HW_READ && !kstub_hw_read_ok)
		return -EOPNOTSUPP;
	if (type == KSTUB_HW_EXEC)
		len = kstub_hw_exec_len;
	for (i = 0; i < kstub_hw_nslots; i++) {
		struct kstub_hw_slot *slot = &kstub_hw_slots[i];

		if (slot->type == type && slot->addr == addr && slot->len == len) {
			WRITE_ONCE(slot->type, 0);
			return 0;
		}
	}
	return -ENOENT;
}

void kstub_hw_clear(void *ctx)
{
	unsigned int i;

	for (i = 0; i < kstub_hw_nslots; i++)
		WRITE_ONCE(kstub_hw_slots[i].type, 0);
}

/* For "monitor hw": the slots, and which GDB has in. Context: stopped. */
void kstub_hw_show(char *buf, size_t size)
{
	static const char * const kinds[] = { "", "hbreak", "watch", "rwatch", "awatch" };
	unsigned int i, data = 0, exec = 0, used = 0;
	size_t n;

	for (i = 0; i < kstub_hw_nslots; i++) {
		data += !kstub_hw_slots[i].exec;
		exec += kstub_hw_slots[i].exec;
	}
	if (kstub_hw_shared())
		n = scnprintf(buf, size, "%u slots, for watchpoints and hardware breakpoints\n",
			      data);
	else
		n = scnprintf(buf, size, "%u watchpoint slots, %u hardware breakpoint slots\n",
			      data, exec);
	for (i = 0; i < kstub_hw_nslots; i++) {
		struct kstub_hw_slot *slot = &kstub_hw_slots[i];

		if (!slot->type)
			continue;
		used++;
		n += scnprintf(buf + n, size - n, "  %u: %s 0x%llx, %llu bytes\n", i,
			       kinds[slot->type], slot->addr, slot->len);
	}
	if (!used)
		scnprintf(buf + n, size - n, "  none in use\n");
}

/* ---- load and unload ---- */

/* where an idle slot points: nothing writes the one, nothing calls the other */
static int kstub_hw_nothing;

static noinline __used void kstub_hw_nowhere(void)
{
	barrier();
}

/* Take up to @max slots of one class; how many it got. Process context. */
static unsigned int kstub_hw_reserve(bool exec, unsigned int max)
{
	struct perf_event_attr attr;
	unsigned int got = 0;

	hw_breakpoint_init(&attr);
	attr.bp_addr = exec ? (unsigned long)kstub_hw_nowhere : (unsigned long)&kstub_hw_nothing;
	attr.bp_len = exec ? kstub_hw_exec_len : HW_BREAKPOINT_LEN_1;
	attr.bp_type = exec ? HW_BREAKPOINT_X : HW_BREAKPOINT_W;
	while (got < max && kstub_hw_nslots < ARRAY_SIZE(kstub_hw_slots)) {
		struct kstub_hw_slot *slot = &kstub_hw_slots[kstub_hw_nslots];
		struct perf_event * __percpu *ev;

		ev = register_wide_hw_breakpoint(&attr, kstub_hw_fired, slot);
		if (IS_ERR(ev))
			break;
		slot->ev = ev;
		slot->exec = exec;
		slot->class_type = attr.bp_type;
		slot->parse_ev = *per_cpu_ptr(ev, raw_smp_processor_id());
		slot->idle = slot->parse_ev->hw.info;
		if (kstub_arch.hw_quiet)
			kstub_arch.hw_quiet(&slot->idle);
		kstub_hw_nslots++;
		kstub_hw_nloaded++;
		got++;
	}
	return got;
}

/* What instruction and read requests the arch takes. Process context. */
static void kstub_hw_probe(void)
{
	struct arch_hw_breakpoint info;
	static u64 probe;

	preempt_disable();
	kstub_hw_read_ok = !kstub_hw_parse(&kstub_hw_slots[0], HW_BREAKPOINT_R,
					   (unsigned long)&probe, 1, &info);
	/* arm64 takes 4 bytes, x86 sizeof(long) */
	kstub_hw_exec_len = HW_BREAKPOINT_LEN_4;
	if (kstub_hw_parse(&kstub_hw_slots[0], HW_BREAKPOINT_X,
			   (unsigned long)kstub_hw_probe, kstub_hw_exec_len, &info))
		kstub_hw_exec_len = sizeof(long);
	preempt_enable();
}

/*
 * On every CPU, every slot quiet (what @hw_quiet made of its idle one),
 * once perf has put them in as registered.
 */
static int kstub_hw_quiet_everywhere(void *unused)
{
	unsigned int i;

	for (i = 0; i < kstub_hw_nloaded; i++) {
		struct kstub_hw_slot *slot = &kstub_hw_slots[i];
		struct perf_event *ev = *this_cpu_ptr(slot->ev);

		if (ev)
			kstub_hw_load(ev, &slot->idle, slot->class_type);
	}
	return 0;
}

int kstub_hw_init(void)
{
	unsigned int data, exec = 0, want = max(kstub_hw_want, 0);
	int ret;

	ret = kstub_syms_resolve(kstub_hw_syms, ARRAY_SIZE(kstub_hw_syms));
	if (ret)
		return ret;
	if (!want) {
		pr_info("hardware breakpoints and watchpoints: none (hw_slots=0)\n");
		return 0;
	}
	data = kstub_hw_reserve(false, min_t(unsigned int, want, KSTUB_HW_MAX));
	if (!data) {
		pr_info("hardware breakpoints and watchpoints: no slot free (taken by others)\n");
		return 0;
	}
	kstub_hw_probe();
	if (!kstub_hw_shared())
		exec = kstub_hw_reserve(true, min_t(unsigned int, want, KSTUB_HW_MAX));
	if (kstub_arch.hw_quiet)
		stop_machine(kstub_hw_quiet_everywhere, NULL, cpu_online_mask);
	pr_info("hardware breakpoints and watchpoints: %u slots%s\n", data + exec,
		kstub_hw_read_ok ? "" : " (no read watchpoints: GDB uses access ones)");
	return 0;
}

/* On every CPU, every slot idle (as perf registered it), to be given back. */
static int kstub_hw_off_everywhere(void *unused)
{
	kstub_hw_apply(false);
	return 0;
}

/*
 * Process context, once the core takes no traps any more (a hit now is
 * let go, kstub_hw_fired()). Under stop_machine() each CPU puts its own
 * slots back as perf registered them; only then are they given back.
 */
void kstub_hw_exit(void)
{
	unsigned int i, n = kstub_hw_nloaded;

	kstub_hw_clear(NULL);
	WRITE_ONCE(kstub_hw_nslots, 0);
	stop_machine(kstub_hw_off_everywhere, NULL, cpu_online_mask);
	WRITE_ONCE(kstub_hw_nloaded, 0);
	for (i = 0; i < n; i++)
		unregister_wide_hw_breakpoint(kstub_hw_slots[i].ev);
}
