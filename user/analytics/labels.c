// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/labels.h"
#include "model/hashmap.h"

static int pair_cmp(const void *a, const void *b)
{
	const struct label *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static uint64_t pairs_hash(const struct label *l, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < n; i++) {
		/* The NUL separates name and value so "ab"="c" differs from "a"="bc". */
		h = hash_bytes(l[i].name, strlen(l[i].name) + 1, h);
		h = hash_bytes(l[i].value, strlen(l[i].value) + 1, h);
	}
	return h;
}

/* Pairs already sorted and unique, values non-empty: copy into one block. */
static struct labels *labels_pack(const struct label *l, size_t n)
{
	size_t bytes = sizeof(struct labels) + n * sizeof(struct label);
	struct labels *ls;
	char *p;

	for (size_t i = 0; i < n; i++)
		bytes += strlen(l[i].name) + strlen(l[i].value) + 2;
	ls = malloc(bytes);
	if (!ls) {
		errno = ENOMEM;
		return NULL;
	}
	ls->refs = 1;
	ls->n = (uint32_t)n;
	p = (char *)&ls->l[n];
	for (size_t i = 0; i < n; i++) {
		size_t a = strlen(l[i].name) + 1, b = strlen(l[i].value) + 1;

		memcpy(p, l[i].name, a);
		ls->l[i].name = p;
		p += a;
		memcpy(p, l[i].value, b);
		ls->l[i].value = p;
		p += b;
	}
	ls->hash = pairs_hash(ls->l, n);
	return ls;
}

/* Sorts tmp[0..n) stably by name, keeps the last of each name, drops empty values; returns the count. */
static size_t pairs_normalize(struct label *tmp, size_t n)
{
	size_t out = 0;

	/* Insertion sort keeps equal names in input order (n is small), so "last wins" holds. */
	for (size_t i = 1; i < n; i++) {
		struct label x = tmp[i];
		size_t j = i;

		while (j > 0 && strcmp(tmp[j - 1].name, x.name) > 0) {
			tmp[j] = tmp[j - 1];
			j--;
		}
		tmp[j] = x;
	}
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && !strcmp(tmp[i].name, tmp[i + 1].name))
			continue;
		if (!tmp[i].value || !tmp[i].value[0])
			continue;
		tmp[out++] = tmp[i];
	}
	return out;
}

struct labels *labels__new(const struct label *l, size_t n)
{
	struct label stackbuf[32], *tmp = stackbuf;
	struct labels *ls;

	if (n > 32) {
		tmp = malloc(n * sizeof(*tmp));
		if (!tmp) {
			errno = ENOMEM;
			return NULL;
		}
	}
	if (n)
		memcpy(tmp, l, n * sizeof(*tmp));
	n = pairs_normalize(tmp, n);
	ls = labels_pack(tmp, n);
	if (tmp != stackbuf)
		free(tmp);
	return ls;
}

struct labels *labels__empty(void)
{
	return labels_pack(NULL, 0);
}

struct labels *labels__ref(struct labels *ls)
{
	if (ls)
		ls->refs++;
	return ls;
}

void labels__unref(struct labels *ls)
{
	if (ls && !--ls->refs)
		free(ls);
}

