// SPDX-License-Identifier: GPL-2.0
/*
 * vigil lat: latency histograms aggregated in the kernel (syscalls, run queue, block I/O, user
 * functions), printed at the end or every interval as bcc-style text, JSON or Prometheus text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/attach.h"
#include "cmd/options.h"
#include "collect/latency.h"
#include "kernel/syscalls.h"
#include "cmd/commands.h"
#include "kernel/features.h"
#include "kernel/filter.h"
#include "export/export.h"
#include "export/histogram.h"
#include "model/hist.h"
#include "export/json.h"
#include "util/log.h"
#include "collect/runner.h"
#include "kernel/uprobe.h"
#include "vigil/lat.h"

enum lat_output { OUT_TEXT, OUT_JSON, OUT_PROM };

struct lat_opts {
	enum lat_kind mode;
	const char *mode_name;
	bool per_process, per_cpu;
	const char *syscalls; /* -e */
	enum lat_output out;
	const struct hist_unit *unit;
	const char *attach;
	unsigned long top;
	double interval;
	unsigned long count;
	const char *target; /* uprobe BINARY:FUNCTION */
};

enum { OPT_PROM = 4000, OPT_UNIT, OPT_ATTACH, OPT_TOP };

static const char lat_help[] =
	"Usage: vigil lat syscall [OPTIONS] [INTERVAL [COUNT]]\n"
	"       vigil lat runq    [OPTIONS] [INTERVAL [COUNT]]\n"
	"       vigil lat bio     [OPTIONS] [INTERVAL [COUNT]]\n"
	"       vigil lat uprobe  [OPTIONS] BINARY_OR_LIB:FUNCTION [INTERVAL [COUNT]]\n"
	"\n"
	"Latency histograms aggregated in the kernel. Buckets are powers of two split in 8, so\n"
	"percentiles are within 12.5%. Printed at the end (Ctrl-C, -d or COMMAND exit), or every\n"
	"INTERVAL seconds (COUNT times) with the latencies of that interval. With -- COMMAND, vigil\n"
	"follows COMMAND's children, exits with COMMAND's status and sends its stdout to stderr.\n"
	"\n"
	"  syscall   per syscall: count, errors (negative return) and latency, entry to exit\n"
	"  runq      run-queue latency: from wake-up (or preemption) to running on a CPU\n"
	"  bio       block I/O requests, issue to completion, per disk and read/write\n"
	"  uprobe    a user function, entry to return (path, or a library name: libc:malloc)\n"
	"\n"
	"Options:\n"
	"  -p, --pid PID[,PID...]   only these processes; stops when all have exited\n"
	"  -L, --tid TID[,TID...]   only these threads\n"
	"  -c, --cgroup PATH        only tasks in this cgroup v2\n"
	"  -e, --syscall NAME[,...] syscall: only these syscalls\n"
	"  -P, --per-process        one histogram per process\n"
	"  -C, --per-cpu            runq, syscall: one histogram per CPU\n"
	"  -j, --json               JSON: {\"histograms\":[{name, count, errors, p50_ns, ...}]}\n"
	"      --prom               Prometheus text format (histograms in seconds)\n"
	"      --unit ns|us|ms      text histogram unit (default us)\n"
	"      --top N              syscall: histograms of the N busiest (default 10; table lists all)\n"
	"      --attach TYPE        tp_btf, raw_tp or tracepoint (default: the best that works)\n"
	"  -d, --duration SECONDS   stop after SECONDS\n"
	"  -v, --verbose            loader diagnostics\n"
	"\n"
	"Examples:\n"
	"  vigil lat syscall -p 1234 -d 10         one process's syscalls for 10 s\n"
	"  vigil lat syscall -e read,write 1 5     read/write latency, every second, 5 times\n"
	"  vigil lat runq -C 5 1                   run-queue latency per CPU over 5 s\n"
	"  vigil lat bio --prom -d 30              block I/O latency as Prometheus histograms\n"
	"  vigil lat uprobe -p 1234 libc:malloc    malloc latency in one process\n"
	"  vigil lat syscall -j -- ./server --once   a command's syscalls, as JSON\n";

