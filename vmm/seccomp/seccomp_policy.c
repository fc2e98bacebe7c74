// SPDX-License-Identifier: Apache-2.0
/*
 * The built-in allowlists, one per thread category, for glibc on x86_64.
 * Derived from the code (what each thread does once its filter is in) and
 * checked with `strace -f` on a full run of the test guest. Everything not
 * listed traps (SIGSYS -> exit 148).
 *
 * Arguments are checked where the kernel would otherwise give a thread much
 * more than it needs: ioctl request numbers (exact KVM and tty requests),
 * futex commands (no PI or requeue operations), mmap/mremap/mprotect (fresh
 * anonymous read/write memory only: see MEMORY_RULES), madvise advice,
 * tgkill signals, accept4 and getrandom flags. What cannot be checked is a
 * path: seccomp sees the pointer, not the string (unlink, rename, openat:
 * the jail bounds those).
 * Once filtered, only the VMM thread creates sockets (virtio-vsock's AF_UNIX
 * streams); socket() of any other family, or in any other thread, traps. A
 * 32-bit argument is compared on its low 32 bits only ("dword"), as the
 * kernel reads it: garbage in the upper half must not dodge a rule.
 *
 * A new syscall in any of these threads needs a rule here (and a run of
 * tests/integration/test_seccomp.sh); a missing one ends ember with 148.
 */
#include "vmm/seccomp/policy.h"

#include <errno.h>
#include <linux/falloc.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

/* Rule tables read best one syscall group per line: keep clang-format out of them. */
/* clang-format off */
#define DWORD_EQ(i, v)							\
	{ .arg = (i), .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffULL, .datum_b = (v) }
#define MASKED_EQ(i, mask, v)						\
	{ .arg = (i), .op = SCMP_CMP_MASKED_EQ, .datum_a = (mask), .datum_b = (v) }

#define ALLOW(name)		{ .syscall = SCMP_SYS(name) }
#define ALLOW_IF(name, ...)	{ .syscall = SCMP_SYS(name), .args = { __VA_ARGS__ } }
#define IOCTL(req)		ALLOW_IF(ioctl, DWORD_EQ(1, (req)))

/* futex: the command without FUTEX_PRIVATE_FLAG / FUTEX_CLOCK_REALTIME. */
#define FUTEX_CMD_BITS		0x7fULL
#define FUTEX(cmd)		ALLOW_IF(futex, MASKED_EQ(1, FUTEX_CMD_BITS, (cmd)))

/*
 * Memory, once a thread is filtered. Everything Ember maps from a file or
 * shares (guest memory, kvm_run, the io_uring rings, a snapshot's memory
 * file) is mapped before the filters go in; afterwards only malloc maps:
 * arenas (MAP_NORESERVE, PROT_NONE, then mprotect to read/write), large
 * blocks, and thread stacks (MAP_STACK). So mmap: MAP_PRIVATE|MAP_ANONYMOUS
 * with nothing but MAP_NORESERVE or MAP_STACK besides (no file or shared
 * mapping, no MAP_HUGETLB, MAP_LOCKED, MAP_POPULATE, MAP_GROWSDOWN, ...),
 * MAP_FIXED (over whatever is mapped there) only with PROT_NONE, which is how
 * glibc gives back the end of a thread's heap under strict overcommit
 * (shrink_heap) and leaves nothing usable; mremap only MREMAP_MAYMOVE
 * (realloc; MREMAP_FIXED would be MAP_FIXED); and PROT_READ|PROT_WRITE at
 * most (never PROT_EXEC) for mmap and mprotect. prot and flags are ints in
 * the C API and the kernel defines no bit above 31: the low word is compared.
 */
#define LOW_BITS_BUT(bits)	(0xffffffffULL & ~(uint64_t)(bits))
#define PROT_RW_AT_MOST(i)	MASKED_EQ(i, LOW_BITS_BUT(PROT_READ | PROT_WRITE), 0)
#define MAP_ANON_PRIVATE(extra)						\
	MASKED_EQ(3, LOW_BITS_BUT(MAP_NORESERVE | MAP_STACK | (extra)),	\
		  MAP_PRIVATE | MAP_ANONYMOUS)
