// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/httptrack.h"
#include "model/hashmap.h"
#include "model/http.h"

enum role { ROLE_NONE, ROLE_SERVER, ROLE_CLIENT };

/* Both ends of a connection, client first: the same key from either side. */
struct conn_key {
	__u8 client[16], server[16];
	__u16 cport, sport;
	__u32 family;
	__u64 cptr, sptr; /* unix: the client's socket inode, the server's sock */
};

struct conn {
	__u32 pid;
	__u64 sk;
	enum role role;
	struct conn_key key;
	__u32 requests; /* requests seen on this connection */
	__u32 span; /* the open span, or SPAN_NONE */
	__u64 req_bytes, resp_bytes;
	bool response_seen;
};

/* A finished (or open) HTTP span and what pairs it with its other end. */
struct hspan {
	__u32 span;
	enum role role;
	struct conn_key key;
	__u32 seq; /* index of the request on its connection */
	bool has_tp;
	__u8 trace_id[16];
	__u64 parent_id;
};

struct httptrack {
	struct spans *s;
	struct hashmap *conns; /* (pid, sk) -> struct conn * */
	struct hspan *v;
	size_t n, cap;
};

struct conn_id {
	__u32 pid;
	__u64 sk;
};

static uint64_t conn_hash(const void *k, void *ctx)
{
	const struct conn_id *c = k;

	(void)ctx;
	return hash_u64(c->sk ^ ((uint64_t)c->pid << 48 | c->pid));
}

static bool conn_equal(const void *a, const void *b, void *ctx)
{
	const struct conn_id *x = a, *y = b;

	(void)ctx;
	return x->pid == y->pid && x->sk == y->sk;
}

struct httptrack *httptrack__new(struct spans *s)
{
	struct httptrack *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->s = s;
	h->conns = hashmap__new(conn_hash, conn_equal, NULL);
	if (!h->conns) {
		free(h);
		return NULL;
	}
	return h;
}

static int free_conn(const void *key, uintptr_t v, void *arg)
{
	(void)arg;
	free((void *)key);
	free((void *)v);
	return 0;
}

void httptrack__free(struct httptrack *h)
{
	if (!h)
		return;
	hashmap__for_each(h->conns, free_conn, NULL);
	hashmap__free(h->conns);
	free(h->v);
	free(h);
}

void httptrack_endpoint(const struct vg_fd_info *f, bool remote, char *buf, size_t len)
{
	const __u8 *a = remote ? f->daddr : f->saddr;
	unsigned int port = remote ? f->dport : f->sport;
	char ip[INET6_ADDRSTRLEN] = "?";

	if (f->family == 2) {
		inet_ntop(AF_INET, a, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, port);
	} else if (f->family == 10) {
		inet_ntop(AF_INET6, a, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, port);
	} else {
		snprintf(buf, len, "unix");
	}
}

static struct conn *conn_for(struct httptrack *h, const struct vg_trec_sock *r)
{
	struct conn_id id = { .pid = r->hdr.pid, .sk = r->fdi.sk }, *kp;
	struct conn *c;
	uintptr_t v;

	if (hashmap__get(h->conns, &id, &v))
		return (struct conn *)v;
	c = calloc(1, sizeof(*c));
	kp = malloc(sizeof(*kp));
	if (kp)
		*kp = id;
	if (!c || !kp || hashmap__set(h->conns, kp, (uintptr_t)c)) {
		free(c);
		free(kp);
		return NULL;
	}
	c->pid = id.pid;
	c->sk = id.sk;
	c->span = SPAN_NONE;
	return c;
}

/* The connection's key as seen from role's side. */
static void make_key(struct conn_key *k, const struct vg_fd_info *f, enum role role)
{
	bool client = role == ROLE_CLIENT;

	memset(k, 0, sizeof(*k));
	k->family = f->family;
	/* unix: the client's socket inode (its own from the start, unique for its life) and the
	 * server's sock (the client's peer from connect on, before the server even accepted it and
	 * gave it an inode; reused by later connections, which the client inode tells apart). */
	if (f->family == 1) {
		__u64 peer_ino;

		memcpy(&peer_ino, f->daddr, sizeof(peer_ino));
		k->cptr = client ? f->ino : peer_ino;
		k->sptr = client ? f->peer : f->sk;
		return;
	}
	memcpy(k->client, client ? f->saddr : f->daddr, 16);
	memcpy(k->server, client ? f->daddr : f->saddr, 16);
	k->cport = client ? f->sport : f->dport;
	k->sport = client ? f->dport : f->sport;
}

