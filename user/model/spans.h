/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Spans: what vigil trace builds and its exporters read (Chrome trace, OTLP, the service map, the
 * terminal tree). A span set owns its spans, their attributes and links, and every string added
 * through it (copied into an arena). Spans are addressed by index; indices stay valid for the set's
 * life, pointers from spans__at() only until the next spans__add(). Times are CLOCK_MONOTONIC
 * nanoseconds; spans__set_clock() gives the offset to the wall clock for exporters that need it.
 * Not thread-safe.
 */
#ifndef VIGIL_MODEL_SPANS_H
#define VIGIL_MODEL_SPANS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define SPAN_NONE 0xffffffffu

/* OTLP's numbering (SpanKind). */
enum span_kind { SPAN_KIND_INTERNAL = 1, SPAN_KIND_SERVER = 2, SPAN_KIND_CLIENT = 3 };

enum span_cat { SPAN_ROOT, SPAN_PROCESS, SPAN_THREAD, SPAN_SYSCALL, SPAN_FUNCTION, SPAN_HTTP };

/* OTLP's status codes. */
enum span_status { SPAN_STATUS_UNSET = 0, SPAN_STATUS_OK = 1, SPAN_STATUS_ERROR = 2 };

#define SPAN_F_CRITICAL 1 /* on the critical path */
#define SPAN_F_NO_START 2 /* started before the capture: start_ns is the capture's start */
#define SPAN_F_NO_END 4 /* still running when the capture ended: end_ns is the capture's end */

enum attr_type { ATTR_STR, ATTR_INT, ATTR_DOUBLE, ATTR_BOOL, ATTR_STRS };

struct span_attr {
	const char *key; /* a static string (the callers' literals) */
	enum attr_type type;
	union {
		const char *s;
		__s64 i;
		double d;
		bool b;
		struct {
			const char **v;
			__u32 n;
		} strs;
	};
};

/* Link kinds (the cause of a wait). */
enum span_link_kind { LINK_WAKEUP = 1, LINK_PIPE, LINK_UNIX, LINK_TCP };

/* A link on the span that waited, to the span that ended the wait. */
struct span_link {
	__u32 from; /* span index of the cause */
	__u32 kind; /* enum span_link_kind */
	__u64 from_ns; /* when the cause happened (the write, the wake-up) */
	__u64 to_ns; /* where the arrow lands in this span */
	__u32 from_pid, from_tid;
};

struct span {
	__u64 span_id; /* 64-bit id, never 0 */
	__u32 parent; /* index, or SPAN_NONE */
	__u32 trace; /* index of the trace id (spans__trace_id) */
	__u8 kind; /* enum span_kind */
	__u8 cat; /* enum span_cat */
	__u8 status; /* enum span_status */
	__u8 flags; /* SPAN_F_* */
	__u32 pid, tid;
	__u64 start_ns, end_ns;
	const char *name;
	const char *status_msg; /* NULL or the error's description */
	__u64 remote_parent; /* span id of a parent outside the capture (traceparent), 0 if none */
	struct span_attr *attrs;
	__u32 nattrs, attrs_cap;
	struct span_link *links;
	__u32 nlinks, links_cap;
};

struct spans;

/* NULL + errno. The set starts with trace id 0, all zero until spans__set_trace_id(). */
struct spans *spans__new(void);
/* NULL-safe. */
void spans__free(struct spans *s);

/* A new span (id from the set's generator, parent SPAN_NONE, trace 0). Returns its index, or
 * SPAN_NONE on allocation failure. name is copied. */
__u32 spans__add(struct spans *s, enum span_cat cat, const char *name, __u32 pid, __u32 tid,
		 __u64 start_ns, __u64 end_ns);
size_t spans__count(const struct spans *s);
struct span *spans__at(struct spans *s, __u32 idx);
const struct span *spans__get(const struct spans *s, __u32 idx);
/* Rename a span (copied). */
void spans__rename(struct spans *s, __u32 idx, const char *name);

/* Attributes: strings are copied; a key set twice keeps the last value. 0 or -ENOMEM. */
int spans__attr_str(struct spans *s, __u32 idx, const char *key, const char *v);
int spans__attr_int(struct spans *s, __u32 idx, const char *key, __s64 v);
int spans__attr_double(struct spans *s, __u32 idx, const char *key, double v);
int spans__attr_bool(struct spans *s, __u32 idx, const char *key, bool v);
/* n strings (copied). */
int spans__attr_strs(struct spans *s, __u32 idx, const char *key, const char *const *v, __u32 n);
/* NULL when absent. */
const struct span_attr *spans__attr(const struct spans *s, __u32 idx, const char *key);
/* Status (the message is copied; NULL for none). */
void spans__set_status(struct spans *s, __u32 idx, enum span_status st, const char *msg);
/* A link on span idx (see struct span_link). 0 or -ENOMEM. */
int spans__link(struct spans *s, __u32 idx, const struct span_link *l);

/* Trace ids: 16 bytes each. spans__trace_add() returns the index of id (an existing one when
 * it is already known), or SPAN_NONE on allocation failure. */
void spans__set_trace_id(struct spans *s, const __u8 id[16]);
__u32 spans__trace_add(struct spans *s, const __u8 id[16]);
const __u8 *spans__trace_id(const struct spans *s, __u32 trace);
size_t spans__nr_traces(const struct spans *s);
/* Seed of the span-id generator (ids are a bijective mix of seed + counter: distinct, not 0). */
void spans__seed(struct spans *s, __u64 seed);
/* The span with this span id, or SPAN_NONE. */
__u32 spans__find_id(const struct spans *s, __u64 span_id);

/* Copy a string into the set's arena (for attributes built elsewhere). NULL on ENOMEM. */
const char *spans__strdup(struct spans *s, const char *str);

/* Wall clock: realtime_ns = monotonic_ns + offset. */
void spans__set_clock(struct spans *s, __s64 mono_to_real_ns);
__u64 spans__realtime(const struct spans *s, __u64 mono_ns);
/* Host name for the exporters' resources (copied). */
void spans__set_host(struct spans *s, const char *host);
const char *spans__host(const struct spans *s);

/*
 * Every span's trace: its own (set by the caller, non-zero) or its parent's, down from the roots.
 * Call once the parents are final.
 */
void spans__inherit_traces(struct spans *s);

/*
 * Nest the spans of cat SPAN_SYSCALL, SPAN_FUNCTION and SPAN_HTTP of each thread: each whose parent
 * is a root, process or thread span gets as parent the innermost such span of the same tid that
 * contains it (a parent set across threads, like a SERVER span's CLIENT, stays).
 */
int spans__nest(struct spans *s);

/*
 * The critical path below root: SPAN_F_CRITICAL on each span of the chain that decided root's end
 * (walking back from the end, the child that finished last, recursively; a waiting span with a link
 * continues in the span that ended the wait). Returns the number of spans marked.
 */
size_t spans__critical_path(struct spans *s, __u32 root);

/* Children of idx in index order: fills out (up to cap), returns how many there are. Builds an
 * index on first use (call after the parents are final). */
size_t spans__children(struct spans *s, __u32 idx, __u32 *out, size_t cap);

#endif
