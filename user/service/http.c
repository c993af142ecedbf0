// SPDX-License-Identifier: GPL-2.0
/* libmicrohttpd underneath the router: requests, arguments, auth, limits, replies. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <jansson.h>

#include "kernel/caps.h"
#include "service/http.h"
#include "util/log.h"

#define MAX_ROUTES 64
#define MAX_ARGS 64

struct route {
	char method[8];
	char pattern[128];
	size_t plen;
	unsigned int flags;
	http_handler fn;
	void *arg;
};

struct http_server {
	struct MHD_Daemon *d;
	struct route routes[MAX_ROUTES];
	int nroutes;
	char *token;
	size_t max_body;
	int port;
	volatile bool stopping;
};

struct arg_kv {
	char *name, *value;
};

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *method, *url, *tail;
	char *body;
	size_t body_len;
	bool too_big;
	struct arg_kv args[MAX_ARGS];
	int nargs;
	bool too_many_args;
	bool replied;
};

bool http_token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
	unsigned char diff = la != lb;

	/* Every byte of the longer string is visited whatever the contents. */
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(i < la ? a[i] : 0) ^ (unsigned char)(i < lb ? b[i] : 0);
	return !diff;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	pr_debug("http: %s", buf);
}

static int add_arg(struct http_request *r, const char *name, const char *value)
{
	if (r->nargs == MAX_ARGS) {
		r->too_many_args = true;
		return 0;
	}
	r->args[r->nargs].name = strdup(name ? name : "");
	r->args[r->nargs].value = strdup(value ? value : "");
	if (!r->args[r->nargs].name || !r->args[r->nargs].value) {
		free(r->args[r->nargs].name);
		free(r->args[r->nargs].value);
		return -ENOMEM;
	}
	r->nargs++;
	return 0;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	(void)kind;
	return add_arg(cls, key, value) ? MHD_NO : MHD_YES;
}

/* application/x-www-form-urlencoded bodies (PromQL clients POST their queries). */
static void parse_form(struct http_request *r)
{
	char *save = NULL, *pair;

	for (pair = strtok_r(r->body, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(pair, '=');

		if (eq)
			*eq++ = '\0';
		for (char *p = pair; *p; p++)
			if (*p == '+')
				*p = ' ';
		for (char *p = eq; p && *p; p++)
			if (*p == '+')
				*p = ' ';
		MHD_http_unescape(pair);
		if (eq)
			MHD_http_unescape(eq);
		if (add_arg(r, pair, eq ? eq : ""))
			break;
	}
}

static int queue(struct http_request *r, int status, struct MHD_Response *resp)
{
	enum MHD_Result ok;

	if (!resp)
		return -ENOMEM;
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"vigil\"");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ok = MHD_queue_response(r->conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	r->replied = true;
	return ok == MHD_YES ? 0 : -EIO;
}

int http_reply_with(struct http_request *r, int status, const char *content_type, const void *data,
		    size_t len, const char *header, const char *value)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);

	if (!resp)
		return -ENOMEM;
	if (content_type)
		MHD_add_response_header(resp, "Content-Type", content_type);
	if (header)
		MHD_add_response_header(resp, header, value);
	return queue(r, status, resp);
}

int http_reply(struct http_request *r, int status, const char *content_type, const void *data,
	       size_t len)
{
	return http_reply_with(r, status, content_type, data, len, NULL, NULL);
}

int http_reply_json(struct http_request *r, int status, json_t *j)
{
	char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int err;

	json_decref(j);
	if (!txt)
		return -ENOMEM;
	err = http_reply(r, status, "application/json", txt, strlen(txt));
	free(txt);
	return err;
}

int http_reply_error(struct http_request *r, int status, const char *fmt, ...)
{
	char msg[512], *txt;
	json_t *o;
	va_list ap;
	int err;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s}", "error", msg);
	txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!txt)
		return -ENOMEM;
	err = http_reply(r, status, "application/json", txt, strlen(txt));
	free(txt);
	return err;
}

struct stream {
	ssize_t (*read)(void *ctx, char *buf, size_t max);
	void *ctx;
	void (*free_ctx)(void *ctx);
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	ssize_t n;

	(void)pos;
	n = st->read(st->ctx, buf, max);
	return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;

	if (st->free_ctx)
		st->free_ctx(st->ctx);
	free(st);
}

