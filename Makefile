# SPDX-License-Identifier: GPL-2.0
# kstub: out-of-tree build and the project's two commands.
#   make [KDIR=...]   build kstub.ko against a kernel build tree
#   make run          boot the demo VM with kstub and attach GDB
#   make demo         the same, non-interactively, with a short GDB script
#                     (FRESH=1: in a fresh Debian 12 root, timed)
#   make check        every test (ARCH=, KVER=, TESTS=<pattern> narrow it;
#                     FULL=1 every scenario over every transport; COLD=1 from
#                     a clean clone with an empty kernel cache)
#   make fuzz         libFuzzer on the protocol code (FUZZ_EXECS=, 10 million)

KDIR ?= /lib/modules/$(shell uname -r)/build
PWD := $(shell pwd)

ifneq ($(KERNELRELEASE),)
include $(src)/Kbuild
else

all: modules

# with every section linked at 0, so that GDB places kstub's own debug
# info exactly (tools/kstub-gdb-ko says why)
modules:
	$(MAKE) -C $(KDIR) M=$(PWD) CONFIG_KSTUB=m modules
	tools/kstub-gdb-ko kstub.ko

clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean
	$(MAKE) -C $(KDIR) M=$(PWD)/tests/kernel clean

check:
	@tests/run.sh

# Python too is one of what deps.sh installs: it comes before the tool
run:
	@tests/deps.sh run
	@tools/kstub-vm run

demo:
	@if [ -n "$(FRESH)" ] && [ "$(FRESH)" != 0 ]; then tools/kstub-fresh; \
	else tests/deps.sh run && tools/kstub-vm demo; fi

bench:
	@tests/bench/run.sh

fuzz:
	@tests/fuzz/run.sh

.PHONY: all modules clean check run demo bench fuzz
endif
