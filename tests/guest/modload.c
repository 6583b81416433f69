// SPDX-License-Identifier: GPL-2.0
/*
 * modload: load a module as a newer kmod does, with finit_module() on
 * its file, and for a compressed file (.ko.xz) with the kernel to
 * decompress it (MODULE_INIT_COMPRESSED_FILE). BusyBox's insmod only
 * ever hands the kernel an uncompressed image. tests/qemu/test_stock.py
 * runs it on Debian's kernels, whose modules are .ko.xz from 6.12 on.
 *
 *   modload FILE [z]
 *
 * Prints "modload: 0" when the module loaded, else "modload: -E".
 *
 * No C library: nolibc.h has what it needs.
 */
#include "nolibc.h"

#define MODULE_INIT_COMPRESSED_FILE 4

int guest_main(int argc, char **argv)
{
	long ret;

	if (argc < 2)
		return 2;
	ret = sys(NR_openat, AT_FDCWD, (long)argv[1], O_RDONLY, 0);
	if (ret >= 0)
		ret = sys(NR_finit_module, ret, (long)"",
			  argc > 2 ? MODULE_INIT_COMPRESSED_FILE : 0, 0);
	say("modload: ", ret);
	return ret ? 1 : 0;
}
