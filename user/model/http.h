/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HTTP/1.x message heads, parsed from bytes a traced program sent or received (untrusted: any
 * length, any content). The parser reads only buf[0..len), allocates nothing, never writes past
 * the fixed fields of struct http_head (long values are truncated, and say so), and accepts a head
 * cut short by the capture limit (complete = false). Pure functions; thread-safe.
 */
#ifndef VIGIL_MODEL_HTTP_H
#define VIGIL_MODEL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct http_head {
	bool is_request;
	bool complete; /* the blank line that ends the head was inside buf */
	bool truncated; /* a field was longer than its buffer */
	int minor; /* HTTP/1.<minor> */
	/* request line */
	char method[16];
	char target[256]; /* request target as sent (path and query) */
	/* status line */
	int status; /* 100..999 */
	char reason[64];
	/* headers Vigil uses */
	char host[128];
	char user_agent[128];
	long long content_length; /* -1 when absent or invalid */
	bool has_traceparent; /* one valid W3C traceparent header */
	bool traceparent_seen; /* a traceparent header was there (valid or not) */
	__u8 trace_id[16];
	__u64 parent_id;
	__u8 trace_flags;
};

/* 0, or -EINVAL when buf does not start with an HTTP/1.x request or status line. */
int http_parse_head(const char *buf, size_t len, struct http_head *h);

/*
 * A W3C Trace Context traceparent value ("00-<32 hex>-<16 hex>-<2 hex>", lowercase hex, ids not
 * all zero; versions above 00 may append "-..."). 0 or -EINVAL.
 */
int http_parse_traceparent(const char *v, size_t len, __u8 trace_id[16], __u64 *parent_id,
			   __u8 *flags);

/* The path of a request target: up to '?' or '#', origin-form or the path of an absolute URL.
 * Copies at most cap - 1 bytes into out (always terminated). */
void http_target_path(const char *target, char *out, size_t cap);

#endif
