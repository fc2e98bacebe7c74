# The nested KVM test host (tests/vmhost/README.md). Included from the top
# Makefile; also usable alone: make -f tests/vmhost/vmhost.mk vmhost
#   make vmhost          kernel + initramfs + keep-alive, ready for vmhost.sh run
#   make vmhost-check    what is missing to run the host (Debian package names)
#   make vmhost-test     the integration tests inside the host against $(BUILD)
# Its artefacts are shared by every BUILD: build/kernel, build/vmhost.

CC             ?= cc
BUILD          ?= build
VMHOST_DIR     ?= build/vmhost
# The Debian packages vmhost.sh needs (added to `make deps`).
VMHOST_DEBS    := qemu-system-x86 busybox-static kmod cpio
# Static: it runs in the initramfs, before any root filesystem exists.
VMHOST_CFLAGS  := -std=c11 -Wall -Wextra -Werror -O2 -static

.PHONY: vmhost vmhost-check vmhost-keepalive vmhost-test

vmhost-keepalive: $(VMHOST_DIR)/kvm_keepalive

$(VMHOST_DIR)/kvm_keepalive: tests/vmhost/kvm_keepalive.c
	@mkdir -p $(dir $@)
	$(CC) $(VMHOST_CFLAGS) -o $@ $<

vmhost: $(VMHOST_DIR)/kvm_keepalive
	@tests/vmhost/mkinitramfs.sh >/dev/null

vmhost-check:
	@tests/vmhost/vmhost.sh check

vmhost-test: vmhost
	@$(MAKE) --no-print-directory BUILD=$(BUILD) all $(if $(ITEST_BINS),$(ITEST_BINS))
	@tests/vmhost/vmhost.sh run --timeout 3600 -- tests/run.sh $(BUILD)