static struct hspan *hspan_new(struct httptrack *h)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 32;
		struct hspan *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		h->v = v;
		h->cap = cap;
	}
	memset(&h->v[h->n], 0, sizeof(h->v[0]));
	return &h->v[h->n++];
}

static void close_span(struct httptrack *h, struct conn *c)
{
	if (c->span == SPAN_NONE)
		return;
	spans__attr_int(h->s, c->span, "http.request.size", (__s64)c->req_bytes);
	spans__attr_int(h->s, c->span, "http.response.size", (__s64)c->resp_bytes);
	c->span = SPAN_NONE;
}

/* A request head: a SERVER span when received, a CLIENT span when sent. */
static int open_span(struct httptrack *h, struct conn *c, const struct vg_trec_sock *r,
		     const struct http_head *hd, __u32 parent)
{
	bool server = r->flags & VG_SOCK_RX;
	__u64 start = server ? r->hdr.ts + r->dur : r->hdr.ts;
	char name[300], path[256], ep[64], url[512];
	struct hspan *hs;
	__u32 sp;
	int err = 0;

	struct conn_key key;

	close_span(h, c);
	make_key(&key, &r->fdi, server ? ROLE_SERVER : ROLE_CLIENT);
	/* A socket's kernel object outlives its connection: another connection starts over. */
	if (memcmp(&key, &c->key, sizeof(key)) || c->role != (server ? ROLE_SERVER : ROLE_CLIENT))
		c->requests = 0;
	c->key = key;
	c->role = server ? ROLE_SERVER : ROLE_CLIENT;
	http_target_path(hd->target, path, sizeof(path));
	snprintf(name, sizeof(name), "%s %s", hd->method, path);
	sp = spans__add(h->s, SPAN_HTTP, name, r->hdr.pid, r->hdr.tid, start,
			server ? start : r->hdr.ts + r->dur);
	hs = sp == SPAN_NONE ? NULL : hspan_new(h);
	if (!hs)
		return -ENOMEM;
	spans__at(h->s, sp)->parent = parent;
	spans__at(h->s, sp)->kind = server ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT;
	hs->span = sp;
	hs->role = c->role;
	hs->key = c->key;
	hs->seq = c->requests++;
	if (hd->has_traceparent) {
		hs->has_tp = true;
		memcpy(hs->trace_id, hd->trace_id, 16);
		hs->parent_id = hd->parent_id;
	}
	c->span = sp;
	c->req_bytes = r->ret > 0 ? (__u64)r->ret : 0;
	c->resp_bytes = 0;
	c->response_seen = false;
	err |= spans__attr_str(h->s, sp, "http.request.method", hd->method);
	err |= spans__attr_str(h->s, sp, "url.path", path);
	err |= spans__attr_str(h->s, sp, "network.protocol.name", "http");
	err |= spans__attr_str(h->s, sp, "network.protocol.version", hd->minor ? "1.1" : "1.0");
	err |= spans__attr_str(h->s, sp, "network.transport", r->fdi.family == 1 ? "unix" : "tcp");
	if (*hd->user_agent)
		err |= spans__attr_str(h->s, sp, "user_agent.original", hd->user_agent);
	if (r->fdi.family != 1) {
		const __u8 *srv = server ? r->fdi.saddr : r->fdi.daddr;
		char ip[INET6_ADDRSTRLEN] = "";

		inet_ntop(r->fdi.family == 2 ? AF_INET : AF_INET6, srv, ip, sizeof(ip));
		err |= spans__attr_str(h->s, sp, "server.address", *hd->host ? hd->host : ip);
		err |= spans__attr_int(h->s, sp, "server.port",
				       server ? r->fdi.sport : r->fdi.dport);
		httptrack_endpoint(&r->fdi, server, ep, sizeof(ep));
		err |= spans__attr_str(h->s, sp, server ? "client.address" : "vigil.local.address",
				       ep);
	}
	if (!server) {
		snprintf(url, sizeof(url), "http://%s%s", *hd->host ? hd->host : "localhost",
			 hd->target[0] == '/' ? hd->target : path);
		err |= spans__attr_str(h->s, sp, "url.full", url);
	}
	if (hd->has_traceparent)
		err |= spans__attr_bool(h->s, sp, "vigil.traceparent", true);
	return err ? -ENOMEM : 0;
}

