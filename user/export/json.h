/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small streaming JSON writer: commas, nesting and string escaping handled here, output goes straight
 * to a FILE. Strings are written as valid UTF-8: valid multi-byte sequences pass through unchanged,
 * '"', '\\' and control characters are escaped, and bytes that are not valid UTF-8 become U+FFFD, so
 * names taken from the kernel (comm, paths, symbols) never break a parser. Non-finite doubles are
 * written as null.
 *
 * Misuse is not undefined: a key outside an object, a value in an object without its key, a second
 * top-level value, unbalanced or too deeply nested containers make json__finish() return -EINVAL (the
 * text written so far is then not valid JSON). Every function accepts a NULL writer and does nothing,
 * so a failed json__new() needs one check, at json__finish() (-ENOMEM).
 *
 * Ownership: the writer does not own the FILE. Not thread-safe; one writer per stream.
 */
#ifndef VIGIL_JSON_H
#define VIGIL_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

struct json;

/* pretty: newlines and two-space indentation. NULL with errno set. */
struct json *json__new(FILE *out, bool pretty);
/* NULL-safe. Does not close or flush the FILE. */
void json__free(struct json *j);
/*
 * Flushes the stream. 0; -EINVAL when the calls did not make one complete JSON value (see above);
 * -EIO when the stream failed; -ENOMEM for a NULL writer.
 */
int json__finish(struct json *j);

void json__begin_object(struct json *j);
void json__end_object(struct json *j);
void json__begin_array(struct json *j);
void json__end_array(struct json *j);
/* Inside an object, the key of the next value. */
void json__key(struct json *j, const char *key);

/* A NULL string is written as null. */
void json__str(struct json *j, const char *s);
void json__u64(struct json *j, __u64 v);
void json__i64(struct json *j, __s64 v);
/* Shortest form that reads back as the same double ("%.17g" at worst); NaN and infinities: null. */
void json__double(struct json *j, double v);
void json__bool(struct json *j, bool v);
void json__null(struct json *j);

void json__kv_str(struct json *j, const char *key, const char *v);
void json__kv_u64(struct json *j, const char *key, __u64 v);
void json__kv_i64(struct json *j, const char *key, __s64 v);
void json__kv_double(struct json *j, const char *key, double v);
void json__kv_bool(struct json *j, const char *key, bool v);

/*
 * Write s as a JSON string literal (quotes included) to out, escaped as above, for writers that do not
 * need the rest. NULL is written as "".
 */
void json_write_string(FILE *out, const char *s);

/*
 * Length (1 to 4) of the valid UTF-8 sequence that s starts with; 0 when s does not start one (a stray
 * continuation byte, a truncated sequence, an overlong form, a surrogate, a value past U+10FFFF) or when
 * *s is NUL. For other writers that must emit valid UTF-8 (the SVG flame graph).
 */
int json_utf8_len(const char *s);

#endif
