// SPDX-License-Identifier: Apache-2.0
/*
 * kvm_keepalive: hold one idle KVM VM open for the whole life of the nested
 * test host (tests/vmhost/init).
 *
 * The inner kernel was seen to hard-lock (both vCPUs spinning in INT3 text
 * patching) when VMs were created and destroyed back to back, plausibly KVM
 * flipping static keys every time the number of VMs goes 0 <-> 1. One VM that
 * lives as long as the host keeps the count above zero.
 *
 * Creates a VM, its in-kernel irqchip and one vCPU (never run), then forks:
 * the parent prints the holder's pid and exits 0, so the caller knows /dev/kvm
 * works once this returns; the child sleeps until killed. Any failure exits 1
 * with the failing step on stderr. Static, no libraries beyond libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "kvm_keepalive: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	int version = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		fprintf(stderr, "kvm_keepalive: KVM API version %d, expected %d\n", version,
			KVM_API_VERSION);
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP");
	if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		return fail("KVM_CREATE_VCPU");

	pid_t pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid > 0) {
		printf("%d\n", (int)pid);
		return 0;
	}
	/* The holder: detached from the caller's output so a pipe reader sees EOF. */
	setsid();
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	for (;;)
		pause();
}
