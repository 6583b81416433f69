// SPDX-License-Identifier: GPL-2.0
/*
 * A module's file, for its ELF section headers (modules.c lists each
 * module to GDB by them): the image a loading task passed to
 * init_module(), a .ko file, or an xz-compressed .ko.xz, which Debian's
 * kernels ship and which the kernel or kmod decompress while loading.
 * And where a module's file is, from depmod's modules.dep, for the
 * modules loaded before kstub.
 *
 * Context: process context (the loading task, or kstub's init): all of
 * it may sleep.
 */
#include <linux/elf.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>
#include <linux/xz.h>
#include "core.h"

enum {
	/* larger than any module's file: Debian's largest .ko is 30 MB */
	KSTUB_MODFILE_MAX = 256 << 20,
	KSTUB_MODDEP_MAX = 64 << 20,
};

static const u8 kstub_xz_magic[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };

int kstub_modfile_read(struct kstub_modfile *f, u64 off, void *buf, size_t len)
{
	loff_t pos = off;

	if (f->file)
		return kernel_read(f->file, buf, len, &pos) == len ? 0 : -EIO;
	if (off > f->len || len > f->len - off)
		return -EINVAL;
	if (f->buf) {
		memcpy(buf, f->buf + off, len);
		return 0;
	}
	return copy_from_user(buf, f->mem + off, len) ? -EFAULT : 0;
}

void kstub_modfile_user(struct kstub_modfile *f, const void __user *mem,
			unsigned long len)
{
	*f = (struct kstub_modfile){ .mem = mem, .len = len };
}

/* The whole of @file, *@len bytes and a NUL, in a kvmalloc()ed buffer. */
static char *kstub_read_whole(struct file *file, size_t max, size_t *len)
{
	loff_t size = i_size_read(file_inode(file)), pos = 0;
	char *buf;
	ssize_t n;

	if (size <= 0 || size > max)
		return NULL;
	buf = kvmalloc(size + 1, GFP_KERNEL);
	if (!buf)
		return NULL;
	while (pos < size) {
		n = kernel_read(file, buf + pos, size - pos, &pos);
		if (n <= 0) {
			kvfree(buf);
			return NULL;
		}
	}
	buf[size] = 0;
	*len = size;
	return buf;
}

/*
 * An .xz stream's content, decompressed whole: the section headers are
 * at the end of the file and their names before them.
 */
static int kstub_unxz(struct kstub_modfile *f, const void *in, size_t in_len)
{
	struct xz_buf b = { .in = in, .in_size = in_len };
	size_t size = 4 * in_len;
	struct xz_dec *xz;
	enum xz_ret ret;
	void *grown;

	if (!IS_BUILTIN(CONFIG_XZ_DEC))
		return -EOPNOTSUPP;
	xz = xz_dec_init(XZ_DYNALLOC, (u32)-1);
	if (!xz)
		return -ENOMEM;
	b.out = kvmalloc(size, GFP_KERNEL);
	b.out_size = size;
	for (;;) {
		if (!b.out) {
			ret = XZ_MEM_ERROR;
			break;
		}
		ret = xz_dec_run(xz, &b);
		if (ret != XZ_OK || b.out_pos < b.out_size)
			break;
		/* out of room: a larger buffer, the same bytes */
		if (size >= KSTUB_MODFILE_MAX / 2) {
			ret = XZ_MEMLIMIT_ERROR;
			break;
		}
		size *= 2;
		grown = kvmalloc(size, GFP_KERNEL);
		if (grown)
			memcpy(grown, b.out, b.out_pos);
		kvfree(b.out);
		b.out = grown;
		b.out_size = size;
	}
	xz_dec_end(xz);
	if (ret != XZ_STREAM_END) {
		kvfree(b.out);
		return ret == XZ_MEM_ERROR ? -ENOMEM : -EINVAL;
	}
	f->buf = b.out;
	f->len = b.out_pos;
	return 0;
}

