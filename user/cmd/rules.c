// SPDX-License-Identifier: GPL-2.0
/*
 * vigil rules: the rule language offline. `check` validates Prometheus rule files as promtool does;
 * `query` evaluates PromQL over recorded samples (exposition text with timestamps) and prints
 * Prometheus' HTTP API JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "analytics/expfmt.h"
#include "analytics/promql.h"
#include "analytics/tsmem.h"
#include "cmd/commands.h"
#include "util/cli.h"
#include "util/file.h"
#include "util/log.h"

static const char rules_help[] =
	"Usage: vigil rules check FILE...\n"
	"       vigil rules query [--data FILE]... [--time T | --start T --end T [--step D]] EXPR\n"
	"       vigil rules slo [--interval D] FILE\n"
	"\n"
	"Prometheus' rule language, offline.\n"
	"\n"
	"  check FILE...   validate rule files (groups, interval, alert/record, expr, for,\n"
	"                  keep_firing_for, labels, annotations) as `promtool check rules` does;\n"
	"                  errors name FILE:LINE. Exit 0 when all are valid, 1 otherwise.\n"
	"  slo FILE        print the rule file (recordings and burn-rate alerts) that FILE's\n"
	"                  `slos:` generate (see 'vigil rules slo --help')\n"
	"  query EXPR      evaluate a PromQL expression over the samples in --data files and print\n"
	"                  the JSON Prometheus' /api/v1/query (or /api/v1/query_range with --start)\n"
	"                  returns. Data files are OpenMetrics text (timestamps in seconds, ending in\n"
	"                  '# EOF': what `promtool tsdb create-blocks-from openmetrics` reads) or\n"
	"                  Prometheus text (timestamps in ms); '-' reads stdin.\n"
	"\n"
	"Query options:\n"
	"  -d, --data FILE      samples to query (repeatable)\n"
	"  -t, --time T         instant query at T (RFC 3339 or Unix seconds; default: the newest\n"
	"                       sample)\n"
	"  -s, --start T        range query from T (default with --end: the oldest sample)\n"
	"  -e, --end T          range query to T (default with --start: the newest sample)\n"
	"      --step D         range query resolution (Prometheus duration or seconds; default 15s)\n"
	"      --lookback D     how far an instant selector looks back (default 5m)\n"
	"      --stats          print series, samples, bytes held and the evaluation's CPU time\n"
	"                       on stderr\n"
	"Put options before EXPR; use '--' before an EXPR that starts with '-'.\n"
	"\n"
	"Examples:\n"
	"  vigil rules check alerts.yml recording.yml\n"
	"  curl -s localhost:9090/metrics > now.prom; vigil rules query --data now.prom 'sum(up)'\n"
	"  vigil rules query -d cpu.om -s 2024-05-01T10:00:00Z -e 2024-05-01T11:00:00Z --step 1m \\\n"
	"      'sum by (mode) (rate(vigil_cpu_seconds_total[5m]))'\n";

#define CMD "rules"
#define MAX_DATA_BYTES (1u << 30) /* a --data file (Prometheus text) of at most this */

static int usage_error(const char *sub, const char *fmt, const char *arg)
{
	char what[160];

	snprintf(what, sizeof(what), fmt, arg);
	return cli_error(sub, "%s (see 'vigil rules --help')", what);
}

struct load_ctx {
	struct tsmem *ts;
	size_t refused;
};

static int load_sample(void *arg, struct labels *l, int64_t t, double v)
{
	struct load_ctx *lc = arg;
	int rc = tsmem__append(lc->ts, l, t, v);

	if (rc == -EINVAL) {
		lc->refused++; /* out of order: counted and reported */
		return 0;
	}
	return rc;
}

static int load_data(const char *sub, struct tsmem *ts, const char *path)
{
	struct expfmt_error e;
	struct load_ctx lc = { .ts = ts };
	size_t len;
	char *buf = file_read(path, MAX_DATA_BYTES, &len);
	int rc;

	if (!buf)
		return cli_error(sub, "cannot read '%s': %s", path, strerror(errno));
	rc = expfmt_parse(buf, len, (int64_t)time(NULL) * 1000, load_sample, &lc, &e);
	free(buf);
	if (rc == -EINVAL)
		return cli_error(sub, "%s:%zu: %s", path, e.line, e.msg);
	if (rc)
		return cli_error(sub, "loading '%s': %s", path, strerror(-rc));
	if (lc.refused)
		pr_warn("vigil %s: %s: %zu samples older than their series' previous sample were "
			"skipped\n",
			sub, path, lc.refused);
	return 0;
}

static int parse_time_arg(const char *sub, const char *opt, const char *s, int64_t *ms)
{
	if (pq_parse_time(s, ms))
		return cli_error(sub, "bad %s '%s' (RFC 3339 or Unix seconds)", opt, s);
	return 0;
}

