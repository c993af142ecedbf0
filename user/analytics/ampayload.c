// SPDX-License-Identifier: GPL-2.0
/*
 * Notification bodies. Field names, order and defaults follow Alertmanager 0.25's notify/webhook,
 * notify/slack, notify/pagerduty and notify/email, and its template/default.tmpl; the v2 alerts
 * body follows Prometheus' notifier (models.PostableAlerts).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/ampayload.h"
#include "analytics/template.h"
#include "export/json.h"
#include "util/html.h"

/* ---- SHA-256 (FIPS 180-4) for PagerDuty's dedup_key ---- */

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
			      K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));

		k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void am_sha256_hex(const void *data, size_t len, char *out)
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	unsigned char tail[128] = { 0 };
	size_t full = len / 64 * 64, rest = len - full, tl;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i < full; i += 64)
		sha_block(h, p + i);
	memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tl = rest + 1 + 8 <= 64 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha_block(h, tail);
	if (tl == 128)
		sha_block(h, tail + 64);
	for (int i = 0; i < 8; i++)
		sprintf(out + 8 * i, "%08x", h[i]);
}

/* ---- helpers ---- */

void am_format_time(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	int frac = (int)(ms % 1000);
	struct tm tm;
	char f[8] = "";

	if (ms <= 0) {
		snprintf(buf, len, "0001-01-01T00:00:00Z");
		return;
	}
	gmtime_r(&s, &tm);
	if (frac) {
		snprintf(f, sizeof(f), ".%03d", frac);
		for (size_t i = strlen(f) - 1; f[i] == '0'; i--)
			f[i] = '\0';
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, f);
}

/* strfmt.DateTime as Prometheus sends it: milliseconds always. */
static void format_time_ms(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

struct buf {
	char *s;
	size_t len;
	FILE *f;
};

static FILE *buf_open(struct buf *b)
{
	b->s = NULL;
	b->len = 0;
	b->f = open_memstream(&b->s, &b->len);
	return b->f;
}

static char *buf_close(struct buf *b, bool ok)
{
	if (!b->f) {
		errno = ENOMEM;
		return NULL;
	}
	if (fclose(b->f) || !ok) {
		free(b->s);
		errno = ENOMEM;
		return NULL;
	}
	return b->s;
}

static void json_labels(struct json *j, const struct labels *ls)
{
	json__begin_object(j);
	for (uint32_t i = 0; ls && i < ls->n; i++)
		json__kv_str(j, ls->l[i].name, ls->l[i].value);
	json__end_object(j);
}

/* The pairs every alert has with the same value (template.Data's CommonLabels). */
static struct labels *common(const struct am_notification *n, bool annotations)
{
	struct labels_builder b;
	struct labels *out;
	const struct labels *first;

	if (!n->nalerts)
		return labels__empty();
	first = annotations ? n->alerts[0]->annotations : n->alerts[0]->labels;
	if (labels_builder__init(&b, first))
		return NULL;
	for (uint32_t i = 0; i < first->n; i++)
		for (size_t k = 1; k < n->nalerts; k++) {
			const struct labels *o =
				annotations ? n->alerts[k]->annotations : n->alerts[k]->labels;
			const char *v = labels__get(o, first->l[i].name);

			if (!v || strcmp(v, first->l[i].value)) {
				labels_builder__del(&b, first->l[i].name);
				break;
			}
		}
	out = labels_builder__finish(&b);
	labels_builder__release(&b);
	return out;
}

static size_t count_firing(const struct am_notification *n)
{
	size_t f = 0;

	for (size_t i = 0; i < n->nalerts; i++)
		f += !n->alerts[i]->resolved;
	return f;
}

/* regexp.QuoteMeta, as template.Data quotes the receiver's name. */
static char *quote_meta(const char *s)
{
	char *o = malloc(strlen(s) * 2 + 1), *w = o;

	if (!o)
		return NULL;
	for (; *s; s++) {
		if (strchr("\\.+*?()|[]{}^$", *s))
			*w++ = '\\';
		*w++ = *s;
	}
	*w = '\0';
	return o;
}

static void urlquery(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-_.~", c))
			fputc(c, f);
		else if (c == ' ')
			fputc('+', f);
		else
			fprintf(f, "%%%02X", c);
	}
}

