// SPDX-License-Identifier: Apache-2.0
/*
 * Ember's VMM-side benchmarks (issue #2 targets). Each figure is the median
 * of repeated runs of the real binary; printed as a table and written as JSON.
 *   bench BUILD_DIR OUT_JSON [RUNS]
 * Nothing here times the emulated guest: the guest's path to its first
 * serial byte is a few hundred instructions.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct result {
	const char *name;
	const char *unit;
	double median, min, max, p99;
	double target; /* <= target is met; 0: no target */
	int runs;
};

static char build_dir[512], tmp_dir[256], ember_path[600], guest_path[600];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void summarize(struct result *r, double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	r->runs = n;
	r->min = v[0];
	r->max = v[n - 1];
	r->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	r->p99 = v[(int)((n - 1) * 0.99)];
}

/* Spawn ember with @argv; stdout to a pipe (*out_fd) if asked. */
static pid_t spawn_ember(char *const argv[], int *out_fd)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2] = {-1, -1};
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (out_fd) {
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			return -1;
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	}
	if (posix_spawn(&pid, ember_path, &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	if (out_fd) {
		close(pipefd[1]);
		*out_fd = pipefd[0];
	}
	return pid;
}

static pid_t spawn_path(const char *path, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, path, &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static void reap(pid_t pid, bool kill_it)
{
	if (kill_it)
		kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static bool try_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Wait for the first byte on @fd; returns the time it arrived, or -1. */
static double first_byte_ms(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&p, 1, timeout_ms) != 1 || read(fd, &c, 1) != 1)
		return -1;
	return now_ms();
}

/* Read @fd until @needle appears (or EOF/timeout). */
static bool wait_output(int fd, const char *needle, int timeout_ms)
{
	char buf[4096];
	size_t len = 0;
	double end = now_ms() + timeout_ms;

	while (now_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 100) != 1)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return false;
		len += n;
		buf[len] = '\0';
		if (strstr(buf, needle))
			return true;
		if (len > sizeof(buf) / 2) {
			memmove(buf, buf + len - 256, 256);
			len = 256;
		}
	}
	return false;
}

/* ---- a tiny API client on libcurl --------------------------------------- */

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static long api_call(CURL *c, const char *sock, const char *method, const char *path,
		     const char *body)
{
	char url[256];
	long code = 0;
	struct curl_slist *h = NULL;

	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	return code;
}

static pid_t start_api_ember(const char *sock, int *out_fd)
{
	char *argv[] = {ember_path, "--api-sock", (char *)sock, "--level", "Error", NULL};
	pid_t pid;

	unlink(sock);
	pid = spawn_ember(argv, out_fd);
	for (int i = 0; pid > 0 && i < 20000 && !try_connect(sock); i++)
		usleep(50);
	return pid;
}

static bool configure_guest(CURL *c, const char *sock, const char *test)
{
	char body[1024];

	snprintf(body, sizeof(body),
		 "{\"kernel_image_path\":\"%s\",\"boot_args\":\"console=ttyS0 ember.test=%s\"}",
		 guest_path, test);
	return api_call(c, sock, "PUT", "/boot-source", body) == 204 &&
	       api_call(c, sock, "PUT", "/machine-config",
			"{\"vcpu_count\":1,\"mem_size_mib\":128}") == 204;
}

/* ---- the benchmarks ----------------------------------------------------------- */

static int bench_spawn_to_api(struct result *r, int runs)
{
	char sock[300];
	double *v = calloc(runs, sizeof(*v));

	snprintf(sock, sizeof(sock), "%s/spawn.sock", tmp_dir);
	for (int i = 0; i < runs; i++) {
		char *argv[] = {ember_path, "--api-sock", sock, NULL};
		double t0;
		pid_t pid;

		unlink(sock);
		t0 = now_ms();
		pid = spawn_ember(argv, NULL);
		while (!try_connect(sock))
			;
		v[i] = now_ms() - t0;
		reap(pid, true);
	}
	summarize(r, v, runs);
	free(v);
	return 0;
}

static int bench_config_file_to_serial(struct result *r, int runs)
{
	char cfg[300];
	double *v = calloc(runs, sizeof(*v));
	FILE *f;

	snprintf(cfg, sizeof(cfg), "%s/vm.json", tmp_dir);
	f = fopen(cfg, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"{\"boot-source\":{\"kernel_image_path\":\"%s\",\"boot_args\":\"console=ttyS0 "
		"ember.test=hello\"},\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":128}}\n",
		guest_path);
	fclose(f);
	for (int i = 0; i < runs; i++) {
		char *argv[] = {ember_path, "--no-api", "--config-file", cfg, NULL};
		double t0 = now_ms(), t1;
		int out;
		pid_t pid = spawn_ember(argv, &out);

		t1 = first_byte_ms(out, 10000);
		if (t1 < 0) {
			reap(pid, true);
			free(v);
			return -EIO;
		}
		v[i] = t1 - t0;
		close(out);
		reap(pid, true);
	}
	summarize(r, v, runs);
	free(v);
	return 0;
}

