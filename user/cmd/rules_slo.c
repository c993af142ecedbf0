// SPDX-License-Identifier: GPL-2.0
/* vigil rules slo FILE: the Prometheus rule file that a config's `slos:` generate. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/promql.h"
#include "analytics/slo.h"
#include "cmd/commands.h"
#include "util/cli.h"

static const char slo_help[] =
	"Usage: vigil rules slo [--interval D] FILE\n"
	"\n"
	"Print the Prometheus rule file that FILE's `slos:` list generates (FILE is vigil.yml or any\n"
	"YAML file with a top-level `slos:`): recording rules slo:sli_error:ratio_rate<W> for each\n"
	"alert window and for the period, the error budget and burn-rate recordings, and the\n"
	"multiwindow, multi-burn-rate alerts (severity page: 14.4x over 1h and 5m or 6x over 6h\n"
	"and 30m; ticket: 3x over 1d and 2h or 1x over 3d and 6h), windows scaled by period/30d.\n"
	"This is what `vigil serve --config FILE` loads; the output also passes `promtool check\n"
	"rules` and runs in Prometheus. Errors name FILE:LINE.\n"
	"\n"
	"  -i, --interval D   the evaluation (scrape) interval: every group's `interval:`, and no\n"
	"                     window is shorter than 4 of them (default 10s, vigil serve's default)\n"
	"\n"
	"Examples:\n"
	"  vigil rules slo vigil.yml > slo-rules.yml && promtool check rules slo-rules.yml\n"
	"  vigil rules slo --interval 1s vigil.yml\n";

int cmd_rules_slo(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sub = "rules slo";
	int64_t interval = 10000;
	struct slo_set set = { 0 };
	char err[512], *buf = NULL, *text = NULL;
	size_t len = 0, cap = 0, tlen = 0;
	FILE *f;
	int rc;

	optind = 0;
	opterr = 0;
	for (;;) {
		int k = getopt_long(argc, argv, "+:i:h", longs, NULL);

		if (k == -1)
			break;
		switch (k) {
		case 'h':
			fputs(slo_help, stdout);
			return 0;
		case 'i':
			if (pq_parse_duration(optarg, strlen(optarg), &interval) || interval <= 0)
				return cli_error(sub,
						 "bad --interval '%s' (a duration such as 10s)",
						 optarg);
			break;
		case ':':
			return cli_error(sub,
					 "option '%s' needs a value (see 'vigil rules slo --help')",
					 argv[optind - 1]);
		default:
			return cli_error(sub, "unknown option '%s' (see 'vigil rules slo --help')",
					 argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_error(sub, "one FILE expected (see 'vigil rules slo --help')");
	f = fopen(argv[optind], "r");
	if (!f)
		return cli_error(sub, "cannot read '%s': %s", argv[optind], strerror(errno));
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return cli_error(sub, "'%s': out of memory", argv[optind]);
			}
			buf = nb;
		}
		size_t r = fread(buf + len, 1, cap - len, f);

		len += r;
		if (!r)
			break;
	}
	rc = ferror(f);
	fclose(f);
	if (rc) {
		free(buf);
		return cli_error(sub, "cannot read '%s': %s", argv[optind], strerror(EIO));
	}
	rc = slo_file_parse(buf ? buf : "", len, argv[optind], &set, err, sizeof(err));
	free(buf);
	if (rc)
		return cli_error(sub, "%s", err);
	rc = slo_rules_text(&set, interval, &text, &tlen);
	slo_set_release(&set);
	if (rc)
		return cli_error(sub, "out of memory");
	rc = fwrite(text, 1, tlen, stdout) != tlen || fflush(stdout);
	free(text);
	if (rc)
		return cli_error(sub, "writing the rules: %s", strerror(errno));
	return 0;
}
