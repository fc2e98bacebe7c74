// SPDX-License-Identifier: Apache-2.0
/*
 * Seccomp filters: policy -> BPF with libseccomp, per-thread install and the
 * SIGSYS handler. The BPF is generated once at start, so installing is two
 * syscalls and needs no allocation (libseccomp's seccomp_load() would
 * regenerate the program in every vCPU thread).
 */
#include "vmm/seccomp/seccomp_filters.h"
#include "vmm/seccomp/json.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

#include <errno.h>
#include <jansson.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* si_code of a SIGSYS raised by a seccomp filter (asm-generic/siginfo.h). */
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

void seccomp_program_free(struct seccomp_program *p)
{
	free(p->insns);
	p->insns = NULL;
	p->len = 0;
}

/* ---- policy -> BPF ----------------------------------------------------------- */

static int compile_error(char *err, size_t errlen, int ret, const char *what, int syscall_nr)
{
	char *name =
	    syscall_nr >= 0 ? seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, syscall_nr) : NULL;

	if (name)
		snprintf(err, errlen, "%s (%s): %s", what, name, strerror(-ret));
	else
		snprintf(err, errlen, "%s: %s", what, strerror(-ret));
	free(name);
	return ret;
}

/* libseccomp writes BPF only to a file descriptor: read it back from a memfd. */
static int export_program(scmp_filter_ctx ctx, struct seccomp_program *out, char *err,
			  size_t errlen)
{
	int fd = memfd_create("ember-seccomp-bpf", MFD_CLOEXEC);
	off_t size;
	int ret;

	if (fd < 0)
		return compile_error(err, errlen, -errno, "memfd_create", -1);
	ret = seccomp_export_bpf(ctx, fd);
	if (ret) {
		compile_error(err, errlen, ret, "libseccomp cannot generate the BPF", -1);
		goto out;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % sizeof(struct sock_filter)) {
		ret = compile_error(err, errlen, -EINVAL, "libseccomp generated no BPF", -1);
		goto out;
	}
	if (size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		snprintf(err, errlen, "the filter needs %lld BPF instructions, the kernel takes %d",
			 (long long)(size / sizeof(struct sock_filter)), BPF_MAXINSNS);
		ret = -E2BIG;
		goto out;
	}
	out->insns = malloc(size);
	if (!out->insns) {
		ret = compile_error(err, errlen, -ENOMEM, "BPF", -1);
		goto out;
	}
	if (pread(fd, out->insns, size, 0) != size) {
		ret = compile_error(err, errlen, -EIO, "reading the BPF back", -1);
		seccomp_program_free(out);
		goto out;
	}
	out->len = (unsigned short)(size / sizeof(struct sock_filter));
out:
	close(fd);
	return ret;
}

int seccomp_compile(const struct seccomp_policy *p, struct seccomp_program *out, char *err,
		    size_t errlen)
{
	scmp_filter_ctx ctx;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	/* libseccomp's answer would be a bare EACCES. */
	if (p->nr_rules && p->filter_action == p->default_action) {
		snprintf(err, errlen,
			 "filter_action and default_action are the same action, "
			 "the rules would change nothing");
		return -EINVAL;
	}
	ctx = seccomp_init(p->default_action);
	if (!ctx) {
		snprintf(err, errlen, "libseccomp rejects the default action %#x",
			 p->default_action);
		return -EINVAL;
	}
	/* Another ABI (int 0x80, x32) from this 64-bit process is never legitimate. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (ret) {
		compile_error(err, errlen, ret, "setting the bad-architecture action", -1);
		goto out;
	}
	/* A binary search over syscall numbers rather than a linear scan (best effort). */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; i < p->nr_rules; i++) {
		const struct seccomp_rule *r = &p->rules[i];

		ret = seccomp_rule_add_exact_array(ctx, p->filter_action, r->syscall,
						   seccomp_rule_nr_args(r), r->args);
		if (ret) {
			compile_error(err, errlen, ret, "libseccomp rejects a rule", r->syscall);
			goto out;
		}
	}
	ret = export_program(ctx, out, err, errlen);
out:
	seccomp_release(ctx);
	return ret;
}

/* ---- loading ----------------------------------------------------------------- */