static int lat_option(int key, const char *arg, void *o)
{
	struct lat_opts *opts = o;

	switch (key) {
	case 'P':
		opts->per_process = true;
		return 0;
	case 'C':
		opts->per_cpu = true;
		return 0;
	case 'e':
		opts->syscalls = arg;
		return 0;
	case OPT_PROM:
		opts->out = OUT_PROM;
		return 0;
	case OPT_UNIT:
		opts->unit = hist_unit_by_name(arg);
		if (!opts->unit)
			return cli_error("lat", "invalid --unit '%s' (want ns, us or ms)", arg);
		return 0;
	case OPT_ATTACH:
		opts->attach = arg;
		return 0;
	case OPT_TOP:
		if (cli_parse_ulong(arg, 1, 100000, &opts->top))
			return cli_error("lat", "invalid --top '%s' (want a count >= 1)", arg);
		return 0;
	}
	return cli_error("lat", "unknown option (see 'vigil lat --help')");
}

static int lat_positional(int argc, char **argv, void *o)
{
	struct lat_opts *opts = o;
	int i = 0;

	if (opts->mode == LAT_UPROBE) {
		opts->target = argv[i++];
		if (!strchr(opts->target, ':'))
			return cli_error("lat",
					 "uprobe target '%s' should be BINARY_OR_LIB:FUNCTION",
					 opts->target);
	}
	if (i < argc && cli_parse_seconds(argv[i++], &opts->interval))
		return cli_error("lat", "invalid interval '%s' (want seconds > 0)", argv[i - 1]);
	if (i < argc && cli_parse_ulong(argv[i++], 1, 1000000000ul, &opts->count))
		return cli_error("lat", "invalid count '%s' (want a number >= 1)", argv[i - 1]);
	if (i < argc)
		return cli_error("lat", "unexpected argument '%s' (see 'vigil lat --help')",
				 argv[i]);
	return 0;
}

static const struct option lat_longs[] = {
	{ "per-process", no_argument, NULL, 'P' },
	{ "per-cpu", no_argument, NULL, 'C' },
	{ "syscall", required_argument, NULL, 'e' },
	{ "prom", no_argument, NULL, OPT_PROM },
	{ "unit", required_argument, NULL, OPT_UNIT },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ "top", required_argument, NULL, OPT_TOP },
	{ 0 },
};

static const struct cli_spec lat_spec = {
	.name = "lat",
	.help = lat_help,
	.common = CLI_PID | CLI_TID | CLI_CGROUP | CLI_DURATION | CLI_COMMAND | CLI_JSON,
	.short_opts = "PCe:",
	.longs = lat_longs,
	.option = lat_option,
	.positional = lat_positional,
};

/* One run's state, for the tick callback. */
struct lat_run {
	struct lat_collector *col;
	const struct lat_opts *opts;
	struct hist_entry *entries; /* the collector's, from the last read */
	size_t nr;
	unsigned long printed;
	double t_last;
};

