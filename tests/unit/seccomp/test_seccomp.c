// SPDX-License-Identifier: Apache-2.0
/*
 * The built-in seccomp filters, installed for real: each case forks a child
 * that installs one thread category's filter and makes one syscall. An
 * allowed call must come back; a forbidden one must end the child with exit
 * code 148 and the SIGSYS line on its stderr (the log sink).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/audit.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/seccomp/seccomp_filters.h"
#include "vmm/seccomp/json.h"

static struct seccomp_filters defaults;
/* The child's pid and tid, taken before its filter goes in (as pthread_kill knows them). */
static pid_t child_pid, child_tid;

static int setup(void **state)
{
	char err[256];

	(void)state;
	if (seccomp_filters_load(&defaults, NULL, err, sizeof(err))) {
		fprintf(stderr, "cannot build the default filters: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	seccomp_filters_free(&defaults);
	return 0;
}

struct child_result {
	int status;
	char err[512]; /* the child's stderr */
};

/*
 * Fork; the child names itself @name, installs @t from @f, runs @probe and
 * exits with its return value (0..127). Raw syscall(2) in the probes: a libc
 * wrapper could make other syscalls of its own.
 */
static void run_filtered(const struct seccomp_filters *f, enum seccomp_thread t, const char *name,
			 int (*probe)(void), struct child_result *res)
{
	int pipefd[2];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], STDERR_FILENO);
		prctl(PR_SET_NAME, name, 0, 0, 0);
		child_pid = getpid();
		child_tid = gettid();
		if (seccomp_install(f, t))
			_exit(120);
		_exit(probe());
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], res->err + len, sizeof(res->err) - 1 - len)) > 0)
		len += (size_t)n;
	res->err[len] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &res->status, 0), pid);
}

static void expect_exit(const struct child_result *res, int code)
{
	if (!WIFEXITED(res->status) || WEXITSTATUS(res->status) != code)
		fail_msg("child: status %#x (%s %d), expected exit %d; stderr: %s", res->status,
			 WIFSIGNALED(res->status) ? "signal" : "exit",
			 WIFSIGNALED(res->status) ? WTERMSIG(res->status)
						  : WEXITSTATUS(res->status),
			 code, res->err);
}

/* Killed by the filter: 148 and the log line naming the syscall and the thread. */
static void expect_trapped(const struct child_result *res, const char *thread, long nr,
			   const char *category)
{
	char want[256];

	expect_exit(res, SECCOMP_EXIT_BAD_SYSCALL);
	snprintf(want, sizeof(want),
		 "[seccomp:%s] Shutting down VM after intercepting a bad syscall (%ld) in a "
		 "thread under the %s filter\n",
		 thread, nr, category);
	assert_string_equal(res->err, want);
}

static void expect_allowed(const struct child_result *res)
{
	expect_exit(res, 0);
	assert_string_equal(res->err, "");
}

/* ---- probes: 0 when the call came back as expected --------------------------------- */

static int probe_write(void)
{
	return syscall(SYS_write, STDERR_FILENO, "", 0) == 0 ? 0 : 1;
}

static int probe_socket_inet(void)
{
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	return 2;
}

static int probe_socket_unix(void)
{
	return syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) >= 0 ? 0 : 1;
}

/* libmicrohttpd's accept: non-blocking, close-on-exec. EBADF here, past the filter. */
static int probe_accept4(void)
{
	return syscall(SYS_accept4, -1, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK) == -1 &&
		       errno == EBADF
		   ? 0
		   : 1;
}

static int probe_accept4_blocking(void)
{
	syscall(SYS_accept4, -1, NULL, NULL, 0);
	return 2;
}

/* KVM_RUN is allowed: on a pipe it fails with ENOTTY, and the thread lives on. */
static int probe_ioctl_kvm_run(void)
{
	return syscall(SYS_ioctl, STDERR_FILENO, KVM_RUN, 0) < 0 && errno == ENOTTY ? 0 : 1;
}

/* Upper bits the kernel ignores must not change the verdict. */
static int probe_ioctl_kvm_run_high_bits(void)
{
	return syscall(SYS_ioctl, STDERR_FILENO, 0xdead000000000000UL | KVM_RUN, 0) < 0 &&
		       errno == ENOTTY
		   ? 0
		   : 1;
}

