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

/* Which stacks of a stored profile to keep (query arguments comm, pid, cgroup). */
struct profile_filter {
	const char *comm, *cgroup; /* NULL: any; a cgroup selects itself and what is below it */
	__u32 pid;
	bool has_pid;
	/* only the profiles that start in [from, to) (not all that overlap it): adjacent windows
	 * then share no interval */
	bool start_in_range;
};

struct http_request;
struct profile;
/* comm, pid and cgroup arguments of r into f (strings borrowed from r); 0, or 1 after a 400. */
int api_parse_filter(struct http_request *r, struct profile_filter *f);
/*
 * The stored profiles of kind ("cpu", "offcpu") overlapping [from, to) merged into a new profile
 * (*out, caller frees), keeping the stacks f selects (NULL: all); its span covers the profiles
 * found. 0 or -errno. Thread-safe (HTTP threads).
 */
int api_window_profile(struct service *s, const char *kind, __s64 from, __s64 to,
		       const struct profile_filter *f, struct profile **out);

#endif
