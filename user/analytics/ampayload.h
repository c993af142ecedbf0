/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What notifications carry, byte for byte as Alertmanager 0.25 sends them where a format exists:
 *
 * - the webhook message, version "4" (receiver, status, alerts[status, labels, annotations,
 *   startsAt, endsAt (zero time while firing), generatorURL, fingerprint], groupLabels,
 *   commonLabels, commonAnnotations, externalURL, version, groupKey, truncatedAlerts);
 * - the Alertmanager API v2 POST /api/v2/alerts body, as Prometheus' notifier sends it;
 * - a Slack incoming-webhook message (one attachment; title, title link, color and fallback from
 *   Alertmanager's default templates; text as configured, else Vigil's: for each firing alert
 *   with the annotation ALERT_ANNOTATION_TOP_GROWING (notice.h) "<generatorURL|alertname> grew:
 *   ..." (Alertmanager's default is empty));
 * - a PagerDuty Events API v2 event (trigger / resolve, dedup_key = SHA-256 of the group key,
 *   summary from the default description, custom_details firing/resolved/num_firing/num_resolved);
 * - an RFC 5322 email (multipart/alternative, quoted-printable text and HTML parts; subject is the
 *   default "[FIRING:N] group labels (other common labels)").
 *
 * Configured title, text, description, subject or color strings containing "{{" are rendered by
 * template.h (Go text/template as for rule annotations) with Alertmanager's .Status, .Receiver,
 * .GroupLabels, .CommonLabels, .CommonAnnotations and .ExternalURL, $labels = the common labels
 * and $value = the number of firing alerts; .Alerts (the list) and Alertmanager's named
 * templates ({{ template "slack.default.title" . }}) are not available. Text without "{{" is used
 * as written.
 * "Vigil" stands for "Alertmanager" in the default Slack username and PagerDuty client.
 *
 * Pure functions; every result is malloc'd (NULL with errno = ENOMEM); thread-safe.
 */
#ifndef VIGIL_ANALYTICS_AMPAYLOAD_H
#define VIGIL_ANALYTICS_AMPAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/amgroup.h"
#include "analytics/notice.h"

char *am_webhook_payload(const struct am_notification *n, const char *external_url);
/* The alerts that are firing or resolved among a[0..n) (others skipped). */
char *am_v2_alerts_payload(const struct alert_notice *a, size_t n);
char *am_slack_payload(const struct am_notification *n, const char *external_url);
char *am_pagerduty_payload(const struct am_notification *n, const char *external_url);
/* now_ms dates the message; host names the Message-Id's domain. */
char *am_email_message(const struct am_notification *n, const char *external_url, int64_t now_ms,
		       const char *host);

/* Alertmanager's default subject/title ("[FIRING:2] HighCPU (host1 page)"). */
char *am_default_subject(const struct am_notification *n);
/* Go's RFC 3339 with nanoseconds trimmed ("2026-12-02T18:00:00.5Z"); buf >= 40 bytes. */
void am_format_time(int64_t ms, char *buf, size_t len);
/* SHA-256 of data as 64 lowercase hex digits (out >= 65 bytes). */
void am_sha256_hex(const void *data, size_t len, char *out);

#endif