static int probe_ioctl_tiocsti(void)
{
	char c = 'x';

	syscall(SYS_ioctl, STDERR_FILENO, TIOCSTI, &c);
	return 2;
}

static int probe_ioctl_kvm_create_vm(void)
{
	syscall(SYS_ioctl, STDERR_FILENO, KVM_CREATE_VM, 0);
	return 2;
}

/* The serial's wait for its output fd: one fd, a bounded timeout. */
static int probe_poll_one(void)
{
	struct pollfd pfd = {.fd = STDERR_FILENO, .events = POLLOUT};

	return syscall(SYS_poll, &pfd, 1, 0) == 1 ? 0 : 1;
}

static int probe_poll_two(void)
{
	struct pollfd pfd[2] = {{.fd = STDERR_FILENO, .events = POLLOUT},
				{.fd = STDERR_FILENO, .events = POLLOUT}};

	syscall(SYS_poll, pfd, 2, 0);
	return 2;
}

static int probe_mmap_rw(void)
{
	long p = syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);

	return p != -1 && syscall(SYS_munmap, p, 4096) == 0 ? 0 : 1;
}

static int probe_mmap_exec(void)
{
	syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 2;
}

static int probe_mprotect_exec(void)
{
	static char page[4096] __attribute__((aligned(4096)));

	syscall(SYS_mprotect, page, sizeof(page), PROT_READ | PROT_EXEC);
	return 2;
}

static int probe_madvise_dontneed(void)
{
	static char page[4096] __attribute__((aligned(4096)));

	return syscall(SYS_madvise, page, sizeof(page), MADV_DONTNEED) == 0 ? 0 : 1;
}

static int probe_madvise_dontfork(void)
{
	static char page[4096] __attribute__((aligned(4096)));

	syscall(SYS_madvise, page, sizeof(page), MADV_DONTFORK);
	return 2;
}

static int probe_futex_wake(void)
{
	static uint32_t word;

	return syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0 ? 0 : 1;
}

static int probe_futex_lock_pi(void)
{
	static uint32_t word;

	syscall(SYS_futex, &word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	return 2;
}

static int probe_execve(void)
{
	static char *const argv[] = {"/bin/true", NULL};

	syscall(SYS_execve, "/bin/true", argv, NULL);
	return 2;
}

/* pthread_kill of a vCPU: SIGRTMIN only (blocked here, so it stays pending). */
static int probe_tgkill_sigrtmin(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, _NSIG / 8))
		return 1;
	return syscall(SYS_tgkill, child_pid, child_tid, SIGRTMIN) == 0 ? 0 : 1;
}

static int probe_tgkill_sigusr1(void)
{
	syscall(SYS_tgkill, child_pid, child_tid, SIGUSR1);
	return 2;
}

static int probe_getppid_eperm(void)
{
	return syscall(SYS_getppid) == -1 && errno == EPERM ? 0 : 1;
}

static int probe_getppid(void)
{
	syscall(SYS_getppid);
	return 2;
}

/* A SIGSYS from kill(2) is not a seccomp verdict: the handler lets it pass. */
static int probe_kill_sigsys_then_getppid(void)
{
	if (syscall(SYS_kill, child_pid, SIGSYS) != 0)
		return 1;
	syscall(SYS_getppid);
	return 2;
}

/*
 * What the virtio backends do on the VMM thread: virtio-blk Sync I/O and
 * flush, PATCH /drives reopening its file, the Async engine's io_uring, and
 * virtio-rng's getrandom. The file and the ring exist before the filter.
 */
static struct {
	char path[64];
	int fd;
	struct io_uring ring;
	bool have_ring;
} backing = {.fd = -1};