/* __alertmanagerURL: EXTERNAL/#/alerts?receiver=NAME */
static char *am_url(const struct am_notification *n, const char *external_url)
{
	char *q = quote_meta(n->receiver->name);
	struct buf b;

	if (!q || !buf_open(&b)) {
		free(q);
		errno = ENOMEM;
		return NULL;
	}
	fprintf(b.f, "%s/#/alerts?receiver=", external_url ? external_url : "");
	urlquery(b.f, q);
	free(q);
	return buf_close(&b, true);
}

char *am_default_subject(const struct am_notification *n)
{
	struct labels *cl = common(n, false);
	struct buf b;

	if (!cl || !buf_open(&b)) {
		labels__unref(cl);
		errno = ENOMEM;
		return NULL;
	}
	fprintf(b.f, "[%s", n->firing ? "FIRING" : "RESOLVED");
	if (n->firing)
		fprintf(b.f, ":%zu", count_firing(n));
	fputs("] ", b.f);
	for (uint32_t i = 0; i < n->group_labels->n; i++)
		fprintf(b.f, "%s%s", i ? " " : "", n->group_labels->l[i].value);
	fputc(' ', b.f);
	if (cl->n > n->group_labels->n) {
		bool first = true;

		fputc('(', b.f);
		for (uint32_t i = 0; i < cl->n; i++) {
			if (labels__get(n->group_labels, cl->l[i].name))
				continue;
			fprintf(b.f, "%s%s", first ? "" : " ", cl->l[i].value);
			first = false;
		}
		fputc(')', b.f);
	}
	labels__unref(cl);
	return buf_close(&b, true);
}

/*
 * A configured string: literal, or rendered by template.h when it has an action, with "." giving
 * Alertmanager's .Status, .Receiver, .GroupLabels, .CommonLabels, .CommonAnnotations and
 * .ExternalURL, $labels the common labels and $value the number of firing alerts.
 */
static char *render_ext(const char *text, const struct am_notification *n, const char *dflt,
			const char *external_url)
{
	struct labels *cl, *ca;
	struct tmpl_data d = { 0 };
	struct tmpl_field f[5];
	char *out, *recv;

	if (!text)
		return dflt ? strdup(dflt) : strdup("");
	if (!strstr(text, "{{"))
		return strdup(text);
	cl = common(n, false);
	ca = common(n, true);
	recv = quote_meta(n->receiver->name);
	if (!cl || !ca || !recv) {
		labels__unref(cl);
		labels__unref(ca);
		free(recv);
		return NULL;
	}
	f[0] = (struct tmpl_field){ "Status", n->firing ? "firing" : "resolved", NULL };
	f[1] = (struct tmpl_field){ "Receiver", recv, NULL };
	f[2] = (struct tmpl_field){ "GroupLabels", NULL, n->group_labels };
	f[3] = (struct tmpl_field){ "CommonLabels", NULL, cl };
	f[4] = (struct tmpl_field){ "CommonAnnotations", NULL, ca };
	d.labels = cl;
	d.value = (double)count_firing(n);
	d.external_url = external_url ? external_url : "";
	d.fields = f;
	d.nfields = 5;
	out = tmpl_render(text, "__notification", &d);
	labels__unref(cl);
	labels__unref(ca);
	free(recv);
	return out;
}

/* Alertmanager truncates titles and summaries (runes); bytes here, on a UTF-8 boundary. */
static void truncate_utf8(char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	if (max >= 3) {
		/* "…" */
		while (max > 3 && ((unsigned char)s[max - 3] & 0xc0) == 0x80)
			max--;
		memcpy(s + max - 3, "\xe2\x80\xa6", 3);
		s[max] = '\0';
	} else {
		s[max] = '\0';
	}
}

/* ---- webhook ---- */

static void json_alert(struct json *j, const struct am_alert *a)
{
	char t[48], fp[24];

	json__begin_object(j);
	json__kv_str(j, "status", a->resolved ? "resolved" : "firing");
	json__key(j, "labels");
	json_labels(j, a->labels);
	json__key(j, "annotations");
	json_labels(j, a->annotations);
	am_format_time(a->starts_at_ms, t, sizeof(t));
	json__kv_str(j, "startsAt", t);
	am_format_time(a->resolved ? a->ends_at_ms : 0, t, sizeof(t));
	json__kv_str(j, "endsAt", t);
	json__kv_str(j, "generatorURL", a->generator_url ? a->generator_url : "");
	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)a->fingerprint);
	json__kv_str(j, "fingerprint", fp);
	json__end_object(j);
}

