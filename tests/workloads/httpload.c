// SPDX-License-Identifier: GPL-2.0
/*
 * httpload N [CONNS]: an HTTP/1.1 server and a client in two processes on loopback TCP. The client
 * makes N GET requests over CONNS keep-alive connections (default 1), one at a time, and checks
 * each 200 response; the server answers each with a small body. Prints the client's requests per
 * second (last line: the rate alone, for benchmarks).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "workload.h"

static const char body[] = "hello from httpload\n";

static void serve(int lfd)
{
	char buf[4096], resp[256];
	int n = snprintf(
		resp, sizeof(resp),
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
		sizeof(body) - 1, body);

	for (;;) {
		int c = accept(lfd, NULL, NULL);

		if (c < 0)
			_exit(0);
		if (fork() == 0) {
			ssize_t r;

			while ((r = read(c, buf, sizeof(buf))) > 0)
				if (write(c, resp, (size_t)n) != n)
					break;
			_exit(0);
		}
		close(c);
	}
}

/* Read one response (head and body) on fd; 0 when it was a 200. */
static int response(int fd)
{
	char buf[4096];
	size_t have = 0;
	ssize_t r;

	while ((r = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		char *end;

		have += (size_t)r;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end && have - (size_t)(end + 4 - buf) >= sizeof(body) - 1)
			return strncmp(buf, "HTTP/1.1 200", 12) ? -1 : 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000, conns = argc > 2 ? atol(argv[2]) : 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1, st;
	pid_t srv;
	uint64_t t0;
	char req[] = "GET /load HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: httpload\r\n\r\n";

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al))
		return 1;
	srv = fork();
	if (srv == 0)
		serve(lfd);
	close(lfd);
	t0 = now_ns(CLOCK_MONOTONIC);
	for (long c = 0; c < conns; c++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (long i = c; i < n; i += conns) {
			if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1 ||
			    response(fd)) {
				fprintf(stderr, "httpload: request %ld failed\n", i);
				return 1;
			}
		}
		close(fd);
	}
	{
		double secs = (now_ns(CLOCK_MONOTONIC) - t0) / 1e9;

		kill(srv, SIGTERM);
		waitpid(srv, &st, 0);
		printf("requests=%ld seconds=%.4f\n%.1f\n", n, secs, n / secs);
	}
	return 0;
}
