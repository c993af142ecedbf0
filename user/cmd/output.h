/* SPDX-License-Identifier: GPL-2.0 */
/* Writing a stack command's result as its common options say (-o, -f, --top, --per-thread). */
#ifndef VIGIL_CMD_OUTPUT_H
#define VIGIL_CMD_OUTPUT_H

#include "cmd/options.h"
#include "collect/runner.h"

struct profile;

/* The table a command shows when --sort does not name one. */
enum cli_table {
	CLI_TABLE_FUNCTIONS, /* functions by self weight (export_top_by) */
	CLI_TABLE_WAITS, /* off-CPU time by wait (export_waits) */
};

/*
 * Write the profile as c says (-o, -f, --per-thread; kernel frames suffixed _[k]), and the table
 * (--top N rows, --sort KEYS, else the command's default table; JSON with -j; shown when neither -o
 * nor -f is given, or when --top, --sort or -j is), then report how long after the stop it was
 * written. 0 or 1 after an error line.
 */
int cli_write_profile(const struct runner *r, const struct common_opts *c, const struct profile *p,
		      enum cli_table table);

#endif