#define MEMORY_RULES							\
	ALLOW(brk), ALLOW(munmap),					\
	ALLOW_IF(mremap, MASKED_EQ(3, LOW_BITS_BUT(MREMAP_MAYMOVE), 0)), \
	ALLOW_IF(mmap, PROT_RW_AT_MOST(2), MAP_ANON_PRIVATE(0)),		\
	ALLOW_IF(mmap, DWORD_EQ(2, PROT_NONE), MAP_ANON_PRIVATE(MAP_FIXED)), \
	ALLOW_IF(mprotect, PROT_RW_AT_MOST(2))

/*
 * What glibc itself needs in every thread: locks and condition variables,
 * malloc (MEMORY_RULES, trimming with MADV_DONTNEED), thread exit, signal
 * return, time, and the final exit. write is here because every thread logs.
 */
#define LIBC_RULES							\
	FUTEX(FUTEX_WAIT), FUTEX(FUTEX_WAKE),				\
	FUTEX(FUTEX_WAIT_BITSET), FUTEX(FUTEX_WAKE_BITSET),		\
	MEMORY_RULES,							\
	ALLOW_IF(madvise, DWORD_EQ(2, MADV_DONTNEED)),			\
	ALLOW(clock_gettime), ALLOW(rt_sigprocmask), ALLOW(rt_sigreturn), \
	ALLOW(restart_syscall), ALLOW(write), ALLOW(exit), ALLOW(exit_group) \
	SANITIZER_RULES

#ifdef __SANITIZE_ADDRESS__
/*
 * ASan builds only (make SAN=1, the test build; never the production
 * binary). The sanitizer runtime in every thread: its alternate signal stack,
 * its allocator's anonymous mappings at fixed places in the region it
 * reserved (MAP_FIXED), and the advice it gives its own mappings.
 */
#define SANITIZER_RULES							\
	, ALLOW(sigaltstack),						\
	ALLOW_IF(mmap, PROT_RW_AT_MOST(2), MAP_ANON_PRIVATE(MAP_FIXED)),	\
	ALLOW_IF(madvise, DWORD_EQ(2, MADV_NOHUGEPAGE)),		\
	ALLOW_IF(madvise, DWORD_EQ(2, MADV_DONTDUMP))
/*
 * LeakSanitizer's check at exit(), on the VMM thread: it clones a tracer
 * that ptrace-attaches to every thread and reads /proc/self/task. Found by
 * running a filtered ASan binary with SCMP_ACT_LOG as default action.
 */
#define SANITIZER_EXIT_RULES						\
	, ALLOW_IF(clone, DWORD_EQ(0, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED)), \
	ALLOW(ptrace), ALLOW(wait4), ALLOW(prctl), ALLOW(rt_sigaction),	\
	ALLOW(open), ALLOW(readlink), ALLOW(getdents), ALLOW(getdents64), \
	ALLOW(getppid), ALLOW(gettid), ALLOW(sched_yield)
#else
#define SANITIZER_RULES
#define SANITIZER_EXIT_RULES
#endif

/*
 * The VMM thread once the guest runs: the event loop (eventfds, stdin), the
 * virtio backends (virtio-blk preadv/pwritev/fdatasync or io_uring, PATCH
 * /drives reopening its file; virtio-rng getrandom), legacy IRQs
 * (KVM_IRQ_LINE), the vCPU kick (pthread_kill = getpid + tgkill, added at run
 * time), and the exit: the terminal restored (tcsetattr: TCGETS + TCSETS),
 * libmicrohttpd stopped (shutdown of the listening socket) and the API
 * socket file removed.
 *
 * unlink (the API and vsock socket files at exit, a snapshot's temporary
 * file when creating it failed) and rename (a snapshot file into place) take
 * nothing but paths, which seccomp cannot read: they stay unchecked, and the
 * jail (chroot, unprivileged uid) is what bounds them. Their variants with
 * something checkable are not allowed at all: unlinkat (AT_REMOVEDIR),
 * renameat2 (RENAME_EXCHANGE, RENAME_WHITEOUT), rmdir, link, symlink.
 */
