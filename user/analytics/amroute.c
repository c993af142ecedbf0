// SPDX-License-Identifier: GPL-2.0
/*
 * Alertmanager 0.25's config.Config for route and receivers, decoded as its yaml.v2 strict
 * unmarshal does (unknown fields, keys set twice, wrong scalar types) and validated as its
 * UnmarshalYAML methods do, messages included. The checks that Alertmanager reports without a
 * line get the line of the node they are about.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/amroute.h"
#include "analytics/promql.h"

#define PD_DEFAULT_URL "https://events.pagerduty.com/v2/enqueue"

struct ap {
	const struct ydoc *y;
	const char *path;
	char *err;
	size_t errlen;
	int rc; /* first error: -EINVAL or -ENOMEM */
};

static void fail(struct ap *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct ap *p, int line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (p->rc)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s", p->path, line, msg);
	p->rc = -EINVAL;
}

static void nomem(struct ap *p)
{
	if (!p->rc) {
		snprintf(p->err, p->errlen, "%s: out of memory", p->path);
		p->rc = -ENOMEM;
	}
}

static char *dup(struct ap *p, const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		nomem(p);
	return d;
}

static void type_error(struct ap *p, ynode n, const char *into)
{
	enum ytag t = ynode_tag(p->y, n);

	if (ynode_kind(p->y, n) == Y_SCALAR)
		fail(p, ynode_line(p->y, n), "cannot unmarshal %s `%s` into %s", ytag_name(t),
		     ynode_str(p->y, n), into);
	else
		fail(p, ynode_line(p->y, n), "cannot unmarshal %s into %s", ytag_name(t), into);
}

static bool is_null(struct ap *p, ynode v)
{
	return !v || ynode_tag(p->y, v) == YT_NULL;
}

/*
 * A mapping with known keys only, no key twice (yaml.v2's messages). unsupported: Alertmanager
 * fields Vigil does not implement, refused by name rather than ignored.
 */
static bool check_map(struct ap *p, ynode m, const char *const *known,
		      const char *const *unsupported, const char *what)
{
	if (ynode_kind(p->y, m) != Y_MAP) {
		type_error(p, m, "config.plain");
		return false;
	}
	for (size_t i = 0; i < ynode_len(p->y, m); i++) {
		ynode k = ymap_key(p->y, m, i);
		const char *ks = ynode_str(p->y, k);
		bool ok = false;

		for (size_t j = 0; j < i; j++)
			if (!strcmp(ynode_str(p->y, ymap_key(p->y, m, j)), ks)) {
				fail(p, ynode_line(p->y, k),
				     "field %s already set in type config.plain", ks);
				return false;
			}
		for (const char *const *kn = known; *kn; kn++)
			ok = ok || !strcmp(*kn, ks);
		for (const char *const *kn = unsupported; kn && *kn && !ok; kn++)
			if (!strcmp(*kn, ks)) {
				fail(p, ynode_line(p->y, k), "%s: %s is not supported by vigil",
				     what, ks);
				return false;
			}
		if (!ok) {
			fail(p, ynode_line(p->y, k), "field %s not found in type config.plain", ks);
			return false;
		}
	}
	return !p->rc;
}

/* A string field: any scalar (yaml.v2 turns numbers and bools into their text). */
static char *str_field(struct ap *p, ynode m, const char *key, const char *dflt)
{
	ynode v = ymap_get(p->y, m, key);

	if (is_null(p, v))
		return dup(p, dflt);
	if (ynode_kind(p->y, v) != Y_SCALAR) {
		type_error(p, v, "string");
		return NULL;
	}
	return dup(p, ynode_str(p->y, v));
}

static bool bool_field(struct ap *p, ynode m, const char *key, bool dflt)
{
	ynode v = ymap_get(p->y, m, key);

	if (is_null(p, v))
		return dflt;
	if (ynode_tag(p->y, v) != YT_BOOL) {
		type_error(p, v, "bool");
		return dflt;
	}
	return !strcasecmp(ynode_str(p->y, v), "true") || !strcasecmp(ynode_str(p->y, v), "yes") ||
	       !strcasecmp(ynode_str(p->y, v), "on") || !strcmp(ynode_str(p->y, v), "y") ||
	       !strcmp(ynode_str(p->y, v), "Y");
}

/* model.Duration: -1 when absent. */
static int64_t duration_field(struct ap *p, ynode m, const char *key)
{
	ynode v = ymap_get(p->y, m, key);
	const char *s;
	int64_t ms;

	if (is_null(p, v))
		return -1;
	if (ynode_kind(p->y, v) != Y_SCALAR) {
		type_error(p, v, "model.Duration");
		return -1;
	}
	s = ynode_str(p->y, v);
	if (pq_parse_duration(s, strlen(s), &ms)) {
		fail(p, ynode_line(p->y, v), "not a valid duration string: \"%s\"", s);
		return -1;
	}
	return ms;
}

/* A sequence field (null: empty); false after a type error. */
static bool seq_field(struct ap *p, ynode m, const char *key, ynode *out, const char *into)
{
	ynode v = ymap_get(p->y, m, key);

	*out = 0;
	if (is_null(p, v))
		return true;
	if (ynode_kind(p->y, v) != Y_SEQ) {
		type_error(p, v, into);
		return false;
	}
	*out = v;
	return true;
}

/* ---- URLs and host:port, as Alertmanager's config.URL and HostPort ---- */

