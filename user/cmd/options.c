// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/options.h"
#include "util/log.h"
#include "vigil/common.h"
#include "vigil/unwind.h"

enum {
	OPT_FORMAT = 1000,
	OPT_HELP,
	OPT_TOP,
	OPT_STACK_STORAGE,
	OPT_PER_THREAD,
	OPT_UNWIND,
	OPT_MAX_FRAMES,
	OPT_UNWIND_ROWS,
	OPT_NO_DEMANGLE,
	OPT_SORT,
	OPT_LINES,
	OPT_NO_LINES
};

void cli_free_common(struct common_opts *c)
{
	free(c->pids);
	free(c->tids);
	c->pids = c->tids = NULL;
	c->nr_pids = c->nr_tids = 0;
}

static const struct {
	unsigned int bit;
	const char *shorts;
	struct option longs[10];
} common_table[] = {
	{ CLI_PID, "p:", { { "pid", required_argument, NULL, 'p' } } },
	{ CLI_TID, "L:", { { "tid", required_argument, NULL, 'L' } } },
	{ CLI_CGROUP, "c:", { { "cgroup", required_argument, NULL, 'c' } } },
	{ CLI_STACKS,
	  "UK",
	  { { "user-stacks-only", no_argument, NULL, 'U' },
	    { "kernel-stacks-only", no_argument, NULL, 'K' } } },
	{ CLI_OUTPUT,
	  "o:f",
	  { { "output", required_argument, NULL, 'o' },
	    { "format", required_argument, NULL, OPT_FORMAT },
	    { "folded", no_argument, NULL, 'f' } } },
	{ CLI_DURATION, "d:", { { "duration", required_argument, NULL, 'd' } } },
	{ CLI_JSON, "j", { { "json", no_argument, NULL, 'j' } } },
	{ CLI_STACK_OPTS,
	  "",
	  { { "top", required_argument, NULL, OPT_TOP },
	    { "stack-storage-size", required_argument, NULL, OPT_STACK_STORAGE },
	    { "per-thread", no_argument, NULL, OPT_PER_THREAD },
	    { "unwind", required_argument, NULL, OPT_UNWIND },
	    { "max-frames", required_argument, NULL, OPT_MAX_FRAMES },
	    { "unwind-rows", required_argument, NULL, OPT_UNWIND_ROWS },
	    { "no-demangle", no_argument, NULL, OPT_NO_DEMANGLE },
	    { "sort", required_argument, NULL, OPT_SORT },
	    { "lines", no_argument, NULL, OPT_LINES },
	    { "no-lines", no_argument, NULL, OPT_NO_LINES } } },
};

#define MAX_LONGS 64

/* Returns 0, or 1 after an error message. */
static int common_option(const char *cmd, int key, const char *arg, struct common_opts *c)
{
	int err;

	switch (key) {
	case 'p':
		err = cli_parse_id_list(arg, &c->pids, &c->nr_pids);
		if (err)
			return cli_error(cmd, "invalid PID list '%s' (want PID[,PID...])", arg);
		return 0;
	case 'L':
		err = cli_parse_id_list(arg, &c->tids, &c->nr_tids);
		if (err)
			return cli_error(cmd, "invalid TID list '%s' (want TID[,TID...])", arg);
		return 0;
	case 'c':
		c->cgroup = arg;
		return 0;
	case 'U':
		c->user_only = true;
		return 0;
	case 'K':
		c->kernel_only = true;
		return 0;
	case 'o':
		c->output = arg;
		return 0;
	case OPT_FORMAT:
		c->format = export_format_by_name(arg);
		if (c->format == EXPORT_NONE)
			return cli_error(cmd, "unknown format '%s' (known: %s)", arg,
					 export_format_list());
		return 0;
	case 'f':
		c->folded_stdout = true;
		return 0;
	case 'd':
		if (cli_parse_seconds(arg, &c->duration))
			return cli_error(cmd, "invalid duration '%s' (want seconds > 0)", arg);
		return 0;
	case 'j':
		c->json = true;
		return 0;
	case 'v':
		c->verbose++;
		return 0;
	case OPT_TOP:
		if (cli_parse_ulong(arg, 1, 1000000, &c->top))
			return cli_error(cmd, "invalid --top '%s' (want a count >= 1)", arg);
		c->top_given = true;
		return 0;
	case OPT_STACK_STORAGE:
		if (cli_parse_ulong(arg, 64, 1 << 22, &c->stack_storage))
			return cli_error(
				cmd, "invalid --stack-storage-size '%s' (want 64..4194304)", arg);
		return 0;
	case OPT_PER_THREAD:
		c->per_thread = true;
		return 0;
	case OPT_UNWIND:
		c->unwind = arg;
		return 0;
	case OPT_MAX_FRAMES:
		if (cli_parse_ulong(arg, 1, VG_MAX_STACK_DEPTH, &c->max_frames))
			return cli_error(cmd, "invalid --max-frames '%s' (want 1..%d)", arg,
					 VG_MAX_STACK_DEPTH);
		return 0;
	case OPT_UNWIND_ROWS:
		if (cli_parse_ulong(arg, 1024, 1ul << 26, &c->unwind_rows))
			return cli_error(cmd, "invalid --unwind-rows '%s' (want 1024..67108864)",
					 arg);
		return 0;
	case OPT_NO_DEMANGLE:
		c->no_demangle = true;
		return 0;
	case OPT_LINES:
	case OPT_NO_LINES:
		c->lines |= key == OPT_LINES;
		c->no_lines |= key == OPT_NO_LINES;
		if (c->lines && c->no_lines)
			return cli_error(cmd, "--lines and --no-lines contradict each other");
		return 0;
	case OPT_SORT:
		if (top_parse_sort(arg, &c->sort))
			return cli_error(cmd, "invalid --sort '%s' (want KEY[,KEY...] of: %s)", arg,
					 top_sort_keys());
		return 0;
	}
	return cli_error(cmd, "internal error: unhandled option %d", key);
}

