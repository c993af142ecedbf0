// SPDX-License-Identifier: GPL-2.0
/* The streaming JSON writer: a stack of open containers is all the state it needs. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export/json.h"

#define MAX_DEPTH 64

struct json {
	FILE *out;
	bool pretty;
	bool after_key; /* a key was written: the next thing is its value */
	bool done; /* a complete top-level value was written */
	bool misused; /* see json.h: json__finish() reports -EINVAL */
	int depth;
	char open[MAX_DEPTH + 1]; /* '{' or '[' per open level; open[0] is the top level */
	bool first[MAX_DEPTH + 1]; /* nothing written yet at this level */
};

struct json *json__new(FILE *out, bool pretty)
{
	struct json *j;

	if (!out) {
		errno = EINVAL;
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->out = out;
	j->pretty = pretty;
	j->first[0] = true;
	return j;
}

void json__free(struct json *j)
{
	free(j);
}

int json__finish(struct json *j)
{
	if (!j)
		return -ENOMEM;
	if (j->depth || j->after_key || !j->done)
		j->misused = true;
	if (fflush(j->out) || ferror(j->out))
		return -EIO;
	return j->misused ? -EINVAL : 0;
}

static void newline(struct json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->out);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Before a value: the comma and the indentation, and the checks that a value may come here. */
static void before_value(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0) {
		if (j->done)
			j->misused = true; /* a second top-level value */
		return;
	}
	if (j->open[j->depth] == '{')
		j->misused = true; /* a value without a key */
	if (!j->first[j->depth])
		fputc(',', j->out);
	newline(j);
	j->first[j->depth] = false;
}

/* After a complete value: at the top level, the document is complete. */
static void after_value(struct json *j)
{
	if (j->depth == 0)
		j->done = true;
}

static void begin(struct json *j, char c)
{
	if (!j)
		return;
	before_value(j);
	fputc(c, j->out);
	if (j->depth == MAX_DEPTH) {
		/* Too deep to track: keep writing but report it; the matching end closes nothing. */
		j->misused = true;
		return;
	}
	j->depth++;
	j->open[j->depth] = c;
	j->first[j->depth] = true;
}

static void end(struct json *j, char open, char c)
{
	bool empty;

	if (!j)
		return;
	if (!j->depth || j->open[j->depth] != open || j->after_key) {
		j->misused = true;
		fputc(c, j->out);
		return;
	}
	empty = j->first[j->depth];
	j->depth--;
	if (!empty)
		newline(j);
	fputc(c, j->out);
	after_value(j);
}

void json__begin_object(struct json *j)
{
	begin(j, '{');
}

void json__end_object(struct json *j)
{
	end(j, '{', '}');
}

void json__begin_array(struct json *j)
{
	begin(j, '[');
}

void json__end_array(struct json *j)
{
	end(j, '[', ']');
}

int json_utf8_len(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];
	__u32 cp;
	int n;

	if (!c)
		return 0;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	/* A NUL ends the loop too: it is not a continuation byte. */
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void json_write_string(FILE *out, const char *str)
{
	const char *s = str ? str : "";

	fputc('"', out);
	while (*s) {
		unsigned char c = (unsigned char)*s;
		int n = json_utf8_len(s);

		if (!n) {
			fputs("\xef\xbf\xbd", out); /* U+FFFD REPLACEMENT CHARACTER */
			s++;
			continue;
		}
		if (n > 1) {
			fwrite(s, 1, n, out);
			s += n;
			continue;
		}
		switch (c) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(out, "\\u%04x", c);
			else
				fputc(c, out);
		}
		s++;
	}
	fputc('"', out);
}

void json__key(struct json *j, const char *key)
{
	if (!j)
		return;
	if (!j->depth || j->open[j->depth] != '{' || j->after_key)
		j->misused = true;
	if (!j->first[j->depth])
		fputc(',', j->out);
	if (j->depth)
		newline(j);
	j->first[j->depth] = false;
	json_write_string(j->out, key);
	fputs(j->pretty ? ": " : ":", j->out);
	j->after_key = true;
}

void json__str(struct json *j, const char *s)
{
	if (!j)
		return;
	if (!s) {
		json__null(j);
		return;
	}
	before_value(j);
	json_write_string(j->out, s);
	after_value(j);
}

void json__u64(struct json *j, __u64 v)
{
	if (!j)
		return;
	before_value(j);
	fprintf(j->out, "%" PRIu64, (uint64_t)v);
	after_value(j);
}

void json__i64(struct json *j, __s64 v)
{
	if (!j)
		return;
	before_value(j);
	fprintf(j->out, "%" PRId64, (int64_t)v);
	after_value(j);
}

void json__double(struct json *j, double v)
{
	char buf[40];

	if (!j)
		return;
	before_value(j);
	if (!isfinite(v)) {
		fputs("null", j->out);
	} else {
		/* 15 digits read back exactly for most values and look tidy; 17 always do. */
		snprintf(buf, sizeof(buf), "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, sizeof(buf), "%.17g", v);
		/* A locale with a decimal comma must not leak into JSON. */
		for (char *c = buf; *c; c++)
			if (*c == ',')
				*c = '.';
		fputs(buf, j->out);
	}
	after_value(j);
}

void json__bool(struct json *j, bool v)
{
	if (!j)
		return;
	before_value(j);
	fputs(v ? "true" : "false", j->out);
	after_value(j);
}

void json__null(struct json *j)
{
	if (!j)
		return;
	before_value(j);
	fputs("null", j->out);
	after_value(j);
}

void json__kv_str(struct json *j, const char *key, const char *v)
{
	json__key(j, key);
	json__str(j, v);
}

void json__kv_u64(struct json *j, const char *key, __u64 v)
{
	json__key(j, key);
	json__u64(j, v);
}

void json__kv_i64(struct json *j, const char *key, __s64 v)
{
	json__key(j, key);
	json__i64(j, v);
}

void json__kv_double(struct json *j, const char *key, double v)
{
	json__key(j, key);
	json__double(j, v);
}

void json__kv_bool(struct json *j, const char *key, bool v)
{
	json__key(j, key);
	json__bool(j, v);
}