static int parse_duration_arg(const char *sub, const char *opt, const char *s, int64_t *ms)
{
	char *end;
	double secs = strtod(s, &end);

	if (end != s && !*end && secs > 0 && secs < 1e10) {
		*ms = (int64_t)(secs * 1000 + 0.5);
		return 0;
	}
	if (pq_parse_duration(s, strlen(s), ms) || *ms <= 0)
		return cli_error(sub, "bad %s '%s' (a duration such as 15s, 1m, 1h30m)", opt, s);
	return 0;
}

static int cmd_rules_query(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "time", required_argument, NULL, 't' },
		{ "start", required_argument, NULL, 's' },
		{ "end", required_argument, NULL, 'e' },
		{ "step", required_argument, NULL, 'S' },
		{ "lookback", required_argument, NULL, 'L' },
		{ "stats", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sub = "rules query";
	struct tsmem *ts = tsmem__new();
	struct pq_opts opts = { 0 };
	struct pq_result res;
	struct pq_error err;
	struct pq_expr *e = NULL;
	bool have_t = false, have_start = false, have_end = false, stats = false;
	int64_t t = 0, start = 0, end = 0, step = 15000;
	struct timespec c0, c1;
	int rc = 1, ndata = 0;

	if (!ts)
		return cli_error(sub, "out of memory");
	optind = 0;
	opterr = 0;
	for (;;) {
		int k = getopt_long(argc, argv, "+:d:t:s:e:h", longs, NULL);

		if (k == -1)
			break;
		switch (k) {
		case 'h':
			fputs(rules_help, stdout);
			rc = 0;
			goto out;
		case 'd':
			if (load_data(sub, ts, optarg))
				goto out;
			ndata++;
			break;
		case 't':
			if (parse_time_arg(sub, "--time", optarg, &t))
				goto out;
			have_t = true;
			break;
		case 's':
			if (parse_time_arg(sub, "--start", optarg, &start))
				goto out;
			have_start = true;
			break;
		case 'e':
			if (parse_time_arg(sub, "--end", optarg, &end))
				goto out;
			have_end = true;
			break;
		case 'S':
			if (parse_duration_arg(sub, "--step", optarg, &step))
				goto out;
			break;
		case 'L':
			if (parse_duration_arg(sub, "--lookback", optarg, &opts.lookback_ms))
				goto out;
			break;
		case 'T':
			stats = true;
			break;
		case ':':
			usage_error(sub, "option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			usage_error(sub, "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (optind != argc - 1) {
		usage_error(sub,
			    optind >= argc ? "no expression given%s" :
					     "one expression expected, got '%s' too",
			    optind >= argc ? "" : argv[optind + 1]);
		goto out;
	}
	if (have_t && (have_start || have_end)) {
		cli_error(sub, "--time excludes --start/--end");
		goto out;
	}
	e = pq_parse(argv[optind], &err);
	if (!e) {
		cli_error(sub, "bad expression: %s", err.msg);
		goto out;
	}
	int64_t mint = 0, maxt = 0;
	bool bounded = tsmem__bounds(ts, &mint, &maxt);
	struct pq_source src = tsmem__source(ts);

	if (!bounded && !ndata)
		pr_warn("vigil %s: no --data given: selectors find nothing\n", sub);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	if (have_start || have_end) {
		if (!have_start)
			start = bounded ? mint : end;
		if (!have_end)
			end = bounded ? maxt : start;
		rc = pq_eval_range(e, &src, start, end, step, &opts, &res, &err);
	} else {
		if (!have_t)
			t = bounded ? maxt : (int64_t)time(NULL) * 1000;
		rc = pq_eval_instant(e, &src, t, &opts, &res, &err);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	if (stats)
		fprintf(stderr,
			"vigil %s: %zu series, %zu samples, %zu bytes held; evaluation %.6f s CPU\n",
			sub, tsmem__series(ts), tsmem__samples(ts), tsmem__bytes(ts),
			(double)(c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9);
	if (rc) {
		cli_error(sub, "evaluating '%s': %s", argv[optind], err.msg);
		rc = 1;
		goto out;
	}
	rc = pq_result_write_json(stdout, &res);
	pq_result_release(&res);
	if (rc || fflush(stdout)) {
		cli_error(sub, "writing the result: %s", strerror(rc ? -rc : errno));
		rc = 1;
	}
out:
	pq_expr__free(e);
	tsmem__free(ts);
	return rc;
}

int cmd_rules(int argc, char **argv)
{
	if (argc < 2) {
		fputs(rules_help, stderr);
		return 1;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(rules_help, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "query"))
		return cmd_rules_query(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_rules_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "slo"))
		return cmd_rules_slo(argc - 1, argv + 1);
	return cli_error(CMD,
			 "unknown subcommand '%s' (check, query, slo; see 'vigil rules --help')",
			 argv[1]);
}
