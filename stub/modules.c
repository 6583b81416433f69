// SPDX-License-Identifier: GPL-2.0
/*
 * Modules as GDB's shared libraries (qXfer:libraries), so that GDB loads
 * a module's symbols from its .ko by itself.
 *
 * A .ko is a relocatable file: GDB relocates it section by section and
 * wants one base for each of the file's allocated sections, in the file's
 * order. The loaded module does not keep that list: the kernel rewrites
 * the section headers, drops .modinfo and __versions and forgets empty
 * sections. So kstub reads the original headers while the module is
 * coming, from the image the loading task passed to init_module() or
 * finit_module(), and takes each section's final address from the
 * module's section symbols, which the loader has just relocated.
 *
 * With GDB attached, a module coming or going stops the kernel for a
 * moment with a "library" stop: GDB reads the new list, inserts pending
 * breakpoints (a module's init function, say) and resumes by itself.
 *
 * A module loaded before kstub is listed from the file depmod's
 * modules.dep names for it (.ko or .ko.xz), with its sections' addresses
 * from /sys/module/<module>/sections, as lx-symbols reads them. Where the
 * module's file is one of this kernel's, under /lib/modules/<release>/,
 * its library is named by that path, without .xz: with GDB's sysroot at
 * /usr/lib/debug, GDB finds the file Debian's -dbg package has there.
 *
 * Once init has run, the kernel frees the module's init sections, and the
 * next module's init code may be placed there. GDB must forget where they
 * were, or it names that code after this module's init. But GDB tells
 * libraries apart by name alone (update_solib_list() in its solib.c) and
 * keeps the sections of one it already has: so from then on the module is
 * listed as "./<module>.ko" (or ".../kernel/fs/ext4/./ext4.ko"), a new
 * name for the same file (GDB looks for both the same way: from its own
 * directory or sysroot, then by the base name along solib-search-path),
 * with its init sections at KSTUB_ARCH_NOWHERE, where no pc can be.
 */
#include <linux/compat.h>
#include <linux/elf.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rculist.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/unistd.h>
#include <uapi/linux/module.h>
#include <asm/syscall.h>
#include "compat.h"
#include "core.h"
#include "kstub_arch.h"

enum {
	KSTUB_MOD_SECTIONS_MAX = 4096,
	KSTUB_MOD_NAMES_MAX = 1 << 20,
	KSTUB_MOD_LOADED_MAX = 8192,
};

struct kstub_lib {
	struct list_head node;
	struct module *mod;
	unsigned long init_text, init_size;	/* freed once init has run */
	bool init_done;
	bool has_init;				/* sections in init memory */
	char *name;		/* "<module>.ko", or its file under /lib/modules */
	char *name_done;	/* the same with "./" before the base name */
	int nbases;
	/*
	 * Each allocated section's, in the file's order; then the same once
	 * init has run, the init ones nowhere (kstub_library())
	 */
	u64 bases[];
};

/* written under kstub_libs_lock, read locklessly by the stopped kernel */
static LIST_HEAD(kstub_libs);
static DEFINE_MUTEX(kstub_libs_lock);
static unsigned long kstub_libs_gen;
static struct module *kstub_mod_going;

static unsigned long kstub_module_text_address;
static unsigned long kstub_modules_list;	/* the kernel's "modules" */

static const struct kstub_sym kstub_modules_syms[] = {
	{ "__module_text_address", &kstub_module_text_address },
	{ "modules", &kstub_modules_list, .optional = true },
};

/*
 * The module is coming from the task's own init_module() or
 * finit_module() call: its arguments name the image. *@path: the file's,
 * if it has one.
 */
static int kstub_coming_image(struct kstub_modfile *f, char **path)
{
	struct pt_regs *regs = task_pt_regs(current);
	unsigned long args[6];
	struct file *file;
	char *buf, *p;
	long nr;
	int ret;

	*path = NULL;
	if (in_compat_syscall())
		return -EOPNOTSUPP;
	nr = syscall_get_nr(current, regs);
	syscall_get_arguments(current, regs, args);
	if (nr == __NR_init_module) {
		kstub_modfile_user(f, (const void __user *)args[0], args[1]);
		return 0;
	}
	if (nr != __NR_finit_module)
		return -EOPNOTSUPP;
	file = fget(args[0]);
	if (!file)
		return -EBADF;
	buf = kmalloc(PATH_MAX, GFP_KERNEL);
	p = buf ? d_path(&file->f_path, buf, PATH_MAX) : ERR_PTR(-ENOMEM);
	if (!IS_ERR(p))
		*path = kstrdup(p, GFP_KERNEL);
	kfree(buf);
	/* a .ko.xz that the kernel decompresses, too */
	ret = kstub_modfile_open(f, file);
	fput(file);
	return ret;
}