static void check_url(struct ap *p, ynode m, const char *key, const char *url)
{
	ynode v = ymap_get(p->y, m, key);
	int line = ynode_line(p->y, v ? v : m);
	const char *sep = strstr(url, "://");
	size_t sl = sep ? (size_t)(sep - url) : 0;
	const char *host = sep ? sep + 3 : NULL;

	if (!sep || (sl != 4 && sl != 5) ||
	    (strncmp(url, "http", 4) || (sl == 5 && url[4] != 's'))) {
		char scheme[32] = "";

		/* Go's url.Parse: a scheme is what precedes the first ':' when it is letters. */
		const char *c = strchr(url, ':');

		if (c && (size_t)(c - url) < sizeof(scheme) && c > url &&
		    isalpha((unsigned char)*url)) {
			bool word = true;

			for (const char *q = url; q < c; q++)
				word = word && (isalnum((unsigned char)*q) || strchr("+-.", *q));
			if (word)
				snprintf(scheme, sizeof(scheme), "%.*s", (int)(c - url), url);
		}
		fail(p, line, "unsupported scheme \"%s\" for URL", scheme);
		return;
	}
	if (!*host || *host == '/' || *host == '?' || *host == '#') {
		fail(p, line, "missing host for URL");
		return;
	}
	for (const char *q = host; *q && *q != '/' && *q != '?' && *q != '#'; q++)
		if (*q == ' ' || (unsigned char)*q < 0x20) {
			fail(p, line, "parse \"%s\": invalid character \"%c\" in host name", url,
			     *q);
			return;
		}
}

static void check_hostport(struct ap *p, ynode v, const char *s)
{
	const char *colon = strrchr(s, ':');

	if (!*s)
		return;
	if (!colon) {
		fail(p, ynode_line(p->y, v), "address %s: missing port in address", s);
		return;
	}
	if (!colon[1])
		fail(p, ynode_line(p->y, v), "address \"%s\": port cannot be empty", s);
}

/* ---- matchers ---- */

static int matcher_cmp(const void *a, const void *b)
{
	const struct label_matcher *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c < 0 ? -1 : 1;
	c = strcmp(x->value, y->value);
	if (c)
		return c < 0 ? -1 : 1;
	return x->type < y->type ? -1 : x->type > y->type;
}

static int add_matcher(struct label_matcher **m, size_t *n, enum match_type t, const char *name,
		       const char *value, char *err, size_t errlen)
{
	struct label_matcher *g = realloc(*m, (*n + 1) * sizeof(**m));
	char why[256];
	int rc;

	if (!g)
		return -ENOMEM;
	*m = g;
	rc = label_matcher_init(&g[*n], t, name, value, why, sizeof(why));
	if (rc == -EINVAL)
		snprintf(err, errlen, "error parsing regexp: %s: `^(?:%s)$`", why, value);
	if (!rc)
		(*n)++;
	return rc;
}

/* labels.ParseMatcher: name, operator, value (optionally quoted, with \" \\ \n escapes). */
static int parse_one(const char *tok, struct label_matcher **m, size_t *n, char *err, size_t errlen)
{
	const char *s = tok, *name, *raw;
	size_t nl, rl;
	enum match_type t;
	char *nm, *val, *o;
	bool quoted = false, esc = false;
	int rc;

	while (isspace((unsigned char)*s))
		s++;
	name = s;
	if (!(isalpha((unsigned char)*s) || *s == '_' || *s == ':'))
		goto bad;
	while (isalnum((unsigned char)*s) || *s == '_' || *s == ':')
		s++;
	nl = (size_t)(s - name);
	while (isspace((unsigned char)*s))
		s++;
	if (s[0] == '=' && s[1] == '~')
		t = MATCH_RE, s += 2;
	else if (s[0] == '=')
		t = MATCH_EQ, s += 1;
	else if (s[0] == '!' && s[1] == '=')
		t = MATCH_NE, s += 2;
	else if (s[0] == '!' && s[1] == '~')
		t = MATCH_NRE, s += 2;
	else
		goto bad;
	while (isspace((unsigned char)*s))
		s++;
	raw = s;
	rl = strlen(raw);
	while (rl && isspace((unsigned char)raw[rl - 1]))
		rl--;
	if (rl && *raw == '"') {
		quoted = true;
		raw++;
		rl--;
	}
	nm = strndup(name, nl);
	val = malloc(rl + 1);
	if (!nm || !val) {
		free(nm);
		free(val);
		return -ENOMEM;
	}
	o = val;
	for (size_t i = 0; i < rl; i++) {
		char c = raw[i];

		if (esc) {
			esc = false;
			if (c == 'n')
				*o++ = '\n';
			else if (c == '"' || c == '\\')
				*o++ = c;
			else {
				*o++ = '\\';
				*o++ = c;
			}
			continue;
		}
		if (c == '\\' && i < rl - 1) {
			esc = true;
		} else if (c == '"') {
			if (!quoted || i < rl - 1) {
				quoted = true; /* reported below */
				o = NULL;
				break;
			}
			quoted = false;
		} else {
			*o++ = c;
		}
	}
	if (!o || quoted) {
		snprintf(err, errlen, "matcher value contains unescaped double quote: %.*s",
			 (int)(rl + (raw > s)), s);
		free(nm);
		free(val);
		return -EINVAL;
	}
	*o = '\0';
	rc = add_matcher(m, n, t, nm, val, err, errlen);
	free(nm);
	free(val);
	return rc;
bad:
	snprintf(err, errlen, "bad matcher format: %s", tok);
	return -EINVAL;
}

