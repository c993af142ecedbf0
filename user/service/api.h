/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The HTTP endpoints of `vigil serve` (README "vigil serve" lists them): /metrics, /healthz,
 * /readyz, /debug/pprof/profile, /api/v1/profiling/{cpu,offcpu}, /api/v1/metrics[/NAME],
 * /api/v1/stream and the web view (/ and /static/...). Handlers are thread-safe.
 */
#ifndef VIGIL_SERVICE_API_H
#define VIGIL_SERVICE_API_H

#include <stdbool.h>
#include <linux/types.h>

struct http_server;
struct service;
struct profile_meta;

/* 0 or -errno. */
int api__register(struct service *s, struct http_server *h);

/* The stored profile kind's meta (weight units): service.c owns them. */
const struct profile_meta *service_meta(const char *kind);

/*
 * Parse a time argument: unix seconds (fractions allowed), or "now", or "now-DURATION" ("now-1h").
 * now_ms is the reference. 0 or -EINVAL.
 */
int api_parse_time(const char *s, __s64 now_ms, __s64 *out_ms);

#endif
