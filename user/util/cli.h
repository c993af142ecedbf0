/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command-line helpers shared by every layer: the user-error line and strict parsing of numbers,
 * durations and id lists. The common options themselves are parsed in cmd/options.h. Pure functions
 * (cli_error writes stderr); thread-safe.
 */
#ifndef VIGIL_UTIL_CLI_H
#define VIGIL_UTIL_CLI_H

#include <stddef.h>
#include <linux/types.h>

/* Print "vigil CMD: message" on stderr. Returns 1 (the user-error exit code) for `return cli_error()`. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict number parsing: the whole string must be a number in [min, max]. 0 or -EINVAL/-ERANGE. */
int cli_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* Seconds, fractional allowed ("2.5"), > 0 and <= 1 year. */
int cli_parse_seconds(const char *s, double *out);
/* A duration: a number with an optional unit, ms, s (default), m, h, d or w ("7d", "1.5h", "90").
 * > 0 and <= 10 years. 0 or -EINVAL. */
int cli_parse_duration(const char *s, double *out);
/* "1,2,3" into a new array; each id must be > 0. 0 or -EINVAL/-ENOMEM. */
int cli_parse_id_list(const char *s, __u32 **out, size_t *n);

#endif
