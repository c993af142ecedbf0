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
#include <stdint.h>
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
	bool lines; /* folded/SVG/speedscope: a frame with source lines is "func (file.c:42)", and its
		     * inlined calls are frames of their own (outermost first) */
};

int export_folded(const struct profile *p, FILE *out, const struct export_opts *o);
int export_svg(const struct profile *p, FILE *out, const struct export_opts *o);
int export_pprof(const struct profile *p, FILE *out, const struct export_opts *o);
/*
 * Differential flame graph, as flamegraph.pl draws difffolded output: the frames of p (the new
 * profile) with p's widths, each coloured by how its share of all weight changed since base: red
 * grew, blue shrank, the deeper the larger against the largest change drawn, near white unchanged.
 * Shares, not raw weights, so profiles of different lengths compare. A call path is the same in
 * both when its display names are. Frames found only in base are not drawn (export_diff_top lists
 * them). Hover shows both weights, both shares and the change in percentage points.
 */
int export_svg_diff(const struct profile *base, const struct profile *p, FILE *out,
		    const struct export_opts *o);
/*
 * A difference as one pprof profile, as go tool pprof -normalize -diff_base=BASE NEW computes it:
 * p's samples, and base's with their values negated and scaled by p's total over base's (so the
 * shares compare); a function's sum is how much it grew (negative: shrank). go tool pprof -top
 * reads it as it is.
 */
int export_pprof_diff(const struct profile *base, const struct profile *p, FILE *out);
/* p as pprof with (count, value) of stack i replaced by values[2i], values[2i+1]. */
int export_pprof_signed(const struct profile *p, const int64_t *values, FILE *out);
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
 * The top-N table: rows by self weight, with self %, total (inclusive) %, the weight and the row's
 * keys. A row counts once per stack for "total" even when a function recurs in it. With
 * meta.count_column, also its self count and the average weight per count (vigil mem: objects and
 * average size).
 */
enum top_key {
	TOP_KEY_SYM, /* function (with its module) */
	TOP_KEY_DSO, /* module: executable, library, [kernel.kallsyms] */
	TOP_KEY_COMM, /* process name */
	TOP_KEY_PID, /* process id (with its name) */
	TOP_KEY_NR,
};
struct top_opts {
	enum top_key keys[TOP_KEY_NR]; /* columns in this order; nkeys = 0 means "sym" */
	int nkeys;
	unsigned int rows; /* 0 = all */
	bool json; /* {"unit","total","sort":[...],"rows":[{self,total,self_pct,total_pct,...}]} */
};
/* "comm,dso" into o->keys (perf report --sort spelling). 0 or -EINVAL (unknown or repeated key). */
int top_parse_sort(const char *arg, struct top_opts *o);
/* The known keys, for messages: "sym, dso, comm, pid". */
const char *top_sort_keys(void);
int export_top_by(const struct profile *p, FILE *out, const struct top_opts *o);
/* export_top_by() by function, n rows (0 = all), as text. */
int export_top(const struct profile *p, FILE *out, unsigned int n);
/*
 * What changed from base to p by function (display name and module, as the flame graph shows
 * them): the o->rows (0 = 10) functions whose self share grew most and the ones whose self share
 * shrank most, with self and total shares in both and the change in percentage points; a function
 * found in only one profile has 0% in the other. Text, or with o->json
 * {"unit","base_total","new_total","base_seconds","new_seconds","grew":[...],"shrank":[...]}, rows
 * {function,module,base_self,new_self,base_self_pct,new_self_pct,self_change_pct,base_total_pct,
 * new_total_pct,total_change_pct}. o->keys are unused.
 */
int export_diff_top(const struct profile *base, const struct profile *p, FILE *out,
		    const struct top_opts *o);

/*
 * The off-CPU table: blocked time ranked by where it waits, one row per process and wait, as bcc's
 * offcputime answers it in one line: the innermost frame of the program's own code, what it called
 * (a library function, else the syscall) and the kernel's reason, e.g.
 * "my_nap <- nanosleep  (hrtimer)"; with wakers, who woke it, the same way. Weights are the
 * profile's values (nanoseconds). Rows as in struct top_opts (rows, json; the keys are unused).
 */
int export_waits(const struct profile *p, FILE *out, const struct top_opts *o);

/* The errno behind a failed stream: exporters say -EIO for any failure; flushing what is still
 * buffered says what it was (ENOSPC, EDQUOT, EPIPE). err = the exporter's result. Returns 0 when
 * err is 0 and out flushes cleanly. */
int export_stream_error(FILE *out, int err);

#endif
