// SPDX-License-Identifier: Apache-2.0
/*
 * ember: process entry. Parses the command line, sets up logging, then runs
 * the VMM thread's event loop: API requests arrive through the vmm_channel,
 * the controller applies them, the VM lives in struct vmm.
 */
#include "api/api_server.h"
#include "api/config_file.h"
#include "vmm/controller/controller.h"
#include "vmm/base/event_loop.h"
#include "vmm/mem/layout.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "vmm/seccomp/seccomp_filters.h"
#include "vmm/snapshot/snapshot.h"
#include "vmm/base/version.h"
#include "vmm/vmm.h"
#include "api/vmm_channel.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Firecracker's exit codes. */
#define EXIT_OK		 0
#define EXIT_GENERIC	 1
#define EXIT_BAD_CONFIG	 152
#define EXIT_ARG_PARSING 153

#define DEFAULT_API_SOCK    "/run/ember.socket"
#define DEFAULT_MAX_PAYLOAD 51200
#define MAX_CONFIG_FILE	    (1 << 20)

struct cli {
	const char *api_sock;
	const char *config_file;
	const char *id;
	const char *log_path;
	const char *level;
	const char *metrics_path;
	const char *seccomp_filter;
	const char *describe_snapshot;
	bool no_seccomp;
	bool no_api;
	bool boot_timer;
	bool show_level, show_log_origin;
	size_t max_payload;
	size_t mmds_size_limit; /* 0: max_payload, as Firecracker */
	uint64_t start_wall_us, start_cpu_us;
};

static uint64_t clock_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * CPU time survives execve but not a fork: behind `ember-jailer --new-pid-ns`
 * the jailer's start is ahead of our own clock, and then our own total counts.
 */
static uint64_t elapsed_since(uint64_t now, uint64_t start)
{
	return now >= start ? now - start : now;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "ember %s: a Firecracker-compatible KVM microVM manager\n\n"
	    "Usage: ember [options]\n"
	    "  --api-sock PATH                   API Unix socket (default " DEFAULT_API_SOCK ")\n"
	    "  --config-file FILE                configure and boot from a JSON file\n"
	    "  --no-api                          no API socket (needs --config-file)\n"
	    "  --id ID                           instance id (alphanumerics and '-', <= 64)\n"
	    "  --log-path PATH                   log file or FIFO (default stderr)\n"
	    "  --level LEVEL                     Error, Warning, Info, Debug, Trace or Off\n"
	    "  --show-level, --show-log-origin   decorate log lines\n"
	    "  --metrics-path PATH               metrics file or FIFO\n"
	    "  --http-api-max-payload-size N     max request body (default %d)\n"
	    "  --mmds-size-limit N               max MMDS data store size (default: the above)\n"
	    "  --boot-timer                      log the guest boot time (write 123 to 0x%llx)\n"
	    "  --seccomp-filter FILE             seccomp filters in Firecracker's JSON format\n"
	    "  --no-seccomp                      no seccomp filters (not recommended)\n"
	    "  --describe-snapshot FILE          print a snapshot state file's version and "
	    "contents\n"
	    "  --start-time-us N, --start-time-cpu-us N  process start (set by ember-jailer)\n"
	    "  --version, --help\n",
	    EMBER_VERSION, DEFAULT_MAX_PAYLOAD, (unsigned long long)LAYOUT_BOOT_TIMER_ADDR);
}

static bool instance_id_valid(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-')
			return false;
	return true;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-')
		return -EINVAL;
	*out = strtoull(s, &end, 10);
	return (errno || *end) ? -EINVAL : 0;
}

enum {
	OPT_API_SOCK = 256,
	OPT_CONFIG_FILE,
	OPT_NO_API,
	OPT_ID,
	OPT_LOG_PATH,
	OPT_LEVEL,
	OPT_SHOW_LEVEL,
	OPT_SHOW_ORIGIN,
	OPT_METRICS_PATH,
	OPT_MAX_PAYLOAD,
	OPT_MMDS_SIZE_LIMIT,
	OPT_BOOT_TIMER,
	OPT_START_US,
	OPT_START_CPU_US,
	OPT_VERSION,
	OPT_HELP,
	OPT_SECCOMP_FILTER,
	OPT_NO_SECCOMP,
	OPT_DESCRIBE_SNAPSHOT,
};