static bool is_common_key(int key)
{
	return (key > 0 && key < 256 && strchr("pLcUKofdjv", key)) ||
	       (key >= OPT_FORMAT && key <= OPT_NO_LINES && key != OPT_HELP);
}

/* CLI_DURATION_ARG: the one positional argument is the duration. */
static int duration_arg(const char *cmd, int argc, char **argv, struct common_opts *c)
{
	double d;

	if (argc > 1)
		return cli_error(cmd, "unexpected argument '%s' (see 'vigil %s --help')", argv[1],
				 cmd);
	if (cli_parse_seconds(argv[0], &d))
		return cli_error(cmd, "invalid duration '%s' (want seconds > 0)", argv[0]);
	if (c->duration > 0)
		return cli_error(cmd, "give the duration once (-d or DURATION)");
	c->duration = d;
	return 0;
}

int cli_parse(const struct cli_spec *spec, int argc, char **argv, struct common_opts *c, void *opts)
{
	struct option longs[MAX_LONGS];
	char shorts[128] = ":hv"; /* leading ':' makes a missing value return ':' */
	size_t nl = 0;
	int sep = -1, err = 1;

	memset(c, 0, sizeof(*c));
	c->top = 15;
	c->stack_storage = 16384;
	c->max_frames = VG_MAX_STACK_DEPTH;
	c->unwind_rows = VG_CFI_ROWS_DEFAULT;
	/* "--" ends the options; what follows is the command to launch. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	if (sep >= 0) {
		if (!(spec->common & CLI_COMMAND))
			return cli_error(spec->name, "does not launch a command ('--' given)");
		if (sep + 1 >= argc)
			return cli_error(spec->name, "no command after '--'");
		c->command = &argv[sep + 1];
		argc = sep;
	}

	/* GNU permutation stays on, so "vigil profile 5 -F 99" works like "-F 99 5". */
	for (size_t i = 0; i < sizeof(common_table) / sizeof(common_table[0]); i++) {
		if (!(spec->common & common_table[i].bit))
			continue;
		strcat(shorts, common_table[i].shorts);
		for (size_t j = 0;
		     j < sizeof(common_table[i].longs) / sizeof(common_table[i].longs[0]) &&
		     common_table[i].longs[j].name;
		     j++)
			longs[nl++] = common_table[i].longs[j];
	}
	if (spec->short_opts)
		strcat(shorts, spec->short_opts);
	for (const struct option *o = spec->longs; o && o->name && nl < MAX_LONGS - 3; o++)
		longs[nl++] = *o;
	longs[nl++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	longs[nl++] = (struct option){ "verbose", no_argument, NULL, 'v' };
	longs[nl] = (struct option){ 0 };

	optind = 0; /* full reset: the parser may run more than once (tests) */
	opterr = 0;
	for (;;) {
		int key = getopt_long(argc, argv, shorts, longs, NULL);

		if (key == -1)
			break;
		if (key == 'h' || key == OPT_HELP) {
			fputs(spec->help, stdout);
			cli_free_common(c);
			return -1;
		}
		if (key == '?') {
			if (optopt && optopt < 256)
				cli_error(spec->name,
					  "unknown option '-%c' (see 'vigil %s --help')", optopt,
					  spec->name);
			else
				cli_error(spec->name, "unknown option '%s' (see 'vigil %s --help')",
					  argv[optind - 1], spec->name);
			goto fail;
		}
		if (key == ':') {
			cli_error(spec->name, "option '%s' needs a value", argv[optind - 1]);
			goto fail;
		}
		if (is_common_key(key) &&
		    (key == 'v' || !spec->short_opts || !strchr(spec->short_opts, key))) {
			if (common_option(spec->name, key, optarg, c))
				goto fail;
			continue;
		}
		if (!spec->option || spec->option(key, optarg, opts))
			goto fail;
	}
	if (optind < argc && !spec->positional && (spec->common & CLI_DURATION_ARG)) {
		if (duration_arg(spec->name, argc - optind, argv + optind, c))
			goto fail;
	} else if (optind < argc) {
		if (!spec->positional) {
			cli_error(spec->name, "unexpected argument '%s' (see 'vigil %s --help')",
				  argv[optind], spec->name);
			goto fail;
		}
		if (spec->positional(argc - optind, argv + optind, opts))
			goto fail;
	}
	if (c->user_only && c->kernel_only) {
		cli_error(spec->name, "-U and -K exclude each other");
		goto fail;
	}
	if (c->output && c->format == EXPORT_NONE) {
		c->format = export_format_by_path(c->output);
		if (c->format == EXPORT_NONE) {
			cli_error(
				spec->name,
				"cannot tell the format of '%s' from its extension (known: %s; or use --format)",
				c->output, export_format_list());
			goto fail;
		}
	}
	if (c->format != EXPORT_NONE && !c->output && !c->folded_stdout) {
		cli_error(spec->name, "--format needs -o FILE");
		goto fail;
	}
	if (c->output && c->folded_stdout) {
		cli_error(spec->name, "-o and -f exclude each other");
		goto fail;
	}
	if (c->json && c->folded_stdout) {
		cli_error(spec->name, "-j and -f exclude each other (both write to stdout)");
		goto fail;
	}
	log_set_verbose(c->verbose);
	return 0;
fail:
	cli_free_common(c);
	return err;
}

static bool proc_exists(const char *fmt, __u32 id)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), fmt, id);
	return stat(path, &st) == 0;
}

