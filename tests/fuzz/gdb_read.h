/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How GDB reads what a stub sends (gdb/remote.c: read_frame() and
 * remote_unescape_input()), for the fuzz harnesses to check kstub's
 * replies against. Written from GDB's rules, not from kstub's code.
 */
#ifndef KSTUB_FUZZ_GDB_READ_H
#define KSTUB_FUZZ_GDB_READ_H

#include <stdio.h>
#include <stdlib.h>
#include "packet.h"

#define FUZZ_CHECK(cond, what) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz: %s\n", what);		\
		abort();						\
	}								\
} while (0)

/*
 * GDB's read_frame(): the frame's bytes between '$' and '#' with runs
 * expanded ("c*n" is c and n - 29 more of it), the checksum over the raw
 * bytes checked. Returns the decoded length.
 */
static inline size_t fuzz_gdb_read_frame(const u8 *f, size_t n, u8 *dec)
{
	size_t i, d = 0;
	unsigned int sum = 0;
	int repeat, hi, lo;

	FUZZ_CHECK(n >= 4 && f[0] == '$', "no '$' first");
	for (i = 1; i < n && f[i] != '#'; i++) {
		FUZZ_CHECK(f[i] != '$', "'$' inside a frame");
		sum += f[i];
		if (f[i] != '*') {
			dec[d++] = f[i];
			continue;
		}
		FUZZ_CHECK(i + 1 < n && f[i + 1] != '#', "'*' with no count");
		sum += f[++i];
		/* GDB's rule, and '}' too, which a reader might unescape first */
		FUZZ_CHECK(f[i] != '$' && f[i] != '#' && f[i] != '}' && f[i] <= 126,
			   "a run count GDB would misread");
		repeat = f[i] - ' ' + 3;
		/* what GDB takes as a run; anything else it reads as text */
		FUZZ_CHECK(repeat > 0 && repeat <= 255 && d > 0, "a run GDB cannot read");
		memset(&dec[d], dec[d - 1], repeat);
		d += repeat;
	}
	FUZZ_CHECK(i + 3 == n, "not exactly two checksum digits after '#'");
	hi = kstub_hex_val(f[i + 1]);
	lo = kstub_hex_val(f[i + 2]);
	FUZZ_CHECK(hi >= 0 && lo >= 0 && (u8)sum == (hi << 4 | lo), "bad checksum");
	return d;
}

/* GDB's remote_unescape_input(), in place: "}c" is c ^ 0x20. */
static inline size_t fuzz_gdb_unescape(u8 *buf, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (buf[i] == '}') {
			FUZZ_CHECK(i + 1 < n, "'}' last");
			buf[o++] = buf[++i] ^ 0x20;
		} else {
			buf[o++] = buf[i];
		}
	}
	return o;
}

#endif /* KSTUB_FUZZ_GDB_READ_H */
