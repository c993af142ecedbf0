// SPDX-License-Identifier: GPL-2.0
/*
 * vigil forecast: the next N points of a CSV time series with 80% and 95% prediction intervals, from
 * the model (line, Holt, Holt-Winters with its season found, seasonal naive) that did best on a
 * holdout of the file's last points (analytics/forecast.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/csvseries.h"
#include "analytics/forecast.h"
#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/series_input.h"
#include "export/export.h"
#include "util/log.h"

struct forecast_cmd_opts {
	struct forecast_opts f;
	const char *input, *output;
	unsigned long horizon, period, holdout;
	double limit;
	bool has_limit;
};

enum { OPT_HORIZON = 5100, OPT_MODEL, OPT_PERIOD, OPT_HOLDOUT, OPT_STEP, OPT_LIMIT };

static const char forecast_help[] =
	"Usage: vigil forecast [OPTIONS] FILE.csv\n"
	"\n"
	"Forecast the points after a time series, with 80% and 95% prediction intervals. Reads CSV\n"
	"rows timestamp,value (header optional; FILE '-' is stdin) and writes\n"
	"timestamp,forecast,lower_80,upper_80,lower_95,upper_95 for the next N steps (the step is\n"
	"the median spacing of the timestamps). Candidate models: a least-squares line, Holt's\n"
	"damped trend, additive Holt-Winters with its season found automatically (a day, a week, or\n"
	"the strongest autocorrelation peak), and the seasonal-naive forecast; each is fitted on all\n"
	"but the last points and scored on them, and the best one forecasts. -v says which won.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE     write the CSV to FILE (atomically) instead of stdout\n"
	"  -n, --horizon N       points to forecast (default: one day of steps, at least 1)\n"
	"      --model NAME      linear, holt, holt-winters or seasonal-naive (default: auto)\n"
	"      --period N        season length in points (default: found)\n"
	"      --holdout N       points held out to choose the model (default: the horizon,\n"
	"                        at most a quarter of the data)\n"
	"      --step SECONDS    seconds between points (default: from the timestamps)\n"
	"      --limit VALUE     capacity instead: when the series' trend (a least-squares line)\n"
	"                        reaches VALUE, by growth or decline; writes timestamp,value,\n"
	"                        rate_per_second,seconds_to_limit,lower_95,upper_95 for the last\n"
	"                        point (inf when the trend moves away from VALUE)\n"
	"  -v, --verbose         print the chosen model and every candidate's holdout error\n"
	"\n"
	"Examples:\n"
	"  vigil forecast cpu.csv                         # the next day\n"
	"  vigil forecast --horizon 12 -o next-hour.csv rss.csv\n"
	"  vigil forecast --model linear -n 100 disk_used.csv\n"
	"  vigil forecast --limit 8e9 rss.csv              # seconds until 8 GB\n";

static int forecast_option(int key, const char *arg, void *o)
{
	struct forecast_cmd_opts *opts = o;
	double s;

	switch (key) {
	case 'o':
		opts->output = arg;
		return 0;
	case 'n':
	case OPT_HORIZON:
		if (cli_parse_ulong(arg, 1, 10000000, &opts->horizon))
			return cli_error("forecast",
					 "invalid --horizon '%s' (want 1..10000000 points)", arg);
		return 0;
	case OPT_MODEL:
		opts->f.model = forecast_model_by_name(arg);
		if (opts->f.model == FORECAST__NR)
			return cli_error("forecast",
					 "unknown --model '%s' (want auto, linear, holt, "
					 "holt-winters or seasonal-naive)",
					 arg);
		return 0;
	case OPT_PERIOD:
		if (cli_parse_ulong(arg, 2, 4096, &opts->period))
			return cli_error("forecast", "invalid --period '%s' (want 2..4096 points)",
					 arg);
		return 0;
	case OPT_HOLDOUT:
		if (cli_parse_ulong(arg, 1, 10000000, &opts->holdout))
			return cli_error("forecast", "invalid --holdout '%s' (want points >= 1)",
					 arg);
		return 0;
	case OPT_LIMIT: {
		char *end;

		errno = 0;
		opts->limit = strtod(arg, &end);
		if (errno || end == arg || *end || !isfinite(opts->limit))
			return cli_error("forecast", "invalid --limit '%s' (want a number)", arg);
		opts->has_limit = true;
		return 0;
	}
	case OPT_STEP:
		if (cli_parse_seconds(arg, &s))
			return cli_error("forecast", "invalid --step '%s' (want seconds > 0)", arg);
		opts->f.step = s;
		return 0;
	}
	return cli_error("forecast", "unknown option (see 'vigil forecast --help')");
}

static int forecast_positional(int argc, char **argv, void *o)
{
	struct forecast_cmd_opts *opts = o;

	if (argc != 1)
		return cli_error("forecast", "one input file, please (got %d)", argc);
	opts->input = argv[0];
	return 0;
}

static const struct option forecast_longs[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "horizon", required_argument, NULL, OPT_HORIZON },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "period", required_argument, NULL, OPT_PERIOD },
	{ "holdout", required_argument, NULL, OPT_HOLDOUT },
	{ "step", required_argument, NULL, OPT_STEP },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ 0 },
};

static const struct cli_spec forecast_spec = {
	.name = "forecast",
	.help = forecast_help,
	.short_opts = "o:n:",
	.longs = forecast_longs,
	.option = forecast_option,
	.positional = forecast_positional,
};

struct capacity_out {
	const struct csv_series *s;
	const struct capacity_estimate *c;
};

static int write_capacity(FILE *out, void *arg)
{
	const struct capacity_out *co = arg;
	char ts[64];

	ts_format(co->c->now, co->s->style, co->s->frac_digits, ts, sizeof(ts));
	fprintf(out, "timestamp,value,rate_per_second,seconds_to_limit,lower_95,upper_95\n%s,", ts);
	cli_print_number(out, co->c->value);
	fputc(',', out);
	cli_print_number(out, co->c->rate);
	fputc(',', out);
	/* an unreachable limit is inf, as Prometheus spells it */
	fprintf(out, isinf(co->c->seconds_to_limit) ? "inf," : "%.3f,", co->c->seconds_to_limit);
	fprintf(out, isinf(co->c->lower) ? "inf," : "%.3f,", co->c->lower);
	fprintf(out, isinf(co->c->upper) ? "inf\n" : "%.3f\n", co->c->upper);
	return ferror(out) ? -EIO : 0;
}