/* The final address of each section with a section symbol, else 0. */
static void kstub_section_addrs(struct module *mod, u64 *addr,
				unsigned int shnum)
{
	struct mod_kallsyms *ks;
	const struct elf64_sym *sym;	/* Elf_Sym: kstub is 64-bit only */
	unsigned int i;

	preempt_disable();
	/* still the whole symbol table: init has not run */
	ks = rcu_dereference_sched(mod->kallsyms);
	for (i = 0; i < ks->num_symtab; i++) {
		sym = &ks->symtab[i];
		if (ELF_ST_TYPE(sym->st_info) == STT_SECTION && sym->st_shndx &&
		    sym->st_shndx < shnum)
			addr[sym->st_shndx] = sym->st_value;
	}
	preempt_enable();
}

/*
 * The address of @mod's section @sec, from sysfs, as lx-symbols reads it:
 * 0 if it has none (the loader lists no empty section; it shows 0 to a
 * reader that may not see kernel addresses).
 */
static u64 kstub_sysfs_section(struct module *mod, const char *sec)
{
	char text[24] = "";
	struct file *file;
	loff_t pos = 0;
	u64 addr = 0;
	char *path;

	path = kasprintf(GFP_KERNEL, "/sys/module/%s/sections/%s", mod->name, sec);
	if (!path)
		return 0;
	file = filp_open(path, O_RDONLY, 0);
	kfree(path);
	if (IS_ERR(file))
		return 0;
	if (kernel_read(file, text, sizeof(text) - 1, &pos) <= 0 ||
	    kstrtou64(strim(text), 0, &addr))
		addr = 0;
	fput(file);
	return addr;
}

/* The base of @mod's per-CPU section, which sysfs does not list. */
static u64 kstub_module_percpu(struct module *mod)
{
#ifdef CONFIG_SMP
	return (unsigned long)mod->percpu;
#else
	return 0;
#endif
}

/* The sections the loader keeps nowhere, or somewhere of their own. */
static bool kstub_section_placed(struct module *mod, const char *name,
				 u64 addr)
{
	if (!strcmp(name, ".data..percpu"))
		return true;
	return within_module(addr, mod);
}

/*
 * @mod's library, from its ELF image @f: its sections' addresses from
 * their section symbols while it is coming, from sysfs once it is @live.
 */
static struct kstub_lib *kstub_lib_build(struct module *mod,
					 struct kstub_modfile *f, bool live)
{
	struct elf64_shdr *sh = NULL;
	struct kstub_lib *lib = NULL;
	char *names = NULL;
	u64 *addr = NULL;
	struct elf64_hdr eh;
	const char *name;
	unsigned int i, n = 0, placed = 0;
	u64 size;

	if (kstub_modfile_read(f, 0, &eh, sizeof(eh)) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_type != ET_REL || eh.e_shentsize != sizeof(*sh) || !eh.e_shnum ||
	    eh.e_shnum > KSTUB_MOD_SECTIONS_MAX || eh.e_shstrndx >= eh.e_shnum)
		return NULL;
	sh = kvmalloc_array(eh.e_shnum, sizeof(*sh), GFP_KERNEL);
	addr = kvcalloc(eh.e_shnum, sizeof(*addr), GFP_KERNEL);
	if (!sh || !addr ||
	    kstub_modfile_read(f, eh.e_shoff, sh, eh.e_shnum * sizeof(*sh)))
		goto out;
	size = sh[eh.e_shstrndx].sh_size;
	if (!size || size > KSTUB_MOD_NAMES_MAX)
		goto out;
	names = kvmalloc(size + 1, GFP_KERNEL);
	if (!names || kstub_modfile_read(f, sh[eh.e_shstrndx].sh_offset, names, size))
		goto out;
	names[size] = 0;