char *am_webhook_payload(const struct am_notification *n, const char *external_url)
{
	struct labels *cl = common(n, false), *ca = common(n, true);
	size_t max = n->integration && n->integration->max_alerts ? n->integration->max_alerts :
								    n->nalerts;
	size_t shown = n->nalerts < max ? n->nalerts : max;
	char *q = quote_meta(n->receiver->name);
	struct buf b;
	struct json *j;
	int rc;

	if (!cl || !ca || !q || !buf_open(&b)) {
		labels__unref(cl);
		labels__unref(ca);
		free(q);
		errno = ENOMEM;
		return NULL;
	}
	j = json__new(b.f, false);
	json__begin_object(j);
	json__kv_str(j, "receiver", q);
	json__kv_str(j, "status", n->firing ? "firing" : "resolved");
	json__key(j, "alerts");
	json__begin_array(j);
	for (size_t i = 0; i < shown; i++)
		json_alert(j, n->alerts[i]);
	json__end_array(j);
	json__key(j, "groupLabels");
	json_labels(j, n->group_labels);
	json__key(j, "commonLabels");
	json_labels(j, cl);
	json__key(j, "commonAnnotations");
	json_labels(j, ca);
	json__kv_str(j, "externalURL", external_url ? external_url : "");
	json__kv_str(j, "version", "4");
	json__kv_str(j, "groupKey", n->group_key);
	json__kv_u64(j, "truncatedAlerts", n->nalerts - shown);
	json__end_object(j);
	rc = json__finish(j);
	json__free(j);
	labels__unref(cl);
	labels__unref(ca);
	free(q);
	return buf_close(&b, !rc);
}

/* ---- Alertmanager API v2 (Prometheus' notifier) ---- */

char *am_v2_alerts_payload(const struct alert_notice *a, size_t n)
{
	struct buf b;
	struct json *j;
	int rc;

	if (!buf_open(&b)) {
		errno = ENOMEM;
		return NULL;
	}
	j = json__new(b.f, false);
	json__begin_array(j);
	for (size_t i = 0; i < n; i++) {
		char t[48];

		if (a[i].state != ALERT_FIRING && a[i].state != ALERT_RESOLVED)
			continue;
		json__begin_object(j);
		json__key(j, "labels");
		json_labels(j, a[i].labels);
		json__key(j, "annotations");
		json_labels(j, a[i].annotations);
		format_time_ms(a[i].starts_at_ms, t, sizeof(t));
		json__kv_str(j, "startsAt", t);
		if (a[i].ends_at_ms > 0) {
			format_time_ms(a[i].ends_at_ms, t, sizeof(t));
			json__kv_str(j, "endsAt", t);
		}
		json__kv_str(j, "generatorURL", a[i].generator_url ? a[i].generator_url : "");
		json__end_object(j);
	}
	json__end_array(j);
	rc = json__finish(j);
	json__free(j);
	return buf_close(&b, !rc);
}

/* ---- Slack ---- */

/* Slack's control characters as its mrkdwn wants them (not html_escape: Slack decodes only these). */
static void slack_escape(FILE *f, const char *s)
{
	for (; *s; s++)
		if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else
			fputc(*s, f);
}

/*
 * Vigil's default Slack text (Alertmanager's is empty): for each firing alert that carries the
 * functions that grew (ALERT_ANNOTATION_TOP_GROWING), a line linking its differential flame graph.
 */
static char *slack_default_text(const struct am_notification *n)
{
	struct buf b;

	if (!buf_open(&b))
		return NULL;
	for (size_t i = 0; i < n->nalerts; i++) {
		const struct am_alert *a = n->alerts[i];
		const char *top = labels__get(a->annotations, ALERT_ANNOTATION_TOP_GROWING);
		const char *name = labels__get(a->labels, "alertname");

		if (a->resolved || !top)
			continue;
		fputs(ftell(b.f) ? "\n<" : "<", b.f);
		slack_escape(b.f, a->generator_url ? a->generator_url : "");
		fputc('|', b.f);
		slack_escape(b.f, name ? name : "alert");
		fputs("> grew: ", b.f);
		slack_escape(b.f, top);
	}
	return buf_close(&b, true);
}