static int probe_device_backends(void)
{
	char buf[512] = "ember", rnd[16];
	struct iovec iov = {buf, sizeof(buf)};
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	long fd;

	if (syscall(SYS_pwritev, backing.fd, &iov, 1, 0, 0) != 512 ||
	    syscall(SYS_preadv, backing.fd, &iov, 1, 0, 0) != 512 ||
	    syscall(SYS_fdatasync, backing.fd) != 0)
		return 1;
	fd = syscall(SYS_openat, AT_FDCWD, backing.path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_lseek, fd, 0, SEEK_END) != 512 || syscall(SYS_close, fd))
		return 2;
	if (syscall(SYS_getrandom, rnd, sizeof(rnd), 0) != sizeof(rnd))
		return 3;
	if (!backing.have_ring)
		return 0;
	sqe = io_uring_get_sqe(&backing.ring);
	io_uring_prep_readv(sqe, backing.fd, &iov, 1, 0);
	if (io_uring_submit(&backing.ring) != 1 || io_uring_wait_cqe(&backing.ring, &cqe) ||
	    cqe->res != 512)
		return 4;
	io_uring_cqe_seen(&backing.ring, cqe);
	return 0;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_default_filters_are_bpf(void **state)
{
	(void)state;
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++) {
		const struct seccomp_program *p = &defaults.prog[t];
		bool traps = false;

		assert_non_null(p->insns);
		assert_in_range(p->len, 8, BPF_MAXINSNS);
		/* libseccomp's program starts by checking the architecture... */
		assert_int_equal(p->insns[0].code, BPF_LD | BPF_W | BPF_ABS);
		assert_int_equal(p->insns[0].k, offsetof(struct seccomp_data, arch));
		assert_int_equal(BPF_CLASS(p->insns[1].code), BPF_JMP);
		assert_int_equal(p->insns[1].k, AUDIT_ARCH_X86_64);
		/* ...and the default action traps; a foreign ABI kills the process. */
		for (unsigned int i = 0; i < p->len; i++)
			traps |= p->insns[i].code == (BPF_RET | BPF_K) &&
				 p->insns[i].k == SECCOMP_RET_TRAP;
		assert_true(traps);
	}
	assert_string_equal(seccomp_thread_name(SECCOMP_VMM), "vmm");
	assert_string_equal(seccomp_thread_name(SECCOMP_API), "api");
	assert_string_equal(seccomp_thread_name(SECCOMP_VCPU), "vcpu");
}

/*
 * The built-in filters were compiled when ember was built (gen_filters.c):
 * they must be, byte for byte, what libseccomp makes of the same policies
 * now, so the policies, the generator and the arrays cannot drift apart.
 */
static void test_builtin_filters_match_libseccomp(void **state)
{
	(void)state;
	/* The tgkill rule's kick signal is this process's SIGRTMIN. */
	assert_int_equal(seccomp_builtin_sigrtmin, SIGRTMIN);
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++) {
		const struct seccomp_program *builtin = &seccomp_builtin_filters.prog[t];
		struct seccomp_program now;
		struct seccomp_policy pol;
		char err[256];

		/* seccomp_filters_load(NULL) hands out the arrays themselves. */
		assert_ptr_equal(defaults.prog[t].insns, builtin->insns);
		assert_int_equal(defaults.prog[t].len, builtin->len);
		assert_false(defaults.prog[t].allocated);

		assert_int_equal(seccomp_default_policy(t, &pol), 0);
		if (seccomp_compile(&pol, &now, err, sizeof(err)))
			fail_msg("%s: %s", seccomp_thread_name(t), err);
		seccomp_policy_free(&pol);
		if (now.len != builtin->len)
			fail_msg("%s filter: built in %u instructions, libseccomp now %u: "
				 "rebuild (make)",
				 seccomp_thread_name(t), builtin->len, now.len);
		assert_memory_equal(builtin->insns, now.insns, now.len * sizeof(*now.insns));
		seccomp_program_free(&now);
	}
}

static void test_install_without_filters(void **state)
{
	struct seccomp_filters none = {0};
	struct child_result res;

	(void)state;
	assert_int_equal(seccomp_install(&defaults, SECCOMP_NR_THREADS), -EINVAL);
	/* --no-seccomp: nothing installed, everything allowed. */
	run_filtered(NULL, SECCOMP_VCPU, "nofilter", probe_socket_unix, &res);
	expect_allowed(&res);
	run_filtered(&none, SECCOMP_API, "nofilter", probe_socket_inet, &res);
	expect_exit(&res, 2);
}