static const struct seccomp_rule vmm_rules[] = {
	LIBC_RULES,
	ALLOW(epoll_wait), ALLOW(epoll_ctl), ALLOW(read), ALLOW(close),
	ALLOW(preadv), ALLOW(pwritev), ALLOW(fdatasync), ALLOW(lseek), ALLOW(openat),
	ALLOW(io_uring_enter),
	/* virtio-pmem's flush: its mapped file written back, synchronously. */
	ALLOW_IF(msync, DWORD_EQ(2, MS_SYNC)),
	ALLOW_IF(getrandom, DWORD_EQ(2, 0)),
	ALLOW(getpid),
	IOCTL(KVM_IRQ_LINE),
	/* virtio-net re-applies the guest's offloads to the tap on restore. */
	IOCTL(TUNSETOFFLOAD),
	IOCTL(TCGETS), IOCTL(TCSETS),
	ALLOW(shutdown), ALLOW(unlink),
	/*
	 * virtio-vsock: host connections accepted on its Unix socket, guest
	 * connections to "<uds_path>_<port>" (AF_UNIX streams only), their
	 * data (sendmsg, readv; read, write, shutdown above) and the timerfd of
	 * the connection timeouts.
	 */
	ALLOW_IF(accept4, DWORD_EQ(3, SOCK_CLOEXEC | SOCK_NONBLOCK)),
	ALLOW_IF(socket, DWORD_EQ(0, AF_UNIX), DWORD_EQ(1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)),
	ALLOW(connect), ALLOW(sendmsg), ALLOW(readv), ALLOW(timerfd_settime),
	/*
	 * PUT /snapshot/create (vmm/snapshot.c): the MSR list, the irqchip,
	 * PIT and clock, the dirty log of a Diff; both files written under a
	 * temporary name (openat above), sized, synced and renamed into place.
	 */
	IOCTL(KVM_GET_MSR_INDEX_LIST), IOCTL(KVM_GET_IRQCHIP), IOCTL(KVM_GET_PIT2),
	IOCTL(KVM_GET_CLOCK), IOCTL(KVM_GET_DIRTY_LOG),
	ALLOW(pwrite64), ALLOW(ftruncate), ALLOW(fsync), ALLOW(rename),
	/*
	 * virtio-balloon gives guest pages back (guest_mem_discard()): a hole
	 * punched in the guest memfd, or, for RAM restored MAP_PRIVATE from a
	 * memory file, fresh anonymous read/write memory mapped over the pages
	 * (MADV_DONTNEED, for anonymous RAM, is in LIBC_RULES); its statistics
	 * timer is re-armed here too (timerfd_settime above).
	 */
	ALLOW_IF(fallocate, DWORD_EQ(1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)),
	ALLOW_IF(mmap, DWORD_EQ(2, PROT_READ | PROT_WRITE), MAP_ANON_PRIVATE(MAP_FIXED)),
	/*
	 * virtio-mem shows a slot of its region to KVM when the guest plugs its
	 * first block and hides it when the last one is unplugged; unplugged
	 * blocks go back with MADV_DONTNEED (LIBC_RULES).
	 */
	IOCTL(KVM_SET_USER_MEMORY_REGION)
	SANITIZER_EXIT_RULES
};

/*
 * The API thread (libmicrohttpd's, epoll mode, on a socket bound before):
 * accept, receive, answer, hand each request to the VMM thread (eventfd write
 * + condition variable) and read its wake-up eventfd. It creates no socket.
 */
static const struct seccomp_rule api_rules[] = {
	LIBC_RULES,
	ALLOW(epoll_wait), ALLOW(epoll_ctl), ALLOW(read),
	ALLOW_IF(accept4, DWORD_EQ(3, SOCK_CLOEXEC | SOCK_NONBLOCK)),
	ALLOW(recvfrom), ALLOW(sendto), ALLOW(sendmsg), ALLOW(shutdown), ALLOW(close),
};

/*
 * A vCPU thread: KVM_RUN, the registers it logs after a failed entry, legacy
 * device IRQs (KVM_IRQ_LINE on the VM fd), serial output and eventfd writes
 * (write), the serial's bounded wait for a blocking pipe or terminal on its
 * output (poll of that one fd), and the kick signal's handler returning
 * (rt_sigreturn).
 */
