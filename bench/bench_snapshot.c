// SPDX-License-Identifier: Apache-2.0
/*
 * Snapshot benchmarks (issue #5), on the real binary and real KVM:
 *
 *   bench_snapshot BUILD_DIR OUT_JSON [RUNS]
 *
 *  - load_to_first_serial_<size>: PUT /snapshot/load with resume_vm, from the
 *    request to the first serial byte of the resumed guest. The guest is
 *    touch=0, which prints continuously, so its first byte is its first
 *    instructions after the resume; load_request_<size> is the API call alone.
 *  - full_create_<size>: Full snapshot of the booted test guest (RAM mostly
 *    untouched: the file is sparse), and full_create_all_data_<size> of a VM
 *    restored from a memory file where every page from 32 MiB up holds data,
 *    with its throughput in MiB of guest RAM per second.
 *  - diff_create_1pct_<size>: Diff snapshot after the guest (touch=N) wrote 1%
 *    of its pages.
 *  - clones: RSS and PSS (/proc/PID/smaps_rollup) of one clone and of 20
 *    clones of one 128 MiB snapshot; PSS shows what the clones share.
 *
 * Every figure is the median of RUNS runs (min, max in the table and JSON),
 * written as a table and to OUT_JSON. Every step's answer is checked: a
 * failed request stops the benchmark rather than time an error.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_RESULTS   32
#define NR_CLONES     20
#define TOUCH_BASE_MB 32 /* the touch scenario writes from here up */

struct result {
	char name[64];
	const char *unit;
	double median, min, max;
	double target; /* <= target is met; 0: none */
	int runs;
};

struct bench {
	char ember[600], guest[600], dir[256];
	CURL *curl;
	int runs;
	struct result results[MAX_RESULTS];
	int nr;
};

/* One ember process: its API socket and its stdout (the guest's serial). */
struct vm {
	pid_t pid;
	int out;
	char sock[300];
};

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

