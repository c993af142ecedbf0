// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: service/notify.c's delivery against a loopback HTTP receiver in this process: a
 * webhook that answers 500, 503, then 200 is tried 3 times with backoff and logged as sent with 3
 * attempts; an unreachable one is retried up to NOTIFY_MAX_ATTEMPTS and logged as failed with
 * curl's error; the sink returns at once whatever the receivers do.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "analytics/yamldoc.h"
#include "service/notify.h"

struct rx {
	int fd, port;
	int plan[8], nplan, served;
	char last_body[8192], last_head[4096];
	pthread_mutex_t lock;
};

static void *serve(void *arg)
{
	struct rx *r = arg;

	for (;;) {
		int c = accept(r->fd, NULL, NULL);
		char buf[16384];
		size_t got = 0;
		long clen = -1;
		char *hdr_end = NULL;
		int status;

		if (c < 0)
			return NULL;
		while (got < sizeof(buf) - 1) {
			ssize_t k = read(c, buf + got, sizeof(buf) - 1 - got);

			if (k <= 0)
				break;
			got += (size_t)k;
			buf[got] = '\0';
			if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n"))) {
				char *cl = strcasestr(buf, "Content-Length:");

				clen = cl ? strtol(cl + 15, NULL, 10) : 0;
			}
			if (hdr_end && (long)(got - (size_t)(hdr_end + 4 - buf)) >= clen)
				break;
		}
		pthread_mutex_lock(&r->lock);
		status = r->served < r->nplan ? r->plan[r->served] : 200;
		r->served++;
		if (hdr_end) {
			snprintf(r->last_body, sizeof(r->last_body), "%s", hdr_end + 4);
			snprintf(r->last_head, sizeof(r->last_head), "%.*s", (int)(hdr_end - buf),
				 buf);
		}
		pthread_mutex_unlock(&r->lock);
		snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %d X\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope",
			 status);
		if (write(c, buf, strlen(buf)) < 0)
			perror("write");
		close(c);
	}
}

static void rx_start(struct rx *r, pthread_t *t)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	pthread_mutex_init(&r->lock, NULL);
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(r->fd, 16), 0);
	getsockname(r->fd, (struct sockaddr *)&a, &len);
	r->port = ntohs(a.sin_port);
	pthread_create(t, NULL, serve, r);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The log entry of receiver rname once its status is want (polls up to 20 s). */
static json_t *wait_entry(struct notify *n, const char *rname, const char *want)
{
	for (int i = 0; i < 400; i++) {
		char *s = notify__log_json(n);
		json_t *j = json_loads(s, 0, NULL), *arr, *e;
		size_t k;

		free(s);
		arr = json_object_get(json_object_get(j, "data"), "notifications");
		json_array_foreach(arr, k, e)
		{
			if (!strcmp(json_string_value(json_object_get(e, "receiver")), rname) &&
			    !strcmp(json_string_value(json_object_get(e, "status")), want)) {
				json_incref(e);
				json_decref(j);
				return e;
			}
		}
		json_decref(j);
		usleep(50000);
	}
	return NULL;
}

static void test_retries_and_failure(void **state)
{
	struct rx r = { .plan = { 500, 503 }, .nplan = 2 };
	pthread_t t;
	char cfg[1024], err[256];
	struct ydoc *d;
	struct am_config c;
	struct notify_opts o = { "http://vigil:7470", 20, 2000 };
	struct notify *n;
	struct label l[] = { { "alertname", "Hot" }, { "host", "a" } };
	struct labels *ls, *an;
	struct alert_notice a = { 0 };
	json_t *e;
	int64_t t0, took;
	int line;

	(void)state;
	rx_start(&r, &t);
	snprintf(cfg, sizeof(cfg),
		 "route:\n  receiver: flaky\n  group_wait: 0s\n  routes:\n"
		 "  - receiver: flaky\n    continue: true\n  - receiver: down\n"
		 "receivers:\n- name: flaky\n  webhook_configs:\n  - url: http://127.0.0.1:%d/x\n"
		 "    http_config:\n      basic_auth: {username: u, password: p}\n"
		 "- name: down\n  webhook_configs:\n  - url: http://127.0.0.1:1/y\n",
		 r.port);
	d = ydoc_load(cfg, strlen(cfg), err, sizeof(err), &line);
	assert_non_null(d);
	assert_int_equal(am_config_parse(d, ydoc_root(d), "t.yml", &c, err, sizeof(err)), 0);
	ydoc_free(d);
	n = notify__new(&c, &o);
	assert_non_null(n);

	ls = labels__new(l, 2);
	an = labels__empty();
	a.labels = ls;
	a.annotations = an;
	a.state = ALERT_FIRING;
	a.starts_at_ms = now_ms() - 1000;
	a.ends_at_ms = now_ms() + 600000;
	a.fingerprint = 42;
	a.generator_url = "http://vigil/g";
	t0 = now_ms();
	notify__sink(n, &a, 1, now_ms());
	took = now_ms() - t0;
	assert_true(took < 50);
	labels__unref(ls); /* the notifier kept copies */
	labels__unref(an);

	e = wait_entry(n, "flaky", "sent");
	assert_non_null(e);
	assert_int_equal(json_integer_value(json_object_get(e, "attempts")), 3);
	assert_string_equal(json_string_value(json_object_get(e, "lastError")), "HTTP 503: nope");
	assert_string_equal(json_string_value(json_object_get(e, "integration")), "webhook");
	assert_string_equal(json_string_value(json_object_get(e, "groupKey")), "{}/{}:{}");
	json_decref(e);
	pthread_mutex_lock(&r.lock);
	assert_int_equal(r.served, 3);
	assert_non_null(strstr(r.last_body, "\"version\":\"4\""));
	assert_non_null(strstr(r.last_body, "\"fingerprint\":\"000000000000002a\""));
	assert_non_null(strstr(r.last_head, "POST /x HTTP/1.1\r\n"));
	assert_non_null(strstr(r.last_head, "Authorization: Basic dTpw\r\n"));
	assert_non_null(strstr(r.last_head, "Content-Type: application/json\r\n"));
	pthread_mutex_unlock(&r.lock);

	/* backoff 20, 40, 80, 160, 320 ms: failed after 6 attempts */
	e = wait_entry(n, "down", "failed");
	assert_non_null(e);
	assert_int_equal(json_integer_value(json_object_get(e, "attempts")), NOTIFY_MAX_ATTEMPTS);
	assert_non_null(strstr(json_string_value(json_object_get(e, "lastError")), "onnect"));
	json_decref(e);
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		notify__metrics(n, f);
		fclose(f);
		assert_non_null(strstr(buf, "vigil_notifications_total{integration=\"webhook\","
					    "outcome=\"sent\"} 1\n"));
		assert_non_null(strstr(buf, "vigil_notifications_total{integration=\"webhook\","
					    "outcome=\"retried\"} 7\n"));
		free(buf);
	}
	notify__free(n);
	am_config_release(&c);
	shutdown(r.fd, SHUT_RDWR);
	close(r.fd);
	pthread_join(t, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retries_and_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
