# The test guest: a freestanding x86-64 kernel entered through the Linux
# 64-bit boot protocol, built from the same objects as an ELF vmlinux and as
# a bzImage. Included by the top-level Makefile, which sets BUILD. Never
# built with the host CFLAGS or sanitizers.
#
#   make guest   -> $(BUILD)/guest/test-guest.elf, $(BUILD)/guest/test-guest.bzImage

GUEST_SRC     := tests/guest
GUEST_OUT     := $(BUILD)/guest
GUEST_CC      ?= gcc
GUEST_OBJCOPY ?= objcopy
GUEST_NM      ?= nm

GUEST_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -ffreestanding -nostdinc \
		-fno-pic -fno-pie -mcmodel=small -mno-red-zone -mno-mmx -mno-sse -mno-sse2 \
		-mno-80387 -fno-stack-protector -fno-asynchronous-unwind-tables \
		-fcf-protection=none -fno-tree-loop-distribute-patterns -MMD -MP -I$(GUEST_SRC)
GUEST_ASFLAGS := -nostdinc -fno-pic -Wa,--fatal-warnings -MMD -MP -I$(GUEST_SRC)
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=4096 \
		 -Wl,-z,noexecstack

GUEST_KERNEL_OBJS := $(addprefix $(GUEST_OUT)/obj/,entry.o trap_entry.o ring3_entry.o pvh_entry.o \
	$(patsubst %.c,%.o,$(notdir $(wildcard $(GUEST_SRC)/*.c))))
GUEST_ELF := $(GUEST_OUT)/test-guest.elf
GUEST_BZIMAGE := $(GUEST_OUT)/test-guest.bzImage
GUEST_PVH_ELF := $(GUEST_OUT)/test-guest-pvh.elf

.PHONY: guest
guest: $(GUEST_ELF) $(GUEST_BZIMAGE) $(GUEST_PVH_ELF)

$(GUEST_OUT)/obj/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/obj/%.o: $(GUEST_SRC)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_ASFLAGS) -c -o $@ $<

$(GUEST_ELF): $(GUEST_KERNEL_OBJS) $(GUEST_SRC)/guest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/guest.ld -o $@ $(GUEST_KERNEL_OBJS)

# The same kernel with the Xen PVH entry note: loaders that know PVH enter pvh_start.
$(GUEST_PVH_ELF): $(GUEST_KERNEL_OBJS) $(GUEST_OUT)/obj/pvh_note.o $(GUEST_SRC)/guest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/guest.ld -o $@ $(GUEST_KERNEL_OBJS) \
		$(GUEST_OUT)/obj/pvh_note.o

# The protected-mode kernel; its length must be exactly what syssize declares.
$(GUEST_OUT)/kernel.bin: $(GUEST_ELF)
	$(GUEST_OBJCOPY) -O binary $< $@
	@paras=$$($(GUEST_NM) $< | awk '$$3 == "__syssize" { print $$1 }'); \
	size=$$(stat -c %s $@); \
	[ -n "$$paras" ] && [ "$$size" -eq $$((16 * 0x$$paras)) ] || \
	  { echo "guest: kernel.bin is $$size bytes, syssize says 16 * 0x$$paras"; rm -f $@; exit 1; }

# Boot sector + setup sector with the header, symbols resolved against the ELF.
$(GUEST_OUT)/setup.bin: $(GUEST_OUT)/obj/bzimage_header.o $(GUEST_SRC)/bzimage_header.ld $(GUEST_ELF)
	$(GUEST_CC) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/bzimage_header.ld \
		-Wl,--just-symbols=$(GUEST_ELF) -o $(GUEST_OUT)/setup.elf $<
	$(GUEST_OBJCOPY) -O binary -j .header $(GUEST_OUT)/setup.elf $@

$(GUEST_BZIMAGE): $(GUEST_OUT)/setup.bin $(GUEST_OUT)/kernel.bin
	cat $^ > $@

-include $(wildcard $(GUEST_OUT)/obj/*.d)