static void test_vcpu_filter(void **state)
{
	struct child_result res;

	(void)state;
	run_filtered(&defaults, SECCOMP_VCPU, "fc_vcpu 0", probe_write, &res);
	expect_allowed(&res);
	run_filtered(&defaults, SECCOMP_VCPU, "fc_vcpu 0", probe_ioctl_kvm_run, &res);
	expect_allowed(&res);
	run_filtered(&defaults, SECCOMP_VCPU, "fc_vcpu 0", probe_ioctl_kvm_run_high_bits, &res);
	expect_allowed(&res);
	run_filtered(&defaults, SECCOMP_VCPU, "fc_vcpu 0", probe_poll_one, &res);
	expect_allowed(&res);
	run_filtered(&defaults, SECCOMP_VCPU, "fc_vcpu 0", probe_poll_two, &res);
	expect_trapped(&res, "fc_vcpu 0", SYS_poll, "vcpu");
	run_filtered(&defaults, SECCOMP_VCPU, "fc_vcpu 0", probe_ioctl_tiocsti, &res);
	expect_trapped(&res, "fc_vcpu 0", SYS_ioctl, "vcpu");
	run_filtered(&defaults, SECCOMP_VCPU, "fc_vcpu 0", probe_ioctl_kvm_create_vm, &res);
	expect_trapped(&res, "fc_vcpu 0", SYS_ioctl, "vcpu");
	run_filtered(&defaults, SECCOMP_VCPU, "fc_vcpu 1", probe_socket_unix, &res);
	expect_trapped(&res, "fc_vcpu 1", SYS_socket, "vcpu");
	run_filtered(&defaults, SECCOMP_VCPU, "fc_vcpu 0", probe_execve, &res);
	expect_trapped(&res, "fc_vcpu 0", SYS_execve, "vcpu");
}

static void test_api_filter(void **state)
{
	struct child_result res;

	(void)state;
	run_filtered(&defaults, SECCOMP_API, "fc_api", probe_accept4, &res);
	expect_allowed(&res);
	run_filtered(&defaults, SECCOMP_API, "fc_api", probe_accept4_blocking, &res);
	expect_trapped(&res, "fc_api", SYS_accept4, "api");
	/* The API socket exists before the filter: no socket of any family after it. */
	run_filtered(&defaults, SECCOMP_API, "fc_api", probe_socket_unix, &res);
	expect_trapped(&res, "fc_api", SYS_socket, "api");
	run_filtered(&defaults, SECCOMP_API, "fc_api", probe_socket_inet, &res);
	expect_trapped(&res, "fc_api", SYS_socket, "api");
	run_filtered(&defaults, SECCOMP_API, "fc_api", probe_ioctl_kvm_run, &res);
	expect_trapped(&res, "fc_api", SYS_ioctl, "api");
	run_filtered(&defaults, SECCOMP_API, "fc_api", probe_execve, &res);
	expect_trapped(&res, "fc_api", SYS_execve, "api");
}

static void test_vmm_filter(void **state)
{
	struct child_result res;

	(void)state;
	run_filtered(&defaults, SECCOMP_VMM, "ember", probe_tgkill_sigrtmin, &res);
	expect_allowed(&res);
	run_filtered(&defaults, SECCOMP_VMM, "ember", probe_tgkill_sigusr1, &res);
	expect_trapped(&res, "ember", SYS_tgkill, "vmm");
	run_filtered(&defaults, SECCOMP_VMM, "ember", probe_execve, &res);
	expect_trapped(&res, "ember", SYS_execve, "vmm");
	run_filtered(&defaults, SECCOMP_VMM, "ember", probe_socket_inet, &res);
	expect_trapped(&res, "ember", SYS_socket, "vmm");
	/* KVM_RUN belongs to the vCPU threads only. */
	run_filtered(&defaults, SECCOMP_VMM, "ember", probe_ioctl_kvm_run, &res);
	expect_trapped(&res, "ember", SYS_ioctl, "vmm");
}

static void test_vmm_filter_covers_device_backends(void **state)
{
	struct child_result res;

	(void)state;
	snprintf(backing.path, sizeof(backing.path), "/tmp/ember-seccomp-blk-XXXXXX");
	backing.fd = mkstemp(backing.path);
	assert_true(backing.fd >= 0);
	assert_int_equal(ftruncate(backing.fd, 512), 0);
	/* Hosts without a usable io_uring still check the Sync engine and virtio-rng. */
	backing.have_ring = io_uring_queue_init(4, &backing.ring, 0) == 0;
	run_filtered(&defaults, SECCOMP_VMM, "ember", probe_device_backends, &res);
	if (backing.have_ring)
		io_uring_queue_exit(&backing.ring);
	close(backing.fd);
	unlink(backing.path);
	expect_allowed(&res);
}