	for (i = 0; i < eh.e_shnum; i++)
		n += !!(sh[i].sh_flags & SHF_ALLOC);
	lib = kzalloc(struct_size(lib, bases, 2 * n), GFP_KERNEL);
	if (!lib)
		goto out;
	if (!live) {
		kstub_section_addrs(mod, addr, eh.e_shnum);
	} else {
		for (i = 0; i < eh.e_shnum; i++) {
			if (!(sh[i].sh_flags & SHF_ALLOC) || sh[i].sh_name >= size)
				continue;
			name = names + sh[i].sh_name;
			addr[i] = !strcmp(name, ".data..percpu") ? kstub_module_percpu(mod) :
				  kstub_sysfs_section(mod, name);
			placed += !!addr[i];
		}
		if (!placed) {
			/* kptr_restrict: sysfs shows 0 for every section */
			kfree(lib);
			lib = NULL;
			goto out;
		}
	}
	for (i = 0; i < eh.e_shnum; i++) {
		if ((sh[i].sh_flags & SHF_ALLOC) && sh[i].sh_addr) {
			pr_notice("%s: a section is linked at 0x%llx, not 0: GDB misplaces the module's debug info unless the .ko it reads has every section at 0 (tools/kstub-gdb-ko)\n",
				  mod->name, (unsigned long long)sh[i].sh_addr);
			break;
		}
	}
	lib->mod = mod;
	lib->init_done = live;
	kstub_module_text(mod, true, &lib->init_text, &lib->init_size);
	for (i = 0; i < eh.e_shnum; i++) {
		if (!(sh[i].sh_flags & SHF_ALLOC))
			continue;
		name = sh[i].sh_name < size ? names + sh[i].sh_name : "";
		/*
		 * GDB adds the base to the section's address in the file it
		 * reads, which must be 0 for GDB to place the debug info
		 * right (tools/kstub-gdb-ko): that file may be a fixed copy
		 * of one the kernel loaded as it was (Debian's .ko are not
		 * linked at 0), so the base is the address. What the loader
		 * dropped is nowhere: at 0, GDB would name a call through a
		 * NULL pointer after it.
		 */
		if (addr[i] && kstub_section_placed(mod, name, addr[i]))
			lib->bases[lib->nbases] = addr[i];
		else
			lib->bases[lib->nbases] = KSTUB_ARCH_NOWHERE;
		lib->bases[n + lib->nbases] = lib->bases[lib->nbases];
		if (addr[i] && within_module_init(addr[i], mod)) {
			lib->bases[n + lib->nbases] = KSTUB_ARCH_NOWHERE;
			lib->has_init = true;
		}
		lib->nbases++;
	}
out:
	kvfree(names);
	kvfree(addr);
	kvfree(sh);
	return lib;
}

static void kstub_lib_free(struct kstub_lib *lib)
{
	if (lib) {
		kfree(lib->name);
		kfree(lib->name_done);
		kfree(lib);
	}
}

/*
 * @lib's names, from the file @path it was loaded from (NULL: unknown).
 * GDB looks a library's file up by its name.
 */
static int kstub_lib_name(struct kstub_lib *lib, const char *path)
{
	char *file = path ? kstub_modfile_libname(path) : NULL;
	const char *base;

	if (!file)
		file = kasprintf(GFP_KERNEL, "%s.ko", lib->mod->name);
	if (!file)
		return -ENOMEM;
	lib->name = file;
	base = strrchr(file, '/');
	base = base ? base + 1 : file;
	lib->name_done = kasprintf(GFP_KERNEL, "%.*s./%s", (int)(base - file), file, base);
	return lib->name_done ? 0 : -ENOMEM;
}

static struct kstub_lib *kstub_lib_of(struct module *mod)
{
	struct kstub_lib *lib;

	list_for_each_entry_rcu(lib, &kstub_libs, node, true)
		if (lib->mod == mod)
			return lib;
	return NULL;
}