int am_parse_matchers(const char *s, struct label_matcher **m, size_t *n, char *err, size_t errlen)
{
	size_t len = strlen(s), start = 0;
	char *buf;
	bool inq = false, esc = false;
	int rc = 0;

	if (len && s[0] == '{')
		s++, len--;
	if (len && s[len - 1] == '}')
		len--;
	buf = strndup(s, len);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i <= len && !rc; i++) {
		char c = buf[i];

		if (c == ',' && !inq) {
			buf[i] = '\0';
			rc = parse_one(buf + start, m, n, err, errlen);
			start = i + 1;
			continue;
		}
		if (c == '\0') {
			const char *t = buf + start;

			while (isspace((unsigned char)*t))
				t++;
			if (*t)
				rc = parse_one(t, m, n, err, errlen);
			break;
		}
		if (c == '"') {
			if (!esc)
				inq = !inq;
			else
				esc = false;
		} else if (c == '\\') {
			esc = !esc;
		} else {
			esc = false;
		}
	}
	free(buf);
	return rc;
}

/* openMetricsEscape for the route key. */
static void key_append(char **key, size_t *len, const char *s)
{
	size_t sl = strlen(s);
	char *k = *key ? realloc(*key, *len + sl + 1) : malloc(sl + 1);

	if (!k) {
		free(*key);
		*key = NULL;
		return;
	}
	memcpy(k + *len, s, sl + 1);
	*key = k;
	*len += sl;
}

static char *route_key(const char *parent, const struct label_matcher *m, size_t n)
{
	static const char *const ops[] = { "=", "!=", "=~", "!~" };
	char *key = NULL;
	size_t len = 0;

	if (parent) {
		key_append(&key, &len, parent);
		key_append(&key, &len, "/");
	}
	key_append(&key, &len, "{");
	for (size_t i = 0; i < n && (key || !len); i++) {
		const char *v = m[i].value;
		char *e = malloc(strlen(v) * 2 + 1), *o = e;

		if (!e) {
			free(key);
			return NULL;
		}
		for (; *v; v++) {
			if (*v == '\\' || *v == '"')
				*o++ = '\\', *o++ = *v;
			else if (*v == '\n')
				*o++ = '\\', *o++ = 'n';
			else
				*o++ = *v;
		}
		*o = '\0';
		if (i)
			key_append(&key, &len, ",");
		key_append(&key, &len, m[i].name);
		key_append(&key, &len, ops[m[i].type]);
		key_append(&key, &len, "\"");
		key_append(&key, &len, e);
		key_append(&key, &len, "\"");
		free(e);
	}
	key_append(&key, &len, "}");
	return key;
}

/* ---- route ---- */