/* Memory and futex argument rules are shared by every category: check each. */
static void test_memory_and_futex_rules(void **state)
{
	struct child_result res;

	(void)state;
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++) {
		const char *cat = seccomp_thread_name(t);

		run_filtered(&defaults, t, "mem", probe_mmap_rw, &res);
		expect_allowed(&res);
		run_filtered(&defaults, t, "mem", probe_madvise_dontneed, &res);
		expect_allowed(&res);
		run_filtered(&defaults, t, "mem", probe_futex_wake, &res);
		expect_allowed(&res);
		run_filtered(&defaults, t, "mem", probe_mmap_exec, &res);
		expect_trapped(&res, "mem", SYS_mmap, cat);
		run_filtered(&defaults, t, "mem", probe_mprotect_exec, &res);
		expect_trapped(&res, "mem", SYS_mprotect, cat);
		run_filtered(&defaults, t, "mem", probe_madvise_dontfork, &res);
		expect_trapped(&res, "mem", SYS_madvise, cat);
		run_filtered(&defaults, t, "mem", probe_futex_lock_pi, &res);
		expect_trapped(&res, "mem", SYS_futex, cat);
	}
}

/* ---- memory: only fresh anonymous read/write memory after the filter ---------------- */

/* <asm-generic/mman-common.h> values <sys/mman.h> may lack. */
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

static unsigned long probe_prot, probe_flags;

/* mmap(probe_prot, probe_flags) of one page; with MAP_FIXED over a page mapped just before. */
static int probe_mmap_args(void)
{
	long base = 0, p;

	if (probe_flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		base = syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (base == -1)
			return 1;
	}
	p = syscall(SYS_mmap, base, 4096, probe_prot, probe_flags, -1, 0);
	return p != -1 ? 0 : 3;
}

/* mremap(probe_flags): a page grown to two (MREMAP_FIXED: onto pages mapped just before),
 * or without MREMAP_MAYMOVE two pages shrunk to one. */
static int probe_mremap_args(void)
{
	long a = syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	long b = syscall(SYS_mmap, NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);

	if (a == -1 || b == -1)
		return 1;
	if (!(probe_flags & MREMAP_MAYMOVE)) /* in place: shrink */
		return syscall(SYS_mremap, b, 8192, 4096, probe_flags) != -1 ? 0 : 3;
	return syscall(SYS_mremap, a, 4096, 8192, probe_flags, b) != -1 ? 0 : 3;
}

static int probe_mprotect_args(void)
{
	long p = syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);

	if (p == -1)
		return 1;
	return syscall(SYS_mprotect, p, 4096, probe_prot) == 0 ? 0 : 3;
}

/* A thread whose filter allows the next expect_memory_call() that others trap (-1: none). */
static int memory_call_allowed_on = -1;

static void expect_memory_call(int (*probe)(void), unsigned long prot, unsigned long flags,
			       bool allowed_all, long nr, const char *what)
{
	struct child_result res;

	probe_prot = prot;
	probe_flags = flags;
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++) {
		bool allowed = allowed_all || (int)t == memory_call_allowed_on;

		run_filtered(&defaults, t, "mem", probe, &res);
		if (allowed && (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0))
			fail_msg(
			    "%s filter: %s (prot %#lx, flags %#lx) not allowed: status %#x, %s",
			    seccomp_thread_name(t), what, prot, flags, res.status, res.err);
		if (!allowed &&
		    (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != SECCOMP_EXIT_BAD_SYSCALL))
			fail_msg("%s filter: %s (prot %#lx, flags %#lx) not trapped: status %#x",
				 seccomp_thread_name(t), what, prot, flags, res.status);
		if (!allowed)
			expect_trapped(&res, "mem", nr, seccomp_thread_name(t));
	}
}

#define MMAP_OK(prot, flags) expect_memory_call(probe_mmap_args, prot, flags, true, 0, "mmap")
#define MMAP_TRAP(prot, flags)                                                                     \
	expect_memory_call(probe_mmap_args, prot, flags, false, SYS_mmap, "mmap")
#define MREMAP_OK(flags) expect_memory_call(probe_mremap_args, 0, flags, true, 0, "mremap")
#define MREMAP_TRAP(flags)                                                                         \
	expect_memory_call(probe_mremap_args, 0, flags, false, SYS_mremap, "mremap")
#define MPROTECT_OK(prot) expect_memory_call(probe_mprotect_args, prot, 0, true, 0, "mprotect")
#define MPROTECT_TRAP(prot)                                                                        \
	expect_memory_call(probe_mprotect_args, prot, 0, false, SYS_mprotect, "mprotect")
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW   (PROT_READ | PROT_WRITE)