void seccomp_filters_free(struct seccomp_filters *f)
{
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++)
		seccomp_program_free(&f->prog[t]);
}

int seccomp_filters_load(struct seccomp_filters *f, const char *json_path, char *err, size_t errlen)
{
	struct seccomp_policy pol[SECCOMP_NR_THREADS];
	char why[256];
	int ret = 0;

	memset(f, 0, sizeof(*f));
	memset(pol, 0, sizeof(pol));
	/*
	 * jansson seeds its hash function from /dev/urandom when the first JSON
	 * object is made, which would be on the filtered API thread: seed it now.
	 */
	json_object_seed(0);
	if (json_path) {
		ret = seccomp_json_load(json_path, pol, err, errlen);
	} else {
		for (unsigned int t = 0; t < SECCOMP_NR_THREADS && !ret; t++)
			ret = seccomp_default_policy(t, &pol[t]);
		if (ret)
			snprintf(err, errlen, "cannot build the default seccomp filters: %s",
				 strerror(-ret));
	}
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS && !ret; t++) {
		ret = seccomp_compile(&pol[t], &f->prog[t], why, sizeof(why));
		if (ret)
			snprintf(err, errlen, "%s%s%s filter: %s", json_path ? json_path : "",
				 json_path ? ": " : "", seccomp_thread_name(t), why);
	}
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++)
		seccomp_policy_free(&pol[t]);
	if (ret)
		seccomp_filters_free(f);
	return ret;
}

/* ---- SIGSYS ------------------------------------------------------------------ */

/* Who this thread is, for the SIGSYS line; set before its filter goes in. */
static _Thread_local struct {
	char name[16];
	const char *category;
} tls_filtered;

struct line {
	char buf[192];
	size_t len;
};

static void line_add(struct line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

static void line_add_int(struct line *l, long v)
{
	char digits[24];
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
	int n = sizeof(digits) - 1;

	digits[n] = '\0';
	do {
		digits[--n] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		digits[--n] = '-';
	line_add(l, digits + n);
}

/*
 * Async-signal-safe: formats by hand, then write(2) and _exit(2) only. The
 * metrics are not flushed here: that takes the metrics lock, which the
 * faulting thread may hold.
 */
static void sigsys_handler(int sig, siginfo_t *info, void *ucontext)
{
	struct line l = {.len = 0};

	(void)sig;
	(void)ucontext;
	/* A SIGSYS sent with kill(2) is not a seccomp verdict: ignore it. */
	if (info->si_code != SYS_SECCOMP)
		return;
	metric_inc(&g_metrics.seccomp.num_faults);
	line_add(&l, "[seccomp:");
	line_add(&l, tls_filtered.name[0] ? tls_filtered.name : "?");
	line_add(&l, "] Shutting down VM after intercepting a bad syscall (");
	line_add_int(&l, info->si_syscall);
	line_add(&l, ") in a thread under the ");
	line_add(&l, tls_filtered.category ? tls_filtered.category : "?");
	line_add(&l, " filter\n");
	log_write_raw(l.buf, l.len);
	_exit(SECCOMP_EXIT_BAD_SYSCALL);
}

static int sigsys_handler_install(void)
{
	struct sigaction sa = {.sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO};
	sigset_t set;

	/* Nothing else runs on this thread until the handler has ended the process. */
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	return -pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int seccomp_install(const struct seccomp_filters *f, enum seccomp_thread t)
{
	struct sock_fprog prog;
	int ret;

	if ((unsigned int)t >= SECCOMP_NR_THREADS)
		return -EINVAL;
	if (!f || !f->prog[t].len)
		return 0;
	/* Re-installing the same handler is harmless: no once-only state to reset. */
	ret = sigsys_handler_install();
	if (ret)
		return ret;
	if (prctl(PR_GET_NAME, tls_filtered.name, 0, 0, 0) < 0)
		tls_filtered.name[0] = '\0';
	tls_filtered.category = seccomp_thread_name(t);
	/* Needed without CAP_SYS_ADMIN (e.g. after ember-jailer dropped privileges). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	prog.len = f->prog[t].len;
	prog.filter = f->prog[t].insns;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}