static void add_result(struct bench *b, const char *name, const char *unit, double target,
		       double *v, int n)
{
	struct result *r = &b->results[b->nr++];

	qsort(v, n, sizeof(*v), cmp_double);
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->unit = unit;
	r->target = target;
	r->runs = n;
	r->min = v[0];
	r->max = v[n - 1];
	r->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- ember processes and their API ---------------------------------------------- */

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static long api(struct bench *b, const struct vm *vm, const char *method, const char *path,
		const char *body)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[256];
	long code = 0;

	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(b->curl, CURLOPT_UNIX_SOCKET_PATH, vm->sock);
	curl_easy_setopt(b->curl, CURLOPT_URL, url);
	curl_easy_setopt(b->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(b->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(b->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(b->curl, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(b->curl) == CURLE_OK)
		curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	return code;
}

static bool api_ok(struct bench *b, const struct vm *vm, const char *method, const char *path,
		   const char *body)
{
	long code = api(b, vm, method, path, body);

	if (code != 204)
		fprintf(stderr, "bench_snapshot: %s %s answered %ld\n", method, path, code);
	return code == 204;
}

static bool can_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* An ember with its stdout on a pipe, once its API socket accepts. */
static bool vm_spawn(struct bench *b, struct vm *vm, const char *name)
{
	char *argv[] = {b->ember, "--api-sock", vm->sock, "--level", "Warning", NULL};
	posix_spawn_file_actions_t fa;
	int pipefd[2];

	snprintf(vm->sock, sizeof(vm->sock), "%s/%s.sock", b->dir, name);
	unlink(vm->sock);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return false;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	if (posix_spawn(&vm->pid, b->ember, &fa, NULL, argv, environ) != 0)
		vm->pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	vm->out = pipefd[0];
	for (int i = 0; vm->pid > 0 && i < 100000 && !can_connect(vm->sock); i++)
		usleep(20);
	return vm->pid > 0 && can_connect(vm->sock);
}

static void vm_kill(struct vm *vm)
{
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, NULL, 0);
	}
	if (vm->out >= 0)
		close(vm->out);
	vm->pid = -1;
	vm->out = -1;
}

/* Drop what the guest printed so far. */
static void drain(int fd)
{
	char buf[65536];
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (poll(&p, 1, 0) == 1 && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* Read the guest's output until @lines newlines came (or the timeout). */
static bool wait_lines(int fd, int lines, int timeout_ms)
{
	double end = now_ms() + timeout_ms;
	char buf[4096];

	while (lines > 0 && now_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 100) != 1)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return false;
		for (ssize_t i = 0; i < n; i++)
			lines -= buf[i] == '\n';
	}
	return lines <= 0;
}

/* Boot the test guest with @test on @mib MiB, running until its first lines appeared. */
static bool vm_boot(struct bench *b, struct vm *vm, const char *name, unsigned int mib,
		    const char *test, bool track_dirty)
{
	char body[1024];

	if (!vm_spawn(b, vm, name))
		return false;
	snprintf(body, sizeof(body),
		 "{\"vcpu_count\": 1, \"mem_size_mib\": %u, \"track_dirty_pages\": %s}", mib,
		 track_dirty ? "true" : "false");
	if (!api_ok(b, vm, "PUT", "/machine-config", body))
		return false;
	snprintf(body, sizeof(body),
		 "{\"kernel_image_path\": \"%s\", \"boot_args\": \"console=ttyS0 ember.test=%s\"}",
		 b->guest, test);
	return api_ok(b, vm, "PUT", "/boot-source", body) &&
	       api_ok(b, vm, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}") &&
	       wait_lines(vm->out, 8, 20000);
}

static bool create(struct bench *b, const struct vm *vm, const char *snap, const char *mem,
		   const char *type, double *ms)
{
	char body[1024];
	double t0;
	bool ok;

	snprintf(
	    body, sizeof(body),
	    "{\"snapshot_path\": \"%s\", \"mem_file_path\": \"%s\", \"snapshot_type\": \"%s\"}",
	    snap, mem, type);
	t0 = now_ms();
	ok = api_ok(b, vm, "PUT", "/snapshot/create", body);
	if (ms)
		*ms = now_ms() - t0;
	return ok;
}

static bool load(struct bench *b, const struct vm *vm, const char *snap, const char *mem,
		 bool resume)
{
	char body[1024];

	snprintf(body, sizeof(body),
		 "{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": \"File\", "
		 "\"backend_path\": \"%s\"}, \"resume_vm\": %s}",
		 snap, mem, resume ? "true" : "false");
	return api_ok(b, vm, "PUT", "/snapshot/load", body);
}

static void path_of(const struct bench *b, char *out, size_t len, const char *name,
		    unsigned int mib)
{
	snprintf(out, len, "%s/%s-%u", b->dir, name, mib);
}

/* ---- the benchmarks ----------------------------------------------------------------- */

/* A paused touch=0 guest of @mib MiB: the base snapshot other benchmarks start from. */
static bool make_base(struct bench *b, unsigned int mib)
{
	char snap[400], mem[400];
	struct vm vm = {.out = -1};
	bool ok;

	path_of(b, snap, sizeof(snap), "base.snap", mib);
	path_of(b, mem, sizeof(mem), "base.mem", mib);
	ok = vm_boot(b, &vm, "base", mib, "touch=0", false) &&
	     api_ok(b, &vm, "PATCH", "/vm", "{\"state\": \"Paused\"}") &&
	     create(b, &vm, snap, mem, "Full", NULL);
	vm_kill(&vm);
	return ok;
}

static bool bench_load(struct bench *b, unsigned int mib, double target)
{
	double *first = calloc(b->runs, sizeof(double)), *req = calloc(b->runs, sizeof(double));
	char snap[400], mem[400], name[64];
	bool ok = true;

	path_of(b, snap, sizeof(snap), "base.snap", mib);
	path_of(b, mem, sizeof(mem), "base.mem", mib);
	for (int i = 0; ok && i < b->runs; i++) {
		struct vm vm = {.out = -1};
		struct pollfd p;
		double t0;
		char c;

		ok = vm_spawn(b, &vm, "clone");
		t0 = now_ms();
		ok = ok && load(b, &vm, snap, mem, true);
		req[i] = now_ms() - t0;
		p = (struct pollfd){.fd = vm.out, .events = POLLIN};
		ok = ok && poll(&p, 1, 5000) == 1 && read(vm.out, &c, 1) == 1;
		first[i] = now_ms() - t0;
		vm_kill(&vm);
	}
	if (ok) {
		snprintf(name, sizeof(name), "load_to_first_serial_%um", mib);
		add_result(b, name, "ms", target, first, b->runs);
		snprintf(name, sizeof(name), "load_request_%um", mib);
		add_result(b, name, "ms", 0, req, b->runs);
	}
	free(first);
	free(req);
	return ok;
}

/* Full snapshots of @vm (paused), RUNS times; ms and MiB of guest RAM per second. */
static bool time_full_creates(struct bench *b, const struct vm *vm, unsigned int mib,
			      const char *label)
{
	double *ms = calloc(b->runs, sizeof(double)), *rate = calloc(b->runs, sizeof(double));
	char snap[400], mem[400], name[64];
	bool ok = true;

	path_of(b, snap, sizeof(snap), "full.snap", mib);
	path_of(b, mem, sizeof(mem), "full.mem", mib);
	for (int i = 0; ok && i < b->runs; i++) {
		ok = create(b, vm, snap, mem, "Full", &ms[i]);
		rate[i] = mib / (ms[i] / 1e3);
		unlink(mem);
		unlink(snap);
	}
	if (ok) {
		snprintf(name, sizeof(name), "%s_%um", label, mib);
		add_result(b, name, "ms", 0, ms, b->runs);
		snprintf(name, sizeof(name), "%s_%um_throughput", label, mib);
		add_result(b, name, "MiB/s", 0, rate, b->runs);
	}
	free(ms);
	free(rate);
	return ok;
}

static bool bench_full_sparse(struct bench *b, unsigned int mib)
{
	struct vm vm = {.out = -1};
	bool ok = vm_boot(b, &vm, "full", mib, "touch=0", false) &&
		  api_ok(b, &vm, "PATCH", "/vm", "{\"state\": \"Paused\"}") &&
		  time_full_creates(b, &vm, mib, "full_create");

	vm_kill(&vm);
	return ok;
}

/* Random data in every page of @path from TOUCH_BASE_MB up (the guest never reads there). */
static bool fill_memory_file(const char *path, unsigned int mib)
{
	static uint8_t chunk[1 << 20];
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && getrandom(chunk, sizeof(chunk), 0) == (ssize_t)sizeof(chunk);

	for (unsigned int m = TOUCH_BASE_MB; ok && m < mib; m++) {
		chunk[0] = (uint8_t)m; /* no two MiB alike */
		ok = pwrite(fd, chunk, sizeof(chunk), (off_t)m << 20) == (ssize_t)sizeof(chunk);
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool copy_sparse(const char *from, const char *to)
{
	char cmd[1000];

	snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", from, to);
	return system(cmd) == 0;
}

static bool bench_full_all_data(struct bench *b, unsigned int mib)
{
	char snap[400], mem[400], data[400];
	struct vm vm = {.out = -1};
	bool ok;

	path_of(b, snap, sizeof(snap), "base.snap", mib);
	path_of(b, mem, sizeof(mem), "base.mem", mib);
	path_of(b, data, sizeof(data), "data.mem", mib);
	/* A copy of the base memory, the data written into the copy. */
	ok = copy_sparse(mem, data) && fill_memory_file(data, mib) && vm_spawn(b, &vm, "data") &&
	     load(b, &vm, snap, data, false) &&
	     time_full_creates(b, &vm, mib, "full_create_all_data");
	vm_kill(&vm);
	unlink(data);
	return ok;
}

static bool bench_diff(struct bench *b, unsigned int mib)
{
	unsigned int pages = mib * 256 / 100; /* 1% of the guest's pages */
	double *ms = calloc(b->runs, sizeof(double));
	char test[64], snap[400], mem[400], name[64];
	struct vm vm = {.out = -1};
	bool ok;

	snprintf(test, sizeof(test), "touch=%u", pages);
	path_of(b, snap, sizeof(snap), "diff.snap", mib);
	path_of(b, mem, sizeof(mem), "diff.mem", mib);
	ok = vm_boot(b, &vm, "diff", mib, test, true) &&
	     api_ok(b, &vm, "PATCH", "/vm", "{\"state\": \"Paused\"}") &&
	     create(b, &vm, snap, mem, "Full", NULL);
	for (int i = 0; ok && i < b->runs; i++) {
		unlink(mem);
		unlink(snap);
		/* Two lines printed after the resume: one whole round wrote its pages. */
		drain(vm.out);
		ok = api_ok(b, &vm, "PATCH", "/vm", "{\"state\": \"Resumed\"}") &&
		     wait_lines(vm.out, 2, 10000) &&
		     api_ok(b, &vm, "PATCH", "/vm", "{\"state\": \"Paused\"}") &&
		     create(b, &vm, snap, mem, "Diff", &ms[i]);
	}
	if (ok) {
		snprintf(name, sizeof(name), "diff_create_1pct_%um", mib);
		add_result(b, name, "ms", 0, ms, b->runs);
	}
	vm_kill(&vm);
	unlink(mem);
	unlink(snap);
	free(ms);
	return ok;
}

/* kB of @key in /proc/@pid/smaps_rollup (Rss, Pss, ...). */
static double smaps_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	double v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = strtod(line + strlen(key) + 1, NULL);
	if (f)
		fclose(f);
	return v;
}

/* @n clones of the 128 MiB base, resumed, given time to run, paused; their RSS and PSS sums. */
static bool clones(struct bench *b, int n, double *rss, double *pss)
{
	struct vm vms[NR_CLONES];
	char snap[400], mem[400], name[32];
	bool ok = true;

	path_of(b, snap, sizeof(snap), "base.snap", 128);
	path_of(b, mem, sizeof(mem), "base.mem", 128);
	for (int i = 0; i < n; i++)
		vms[i] = (struct vm){.pid = -1, .out = -1};
	for (int i = 0; ok && i < n; i++) {
		snprintf(name, sizeof(name), "clone%d", i);
		ok = vm_spawn(b, &vms[i], name) && load(b, &vms[i], snap, mem, true);
	}
	for (int i = 0; ok && i < n; i++)
		ok = wait_lines(vms[i].out, 2, 10000) &&
		     api_ok(b, &vms[i], "PATCH", "/vm", "{\"state\": \"Paused\"}");
	*rss = *pss = 0;
	for (int i = 0; ok && i < n; i++) {
		*rss += smaps_kib(vms[i].pid, "Rss") / 1024;
		*pss += smaps_kib(vms[i].pid, "Pss") / 1024;
	}
	for (int i = 0; i < n; i++)
		vm_kill(&vms[i]);
	return ok;
}

static bool bench_clones(struct bench *b)
{
	int runs = b->runs < 3 ? b->runs : 3; /* 20 VMs per run: a few runs suffice */
	double rss1[3], pss1[3], rss20[3], pss20[3];
	bool ok = true;

	for (int i = 0; ok && i < runs; i++)
		ok = clones(b, 1, &rss1[i], &pss1[i]) && clones(b, NR_CLONES, &rss20[i], &pss20[i]);
	if (ok) {
		add_result(b, "clone_rss_1_128m", "MiB", 0, rss1, runs);
		add_result(b, "clone_pss_1_128m", "MiB", 0, pss1, runs);
		add_result(b, "clones_rss_sum_20_128m", "MiB", 0, rss20, runs);
		add_result(b, "clones_pss_sum_20_128m", "MiB", 0, pss20, runs);
	}
	return ok;
}

/* ---- output ---------------------------------------------------------------------- */

static void print_and_write(const struct bench *b, const char *json_path)
{
	FILE *f = fopen(json_path, "w");

	printf("\n%-40s %10s %10s %10s %8s %5s  %s\n", "snapshot benchmark", "median", "min", "max",
	       "target", "runs", "unit");
	for (int i = 0; i < b->nr; i++) {
		const struct result *r = &b->results[i];
		char target[16] = "-";

		if (r->target > 0)
			snprintf(target, sizeof(target), "%s%.1f",
				 r->median <= r->target ? "" : "!", r->target);
		printf("%-40s %10.3f %10.3f %10.3f %8s %5d  %s\n", r->name, r->median, r->min,
		       r->max, target, r->runs, r->unit);
	}
	printf("(a target shown with '!' was missed)\n");
	if (!f)
		return;
	fprintf(f, "{\n  \"results\": [\n");
	for (int i = 0; i < b->nr; i++) {
		const struct result *r = &b->results[i];
		char target[32] = "null";

		if (r->target > 0)
			snprintf(target, sizeof(target), "%.3f", r->target);
		fprintf(f,
			"    {\"name\": \"%s\", \"unit\": \"%s\", \"median\": %.4f, \"min\": %.4f, "
			"\"max\": %.4f, \"runs\": %d, \"target\": %s, \"met\": %s}%s\n",
			r->name, r->unit, r->median, r->min, r->max, r->runs, target,
			r->target > 0 ? (r->median <= r->target ? "true" : "false") : "null",
			i + 1 < b->nr ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	fclose(f);
}

int main(int argc, char **argv)
{
	static struct bench b;
	static const struct {
		unsigned int mib;
		double load_target;
	} sizes[] = {{128, 2}, {1024, 3}};
	bool ok = true;
	char cmd[300];

	if (argc < 3) {
		fprintf(stderr, "usage: %s BUILD_DIR OUT_JSON [RUNS]\n", argv[0]);
		return 2;
	}
	b.runs = argc > 3 && atoi(argv[3]) > 0 ? atoi(argv[3]) : 11;
	snprintf(b.ember, sizeof(b.ember), "%s/ember", argv[1]);
	snprintf(b.guest, sizeof(b.guest), "%s/guest/test-guest.elf", argv[1]);
	snprintf(b.dir, sizeof(b.dir), "/tmp/ember-bench-snapshot.XXXXXX");
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(b.dir) || curl_global_init(CURL_GLOBAL_DEFAULT) ||
	    !(b.curl = curl_easy_init()))
		return 1;
	for (size_t i = 0; ok && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned int mib = sizes[i].mib;

		ok = make_base(&b, mib) && bench_load(&b, mib, sizes[i].load_target) &&
		     bench_full_sparse(&b, mib) && bench_full_all_data(&b, mib) &&
		     bench_diff(&b, mib);
	}
	ok = ok && bench_clones(&b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b.dir);
	if (system(cmd))
		fprintf(stderr, "bench_snapshot: could not remove %s\n", b.dir);
	curl_easy_cleanup(b.curl);
	if (!ok) {
		fprintf(stderr,
			"bench_snapshot: a benchmark failed to run (is /dev/kvm usable?)\n");
		return 1;
	}
	print_and_write(&b, argv[2]);
	return 0;
}