/* The process a task belongs to (Tgid in /proc/ID/status), 0 when unknown. */
static __u32 proc_tgid(__u32 id)
{
	char path[64], line[128];
	unsigned int tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/status", id);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %u", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

int cli_validate_common(const char *cmd, const struct common_opts *c)
{
	int err;

	for (size_t i = 0; i < c->nr_pids; i++) {
		__u32 tgid;

		if (!proc_exists("/proc/%u", c->pids[i]))
			return cli_error(cmd, "no such process: %u", c->pids[i]);
		/* /proc/TID exists for any thread, but the filter matches processes. */
		tgid = proc_tgid(c->pids[i]);
		if (tgid && tgid != c->pids[i])
			return cli_error(cmd,
					 "%u is a thread of process %u (use -L %u for this thread, "
					 "or -p %u for the whole process)",
					 c->pids[i], tgid, c->pids[i], tgid);
	}
	for (size_t i = 0; i < c->nr_tids; i++)
		if (!proc_exists("/proc/%u/task", c->tids[i]))
			return cli_error(cmd, "no such thread: %u", c->tids[i]);
	if (c->output) {
		err = export_check_path(c->output);
		if (err)
			return cli_error(cmd, "cannot write '%s': %s", c->output, strerror(-err));
	}
	if (c->command) {
		const char *prog = c->command[0];
		char *path, *dir, *save = NULL, buf[PATH_MAX];
		bool found = false;

		if (strchr(prog, '/')) {
			found = access(prog, X_OK) == 0;
		} else if ((path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"))) {
			for (dir = strtok_r(path, ":", &save); dir && !found;
			     dir = strtok_r(NULL, ":", &save)) {
				struct stat st;

				snprintf(buf, sizeof(buf), "%s/%s", *dir ? dir : ".", prog);
				found = access(buf, X_OK) == 0 && stat(buf, &st) == 0 &&
					S_ISREG(st.st_mode);
			}
			free(path);
		}
		if (!found)
			return cli_error(cmd, "cannot execute '%s': %s", prog,
					 strchr(prog, '/') ? strerror(errno) :
							     "command not found in PATH");
	}
	return 0;
}

int cli_filter_init(struct filter_cfg *f, const char *cmd, const struct common_opts *c)
{
	struct filter_want w = {
		.pids = c->pids,
		.nr_pids = c->nr_pids,
		.tids = c->tids,
		.nr_tids = c->nr_tids,
		.cgroup = c->cgroup,
		.follow = c->command != NULL,
	};

	return filter_cfg__init(f, cmd, &w);
}

int cli_runner_init(struct runner *r, const char *cmd, const struct common_opts *c, bool symbols)
{
	struct runner_opts o = {
		.duration = c->duration,
		.command = c->command,
		.symbols = symbols,
		.kernel_symbols = symbols && !c->user_only,
		.no_demangle = c->no_demangle,
		/* pprof carries source lines where DWARF has them (unless --no-lines); text formats
		 * on --lines */
		.lines = c->lines || (c->format == EXPORT_PPROF && !c->no_lines),
		.pids = c->pids,
		.nr_pids = c->nr_pids,
		/* Tables, -f and lat's text all go to stdout; only -o FILE without a table does not. */
		.data_on_stdout = !c->output || c->top_given || c->json || c->sort.nkeys,
		.unwind_mode = c->unwind_mode,
		.max_frames = (__u32)c->max_frames,
		.unwind_rows = (__u32)c->unwind_rows,
	};

	return runner__init(r, cmd, &o);
}
