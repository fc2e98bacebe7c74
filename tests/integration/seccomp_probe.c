// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp_probe: installs ember's real seccomp filters the way ember does
 * (the VMM filter on the main thread, the API and vCPU filters each in a
 * thread of their own) and then makes one syscall that category must refuse,
 * or one it must allow. Used by tests/integration/test_seccomp.sh:
 *
 *   seccomp_probe [--seccomp-filter FILE] vmm|api|vcpu forbidden|allowed
 *
 * forbidden: the SIGSYS handler ends the process with 148 and its log line.
 * allowed:   prints "allowed <category>" and exits 0.
 * 1: the filters could not be built or installed; 2: usage.
 *
 *   seccomp_probe dump [vmm|api|vcpu SYSCALL]
 *
 * prints the built-in filters as a Firecracker JSON file, without any rule
 * for SYSCALL in that category when given (a custom filter for ember).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/seccomp/seccomp_filters.h"

struct probe {
	const struct seccomp_filters *filters;
	enum seccomp_thread category;
	const char *thread_name;
	int null_fd; /* opened before the filter: a harmless ioctl target */
	int pair[2]; /* a connected AF_UNIX pair made before the filter */
	bool forbidden;
	int result; /* exit code when the thread comes back */
};

static void say(const char *msg)
{
	/* write(2) directly: stdio may need more than a filtered thread is allowed. */
	if (write(STDOUT_FILENO, msg, strlen(msg)) < 0)
		_exit(3);
}

/* One syscall each category must refuse. */
static void do_forbidden(const struct probe *p)
{
	static char *const argv[] = {"/bin/true", NULL};

	switch (p->category) {
	case SECCOMP_VMM:
		execve(argv[0], argv, NULL);
		break;
	case SECCOMP_API:
		socket(AF_INET, SOCK_STREAM, 0); /* the API is AF_UNIX only */
		break;
	default:
		ioctl(p->null_fd, KVM_CREATE_VM, 0); /* vCPUs run, they do not create */
		break;
	}
}

/* Syscalls the category needs; each must come back with the expected result. */
static int do_allowed(const struct probe *p)
{
	char msg[64], c;

	switch (p->category) {
	case SECCOMP_VMM:
		/* The vCPU kick: pthread_kill(SIGRTMIN) to a thread of ours, blocked there. */
		break;
	case SECCOMP_API:
		/* What libmicrohttpd does on a connection made before the filter. */
		if (send(p->pair[0], "x", 1, MSG_NOSIGNAL) != 1 || recv(p->pair[1], &c, 1, 0) != 1)
			return 4;
		if (accept4(p->pair[0], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK) != -1 ||
		    errno != EINVAL)
			return 4;
		if (shutdown(p->pair[0], SHUT_RDWR) || close(p->pair[0]))
			return 4;
		break;
	default:
		/* KVM_RUN passes the filter; /dev/null answers ENOTTY. */
		if (ioctl(p->null_fd, KVM_RUN, 0) != -1 || errno != ENOTTY)
			return 4;
		break;
	}
	snprintf(msg, sizeof(msg), "allowed %s\n", seccomp_thread_name(p->category));
	say(msg);
	return 0;
}

static int run_probe(struct probe *p)
{
	int ret;

	prctl(PR_SET_NAME, p->thread_name, 0, 0, 0);
	ret = seccomp_install(p->filters, p->category);
	if (ret) {
		fprintf(stderr, "seccomp_probe: cannot install the %s filter: %s\n",
			seccomp_thread_name(p->category), strerror(-ret));
		return 1;
	}
	if (p->forbidden) {
		do_forbidden(p);
		say("the forbidden syscall came back\n");
		return 5;
	}
	return do_allowed(p);
}

static void *probe_thread(void *arg)
{
	struct probe *p = arg;

	p->result = run_probe(p);
	return NULL;
}

/* Stands in for a vCPU thread: waits for the VMM thread's kick (SIGRTMIN). */
static void *kick_target(void *arg)
{
	sigset_t *set = arg;
	int sig;

	sigwait(set, &sig);
	return NULL;
}

/* ---- dump: the built-in policy as --seccomp-filter JSON ------------------------- */