const char *labels__get(const struct labels *ls, const char *name)
{
	size_t lo = 0, hi = ls->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(ls->l[mid].name, name);

		if (!c)
			return ls->l[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool labels__equal(const struct labels *a, const struct labels *b)
{
	if (a == b)
		return true;
	if (a->hash != b->hash || a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (strcmp(a->l[i].name, b->l[i].name) || strcmp(a->l[i].value, b->l[i].value))
			return false;
	return true;
}

int labels__cmp(const struct labels *a, const struct labels *b)
{
	uint32_t n = a->n < b->n ? a->n : b->n;

	for (uint32_t i = 0; i < n; i++) {
		int c = strcmp(a->l[i].name, b->l[i].name);

		if (!c)
			c = strcmp(a->l[i].value, b->l[i].value);
		if (c)
			return c < 0 ? -1 : 1;
	}
	return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
}

struct labels *labels__drop_name(struct labels *ls)
{
	struct labels_builder b;
	struct labels *out;

	if (!labels__get(ls, LABEL_METRIC_NAME))
		return labels__ref(ls);
	if (labels_builder__init(&b, ls))
		return NULL;
	labels_builder__del(&b, LABEL_METRIC_NAME);
	out = labels_builder__finish(&b);
	labels_builder__release(&b);
	return out;
}

static bool name_in(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

uint64_t labels__hash_subset(const struct labels *ls, const char *const *names, size_t nnames,
			     bool keep)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;

	for (uint32_t i = 0; i < ls->n; i++) {
		bool listed = name_in(ls->l[i].name, names, nnames);

		if (keep ? !listed : (listed || !strcmp(ls->l[i].name, LABEL_METRIC_NAME)))
			continue;
		h = hash_bytes(ls->l[i].name, strlen(ls->l[i].name) + 1, h);
		h = hash_bytes(ls->l[i].value, strlen(ls->l[i].value) + 1, h);
	}
	return h;
}

int labels__format(const struct labels *ls, char *buf, size_t len)
{
	const char *name = labels__get(ls, LABEL_METRIC_NAME);
	size_t off = 0;
	bool first = true;
	int r;

#define PUT(...)                                                                       \
	do {                                                                           \
		r = snprintf(buf + (off < len ? off : len), off < len ? len - off : 0, \
			     __VA_ARGS__);                                             \
		off += (size_t)(r > 0 ? r : 0);                                        \
	} while (0)
	if (name)
		PUT("%s", name);
	if (!name || ls->n > 1)
		PUT("{");
	for (uint32_t i = 0; i < ls->n; i++) {
		if (!strcmp(ls->l[i].name, LABEL_METRIC_NAME))
			continue;
		PUT("%s%s=\"", first ? "" : ", ", ls->l[i].name);
		for (const char *c = ls->l[i].value; *c; c++) {
			if (*c == '"' || *c == '\\')
				PUT("\\%c", *c);
			else if (*c == '\n')
				PUT("\\n");
			else
				PUT("%c", *c);
		}
		PUT("\"");
		first = false;
	}
	if (!name || ls->n > 1)
		PUT("}");
#undef PUT
	return (int)off;
}

int labels_builder__init(struct labels_builder *b, const struct labels *from)
{
	size_t n = from ? from->n : 0;

	b->n = 0;
	b->cap = n + 8;
	b->l = malloc(b->cap * sizeof(*b->l));
	if (!b->l)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		b->l[b->n++] = from->l[i];
	return 0;
}

int labels_builder__set(struct labels_builder *b, const char *name, const char *value)
{
	for (size_t i = 0; i < b->n; i++) {
		if (!strcmp(b->l[i].name, name)) {
			b->l[i].value = value;
			return 0;
		}
	}
	if (b->n == b->cap) {
		struct label *l = realloc(b->l, 2 * b->cap * sizeof(*l));

		if (!l)
			return -ENOMEM;
		b->l = l;
		b->cap *= 2;
	}
	b->l[b->n].name = name;
	b->l[b->n].value = value;
	b->n++;
	return 0;
}

void labels_builder__del(struct labels_builder *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++) {
		if (!strcmp(b->l[i].name, name)) {
			b->l[i] = b->l[--b->n];
			return;
		}
	}
}

void labels_builder__keep(struct labels_builder *b, const char *const *names, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < b->n; i++)
		if (name_in(b->l[i].name, names, n))
			b->l[out++] = b->l[i];
	b->n = out;
}

struct labels *labels_builder__finish(struct labels_builder *b)
{
	size_t n = b->n;

	/* Names are unique in a builder: sort, then drop empty values. */
	qsort(b->l, n, sizeof(*b->l), pair_cmp);
	n = pairs_normalize(b->l, n);
	b->n = n;
	return labels_pack(b->l, n);
}

void labels_builder__release(struct labels_builder *b)
{
	free(b->l);
	b->l = NULL;
	b->n = b->cap = 0;
}

static bool is_alpha_(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

bool metric_name_valid(const char *s)
{
	if (!*s || !(is_alpha_(*s) || *s == ':'))
		return false;
	for (s++; *s; s++)
		if (!(is_alpha_(*s) || is_digit(*s) || *s == ':'))
			return false;
	return true;
}

bool label_name_valid(const char *s)
{
	if (!*s || !is_alpha_(*s))
		return false;
	for (s++; *s; s++)
		if (!(is_alpha_(*s) || is_digit(*s)))
			return false;
	return true;
}

bool label_value_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int len = *p < 0x80	  ? 1 :
			  (*p >> 5) == 6  ? 2 :
			  (*p >> 4) == 14 ? 3 :
			  (*p >> 3) == 30 ? 4 :
					    0;

		if (!len)
			return false;
		for (int i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += len;
	}
	return true;
}

/* RE2 (Go) syntax to POSIX extended, anchored: the escapes people use in selectors. */
static char *re2_to_posix(const char *re, int *flags)
{
	size_t len = strlen(re), cap = len * 12 + 8, o = 0;
	char *out = malloc(cap);
	bool in_bracket = false;

	if (!out)
		return NULL;
	if (!strncmp(re, "(?i)", 4)) {
		*flags |= REG_ICASE;
		re += 4;
	}
	out[o++] = '^';
	out[o++] = '(';
	for (const char *p = re; *p; p++) {
		const char *rep = NULL;

		if (*p == '\\' && p[1]) {
			char c = *++p;

			switch (c) {
			case 'd':
				rep = in_bracket ? "0-9" : "[0-9]";
				break;
			case 'D':
				rep = in_bracket ? NULL : "[^0-9]";
				break;
			case 's':
				rep = in_bracket ? "[:space:]" : "[[:space:]]";
				break;
			case 'S':
				rep = in_bracket ? NULL : "[^[:space:]]";
				break;
			case 'w':
				rep = in_bracket ? "[:alnum:]_" : "[[:alnum:]_]";
				break;
			case 'W':
				rep = in_bracket ? NULL : "[^[:alnum:]_]";
				break;
			default:
				if (in_bracket) {
					/* Inside brackets POSIX has no escapes: the character itself. */
					out[o++] = c;
					continue;
				}
				out[o++] = '\\';
				out[o++] = c;
				continue;
			}
			if (!rep) {
				free(out);
				return NULL;
			}
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
			continue;
		}
		if (!in_bracket && p[0] == '(' && p[1] == '?' && p[2] == ':') {
			out[o++] = '(';
			p += 2;
			continue;
		}
		if (!in_bracket && (p[0] == '*' || p[0] == '+' || p[0] == '?') && p[1] == '?') {
			/* Non-greedy: the match is anchored at both ends, so greediness cannot matter. */
			out[o++] = *p++;
			continue;
		}
		if (!in_bracket && *p == '[') {
			in_bracket = true;
			out[o++] = *p;
			if (p[1] == '^')
				out[o++] = *++p;
			if (p[1] == ']')
				out[o++] = *++p;
			continue;
		}
		if (in_bracket && *p == '[' && p[1] == ':') {
			const char *end = strstr(p + 2, ":]");

			if (end) {
				memcpy(out + o, p, (size_t)(end + 2 - p));
				o += (size_t)(end + 2 - p);
				p = end + 1;
				continue;
			}
		}
		if (in_bracket && *p == ']')
			in_bracket = false;
		out[o++] = *p;
	}
	out[o++] = ')';
	out[o++] = '$';
	out[o] = 0;
	return out;
}

/*
 * What RE2 (Prometheus' engine) refuses and glibc's regcomp would take, at a cost in memory that
 * grows with each operator: a repetition of a repetition ("a++", "a*{2}"; a lazy "?" after one is
 * fine) and a repeat count over 1000. Returns the offending text's offset, or -1.
 */
static long nested_repetition(const char *pat, bool *count)
{
	bool in_bracket = false, after_rep = false, lazy_done = false;

	for (const char *p = pat; *p; p++) {
		bool rep = false;

		if (*p == '\\' && p[1]) {
			p++;
			after_rep = false;
			continue;
		}
		if (in_bracket) {
			in_bracket = *p != ']';
			continue;
		}
		if (*p == '[') {
			in_bracket = true;
			if (p[1] == '^')
				p++;
			if (p[1] == ']')
				p++;
			after_rep = false;
			continue;
		}
		if (*p == '*' || *p == '+' || *p == '?') {
			rep = true;
		} else if (*p == '{' && p[1] >= '0' && p[1] <= '9') {
			char *end;
			unsigned long n = strtoul(p + 1, &end, 10), m = n;

			if (*end == ',' && end[1] >= '0' && end[1] <= '9')
				m = strtoul(end + 1, &end, 10);
			else if (*end == ',')
				end++;
			if (*end == '}') {
				if (n > 1000 || m > 1000) {
					*count = true;
					return p - pat;
				}
				rep = true;
				p = end;
			}
		}
		if (rep && after_rep) {
			if (*p == '?' && !lazy_done) {
				lazy_done = true;
				continue;
			}
			*count = false;
			return p - pat;
		}
		after_rep = rep;
		lazy_done = false;
	}
	return -1;
}

int label_regex_compile(regex_t *re, const char *pattern, bool nosub, char *err, size_t errlen)
{
	int flags = REG_EXTENDED | (nosub ? REG_NOSUB : 0), rc;
	bool count = false;
	long bad = nested_repetition(pattern, &count);
	char *posix;

	if (bad >= 0) {
		if (err)
			snprintf(err, errlen, "error parsing regexp \"%s\": %s at offset %ld",
				 pattern,
				 count ? "invalid repeat count (over 1000)" :
					 "invalid nested repetition operator",
				 bad);
		return -EINVAL;
	}
	posix = re2_to_posix(pattern, &flags);
	if (!posix) {
		if (err)
			snprintf(err, errlen, "unsupported escape in regular expression \"%s\"",
				 pattern);
		return -EINVAL;
	}
	rc = regcomp(re, posix, flags);
	free(posix);
	if (rc) {
		if (err) {
			char why[128];

			regerror(rc, re, why, sizeof(why));
			snprintf(err, errlen, "error parsing regexp \"%s\": %s", pattern, why);
		}
		return -EINVAL;
	}
	return 0;
}

int label_matcher_init(struct label_matcher *m, enum match_type type, const char *name,
		       const char *value, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->name = strdup(name);
	m->value = strdup(value);
	if (!m->name || !m->value) {
		label_matcher_release(m);
		return -ENOMEM;
	}
	if (type == MATCH_RE || type == MATCH_NRE) {
		int rc = label_regex_compile(&m->re, value, true, err, errlen);

		if (rc) {
			label_matcher_release(m);
			return rc;
		}
		m->has_re = true;
	}
	return 0;
}

void label_matcher_release(struct label_matcher *m)
{
	if (m->has_re)
		regfree(&m->re);
	free(m->name);
	free(m->value);
	memset(m, 0, sizeof(*m));
}

bool label_matcher_matches(const struct label_matcher *m, const char *value)
{
	if (!value)
		value = "";
	switch (m->type) {
	case MATCH_EQ:
		return !strcmp(value, m->value);
	case MATCH_NE:
		return strcmp(value, m->value) != 0;
	case MATCH_RE:
		return !regexec(&m->re, value, 0, NULL, 0);
	case MATCH_NRE:
		return regexec(&m->re, value, 0, NULL, 0) != 0;
	}
	return false;
}

bool labels__match(const struct labels *ls, const struct label_matcher *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!label_matcher_matches(&m[i], labels__get(ls, m[i].name)))
			return false;
	return true;
}

bool label_matcher_matches_empty(const struct label_matcher *m)
{
	return label_matcher_matches(m, "");
}
