// SPDX-License-Identifier: Apache-2.0
#include "vmm/kvm/vm_state.h"
#include "vmm/kvm/kvm_vm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

int vm_state_capture(struct kvm_vm *vm, struct vm_saved_state *s)
{
	memset(s, 0, sizeof(*s));
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &s->pit) < 0)
		return -errno;
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &s->clock) < 0)
		return -errno;
	for (unsigned int i = 0; i < VM_STATE_NR_CHIPS; i++) {
		s->chips[i].chip_id = i;
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->chips[i]) < 0)
			return -errno;
	}
	return 0;
}

void vm_state_encode(const struct vm_saved_state *s, struct vmstate_writer *w)
{
	vmstate_section_begin(w, VM_STATE_TAG, 0);
	vmstate_put_blob(w, &s->pit, sizeof(s->pit));
	vmstate_put_blob(w, &s->clock, sizeof(s->clock));
	for (unsigned int i = 0; i < VM_STATE_NR_CHIPS; i++)
		vmstate_put_blob(w, &s->chips[i], sizeof(s->chips[i]));
	vmstate_section_end(w);
}

int vm_state_decode(struct vmstate_reader *r, struct vm_saved_state *s)
{
	int ret;

	vmstate_get_blob(r, &s->pit, sizeof(s->pit));
	vmstate_get_blob(r, &s->clock, sizeof(s->clock));
	for (unsigned int i = 0; i < VM_STATE_NR_CHIPS; i++)
		vmstate_get_blob(r, &s->chips[i], sizeof(s->chips[i]));
	ret = vmstate_reader_end(r);
	for (unsigned int i = 0; !ret && i < VM_STATE_NR_CHIPS; i++)
		if (s->chips[i].chip_id != i)
			ret = -EINVAL;
	return ret;
}

static int vm_set(struct kvm_vm *vm, unsigned long req, const void *arg, const char *what,
		  char *err, size_t errlen)
{
	if (ioctl(vm->vm_fd, req, arg) == 0)
		return 0;
	snprintf(err, errlen, "%s failed: %s", what, strerror(errno));
	return -errno;
}

int vm_state_apply(struct kvm_vm *vm, const struct vm_saved_state *s, bool clock_realtime,
		   char *err, size_t errlen)
{
	struct kvm_clock_data clock = {.clock = s->clock.clock};
	int ret;

	/* Only KVM_CLOCK_REALTIME is an input flag; the others describe the saved clock. */
	if (clock_realtime && (s->clock.flags & KVM_CLOCK_REALTIME)) {
		clock.flags = KVM_CLOCK_REALTIME;
		clock.realtime = s->clock.realtime;
	}
	ret = vm_set(vm, KVM_SET_PIT2, &s->pit, "KVM_SET_PIT2", err, errlen);
	if (!ret)
		ret = vm_set(vm, KVM_SET_CLOCK, &clock, "KVM_SET_CLOCK", err, errlen);
	for (unsigned int i = 0; !ret && i < VM_STATE_NR_CHIPS; i++)
		ret = vm_set(vm, KVM_SET_IRQCHIP, &s->chips[i], "KVM_SET_IRQCHIP", err, errlen);
	return ret;
}
