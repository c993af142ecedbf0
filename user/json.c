// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MAX_DEPTH 64

struct json {
	FILE *out;
	bool pretty;
	int depth;
	bool first[MAX_DEPTH]; /* no element written yet at this level */
	bool after_key;
	bool unbalanced;
};

struct json *json__new(FILE *out, bool pretty)
{
	struct json *j = calloc(1, sizeof(*j));

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
	if (j->depth || j->unbalanced)
		return -EINVAL;
	return fflush(j->out) || ferror(j->out) ? -EIO : 0;
}

static void newline(struct json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->out);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Before any value or key: the comma and the indentation. */
static void before_value(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		fputc(',', j->out);
	if (j->depth)
		newline(j);
	j->first[j->depth] = false;
}

static void begin(struct json *j, char c)
{
	before_value(j);
	fputc(c, j->out);
	if (j->depth + 1 >= MAX_DEPTH) {
		j->unbalanced = true;
		return;
	}
	j->first[++j->depth] = true;
}

static void end(struct json *j, char c)
{
	bool empty;

	if (!j->depth) {
		j->unbalanced = true;
		return;
	}
	empty = j->first[j->depth];
	j->depth--;
	if (!empty)
		newline(j);
	fputc(c, j->out);
}

void json__begin_object(struct json *j)
{
	begin(j, '{');
}

void json__end_object(struct json *j)
{
	end(j, '}');
}

void json__begin_array(struct json *j)
{
	begin(j, '[');
}

void json__end_array(struct json *j)
{
	end(j, ']');
}

/* Length of the valid UTF-8 sequence at s, 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	int n;
	__u32 cp;

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
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void json_write_string(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");

	fputc('"', out);
	while (*s) {
		int n = utf8_len(s);

		if (!n) {
			fputs("\xef\xbf\xbd", out); /* U+FFFD */
			s++;
			continue;
		}
		if (n > 1) {
			fwrite(s, 1, n, out);
			s += n;
			continue;
		}
		switch (*s) {
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
			if (*s < 0x20 || *s == 0x7f)
				fprintf(out, "\\u%04x", *s);
			else
				fputc(*s, out);
		}
		s++;
	}
	fputc('"', out);
}

void json__key(struct json *j, const char *key)
{
	before_value(j);
	json_write_string(j->out, key);
	fputs(j->pretty ? ": " : ":", j->out);
	j->after_key = true;
}

void json__str(struct json *j, const char *s)
{
	before_value(j);
	json_write_string(j->out, s);
}

void json__u64(struct json *j, __u64 v)
{
	before_value(j);
	fprintf(j->out, "%" PRIu64, (uint64_t)v);
}

void json__i64(struct json *j, __s64 v)
{
	before_value(j);
	fprintf(j->out, "%" PRId64, (int64_t)v);
}

void json__double(struct json *j, double v)
{
	before_value(j);
	if (!isfinite(v))
		fputs("null", j->out);
	else
		fprintf(j->out, "%.15g", v);
}

void json__bool(struct json *j, bool v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->out);
}

void json__null(struct json *j)
{
	before_value(j);
	fputs("null", j->out);
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
