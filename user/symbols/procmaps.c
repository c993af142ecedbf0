// SPDX-License-Identifier: GPL-2.0
/* /proc/PID/maps parsing. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "symbols/procmaps.h"

struct procmaps {
	struct procmaps_entry *e;
	size_t n;
	char *paths; /* all path strings, NUL-separated */
};

static const char deleted_suffix[] = " (deleted)";

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int procmaps__scan_hex(const char **p, const char *end, __u64 *out)
{
	const char *s = *p;
	__u64 v = 0;
	int d, n = 0;

	while (s < end && (d = hexval(*s)) >= 0) {
		if (++n > 16)
			return -EINVAL;
		v = v << 4 | (__u64)d;
		s++;
	}
	if (!n)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

static int parse_dec(const char **p, const char *end, __u64 *out)
{
	const char *s = *p;
	__u64 v = 0;
	int n = 0;

	while (s < end && *s >= '0' && *s <= '9') {
		if (++n > 20 || v > (~0ULL - 9) / 10)
			return -EINVAL;
		v = v * 10 + (__u64)(*s - '0');
		s++;
	}
	if (!n)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

int procmaps__scan_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static void skip_blanks(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

int procmaps__parse_line(const char *line, size_t len, struct procmaps_line *out)
{
	const char *p = line, *end = line + len;
	__u64 maj, min;
	size_t sl = sizeof(deleted_suffix) - 1;

	memset(out, 0, sizeof(*out));
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (procmaps__scan_hex(&p, end, &out->start) || procmaps__scan_char(&p, end, '-') ||
	    procmaps__scan_hex(&p, end, &out->end) || procmaps__scan_char(&p, end, ' '))
		return -EINVAL;
	if (out->end < out->start || end - p < 5)
		return -EINVAL;
	/* perms: rwxp / rwxs, '-' for a missing bit */
	if ((p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
	    (p[2] != 'x' && p[2] != '-') || (p[3] != 'p' && p[3] != 's'))
		return -EINVAL;
	out->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
		    (p[2] == 'x' ? PROT_EXEC : 0);
	out->shared = p[3] == 's';
	p += 4;
	if (procmaps__scan_char(&p, end, ' ') || procmaps__scan_hex(&p, end, &out->pgoff) ||
	    procmaps__scan_char(&p, end, ' ') || procmaps__scan_hex(&p, end, &maj) ||
	    procmaps__scan_char(&p, end, ':') || procmaps__scan_hex(&p, end, &min) ||
	    procmaps__scan_char(&p, end, ' ') || parse_dec(&p, end, &out->ino))
		return -EINVAL;
	if (maj > 0xffffffffULL || min > 0xffffffffULL)
		return -EINVAL;
	out->maj = (__u32)maj;
	out->min = (__u32)min;
	if (p < end && *p != ' ' && *p != '\t')
		return -EINVAL;
	skip_blanks(&p, end);
	out->path = p;
	out->path_len = (size_t)(end - p);
	if (out->path_len > sl && !memcmp(end - sl, deleted_suffix, sl)) {
		out->path_len -= sl;
		out->deleted = true;
	}
	return 0;
}

enum procmaps_kind procmaps__classify(const char *path)
{
	if (!path || !*path)
		return PROCMAPS_ANON;
	if (path[0] == '/')
		return PROCMAPS_FILE;
	return PROCMAPS_SPECIAL;
}

/* Copies a path, turning the kernel's "\012" escape back into a newline. Returns bytes written. */
static size_t unescape(char *dst, const char *src, size_t len)
{
	size_t i = 0, o = 0;

	while (i < len) {
		if (src[i] == '\\' && len - i >= 4 && !memcmp(src + i, "\\012", 4)) {
			dst[o++] = '\n';
			i += 4;
		} else {
			dst[o++] = src[i++];
		}
	}
	dst[o] = '\0';
	return o;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct procmaps_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

struct procmaps *procmaps__parse(const char *buf, size_t len)
{
	struct procmaps *m = calloc(1, sizeof(*m));
	const char *p = buf, *end = buf + len;
	size_t lines = 0, poff = 0;
	bool sorted = true;

	if (!m)
		return NULL;
	for (const char *q = buf; q < end; q++)
		lines += *q == '\n';
	lines++;
	m->e = calloc(lines, sizeof(*m->e));
	/* Paths never grow when unescaped: the input size bounds the pool. */
	m->paths = malloc(len + lines);
	if (!m->e || !m->paths) {
		procmaps__free(m);
		errno = ENOMEM;
		return NULL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct procmaps_line l;
		struct procmaps_entry *e;

		if (procmaps__parse_line(p, (size_t)(le - p), &l) == 0) {
			e = &m->e[m->n];
			e->start = l.start;
			e->end = l.end;
			e->pgoff = l.pgoff;
			e->ino = l.ino;
			e->maj = l.maj;
			e->min = l.min;
			e->prot = l.prot;
			e->shared = l.shared;
			e->deleted = l.deleted;
			e->path = m->paths + poff;
			poff += unescape(m->paths + poff, l.path, l.path_len) + 1;
			e->kind = procmaps__classify(e->path);
			if (m->n && cmp_entry(&m->e[m->n - 1], e) > 0)
				sorted = false;
			m->n++;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	if (!sorted)
		qsort(m->e, m->n, sizeof(*m->e), cmp_entry);
	return m;
}

void procmaps__prefault(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t e = ((uintptr_t)p + len) & ~(uintptr_t)4095;

	/* Errors (kernels before 5.14) only cost the faults this meant to save. */
	if (len >= (1 << 20) && e > a)
		(void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)len;
#endif
}

char *procmaps__slurp_fd(int fd, size_t max, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = NULL, *nb;
	int err;
	ssize_t r;

	buf = malloc(cap);
	if (!buf) {
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		if (cap - n < (1 << 15)) {
			nb = realloc(buf, cap * 2);
			if (!nb) {
				err = ENOMEM;
				goto fail;
			}
			buf = nb;
			procmaps__prefault(buf + cap, cap);
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (max && n > max) {
			err = EFBIG;
			goto fail;
		}
	}
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	errno = err;
	return NULL;
}

char *procmaps__slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = procmaps__slurp_fd(fd, 0, len);
	err = errno;
	close(fd);
	errno = err;
	return buf;
}

struct procmaps *procmaps__read(const char *path)
{
	struct procmaps *m;
	size_t len;
	char *buf = procmaps__slurp(path, &len);
	int err;

	if (!buf)
		return NULL;
	m = procmaps__parse(buf, len);
	err = errno;
	free(buf);
	errno = err;
	return m;
}

void procmaps__free(struct procmaps *m)
{
	if (!m)
		return;
	free(m->e);
	free(m->paths);
	free(m);
}

size_t procmaps__count(const struct procmaps *m)
{
	return m->n;
}

const struct procmaps_entry *procmaps__entry(const struct procmaps *m, size_t i)
{
	return i < m->n ? &m->e[i] : NULL;
}

const struct procmaps_entry *procmaps__find(const struct procmaps *m, __u64 addr)
{
	size_t lo = 0, hi = m->n;

	/* Last entry with start <= addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->e[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= m->e[lo - 1].end)
		return NULL;
	return &m->e[lo - 1];
}
