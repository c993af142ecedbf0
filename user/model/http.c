// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "model/http.h"

/* Copy [p, p + n) into a fixed field, truncating (and saying so). */
static void put(char *dst, size_t cap, const char *p, size_t n, bool *truncated)
{
	if (n >= cap) {
		n = cap - 1;
		*truncated = true;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
}

static bool is_tchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* End of the line starting at p (the '\r' or '\n'), or NULL when it runs past end. */
static const char *line_end(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p == '\n' || *p == '\r')
			return p;
	return NULL;
}

static const char *next_line(const char *eol, const char *end)
{
	if (eol < end && *eol == '\r')
		eol++;
	if (eol < end && *eol == '\n')
		eol++;
	return eol;
}

/* "HTTP/1.x" at p (8 bytes). */
static int version(const char *p, const char *end)
{
	if (end - p < 8 || memcmp(p, "HTTP/1.", 7) || p[7] < '0' || p[7] > '9')
		return -1;
	return p[7] - '0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int http_parse_traceparent(const char *v, size_t len, __u8 trace_id[16], __u64 *parent_id,
			   __u8 *flags)
{
	__u8 id[16] = { 0 }, f;
	__u64 parent = 0;
	int ver;
	bool nz = false;

	/* Optional whitespace around the value (RFC 9110 field values). */
	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-')
		return -EINVAL;
	if (hexval(v[0]) < 0 || hexval(v[1]) < 0)
		return -EINVAL;
	ver = hexval(v[0]) << 4 | hexval(v[1]);
	if (ver == 0xff || (ver == 0 && len != 55) || (ver > 0 && len > 55 && v[55] != '-'))
		return -EINVAL;
	for (int i = 0; i < 32; i++) {
		int h = hexval(v[3 + i]);

		if (h < 0)
			return -EINVAL;
		id[i / 2] |= (__u8)(h << ((i & 1) ? 0 : 4));
		nz |= h != 0;
	}
	if (!nz)
		return -EINVAL;
	nz = false;
	for (int i = 0; i < 16; i++) {
		int h = hexval(v[36 + i]);

		if (h < 0)
			return -EINVAL;
		parent = parent << 4 | (__u64)h;
		nz |= h != 0;
	}
	if (!nz || hexval(v[53]) < 0 || hexval(v[54]) < 0)
		return -EINVAL;
	f = (__u8)(hexval(v[53]) << 4 | hexval(v[54]));
	memcpy(trace_id, id, 16);
	*parent_id = parent;
	*flags = f;
	return 0;
}

static void header(struct http_head *h, const char *name, size_t nlen, const char *val, size_t vlen)
{
	if (nlen == 4 && !strncasecmp(name, "host", 4)) {
		put(h->host, sizeof(h->host), val, vlen, &h->truncated);
	} else if (nlen == 10 && !strncasecmp(name, "user-agent", 10)) {
		put(h->user_agent, sizeof(h->user_agent), val, vlen, &h->truncated);
	} else if (nlen == 14 && !strncasecmp(name, "content-length", 14)) {
		long long n = 0;

		if (!vlen || vlen > 18) {
			h->content_length = -1;
			return;
		}
		for (size_t i = 0; i < vlen; i++) {
			if (val[i] < '0' || val[i] > '9') {
				h->content_length = -1;
				return;
			}
			n = n * 10 + (val[i] - '0');
		}
		h->content_length = n;
	} else if (nlen == 11 && !strncasecmp(name, "traceparent", 11)) {
		/* Two traceparent headers make it invalid (W3C Trace Context 3.2). */
		if (h->traceparent_seen) {
			h->has_traceparent = false;
			memset(h->trace_id, 0, sizeof(h->trace_id));
			h->parent_id = 0;
			h->trace_flags = 0;
			return;
		}
		h->traceparent_seen = true;
		h->has_traceparent = !http_parse_traceparent(val, vlen, h->trace_id, &h->parent_id,
							     &h->trace_flags);
	}
}

static int request_line(struct http_head *h, const char *p, const char *eol)
{
	const char *sp1, *sp2;
	int minor;

	for (sp1 = p; sp1 < eol && is_tchar(*sp1); sp1++)
		;
	if (sp1 == p || sp1 >= eol || *sp1 != ' ' || sp1 - p > 15)
		return -EINVAL;
	for (sp2 = sp1 + 1; sp2 < eol && *sp2 != ' '; sp2++)
		if ((unsigned char)*sp2 < 0x21 || *sp2 == 0x7f)
			return -EINVAL;
	if (sp2 == sp1 + 1 || sp2 >= eol)
		return -EINVAL;
	minor = version(sp2 + 1, eol);
	if (minor < 0 || eol - (sp2 + 1) != 8)
		return -EINVAL;
	h->is_request = true;
	h->minor = minor;
	put(h->method, sizeof(h->method), p, (size_t)(sp1 - p), &h->truncated);
	put(h->target, sizeof(h->target), sp1 + 1, (size_t)(sp2 - sp1 - 1), &h->truncated);
	return 0;
}

static int status_line(struct http_head *h, const char *p, const char *eol)
{
	int minor = version(p, eol);

	if (minor < 0 || eol - p < 12 || p[8] != ' ')
		return -EINVAL;
	for (int i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
	if (eol - p > 12 && p[12] != ' ')
		return -EINVAL;
	h->minor = minor;
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (h->status < 100)
		return -EINVAL;
	if (eol - p > 13)
		put(h->reason, sizeof(h->reason), p + 13, (size_t)(eol - p - 13), &h->truncated);
	return 0;
}

int http_parse_head(const char *buf, size_t len, struct http_head *h)
{
	const char *p = buf, *end = buf + len, *eol;
	int err;

	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	if (!buf || !len)
		return -EINVAL;
	eol = line_end(p, end);
	if (!eol)
		return -EINVAL; /* not even the first line: nothing to go on */
	err = len >= 5 && !memcmp(p, "HTTP/", 5) ? status_line(h, p, eol) : request_line(h, p, eol);
	if (err) {
		memset(h, 0, sizeof(*h));
		h->content_length = -1;
		return err;
	}
	p = next_line(eol, end);
	while (p < end) {
		const char *colon, *v, *ve;

		eol = line_end(p, end);
		if (!eol)
			break; /* cut short by the capture */
		if (eol == p) {
			h->complete = true;
			break;
		}
		for (colon = p; colon < eol && *colon != ':'; colon++)
			;
		if (colon < eol && colon > p) {
			bool name_ok = true;

			for (const char *c = p; c < colon; c++)
				name_ok &= is_tchar(*c);
			for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
				;
			for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
				;
			if (name_ok)
				header(h, p, (size_t)(colon - p), v, (size_t)(ve - v));
		}
		p = next_line(eol, end);
	}
	return 0;
}

void http_target_path(const char *target, char *out, size_t cap)
{
	const char *p = target, *scheme = strstr(target, "://");
	size_t n;

	if (!cap)
		return;
	/* absolute-form: the path follows "scheme://authority" */
	if (scheme && target[0] != '/') {
		p = scheme + 3;
		p += strcspn(p, "/?#");
	}
	n = strcspn(p, "?#");
	if (!n) {
		p = "/";
		n = 1;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}