/* A response head: the status, and an error for 4xx and 5xx. */
static int response(struct httptrack *h, struct conn *c, const struct http_head *hd)
{
	char msg[96];

	c->response_seen = true;
	if (spans__attr_int(h->s, c->span, "http.response.status_code", hd->status))
		return -ENOMEM;
	if (hd->status >= 400) {
		snprintf(msg, sizeof(msg), "HTTP %d%s%s", hd->status, *hd->reason ? " " : "",
			 hd->reason);
		spans__set_status(h->s, c->span, SPAN_STATUS_ERROR, msg);
		if (spans__attr_str(h->s, c->span, "error.type", msg + 5))
			return -ENOMEM;
	}
	return 0;
}

int httptrack__sock(struct httptrack *h, const struct vg_trec_sock *r, __u32 parent)
{
	struct conn *c = conn_for(h, r);
	bool rx = r->flags & VG_SOCK_RX;
	__u64 end = r->hdr.ts + r->dur;
	struct http_head hd;
	bool head = (r->flags & VG_SOCK_HEAD) && !http_parse_head(r->data, r->len, &hd);

	if (!c)
		return -ENOMEM;
	if (head && hd.is_request)
		return open_span(h, c, r, &hd, parent);
	if (c->span == SPAN_NONE)
		return 0;
	/* The server writes the response, the client reads it; the other direction is the
	 * request's body. */
	if ((c->role == ROLE_SERVER) == rx) {
		if (r->ret > 0 && !c->response_seen)
			c->req_bytes += (__u64)r->ret;
		return 0;
	}
	if (r->ret > 0)
		c->resp_bytes += (__u64)r->ret;
	if (end > spans__get(h->s, c->span)->end_ns)
		spans__at(h->s, c->span)->end_ns = end;
	if (head && !hd.is_request && !c->response_seen)
		return response(h, c, &hd);
	return 0;
}

static int close_all(const void *key, uintptr_t v, void *arg)
{
	(void)key;
	close_span(arg, (struct conn *)v);
	return 0;
}

static int cmp_pair(const void *a, const void *b)
{
	const struct hspan *x = a, *y = b;
	int c = memcmp(&x->key, &y->key, sizeof(x->key));

	if (c)
		return c < 0 ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->role != y->role)
		return x->role == ROLE_CLIENT ? -1 : 1;
	return 0;
}

static void apply_traceparent(struct httptrack *h, const struct hspan *hs, __u32 span)
{
	__u32 tr = spans__trace_add(h->s, hs->trace_id);

	if (tr != SPAN_NONE)
		spans__at(h->s, span)->trace = tr;
}

/*
 * A SERVER span inside its CLIENT parent. Its ends are the server's own syscalls: the last write
 * of the response can return after the client's read has already taken its last byte (seen in CI:
 * a SERVER span ending after its curl CLIENT span), and a server already blocked in read entered it
 * before the client wrote. The client cannot have its answer before the server sent it, so the
 * server's span is clamped to the client's.
 */
static void nest_in(struct span *server, const struct span *client)
{
	if (server->start_ns < client->start_ns)
		server->start_ns = client->start_ns;
	if (server->end_ns > client->end_ns)
		server->end_ns = client->end_ns;
	if (server->end_ns < server->start_ns)
		server->end_ns = server->start_ns;
}

size_t httptrack__finish(struct httptrack *h)
{
	size_t pairs = 0;

	hashmap__for_each(h->conns, close_all, h);
	qsort(h->v, h->n, sizeof(*h->v), cmp_pair);
	for (size_t i = 0; i < h->n; i++) {
		struct hspan *hs = &h->v[i];
		struct hspan *next = i + 1 < h->n ? &h->v[i + 1] : NULL;

		/* A request's traceparent: the span joins that trace under the caller's span. */
		if (hs->has_tp) {
			apply_traceparent(h, hs, hs->span);
			spans__at(h->s, hs->span)->remote_parent = hs->parent_id;
		}
		if (hs->role != ROLE_CLIENT || !next || next->role != ROLE_SERVER ||
		    next->seq != hs->seq || memcmp(&next->key, &hs->key, sizeof(hs->key)))
			continue;
		/* Both ends seen: the CLIENT span is the SERVER span's parent. */
		spans__at(h->s, next->span)->parent = hs->span;
		nest_in(spans__at(h->s, next->span), spans__get(h->s, hs->span));
		spans__at(h->s, next->span)->remote_parent = 0;
		if (hs->has_tp)
			apply_traceparent(h, hs, next->span);
		else if (next->has_tp)
			apply_traceparent(h, next, next->span);
		pairs++;
		i++;
	}
	return pairs;
}
