/* SPDX-License-Identifier: GPL-2.0 */
/*
 * POST a finished export to a receiver over HTTP(S) with libcurl (OTLP/HTTP, push gateways):
 * retried with exponential back-off (honouring Retry-After) when the receiver answers 429, 502,
 * 503 or 504 or cannot be reached, as the OTLP/HTTP specification asks of exporters. Blocking;
 * thread-safe once curl_global_init() ran (export_push calls it).
 */
#ifndef VIGIL_EXPORT_PUSH_H
#define VIGIL_EXPORT_PUSH_H

#include <stddef.h>

struct push_opts {
	const char *content_type; /* "application/json" */
	int max_attempts; /* 0: 5 */
	double first_backoff_s; /* 0: 0.5 s, doubled each retry */
	double max_backoff_s; /* 0: 30 s (also caps Retry-After) */
	double timeout_s; /* per attempt; 0: 10 s */
};

struct push_result {
	long status; /* last HTTP status, 0 when no answer */
	int attempts;
	char error[256]; /* why the last attempt failed ("" on success) */
};

/* 0 when the receiver answered 2xx; -EAGAIN after the retries ran out; -EIO for an answer that
 * is not retried (4xx but 429) or a transport error; res says which. */
int export_push(const char *url, const void *body, size_t len, const struct push_opts *o,
		struct push_result *res);

/* The OTLP/HTTP traces URL for an endpoint: "/v1/traces" appended when the URL has no path. */
void push_otlp_traces_url(const char *endpoint, char *buf, size_t len);

#endif