static void route_release(struct am_route *r)
{
	free(r->receiver);
	for (size_t i = 0; i < r->ngroup_by; i++)
		free(r->group_by[i]);
	free(r->group_by);
	for (size_t i = 0; i < r->nmatchers; i++)
		label_matcher_release(&r->matchers[i]);
	free(r->matchers);
	for (size_t i = 0; i < r->nroutes; i++)
		route_release(&r->routes[i]);
	free(r->routes);
	free(r->key);
	memset(r, 0, sizeof(*r));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void matcher_map(struct ap *p, struct am_route *r, ynode m, const char *key,
			enum match_type t)
{
	ynode v = ymap_get(p->y, m, key);
	char err[400];

	if (is_null(p, v))
		return;
	if (ynode_kind(p->y, v) != Y_MAP) {
		type_error(p, v, "map[string]string");
		return;
	}
	for (size_t i = 0; i < ynode_len(p->y, v) && !p->rc; i++) {
		ynode k = ymap_key(p->y, v, i), val = ymap_value(p->y, v, i);
		int rc;

		if (!label_name_valid(ynode_str(p->y, k))) {
			fail(p, ynode_line(p->y, k), "invalid label name \"%s\"",
			     ynode_str(p->y, k));
			return;
		}
		if (ynode_kind(p->y, val) != Y_SCALAR) {
			type_error(p, val, t == MATCH_EQ ? "string" : "config.Regexp");
			return;
		}
		rc = add_matcher(&r->matchers, &r->nmatchers, t, ynode_str(p->y, k),
				 ynode_str(p->y, val), err, sizeof(err));
		if (rc == -ENOMEM)
			nomem(p);
		else if (rc)
			fail(p, ynode_line(p->y, val), "%s", err);
	}
}

static void parse_route(struct ap *p, ynode m, struct am_route *r, const struct am_route *parent)
{
	static const char *const known[] = { "receiver",
					     "group_by",
					     "continue",
					     "match",
					     "match_re",
					     "matchers",
					     "routes",
					     "group_wait",
					     "group_interval",
					     "repeat_interval",
					     "mute_time_intervals",
					     NULL };
	static const char *const unsupported[] = { "active_time_intervals", NULL };
	ynode gb, ms, rs, mt;
	int64_t d;

	r->line = ynode_line(p->y, m);
	if (!check_map(p, m, known, unsupported, "route"))
		return;
	r->receiver = str_field(p, m, "receiver", NULL);
	if (r->receiver && !*r->receiver) {
		free(r->receiver);
		r->receiver = NULL;
	}
	if (!r->receiver && parent)
		r->receiver = dup(p, parent->receiver);
	if (seq_field(p, m, "group_by", &gb, "[]string") && gb) {
		r->group_by = calloc(ynode_len(p->y, gb) + 1, sizeof(char *));
		if (!r->group_by)
			nomem(p);
		for (size_t i = 0; i < ynode_len(p->y, gb) && !p->rc; i++) {
			ynode it = yseq_item(p->y, gb, i);
			const char *s = ynode_str(p->y, it);

			if (ynode_kind(p->y, it) != Y_SCALAR) {
				type_error(p, it, "string");
				break;
			}
			if (!strcmp(s, "...")) {
				r->group_by_all = true;
				continue;
			}
			if (!label_name_valid(s)) {
				fail(p, ynode_line(p->y, it),
				     "invalid label name \"%s\" in group_by list", s);
				break;
			}
			for (size_t j = 0; j < r->ngroup_by; j++)
				if (!strcmp(r->group_by[j], s))
					fail(p, ynode_line(p->y, it),
					     "duplicated label \"%s\" in group_by", s);
			if (!p->rc && !(r->group_by[r->ngroup_by++] = dup(p, s)))
				break;
		}
		if (!p->rc && r->group_by_all && r->ngroup_by)
			fail(p, ynode_line(p->y, gb),
			     "cannot have wildcard group_by (`...`) and other other labels at the "
			     "same time");
		if (r->group_by)
			qsort(r->group_by, r->ngroup_by, sizeof(char *), cmp_str);
	} else if (!gb && parent && !ymap_get(p->y, m, "group_by")) {
		r->group_by_all = parent->group_by_all;
		if (parent->ngroup_by) {
			r->group_by = calloc(parent->ngroup_by, sizeof(char *));
			if (!r->group_by)
				nomem(p);
			for (size_t i = 0; r->group_by && i < parent->ngroup_by; i++)
				if ((r->group_by[i] = dup(p, parent->group_by[i])))
					r->ngroup_by++;
		}
	}
	if (p->rc)
		return;
	d = duration_field(p, m, "group_wait");
	r->group_wait_ms = d >= 0 ? d : parent ? parent->group_wait_ms : AM_DEFAULT_GROUP_WAIT_MS;
	d = duration_field(p, m, "group_interval");
	if (d == 0)
		fail(p, ynode_line(p->y, ymap_get(p->y, m, "group_interval")),
		     "group_interval cannot be zero");
	r->group_interval_ms = d > 0  ? d :
			       parent ? parent->group_interval_ms :
					AM_DEFAULT_GROUP_INTERVAL_MS;
	d = duration_field(p, m, "repeat_interval");
	if (d == 0)
		fail(p, ynode_line(p->y, ymap_get(p->y, m, "repeat_interval")),
		     "repeat_interval cannot be zero");
	r->repeat_interval_ms = d > 0  ? d :
				parent ? parent->repeat_interval_ms :
					 AM_DEFAULT_REPEAT_INTERVAL_MS;
	r->cont = bool_field(p, m, "continue", false);
	matcher_map(p, r, m, "match", MATCH_EQ);
	matcher_map(p, r, m, "match_re", MATCH_RE);
	if (!p->rc && seq_field(p, m, "matchers", &ms, "config.Matchers") && ms) {
		for (size_t i = 0; i < ynode_len(p->y, ms) && !p->rc; i++) {
			ynode it = yseq_item(p->y, ms, i);
			char err[400];
			int rc;

			if (ynode_kind(p->y, it) != Y_SCALAR) {
				type_error(p, it, "string");
				break;
			}
			rc = am_parse_matchers(ynode_str(p->y, it), &r->matchers, &r->nmatchers,
					       err, sizeof(err));
			if (rc == -ENOMEM)
				nomem(p);
			else if (rc)
				fail(p, ynode_line(p->y, it), "%s", err);
		}
	}
	if (p->rc)
		return;
	if (r->nmatchers)
		qsort(r->matchers, r->nmatchers, sizeof(*r->matchers), matcher_cmp);
	if (!parent && r->nmatchers) {
		fail(p, r->line, "root route must not have any matchers");
		return;
	}
	if (seq_field(p, m, "mute_time_intervals", &mt, "[]string") && mt && ynode_len(p->y, mt)) {
		ynode it = yseq_item(p->y, mt, 0);

		if (!parent)
			fail(p, r->line, "root route must not have any mute time intervals");
		else
			/* Vigil reads no time_intervals: every name is undefined. */
			fail(p, ynode_line(p->y, it),
			     "undefined time interval \"%s\" used in route", ynode_str(p->y, it));
		return;
	}
	r->key = route_key(parent ? parent->key : NULL, r->matchers, r->nmatchers);
	if (!r->key) {
		nomem(p);
		return;
	}
	if (seq_field(p, m, "routes", &rs, "[]*config.Route") && rs && ynode_len(p->y, rs)) {
		r->routes = calloc(ynode_len(p->y, rs), sizeof(*r->routes));
		if (!r->routes) {
			nomem(p);
			return;
		}
		for (size_t i = 0; i < ynode_len(p->y, rs) && !p->rc; i++) {
			ynode it = yseq_item(p->y, rs, i);

			r->nroutes++;
			if (is_null(p, it)) {
				/* A null route decodes as an empty one. */
				r->routes[i].receiver = dup(p, r->receiver);
				r->routes[i].group_wait_ms = r->group_wait_ms;
				r->routes[i].group_interval_ms = r->group_interval_ms;
				r->routes[i].repeat_interval_ms = r->repeat_interval_ms;
				r->routes[i].key = route_key(r->key, NULL, 0);
				r->routes[i].line = ynode_line(p->y, rs);
				continue;
			}
			parse_route(p, it, &r->routes[i], r);
		}
	}
}

static bool route_receivers_defined(struct ap *p, const struct am_route *r,
				    const struct am_config *c)
{
	if (r->receiver && !am_config_receiver(c, r->receiver)) {
		fail(p, r->line, "undefined receiver \"%s\" used in route", r->receiver);
		return false;
	}
	for (size_t i = 0; i < r->nroutes; i++)
		if (!route_receivers_defined(p, &r->routes[i], c))
			return false;
	return true;
}

/* ---- http_config ---- */

static void http_release(struct am_http *h)
{
	free(h->basic_user);
	free(h->basic_pass);
	free(h->auth_type);
	free(h->auth_credentials);
	free(h->ca_file);
	free(h->cert_file);
	free(h->key_file);
	free(h->server_name);
	free(h->proxy_url);
	memset(h, 0, sizeof(*h));
}

/* HTTPClientConfig's fields in m (a http_config mapping, or an alertmanagers item where they are
 * inline), validated as its Validate(). */
static void parse_http_fields(struct ap *p, ynode m, struct am_http *h)
{
	ynode ba = ymap_get(p->y, m, "basic_auth"), au = ymap_get(p->y, m, "authorization");
	ynode tls = ymap_get(p->y, m, "tls_config");
	char *bearer;
	int line = ynode_line(p->y, m);

	h->follow_redirects = bool_field(p, m, "follow_redirects", true);
	h->proxy_url = str_field(p, m, "proxy_url", NULL);
	bearer = str_field(p, m, "bearer_token", NULL);
	if (!is_null(p, ba)) {
		static const char *const k[] = { "username", "password", NULL };
		static const char *const u[] = { "password_file", NULL };

		if (check_map(p, ba, k, u, "basic_auth")) {
			h->basic_user = str_field(p, ba, "username", "");
			h->basic_pass = str_field(p, ba, "password", "");
		}
	}
	if (!is_null(p, au)) {
		static const char *const k[] = { "type", "credentials", NULL };
		static const char *const u[] = { "credentials_file", NULL };

		if (check_map(p, au, k, u, "authorization")) {
			h->auth_type = str_field(p, au, "type", "Bearer");
			h->auth_credentials = str_field(p, au, "credentials", "");
		}
	}
	if (!is_null(p, tls)) {
		static const char *const k[] = { "ca_file", "cert_file", "key_file",
						 "insecure_skip_verify", NULL };
		static const char *const u[] = { "ca",		"cert",	       "key",
						 "server_name", "min_version", NULL };

		if (check_map(p, tls, k, u, "tls_config")) {
			h->ca_file = str_field(p, tls, "ca_file", NULL);
			h->cert_file = str_field(p, tls, "cert_file", NULL);
			h->key_file = str_field(p, tls, "key_file", NULL);
			h->insecure_skip_verify = bool_field(p, tls, "insecure_skip_verify", false);
		}
	}
	if (p->rc) {
		free(bearer);
		return;
	}
	if (h->basic_user && bearer && *bearer)
		fail(p, line,
		     "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be "
		     "configured");
	else if (h->auth_type && bearer && *bearer)
		fail(p, line,
		     "authorization is not compatible with bearer_token & bearer_token_file");
	else if (h->auth_type && !strcasecmp(h->auth_type, "basic"))
		fail(p, line,
		     "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
	else if (h->auth_type && h->basic_user)
		fail(p, line,
		     "at most one of basic_auth, oauth2 & authorization must be configured");
	else if (!h->auth_type && bearer && *bearer) {
		h->auth_type = dup(p, "Bearer");
		h->auth_credentials = bearer;
		bearer = NULL;
	}
	if (!p->rc && h->cert_file && !h->key_file)
		fail(p, line, "client cert file \"%s\" specified without client key file",
		     h->cert_file);
	else if (!p->rc && h->key_file && !h->cert_file)
		fail(p, line, "client key file \"%s\" specified without client cert file",
		     h->key_file);
	free(bearer);
}

static int http_copy(struct ap *p, struct am_http *to, const struct am_http *from)
{
	*to = *from;
	to->basic_user = dup(p, from->basic_user);
	to->basic_pass = dup(p, from->basic_pass);
	to->auth_type = dup(p, from->auth_type);
	to->auth_credentials = dup(p, from->auth_credentials);
	to->ca_file = dup(p, from->ca_file);
	to->cert_file = dup(p, from->cert_file);
	to->key_file = dup(p, from->key_file);
	to->server_name = dup(p, from->server_name);
	to->proxy_url = dup(p, from->proxy_url);
	if (p->rc) {
		http_release(to);
		return -ENOMEM;
	}
	return 0;
}

static const char *const http_known[] = { "basic_auth",	  "authorization",
					  "bearer_token", "tls_config",
					  "proxy_url",	  "follow_redirects",
					  "enable_http2", NULL };
static const char *const http_unsupported[] = {
	"oauth2", "bearer_token_file", "no_proxy", "proxy_from_environment", "proxy_connect_header",
	NULL
};

static void parse_http_config(struct ap *p, ynode m, struct am_http *h)
{
	ynode v = ymap_get(p->y, m, "http_config");

	h->follow_redirects = true;
	if (is_null(p, v))
		return;
	if (!check_map(p, v, http_known, http_unsupported, "http_config"))
		return;
	parse_http_fields(p, v, h);
}

/* ---- receivers ---- */

static void notifier_release(struct am_notifier *n)
{
	char **s[] = { &n->url,		  &n->api_url,	     &n->channel,
		       &n->username,	  &n->title,	     &n->text,
		       &n->color,	  &n->title_link,    &n->routing_key,
		       &n->severity,	  &n->description,   &n->client,
		       &n->client_url,	  &n->source,	     &n->to,
		       &n->from,	  &n->smarthost,     &n->hello,
		       &n->auth_username, &n->auth_password, &n->subject };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	http_release(&n->http);
}

static void parse_webhook(struct ap *p, ynode m, struct am_notifier *n)
{
	static const char *const known[] = { "send_resolved", "url", "max_alerts", "http_config",
					     NULL };
	ynode v;

	if (!check_map(p, m, known, NULL, "webhook_configs"))
		return;
	parse_http_config(p, m, &n->http);
	n->send_resolved = bool_field(p, m, "send_resolved", true);
	v = ymap_get(p->y, m, "max_alerts");
	if (!is_null(p, v)) {
		long long x;

		if (ynode_tag(p->y, v) != YT_INT || ynode_int(p->y, v, &x) || x < 0)
			type_error(p, v, "uint64");
		else
			n->max_alerts = (uint64_t)x;
	}
	n->url = str_field(p, m, "url", NULL);
	if (p->rc)
		return;
	if (!n->url) {
		fail(p, n->line, "missing URL in webhook config");
		return;
	}
	check_url(p, m, "url", n->url);
}

static void parse_slack(struct ap *p, ynode m, struct am_notifier *n)
{
	static const char *const known[] = { "send_resolved", "api_url", "channel",
					     "username",      "color",	 "title",
					     "title_link",    "text",	 NULL };
	static const char *const unsupported[] = { "http_config", "api_url_file", "pretext",
						   "fields",	  "short_fields", "footer",
						   "fallback",	  "callback_id",  "icon_emoji",
						   "icon_url",	  "image_url",	  "thumb_url",
						   "link_names",  "mrkdwn_in",	  "actions",
						   NULL };

	if (!check_map(p, m, known, unsupported, "slack_configs"))
		return;
	parse_http_config(p, m, &n->http);
	n->send_resolved = bool_field(p, m, "send_resolved", false);
	n->api_url = str_field(p, m, "api_url", NULL);
	n->channel = str_field(p, m, "channel", "");
	n->username = str_field(p, m, "username", NULL);
	n->color = str_field(p, m, "color", NULL);
	n->title = str_field(p, m, "title", NULL);
	n->title_link = str_field(p, m, "title_link", NULL);
	n->text = str_field(p, m, "text", NULL);
	if (p->rc)
		return;
	if (n->api_url && *n->api_url) {
		check_url(p, m, "api_url", n->api_url);
		return;
	}
	fail(p, n->line, "no global Slack API URL set either inline or in a file");
}

static void parse_pagerduty(struct ap *p, ynode m, struct am_notifier *n)
{
	static const char *const known[] = { "send_resolved", "routing_key", "url",
					     "severity",      "description", "client",
					     "client_url",    "source",	     NULL };
	static const char *const unsupported[] = { "http_config",
						   "service_key",
						   "service_key_file",
						   "routing_key_file",
						   "details",
						   "images",
						   "links",
						   "class",
						   "component",
						   "group",
						   NULL };

	if (!check_map(p, m, known, unsupported, "pagerduty_configs"))
		return;
	parse_http_config(p, m, &n->http);
	n->send_resolved = bool_field(p, m, "send_resolved", true);
	n->routing_key = str_field(p, m, "routing_key", NULL);
	n->url = str_field(p, m, "url", PD_DEFAULT_URL);
	n->severity = str_field(p, m, "severity", "error");
	n->description = str_field(p, m, "description", NULL);
	n->client = str_field(p, m, "client", NULL);
	n->client_url = str_field(p, m, "client_url", NULL);
	n->source = str_field(p, m, "source", NULL);
	if (p->rc)
		return;
	if (!n->routing_key || !*n->routing_key) {
		fail(p, n->line, "missing service or routing key in PagerDuty config");
		return;
	}
	check_url(p, m, "url", n->url);
}

static void parse_email(struct ap *p, ynode m, struct am_notifier *n)
{
	static const char *const known[] = {
		"send_resolved", "to",		"from",	   "hello", "smarthost", "auth_username",
		"auth_password", "require_tls", "headers", NULL
	};
	static const char *const unsupported[] = {
		"auth_password_file", "auth_secret", "auth_identity", "html", "text",
		"tls_config",	      NULL
	};
	ynode h;

	if (!check_map(p, m, known, unsupported, "email_configs"))
		return;
	n->send_resolved = bool_field(p, m, "send_resolved", false);
	n->require_tls = bool_field(p, m, "require_tls", true);
	n->to = str_field(p, m, "to", NULL);
	n->from = str_field(p, m, "from", NULL);
	n->hello = str_field(p, m, "hello", "localhost");
	n->smarthost = str_field(p, m, "smarthost", NULL);
	n->auth_username = str_field(p, m, "auth_username", NULL);
	n->auth_password = str_field(p, m, "auth_password", NULL);
	if (n->smarthost)
		check_hostport(p, ymap_get(p->y, m, "smarthost"), n->smarthost);
	h = ymap_get(p->y, m, "headers");
	if (!p->rc && !is_null(p, h)) {
		if (ynode_kind(p->y, h) != Y_MAP) {
			type_error(p, h, "map[string]string");
			return;
		}
		for (size_t i = 0; i < ynode_len(p->y, h) && !p->rc; i++) {
			ynode k = ymap_key(p->y, h, i);
			const char *ks = ynode_str(p->y, k);

			/* strings.Title: header names are case-insensitive. */
			for (size_t j = 0; j < i; j++)
				if (!strcasecmp(ynode_str(p->y, ymap_key(p->y, h, j)), ks)) {
					char t[128];

					snprintf(t, sizeof(t), "%s", ks);
					t[0] = (char)toupper((unsigned char)t[0]);
					fail(p, ynode_line(p->y, k),
					     "duplicate header \"%s\" in email config", t);
				}
			if (!p->rc && strcasecmp(ks, "subject"))
				fail(p, ynode_line(p->y, k),
				     "email_configs: header %s is not supported by vigil (Subject is)",
				     ks);
			else if (!p->rc)
				n->subject = dup(p, ynode_str(p->y, ymap_value(p->y, h, i)));
		}
	}
	if (p->rc)
		return;
	if (!n->to || !*n->to)
		fail(p, n->line, "missing to address in email config");
	else if (!n->smarthost || !*n->smarthost)
		fail(p, n->line, "no global SMTP smarthost set");
	else if (!n->from || !*n->from)
		fail(p, n->line, "no global SMTP from set");
}

static void parse_receiver(struct ap *p, ynode m, struct am_receiver *r)
{
	static const char *const known[] = { "name",	      "webhook_configs",
					     "slack_configs", "pagerduty_configs",
					     "email_configs", NULL };
	static const char *const unsupported[] = {
		"opsgenie_configs",  "wechat_configs", "pushover_configs",
		"victorops_configs", "sns_configs",    "telegram_configs",
		"discord_configs",   "webex_configs",  NULL
	};
	static const struct {
		const char *key;
		enum am_kind kind;
		void (*parse)(struct ap *, ynode, struct am_notifier *);
		const char *type;
	} kinds[] = {
		{ "webhook_configs", AM_WEBHOOK, parse_webhook, "[]*config.WebhookConfig" },
		{ "slack_configs", AM_SLACK, parse_slack, "[]*config.SlackConfig" },
		{ "pagerduty_configs", AM_PAGERDUTY, parse_pagerduty, "[]*config.PagerdutyConfig" },
		{ "email_configs", AM_EMAIL, parse_email, "[]*config.EmailConfig" },
	};

	r->line = ynode_line(p->y, m);
	if (!check_map(p, m, known, unsupported, "receivers"))
		return;
	r->name = str_field(p, m, "name", NULL);
	for (size_t k = 0; k < 4 && !p->rc; k++) {
		ynode s;
		struct am_notifier *g;

		if (!seq_field(p, m, kinds[k].key, &s, kinds[k].type) || !s)
			continue;
		g = realloc(r->n, (r->nn + ynode_len(p->y, s)) * sizeof(*g));
		if (!g && ynode_len(p->y, s)) {
			nomem(p);
			return;
		}
		r->n = g;
		for (size_t i = 0; i < ynode_len(p->y, s) && !p->rc; i++) {
			struct am_notifier *n = &r->n[r->nn++];
			ynode it = yseq_item(p->y, s, i);

			memset(n, 0, sizeof(*n));
			n->kind = kinds[k].kind;
			n->line = ynode_line(p->y, it);
			if (is_null(p, it))
				it = 0;
			if (!it)
				/* yaml.v2 leaves a null item a nil pointer: Alertmanager panics or
				 * refuses; refuse. */
				fail(p, n->line, "%s: empty item", kinds[k].key);
			else
				kinds[k].parse(p, it, n);
		}
	}
	if (!p->rc && (!r->name || !*r->name))
		fail(p, r->line, "missing name in receiver");
}

/* ---- alerting.alertmanagers (Prometheus' AlertmanagerConfig) ---- */

static void parse_alerting(struct ap *p, ynode m, struct am_config *c)
{
	static const char *const known[] = { "alertmanagers", "alert_relabel_configs", NULL };
	static const char *const amknown[] = { "static_configs",
					       "scheme",
					       "path_prefix",
					       "timeout",
					       "api_version",
					       "basic_auth",
					       "authorization",
					       "bearer_token",
					       "tls_config",
					       "proxy_url",
					       "follow_redirects",
					       "enable_http2",
					       NULL };
	static const char *const amunsup[] = { "relabel_configs",
					       "file_sd_configs",
					       "dns_sd_configs",
					       "oauth2",
					       "bearer_token_file",
					       "sigv4",
					       NULL };
	ynode ams;

	if (is_null(p, m))
		return;
	if (!check_map(p, m, known, NULL, "alerting"))
		return;
	if (ymap_get(p->y, m, "alert_relabel_configs") &&
	    !is_null(p, ymap_get(p->y, m, "alert_relabel_configs"))) {
		fail(p, ynode_line(p->y, ymap_get(p->y, m, "alert_relabel_configs")),
		     "alerting: alert_relabel_configs is not supported by vigil");
		return;
	}
	if (!seq_field(p, m, "alertmanagers", &ams, "[]*config.AlertmanagerConfig") || !ams)
		return;
	for (size_t i = 0; i < ynode_len(p->y, ams) && !p->rc; i++) {
		ynode am = yseq_item(p->y, ams, i), sc;
		char *scheme, *prefix, *apiv;
		int64_t timeout;
		struct am_http h = { 0 };

		if (is_null(p, am))
			continue;
		if (!check_map(p, am, amknown, amunsup, "alertmanagers"))
			return;
		parse_http_fields(p, am, &h);
		scheme = str_field(p, am, "scheme", "http");
		prefix = str_field(p, am, "path_prefix", "/");
		apiv = str_field(p, am, "api_version", "v2");
		timeout = duration_field(p, am, "timeout");
		if (!p->rc && strcmp(scheme, "http") && strcmp(scheme, "https"))
			fail(p, ynode_line(p->y, ymap_get(p->y, am, "scheme")),
			     "unknown scheme \"%s\" (http or https)", scheme);
		if (!p->rc && strcmp(apiv, "v2"))
			fail(p, ynode_line(p->y, ymap_get(p->y, am, "api_version")),
			     "expected Alertmanager api version to be one of [v2] but got %s",
			     apiv);
		if (!p->rc && seq_field(p, am, "static_configs", &sc, "[]*targetgroup.Group") && sc)
			for (size_t j = 0; j < ynode_len(p->y, sc) && !p->rc; j++) {
				static const char *const sk[] = { "targets", "labels", NULL };
				ynode g = yseq_item(p->y, sc, j), ts;

				if (is_null(p, g) || !check_map(p, g, sk, NULL, "static_configs"))
					continue;
				if (!seq_field(p, g, "targets", &ts, "[]string") || !ts)
					continue;
				for (size_t k = 0; k < ynode_len(p->y, ts) && !p->rc; k++) {
					ynode t = yseq_item(p->y, ts, k);
					const char *ts_ = ynode_str(p->y, t);
					struct am_target *tg;
					size_t need;

					if (ynode_kind(p->y, t) != Y_SCALAR) {
						type_error(p, t, "string");
						break;
					}
					if (!*ts_ || strchr(ts_, '/') || !strchr(ts_, ':')) {
						fail(p, ynode_line(p->y, t),
						     "\"%s\" is not a valid hostname:port target",
						     ts_);
						break;
					}
					tg = realloc(c->targets, (c->ntargets + 1) * sizeof(*tg));
					if (!tg) {
						nomem(p);
						break;
					}
					c->targets = tg;
					tg = &tg[c->ntargets];
					need = strlen(scheme) + strlen(ts_) + strlen(prefix) + 32;
					tg->url = malloc(need);
					if (!tg->url) {
						nomem(p);
						break;
					}
					/* Prometheus: path.Join("/", path_prefix, "/api/v2/alerts") */
					{
						char *w = tg->url +
							  sprintf(tg->url, "%s://%s", scheme, ts_);
						char *path = w;

						sprintf(path, "/%s/api/v2/alerts", prefix);
						for (char *r = path; *r; r++)
							if (!(*r == '/' && w > path &&
							      w[-1] == '/'))
								*w++ = *r;
						*w = '\0';
					}
					tg->timeout_ms = timeout > 0 ? timeout : 10000;
					if (http_copy(p, &tg->http, &h)) {
						free(tg->url);
						break;
					}
					c->ntargets++;
				}
			}
		free(scheme);
		free(prefix);
		free(apiv);
		http_release(&h);
	}
}

int am_config_parse(const struct ydoc *d, ynode root, const char *path, struct am_config *out,
		    char *err, size_t errlen)
{
	struct ap p = { d, path, err, errlen, 0 };
	ynode route = root ? ymap_get(d, root, "route") : 0;
	ynode recv = root ? ymap_get(d, root, "receivers") : 0;
	ynode alerting = root ? ymap_get(d, root, "alerting") : 0;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		*err = '\0';
	if (recv && !is_null(&p, recv)) {
		if (ynode_kind(d, recv) != Y_SEQ) {
			type_error(&p, recv, "[]*config.Receiver");
		} else {
			out->receivers = calloc(ynode_len(d, recv) + 1, sizeof(*out->receivers));
			if (!out->receivers)
				nomem(&p);
			for (size_t i = 0; i < ynode_len(d, recv) && !p.rc; i++) {
				ynode it = yseq_item(d, recv, i);

				out->nreceivers++;
				if (is_null(&p, it)) {
					fail(&p, ynode_line(d, it), "missing name in receiver");
					break;
				}
				parse_receiver(&p, it, &out->receivers[i]);
				for (size_t j = 0; j < i && !p.rc; j++)
					if (!strcmp(out->receivers[j].name, out->receivers[i].name))
						fail(&p, out->receivers[i].line,
						     "notification config name \"%s\" is not unique",
						     out->receivers[i].name);
			}
		}
	}
	if (!p.rc && route && !is_null(&p, route)) {
		parse_route(&p, route, &out->route, NULL);
		if (!p.rc && !out->route.receiver)
			fail(&p, out->route.line, "root route must specify a default receiver");
		if (!p.rc)
			route_receivers_defined(&p, &out->route, out);
		out->has_route = true;
	} else if (!p.rc && recv && !is_null(&p, recv)) {
		int line = ynode_line(d, recv);

		for (size_t i = 0; i < ynode_len(d, root); i++)
			if (ymap_value(d, root, i) == recv)
				line = ynode_line(d, ymap_key(d, root, i));
		fail(&p, line, "no routes provided");
	}
	if (!p.rc && alerting)
		parse_alerting(&p, alerting, out);
	if (p.rc) {
		am_config_release(out);
		return p.rc;
	}
	return 0;
}

void am_config_release(struct am_config *c)
{
	if (!c)
		return;
	route_release(&c->route);
	for (size_t i = 0; i < c->nreceivers; i++) {
		for (size_t j = 0; j < c->receivers[i].nn; j++)
			notifier_release(&c->receivers[i].n[j]);
		free(c->receivers[i].n);
		free(c->receivers[i].name);
	}
	free(c->receivers);
	for (size_t i = 0; i < c->ntargets; i++) {
		free(c->targets[i].url);
		http_release(&c->targets[i].http);
	}
	free(c->targets);
	memset(c, 0, sizeof(*c));
}

const struct am_receiver *am_config_receiver(const struct am_config *c, const char *name)
{
	for (size_t i = 0; i < c->nreceivers; i++)
		if (c->receivers[i].name && !strcmp(c->receivers[i].name, name))
			return &c->receivers[i];
	return NULL;
}

static size_t match(const struct am_route *r, const struct labels *ls, const struct am_route **out,
		    size_t max, size_t n)
{
	size_t before = n;

	if (!labels__match(ls, r->matchers, r->nmatchers))
		return n;
	for (size_t i = 0; i < r->nroutes; i++) {
		size_t got = match(&r->routes[i], ls, out, max, n);

		if (got > n && !r->routes[i].cont) {
			n = got;
			break;
		}
		n = got;
	}
	if (n == before) {
		if (n < max)
			out[n] = r;
		n++;
	}
	return n;
}

size_t am_route_match(const struct am_route *root, const struct labels *ls,
		      const struct am_route **out, size_t max)
{
	return match(root, ls, out, max, 0);
}
