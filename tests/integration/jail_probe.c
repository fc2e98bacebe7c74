// SPDX-License-Identifier: Apache-2.0
/*
 * jail_probe: stands in for ember as ember-jailer's --exec-file in
 * tests/integration/test_jailer.sh. Reports, as key=value lines, what a
 * jailed process sees: ids, capabilities, no_new_privs, pid, cwd, environment,
 * inherited fds, rlimits, every file under / with type, mode, owner and
 * device number, whether the device nodes work, and its argv. The report
 * goes to stdout and to /run/probe.txt (written atomically); the probe then
 * waits until /run/release exists (so the test can inspect it from the host
 * through /proc) unless --no-wait is among its arguments.
 *
 * It needs no /proc: the jail has none. The test builds it with -static so
 * the jail needs no loader or libraries.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void report_ids(FILE *f)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	fprintf(f, "uid=%u,%u,%u\ngid=%u,%u,%u\ngroups=%d\n", ru, eu, su, rg, eg, sg,
		getgroups(0, NULL));
}

static void report_caps(FILE *f)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &hdr, d)) {
		fprintf(f, "caps=error:%s\n", strerror(errno));
		return;
	}
	fprintf(f, "cap_eff=%08x%08x\ncap_prm=%08x%08x\ncap_inh=%08x%08x\n", d[1].effective,
		d[0].effective, d[1].permitted, d[0].permitted, d[1].inheritable, d[0].inheritable);
	fprintf(f, "no_new_privs=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
}

static void report_process(FILE *f)
{
	char cwd[4096];
	int n = 0, fd;

	fprintf(f, "pid=%d\nppid=%d\n", (int)getpid(), (int)getppid());
	fprintf(f, "cwd=%s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	while (environ && environ[n])
		n++;
	fprintf(f, "env_count=%d\nopen_fds=", n);
	for (fd = 3; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			fprintf(f, "%d,", fd);
	fputc('\n', f);
}

static void report_limit(FILE *f, const char *name, int resource)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl)) {
		fprintf(f, "rlimit_%s=error\n", name);
		return;
	}
	fprintf(f, "rlimit_%s=", name);
	if (rl.rlim_cur == RLIM_INFINITY)
		fprintf(f, "unlimited,");
	else
		fprintf(f, "%llu,", (unsigned long long)rl.rlim_cur);
	if (rl.rlim_max == RLIM_INFINITY)
		fprintf(f, "unlimited\n");
	else
		fprintf(f, "%llu\n", (unsigned long long)rl.rlim_max);
}

static const char *type_of(mode_t m)
{
	return S_ISDIR(m)    ? "dir"
	       : S_ISREG(m)  ? "file"
	       : S_ISCHR(m)  ? "chr"
	       : S_ISLNK(m)  ? "link"
	       : S_ISBLK(m)  ? "blk"
	       : S_ISSOCK(m) ? "sock"
			     : "other";
}

static void walk(FILE *f, const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		fprintf(f, "entry_error=%s:%s\n", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		char path[4096];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", de->d_name);
		if (lstat(path, &st)) {
			fprintf(f, "entry_error=%s:%s\n", path, strerror(errno));
			continue;
		}
		fprintf(f, "entry=%s %s %04o %u %u", path, type_of(st.st_mode),
			(unsigned int)(st.st_mode & 07777), st.st_uid, st.st_gid);
		if (S_ISCHR(st.st_mode))
			fprintf(f, " %u:%u", major(st.st_rdev), minor(st.st_rdev));
		fputc('\n', f);
		if (S_ISDIR(st.st_mode))
			walk(f, path);
	}
	closedir(d);
}

static void report_devices(FILE *f)
{
	char byte;
	int fd;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fprintf(f, "kvm_api=error:%s\n", strerror(errno));
	else
		fprintf(f, "kvm_api=%d\n", ioctl(fd, KVM_GET_API_VERSION, 0));
	if (fd >= 0)
		close(fd);
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	fprintf(f, "urandom_read=%s\n", fd >= 0 && read(fd, &byte, 1) == 1 ? "ok" : "error");
	if (fd >= 0)
		close(fd);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	fprintf(f, "tun_open=%s\n", fd >= 0 ? "ok" : strerror(errno));
	if (fd >= 0)
		close(fd);
	fprintf(f, "setuid0=%s\n", setuid(0) ? strerror(errno) : "succeeded");
}

static int save_report(const char *buf, size_t len)
{
	int fd = open("/run/probe.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, buf, len) != (ssize_t)len || close(fd))
		return -1;
	return rename("/run/probe.tmp", "/run/probe.txt");
}

static void wait_release(void)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	int i;

	for (i = 0; i < 30 * 50; i++) {
		if (access("/run/release", F_OK) == 0)
			return;
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	char *buf = NULL;
	size_t len = 0;
	int i, no_wait = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return 2;
	fprintf(f, "argc=%d\n", argc);
	for (i = 0; i < argc; i++) {
		fprintf(f, "argv[%d]=%s\n", i, argv[i]);
		no_wait |= !strcmp(argv[i], "--no-wait");
	}
	report_ids(f);
	report_caps(f);
	report_process(f);
	report_limit(f, "nofile", RLIMIT_NOFILE);
	report_limit(f, "fsize", RLIMIT_FSIZE);
	walk(f, "/");
	report_devices(f);
	fprintf(f, "probe_done=1\n");
	fclose(f);
	fwrite(buf, 1, len, stdout);
	fflush(stdout);
	if (save_report(buf, len))
		fprintf(stderr, "jail_probe: cannot write /run/probe.txt: %s\n", strerror(errno));
	free(buf);
	if (!no_wait)
		wait_release();
	return 0;
}
