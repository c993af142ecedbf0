/* SPDX-License-Identifier: GPL-2.0 */
/* Writing a stack command's result as its common options say (-o, -f, --top, --per-thread). */
#ifndef VIGIL_CMD_OUTPUT_H
#define VIGIL_CMD_OUTPUT_H

#include "cmd/options.h"
#include "collect/runner.h"

struct profile;

/*
 * Write the profile as c says (-o, -f, --per-thread; kernel frames suffixed _[k]), and the top table
 * (--top N rows; shown when neither -o nor -f is given, or when --top is), then report how long after
 * the stop it was written. 0 or 1 after an error line.
 */
int cli_write_profile(const struct runner *r, const struct common_opts *c, const struct profile *p);

#endif
