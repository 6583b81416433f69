// SPDX-License-Identifier: GPL-2.0
/*
 * Writing an instruction of kernel text through a page of kstub's own,
 * with no kernel function in the way.
 *
 * The kernel's patching (aarch64_insn_patch_text_nosync()) calls a dozen
 * functions: the fixmap's setter, copy_to_kernel_nofault(),
 * pagefault_disable(), a spinlock. A breakpoint in any of them is hit
 * while kstub takes that very breakpoint out (test_breakpoint_roulette
 * found pagefault_disable(), which 6.12 arm64 builds out of line), and
 * the nested BRK oopses. Here the write is a store through a PTE kstub
 * owns, and the cache and TLB maintenance is inline: nothing runs that a
 * breakpoint could be in, and no lock is taken that a parked CPU may
 * hold. Module text needs vmalloc_to_page(), which arm64.c therefore
 * refuses breakpoints in.
 *
 * State: set up and torn down in process context (module init and exit);
 * in between only the CPU that owns the stop (or runs stop_machine()'s
 * callback at rmmod) maps the page, for the length of one write. It is
 * unmapped otherwise, so that no stray access can write through it.
 */
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/kprobes.h>
#include <asm/cacheflush.h>
#include <asm/tlbflush.h>
#include "kstub.h"
#include "poke.h"

static struct page *kstub_arm64_poke_page;	/* what vmap() mapped there */
static void *kstub_arm64_poke_va;
static pte_t *kstub_arm64_poke_ptep;
static pte_t kstub_arm64_poke_vmapped;
static unsigned long kstub_arm64_image_start, kstub_arm64_image_end;

static int kstub_arm64_poke_find(pte_t *ptep, unsigned long addr, void *data)
{
	kstub_arm64_poke_ptep = ptep;
	return 0;
}

/* break before make: the page is invalid and out of every TLB */
static __always_inline void kstub_arm64_poke_unmap(void)
{
	WRITE_ONCE(*kstub_arm64_poke_ptep, __pte(0));
	dsb(ishst);
	__tlbi(vaale1is, __TLBI_VADDR((unsigned long)kstub_arm64_poke_va, 0));
	dsb(ish);
	isb();
}

static __always_inline void kstub_arm64_poke_map(pte_t pte)
{
	WRITE_ONCE(*kstub_arm64_poke_ptep, pte);
	dsb(ishst);
	isb();
}

int kstub_arm64_poke_init(void)
{
	unsigned long init_mm = kstub_lookup("init_mm");
	int ret;

	kstub_arm64_image_start = kstub_lookup("_text");
	kstub_arm64_image_end = kstub_lookup("_end");
	if (!init_mm || !kstub_arm64_image_start || !kstub_arm64_image_end)
		return -ENOENT;
	kstub_arm64_poke_page = alloc_page(GFP_KERNEL);
	if (!kstub_arm64_poke_page)
		return -ENOMEM;
	kstub_arm64_poke_va = vmap(&kstub_arm64_poke_page, 1, VM_MAP, PAGE_KERNEL);
	if (!kstub_arm64_poke_va) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = apply_to_page_range((struct mm_struct *)init_mm,
				  (unsigned long)kstub_arm64_poke_va, PAGE_SIZE,
				  kstub_arm64_poke_find, NULL);
	if (ret)
		goto err_unmap;
	if (!kstub_arm64_poke_ptep || !pte_present(READ_ONCE(*kstub_arm64_poke_ptep))) {
		ret = -EFAULT;
		goto err_unmap;
	}
	kstub_arm64_poke_vmapped = READ_ONCE(*kstub_arm64_poke_ptep);
	kstub_arm64_poke_unmap();
	return 0;

err_unmap:
	vunmap(kstub_arm64_poke_va);
err_free:
	__free_page(kstub_arm64_poke_page);
	return ret;
}

void kstub_arm64_poke_exit(void)
{
	/* vunmap() expects its own mapping back */
	kstub_arm64_poke_map(kstub_arm64_poke_vmapped);
	vunmap(kstub_arm64_poke_va);
	__free_page(kstub_arm64_poke_page);
}

/*
 * Write the instruction @insn at @addr, kernel image or module text.
 * One aligned word changes: a CPU that runs into it meanwhile executes
 * the old instruction or the new one. The data side is cleaned to the
 * point of unification by kstub's alias, the instruction side invalidated
 * by the address that runs (broadcast to every CPU); the parked CPUs
 * synchronise on their exception return.
 * Context: the CPU that owns the stop, interrupts off; the others parked
 * or running.
 */
int kstub_arm64_poke(unsigned long addr, u32 insn)
{
	unsigned long pfn;
	u32 *dst;

	if (addr & (sizeof(insn) - 1))
		return -EINVAL;
	if (addr >= kstub_arm64_image_start && addr < kstub_arm64_image_end) {
		pfn = __phys_to_pfn(addr - kimage_voffset);
	} else {
		struct page *page = vmalloc_to_page((void *)addr);

		if (!page)
			return -EFAULT;
		pfn = page_to_pfn(page);
	}
	kstub_arm64_poke_map(pfn_pte(pfn, PAGE_KERNEL));
	dst = kstub_arm64_poke_va + offset_in_page(addr);
	WRITE_ONCE(*dst, insn);
	asm volatile("dc cvau, %0" : : "r" (dst) : "memory");
	dsb(ish);
	asm volatile("ic ivau, %0" : : "r" (addr) : "memory");
	dsb(ish);
	isb();
	kstub_arm64_poke_unmap();
	return 0;
}

NOKPROBE_SYMBOL(kstub_arm64_poke);