/*
 * Once filtered, every thread may only make fresh anonymous private memory,
 * readable and writable at most: what malloc and thread stacks need. No file
 * or shared mapping, no MAP_FIXED over existing memory (but with PROT_NONE,
 * glibc's heap shrinking), no locked, huge, populated or grows-down mapping.
 */
static void test_memory_flags_are_narrowed(void **state)
{
	(void)state;
	MMAP_OK(RW, ANON);
	MMAP_OK(PROT_READ, ANON);
	MMAP_OK(PROT_NONE, ANON | MAP_NORESERVE);
	MMAP_OK(PROT_NONE, ANON | MAP_STACK);
	MMAP_OK(PROT_NONE, ANON | MAP_FIXED);
	MMAP_OK(PROT_NONE, ANON | MAP_FIXED | MAP_NORESERVE);
	MMAP_TRAP(RW, MAP_SHARED | MAP_ANONYMOUS);
	MMAP_TRAP(RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS);
	MMAP_TRAP(PROT_READ, MAP_PRIVATE); /* a file */
	MMAP_TRAP(PROT_READ, MAP_SHARED);
	MMAP_TRAP(RW, ANON | MAP_POPULATE);
	MMAP_TRAP(RW, ANON | MAP_LOCKED);
	MMAP_TRAP(RW, ANON | MAP_HUGETLB);
	MMAP_TRAP(RW, ANON | MAP_GROWSDOWN);
	MMAP_TRAP(RW, ANON | MAP_32BIT);
	MMAP_TRAP(PROT_NONE, ANON | MAP_FIXED_NOREPLACE);
	MMAP_TRAP(PROT_READ | PROT_EXEC, ANON);
	MMAP_TRAP(RW | PROT_SEM, ANON);
#ifndef __SANITIZE_ADDRESS__
	/*
	 * The ASan runtime's allocator maps this way: allowed in sanitizer builds
	 * only; and on the VMM thread, read/write exactly, where virtio-balloon
	 * maps fresh memory over released pages of restored RAM.
	 */
	memory_call_allowed_on = SECCOMP_VMM;
	MMAP_TRAP(RW, ANON | MAP_FIXED);
	memory_call_allowed_on = -1;
	MMAP_TRAP(PROT_READ, ANON | MAP_FIXED);
#endif
	MREMAP_OK(0);
	MREMAP_OK(MREMAP_MAYMOVE);
	MREMAP_TRAP(MREMAP_MAYMOVE | MREMAP_FIXED);
	MREMAP_TRAP(MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
	MPROTECT_OK(RW);
	MPROTECT_OK(PROT_NONE);
	MPROTECT_TRAP(PROT_READ | PROT_SEM);
	MPROTECT_TRAP(PROT_READ | PROT_GROWSDOWN);
}

/* ---- rename and unlink: the VMM thread's, and only without flags -------------------- */

static int probe_rename(void)
{
	return syscall(SYS_rename, "/nonexistent/ember-a", "/nonexistent/ember-b") == -1 &&
		       errno == ENOENT
		   ? 0
		   : 1;
}

static int probe_unlink(void)
{
	return syscall(SYS_unlink, "/nonexistent/ember-a") == -1 && errno == ENOENT ? 0 : 1;
}

static int probe_renameat2_exchange(void)
{
	syscall(SYS_renameat2, AT_FDCWD, "/nonexistent/ember-a", AT_FDCWD, "/nonexistent/ember-b",
		RENAME_EXCHANGE);
	return 2;
}

static int probe_unlinkat_removedir(void)
{
	syscall(SYS_unlinkat, AT_FDCWD, "/nonexistent/ember-a", AT_REMOVEDIR);
	return 2;
}

static int probe_rmdir(void)
{
	syscall(SYS_rmdir, "/nonexistent/ember-a");
	return 2;
}

static void test_rename_and_unlink(void **state)
{
	struct child_result res;

	(void)state;
	/* A snapshot's files put into place, the socket files removed at exit. */
	run_filtered(&defaults, SECCOMP_VMM, "ember", probe_rename, &res);
	expect_allowed(&res);
	run_filtered(&defaults, SECCOMP_VMM, "ember", probe_unlink, &res);
	expect_allowed(&res);
	/* Nothing else of the kind, in any thread. */
	run_filtered(&defaults, SECCOMP_VMM, "ember", probe_renameat2_exchange, &res);
	expect_trapped(&res, "ember", SYS_renameat2, "vmm");
	run_filtered(&defaults, SECCOMP_VMM, "ember", probe_unlinkat_removedir, &res);
	expect_trapped(&res, "ember", SYS_unlinkat, "vmm");
	run_filtered(&defaults, SECCOMP_VMM, "ember", probe_rmdir, &res);
	expect_trapped(&res, "ember", SYS_rmdir, "vmm");
	run_filtered(&defaults, SECCOMP_API, "fc_api", probe_rename, &res);
	expect_trapped(&res, "fc_api", SYS_rename, "api");
	run_filtered(&defaults, SECCOMP_API, "fc_api", probe_unlink, &res);
	expect_trapped(&res, "fc_api", SYS_unlink, "api");
	run_filtered(&defaults, SECCOMP_VCPU, "fc_vcpu 0", probe_rename, &res);
	expect_trapped(&res, "fc_vcpu 0", SYS_rename, "vcpu");
	run_filtered(&defaults, SECCOMP_VCPU, "fc_vcpu 0", probe_unlink, &res);
	expect_trapped(&res, "fc_vcpu 0", SYS_unlink, "vcpu");
}

/* Filters from JSON (every category the same) compiled and installed for real. */
static void build_from_json(const char *vcpu_filter, struct seccomp_filters *out)
{
	struct seccomp_policy p[SECCOMP_NR_THREADS];
	char doc[1024], err[256];

	snprintf(doc, sizeof(doc), "{\"vmm\": %s, \"api\": %s, \"vcpu\": %s}", vcpu_filter,
		 vcpu_filter, vcpu_filter);
	if (seccomp_json_parse(doc, strlen(doc), p, err, sizeof(err)))
		fail_msg("%s", err);
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++) {
		if (seccomp_compile(&p[t], &out->prog[t], err, sizeof(err)))
			fail_msg("%s", err);
		seccomp_policy_free(&p[t]);
	}
}