int kstub_modfile_open(struct kstub_modfile *f, struct file *file)
{
	u8 magic[sizeof(kstub_xz_magic)];
	loff_t pos = 0;
	size_t len;
	void *in;
	int ret;

	*f = (struct kstub_modfile){};
	if (kernel_read(file, magic, sizeof(magic), &pos) != sizeof(magic))
		return -EIO;
	if (!memcmp(magic, ELFMAG, SELFMAG)) {
		f->file = get_file(file);
		return 0;
	}
	if (memcmp(magic, kstub_xz_magic, sizeof(magic)))
		return -EOPNOTSUPP;	/* zstd, gzip: not in Debian's kernels */
	in = kstub_read_whole(file, KSTUB_MODFILE_MAX, &len);
	if (!in)
		return -EIO;
	ret = kstub_unxz(f, in, len);
	kvfree(in);
	return ret;
}

int kstub_modfile_open_path(struct kstub_modfile *f, const char *path)
{
	struct file *file = filp_open(path, O_RDONLY, 0);
	int ret;

	if (IS_ERR(file))
		return PTR_ERR(file);
	ret = kstub_modfile_open(f, file);
	fput(file);
	return ret;
}

void kstub_modfile_close(struct kstub_modfile *f)
{
	if (f->file)
		fput(f->file);
	kvfree(f->buf);
	*f = (struct kstub_modfile){};
}

/*
 * depmod's list of this kernel's modules, /lib/modules/<release>/
 * modules.dep, NUL-terminated; NULL if there is none.
 */
char *kstub_moddep_read(void)
{
	struct file *file;
	char *path, *text;
	size_t len;

	path = kasprintf(GFP_KERNEL, "/lib/modules/%s/modules.dep", init_utsname()->release);
	if (!path)
		return NULL;
	file = filp_open(path, O_RDONLY, 0);
	kfree(path);
	if (IS_ERR(file))
		return NULL;
	text = kstub_read_whole(file, KSTUB_MODDEP_MAX, &len);
	fput(file);
	return text;
}

/* Whether file name @base (up to ".ko") names module @name: '-' is '_'. */
static bool kstub_modname_is(const char *base, size_t len, const char *name)
{
	size_t i;

	if (strnlen(name, len + 1) != len)
		return false;
	for (i = 0; i < len; i++)
		if ((base[i] == '-' ? '_' : base[i]) != name[i])
			return false;
	return true;
}

/*
 * Module @name's file in @moddep (kstub_moddep_read()): a kmalloc()ed
 * absolute path, or NULL. A line is "kernel/fs/ext4/ext4.ko.xz: deps".
 */
char *kstub_moddep_find(const char *moddep, const char *name)
{
	const char *line, *end, *colon, *base, *ko;

	for (line = moddep; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		colon = strnchr(line, end - line, ':');
		if (!colon)
			continue;
		base = line;
		for (ko = line; ko < colon; ko++)
			if (*ko == '/')
				base = ko + 1;
		ko = strnstr(base, ".ko", colon - base);
		if (!ko || !kstub_modname_is(base, ko - base, name))
			continue;
		if (*line == '/')
			return kstrndup(line, colon - line, GFP_KERNEL);
		return kasprintf(GFP_KERNEL, "/lib/modules/%s/%.*s", init_utsname()->release,
				 (int)(colon - line), line);
	}
	return NULL;
}

/*
 * The name GDB is to look the module's debug file up by, from the path of
 * the file it was loaded from: the same path without the compression's
 * suffix, as Debian's -dbg package has it under /usr/lib/debug. NULL unless
 * the file is one of this kernel's, under /lib/modules/<release>/.
 */
char *kstub_modfile_libname(const char *path)
{
	const char *ko = strrchr(path, '/');
	char *dir;
	bool ours;

	dir = kasprintf(GFP_KERNEL, "/lib/modules/%s/", init_utsname()->release);
	if (!dir)
		return NULL;
	ours = !strncmp(path, dir, strlen(dir));
	kfree(dir);
	ko = ko ? strstr(ko, ".ko") : NULL;
	if (!ours || !ko)
		return NULL;
	return kstrndup(path, ko + 3 - path, GFP_KERNEL);
}