char *am_slack_payload(const struct am_notification *n, const char *external_url)
{
	const struct am_notifier *c = n->integration;
	char *subject = am_default_subject(n), *link = am_url(n, external_url);
	char *title = NULL, *title_link = NULL, *text = NULL, *color = NULL, *fallback = NULL;
	struct buf b = { 0 };
	struct json *j;
	int rc = -ENOMEM;

	if (!subject || !link)
		goto out;
	title = render_ext(c->title, n, subject, external_url);
	title_link = render_ext(c->title_link, n, link, external_url);
	text = c->text ? render_ext(c->text, n, "", external_url) : slack_default_text(n);
	color = render_ext(c->color, n, n->firing ? "danger" : "good", external_url);
	if (!title || !title_link || !text || !color)
		goto out;
	fallback = malloc(strlen(title) + strlen(title_link) + 4);
	if (!fallback || !buf_open(&b))
		goto out;
	/* slack.default.fallback: title | titlelink */
	sprintf(fallback, "%s | %s", title, title_link);
	truncate_utf8(title, 1024);
	j = json__new(b.f, false);
	json__begin_object(j);
	if (c->channel && *c->channel)
		json__kv_str(j, "channel", c->channel);
	json__kv_str(j, "username", c->username ? c->username : "Vigil");
	json__key(j, "attachments");
	json__begin_array(j);
	json__begin_object(j);
	json__kv_str(j, "title", title);
	json__kv_str(j, "title_link", title_link);
	if (*text)
		json__kv_str(j, "text", text);
	json__kv_str(j, "fallback", fallback);
	json__kv_str(j, "color", color);
	json__key(j, "mrkdwn_in");
	json__begin_array(j);
	json__str(j, "fallback");
	json__str(j, "pretext");
	json__str(j, "text");
	json__end_array(j);
	json__end_object(j);
	json__end_array(j);
	json__end_object(j);
	rc = json__finish(j);
	json__free(j);
out:
	free(subject);
	free(link);
	free(title);
	free(title_link);
	free(text);
	free(color);
	free(fallback);
	return buf_close(&b, !rc);
}

/* ---- PagerDuty ---- */

/* __text_alert_list over the firing (or resolved) alerts. */
static void text_alert_list(FILE *f, const struct am_notification *n, bool resolved)
{
	for (size_t i = 0; i < n->nalerts; i++) {
		const struct am_alert *a = n->alerts[i];

		if (a->resolved != resolved)
			continue;
		fputs("Labels:\n", f);
		for (uint32_t k = 0; k < a->labels->n; k++)
			fprintf(f, " - %s = %s\n", a->labels->l[k].name, a->labels->l[k].value);
		fputs("Annotations:\n", f);
		for (uint32_t k = 0; a->annotations && k < a->annotations->n; k++)
			fprintf(f, " - %s = %s\n", a->annotations->l[k].name,
				a->annotations->l[k].value);
		fprintf(f, "Source: %s\n", a->generator_url ? a->generator_url : "");
	}
}

static char *alert_list(const struct am_notification *n, bool resolved)
{
	struct buf b;

	if (!buf_open(&b)) {
		errno = ENOMEM;
		return NULL;
	}
	text_alert_list(b.f, n, resolved);
	return buf_close(&b, true);
}