static void test_json_actions_enforced(void **state)
{
	struct seccomp_filters f = {0};
	struct child_result res;

	(void)state;
	build_from_json("{\"default_action\": \"allow\", \"filter_action\": {\"errno\": 1}, "
			"\"filter\": [{\"syscall\": \"getppid\"}]}",
			&f);
	run_filtered(&f, SECCOMP_VCPU, "json", probe_getppid_eperm, &res);
	expect_allowed(&res);
	seccomp_filters_free(&f);

	build_from_json("{\"default_action\": \"allow\", \"filter_action\": \"kill_process\", "
			"\"filter\": [{\"syscall\": \"getppid\"}]}",
			&f);
	run_filtered(&f, SECCOMP_API, "json", probe_getppid, &res);
	assert_true(WIFSIGNALED(res.status));
	assert_int_equal(WTERMSIG(res.status), SIGSYS);
	seccomp_filters_free(&f);

	/* Argument conditions from JSON: socket(AF_UNIX) only (sigaltstack: ASan's _exit). */
	build_from_json("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
			"\"filter\": [{\"syscall\": \"socket\", \"args\": [{\"index\": 0, "
			"\"type\": \"dword\", \"op\": \"eq\", \"val\": 1}]}, "
			"{\"syscall\": \"write\"}, {\"syscall\": \"exit_group\"}, "
			"{\"syscall\": \"sigaltstack\"}]}",
			&f);
	run_filtered(&f, SECCOMP_VMM, "json", probe_socket_unix, &res);
	expect_allowed(&res);
	run_filtered(&f, SECCOMP_VMM, "json", probe_socket_inet, &res);
	expect_trapped(&res, "json", SYS_socket, "vmm");
	seccomp_filters_free(&f);
}

/* getppid() with a first argument: the kernel ignores it, a filter sees it. */
static uint64_t probe_arg;

static int probe_getppid_arg(void)
{
	return syscall(SYS_getppid, probe_arg) > 0 ? 0 : 1;
}

static bool dword_holds(const char *op, uint32_t x, uint64_t v)
{
	if (!strcmp(op, "eq"))
		return x == v;
	if (!strcmp(op, "ne"))
		return x != v;
	if (!strcmp(op, "lt"))
		return x < v;
	if (!strcmp(op, "le"))
		return x <= v;
	if (!strcmp(op, "gt"))
		return x > v;
	return x >= v; /* ge */
}

