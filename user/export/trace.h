/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Span sets (model/spans.h) to the formats vigil trace writes: Chrome trace event JSON, OTLP/JSON,
 * the service map (Graphviz DOT or JSON) and the terminal tree. Each writes to a FILE and returns 0
 * or a negative errno (-EIO when the stream failed). They only read the set (the children index it
 * builds on demand aside); not thread-safe with respect to one set.
 */
#ifndef VIGIL_EXPORT_TRACE_H
#define VIGIL_EXPORT_TRACE_H

#include <stdbool.h>
#include <stdio.h>

#include "model/spans.h"

enum trace_format {
	TRACE_FMT_NONE = 0,
	TRACE_FMT_CHROME, /* "chrome": Chrome trace event JSON (.json) */
	TRACE_FMT_OTLP, /* "otlp": OTLP/JSON ExportTraceServiceRequest (.otlp.json) */
	TRACE_FMT_DOT, /* "dot": service map as Graphviz DOT (.dot, .gv) */
	TRACE_FMT_MAP_JSON, /* "map-json": service map as JSON (-j) */
	TRACE_FMT_TEXT, /* "text": the process tree with the critical path (.txt) */
};

/* By name ("chrome", "otlp", "dot", "map-json", "text"); TRACE_FMT_NONE when unknown. */
enum trace_format trace_format_by_name(const char *name);
/* By extension (.json -> chrome, .otlp.json -> otlp, .dot/.gv -> dot, .txt -> text). */
enum trace_format trace_format_by_path(const char *path);
const char *trace_format_list(void);

/*
 * Chrome trace JSON object: process and thread names as "M" events, spans as "X" events (cat
 * process, thread, syscall, function, http, root) with ts/dur in microseconds from the root's start
 * and args (span ids, ppid, argv, exit_code, ...), links as flow events "s" -> "f" (bp "e").
 */
int export_chrome_trace(const struct spans *s, FILE *out);

/* OTLP/JSON: one resourceSpans per process (service.name, process.pid, process.executable.path,
 * host.name), ids in lowercase hex, times as unix-nanosecond strings, links, status. version goes
 * into the scope. */
int export_otlp(const struct spans *s, FILE *out, const char *version);

/* The service map from HTTP client/server pairs and links: who talks to whom, how often, p50/p99
 * latency, errors. */
int export_service_map_dot(const struct spans *s, FILE *out);
int export_service_map_json(const struct spans *s, FILE *out);

/* The terminal view: the process tree with durations, exit status and CPU times, the critical path
 * marked with '*', then the critical path itself. */
int export_trace_text(const struct spans *s, FILE *out);

/* One of the above by format (TRACE_FMT_*). */
int export_trace(const struct spans *s, enum trace_format f, FILE *out, const char *version);

/* A span's display name for the tree and the map: "name [pid]" for processes. */
void trace_span_label(const struct spans *s, __u32 idx, char *buf, size_t len);
/* The service a span belongs to: its process span's service.name, else its name. */
const char *trace_service_of(const struct spans *s, __u32 idx);

#endif
