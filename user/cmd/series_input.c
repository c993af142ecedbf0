// SPDX-License-Identifier: GPL-2.0
/* Reading CSV time series for the analytics commands (series_input.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/series_input.h"
#include "util/cli.h"

/* The whole of fd into a new buffer (*len bytes). 0 or -errno (-EFBIG over SERIES_INPUT_MAX). */
static int read_all(int fd, char **buf, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);

	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap >= SERIES_INPUT_MAX) {
				free(b);
				return -EFBIG;
			}
			cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0) {
			int err = -errno;

			if (err == -EINTR)
				continue;
			free(b);
			return err;
		}
		if (!r)
			break;
		n += r;
	}
	*buf = b;
	*len = n;
	return 0;
}

int cli_read_series(const char *cmd, const char *path, struct csv_series *s)
{
	struct csv_error e;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, err;

	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0)
		return cli_error(cmd, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return cli_error(cmd, "'%s' is a directory (want a CSV file)", path);
	}
	err = read_all(fd, &buf, &len);
	if (fd != STDIN_FILENO)
		close(fd);
	if (err == -EFBIG)
		return cli_error(cmd, "'%s' is larger than %lu MiB", path, SERIES_INPUT_MAX >> 20);
	if (err)
		return cli_error(cmd, "cannot read '%s': %s", path, strerror(-err));
	err = csv_series_parse(buf, len, s, &e);
	free(buf);
	if (err == -ENOMEM)
		return cli_error(cmd, "cannot parse '%s': out of memory", path);
	if (err)
		return cli_error(cmd, "%s:%zu: %s", strcmp(path, "-") ? path : "<stdin>", e.line,
				 e.msg);
	return 0;
}

void cli_print_number(FILE *out, double v)
{
	char buf[40];

	for (int prec = 6; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v || prec == 17)
			break;
	}
	fputs(buf, out);
}