struct forecast_out {
	const struct csv_series *s;
	const struct forecast_point *p;
	size_t n;
};

static int write_forecast(FILE *out, void *arg)
{
	const struct forecast_out *fo = arg;
	/* new timestamps keep the input's spelling; fractions only when the step needs them */
	int frac = fo->s->frac_digits;
	char ts[64];

	fputs("timestamp,forecast,lower_80,upper_80,lower_95,upper_95\n", out);
	for (size_t i = 0; i < fo->n; i++) {
		const struct forecast_point *p = &fo->p[i];

		ts_format(p->t, fo->s->style, frac, ts, sizeof(ts));
		fprintf(out, "%s,", ts);
		cli_print_number(out, p->mean);
		fputc(',', out);
		cli_print_number(out, p->lo80);
		fputc(',', out);
		cli_print_number(out, p->hi80);
		fputc(',', out);
		cli_print_number(out, p->lo95);
		fputc(',', out);
		cli_print_number(out, p->hi95);
		fputc('\n', out);
	}
	return ferror(out) ? -EIO : 0;
}

int cmd_forecast(int argc, char **argv)
{
	struct forecast_cmd_opts opts = { 0 };
	struct forecast_point *pts = NULL;
	struct forecast_info info;
	struct forecast_out fo;
	struct common_opts c;
	struct csv_series s;
	double step;
	int err, rc = 1;

	err = cli_parse(&forecast_spec, argc, argv, &c, &opts);
	if (err)
		return err < 0 ? 0 : err;
	cli_free_common(&c);
	if (!opts.input)
		return cli_error("forecast", "no input file (see 'vigil forecast --help')");
	if (opts.output && export_check_path(opts.output))
		return cli_error("forecast", "cannot write '%s': %s", opts.output,
				 strerror(-export_check_path(opts.output)));
	if (cli_read_series("forecast", opts.input, &s))
		return 1;
	if (s.n < 3) {
		cli_error("forecast", "%s: %zu point(s); a forecast needs at least 3", opts.input,
			  s.n);
		goto out;
	}
	step = opts.f.step > 0 ? opts.f.step : ts_step(s.ts, s.n);
	if (!(step > 0)) {
		cli_error("forecast",
			  "%s: every timestamp is the same; cannot tell the step (use --step)",
			  opts.input);
		goto out;
	}
	if (opts.has_limit) {
		struct capacity_estimate ce;
		struct capacity_out co = { &s, &ce };

		if (capacity_estimate(s.ts, s.v, s.n, opts.limit, &ce)) {
			cli_error("forecast", "%s: cannot fit a line to %zu points", opts.input,
				  s.n);
			goto out;
		}
		err = opts.output ? export_to_path(opts.output, write_capacity, &co) :
				    write_capacity(stdout, &co);
		if (!err && !opts.output && fflush(stdout))
			err = -errno;
		if (err) {
			cli_error("forecast", "cannot write %s: %s",
				  opts.output ? opts.output : "stdout", strerror(-err));
			goto out;
		}
		rc = 0;
		goto out;
	}
	opts.f.horizon = opts.horizon;
	if (!opts.f.horizon) {
		double day = round(86400.0 / step);

		opts.f.horizon = day < 1 ? 1 : day > 100000 ? 100000 : (size_t)day;
	}
	opts.f.period = opts.period;
	opts.f.holdout = opts.holdout;
	pts = calloc(opts.f.horizon, sizeof(*pts));
	if (!pts) {
		cli_error("forecast", "out of memory for %zu points", opts.f.horizon);
		goto out;
	}
	err = forecast_series(s.ts, s.v, s.n, &opts.f, pts, &info);
	if (err) {
		cli_error("forecast", "%s: cannot fit %s to %zu points%s", opts.input,
			  forecast_model_name(opts.f.model), s.n,
			  opts.f.model == FORECAST_HOLT_WINTERS ||
					  opts.f.model == FORECAST_SEASONAL_NAIVE ?
				  " (a seasonal model needs two seasons of data)" :
				  "");
		goto out;
	}
	if (log_verbose()) {
		pr_info("forecast: %s%s chosen on a %zu-point holdout (step %.0f s)",
			forecast_model_name(info.model), info.period ? " with a season" : "",
			info.holdout, info.step);
		if (info.period)
			pr_info("forecast: season %zu points (%.2f h)", info.period,
				info.period * info.step / 3600);
		for (int m = FORECAST_LINEAR; m < FORECAST__NR; m++)
			if (!isnan(info.holdout_mae[m]))
				pr_info("forecast: holdout mean absolute error %-15s %g",
					forecast_model_name(m), info.holdout_mae[m]);
	}
	fo = (struct forecast_out){ &s, pts, opts.f.horizon };
	if (opts.output) {
		err = export_to_path(opts.output, write_forecast, &fo);
	} else {
		err = write_forecast(stdout, &fo);
		if (!err && fflush(stdout))
			err = -errno;
	}
	if (err) {
		cli_error("forecast", "cannot write %s: %s", opts.output ? opts.output : "stdout",
			  strerror(-err));
		goto out;
	}
	rc = 0;
out:
	free(pts);
	csv_series_release(&s);
	return rc;
}