char *am_pagerduty_payload(const struct am_notification *n, const char *external_url)
{
	const struct am_notifier *c = n->integration;
	char *subject = am_default_subject(n), *link = am_url(n, external_url);
	char *summary = NULL, *client = NULL, *client_url = NULL, *severity = NULL, *source = NULL;
	char *firing = NULL, *resolved = NULL, key[65], num[24];
	size_t nf = count_firing(n);
	struct buf b = { 0 };
	struct json *j;
	int rc = -ENOMEM;

	if (!subject || !link)
		goto out;
	summary = render_ext(c->description, n, subject, external_url);
	client = render_ext(c->client, n, "Vigil", external_url);
	client_url = render_ext(c->client_url, n, link, external_url);
	severity = render_ext(c->severity, n, "error", external_url);
	source = render_ext(c->source ? c->source : c->client, n, "Vigil", external_url);
	firing = alert_list(n, false);
	resolved = alert_list(n, true);
	if (!summary || !client || !client_url || !severity || !source || !firing || !resolved ||
	    !buf_open(&b))
		goto out;
	truncate_utf8(summary, 1024);
	am_sha256_hex(n->group_key, strlen(n->group_key), key);
	j = json__new(b.f, false);
	json__begin_object(j);
	json__kv_str(j, "routing_key", c->routing_key);
	json__kv_str(j, "event_action", n->firing ? "trigger" : "resolve");
	json__kv_str(j, "dedup_key", key);
	json__key(j, "payload");
	json__begin_object(j);
	json__kv_str(j, "summary", summary);
	json__kv_str(j, "source", source);
	json__kv_str(j, "severity", severity);
	json__key(j, "custom_details");
	json__begin_object(j);
	json__kv_str(j, "firing", firing);
	snprintf(num, sizeof(num), "%zu", nf);
	json__kv_str(j, "num_firing", num);
	snprintf(num, sizeof(num), "%zu", n->nalerts - nf);
	json__kv_str(j, "num_resolved", num);
	json__kv_str(j, "resolved", resolved);
	json__end_object(j);
	json__end_object(j);
	json__kv_str(j, "client", client);
	json__kv_str(j, "client_url", client_url);
	json__end_object(j);
	rc = json__finish(j);
	json__free(j);
out:
	free(subject);
	free(link);
	free(summary);
	free(client);
	free(client_url);
	free(severity);
	free(source);
	free(firing);
	free(resolved);
	return buf_close(&b, !rc);
}

/* ---- email ---- */

/* Quoted-printable (RFC 2045), CRLF line ends, soft breaks before 76 columns. */
static void qp(FILE *f, const char *s)
{
	int col = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char enc[4];
		int w;

		if (c == '\n') {
			fputs("\r\n", f);
			col = 0;
			continue;
		}
		if ((c >= 33 && c <= 126 && c != '=') || (c == ' ' && s[1] != '\n' && s[1]))
			enc[0] = (char)c, enc[1] = '\0', w = 1;
		else
			snprintf(enc, sizeof(enc), "=%02X", c), w = 3;
		if (col + w > 75) {
			fputs("=\r\n", f);
			col = 0;
		}
		fputs(enc, f);
		col += w;
	}
}

/* A header value: as is when ASCII, else RFC 2047 Q-encoded (mime.QEncoding). */
static void header_value(FILE *f, const char *s)
{
	bool ascii = true;

	for (const char *p = s; *p; p++)
		ascii = ascii && (unsigned char)*p < 0x80 && *p != '\r' && *p != '\n';
	if (ascii) {
		fputs(s, f);
		return;
	}
	fputs("=?utf-8?q?", f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == ' ')
			fputc('_', f);
		else if (c > 32 && c < 127 && !strchr("=?_", c))
			fputc(c, f);
		else
			fprintf(f, "=%02X", c);
	}
	fputs("?=", f);
}