static json_t *arg_to_json(const struct scmp_arg_cmp *c)
{
	static const char *const ops[] = {
	    [SCMP_CMP_NE] = "ne", [SCMP_CMP_LT] = "lt", [SCMP_CMP_LE] = "le",
	    [SCMP_CMP_EQ] = "eq", [SCMP_CMP_GE] = "ge", [SCMP_CMP_GT] = "gt",
	};
	bool dword = c->op == SCMP_CMP_MASKED_EQ && c->datum_a == 0xffffffffULL;

	if (c->op == SCMP_CMP_MASKED_EQ && !dword)
		return json_pack("{s:i, s:s, s:{s:I}, s:I}", "index", (int)c->arg, "type", "qword",
				 "op", "masked_eq", (json_int_t)c->datum_a, "val",
				 (json_int_t)c->datum_b);
	return json_pack("{s:i, s:s, s:s, s:I}", "index", (int)c->arg, "type",
			 dword ? "dword" : "qword", "op", dword ? "eq" : ops[c->op], "val",
			 (json_int_t)(dword ? c->datum_b : c->datum_a));
}

static json_t *policy_to_json(const struct seccomp_policy *pol, int drop)
{
	json_t *filter = json_array();

	for (size_t i = 0; i < pol->nr_rules; i++) {
		const struct seccomp_rule *r = &pol->rules[i];
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, r->syscall);
		json_t *rule = json_pack("{s:s}", "syscall", name);
		unsigned int n = seccomp_rule_nr_args(r);

		free(name);
		if (r->syscall == drop) {
			json_decref(rule);
			continue;
		}
		if (n) {
			json_t *args = json_array();

			for (unsigned int a = 0; a < n; a++)
				json_array_append_new(args, arg_to_json(&r->args[a]));
			json_object_set_new(rule, "args", args);
		}
		json_array_append_new(filter, rule);
	}
	/* The built-in policies trap by default and allow what the rules match. */
	return json_pack("{s:s, s:s, s:o}", "default_action", "trap", "filter_action", "allow",
			 "filter", filter);
}

static int dump(int argc, char **argv)
{
	json_t *doc = json_object();
	int drop_nr = -1;

	if (argc == 4)
		drop_nr = seccomp_syscall_resolve_name(argv[3]);
	else if (argc != 2)
		return 2;
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++) {
		struct seccomp_policy pol;
		bool drop = argc == 4 && !strcmp(argv[2], seccomp_thread_name(t));

		if (seccomp_default_policy(t, &pol))
			return 1;
		json_object_set_new(doc, seccomp_thread_name(t),
				    policy_to_json(&pol, drop ? drop_nr : -1));
		seccomp_policy_free(&pol);
	}
	json_dumpf(doc, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(doc);
	return 0;
}

static int parse_args(int argc, char **argv, const char **json, struct probe *p)
{
	int i = 1;

	if (argc > 2 && !strcmp(argv[1], "--seccomp-filter")) {
		*json = argv[2];
		i = 3;
	}
	if (argc - i != 2)
		return -1;
	for (p->category = 0; p->category < SECCOMP_NR_THREADS; p->category++)
		if (!strcmp(argv[i], seccomp_thread_name(p->category)))
			break;
	if (p->category == SECCOMP_NR_THREADS)
		return -1;
	if (strcmp(argv[i + 1], "forbidden") && strcmp(argv[i + 1], "allowed"))
		return -1;
	p->forbidden = argv[i + 1][0] == 'f';
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"ember", "fc_api", "fc_vcpu 0"};
	struct seccomp_filters filters;
	struct probe p = {0};
	const char *json = NULL;
	pthread_t thread, target;
	sigset_t kick;
	char err[512];

	if (argc > 1 && !strcmp(argv[1], "dump"))
		return dump(argc, argv);
	if (parse_args(argc, argv, &json, &p)) {
		fprintf(stderr, "usage: seccomp_probe [--seccomp-filter FILE] vmm|api|vcpu "
				"forbidden|allowed\n"
				"       seccomp_probe dump [vmm|api|vcpu SYSCALL]\n");
		return 2;
	}
	if (seccomp_filters_load(&filters, json, err, sizeof(err))) {
		fprintf(stderr, "seccomp_probe: %s\n", err);
		return 1;
	}
	p.filters = &filters;
	p.thread_name = names[p.category];
	p.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (p.null_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p.pair))
		return 1;
	if (p.category == SECCOMP_VMM) {
		/* Ember's order: other threads first, then the VMM filter on the main thread. */
		sigemptyset(&kick);
		sigaddset(&kick, SIGRTMIN);
		pthread_sigmask(SIG_BLOCK, &kick, NULL);
		if (pthread_create(&target, NULL, kick_target, &kick))
			return 1;
		p.result = run_probe(&p);
		if (p.result)
			return p.result;
		if (pthread_kill(target, SIGRTMIN))
			return 4;
		pthread_join(target, NULL);
	} else {
		if (pthread_create(&thread, NULL, probe_thread, &p))
			return 1;
		pthread_join(thread, NULL);
	}
	seccomp_filters_free(&filters);
	close(p.null_fd);
	return p.result;
}
