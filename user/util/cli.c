// SPDX-License-Identifier: GPL-2.0
/* Command-line helpers every layer may use: the one-line user error, strict number parsing. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cli.h"

int cli_error(const char *cmd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vigil %s: %s\n", cmd, buf);
	return 1;
}

int cli_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cli_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -EINVAL;
	if (v <= 0 || v > 365.0 * 86400)
		return -ERANGE;
	*out = v;
	return 0;
}

int cli_parse_id_list(const char *s, __u32 **out, size_t *n)
{
	char *copy = strdup(s), *tok, *save = NULL;
	__u32 *ids = NULL, *tmp;
	size_t cnt = 0;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long v;

		err = cli_parse_ulong(tok, 1, INT_MAX, &v);
		if (err)
			goto out;
		tmp = realloc(ids, (cnt + 1) * sizeof(*ids));
		if (!tmp) {
			err = -ENOMEM;
			goto out;
		}
		ids = tmp;
		ids[cnt++] = (__u32)v;
	}
	if (!cnt)
		err = -EINVAL;
out:
	free(copy);
	if (err) {
		free(ids);
		return err;
	}
	/* Append to what an earlier -p gave. */
	tmp = realloc(*out, (*n + cnt) * sizeof(**out));
	if (!tmp) {
		free(ids);
		return -ENOMEM;
	}
	memcpy(tmp + *n, ids, cnt * sizeof(*ids));
	*out = tmp;
	*n += cnt;
	free(ids);
	return 0;
}

int cli_parse_duration(const char *s, double *out)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = { { "", 1 },     { "ms", 0.001 }, { "s", 1 },     { "m", 60 },
		      { "h", 3600 }, { "d", 86400 },  { "w", 604800 } };
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v > 0))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].unit)) {
			v *= units[i].mult;
			if (!(v > 0) || v > 10 * 366 * 86400.0)
				return -EINVAL;
			*out = v;
			return 0;
		}
	return -EINVAL;
}
