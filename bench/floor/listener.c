// SPDX-License-Identifier: Apache-2.0
/*
 * The floor under bench's spawn_to_api_socket: a static program that only
 * binds and listens on the Unix socket named by its one argument, then
 * waits to be killed. It is spawned and waited for exactly as ember is, so
 * the difference between the two rows is ember's own start-up; what they
 * share (fork/exec, the static C library's start, the machine's scheduling
 * and CPU wake-up) is what no process started here avoids.
 */
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (argc != 2 ||
	    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]) >= (int)sizeof(sa.sun_path))
		return 2;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 10))
		return 1;
	for (;;)
		pause();
}