static int cmp_count(const void *a, const void *b)
{
	const struct hist_entry *x = a, *y = b;

	if (x->h.count != y->h.count)
		return x->h.count > y->h.count ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void print_text(struct lat_run *lr, double seconds)
{
	const struct lat_opts *o = lr->opts;
	char a[32], b[32], c[32], d[32], t[32];
	size_t shown = 0;

	if (lr->opts->interval > 0)
		printf("\n--- interval %lu (%.2f s) ---\n", lr->printed + 1, seconds);
	if (!lr->nr) {
		printf("no events\n");
		return;
	}
	if (o->mode == LAT_SYSCALL) {
		/* As wide as the longest name: -P names ("read pid=1234 (comm)") are never cut. */
		int w = 28;

		for (size_t i = 0; i < lr->nr; i++)
			if ((int)strlen(lr->entries[i].name) > w)
				w = (int)strlen(lr->entries[i].name);
		printf("%-*s %10s %8s %10s %10s %10s %10s %10s\n", w, "SYSCALL", "COUNT", "ERRORS",
		       "TOTAL", "P50", "P90", "P99", "MAX");
		for (size_t i = 0; i < lr->nr; i++) {
			const struct vg_hist *h = &lr->entries[i].h;

			printf("%-*s %10llu %8llu %10s %10s %10s %10s %10s\n", w,
			       lr->entries[i].name, (unsigned long long)h->count,
			       (unsigned long long)h->errors,
			       hist_fmt_ns((double)h->sum_ns, t, sizeof(t)),
			       hist_fmt_ns((double)hist_quantile(h, 0.5), a, sizeof(a)),
			       hist_fmt_ns((double)hist_quantile(h, 0.9), b, sizeof(b)),
			       hist_fmt_ns((double)hist_quantile(h, 0.99), c, sizeof(c)),
			       hist_fmt_ns((double)h->max_ns, d, sizeof(d)));
		}
	}
	for (size_t i = 0; i < lr->nr; i++) {
		const struct vg_hist *h = &lr->entries[i].h;

		if (o->mode == LAT_SYSCALL && shown++ >= o->top)
			break;
		printf("\n%s\n", lr->entries[i].name);
		hist_print_log2(stdout, h, o->unit);
		printf("count %llu, errors %llu, mean %s, p50 %s, p90 %s, p99 %s, max %s\n",
		       (unsigned long long)h->count, (unsigned long long)h->errors,
		       hist_fmt_ns(hist_mean_ns(h), t, sizeof(t)),
		       hist_fmt_ns((double)hist_quantile(h, 0.5), a, sizeof(a)),
		       hist_fmt_ns((double)hist_quantile(h, 0.9), b, sizeof(b)),
		       hist_fmt_ns((double)hist_quantile(h, 0.99), c, sizeof(c)),
		       hist_fmt_ns((double)h->max_ns, d, sizeof(d)));
	}
}

static void print_json(struct lat_run *lr, double seconds)
{
	struct json *j = json__new(stdout, false);

	if (!j)
		return;
	json__begin_object(j);
	json__kv_str(j, "mode", lr->opts->mode_name);
	json__kv_double(j, "interval_s", seconds);
	json__key(j, "histograms");
	json__begin_array(j);
	for (size_t i = 0; i < lr->nr; i++) {
		const struct hist_entry *e = &lr->entries[i];
		const struct vg_hist *h = &e->h;

		json__begin_object(j);
		json__kv_str(j, "name", e->name);
		for (int l = 0; l < e->nlabels; l++)
			if (e->labels[l].numeric)
				json__kv_u64(j, e->labels[l].key,
					     strtoull(e->labels[l].value, NULL, 10));
			else
				json__kv_str(j, e->labels[l].key, e->labels[l].value);
		json__kv_u64(j, "count", h->count);
		json__kv_u64(j, "errors", h->errors);
		json__kv_u64(j, "sum_ns", h->sum_ns);
		json__kv_u64(j, "p50_ns", hist_quantile(h, 0.5));
		json__kv_u64(j, "p90_ns", hist_quantile(h, 0.9));
		json__kv_u64(j, "p99_ns", hist_quantile(h, 0.99));
		json__kv_u64(j, "max_ns", h->max_ns);
		json__key(j, "buckets");
		json__begin_array(j);
		for (int b = 0; b < VG_HIST_BUCKETS; b++) {
			if (!h->buckets[b])
				continue;
			json__begin_object(j);
			json__kv_u64(j, "le_ns", vg_hist_high(b) - 1);
			json__kv_u64(j, "count", h->buckets[b]);
			json__end_object(j);
		}
		json__end_array(j);
		json__end_object(j);
	}
	json__end_array(j);
	json__end_object(j);
	json__free(j);
	fputc('\n', stdout);
}

static void print_prom(struct lat_run *lr)
{
	static const char *const metric[] = {
		[LAT_SYSCALL] = "vigil_syscall_latency_seconds",
		[LAT_RUNQ] = "vigil_runq_latency_seconds",
		[LAT_BIO] = "vigil_bio_latency_seconds",
		[LAT_UPROBE] = "vigil_uprobe_latency_seconds",
	};
	static const char *const help[] = {
		[LAT_SYSCALL] = "Syscall latency from entry to exit.",
		[LAT_RUNQ] = "Run-queue latency from wake-up or preemption to running.",
		[LAT_BIO] = "Block I/O request latency from issue to completion.",
		[LAT_UPROBE] = "User function latency from entry to return.",
	};

	hist_write_prom(stdout, metric[lr->opts->mode], help[lr->opts->mode],
			lr->opts->mode == LAT_SYSCALL ? "vigil_syscall_errors_total" : NULL,
			lr->entries, lr->nr);
}

static int print_now(struct lat_run *lr, bool interval)
{
	double now = mono_s(), seconds = now - lr->t_last;
	__u64 cnt[VG_CNT_NR];
	int err = lat_collector__read(lr->col, interval ? COLLECT_INTERVAL : COLLECT_TOTAL,
				      &lr->entries, &lr->nr, cnt);

	if (err)
		return err;
	lr->t_last = now;
	if (lr->nr > 1)
		qsort(lr->entries, lr->nr, sizeof(*lr->entries), cmp_count);
	if (lr->opts->out == OUT_JSON)
		print_json(lr, seconds);
	else if (lr->opts->out == OUT_PROM)
		print_prom(lr);
	else
		print_text(lr, seconds);
	err = export_stream_error(stdout, ferror(stdout) ? -EIO : 0);
	if (err) {
		pr_err("writing the histograms failed: %s", strerror(-err));
		return err;
	}
	lr->printed++;
	return 0;
}

static int on_tick(void *ctx)
{
	struct lat_run *lr = ctx;
	int err = print_now(lr, true);

	if (err)
		return err;
	/* COUNT intervals printed: end the loop like a deadline would. */
	return lr->opts->count && lr->printed >= lr->opts->count ? -ECANCELED : 0;
}

/* -e NAME[,NAME]: numbers into the filter map; unknown names are a user error. */
static int syscall_filter_parse(const char *list, int *nrs, int *n)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int ret = 0;

	*n = 0;
	if (!copy)
		return cli_error("lat", "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		int nr = syscall_number(tok);
		char hint[128];

		if (nr < 0 || nr >= VG_LAT_MAX_SYSCALLS) {
			syscall_suggest(tok, hint, sizeof(hint));
			ret = cli_error("lat", "unknown syscall '%s'%s%s%s", tok,
					*hint ? " (did you mean: " : "", hint, *hint ? ")" : "");
		} else if (*n < VG_LAT_MAX_SYSCALLS) {
			nrs[(*n)++] = nr;
		}
	}
	if (!ret && !*n)
		ret = cli_error("lat", "-e needs at least one syscall name");
	free(copy);
	return ret;
}

