// SPDX-License-Identifier: Apache-2.0
/*
 * Seccomp filters: which ones (built in, or a JSON file's), per-thread install
 * and the SIGSYS handler. The built-in filters' BPF was generated when ember
 * was built (gen_filters.c); a JSON file's is generated once at start
 * (seccomp_compile.c). Either way installing is two syscalls and needs no
 * allocation (libseccomp's seccomp_load() would regenerate the program in
 * every vCPU thread).
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
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

/* si_code of a SIGSYS raised by a seccomp filter (asm-generic/siginfo.h). */
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

/* ---- loading ----------------------------------------------------------------- */

void seccomp_filters_free(struct seccomp_filters *f)
{
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++)
		seccomp_program_free(&f->prog[t]);
}

/*
 * The built-in filters, as generated at build time. The VMM filter lets
 * tgkill send the vCPU kick signal, SIGRTMIN, and nothing else; glibc
 * computes SIGRTMIN at run time (the real-time signals it keeps for itself),
 * so a process whose SIGRTMIN is not the one the filter holds would trap on
 * its first kick or allow another signal: refuse to start instead.
 */
static int builtin_filters(struct seccomp_filters *f, char *err, size_t errlen)
{
	if (SIGRTMIN != seccomp_builtin_sigrtmin) {
		snprintf(err, errlen,
			 "the built-in filters were generated for SIGRTMIN %d, but it is %d "
			 "here (another C library than the one ember was built with?): rebuild "
			 "ember, or pass --seccomp-filter",
			 seccomp_builtin_sigrtmin, SIGRTMIN);
		return -EINVAL;
	}
	*f = seccomp_builtin_filters;
	return 0;
}

int seccomp_filters_load(struct seccomp_filters *f, const char *json_path, char *err, size_t errlen)
{
	struct seccomp_policy pol[SECCOMP_NR_THREADS];
	uint32_t seed;
	char why[256];
	int ret;

	memset(f, 0, sizeof(*f));
	/*
	 * jansson seeds its hash function from /dev/urandom when the first JSON
	 * object is made, which would be on the filtered API thread: seed it now,
	 * from getrandom(2), one syscall rather than jansson's open, read and
	 * close, and no /dev/urandom needed in the jail (without it jansson
	 * falls back to the time and pid). Seed 0: jansson finds its own.
	 */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = 0;
	json_object_seed(seed);
	if (!json_path)
		return builtin_filters(f, err, errlen);
	memset(pol, 0, sizeof(pol));
	ret = seccomp_json_load(json_path, pol, err, errlen);
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS && !ret; t++) {
		ret = seccomp_compile(&pol[t], &f->prog[t], why, sizeof(why));
		if (ret)
			snprintf(err, errlen, "%s: %s filter: %s", json_path,
				 seccomp_thread_name(t), why);
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
	/* The kernel copies the program; struct sock_fprog just has no const. */
	prog.filter = (struct sock_filter *)f->prog[t].insns;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}
