// SPDX-License-Identifier: GPL-2.0
/*
 * vigil anomaly: score every point of a CSV time series with the online detector of
 * analytics/anomaly.h (each score uses only the points before it) and write
 * timestamp,value,anomaly_score, one row per input row in the same order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/anomaly.h"
#include "analytics/csvseries.h"
#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/series_input.h"
#include "export/export.h"

struct anomaly_cmd_opts {
	struct anomaly_opts det;
	const char *input;
	const char *output;
	bool explain;
};

enum { OPT_STEP = 5000, OPT_SET, OPT_EXPLAIN };

static const char anomaly_help[] =
	"Usage: vigil anomaly [OPTIONS] FILE.csv\n"
	"\n"
	"Score every point of a time series for anomalies, online: a point's score uses only the\n"
	"points before it, as a live alert would. Reads CSV rows timestamp,value (a header line is\n"
	"optional; FILE '-' is stdin) and writes timestamp,value,anomaly_score with one row per input\n"
	"row, in order. The score is in [0, 1]: 0.5 means the point is about as rare as one in\n"
	"100,000 by chance, 1 one in 10^10 or rarer. Detectors run at once and add up their evidence:\n"
	"values beyond what the series has shown, values wrong for the time of day or week, level\n"
	"shifts and bursts, noise that grows or vanishes, turns in the trend; each is judged against\n"
	"its own history on this series. One event, one alarm: a score counts in full only when it\n"
	"tops the recent peak. Scores >= 0.35 are what the NAB benchmark's standard profile flags.\n"
	"Timestamps: YYYY-MM-DD HH:MM:SS[.frac], ISO 8601 (T, Z, +HH:MM) or seconds since the epoch.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE      write the CSV to FILE (atomically) instead of stdout\n"
	"      --step SECONDS     seconds between points (default: inferred from the timestamps)\n"
	"      --explain          add columns expected,deviation,method,period (period in points)\n"
	"      --set NAME=VALUE   a detector knob (see analytics/anomaly.h): refractory, damp,\n"
	"                         margin, tail_q, history, min_hist, window, short_window,\n"
	"                         season_min_corr, cycles, combine, warmup, recur, sched_damp,\n"
	"                         or methods, e.g.\n"
	"                         extreme+spike+seasonal+level+spread+trend\n"
	"\n"
	"Examples:\n"
	"  vigil anomaly cpu.csv > scored.csv\n"
	"  vigil anomaly --explain -o scored.csv latency.csv\n"
	"  vigil anomaly cpu.csv | awk -F, '$3 >= 0.35'      # the alarms\n";

static int anomaly_option(int key, const char *arg, void *o)
{
	struct anomaly_cmd_opts *opts = o;
	char name[64];
	const char *eq;

	switch (key) {
	case 'o':
		opts->output = arg;
		return 0;
	case OPT_STEP:
		if (anomaly_opts_set(&opts->det, "step", arg) || !(opts->det.step > 0))
			return cli_error("anomaly", "invalid --step '%s' (want seconds > 0)", arg);
		return 0;
	case OPT_EXPLAIN:
		opts->explain = true;
		return 0;
	case OPT_SET:
		eq = strchr(arg, '=');
		if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name))
			return cli_error("anomaly", "invalid --set '%s' (want NAME=VALUE)", arg);
		memcpy(name, arg, eq - arg);
		name[eq - arg] = 0;
		if (anomaly_opts_set(&opts->det, name, eq + 1))
			return cli_error("anomaly",
					 "invalid --set '%s': unknown knob or value out of range "
					 "(see 'vigil anomaly --help')",
					 arg);
		return 0;
	}
	return cli_error("anomaly", "unknown option (see 'vigil anomaly --help')");
}

static int anomaly_positional(int argc, char **argv, void *o)
{
	struct anomaly_cmd_opts *opts = o;

	if (argc != 1)
		return cli_error("anomaly", "one input file, please (got %d)", argc);
	opts->input = argv[0];
	return 0;
}

static const struct option anomaly_longs[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "step", required_argument, NULL, OPT_STEP },
	{ "set", required_argument, NULL, OPT_SET },
	{ "explain", no_argument, NULL, OPT_EXPLAIN },
	{ 0 },
};

static const struct cli_spec anomaly_spec = {
	.name = "anomaly",
	.help = anomaly_help,
	.short_opts = "o:",
	.longs = anomaly_longs,
	.option = anomaly_option,
	.positional = anomaly_positional,
};

struct anomaly_run {
	const struct anomaly_cmd_opts *opts;
	const struct csv_series *s;
};

static int write_scores(FILE *out, void *arg)
{
	const struct anomaly_run *run = arg;
	const struct csv_series *s = run->s;
	struct anomaly_detector *d = anomaly__new(&run->opts->det);
	char ts[64];

	if (!d)
		return -errno;
	fprintf(out, "timestamp,value,anomaly_score%s\n",
		run->opts->explain ? ",expected,deviation,method,period" : "");
	for (size_t i = 0; i < s->n; i++) {
		struct anomaly_point p;

		anomaly__update(d, s->ts[i], s->v[i], &p);
		ts_format(s->ts[i], s->style, s->frac_digits, ts, sizeof(ts));
		fputs(ts, out);
		fputc(',', out);
		cli_print_number(out, s->v[i]);
		fprintf(out, ",%.6f", p.score);
		if (run->opts->explain) {
			fputc(',', out);
			if (p.expected == p.expected)
				cli_print_number(out, p.expected);
			fprintf(out, ",%.3f,%s,%.0f", p.deviation, anomaly_method_name(p.method),
				p.period);
		}
		fputc('\n', out);
	}
	anomaly__free(d);
	return ferror(out) ? -EIO : 0;
}

int cmd_anomaly(int argc, char **argv)
{
	struct anomaly_cmd_opts opts = { 0 };
	struct anomaly_run run = { &opts, NULL };
	struct common_opts c;
	struct csv_series s;
	int err;

	anomaly_opts_default(&opts.det);
	err = cli_parse(&anomaly_spec, argc, argv, &c, &opts);
	if (err)
		return err < 0 ? 0 : err;
	cli_free_common(&c);
	if (!opts.input)
		return cli_error("anomaly", "no input file (see 'vigil anomaly --help')");
	if (opts.output && export_check_path(opts.output))
		return cli_error("anomaly", "cannot write '%s': %s", opts.output,
				 strerror(-export_check_path(opts.output)));
	if (cli_read_series("anomaly", opts.input, &s))
		return 1;
	run.s = &s;
	if (opts.output) {
		err = export_to_path(opts.output, write_scores, &run);
	} else {
		err = write_scores(stdout, &run);
		if (!err && fflush(stdout))
			err = -errno;
	}
	csv_series_release(&s);
	if (err)
		return cli_error("anomaly", "cannot write %s: %s",
				 opts.output ? opts.output : "stdout", strerror(-err));
	return 0;
}
