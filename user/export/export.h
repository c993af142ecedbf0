/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exporters: a struct profile (stacks.h) to a file format. They know nothing of BPF.
 *
 * Every exporter writes to a FILE * and returns 0 or a negative errno (-EIO when the stream failed).
 * export_profile_to_path() adds the crash-safety contract: it writes to PATH.tmp.XXXXXX in the same
 * directory, flushes and fsyncs it, then renames it over PATH, so a reader never sees a half file; on
 * failure the temporary file is removed.
 * All functions only read the profile; they are thread-safe with respect to each other.
 */
#ifndef VIGIL_EXPORT_H
#define VIGIL_EXPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "model/profile.h"

enum export_format {
	EXPORT_NONE = 0,
	EXPORT_FOLDED, /* "folded": comm;root;...;leaf WEIGHT, kernel frames suffixed _[k] */
	EXPORT_SVG, /* "svg": self-contained interactive flame graph */
	EXPORT_PPROF, /* "pprof": gzip-compressed profile.proto */
	EXPORT_SPEEDSCOPE, /* "speedscope": speedscope file-format JSON, "sampled" profiles */
};

/* Format by name ("folded", "svg", "pprof", "speedscope"); EXPORT_NONE when unknown. */
enum export_format export_format_by_name(const char *name);
/* Format by file extension (.folded, .svg, .pb.gz, .pprof, .json); EXPORT_NONE when unknown. */
enum export_format export_format_by_path(const char *path);
/* Human list for error messages: "folded (.folded), svg (.svg), pprof (.pb.gz, .pprof), ..." */
const char *export_format_list(void);
const char *export_format_name(enum export_format f);

struct export_opts {
	const char *title; /* SVG title / speedscope name; defaults to meta.title or "vigil" */
	bool annotate_kernel; /* folded: suffix kernel frames with _[k] (default on: set by the caller) */
	bool per_thread; /* folded/SVG: "comm-tid" as the first frame instead of "comm" (default off) */
};

int export_folded(const struct profile *p, FILE *out, const struct export_opts *o);
int export_svg(const struct profile *p, FILE *out, const struct export_opts *o);
int export_pprof(const struct profile *p, FILE *out, const struct export_opts *o);
int export_speedscope(const struct profile *p, FILE *out, const struct export_opts *o);
int export_profile(const struct profile *p, enum export_format f, FILE *out,
		   const struct export_opts *o);

/*
 * The reverse of export_pprof: a gzip (or raw) pprof profile into a new struct profile (caller frees).
 * Sample types, period, time and duration come from the profile; weight_unit, weight_div and title
 * (when the profile has no comment) from base. Inflated size is capped at max_bytes. NULL + errno:
 * EINVAL (not a profile export_pprof could have written), EFBIG (over max_bytes), ENOMEM.
 * Thread-safe.
 */
struct profile *export_pprof_read(const void *data, size_t len, size_t max_bytes,
				  const struct profile_meta *base);

/* Check that a file can be created at path (its directory exists and is writable), without
 * creating it. 0 or -errno. Used to reject a bad -o before anything is attached. */
int export_check_path(const char *path);
/* Atomic write as described above. 0 or -errno. */
int export_profile_to_path(const struct profile *p, enum export_format f, const char *path,
			   const struct export_opts *o);
/*
 * The same atomic write for any content: write(out, arg) writes the file and returns 0 or a negative
 * errno (-EIO when the stream failed). Used for CSV and other non-profile outputs.
 */
typedef int (*export_write_fn)(FILE *out, void *arg);
int export_to_path(const char *path, export_write_fn write, void *arg);

/*
 * The top-N table: functions by self weight, with self %, total (inclusive) %, samples, function and
 * module. A function counts once per stack for "total" even when recursive. n = 0 means all. With
 * meta.count_column, also its self count and the average weight per count (vigil mem: objects and
 * average size).
 */
int export_top(const struct profile *p, FILE *out, unsigned int n);

#endif
