# The Linux guest suite (tests/linux/README.md). Included from the top Makefile:
#   make linux-guest   $(BUILD)/linux/: Debian's stock kernel (vmlinuz + the
#                      extracted ELF vmlinux), initramfs.cpio, rootfs.ext4,
#                      rootfs-part.img (tests/linux/build.sh)
#   make linux-test    ember + helpers + linux-guest, then tests/linux/run.sh
#                      inside the nested KVM host (tests/vmhost/vmhost.sh)
#   make linux-test-here   the same on this machine's /dev/kvm (for a host
#                      whose KVM runs Linux at full speed)
# LINUX_TESTS=test_boot[:test_x] ... limits the run to some scripts/cases.

# The Debian packages tests/linux needs (added to `make deps`); the kernel
# package itself comes through tests/vmhost/kernel.sh (apt-get download).
LINUX_DEBS  := busybox-static cpio kmod e2fsprogs fdisk socat xz-utils
# tool:package pairs for the deps check
LINUX_TOOLS := busybox:busybox-static cpio:cpio modprobe:kmod mkfs.ext4:e2fsprogs \
	debugfs:e2fsprogs sfdisk:fdisk socat:socat xz:xz-utils
LINUX_TESTS ?=
LINUX_TIMEOUT ?= 3600

.PHONY: linux-guest linux-test linux-test-here

linux-guest:
	@tests/linux/build.sh $(BUILD)/linux >/dev/null

linux-test: linux-guest
	@$(MAKE) --no-print-directory BUILD=$(BUILD) all $(ITEST_BINS)
	@tests/vmhost/vmhost.sh run --timeout $(LINUX_TIMEOUT) -- tests/linux/run.sh $(BUILD) $(LINUX_TESTS)

linux-test-here: linux-guest
	@$(MAKE) --no-print-directory BUILD=$(BUILD) all $(ITEST_BINS)
	@tests/linux/run.sh $(BUILD) $(LINUX_TESTS)
