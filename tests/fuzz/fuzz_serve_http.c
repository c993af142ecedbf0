// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for what vigil serve does with request bytes from the network: its HTTP server
 * (service/http.c over libmicrohttpd: router, bearer-token check, URL, header and body limits, query
 * and form-body arguments, JSON error replies that quote the request) and the API's argument
 * parsers (api_parse_time for from/to, cli_parse_duration for step), exactly as the endpoints call
 * them. The input is one raw request (or several, pipelined) sent on a fresh TCP connection to a
 * server on 127.0.0.1; the connection is half-closed after the bytes. Promises: whatever comes back
 * starts with "HTTP/1.", and the server still answers the next connection (it stays up).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "service/api.h"
#include "service/http.h"
#include "util/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BROKEN(why) (fprintf(stderr, "fuzz_serve_http: %s\n", why), __builtin_trap())

static struct http_server *srv;
static int port;

/* As api.c's metric_points and profile endpoints: name from the path, from/to/step, matchers. */
static int count_arg(void *arg, const char *name, const char *value)
{
	size_t *n = arg;

	if (!name || !value)
		BROKEN("argument without name or value");
	(*n)++;
	return 0;
}

static int points(struct http_request *r, void *arg)
{
	const char *name = http_request__tail(r), *f = http_request__arg(r, "from"),
		   *t = http_request__arg(r, "to"), *step = http_request__arg(r, "step");
	__s64 from = 0, to = 0, now = 1700000000000LL;
	double d;
	size_t n = 0;
	char out[128];

	(void)arg;
	if (t && api_parse_time(t, now, &to))
		return http_reply_error(r, 400,
					"bad 'to' '%s' (want unix seconds, 'now' or 'now-1h')", t);
	if (f && api_parse_time(f, now, &from))
		return http_reply_error(r, 400, "bad 'from' '%s'", f);
	if (step && cli_parse_duration(step, &d))
		return http_reply_error(r, 400, "bad 'step' '%s' (want seconds or 30s, 5m ...)",
					step);
	if (http_request__args(r, count_arg, &n))
		return http_reply_error(r, 400, "bad arguments");
	if (*name && strchr(name, '/'))
		return http_reply_error(r, 404, "no such metric: '%s'", name);
	snprintf(out, sizeof(out), "{\"from\":%lld,\"to\":%lld,\"args\":%zu}", (long long)from,
		 (long long)to, n);
	return http_reply(r, 200, "application/json", out, strlen(out));
}

static int ingest(struct http_request *r, void *arg)
{
	size_t len = 0;
	const void *body = http_request__body(r, &len);
	const char *ct = http_request__header(r, "Content-Type");

	(void)arg;
	if (len && !body)
		BROKEN("body length without a body");
	return http_reply_with(r, 200, "text/plain", body ? body : "", len, "X-Content-Type",
			       ct ? ct : "none");
}

static int healthz(struct http_request *r, void *arg)
{
	(void)arg;
	return http_reply(r, 200, "text/plain", "ok\n", 3);
}

static int fails(struct http_request *r, void *arg)
{
	(void)r;
	(void)arg;
	return -EIO; /* no reply: the server's 500 */
}

static void start(void)
{
	struct http_server_opts o = { .listen = "127.0.0.1:0",
				      .token = "fuzz-token-0123456789",
				      .max_connections = 16,
				      .max_body = 4096 };

	srv = http_server__new(&o);
	if (!srv || http_server__route(srv, "GET", "/healthz", HTTP_ROUTE_PUBLIC, healthz, NULL) ||
	    http_server__route(srv, "GET", "/api/v1/metrics", HTTP_ROUTE_PREFIX, points, NULL) ||
	    http_server__route(srv, "GET", "/api/v1/profiling/cpu", 0, points, NULL) ||
	    http_server__route(srv, "POST", "/ingest", HTTP_ROUTE_PUBLIC, ingest, NULL) ||
	    http_server__route(srv, "GET", "/fails", 0, fails, NULL)) {
		fprintf(stderr, "fuzz_serve_http: cannot start the server\n");
		exit(1);
	}
	port = http_server__port(srv);
}

/* One connection: send, half-close, read to the end. Bytes read, or -1 when no connection. */
static ssize_t exchange(const void *req, size_t len, char *resp, size_t max)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 10 };
	size_t got = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	/* The server may answer (413, 431) and close before it has read everything: not an error. */
	for (size_t off = 0; off < len; off += (size_t)n) {
		n = send(fd, (const char *)req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
	}
	shutdown(fd, SHUT_WR);
	while (got < max && (n = recv(fd, resp + got, max - got, 0)) > 0)
		got += (size_t)n;
	/* Drain what does not fit, so the server never blocks on a full socket. */
	while (got == max && recv(fd, resp, max, 0) > 0)
		;
	close(fd);
	return (ssize_t)got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char probe[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	static char resp[1 << 16];
	ssize_t n;

	if (!srv)
		start();
	n = exchange(data, size, resp, sizeof(resp));
	if (n < 0)
		BROKEN("the server refused a connection");
	if (n > 0 && (n < 7 || memcmp(resp, "HTTP/1.", 7)))
		BROKEN("a reply that is not HTTP/1.x");
	/*
	 * Still up, and still right. A connection closed at once with no reply is the connection
	 * limit: the threads of the connections just served may not have counted themselves out
	 * yet (seen on a loaded host: fuzz-smoke at nice 19). That is the limit doing its job, so it
	 * is retried for up to 5 s; any reply but 200, or no reply for 5 s, is a server that stopped.
	 */
	for (int tries = 0;; tries++) {
		n = exchange(probe, sizeof(probe) - 1, resp, sizeof(resp));
		if (n != 0 || tries == 500)
			break;
		usleep(10 * 1000);
	}
	if (n < 12 || memcmp(resp, "HTTP/1.1 200", 12)) {
		fprintf(stderr, "fuzz_serve_http: /healthz answered %zd bytes: %.*s\n", n,
			(int)(n > 0 ? (n < 80 ? n : 80) : 0), resp);
		BROKEN("the server stopped answering /healthz");
	}
	return 0;
}
