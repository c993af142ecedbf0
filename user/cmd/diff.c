// SPDX-License-Identifier: GPL-2.0
/*
 * vigil diff BASE NEW [-o diff.svg]: what changed between two pprof profiles that vigil wrote (profile,
 * offcpu, mem, or serve's /debug/pprof/profile): a differential flame graph (export_svg_diff) and the
 * functions whose share grew and shrank most (export_diff_top).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "export/export.h"
#include "util/file.h"

#define MAX_FILE_BYTES (256u << 20) /* a profile file (gzip) of at most this */
#define MAX_PROFILE_BYTES (1u << 30) /* inflating to at most this */

struct diff_opts {
	const char *base, *cur;
	const char *output;
	const char *title;
	unsigned long top;
};

enum { OPT_TOP = 5000, OPT_TITLE };

static const char diff_help[] =
	"Usage: vigil diff [OPTIONS] BASE.pb.gz NEW.pb.gz\n"
	"\n"
	"What changed between two profiles vigil wrote (vigil profile/offcpu/mem -o FILE.pb.gz, or\n"
	"vigil serve's /debug/pprof/profile): prints the functions whose share of the samples grew\n"
	"most and shrank most (self share in BASE and NEW, the change in percentage points, and the\n"
	"change of the total share, callees included), and with -o writes a differential flame graph:\n"
	"NEW's frames at NEW's widths, red where a frame's share grew, blue where it shrank, the deeper\n"
	"the larger the change; hover a frame for both weights. Shares, not raw counts, so profiles of\n"
	"different lengths compare; both must be of the same kind (CPU, off-CPU, memory).\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE.svg  write the differential flame graph to FILE (atomically)\n"
	"      --top N            rows in each of the grew/shrank lists (default 10)\n"
	"  -j, --json             the lists as JSON\n"
	"      --title TEXT       the flame graph's title\n"
	"\n"
	"Examples:\n"
	"  vigil profile -d 10 -o before.pb.gz -p 1234\n"
	"  vigil profile -d 10 -o after.pb.gz -p 1234\n"
	"  vigil diff before.pb.gz after.pb.gz -o diff.svg\n"
	"  vigil diff --top 3 -j before.pb.gz after.pb.gz | jq '.grew[0].function'\n"
	"  go tool pprof -top -normalize -diff_base=before.pb.gz after.pb.gz   # the same ranking\n";

static int diff_option(int key, const char *arg, void *o)
{
	struct diff_opts *opts = o;
	char *end;

	switch (key) {
	case 'o':
		opts->output = arg;
		return 0;
	case OPT_TITLE:
		opts->title = arg;
		return 0;
	case OPT_TOP:
		errno = 0;
		opts->top = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || !opts->top || opts->top > 100000 || *arg == '-')
			return cli_error("diff", "invalid --top '%s' (want rows, 1..100000)", arg);
		return 0;
	}
	return cli_error("diff", "unknown option (see 'vigil diff --help')");
}

static int diff_positional(int argc, char **argv, void *o)
{
	struct diff_opts *opts = o;

	if (argc != 2)
		return cli_error("diff", "two profiles, please: BASE NEW (got %d)", argc);
	opts->base = argv[0];
	opts->cur = argv[1];
	return 0;
}

static const struct option diff_longs[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "title", required_argument, NULL, OPT_TITLE },
	{ 0 },
};

static const struct cli_spec diff_spec = {
	.name = "diff",
	.help = diff_help,
	.common = CLI_JSON,
	.short_opts = "o:",
	.longs = diff_longs,
	.option = diff_option,
	.positional = diff_positional,
};

/*
 * The weight shown: samples for CPU profiles (as vigil profile draws them), microseconds for other
 * nanosecond values (off-CPU time), else the value in its own unit (bytes of a heap profile).
 */
static void weight_of(const struct profile_meta *m, struct profile_meta *w)
{
	memset(w, 0, sizeof(*w));
	if (m->value_type && !strcmp(m->value_type, "cpu")) {
		w->weight_unit = "samples";
	} else if (m->value_unit && !strcmp(m->value_unit, "nanoseconds")) {
		w->weight_unit = "us";
		w->weight_div = 1000;
	} else {
		w->weight_unit = m->value_unit ? m->value_unit : "units";
		w->weight_div = 1;
	}
}