/* email.default.html's content without its stylesheet. */
static char *email_html(const struct am_notification *n, const char *link)
{
	size_t nf = count_firing(n);
	struct buf b;

	if (!buf_open(&b)) {
		errno = ENOMEM;
		return NULL;
	}
	fputs("<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"viewport\" content=\"width=device-width\" />\n"
	      "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n<title>",
	      b.f);
	{
		char *s = am_default_subject(n);

		html_escape(b.f, s ? s : "");
		free(s);
	}
	fputs("</title>\n</head>\n<body>\n<table width=\"100%\" cellpadding=\"0\" cellspacing=\"0\">\n"
	      "<tr><td style=\"padding:20px;color:#fff;background-color:",
	      b.f);
	fputs(n->firing ? "#E6522C" : "#68B90F", b.f);
	fprintf(b.f, "\">%zu alert%s for ", n->firing ? nf : n->nalerts,
		(n->firing ? nf : n->nalerts) == 1 ? "" : "s");
	for (uint32_t i = 0; i < n->group_labels->n; i++) {
		fprintf(b.f, "%s", i ? " " : "");
		html_escape(b.f, n->group_labels->l[i].name);
		fputc('=', b.f);
		html_escape(b.f, n->group_labels->l[i].value);
	}
	fputs("</td></tr>\n<tr><td style=\"padding:20px\">\n<a href=\"", b.f);
	html_escape(b.f, link);
	fputs("\">View in Vigil</a><br />\n", b.f);
	for (int pass = 0; pass < 2; pass++) {
		size_t cnt = pass ? n->nalerts - nf : nf;

		if (!cnt)
			continue;
		fprintf(b.f, "<strong>[%zu] %s</strong><br />\n", cnt,
			pass ? "Resolved" : "Firing");
		for (size_t i = 0; i < n->nalerts; i++) {
			const struct am_alert *a = n->alerts[i];

			if (a->resolved != (pass == 1))
				continue;
			fputs("<strong>Labels</strong><br />\n", b.f);
			for (uint32_t k = 0; k < a->labels->n; k++) {
				html_escape(b.f, a->labels->l[k].name);
				fputs(" = ", b.f);
				html_escape(b.f, a->labels->l[k].value);
				fputs("<br />\n", b.f);
			}
			if (a->annotations && a->annotations->n)
				fputs("<strong>Annotations</strong><br />\n", b.f);
			for (uint32_t k = 0; a->annotations && k < a->annotations->n; k++) {
				html_escape(b.f, a->annotations->l[k].name);
				fputs(" = ", b.f);
				html_escape(b.f, a->annotations->l[k].value);
				fputs("<br />\n", b.f);
			}
			fputs("<a href=\"", b.f);
			html_escape(b.f, a->generator_url ? a->generator_url : "");
			fputs("\">Source</a><br />\n<br />\n", b.f);
		}
	}
	fputs("</td></tr>\n</table>\n</body>\n</html>\n", b.f);
	return buf_close(&b, true);
}

char *am_email_message(const struct am_notification *n, const char *external_url, int64_t now_ms,
		       const char *host)
{
	const struct am_notifier *c = n->integration;
	char *dflt = am_default_subject(n), *link = am_url(n, external_url);
	char *subject = NULL, *html = NULL, *text = NULL, date[64], boundary[64];
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;
	struct buf b = { 0 };
	bool ok = false;

	if (!dflt || !link)
		goto out;
	subject = render_ext(c->subject, n, dflt, external_url);
	html = email_html(n, link);
	{
		struct buf tb;

		if (buf_open(&tb)) {
			text_alert_list(tb.f, n, false);
			text_alert_list(tb.f, n, true);
			text = buf_close(&tb, true);
		}
	}
	if (!subject || !html || !text || !buf_open(&b))
		goto out;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(boundary, sizeof(boundary), "%016llx%08x", (unsigned long long)now_ms,
		 (unsigned)(n->alerts && n->nalerts ? n->alerts[0]->fingerprint : 0));
	fputs("From: ", b.f);
	header_value(b.f, c->from);
	fputs("\r\nTo: ", b.f);
	header_value(b.f, c->to);
	fputs("\r\nSubject: ", b.f);
	header_value(b.f, subject);
	fprintf(b.f, "\r\nMessage-Id: <%lld.%s@%s>\r\n", (long long)now_ms, boundary,
		host ? host : "localhost");
	fprintf(b.f, "Date: %s\r\n", date);
	fprintf(b.f, "Content-Type: multipart/alternative;  boundary=%s\r\n", boundary);
	fputs("MIME-Version: 1.0\r\n\r\n", b.f);
	fprintf(b.f,
		"--%s\r\nContent-Transfer-Encoding: quoted-printable\r\n"
		"Content-Type: text/plain; charset=UTF-8\r\n\r\n",
		boundary);
	qp(b.f, text);
	fprintf(b.f,
		"\r\n--%s\r\nContent-Transfer-Encoding: quoted-printable\r\n"
		"Content-Type: text/html; charset=UTF-8\r\n\r\n",
		boundary);
	qp(b.f, html);
	fprintf(b.f, "\r\n--%s--\r\n", boundary);
	ok = true;
out:
	free(dflt);
	free(link);
	free(subject);
	free(html);
	free(text);
	if (!b.f) {
		errno = ENOMEM;
		return NULL;
	}
	return buf_close(&b, ok);
}