/* Into the list, unless @lib's module is there already. */
static bool kstub_lib_insert(struct kstub_lib *lib)
{
	bool fresh;

	mutex_lock(&kstub_libs_lock);
	fresh = !kstub_lib_of(lib->mod);
	if (fresh) {
		list_add_tail_rcu(&lib->node, &kstub_libs);
		WRITE_ONCE(kstub_libs_gen, kstub_libs_gen + 1);
	}
	mutex_unlock(&kstub_libs_lock);
	return fresh;
}

/* The file depmod lists for module @name, or NULL. Context: process. */
static char *kstub_module_path(const char *name)
{
	char *moddep = kstub_moddep_read();
	char *path = moddep ? kstub_moddep_find(moddep, name) : NULL;

	kvfree(moddep);
	return path;
}

/* Context: the task loading @mod, in its init_module()/finit_module(). */
static void kstub_lib_add(struct module *mod)
{
	struct kstub_lib *lib = NULL;
	struct kstub_modfile f;
	char *path;

	if (!kstub_coming_image(&f, &path)) {
		lib = kstub_lib_build(mod, &f, false);
		kstub_modfile_close(&f);
	}
	if (!lib) {
		pr_info("%s: no section list for GDB (not an ELF or xz module); use add-symbol-file\n",
			mod->name);
		kfree(path);
		return;
	}
	/* kmod and busybox pass a .ko.xz decompressed, as memory */
	if (!path)
		path = kstub_module_path(mod->name);
	if (kstub_lib_name(lib, path) || !kstub_lib_insert(lib))
		kstub_lib_free(lib);
	kfree(path);
}

/*
 * Init has run and its memory is about to be freed. Return: whether GDB
 * is to be told (the module's init sections move out of its list, and a
 * breakpoint in its init code is taken out while the code is still there).
 */
static bool kstub_lib_init_done(struct module *mod)
{
	struct kstub_lib *lib;
	bool tell = false;

	mutex_lock(&kstub_libs_lock);
	lib = kstub_lib_of(mod);
	if (lib) {
		WRITE_ONCE(lib->init_done, true);
		tell = lib->has_init ||
		       kstub_breakpoints_in(lib->init_text,
					    lib->init_text + lib->init_size);
		if (tell)
			WRITE_ONCE(kstub_libs_gen, kstub_libs_gen + 1);
	}
	mutex_unlock(&kstub_libs_lock);
	return tell;
}

static void kstub_lib_del(struct module *mod)
{
	struct kstub_lib *lib, *found = NULL;

	mutex_lock(&kstub_libs_lock);
	list_for_each_entry(lib, &kstub_libs, node) {
		if (lib->mod == mod) {
			found = lib;
			list_del_rcu(&lib->node);
			WRITE_ONCE(kstub_libs_gen, kstub_libs_gen + 1);
			break;
		}
	}
	mutex_unlock(&kstub_libs_lock);
	/* a stopped kernel reads the list with every other CPU parked */
	kstub_lib_free(found);
}

static int kstub_module_event(struct notifier_block *nb, unsigned long state,
			      void *data)
{
	struct module *mod = data;

	switch (state) {
	case MODULE_STATE_COMING:
		kstub_lib_add(mod);
		break;
	case MODULE_STATE_LIVE:
		if (!kstub_lib_init_done(mod))
			return NOTIFY_DONE;
		break;
	case MODULE_STATE_GOING:
		kstub_lib_del(mod);
		break;
	default:
		return NOTIFY_DONE;
	}
	/*
	 * Let GDB see the change now (its breakpoints may wait for it), and
	 * take breakpoints out of code that goes away.
	 */
	if (kstub_gdb_attached()) {
		WRITE_ONCE(kstub_mod_going, state == MODULE_STATE_GOING ? mod : NULL);
		kstub_arch_break();
		WRITE_ONCE(kstub_mod_going, NULL);
	}
	return NOTIFY_DONE;
}

static struct notifier_block kstub_module_nb = {
	.notifier_call = kstub_module_event,
};

/* Loaded module @i for qXfer:libraries. Context: stopped kernel; lockless. */
static int kstub_library(void *ctx, unsigned int i, const char **name,
			 const u64 **bases)
{
	struct kstub_lib *lib;

	list_for_each_entry_rcu(lib, &kstub_libs, node, true) {
		if (i--)
			continue;
		if (READ_ONCE(lib->init_done) && lib->has_init) {
			*name = lib->name_done;
			*bases = lib->bases + lib->nbases;
		} else {
			*name = lib->name;
			*bases = lib->bases;
		}
		return lib->nbases;
	}
	return -ENOENT;
}