/*
 * @r: InstanceStart request -> first serial byte (includes the guest's own
 * emulated path to its first byte); @api: the InstanceStart request alone,
 * which returns once the VM is built and its vCPUs run: the VMM's share.
 */
static int bench_start_to_serial(struct result *r, struct result *api, int runs)
{
	char sock[300];
	double *v = calloc(runs, sizeof(*v)), *va = calloc(runs, sizeof(*va));
	CURL *c = curl_easy_init();

	snprintf(sock, sizeof(sock), "%s/start.sock", tmp_dir);
	for (int i = 0; i < runs; i++) {
		int out;
		pid_t pid = start_api_ember(sock, &out);
		double t0, t1;

		if (!configure_guest(c, sock, "hello")) {
			reap(pid, true);
			free(v);
			return -EINVAL;
		}
		t0 = now_ms();
		api_call(c, sock, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}");
		va[i] = now_ms() - t0;
		t1 = first_byte_ms(out, 10000);
		close(out);
		reap(pid, true);
		if (t1 < 0) {
			free(v);
			free(va);
			return -EIO;
		}
		v[i] = t1 - t0;
	}
	summarize(r, v, runs);
	summarize(api, va, runs);
	curl_easy_cleanup(c);
	free(v);
	free(va);
	return 0;
}

static long status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			val = strtol(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return val;
}

/*
 * @r: peak RSS minus guest RAM the guest touched (guest RAM is a memfd, so
 * it is RssShmem); @anon: the VMM's private memory (RssAnon), i.e. without
 * the shared library pages every process maps.
 */
static int bench_rss(struct result *r, struct result *anon, int runs)
{
	char sock[300];
	double *v = calloc(runs, sizeof(*v)), *va = calloc(runs, sizeof(*va));
	CURL *c = curl_easy_init();

	snprintf(sock, sizeof(sock), "%s/rss.sock", tmp_dir);
	for (int i = 0; i < runs; i++) {
		int out;
		pid_t pid = start_api_ember(sock, &out);

		if (!configure_guest(c, sock, "halt-forever") ||
		    api_call(c, sock, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}") !=
			204 ||
		    !wait_output(out, "halting", 10000)) {
			close(out);
			reap(pid, true);
			free(v);
			return -EIO;
		}
		/* One more API round trip so the API path's memory is counted too. */
		api_call(c, sock, "GET", "/vm/config", NULL);
		v[i] = (status_kib(pid, "VmHWM") - status_kib(pid, "RssShmem")) / 1024.0;
		va[i] = status_kib(pid, "RssAnon") / 1024.0;
		close(out);
		reap(pid, true);
	}
	summarize(r, v, runs);
	summarize(anon, va, runs);
	curl_easy_cleanup(c);
	free(v);
	free(va);
	return 0;
}

static int bench_api_latency(struct result *put, struct result *get, int n)
{
	char sock[300];
	double *vp = calloc(n, sizeof(double)), *vg = calloc(n, sizeof(double));
	CURL *c = curl_easy_init();
	pid_t pid =
	    start_api_ember((snprintf(sock, sizeof(sock), "%s/lat.sock", tmp_dir), sock), NULL);

	for (int i = 0; i < n; i++) {
		double t0 = now_ms();

		if (api_call(c, sock, "PUT", "/machine-config",
			     "{\"vcpu_count\":2,\"mem_size_mib\":256}") != 204)
			break;
		vp[i] = (now_ms() - t0) * 1000;
		t0 = now_ms();
		api_call(c, sock, "GET", "/", NULL);
		vg[i] = (now_ms() - t0) * 1000;
	}
	summarize(put, vp, n);
	summarize(get, vg, n);
	reap(pid, true);
	curl_easy_cleanup(c);
	free(vp);
	free(vg);
	return 0;
}

/*
 * ember-jailer start -> API socket accepting inside the jail (root only).
 * The jail gets ember's shared libraries before the clock starts: the jailer
 * copies only the exec file, as Firecracker's does.
 */
