# The nested KVM test host (tests/vmhost/README.md). Included from the top
# Makefile (`-include tests/vmhost/vmhost.mk`); also usable alone:
#   make -f tests/vmhost/vmhost.mk vmhost
# Targets:
#   vmhost            kernel + initramfs + keep-alive, ready for `vmhost.sh run`
#                     (vmhost.sh run also prepares them itself when missing/stale)
#   vmhost-check      what is missing to run the host (Debian package names)
#   vmhost-keepalive  just $(VMHOST_DIR)/kvm_keepalive
# Variables: CC (default cc); VMHOST_DIR (default build/vmhost, shared by every
# BUILD, as build/kernel is); VMHOST_DEBS, the Debian packages vmhost.sh
# needs beyond the usual build tools, for the `deps` target.

# Wherever it is included, this fragment never becomes the default goal.
VMHOST_SAVED_GOAL := $(.DEFAULT_GOAL)
CC             ?= cc
VMHOST_DIR     ?= build/vmhost
VMHOST_DEBS    := qemu-system-x86 busybox-static kmod cpio xz-utils
# Static: it runs in the initramfs, before any root filesystem exists.
VMHOST_CFLAGS  := -std=c11 -Wall -Wextra -Werror -O2 -static

.PHONY: vmhost vmhost-check vmhost-keepalive

vmhost-keepalive: $(VMHOST_DIR)/kvm_keepalive

$(VMHOST_DIR)/kvm_keepalive: tests/vmhost/kvm_keepalive.c
	@mkdir -p $(dir $@)
	$(CC) $(VMHOST_CFLAGS) -o $@ $<

vmhost: $(VMHOST_DIR)/kvm_keepalive
	@VMHOST_DIR=$(VMHOST_DIR) tests/vmhost/mkinitramfs.sh >/dev/null

vmhost-check:
	@tests/vmhost/vmhost.sh check

.DEFAULT_GOAL := $(VMHOST_SAVED_GOAL)