static const struct seccomp_rule vcpu_rules[] = {
	LIBC_RULES,
	IOCTL(KVM_RUN),
	IOCTL(KVM_GET_REGS), IOCTL(KVM_GET_SREGS),
	IOCTL(KVM_IRQ_LINE),
	/* virtio-net applies the negotiated offloads to the tap at DRIVER_OK. */
	IOCTL(TUNSETOFFLOAD),
	/*
	 * A device reset (the guest writes status 0, as Linux does on reboot)
	 * runs on the vCPU that wrote it: virtio-vsock's reset disarms its
	 * connection-timeout timerfd.
	 */
	ALLOW(timerfd_settime),
	ALLOW_IF(poll, DWORD_EQ(1, 1)),
	/* Snapshots: each parked vCPU saves its own state (vmm/vcpu_state.c). */
	IOCTL(KVM_GET_MP_STATE), IOCTL(KVM_GET_XSAVE), IOCTL(KVM_GET_FPU), IOCTL(KVM_GET_XCRS),
	IOCTL(KVM_GET_DEBUGREGS), IOCTL(KVM_GET_LAPIC), IOCTL(KVM_GET_TSC_KHZ),
	IOCTL(KVM_GET_CPUID2), IOCTL(KVM_GET_MSRS), IOCTL(KVM_GET_VCPU_EVENTS),
};
/* clang-format on */

static const struct {
	const struct seccomp_rule *rules;
	size_t nr;
} tables[SECCOMP_NR_THREADS] = {
    [SECCOMP_VMM] = {vmm_rules, sizeof(vmm_rules) / sizeof(vmm_rules[0])},
    [SECCOMP_API] = {api_rules, sizeof(api_rules) / sizeof(api_rules[0])},
    [SECCOMP_VCPU] = {vcpu_rules, sizeof(vcpu_rules) / sizeof(vcpu_rules[0])},
};

/* Rules whose values are only known at run time (SIGRTMIN is a function in glibc). */
static size_t runtime_rules(enum seccomp_thread t, struct seccomp_rule *out)
{
	size_t n = 0;

	if (t == SECCOMP_VMM) {
		/* pthread_kill of a vCPU with the kick signal, nothing else. */
		out[n++] = (struct seccomp_rule)ALLOW_IF(tgkill, DWORD_EQ(2, (uint64_t)SIGRTMIN));
	}
	return n;
}

#define MAX_RUNTIME_RULES 1

int seccomp_default_policy(enum seccomp_thread t, struct seccomp_policy *out)
{
	size_t nr;

	memset(out, 0, sizeof(*out));
	if ((unsigned int)t >= SECCOMP_NR_THREADS)
		return -EINVAL;
	nr = tables[t].nr;
	out->rules = calloc(nr + MAX_RUNTIME_RULES, sizeof(*out->rules));
	if (!out->rules)
		return -ENOMEM;
	memcpy(out->rules, tables[t].rules, nr * sizeof(*out->rules));
	nr += runtime_rules(t, out->rules + nr);
	out->nr_rules = nr;
	out->default_action = SCMP_ACT_TRAP;
	out->filter_action = SCMP_ACT_ALLOW;
	return 0;
}

static const char *const thread_names[SECCOMP_NR_THREADS] = {
    [SECCOMP_VMM] = "vmm",
    [SECCOMP_API] = "api",
    [SECCOMP_VCPU] = "vcpu",
};

const char *seccomp_thread_name(enum seccomp_thread t)
{
	return (unsigned int)t < SECCOMP_NR_THREADS ? thread_names[t] : "?";
}

unsigned int seccomp_rule_nr_args(const struct seccomp_rule *r)
{
	unsigned int n = 0;

	while (n < SECCOMP_MAX_ARGS && r->args[n].op != 0)
		n++;
	return n;
}

void seccomp_policy_free(struct seccomp_policy *p)
{
	free(p->rules);
	p->rules = NULL;
	p->nr_rules = 0;
}
