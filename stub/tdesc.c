// SPDX-License-Identifier: GPL-2.0
/*
 * Target description XML. Built once at load time into a static buffer;
 * GDB reads it with qXfer:features:read.
 */
#include "tdesc.h"

struct kstub_xml {
	char *buf;
	size_t cap;
	size_t len;
	bool full;
};

static void kstub_xml_put(struct kstub_xml *x, const char *s)
{
	size_t n = strlen(s);

	if (x->len + n + 1 > x->cap) {
		x->full = true;
		return;
	}
	memcpy(x->buf + x->len, s, n + 1);
	x->len += n;
}

static void kstub_xml_num(struct kstub_xml *x, unsigned int v)
{
	char tmp[12];
	int i = sizeof(tmp) - 1;

	tmp[i] = '\0';
	do {
		tmp[--i] = '0' + v % 10;
		v /= 10;
	} while (v && i);
	kstub_xml_put(x, tmp + i);
}

static void kstub_xml_flags(struct kstub_xml *x, const struct kstub_reg_desc *r)
{
	const struct kstub_flag_desc *f;

	kstub_xml_put(x, "<flags id=\"");
	kstub_xml_put(x, r->type);
	kstub_xml_put(x, "\" size=\"");
	kstub_xml_num(x, r->bits / 8);
	kstub_xml_put(x, "\">");
	for (f = r->flags; f->name; f++) {
		kstub_xml_put(x, "<field name=\"");
		kstub_xml_put(x, f->name);
		kstub_xml_put(x, "\" start=\"");
		kstub_xml_num(x, f->bit);
		kstub_xml_put(x, "\" end=\"");
		kstub_xml_num(x, f->bit);
		kstub_xml_put(x, "\"/>");
	}
	kstub_xml_put(x, "</flags>");
}

/*
 * With @n 0 the description names no registers, and GDB takes its own
 * default set for @arch (which the arch's 'g' layout must then match).
 * Return: length of the XML, or 0 if @cap is too small.
 */
size_t kstub_tdesc_build(char *buf, size_t cap, const char *arch,
			 const struct kstub_reg_desc *regs, size_t n)
{
	struct kstub_xml x = { .buf = buf, .cap = cap };
	size_t i;

	/*
	 * No XML declaration or DOCTYPE: GDB parses against its own DTD
	 * whatever the document says, and on a 115200 line every byte of
	 * this is read at every attach (some 90 us a byte).
	 */
	kstub_xml_put(&x, "<target version=\"1.0\"><architecture>");
	kstub_xml_put(&x, arch);
	/*
	 * A kernel is no GNU/Linux process: GDB then takes modules from
	 * qXfer:libraries, not from a dynamic linker's list.
	 */
	kstub_xml_put(&x, "</architecture><osabi>none</osabi>");
	for (i = 0; i < n; i++) {
		if (regs[i].feature) {
			if (i)
				kstub_xml_put(&x, "</feature>");
			kstub_xml_put(&x, "<feature name=\"");
			kstub_xml_put(&x, regs[i].feature);
			kstub_xml_put(&x, "\">");
		}
		if (regs[i].flags)
			kstub_xml_flags(&x, &regs[i]);
		kstub_xml_put(&x, "<reg name=\"");
		kstub_xml_put(&x, regs[i].name);
		kstub_xml_put(&x, "\" bitsize=\"");
		kstub_xml_num(&x, regs[i].bits);
		/* "int" is the DTD's default */
		if (strcmp(regs[i].type, "int")) {
			kstub_xml_put(&x, "\" type=\"");
			kstub_xml_put(&x, regs[i].type);
		}
		kstub_xml_put(&x, "\"/>");
	}
	if (n)
		kstub_xml_put(&x, "</feature>");
	kstub_xml_put(&x, "</target>");
	return x.full ? 0 : x.len;
}
