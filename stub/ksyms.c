// SPDX-License-Identifier: GPL-2.0
/*
 * Load-time resolution of the kernel symbols kstub needs but the kernel
 * does not export. kallsyms_lookup_name itself is found through a kprobe,
 * the one exported way to turn a name into an address.
 */
#include <linux/kprobes.h>
#include "kstub.h"

static unsigned long kstub_kallsyms_lookup_name;

unsigned long kstub_lookup(const char *name)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };

	if (!kstub_kallsyms_lookup_name) {
		if (register_kprobe(&kp)) {
			pr_err("cannot find kallsyms_lookup_name (CONFIG_KPROBES is needed)\n");
			return 0;
		}
		/*
		 * kp.addr may sit past an ENDBR on IBT kernels. kstub_call()
		 * does not branch indirectly, so either address works.
		 */
		kstub_kallsyms_lookup_name = (unsigned long)kp.addr;
		unregister_kprobe(&kp);
	}
	return kstub_call(kstub_kallsyms_lookup_name, (unsigned long)name, 0, 0);
}

int kstub_syms_resolve(const struct kstub_sym *syms, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		*syms[i].addr = kstub_lookup(syms[i].name);
		if (!*syms[i].addr && !syms[i].optional) {
			pr_err("kernel symbol %s not found; this kernel is not supported\n",
			       syms[i].name);
			return -ENOENT;
		}
	}
	return 0;
}
