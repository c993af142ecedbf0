/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The HTTP server of `vigil serve` (libmicrohttpd, one thread per connection) and its router.
 * Endpoints register with http_server__route(), so new ones (e.g. the analytics' /api/v1/query,
 * /api/v1/alerts) are added from their own file without touching the router:
 *
 *     static int query(struct http_request *r, void *arg) { ...; return http_reply_json(r, 200, j); }
 *     http_server__route(srv, "GET", "/api/v1/query", 0, query, engine);
 *
 * What the server enforces for every route: the bearer token (all paths but HTTP_ROUTE_PUBLIC ones,
 * compared in constant time; 401 with WWW-Authenticate otherwise), bounded URL and header sizes
 * (414/431), bounded bodies (413), a bounded number of connections, 404 for unknown paths and 405
 * for a known path with another method. Handlers run on the connection's thread, so they may block
 * (long polls, server-sent events); they must be thread-safe.
 */
#ifndef VIGIL_SERVICE_HTTP_H
#define VIGIL_SERVICE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct http_server;
struct http_request;

struct http_server_opts {
	const char *listen; /* "127.0.0.1:7470", "[::1]:7470", "0.0.0.0:7470", ":7470" (all) */
	const char *token; /* bearer token, or NULL for none (borrowed for the server's life) */
	const char *tls_cert_pem,
		*tls_key_pem; /* PEM contents (not paths), or NULL for plain HTTP */
	unsigned int max_connections; /* 0 = 256 */
	size_t max_body; /* 0 = 1 MiB */
};

/* Bind and start serving. NULL + errno after a one-line error (address in use, bad address, TLS). */
struct http_server *http_server__new(const struct http_server_opts *o);
/* Stop accepting, wait for running handlers (streaming ones see http_server__stopping). NULL-safe. */
void http_server__free(struct http_server *s);
/* The bound port (useful with port 0). */
int http_server__port(const struct http_server *s);
bool http_server__stopping(const struct http_server *s);

#define HTTP_ROUTE_PREFIX (1u << 0) /* pattern matches itself and anything below "pattern/" */
#define HTTP_ROUTE_PUBLIC (1u << 1) /* no token needed (/healthz) */

typedef int (*http_handler)(struct http_request *r, void *arg);
/*
 * Route METHOD pattern to fn(r, arg). Register before traffic starts (not thread-safe against
 * requests). A handler replies with one of the http_reply* functions and returns 0; a negative
 * return without a reply becomes a 500 with {"error": "..."}. 0 or -errno (-EEXIST: taken).
 */
int http_server__route(struct http_server *s, const char *method, const char *pattern,
		       unsigned int flags, http_handler fn, void *arg);

/* Is METHOD pattern routed (exactly as registered)? For pages that show what the service has. */
bool http_server__has_route(const struct http_server *s, const char *method, const char *pattern);

/* Request accessors; strings belong to the request. */
const char *http_request__method(const struct http_request *r);
const char *http_request__path(const struct http_request *r);
/* What follows "pattern/" for a HTTP_ROUTE_PREFIX route ("" when the path is the pattern). */
const char *http_request__tail(const struct http_request *r);
/* A query-string (or form-body) argument, decoded; NULL when absent. */
const char *http_request__arg(const struct http_request *r, const char *name);
/* Call fn for every argument (name, value) in order; stops at a non-zero return. */
int http_request__args(const struct http_request *r,
		       int (*fn)(void *arg, const char *name, const char *value), void *arg);
const char *http_request__header(const struct http_request *r, const char *name);
const void *http_request__body(const struct http_request *r, size_t *len);
struct http_server *http_request__server(const struct http_request *r);

/* Replies. The data is copied. extra_header may be NULL ("Name: value"). 0 or -errno. */
int http_reply(struct http_request *r, int status, const char *content_type, const void *data,
	       size_t len);
int http_reply_with(struct http_request *r, int status, const char *content_type, const void *data,
		    size_t len, const char *header, const char *value);
/* A jansson value as compact JSON (application/json); takes the reference to j (NULL: -ENOMEM). */
struct json_t;
int http_reply_json(struct http_request *r, int status, struct json_t *j);
/* {"error": "..."} with the status (400, 404, 503, ...). */
int http_reply_error(struct http_request *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * A streamed reply: read(ctx, buf, max) returns bytes written into buf (> 0), 0 to wait and be
 * called again, or -1 to end the stream; it runs on the connection's thread and may block (use
 * timeouts so server shutdown is seen). free_ctx(ctx) runs when the connection ends.
 */
int http_reply_stream(struct http_request *r, int status, const char *content_type,
		      ssize_t (*read)(void *ctx, char *buf, size_t max), void *ctx,
		      void (*free_ctx)(void *ctx));

/* Constant-time equality of two strings (time depends on the lengths only). */
bool http_token_equal(const char *a, const char *b);

#endif
