# SPDX-License-Identifier: GPL-2.0
"""The README's first section: how to debug the kernel the reader's machine
runs, before anything about the VM demo, in the commands the stock tests
run (DKMS, the shared console port, the -dbg package as GDB's sysroot)."""
import os
import re

from harness import ARCH, ROOT, check
from stock import DBG_SYSROOT, DBG_VMLINUX
from test_stock import DKMS_STEPS, dkms_version

FIRST = "Debug the kernel your machine runs"


def first_section(text):
    """The README's first '## ' section, and what comes before it."""
    parts = re.split(r"^## ", text, flags=re.M)
    check(len(parts) > 2, "the README has no sections")
    title, _, body = parts[1].partition("\n")
    check(title.strip() == FIRST, "the README's first section is '%s', not '%s'"
          % (title.strip(), FIRST))
    return parts[0], body


def test_readme_first_section():
    """The README starts with the user's own kernel; its commands are the tests'."""
    with open(os.path.join(ROOT, "README.md")) as f:
        before, body = first_section(f.read())
    check("make demo" not in before and "make run" not in before,
          "the README speaks of the VM demo before '%s'" % FIRST)
    cable = body.find("target remote /dev/ttyUSB0")
    demo = body.find("make demo")
    check(cable >= 0, "no 'target remote /dev/ttyUSB0' in '%s'" % FIRST)
    check(demo < 0 or demo > cable, "the VM demo comes before the cable in '%s'" % FIRST)
    code = "\n".join(re.findall(r"^```sh\n(.*?)^```", body, re.S | re.M))
    # DKMS: add, then the steps test_dkms_debian_6_1 runs, on dkms.conf's version
    subs = re.findall(r"\bdkms (\w+) (\S+)", code)
    check(subs and subs[0][0] == "add", "no 'dkms add' first: %s" % subs)
    for sub, arg in subs[1:]:
        check(sub in DKMS_STEPS, "'dkms %s' is not a step the DKMS test runs (%s)"
              % (sub, ", ".join(DKMS_STEPS)))
        check(arg == "kstub/" + dkms_version(), "'dkms %s %s': dkms.conf's version is %s"
              % (sub, arg, dkms_version()))
    check("install" in dict(subs[1:]), "no 'dkms install'")
    # the console's port, as test_debian_6_12_shared_line loads kstub
    m = re.search(r"^modprobe kstub (\S+)", code, re.M)
    check(m and m.group(1) == "tty=" + ARCH["x86_64"]["tty"],
          "'modprobe kstub %s': the shared-line tests load it with tty=%s"
          % (m and m.group(1), ARCH["x86_64"]["tty"]))
    # the -dbg package unpacked into a directory, as GDB's sysroot and vmlinux
    check(re.search(r"^apt-get download linux-image-<release>-dbg\s", code, re.M),
          "no 'apt-get download linux-image-<release>-dbg'")
    m = re.search(r"^dpkg-deb -x \S+ (\S+)$", code, re.M)
    check(m, "no 'dpkg-deb -x PACKAGE DIR'")
    root = "%s/%s" % (m.group(1), DBG_SYSROOT)
    check(re.search(r"^gdb-multiarch %s/%s" % (re.escape(root),
                                                  re.escape(DBG_VMLINUX % "<release>")) + r"\s",
                     code, re.M),
          "GDB is not given the package's vmlinux, %s/%s" % (root, DBG_VMLINUX % "<release>"))
    check("-ex 'set sysroot %s'" % root in code, "GDB's sysroot is not %s" % root)
    check("-ex 'target remote /dev/ttyUSB0'" in code, "GDB does not attach over the cable")


TESTS = [test_readme_first_section]