static int bench_jailer_to_api(struct result *r, int runs)
{
	char base[300], jailer[600], cmd[2048], sock[700];
	double *v = calloc(runs, sizeof(*v));

	snprintf(base, sizeof(base), "%s/jail", tmp_dir);
	snprintf(jailer, sizeof(jailer), "%s/ember-jailer", build_dir);
	for (int i = 0; i < runs; i++) {
		char id[32], *argv[16];
		double t0;
		pid_t pid;
		int n = 0;

		snprintf(id, sizeof(id), "bench-%d", i);
		snprintf(cmd, sizeof(cmd),
			 "set -e; j=%s/ember/%s/root; mkdir -p $j; for l in $(ldd %s | grep -oE "
			 "'/[^ ]+'); do mkdir -p $j$(dirname $l); cp -L $l $j$l; done",
			 base, id, ember_path);
		if (system(cmd) != 0) {
			free(v);
			return -EIO;
		}
		snprintf(sock, sizeof(sock), "%s/ember/%s/root/run/ember.sock", base, id);
		argv[n++] = jailer;
		argv[n++] = "--id";
		argv[n++] = id;
		argv[n++] = "--exec-file";
		argv[n++] = ember_path;
		argv[n++] = "--uid";
		argv[n++] = "4321";
		argv[n++] = "--gid";
		argv[n++] = "4322";
		argv[n++] = "--chroot-base-dir";
		argv[n++] = base;
		argv[n++] = "--";
		argv[n++] = "--api-sock";
		argv[n++] = "/run/ember.sock";
		argv[n] = NULL;
		t0 = now_ms();
		pid = spawn_path(jailer, argv);
		for (int k = 0; pid > 0 && !try_connect(sock); k++) {
			if (k > 2000000 || waitpid(pid, NULL, WNOHANG) == pid) {
				free(v);
				return -EIO;
			}
		}
		v[i] = now_ms() - t0;
		reap(pid, true);
		snprintf(cmd, sizeof(cmd), "rm -rf %s/ember/%s", base, id);
		if (system(cmd) != 0)
			break;
	}
	summarize(r, v, runs);
	free(v);
	return 0;
}

static void print_and_write(struct result *rs, int nr, const char *json_path)
{
	FILE *f = fopen(json_path, "w");

	printf("\n%-36s %10s %10s %10s %10s %8s %5s  %s\n", "benchmark", "median", "min", "max",
	       "p99", "target", "runs", "unit");
	for (int i = 0; i < nr; i++) {
		struct result *r = &rs[i];
		char target[16] = "-";

		if (r->target > 0)
			snprintf(target, sizeof(target), "%s%.1f",
				 r->median <= r->target ? "" : "!", r->target);
		printf("%-36s %10.3f %10.3f %10.3f %10.3f %8s %5d  %s\n", r->name, r->median,
		       r->min, r->max, r->p99, target, r->runs, r->unit);
	}
	printf("(a target shown with '!' was missed)\n");
	if (!f)
		return;
	fprintf(f, "{\n  \"results\": [\n");
	for (int i = 0; i < nr; i++) {
		struct result *r = &rs[i];
		char target[32] = "null";

		if (r->target > 0)
			snprintf(target, sizeof(target), "%.3f", r->target);
		fprintf(
		    f,
		    "    {\"name\": \"%s\", \"unit\": \"%s\", \"median\": %.4f, \"min\": %.4f, "
		    "\"max\": %.4f, \"p99\": %.4f, \"runs\": %d, \"target\": %s, \"met\": %s}%s\n",
		    r->name, r->unit, r->median, r->min, r->max, r->p99, r->runs, target,
		    r->target > 0 ? (r->median <= r->target ? "true" : "false") : "null",
		    i + 1 < nr ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	fclose(f);
}

int main(int argc, char **argv)
{
	struct result rs[] = {
	    {.name = "spawn_to_api_socket", .unit = "ms", .target = 3},
	    {.name = "config_file_spawn_to_first_serial", .unit = "ms", .target = 3},
	    {.name = "instance_start_to_first_serial", .unit = "ms", .target = 2},
	    {.name = "instance_start_request (VMM build)", .unit = "ms"},
	    {.name = "vmm_peak_rss_excl_guest_1vcpu_128m", .unit = "MiB", .target = 2},
	    {.name = "vmm_private_rss_1vcpu_128m", .unit = "MiB"},
	    {.name = "api_put_machine_config", .unit = "us"},
	    {.name = "api_get_instance_info", .unit = "us"},
	    {.name = "jailer_spawn_to_api_socket", .unit = "ms"},
	};
	int nr = sizeof(rs) / sizeof(rs[0]);
	int runs = argc > 3 ? atoi(argv[3]) : 21;

	if (argc < 3) {
		fprintf(stderr, "usage: %s BUILD_DIR OUT_JSON [RUNS]\n", argv[0]);
		return 2;
	}
	snprintf(build_dir, sizeof(build_dir), "%s", argv[1]);
	snprintf(ember_path, sizeof(ember_path), "%s/ember", build_dir);
	snprintf(guest_path, sizeof(guest_path), "%s/guest/test-guest.elf", build_dir);
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/ember-bench.XXXXXX");
	if (!mkdtemp(tmp_dir) || curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (bench_spawn_to_api(&rs[0], runs) || bench_config_file_to_serial(&rs[1], runs) ||
	    bench_start_to_serial(&rs[2], &rs[3], runs) || bench_rss(&rs[4], &rs[5], runs) ||
	    bench_api_latency(&rs[6], &rs[7], 1000)) {
		fprintf(stderr, "bench: a benchmark failed to run (is /dev/kvm usable?)\n");
		return 1;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "bench: jailer_spawn_to_api_socket skipped: needs root\n");
		nr--;
	} else if (bench_jailer_to_api(&rs[nr - 1], runs)) {
		fprintf(stderr, "bench: the jailer benchmark failed to run\n");
		return 1;
	}
	print_and_write(rs, nr, argv[2]);
	return 0;
}