int http_reply_stream(struct http_request *r, int status, const char *content_type,
		      ssize_t (*read)(void *ctx, char *buf, size_t max), void *ctx,
		      void (*free_ctx)(void *ctx))
{
	struct stream *st = malloc(sizeof(*st));
	struct MHD_Response *resp;

	if (!st) {
		if (free_ctx)
			free_ctx(ctx);
		return -ENOMEM;
	}
	*st = (struct stream){ read, ctx, free_ctx };
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, st,
						 stream_free);
	if (!resp) {
		stream_free(st);
		return -ENOMEM;
	}
	MHD_add_response_header(resp, "Content-Type", content_type);
	return queue(r, status, resp);
}

static bool authorized(struct http_request *r)
{
	const char *h;

	if (!r->srv->token)
		return true;
	h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7))
		return false;
	return http_token_equal(h + 7, r->srv->token);
}

static const struct route *find_route(struct http_request *r, bool *other_method)
{
	*other_method = false;
	for (int i = 0; i < r->srv->nroutes; i++) {
		const struct route *rt = &r->srv->routes[i];
		bool match = !strcmp(r->url, rt->pattern);

		if (!match && (rt->flags & HTTP_ROUTE_PREFIX) &&
		    !strncmp(r->url, rt->pattern, rt->plen) && r->url[rt->plen] == '/')
			match = true;
		if (!match)
			continue;
		if (strcmp(rt->method, r->method) &&
		    !(!strcmp(rt->method, "GET") && !strcmp(r->method, "HEAD"))) {
			*other_method = true;
			continue;
		}
		r->tail = r->url[rt->plen] == '/' ? r->url + rt->plen + 1 : "";
		return rt;
	}
	return NULL;
}

static int dispatch(struct http_request *r)
{
	const struct route *rt;
	bool other;
	int err;

	if (r->too_big)
		return http_reply_error(r, 413, "request body over %zu bytes", r->srv->max_body);
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, r);
	if (r->body) {
		const char *ct =
			MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");

		if (ct && !strncasecmp(ct, "application/x-www-form-urlencoded", 33))
			parse_form(r);
	}
	if (r->too_many_args)
		return http_reply_error(r, 400, "more than %d query arguments", MAX_ARGS);
	rt = find_route(r, &other);
	if (!rt && other)
		return http_reply_error(r, 405, "method %s not allowed on %s", r->method, r->url);
	if (!rt)
		return http_reply_error(r, 404, "no such path: %s", r->url);
	if (!(rt->flags & HTTP_ROUTE_PUBLIC) && !authorized(r))
		return http_reply_error(r, 401, "missing or wrong bearer token");
	err = rt->fn(r, rt->arg);
	if (!r->replied)
		return http_reply_error(r, 500, "internal error: %s",
					strerror(err < 0 ? -err : EIO));
	return 0;
}

/*
 * Requests are other people's bytes and need no capability: the listening thread drops them all
 * when its first connection arrives (before that connection's thread is made, so every connection
 * thread starts empty), and each connection thread makes sure before parsing anything.
 */
static void no_capabilities(void)
{
	static __thread bool dropped;

	if (!dropped && !caps__drop_thread())
		dropped = true;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)conn;
	(void)socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		no_capabilities();
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_request *r = *con_cls;

	(void)version;
	no_capabilities();
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->srv = s;
		r->conn = conn;
		r->method = method;
		r->url = url;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->body_len + *upload_size > s->max_body) {
			r->too_big = true;
		} else {
			char *b = realloc(r->body, r->body_len + *upload_size + 1);

			if (!b)
				return MHD_NO;
			memcpy(b + r->body_len, upload_data, *upload_size);
			r->body = b;
			r->body_len += *upload_size;
			r->body[r->body_len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return dispatch(r) ? MHD_NO : MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode code)
{
	struct http_request *r = *con_cls;

	(void)cls;
	(void)conn;
	(void)code;
	if (!r)
		return;
	for (int i = 0; i < r->nargs; i++) {
		free(r->args[i].name);
		free(r->args[i].value);
	}
	free(r->body);
	free(r);
	*con_cls = NULL;
}

/* "host:port", "[v6]:port", ":port". */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, bool *v6)
{
	char host[128];
	const char *colon = strrchr(listen, ':'), *h = listen;
	char *end;
	long port;
	size_t hl;

	if (!colon)
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535)
		return -EINVAL;
	hl = (size_t)(colon - listen);
	if (hl >= sizeof(host))
		return -EINVAL;
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	*v6 = false;
	if (!*host || !strcmp(host, "*")) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_any;
		a->sin6_port = htons((uint16_t)port);
		*v6 = true;
		return 0;
	}
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*v6 = true;
		return 0;
	}
	if (!strcmp(host, "localhost")) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		return 0;
	}
	return -EINVAL;
}

