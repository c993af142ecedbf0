// SPDX-License-Identifier: GPL-2.0
/* perf-PID.map: JIT symbols that runtimes write for perf. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/perfmap.h"
#include "symbols/procmaps.h"

struct perfmap {
	struct perfmap_sym *syms;
	size_t n;
	size_t dropped; /* symbol lines over the cap */
	size_t text_len;
	char *text; /* the input, names NUL-terminated in place */
};

static int cmp_psym(const void *a, const void *b)
{
	const struct perfmap_sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* Names point into the text in line order: equal starts keep their input order. */
	return x->name < y->name ? -1 : x->name > y->name ? 1 : 0;
}

/* Parses text (len bytes, text[len] == '\0') in place, keeping at most max symbols (0: all). */
static struct perfmap *perfmap_parse_owned(char *text, size_t len, size_t max)
{
	struct perfmap *m = calloc(1, sizeof(*m));
	char *p = text, *end = text + len;
	size_t lines = 1, n = 0;

	if (!m) {
		free(text);
		errno = ENOMEM;
		return NULL;
	}
	m->text = text;
	m->text_len = len;
	for (const char *q = text; q < end; q++)
		lines += *q == '\n';
	if (max && lines > max)
		lines = max;
	m->syms = malloc(lines * sizeof(*m->syms));
	if (!m->syms) {
		perfmap__free(m);
		errno = ENOMEM;
		return NULL;
	}
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		const char *q = p;
		__u64 start, size;

		*le = '\0';
		if (le > p && le[-1] == '\r')
			le[-1] = '\0';
		if (le - q > 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
			q += 2;
		if (!procmaps__scan_hex(&q, le, &start) && !procmaps__scan_char(&q, le, ' ')) {
			if (le - q > 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
				q += 2;
			if (!procmaps__scan_hex(&q, le, &size) &&
			    !procmaps__scan_char(&q, le, ' ') && *q && size &&
			    start + size > start) {
				if (n < lines) {
					m->syms[n].start = start;
					m->syms[n].end = start + size;
					m->syms[n].name = q;
					n++;
				} else {
					m->dropped++;
				}
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	qsort(m->syms, n, sizeof(*m->syms), cmp_psym);
	for (size_t i = 0; i < n; i++) {
		if (m->n && m->syms[m->n - 1].start == m->syms[i].start)
			m->syms[m->n - 1] = m->syms[i];
		else
			m->syms[m->n++] = m->syms[i];
	}
	return m;
}

struct perfmap *perfmap__parse(const char *buf, size_t len)
{
	char *text = malloc(len + 1);

	if (!text) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(text, buf, len);
	text[len] = '\0';
	return perfmap_parse_owned(text, len, 0);
}

struct perfmap *perfmap__read_fd(int fd, size_t max_bytes, size_t max_syms)
{
	size_t len;
	char *text = procmaps__slurp_fd(fd, max_bytes, &len);

	return text ? perfmap_parse_owned(text, len, max_syms) : NULL;
}

size_t perfmap__dropped(const struct perfmap *m)
{
	return m->dropped;
}

size_t perfmap__memory(const struct perfmap *m)
{
	return sizeof(*m) + m->n * sizeof(*m->syms) + m->text_len + 1;
}

void perfmap__free(struct perfmap *m)
{
	if (!m)
		return;
	free(m->syms);
	free(m->text);
	free(m);
}

size_t perfmap__count(const struct perfmap *m)
{
	return m->n;
}

const struct perfmap_sym *perfmap__find(const struct perfmap *m, __u64 addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* The nearest start below, or one a little further back that a long entry still covers. */
	for (size_t i = lo, k = 0; i > 0 && k < 4; i--, k++)
		if (addr < m->syms[i - 1].end)
			return &m->syms[i - 1];
	return NULL;
}
