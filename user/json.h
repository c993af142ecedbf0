/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small streaming JSON writer: commas, nesting and string escaping handled here, output goes straight
 * to a FILE. Strings are written as valid UTF-8: control characters are escaped and bytes that are not
 * valid UTF-8 become U+FFFD, so names taken from the kernel (comm, paths) never break a parser.
 * Non-finite doubles are written as null. Not thread-safe; one writer per stream.
 */
#ifndef VIGIL_JSON_H
#define VIGIL_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

struct json;

/* pretty: newlines and two-space indentation. NULL + errno. */
struct json *json__new(FILE *out, bool pretty);
/* NULL-safe. Does not close the FILE. */
void json__free(struct json *j);
/* 0, or -EIO when the stream failed, -EINVAL when objects and arrays were not balanced. */
int json__finish(struct json *j);

void json__begin_object(struct json *j);
void json__end_object(struct json *j);
void json__begin_array(struct json *j);
void json__end_array(struct json *j);
/* Inside an object, the key of the next value. */
void json__key(struct json *j, const char *key);

void json__str(struct json *j, const char *s);
void json__u64(struct json *j, __u64 v);
void json__i64(struct json *j, __s64 v);
void json__double(struct json *j, double v);
void json__bool(struct json *j, bool v);
void json__null(struct json *j);

void json__kv_str(struct json *j, const char *key, const char *v);
void json__kv_u64(struct json *j, const char *key, __u64 v);
void json__kv_i64(struct json *j, const char *key, __s64 v);
void json__kv_double(struct json *j, const char *key, double v);
void json__kv_bool(struct json *j, const char *key, bool v);

/* Write s as a JSON string literal (quotes included) to out: for writers that do not need the rest. */
void json_write_string(FILE *out, const char *s);

#endif