static const struct option long_opts[] = {
    {"api-sock", required_argument, NULL, OPT_API_SOCK},
    {"config-file", required_argument, NULL, OPT_CONFIG_FILE},
    {"no-api", no_argument, NULL, OPT_NO_API},
    {"id", required_argument, NULL, OPT_ID},
    {"log-path", required_argument, NULL, OPT_LOG_PATH},
    {"level", required_argument, NULL, OPT_LEVEL},
    {"show-level", no_argument, NULL, OPT_SHOW_LEVEL},
    {"show-log-origin", no_argument, NULL, OPT_SHOW_ORIGIN},
    {"metrics-path", required_argument, NULL, OPT_METRICS_PATH},
    {"http-api-max-payload-size", required_argument, NULL, OPT_MAX_PAYLOAD},
    {"mmds-size-limit", required_argument, NULL, OPT_MMDS_SIZE_LIMIT},
    {"boot-timer", no_argument, NULL, OPT_BOOT_TIMER},
    {"start-time-us", required_argument, NULL, OPT_START_US},
    {"start-time-cpu-us", required_argument, NULL, OPT_START_CPU_US},
    {"seccomp-filter", required_argument, NULL, OPT_SECCOMP_FILTER},
    {"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
    {"describe-snapshot", required_argument, NULL, OPT_DESCRIBE_SNAPSHOT},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* -1 to go on, or the exit code to end with (EXIT_OK after --help/--version). */
static int parse_cli(int argc, char **argv, struct cli *cli)
{
	uint64_t v;
	int opt;

	opterr = 0;
	while ((opt = getopt_long_only(argc, argv, "", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_API_SOCK:
			cli->api_sock = optarg;
			break;
		case OPT_CONFIG_FILE:
			cli->config_file = optarg;
			break;
		case OPT_NO_API:
			cli->no_api = true;
			break;
		case OPT_ID:
			cli->id = optarg;
			break;
		case OPT_LOG_PATH:
			cli->log_path = optarg;
			break;
		case OPT_LEVEL:
			cli->level = optarg;
			break;
		case OPT_SHOW_LEVEL:
			cli->show_level = true;
			break;
		case OPT_SHOW_ORIGIN:
			cli->show_log_origin = true;
			break;
		case OPT_METRICS_PATH:
			cli->metrics_path = optarg;
			break;
		case OPT_BOOT_TIMER:
			cli->boot_timer = true;
			break;
		case OPT_SECCOMP_FILTER:
			cli->seccomp_filter = optarg;
			break;
		case OPT_NO_SECCOMP:
			cli->no_seccomp = true;
			break;
		case OPT_DESCRIBE_SNAPSHOT:
			cli->describe_snapshot = optarg;
			break;
		case OPT_MAX_PAYLOAD:
			if (parse_u64(optarg, &v) || v == 0) {
				fprintf(stderr,
					"Arguments parsing error: invalid value for "
					"--http-api-max-payload-size: '%s'\n",
					optarg);
				return EXIT_ARG_PARSING;
			}
			cli->max_payload = v;
			break;
		case OPT_MMDS_SIZE_LIMIT:
			if (parse_u64(optarg, &v) || v == 0) {
				fprintf(stderr,
					"Arguments parsing error: invalid value for "
					"--mmds-size-limit: '%s'\n",
					optarg);
				return EXIT_ARG_PARSING;
			}
			cli->mmds_size_limit = v;
			break;
		case OPT_START_US:
		case OPT_START_CPU_US:
			if (parse_u64(optarg, &v)) {
				fprintf(stderr,
					"Arguments parsing error: invalid start time '%s'\n",
					optarg);
				return EXIT_ARG_PARSING;
			}
			*(opt == OPT_START_US ? &cli->start_wall_us : &cli->start_cpu_us) = v;
			break;
		case OPT_VERSION:
			printf("Ember v%s\n", EMBER_VERSION);
			return EXIT_OK;
		case OPT_HELP:
			usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr,
				"Arguments parsing error: Found argument '%s' which wasn't "
				"expected, or isn't valid in this context.\n",
				argv[optind - 1]);
			usage(stderr);
			return EXIT_ARG_PARSING;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "Arguments parsing error: unexpected argument '%s'\n",
			argv[optind]);
		return EXIT_ARG_PARSING;
	}
	if (cli->id && !instance_id_valid(cli->id)) {
		fprintf(stderr,
			"Arguments parsing error: Invalid instance ID: '%s' (alphanumerics "
			"and '-' only, 1 to 64 characters)\n",
			cli->id);
		return EXIT_ARG_PARSING;
	}
	if (cli->seccomp_filter && cli->no_seccomp) {
		fprintf(stderr, "Arguments parsing error: --seccomp-filter and --no-seccomp "
				"cannot be used together\n");
		return EXIT_ARG_PARSING;
	}
	if (cli->no_api && !cli->config_file) {
		fprintf(stderr, "Arguments parsing error: --no-api requires --config-file\n");
		return EXIT_ARG_PARSING;
	}
	return -1;
}

static int setup_logging(const struct cli *cli)
{
	enum log_level level;
	int ret;

	if (cli->id)
		log_set_instance_id(cli->id);
	log_set_show(cli->show_level, cli->show_log_origin);
	if (cli->level) {
		if (log_level_parse(cli->level, &level)) {
			fprintf(stderr, "Arguments parsing error: invalid log level '%s'\n",
				cli->level);
			return EXIT_ARG_PARSING;
		}
		log_set_level(level);
	}
	if (cli->log_path) {
		ret = log_set_path(cli->log_path);
		if (ret) {
			fprintf(stderr, "Cannot open the log file %s: %s\n", cli->log_path,
				strerror(-ret));
			return EXIT_GENERIC;
		}
	}
	if (cli->metrics_path) {
		ret = metrics_init(cli->metrics_path);
		if (ret) {
			fprintf(stderr, "Cannot open the metrics file %s: %s\n", cli->metrics_path,
				strerror(-ret));
			return EXIT_GENERIC;
		}
	}
	return 0;
}

/* ---- the VMM thread ----------------------------------------------------------- */

struct ember {
	struct event_loop loop;
	struct vmm vmm;
	struct controller ctrl;
	struct vmm_channel channel;
	struct api_server *api;
	struct seccomp_filters seccomp; /* empty with --no-seccomp */
	bool exit_seen;
};

static void handle_request(void *ctx, const struct vmm_request *req, struct vmm_response *resp)
{
	struct ember *e = ctx;

	controller_handle(&e->ctrl, req, resp);
}

static void on_api_request(void *opaque, uint32_t events)
{
	struct ember *e = opaque;

	(void)events;
	vmm_channel_serve(&e->channel, handle_request, e);
}

static void on_vm_exit(void *opaque, uint32_t events)
{
	struct ember *e = opaque;

	(void)events;
	e->exit_seen = true;
	/* The vCPU that ended the VM has stopped itself; stop the others now. */
	vmm_halt_vcpus(&e->vmm);
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "Cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(MAX_CONFIG_FILE + 1);
	n = buf ? fread(buf, 1, MAX_CONFIG_FILE + 1, f) : 0;
	fclose(f);
	if (!buf || n > MAX_CONFIG_FILE) {
		snprintf(err, errlen, "%s is larger than %d bytes", path, MAX_CONFIG_FILE);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Apply every entry of the config file, then boot. Returns an exit code or 0. */
static int boot_from_config_file(struct ember *e, const char *path)
{
	struct vmm_request *reqs = NULL, start = {.type = REQ_INSTANCE_START};
	struct vmm_response resp;
	char err[FAULT_MESSAGE_MAX];
	size_t nr = 0;
	char *text;
	int ret = 0;

	text = read_file(path, err, sizeof(err));
	if (!text || config_file_parse(text, &reqs, &nr, err, sizeof(err))) {
		log_error_unrestricted("Configuration for VMM from one single json failed: %s",
				       err);
		free(text);
		return EXIT_BAD_CONFIG;
	}
	free(text);
	for (size_t i = 0; i <= nr && !ret; i++) {
		memset(&resp, 0, sizeof(resp));
		controller_handle(&e->ctrl, i < nr ? &reqs[i] : &start, &resp);
		if (resp.status >= 300) {
			log_error_unrestricted(
			    "Configuration for VMM from one single json failed: %s",
			    resp.fault_message);
			ret = EXIT_BAD_CONFIG;
		}
		vmm_response_free(&resp);
	}
	for (size_t i = 0; i < nr; i++)
		vmm_request_free(&reqs[i]);
	free(reqs);
	return ret;
}

static int ember_setup(struct ember *e, const struct cli *cli)
{
	struct vmm_options opts = {
	    .boot_timer = cli->boot_timer,
	    .start_wall_us = cli->start_wall_us,
	    .start_cpu_us = cli->start_cpu_us,
	    .seccomp = &e->seccomp,
	    .mmds_size_limit = cli->mmds_size_limit ? cli->mmds_size_limit : cli->max_payload,
	};
	int ret;

	ret = vcpu_signals_init();
	if (!ret)
		ret = event_loop_init(&e->loop);
	if (!ret)
		ret = vmm_init(&e->vmm, &e->loop, &opts);
	if (!ret)
		ret = vmm_channel_init(&e->channel);
	if (ret)
		return ret;
	controller_init(&e->ctrl, cli->id ? cli->id : "anonymous-instance", &kvm_vmm_ops, &e->vmm);
	e->ctrl.mmds = e->vmm.mmds;
	ret = event_loop_add(&e->loop, vmm_channel_fd(&e->channel), EPOLLIN, on_api_request, e);
	if (!ret)
		ret = event_loop_add(&e->loop, e->vmm.exit_evt, EPOLLIN, on_vm_exit, e);
	return ret;
}

static int ember_start_api(struct ember *e, const struct cli *cli)
{
	char err[256];
	int ret;

	ret = api_server_start(&e->api, cli->api_sock, cli->max_payload, &e->channel, &e->seccomp,
			       err, sizeof(err));
	if (ret)
		log_error_unrestricted("Cannot start the API server on %s: %s", cli->api_sock, err);
	return ret;
}

static void ember_teardown(struct ember *e)
{
	if (e->api)
		api_server_stop(e->api);
	vmm_destroy(&e->vmm);
	controller_destroy(&e->ctrl);
	vmm_channel_destroy(&e->channel);
	event_loop_destroy(&e->loop);
	metrics_close();
	seccomp_filters_free(&e->seccomp);
}

/* Built before any thread exists; a bad --seccomp-filter file is a startup error. */
static int ember_load_seccomp(struct ember *e, const struct cli *cli)
{
	char err[512];

	if (cli->no_seccomp)
		return 0;
	if (seccomp_filters_load(&e->seccomp, cli->seccomp_filter, err, sizeof(err))) {
		log_error_unrestricted("Seccomp error: %s", err);
		if (cli->log_path)
			fprintf(stderr, "Error: Seccomp error: %s\n", err);
		return EXIT_GENERIC;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli cli = {
	    .api_sock = DEFAULT_API_SOCK,
	    .max_payload = DEFAULT_MAX_PAYLOAD,
	    .start_wall_us = clock_us(CLOCK_MONOTONIC),
	    .start_cpu_us = clock_us(CLOCK_PROCESS_CPUTIME_ID),
	};
	static struct ember e;
	int code;

	/*
	 * One malloc arena for every thread, set before any thread exists.
	 * glibc gives each new thread its own arena (a 64 MiB mmap'ed heap);
	 * when free() shrinks such a heap it first reads
	 * /proc/sys/vm/overcommit_memory (once, then cached), an openat() that
	 * the API and vCPU filters rightly forbid: closing a few connections
	 * that held large requests ended ember with 148 (issue #8). The main
	 * arena gives memory back with brk() and munmap() only, which every
	 * filter allows, and creating no arena also skips the CPU count glibc
	 * reads for the arena limit. Ember's threads hardly contend on malloc
	 * (the API thread serves one request at a time; vCPUs do not allocate
	 * while running); Firecracker's musl allocator has no arenas either.
	 * (Sanitizer builds replace malloc and ignore this.)
	 */
	mallopt(M_ARENA_MAX, 1);

	code = parse_cli(argc, argv, &cli);
	if (code >= 0)
		return code;
	/* Like --version: answer and leave, no VMM. */
	if (cli.describe_snapshot)
		return snapshot_describe(cli.describe_snapshot, stdout) ? EXIT_GENERIC : EXIT_OK;
	code = setup_logging(&cli);
	if (code)
		return code;
	/* A serial/log/metrics reader that goes away must not kill the VMM. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * No time zone to load (tzset) before the threads are filtered: the log
	 * and libmicrohttpd's Date header are UTC, through vmm/base/gmtime.c,
	 * which never reads /etc/localtime.
	 */
	log_info_unrestricted("Running Ember v%s", EMBER_VERSION);
	code = ember_load_seccomp(&e, &cli);
	if (code)
		return code;
	code = ember_setup(&e, &cli);
	if (code) {
		/* The process ends here: nothing set up so far outlives it. */
		log_error_unrestricted("Cannot set up the VMM: %s", strerror(-code));
		return EXIT_GENERIC;
	}
	if (!cli.no_api && ember_start_api(&e, &cli)) {
		ember_teardown(&e);
		return EXIT_GENERIC;
	}
	/* Firecracker's startup metrics: process (or jailer) start to API ready. */
	metric_add(&g_metrics.api_server.process_startup_time_us,
		   elapsed_since(clock_us(CLOCK_MONOTONIC), cli.start_wall_us));
	metric_add(&g_metrics.api_server.process_startup_time_cpu_us,
		   elapsed_since(clock_us(CLOCK_PROCESS_CPUTIME_ID), cli.start_cpu_us));
	/* Idle until the first request anyway: get the KVM handshake out of the way. */
	vmm_prepare(&e.vmm);
	if (cli.config_file) {
		code = boot_from_config_file(&e, cli.config_file);
		if (code) {
			ember_teardown(&e);
			return code;
		}
	}
	while (!e.exit_seen)
		event_loop_run_once(&e.loop, -1);
	code = vmm_exit_code(&e.vmm);
	log_info_unrestricted("Ember exiting with code %d", code);
	metrics_flush();
	ember_teardown(&e);
	return code;
}
