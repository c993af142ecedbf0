// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>

#include "export/push.h"

struct answer {
	double retry_after; /* seconds, -1 when absent */
};

/* "Retry-After: 3" (delay-seconds; an HTTP-date counts as absent). */
static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;

	if (len > 12 && !strncasecmp(buf, "retry-after:", 12)) {
		char tmp[32];
		size_t k = len - 12 < sizeof(tmp) - 1 ? len - 12 : sizeof(tmp) - 1;
		char *end;
		double v;

		memcpy(tmp, buf + 12, k);
		tmp[k] = '\0';
		v = strtod(tmp, &end);
		if (end != tmp && v >= 0 && isfinite(v))
			a->retry_after = v;
	}
	return len;
}

static size_t discard(char *buf, size_t size, size_t n, void *arg)
{
	(void)buf;
	(void)arg;
	return size * n;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static bool retryable(long status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

int export_push(const char *url, const void *body, size_t len, const struct push_opts *o,
		struct push_result *res)
{
	int attempts = o && o->max_attempts > 0 ? o->max_attempts : 5;
	double backoff = o && o->first_backoff_s > 0 ? o->first_backoff_s : 0.5;
	double cap = o && o->max_backoff_s > 0 ? o->max_backoff_s : 30;
	double timeout = o && o->timeout_s > 0 ? o->timeout_s : 10;
	char ctype[128];
	struct curl_slist *hdrs = NULL;
	CURL *c;
	int ret = -EAGAIN;

	memset(res, 0, sizeof(*res));
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -ENOMEM;
	c = curl_easy_init();
	snprintf(ctype, sizeof(ctype), "Content-Type: %s",
		 o && o->content_type ? o->content_type : "application/json");
	hdrs = curl_slist_append(hdrs, ctype);
	if (!c || !hdrs) {
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(c);
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil");
	for (int i = 0; i < attempts; i++) {
		struct answer a = { .retry_after = -1 };
		CURLcode rc;
		double wait;

		curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
		res->attempts = i + 1;
		res->status = 0;
		rc = curl_easy_perform(c);
		if (rc == CURLE_OK) {
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
			if (res->status >= 200 && res->status < 300) {
				res->error[0] = '\0';
				ret = 0;
				break;
			}
			snprintf(res->error, sizeof(res->error), "HTTP %ld", res->status);
			if (!retryable(res->status)) {
				ret = -EIO;
				break;
			}
		} else {
			snprintf(res->error, sizeof(res->error), "%s", curl_easy_strerror(rc));
			/* Refused or timed out: the receiver may be starting; anything else (a bad
			 * URL, TLS) will not get better. */
			if (rc != CURLE_COULDNT_CONNECT && rc != CURLE_OPERATION_TIMEDOUT &&
			    rc != CURLE_RECV_ERROR && rc != CURLE_SEND_ERROR &&
			    rc != CURLE_GOT_NOTHING) {
				ret = -EIO;
				break;
			}
		}
		if (i + 1 == attempts)
			break;
		wait = a.retry_after >= 0 ? a.retry_after : backoff;
		sleep_s(wait < cap ? wait : cap);
		backoff *= 2;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return ret;
}

void push_otlp_traces_url(const char *endpoint, char *buf, size_t len)
{
	const char *scheme = strstr(endpoint, "://");
	const char *path = scheme ? strchr(scheme + 3, '/') : strchr(endpoint, '/');
	size_t n = strlen(endpoint);

	if (!path || (path[0] == '/' && !path[1]))
		snprintf(buf, len, "%.*s/v1/traces", (int)(n && endpoint[n - 1] == '/' ? n - 1 : n),
			 endpoint);
	else
		snprintf(buf, len, "%s", endpoint);
}