struct http_server *http_server__new(const struct http_server_opts *o)
{
	struct http_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_POLL | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	bool v6;
	int err;

	if (!s)
		return NULL;
	s->max_body = o->max_body ? o->max_body : 1 << 20;
	if (o->token && !(s->token = strdup(o->token))) {
		err = -ENOMEM;
		goto fail;
	}
	err = parse_listen(o->listen, &ss, &v6);
	if (err) {
		pr_err("invalid --listen '%s' (want HOST:PORT, e.g. 127.0.0.1:7470 or [::1]:7470)",
		       o->listen);
		goto fail;
	}
	if (v6)
		flags |= MHD_USE_DUAL_STACK;
	if (o->tls_cert_pem) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			pr_err("this libmicrohttpd has no TLS support (needs GnuTLS)");
			err = -ENOTSUP;
			goto fail;
		}
		flags |= MHD_USE_TLS;
	}
	s->d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, o->max_connections ? o->max_connections : 256,
		/* request line + headers must fit: longer URLs get 414, headers 431 */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
		MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, NULL, o->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
		o->tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY, o->tls_key_pem, MHD_OPTION_END);
	if (!s->d) {
		err = errno ? -errno : -EADDRINUSE;
		pr_err("cannot listen on %s: %s%s", o->listen, strerror(-err),
		       o->tls_cert_pem ? " (or the TLS certificate and key do not load)" : "");
		goto fail;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	return s;
fail:
	http_server__free(s);
	errno = -err;
	return NULL;
}

void http_server__free(struct http_server *s)
{
	if (!s)
		return;
	s->stopping = true;
	if (s->d)
		MHD_stop_daemon(s->d);
	free(s->token);
	free(s);
}

int http_server__port(const struct http_server *s)
{
	return s->port;
}

bool http_server__stopping(const struct http_server *s)
{
	return s->stopping;
}

bool http_server__has_route(const struct http_server *s, const char *method, const char *pattern)
{
	for (int i = 0; i < s->nroutes; i++)
		if (!strcmp(s->routes[i].pattern, pattern) && !strcmp(s->routes[i].method, method))
			return true;
	return false;
}

int http_server__route(struct http_server *s, const char *method, const char *pattern,
		       unsigned int flags, http_handler fn, void *arg)
{
	struct route *rt;

	if (s->nroutes == MAX_ROUTES || strlen(pattern) >= sizeof(rt->pattern) ||
	    strlen(method) >= sizeof(rt->method))
		return -ENOSPC;
	for (int i = 0; i < s->nroutes; i++)
		if (!strcmp(s->routes[i].pattern, pattern) &&
		    !strcmp(s->routes[i].method, method) &&
		    (s->routes[i].flags & HTTP_ROUTE_PREFIX) == (flags & HTTP_ROUTE_PREFIX))
			return -EEXIST;
	rt = &s->routes[s->nroutes++];
	snprintf(rt->method, sizeof(rt->method), "%s", method);
	snprintf(rt->pattern, sizeof(rt->pattern), "%s", pattern);
	rt->plen = strlen(pattern);
	rt->flags = flags;
	rt->fn = fn;
	rt->arg = arg;
	return 0;
}

const char *http_request__method(const struct http_request *r)
{
	return r->method;
}

const char *http_request__path(const struct http_request *r)
{
	return r->url;
}

const char *http_request__tail(const struct http_request *r)
{
	return r->tail ? r->tail : "";
}

const char *http_request__arg(const struct http_request *r, const char *name)
{
	for (int i = 0; i < r->nargs; i++)
		if (!strcmp(r->args[i].name, name))
			return r->args[i].value;
	return NULL;
}

int http_request__args(const struct http_request *r,
		       int (*fn)(void *arg, const char *name, const char *value), void *arg)
{
	for (int i = 0; i < r->nargs; i++) {
		int ret = fn(arg, r->args[i].name, r->args[i].value);

		if (ret)
			return ret;
	}
	return 0;
}

const char *http_request__header(const struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const void *http_request__body(const struct http_request *r, size_t *len)
{
	*len = r->body_len;
	return r->body;
}

struct http_server *http_request__server(const struct http_request *r)
{
	return r->srv;
}
