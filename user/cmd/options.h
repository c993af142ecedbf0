/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Option parsing shared by every subcommand (DESIGN.md section 3). A command describes its own options
 * in a struct cli_spec; the common ones (-p, -L, -c, -U, -K, -o, -f, --format, -d, -v, -j, -- COMMAND)
 * are parsed here into struct common_opts, each only when the command enables it.
 *
 * Errors are one line on stderr ("vigil profile: ...") and make cli_parse() return 1 (the exit code);
 * --help prints the command's help on stdout and returns -1 (exit 0).
 */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "collect/runner.h"
#include "export/export.h"
#include "kernel/filter.h"
#include "util/cli.h"

/* Which common options a command accepts. */
#define CLI_PID (1u << 0) /* -p PID[,PID...] */
#define CLI_TID (1u << 1) /* -L TID[,TID...] */
#define CLI_CGROUP (1u << 2) /* -c CGROUP */
#define CLI_STACKS (1u << 3) /* -U / -K */
#define CLI_OUTPUT (1u << 4) /* -o FILE, --format NAME, -f */
#define CLI_DURATION (1u << 5) /* -d SECONDS */
#define CLI_COMMAND (1u << 6) /* -- COMMAND ARGS... */
#define CLI_JSON (1u << 7) /* -j / --json */
#define CLI_STACK_OPTS \
	(1u << 8) /* --top, --sort, --per-thread, --unwind, --max-frames, --unwind-rows,
		   * --stack-storage-size, --no-demangle, --lines, --no-lines */
#define CLI_DURATION_ARG (1u << 9) /* a positional DURATION (same as -d) */

struct common_opts {
	__u32 *pids;
	size_t nr_pids;
	__u32 *tids;
	size_t nr_tids;
	const char *cgroup;
	bool user_only; /* -U */
	bool kernel_only; /* -K */
	const char *output;
	enum export_format format; /* from --format, else from -o's extension; EXPORT_NONE = none */
	bool folded_stdout; /* -f */
	double duration; /* seconds; 0 = until Ctrl-C (or until COMMAND exits) */
	char **command; /* NULL-terminated argv after "--", or NULL */
	int verbose;
	bool json;
	/* CLI_STACK_OPTS, for the stack collectors */
	unsigned long top; /* --top N: rows of the top table (default 15) */
	bool top_given; /* --top was given: show the table even with -o / -f */
	struct top_opts sort; /* --sort KEYS: the table's rows (nkeys = 0: the command's default) */
	bool per_thread; /* --per-thread */
	const char *unwind; /* --unwind cfi|fp|kernel, NULL = best available */
	__u32 unwind_mode; /* VG_UNWIND_*: what features__user_unwind() chose from unwind */
	unsigned long max_frames; /* --max-frames (default VG_MAX_STACK_DEPTH) */
	unsigned long unwind_rows; /* --unwind-rows: CFI rows the kernel holds (default 2 Mi) */
	bool no_demangle; /* --no-demangle: C++ and Rust names as the symbol tables spell them */
	bool lines; /* --lines: folded/SVG frames "func (file.c:42)", inlined calls as frames */
	bool no_lines; /* --no-lines: pprof without source lines (no DWARF read at all) */
	unsigned long stack_storage; /* --stack-storage-size (default 16384) */
};

struct cli_spec {
	const char *name; /* "profile" */
	const char *help; /* full --help text: usage, options, examples */
	unsigned int common; /* CLI_* bits */
	const char *short_opts; /* the command's own short options, getopt syntax */
	const struct option
		*longs; /* the command's own long options, {0} terminated; may be NULL */
	/* Handle one of the command's own options; return 0, or 1 after printing an error. */
	int (*option)(int key, const char *arg, void *opts);
	/* Handle the positional arguments left after the options; return 0 or 1 after an error.
	 * NULL means the command takes none. */
	int (*positional)(int argc, char **argv, void *opts);
};

/*
 * Parse argv (argv[0] is the subcommand name). Returns 0 on success, -1 after printing --help, or 1
 * after printing an error. On success, c holds the common options (free with cli_free_common).
 */
int cli_parse(const struct cli_spec *spec, int argc, char **argv, struct common_opts *c,
	      void *opts);
void cli_free_common(struct common_opts *c);

/* Validation that needs the system: 0, or 1 after printing why (no such process / thread / cgroup,
 * unwritable output). Call before anything is attached. */
int cli_validate_common(const char *cmd, const struct common_opts *c);

/* The filters the common options ask for (-p, -L, -c, -- COMMAND): filter_cfg__init() on them. */
int cli_filter_init(struct filter_cfg *f, const char *cmd, const struct common_opts *c);
/* The collector lifecycle for these options: runner__init() with their duration, COMMAND and
 * symbol settings (symbols = false for commands that print no stacks). */
int cli_runner_init(struct runner *r, const char *cmd, const struct common_opts *c, bool symbols);

#endif