/*
 * A "dword" condition compares the argument's low 32 bits only, with every
 * operator, as Firecracker's seccompiler does: a value whose upper half is
 * set must neither pass a rule its low word fails ("gt 10" with
 * 0x1_00000005) nor fail one its low word passes ("lt 10" with
 * 0xffffffff_00000005). Each operator at ordinary and edge values.
 */
static void test_json_dword_compares_the_low_word(void **state)
{
	static const struct {
		const char *op;
		uint64_t val;
	} conds[] = {
	    {"eq", 10},		{"ne", 10},	    {"lt", 10},		{"le", 10},
	    {"gt", 10},		{"ge", 10},	    {"lt", 0},		{"ge", 0},
	    {"le", 0xffffffff}, {"gt", 0xffffffff}, {"gt", 0},		{"lt", 0xffffffff},
	    {"ne", 0},		{"ne", 0xffffffff}, {"le", 0x80000000}, {"ge", 0x80000001},
	};
	static const uint32_t lows[] = {0,	    9,		10,	    11,	       0x7fffffff,
					0x80000000, 0x80000001, 0xfffffffe, 0xffffffff};
	static const uint32_t highs[] = {0, 1, 0x80000000, 0xffffffff};
	struct child_result res;
	char filter[512];

	(void)state;
	for (size_t c = 0; c < sizeof(conds) / sizeof(conds[0]); c++) {
		struct seccomp_filters f = {0};

		snprintf(filter, sizeof(filter),
			 "{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
			 "\"filter\": [{\"syscall\": \"getppid\", \"args\": [{\"index\": 0, "
			 "\"type\": \"dword\", \"op\": \"%s\", \"val\": %llu}]}, "
			 "{\"syscall\": \"write\"}, {\"syscall\": \"exit_group\"}, "
			 "{\"syscall\": \"sigaltstack\"}]}",
			 conds[c].op, (unsigned long long)conds[c].val);
		build_from_json(filter, &f);
		for (size_t l = 0; l < sizeof(lows) / sizeof(lows[0]); l++) {
			for (size_t h = 0; h < sizeof(highs) / sizeof(highs[0]); h++) {
				bool want = dword_holds(conds[c].op, lows[l], conds[c].val);
				bool allowed;

				probe_arg = (uint64_t)highs[h] << 32 | lows[l];
				run_filtered(&f, SECCOMP_VCPU, "dword", probe_getppid_arg, &res);
				allowed = WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0;
				if (allowed != want)
					fail_msg("dword %s %llu, argument %#llx: %s, expected %s "
						 "(status %#x, stderr: %s)",
						 conds[c].op, (unsigned long long)conds[c].val,
						 (unsigned long long)probe_arg,
						 allowed ? "allowed" : "not allowed",
						 want ? "allowed" : "trapped", res.status, res.err);
				if (!want)
					expect_trapped(&res, "dword", SYS_getppid, "vcpu");
			}
		}
		seccomp_filters_free(&f);
	}
}

static void test_sigsys_from_kill_is_ignored(void **state)
{
	struct seccomp_filters f = {0};
	struct child_result res;

	(void)state;
	build_from_json("{\"default_action\": \"allow\", \"filter_action\": \"trap\", "
			"\"filter\": [{\"syscall\": \"getppid\"}]}",
			&f);
	run_filtered(&f, SECCOMP_VCPU, "killed", probe_kill_sigsys_then_getppid, &res);
	expect_trapped(&res, "killed", SYS_getppid, "vcpu");
	seccomp_filters_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_filters_are_bpf),
	    cmocka_unit_test(test_builtin_filters_match_libseccomp),
	    cmocka_unit_test(test_install_without_filters),
	    cmocka_unit_test(test_vcpu_filter),
	    cmocka_unit_test(test_api_filter),
	    cmocka_unit_test(test_vmm_filter),
	    cmocka_unit_test(test_vmm_filter_covers_device_backends),
	    cmocka_unit_test(test_memory_and_futex_rules),
	    cmocka_unit_test(test_memory_flags_are_narrowed),
	    cmocka_unit_test(test_rename_and_unlink),
	    cmocka_unit_test(test_json_actions_enforced),
	    cmocka_unit_test(test_json_dword_compares_the_low_word),
	    cmocka_unit_test(test_sigsys_from_kill_is_ignored),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