/* Context: stopped kernel. Changes with every module that comes or goes. */
static unsigned long kstub_libraries_gen(void)
{
	return READ_ONCE(kstub_libs_gen);
}

NOKPROBE_SYMBOL(kstub_libraries_gen);

/*
 * Whether @addr is in a module on its way out, or in a module's init code
 * once init has run: see &struct kstub_bp_ops @gone.
 * Context: stopped kernel; lockless.
 */
static bool kstub_text_gone(u64 addr)
{
	struct module *mod = READ_ONCE(kstub_mod_going);
	struct kstub_lib *lib;
	struct module *owner;

	if (kstub_kernel_init_gone(addr))
		return true;
	if (mod && within_module(addr, mod))
		return true;
	list_for_each_entry_rcu(lib, &kstub_libs, node, true) {
		if (!READ_ONCE(lib->init_done) || addr < lib->init_text ||
		    addr >= lib->init_text + lib->init_size)
			continue;
		/* once freed, the memory may be another module's code */
		owner = (struct module *)kstub_call(kstub_module_text_address, addr, 0, 0);
		return !owner || owner == lib->mod;
	}
	return false;
}

NOKPROBE_SYMBOL(kstub_text_gone);

const struct kstub_libs_ops kstub_module_libs = {
	.library = kstub_library,
	.gen = kstub_libraries_gen,
	.text_gone = kstub_text_gone,
};

/*
 * The modules loaded before kstub, from their files and sysfs. Each is
 * held while kstub reads its files, so that it cannot go meanwhile.
 * Context: kstub's init, with the module notifier registered: a module
 * that comes meanwhile is the notifier's.
 */
static void kstub_libs_loaded(void)
{
	struct list_head *mods = (struct list_head *)kstub_modules_list;
	unsigned int n = 0, listed = 0, i;
	struct kstub_lib *lib;
	struct kstub_modfile f;
	struct module **held;
	struct module *mod;
	char *moddep, *path;

	if (!mods)
		return;
	held = kvmalloc_array(KSTUB_MOD_LOADED_MAX, sizeof(*held), GFP_KERNEL);
	if (!held)
		return;
	rcu_read_lock();
	list_for_each_entry_rcu(mod, mods, list) {
		if (mod != THIS_MODULE && n < KSTUB_MOD_LOADED_MAX &&
		    READ_ONCE(mod->state) == MODULE_STATE_LIVE && try_module_get(mod))
			held[n++] = mod;
	}
	rcu_read_unlock();
	moddep = n ? kstub_moddep_read() : NULL;
	for (i = 0; i < n; i++) {
		mod = held[i];
		lib = NULL;
		path = moddep ? kstub_moddep_find(moddep, mod->name) : NULL;
		if (path && !kstub_modfile_open_path(&f, path)) {
			lib = kstub_lib_build(mod, &f, true);
			kstub_modfile_close(&f);
		}
		if (lib && !kstub_lib_name(lib, path) && kstub_lib_insert(lib))
			listed++;
		else
			kstub_lib_free(lib);
		kfree(path);
		module_put(mod);
	}
	if (n)
		pr_info("%u of the %u modules loaded before kstub listed for GDB%s\n", listed, n,
			moddep ? "" : " (no modules.dep)");
	kvfree(moddep);
	kvfree(held);
}

int kstub_modules_init(void)
{
	int ret = kstub_syms_resolve(kstub_modules_syms, ARRAY_SIZE(kstub_modules_syms));

	if (ret)
		return ret;
#ifdef MODULE
	/* kstub itself: its loader's arguments and symbols are still there */
	kstub_lib_add(THIS_MODULE);
#endif
	ret = register_module_notifier(&kstub_module_nb);
	if (!ret)
		kstub_libs_loaded();
	return ret;
}

void kstub_modules_exit(void)
{
	struct kstub_lib *lib, *tmp;

	unregister_module_notifier(&kstub_module_nb);
	list_for_each_entry_safe(lib, tmp, &kstub_libs, node) {
		list_del_rcu(&lib->node);
		kstub_lib_free(lib);
	}
}
