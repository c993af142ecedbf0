/* SPDX-License-Identifier: GPL-2.0 */
/* Reading a CSV time series named on the command line (vigil anomaly, vigil forecast). */
#ifndef VIGIL_CMD_SERIES_INPUT_H
#define VIGIL_CMD_SERIES_INPUT_H

#include <stdio.h>

#include "analytics/csvseries.h"

/* Files larger than this are refused (a time series of 16M points fits well within it). */
#define SERIES_INPUT_MAX (1ul << 30)

/*
 * Reads path ("-" = stdin) whole and parses it into s (release with csv_series_release). Returns 0, or 1
 * after printing "vigil CMD: PATH:LINE: why" on stderr.
 */
int cli_read_series(const char *cmd, const char *path, struct csv_series *s);

/* Formats a value for CSV output: shortest of %.15g that reads back the same, finite only. */
void cli_print_number(FILE *out, double v);

#endif