/* A profile from path, its weights chosen by weight_of(). NULL after printing why. */
static struct profile *load(const char *path)
{
	struct profile_meta base = { .weight_unit = "units", .weight_div = 1 }, w;
	struct profile *p = NULL, *first;
	size_t len = 0;
	void *data = NULL;

	data = file_read(path, MAX_FILE_BYTES, &len);
	if (!data) {
		cli_error("diff", "cannot open '%s': %s", path,
			  errno == EFBIG ? "larger than 256 MiB" : strerror(errno));
		return NULL;
	}
	first = export_pprof_read(data, len, MAX_PROFILE_BYTES, &base);
	if (first) {
		weight_of(profile__meta(first), &w);
		p = export_pprof_read(data, len, MAX_PROFILE_BYTES, &w);
		profile__free(first);
	}
	if (!p)
		cli_error("diff", "cannot read '%s': %s", path,
			  errno == EFBIG ?
				  "inflates to more than 1 GiB" :
			  errno == ENOMEM ?
				  "out of memory" :
				  "not a pprof profile vigil wrote (gzip of profile.proto with "
				  "count and value sample types)");
	free(data);
	return p;
}

struct diff_run {
	const struct profile *base, *cur;
	const struct export_opts *eo;
};

static int write_svg(FILE *out, void *arg)
{
	const struct diff_run *r = arg;

	return export_svg_diff(r->base, r->cur, out, r->eo);
}

static bool same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

int cmd_diff(int argc, char **argv)
{
	struct diff_opts opts = { .top = 10 };
	struct export_opts eo = { .annotate_kernel = true };
	struct profile *base = NULL, *cur = NULL;
	struct top_opts to = { 0 };
	const struct profile_meta *bm, *nm;
	struct common_opts c;
	struct diff_run run;
	int err, rc = 1;

	err = cli_parse(&diff_spec, argc, argv, &c, &opts);
	if (err)
		return err < 0 ? 0 : err;
	to.json = c.json;
	cli_free_common(&c);
	if (!opts.base)
		return cli_error("diff",
				 "two profiles, please: BASE NEW (see 'vigil diff --help')");
	if (opts.output && export_format_by_path(opts.output) != EXPORT_SVG)
		return cli_error("diff", "'%s': the differential flame graph is an SVG file (.svg)",
				 opts.output);
	if (opts.output && export_check_path(opts.output))
		return cli_error("diff", "cannot write '%s': %s", opts.output,
				 strerror(-export_check_path(opts.output)));
	base = load(opts.base);
	if (!base)
		goto out;
	cur = load(opts.cur);
	if (!cur)
		goto out;
	bm = profile__meta(base);
	nm = profile__meta(cur);
	if (!same(bm->value_type, nm->value_type) || !same(bm->value_unit, nm->value_unit)) {
		cli_error("diff",
			  "'%s' is a %s profile (%s) but '%s' is a %s profile (%s): compare "
			  "profiles of one kind",
			  opts.base, bm->value_type ? bm->value_type : "?",
			  bm->value_unit ? bm->value_unit : "?", opts.cur,
			  nm->value_type ? nm->value_type : "?",
			  nm->value_unit ? nm->value_unit : "?");
		goto out;
	}
	to.rows = opts.top;
	if (opts.output) {
		eo.title = opts.title ? opts.title : "Differential flame graph (vigil diff)";
		run = (struct diff_run){ base, cur, &eo };
		err = export_to_path(opts.output, write_svg, &run);
		if (err) {
			cli_error("diff", "cannot write '%s': %s", opts.output, strerror(-err));
			goto out;
		}
	}
	err = export_diff_top(base, cur, stdout, &to);
	err = export_stream_error(stdout, err);
	if (err) {
		cli_error("diff", "cannot write stdout: %s", strerror(-err));
		goto out;
	}
	rc = 0;
out:
	profile__free(base);
	profile__free(cur);
	return rc;
}
