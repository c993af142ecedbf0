/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HTTP/1.x spans from socket records (VG_TREC_SOCK): a SERVER span in the process that received a
 * request head, from the end of that read to the last write of its response; a CLIENT span in the
 * process that sent one, from the start of that write to the last read of its response. On one
 * host both ends of a connection are seen: the CLIENT span becomes the SERVER span's parent. A
 * request's traceparent header puts both in that trace (with its parent id as remote parent).
 * Owned by collect/tracer.c; not thread-safe.
 */
#ifndef VIGIL_COLLECT_HTTPTRACK_H
#define VIGIL_COLLECT_HTTPTRACK_H

#include <linux/types.h>

#include "model/spans.h"
#include "vigil/trace.h"

struct httptrack;

/* Spans go into s (borrowed). NULL + errno. */
struct httptrack *httptrack__new(struct spans *s);
void httptrack__free(struct httptrack *h);

/* One socket record of a thread whose spans hang from parent. 0 or -ENOMEM. */
int httptrack__sock(struct httptrack *h, const struct vg_trec_sock *r, __u32 parent);

/* End of capture: spans still open end at their last transfer; CLIENT and SERVER spans of the same
 * request are paired. Returns how many pairs were made. */
size_t httptrack__finish(struct httptrack *h);

/* "127.0.0.1:8000", "[::1]:8000", "unix" for a socket's local (or remote) end. */
void httptrack_endpoint(const struct vg_fd_info *f, bool remote, char *buf, size_t len);

#endif