int cmd_lat(int argc, char **argv)
{
	struct lat_opts opts = { .top = 10 };
	struct filter_cfg fcfg = { .cgroup_fd = -1 };
	struct lat_run lr = { 0 };
	struct runner run = { 0 };
	struct common_opts c;
	struct uprobe_target ut = { 0 };
	__u64 cnt[VG_CNT_NR] = { 0 };
	enum tp_attach tpa = TP_ATTACH_NONE;
	int nrs[VG_LAT_MAX_SYSCALLS], nnrs = 0, err, ret = 1;
	char what[256];

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
			fputs(lat_help, stdout);
			return 0;
		}
		return cli_error(
			"lat",
			"which latency? syscall, runq, bio or uprobe (see 'vigil lat --help')");
	}
	opts.mode_name = argv[1];
	if (!strcmp(argv[1], "syscall"))
		opts.mode = LAT_SYSCALL;
	else if (!strcmp(argv[1], "runq"))
		opts.mode = LAT_RUNQ;
	else if (!strcmp(argv[1], "bio"))
		opts.mode = LAT_BIO;
	else if (!strcmp(argv[1], "uprobe"))
		opts.mode = LAT_UPROBE;
	else
		return cli_error("lat", "unknown latency '%s' (known: syscall, runq, bio, uprobe)",
				 argv[1]);
	opts.unit = hist_unit_by_name("us");
	err = cli_parse(&lat_spec, argc - 1, argv + 1, &c, &opts);
	if (err)
		return err < 0 ? 0 : err;
	if (c.json)
		opts.out = opts.out == OUT_PROM ? OUT_PROM : OUT_JSON;
	if (c.json && opts.out == OUT_PROM) {
		ret = cli_error("lat", "-j and --prom exclude each other");
		goto out;
	}
	if (opts.mode == LAT_UPROBE && !opts.target) {
		ret = cli_error("lat", "uprobe needs BINARY_OR_LIB:FUNCTION (e.g. libc:malloc)");
		goto out;
	}
	if (opts.syscalls && opts.mode != LAT_SYSCALL) {
		ret = cli_error("lat", "-e applies to 'lat syscall' only");
		goto out;
	}
	if (opts.per_cpu && (opts.mode == LAT_BIO || opts.mode == LAT_UPROBE)) {
		ret = cli_error("lat", "-C applies to 'lat runq' and 'lat syscall'");
		goto out;
	}
	if (opts.count && !opts.interval) {
		ret = cli_error("lat", "COUNT needs an INTERVAL");
		goto out;
	}
	if (opts.syscalls && syscall_filter_parse(opts.syscalls, nrs, &nnrs))
		goto out;
	if (cli_validate_common("lat", &c) || cli_filter_init(&fcfg, "lat", &c))
		goto out;
	if (opts.mode == LAT_UPROBE &&
	    uprobe_target_resolve("lat", opts.target, c.pids, c.nr_pids, &ut))
		goto out;
	ret = features__check_basics();
	if (!ret && (opts.mode != LAT_UPROBE || fcfg.follow))
		ret = tp_attach_resolve("lat", opts.attach, &tpa);
	if (!ret && opts.mode == LAT_UPROBE && !features__has(FEAT_UPROBE)) {
		pr_err("uprobes do not work on this kernel: %s", features__why(FEAT_UPROBE));
		ret = 2;
	}
	if (ret)
		goto out;
	ret = 1;
	if (cli_runner_init(&run, "lat", &c, false))
		goto out;

	lr.col = lat_collector__new(&(struct lat_collector_opts){
		.kind = opts.mode,
		.per_process = opts.per_process,
		.per_cpu = opts.per_cpu,
		.syscalls = nrs,
		.nr_syscalls = nnrs,
		.filter = &fcfg,
		.attach = tpa,
		.uprobe = &ut,
		.uprobe_pid = c.nr_pids == 1 ? (int)c.pids[0] : -1,
	});
	if (!lr.col ||
	    runner__spawn(&run, lat_collector__object(lr.col), lat_collector__exec_progs(lr.col),
			  tpa) ||
	    lat_collector__attach(lr.col))
		goto out;

	lr.opts = &opts;
	if (opts.interval > 0 && session__set_tick(run.sess, opts.interval, on_tick, &lr)) {
		pr_err("setting up the interval timer failed");
		goto out;
	}
	if (opts.mode == LAT_UPROBE)
		snprintf(what, sizeof(what), "timing %s (%s)", lat_collector__uprobe_name(lr.col),
			 ut.path);
	else
		snprintf(what, sizeof(what), "timing %s latency (%s)", opts.mode_name,
			 tp_attach_name(tpa));
	if (runner__start(&run, what))
		goto out;
	lr.t_last = mono_s();

	/* A tick that printed COUNT intervals ends the loop as an "error": that is the plan. */
	if (runner__run(&run) == SESSION_ERROR && !(opts.count && lr.printed >= opts.count))
		goto out;
	lat_collector__detach(lr.col);
	runner__finish(&run);
	/* Whatever the last interval (or the whole run) saw and nobody printed yet. */
	if (!(opts.count && lr.printed >= opts.count) && print_now(&lr, opts.interval > 0))
		goto out;
	lat_collector__totals(lr.col, cnt);
	runner__report_losses(&run, cnt, "events");
	ret = runner__exit_code(&run);
out:
	lat_collector__free(lr.col);
	runner__release(&run);
	filter_cfg__release(&fcfg);
	cli_free_common(&c);
	return ret;
}
