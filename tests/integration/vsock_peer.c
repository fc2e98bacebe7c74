// SPDX-License-Identifier: Apache-2.0
/*
 * The host end of test_vsock.sh, over plain Unix sockets (no socat here):
 *
 *   vsock_peer listen PATH REPLY
 *	listen on PATH (what a guest connection to port P reaches when PATH is
 *	"<uds_path>_P"), accept one connection, read a line and print
 *	"got: <line>", answer "REPLY\n", read until the end of the stream and
 *	print "eof".
 *   vsock_peer connect PATH PORT LINE
 *	connect to the device's socket PATH, send "CONNECT PORT\n", print the
 *	answer line ("OK <host port>"), send "LINE\n", print the line that
 *	comes back as "echo: <line>", close.
 *
 * Every step is bounded in time; any failure prints why and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define LINE_MAX_LEN 256
#define IO_TIMEOUT_S 60

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "vsock_peer: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		die("setsockopt");
}

static struct sockaddr_un unix_addr(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(a.sun_path)) {
		errno = ENAMETOOLONG;
		die(path);
	}
	strcpy(a.sun_path, path);
	return a;
}

/* A line up to '\n' (dropped) into @buf, one byte at a time: nothing past it is consumed. */
static void read_line(int fd, char *buf, size_t max)
{
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (!r)
				errno = 0;
			die("reading a line");
		}
		if (c == '\n')
			break;
		if (n + 1 >= max) {
			errno = EMSGSIZE;
			die("reading a line");
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("writing");
		buf += n;
		len -= (size_t)n;
	}
}

static int peer_listen(const char *path, const char *reply)
{
	struct sockaddr_un a = unix_addr(path);
	char line[LINE_MAX_LEN], c;
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), fd;
	ssize_t n;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4))
		die(path);
	/* The test starts the VM once this line is out. */
	printf("listening\n");
	fflush(stdout);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		die("accept");
	set_timeouts(fd);
	read_line(fd, line, sizeof(line));
	printf("got: %s\n", line);
	fflush(stdout);
	write_all(fd, reply, strlen(reply));
	write_all(fd, "\n", 1);
	/* The guest closes its end: the stream ends. */
	while ((n = read(fd, &c, 1)) > 0)
		;
	if (n < 0)
		die("waiting for the end of the stream");
	printf("eof\n");
	close(fd);
	close(lfd);
	unlink(path);
	return 0;
}

static int peer_connect(const char *path, const char *port, const char *text)
{
	struct sockaddr_un a = unix_addr(path);
	char line[LINE_MAX_LEN];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die(path);
	set_timeouts(fd);
	snprintf(line, sizeof(line), "CONNECT %s\n", port);
	write_all(fd, line, strlen(line));
	read_line(fd, line, sizeof(line));
	printf("%s\n", line);
	fflush(stdout);
	write_all(fd, text, strlen(text));
	write_all(fd, "\n", 1);
	read_line(fd, line, sizeof(line));
	printf("echo: %s\n", line);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	/* No step may hang the test. */
	alarm(2 * IO_TIMEOUT_S);
	if (argc == 4 && !strcmp(argv[1], "listen"))
		return peer_listen(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "connect"))
		return peer_connect(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: vsock_peer listen PATH REPLY | connect PATH PORT LINE\n");
	return 2;
}
