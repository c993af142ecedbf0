// SPDX-License-Identifier: GPL-2.0
/*
 * vigil mem: memory profiles. Allocations by stack through uprobes on the allocator the process
 * uses (in use at the end, or allocated during the capture), page faults by stack, resident set
 * over time, or kernel allocations by kernel stack. The collector is collect/mem.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/output.h"
#include "collect/mem.h"
#include "collect/runner.h"
#include "export/json.h"
#include "kernel/allocator.h"
#include "kernel/attach.h"
#include "kernel/features.h"
#include "kernel/filter.h"
#include "model/profile.h"
#include "util/log.h"
#include "vigil/unwind.h"

#define DEFAULT_MAX_OUTSTANDING 1048576

struct mem_opts {
	__u32 mode;
	bool report_alloc;
	bool report_given;
	double older_than; /* seconds, 0 = none */
	unsigned long long sample_bytes;
	const char *lib;
	const char *prefix;
	unsigned long max_outstanding;
	double interval; /* --mode rss: seconds between rows; 0 = at the end only */
	bool no_mmap;
	const char *uprobes; /* --uprobes session|multi|perf, NULL = best */
};

static const char mem_help[] =
	"Usage: vigil mem [OPTIONS] [DURATION] [-- COMMAND [ARGS...]]\n"
	"\n"
	"Memory profiles by stack. The default mode hooks the allocator the process really uses\n"
	"(found from its mappings: glibc, or an interposed jemalloc/tcmalloc, or --lib) with\n"
	"uprobes: malloc, calloc, realloc, reallocarray, free, posix_memalign, aligned_alloc,\n"
	"memalign, valloc, pvalloc, C++ operator new (libstdc++), and the mmap, munmap and mremap\n"
	"syscalls for anonymous mappings. The report is what is still in use when the capture ends\n"
	"(or when the process exited), by allocating stack; --report alloc shows everything\n"
	"allocated during the capture instead. Frees of memory allocated before the capture are\n"
	"ignored (and counted). Without -p or COMMAND, every process using libc is traced, and\n"
	"each of their allocations pays a uprobe: prefer -p.\n"
	"\n"
	"Options:\n"
	"  -p, --pid PID[,PID...]     only these processes (their own allocator each)\n"
	"  -L, --tid TID[,TID...]     only these threads\n"
	"  -c, --cgroup PATH          only tasks in this cgroup v2\n"
	"      --mode MODE            malloc (default): allocator uprobes;\n"
	"                             faults: user page faults by stack, weighted by the page size\n"
	"                             (which code makes the RSS grow; far cheaper);\n"
	"                             rss: each process's resident set over time (-i);\n"
	"                             kernel: kmalloc, kmem_cache and page allocations by kernel stack\n"
	"      --report inuse|alloc   bytes still in use at the end (default), or allocated during\n"
	"                             the capture (churn)\n"
	"      --older-than SECONDS   in use: only allocations at least this old (likely leaks)\n"
	"      --sample-bytes N       sample allocations as a Poisson process over bytes, one sample\n"
	"                             every N bytes on average (e.g. 524288, as jemalloc and Go);\n"
	"                             each sampled allocation of s bytes weighs 1/(1-exp(-s/N)), so\n"
	"                             the totals stay unbiased. Suffixes k, m, g (x1024)\n"
	"      --lib PATH             the allocator library to hook (jemalloc, tcmalloc builds)\n"
	"      --prefix PREFIX        its functions' prefix, e.g. je_ for je_malloc\n"
	"      --no-mmap              do not trace mmap, munmap and mremap\n"
	"      --uprobes KIND         session: one uprobe session per library, unsampled calls skip\n"
	"                             the return probe (Linux 6.13; the default with --sample-bytes);\n"
	"                             multi: uprobe_multi links (6.6; the default otherwise);\n"
	"                             perf: a uprobe per function (any kernel; slow to detach)\n"
	"      --max-outstanding N    allocations tracked at once (default 1048576); raise it when\n"
	"                             the table fills\n"
	"  -i, --interval SECONDS     --mode rss: print the resident sets every SECONDS\n"
	"  -o, --output FILE          write FILE; format from the extension: .folded, .svg,\n"
	"                             .pb.gz/.pprof (pprof heap profile: alloc_objects, alloc_space,\n"
	"                             inuse_objects, inuse_space), .json (speedscope)\n"
	"      --format NAME          folded, svg, pprof or speedscope (overrides the extension)\n"
	"  -f, --folded               folded stacks (bytes) on stdout\n"
	"      --top N                the top N allocating functions: bytes, objects, average size\n"
	"                             (default 15; shown anyway when neither -o nor -f is given)\n"
	"      --per-thread           folded/SVG: one root per thread (comm-TID)\n"
	"      --unwind cfi|fp|kernel user-stack walker (default cfi with -p; fp host-wide, where\n"
	"                             every process's tables would load at once; kernel for\n"
	"                             -- COMMAND, whose first allocations come before its CFI\n"
	"                             tables can load; see vigil profile --help)\n"
	"      --max-frames N         user frames per stack (default and most 127)\n"
	"      --stack-storage-size N stack map entries (default 16384); raise it when stacks are lost\n"
	"      --no-demangle          C++ and Rust names as mangled in the symbol table\n"
	"      --lines                folded/SVG: frames as \"func (file.c:42)\" from DWARF, inlined\n"
	"                             calls as frames of their own (pprof has them by default)\n"
	"      --no-lines             pprof without source lines (reads no DWARF: faster output)\n"
	"  -j, --json                 --mode rss: JSON lines\n"
	"  -d, --duration SECONDS     how long to trace (same as DURATION)\n"
	"  -v, --verbose              loader and libbpf diagnostics on stderr\n"
	"  -h, --help                 this help\n"
	"\n"
	"Examples:\n"
	"  vigil mem -p 1234 30                      what 1234 allocates and keeps, over 30 s\n"
	"  vigil mem -p 1234 --older-than 10 60      allocations alive for 10 s or more: leaks\n"
	"  vigil mem --report alloc -o churn.svg -- ./server   allocation churn flame graph\n"
	"  vigil mem -o heap.pb.gz -- ./job          go tool pprof -sample_index=inuse_space heap.pb.gz\n"
	"  vigil mem --sample-bytes 512k -p 1234 60  cheaper, sampled and scaled back\n"
	"  vigil mem --lib /usr/lib/libjemalloc.so.2 --prefix je_ -p 1234\n"
	"  vigil mem --mode faults -o rss-growth.svg -- ./job   which code faults memory in\n"
	"  vigil mem --mode rss -i 1 -p 1234         resident set every second\n"
	"  vigil mem --mode kernel -d 5              kernel allocations by kernel stack\n";

/* N with an optional k/m/g suffix (powers of 1024). */
static int parse_bytes(const char *s, unsigned long long *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		switch (*end | 0x20) {
		case 'k':
			mul = 1ull << 10;
			break;
		case 'm':
			mul = 1ull << 20;
			break;
		case 'g':
			mul = 1ull << 30;
			break;
		default:
			return -EINVAL;
		}
		end++;
		if ((*end | 0x20) == 'i')
			end++;
		if ((*end | 0x20) == 'b')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (v > (1ull << 40) / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

enum {
	OPT_MODE = 256,
	OPT_REPORT,
	OPT_OLDER,
	OPT_SAMPLE,
	OPT_LIB,
	OPT_PREFIX,
	OPT_MAXOUT,
	OPT_NOMMAP,
	OPT_UPROBES
};

static int mem_option(int key, const char *arg, void *o)
{
	struct mem_opts *opts = o;
	unsigned long long b;
	int err;

	switch (key) {
	case OPT_MODE:
		if (!strcmp(arg, "malloc"))
			opts->mode = VG_MEM_MODE_MALLOC;
		else if (!strcmp(arg, "faults"))
			opts->mode = VG_MEM_MODE_FAULTS;
		else if (!strcmp(arg, "rss"))
			opts->mode = VG_MEM_MODE_RSS;
		else if (!strcmp(arg, "kernel"))
			opts->mode = VG_MEM_MODE_KERNEL;
		else
			return cli_error("mem",
					 "unknown mode '%s' (known: malloc, faults, rss, kernel)",
					 arg);
		return 0;
	case OPT_REPORT:
		if (!strcmp(arg, "inuse") || !strcmp(arg, "in-use"))
			opts->report_alloc = false;
		else if (!strcmp(arg, "alloc"))
			opts->report_alloc = true;
		else
			return cli_error("mem", "unknown report '%s' (known: inuse, alloc)", arg);
		opts->report_given = true;
		return 0;
	case OPT_OLDER:
		if (cli_parse_seconds(arg, &opts->older_than))
			return cli_error("mem", "invalid --older-than '%s' (want seconds > 0)",
					 arg);
		return 0;
	case OPT_SAMPLE:
		err = parse_bytes(arg, &b);
		if (err)
			return cli_error("mem",
					 "invalid --sample-bytes '%s' (want a byte count, e.g. "
					 "524288 or 512k, up to 1 TiB)",
					 arg);
		if (!b)
			return cli_error("mem",
					 "--sample-bytes 0 would sample nothing (want N >= 1; "
					 "leave it out to record every allocation)");
		opts->sample_bytes = b;
		return 0;
	case OPT_LIB:
		opts->lib = arg;
		return 0;
	case OPT_PREFIX:
		opts->prefix = arg;
		return 0;
	case OPT_MAXOUT:
		if (cli_parse_ulong(arg, 16, 1ul << 26, &opts->max_outstanding))
			return cli_error("mem",
					 "invalid --max-outstanding '%s' (want 16..67108864)", arg);
		return 0;
	case OPT_NOMMAP:
		opts->no_mmap = true;
		return 0;
	case OPT_UPROBES:
		if (strcmp(arg, "session") && strcmp(arg, "multi") && strcmp(arg, "perf"))
			return cli_error(
				"mem", "unknown --uprobes '%s' (known: session, multi, perf)", arg);
		opts->uprobes = arg;
		return 0;
	case 'i':
		if (cli_parse_seconds(arg, &opts->interval))
			return cli_error("mem", "invalid interval '%s' (want seconds > 0)", arg);
		return 0;
	}
	return cli_error("mem", "unknown option (see 'vigil mem --help')");
}

static const struct option mem_longs[] = {
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "older-than", required_argument, NULL, OPT_OLDER },
	{ "sample-bytes", required_argument, NULL, OPT_SAMPLE },
	{ "lib", required_argument, NULL, OPT_LIB },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "max-outstanding", required_argument, NULL, OPT_MAXOUT },
	{ "no-mmap", no_argument, NULL, OPT_NOMMAP },
	{ "uprobes", required_argument, NULL, OPT_UPROBES },
	{ "interval", required_argument, NULL, 'i' },
	{ 0 },
};

static const struct cli_spec mem_spec = {
	.name = "mem",
	.help = mem_help,
	.common = CLI_PID | CLI_TID | CLI_CGROUP | CLI_OUTPUT | CLI_DURATION | CLI_COMMAND |
		  CLI_STACK_OPTS | CLI_DURATION_ARG | CLI_JSON,
	.short_opts = "i:",
	.longs = mem_longs,
	.option = mem_option,
};

static const char *const mode_names[] = { "malloc", "faults", "rss", "kernel" };

/* Options that only make sense in some modes: one error line, 1. */
static int check_combination(const struct mem_opts *o, const struct common_opts *c)
{
	const char *mode = mode_names[o->mode];

	if (o->mode != VG_MEM_MODE_MALLOC) {
		const char *flag = o->sample_bytes ? "--sample-bytes" :
				   o->lib	   ? "--lib" :
				   o->prefix	   ? "--prefix" :
				   o->no_mmap	   ? "--no-mmap" :
				   o->uprobes	   ? "--uprobes" :
						     NULL;

		if (flag)
			return cli_error("mem", "%s applies to --mode malloc, not %s", flag, mode);
	}
	if ((o->mode == VG_MEM_MODE_FAULTS || o->mode == VG_MEM_MODE_RSS) &&
	    (o->report_given || o->older_than > 0))
		return cli_error("mem",
				 "%s has no in-use report (--report/--older-than apply to "
				 "malloc and kernel)",
				 mode);
	if (o->report_alloc && o->older_than > 0)
		return cli_error("mem", "--older-than selects allocations in use; it does not go "
					"with --report alloc");
	if (o->mode == VG_MEM_MODE_RSS && (c->output || c->folded_stdout))
		return cli_error("mem", "--mode rss prints a table over time (-j for JSON), not a "
					"profile (-o/-f)");
	if (o->mode != VG_MEM_MODE_RSS && (o->interval > 0 || c->json))
		return cli_error("mem", "%s applies to --mode rss", o->interval > 0 ? "-i" : "-j");
	if (o->prefix && strlen(o->prefix) > 32)
		return cli_error("mem", "--prefix '%s' is too long", o->prefix);
	return 0;
}

/* ---- --mode rss ---- */

struct rss_state {
	struct mem_collector *col;
	struct runner *run;
	bool json;
	unsigned ticks;
};

static void print_rss(struct rss_state *st)
{
	struct mem_rss_row *rows = NULL;
	double t = mono_s() - st->run->t_start;
	size_t n = 0;
	int err = mem_collector__read_rss(st->col, &rows, &n);

	if (err) {
		pr_err("reading rss_stat counters failed: %s", strerror(-err));
		return;
	}
	if (st->json) {
		struct json *j = json__new(stdout, false);

		json__begin_object(j);
		json__kv_double(j, "time_s", t);
		json__key(j, "processes");
		json__begin_array(j);
		for (size_t i = 0; i < n; i++) {
			const struct mem_rss_row *r = &rows[i];

			json__begin_object(j);
			json__kv_u64(j, "pid", r->pid);
			json__kv_str(j, "comm", r->comm);
			json__kv_i64(j, "rss_bytes", r->size[0] + r->size[1] + r->size[3]);
			json__kv_i64(j, "anon_bytes", r->size[1]);
			json__kv_i64(j, "file_bytes", r->size[0]);
			json__kv_i64(j, "shmem_bytes", r->size[3]);
			json__kv_i64(j, "swap_bytes", r->size[2]);
			json__kv_i64(j, "peak_bytes", r->peak);
			json__kv_u64(j, "updates", r->updates);
			json__end_object(j);
		}
		json__end_array(j);
		json__end_object(j);
		json__finish(j);
		json__free(j);
		fputc('\n', stdout);
	} else {
		if (!st->ticks)
			printf("%8s %7s %-16s %10s %10s %10s %10s %10s %10s\n", "TIME(s)", "PID",
			       "COMM", "RSS(KiB)", "ANON", "FILE", "SHMEM", "SWAP", "PEAK");
		for (size_t i = 0; i < n; i++) {
			const struct mem_rss_row *r = &rows[i];
			char comm[VG_COMM_LEN + 1];

			for (int k = 0; k <= VG_COMM_LEN; k++)
				comm[k] = (unsigned char)r->comm[k] < 0x20 && r->comm[k] ?
						  '?' :
						  r->comm[k];
			printf("%8.1f %7u %-16s %10lld %10lld %10lld %10lld %10lld %10lld\n", t,
			       r->pid, comm,
			       (long long)(r->size[0] + r->size[1] + r->size[3]) / 1024,
			       (long long)r->size[1] / 1024, (long long)r->size[0] / 1024,
			       (long long)r->size[3] / 1024, (long long)r->size[2] / 1024,
			       (long long)r->peak / 1024);
		}
		if (!n)
			printf("%8.1f (no rss_stat updates from the targets yet)\n", t);
	}
	st->ticks++;
	fflush(stdout);
	free(rows);
}

static int on_rss_tick(void *ctx)
{
	print_rss(ctx);
	return 0;
}

/* ---- the loss report ---- */

static void report_mem_losses(const struct mem_opts *o, const __u64 m[VG_MEM_CNT_NR])
{
	/* Hooks on a library the targets do not call (a --lib they never loaded) would otherwise
	 * give an empty profile and no word why. */
	if (o->mode == VG_MEM_MODE_MALLOC && !m[VG_MEM_CNT_FN_CALLS] && o->lib)
		pr_warn("no call of the hooked functions of %s was seen (is it the allocator the "
			"target uses? without --lib, vigil finds the one it maps)",
			o->lib);
	else if (o->mode == VG_MEM_MODE_MALLOC && !m[VG_MEM_CNT_FN_CALLS])
		pr_info("no allocator call was seen during the capture");
	if (m[VG_MEM_CNT_OUTSTANDING_FULL])
		pr_warn("%llu allocations not tracked: the outstanding table was full (raise "
			"--max-outstanding, now %lu); they are missing from the in-use report",
			(unsigned long long)m[VG_MEM_CNT_OUTSTANDING_FULL], o->max_outstanding);
	if (m[VG_MEM_CNT_STATE_FULL])
		pr_warn("%llu allocator calls missed: no per-thread state could be made",
			(unsigned long long)m[VG_MEM_CNT_STATE_FULL]);
	if (m[VG_MEM_CNT_FREE_UNKNOWN])
		pr_info("%llu frees found no recorded allocation (made before the capture%s, or by "
			"another allocator) and were ignored",
			(unsigned long long)m[VG_MEM_CNT_FREE_UNKNOWN],
			o->sample_bytes ? ", not sampled" : "");
	if (o->sample_bytes)
		pr_info("sampled %llu of %llu allocations (one per %llu bytes on average), scaled "
			"back",
			(unsigned long long)m[VG_MEM_CNT_CALLS],
			(unsigned long long)(m[VG_MEM_CNT_CALLS] + m[VG_MEM_CNT_UNSAMPLED]),
			o->sample_bytes);
}

/* The uprobe attach kind: forced, or the best this kernel has for the job. 0, or 2 after an error
 * line when the forced one does not work here. */
static int choose_uprobes(const struct mem_opts *o, enum mem_uprobes *out)
{
	bool session = features__has(FEAT_UPROBE_SESSION), multi = features__has(FEAT_UPROBE_MULTI);

	if (o->uprobes && !strcmp(o->uprobes, "session") && !session) {
		pr_err("uprobe sessions do not work on this kernel: %s (needs Linux 6.13)",
		       features__why(FEAT_UPROBE_SESSION));
		return 2;
	}
	if (o->uprobes && !strcmp(o->uprobes, "multi") && !multi) {
		pr_err("uprobe_multi links do not work on this kernel: %s (needs Linux 6.6)",
		       features__why(FEAT_UPROBE_MULTI));
		return 2;
	}
	if (o->uprobes)
		*out = !strcmp(o->uprobes, "session") ? MEM_UPROBES_SESSION :
		       !strcmp(o->uprobes, "multi")   ? MEM_UPROBES_MULTI :
							MEM_UPROBES_PERF;
	/* Sessions pay off when most returns can be skipped (sampling); exact mode needs every
	 * allocation's return, and sessions add a check at each entry. */
	else if (o->sample_bytes && session)
		*out = MEM_UPROBES_SESSION;
	else
		*out = multi ? MEM_UPROBES_MULTI : session ? MEM_UPROBES_SESSION : MEM_UPROBES_PERF;
	return 0;
}

/* ---- targets ---- */

static int find_targets(const struct mem_opts *o, const struct common_opts *c,
			struct allocator **allocs, struct mem_target **targets, size_t *n)
{
	size_t want = c->nr_pids ? c->nr_pids : 1;
	struct allocator *a = calloc(want, sizeof(*a));
	struct mem_target *t = calloc(want, sizeof(*t));

	*allocs = a;
	*targets = t;
	if (!a || !t)
		return cli_error("mem", "out of memory");
	for (size_t i = 0; i < want; i++) {
		struct allocator_query q = {
			.pid = c->nr_pids ? c->pids[i] : 0,
			.command = c->command ? c->command[0] : NULL,
			.lib = o->lib,
			.prefix = o->prefix,
		};

		if (allocator_find(&q, &a[i]))
			return 1;
		/* A COMMAND is followed with its children: every process, filtered in BPF. */
		t[i].pid = c->nr_pids ? (int)c->pids[i] : -1;
		t[i].alloc = &a[i];
		pr_debug("allocator for %s: %s (%s), %d functions%s%s",
			 c->nr_pids ? "the target" :
			 c->command ? "COMMAND" :
				      "every process",
			 a[i].path, a[i].why, a[i].nr_funcs,
			 *a[i].cxx_path ? ", operator new in " : "", a[i].cxx_path);
	}
	*n = want;
	return 0;
}

int cmd_mem(int argc, char **argv)
{
	struct mem_opts opts = { .max_outstanding = DEFAULT_MAX_OUTSTANDING };
	struct filter_cfg fcfg = { .cgroup_fd = -1 };
	struct mem_collector *col = NULL;
	struct allocator *allocs = NULL;
	struct mem_target *targets = NULL;
	struct profile *prof = NULL;
	struct profile_meta meta = { 0 };
	struct runner run = { 0 };
	struct common_opts c;
	struct rss_state rs = { 0 };
	struct mem_read_opts ro = { 0 };
	__u64 cnt[VG_CNT_NR] = { 0 }, mcnt[VG_MEM_CNT_NR] = { 0 };
	enum tp_attach tpa = TP_ATTACH_NONE;
	enum mem_uprobes uprobes = MEM_UPROBES_PERF;
	size_t nr_targets = 0;
	bool syscalls;
	char title[256], what[PATH_MAX + 128] = "tracing";
	int err, ret = 1;

	err = cli_parse(&mem_spec, argc, argv, &c, &opts);
	if (err)
		return err < 0 ? 0 : err;
	if (check_combination(&opts, &c) || cli_validate_common("mem", &c) ||
	    cli_filter_init(&fcfg, "mem", &c))
		goto out;
	if (opts.mode == VG_MEM_MODE_MALLOC &&
	    find_targets(&opts, &c, &allocs, &targets, &nr_targets))
		goto out;
	ret = features__check_basics();
	if (!ret && opts.mode == VG_MEM_MODE_MALLOC && !features__has(FEAT_UPROBE)) {
		pr_err("uprobes do not work on this kernel: %s (try --mode faults)",
		       features__why(FEAT_UPROBE));
		ret = 2;
	}
	if (!ret && !features__has(FEAT_TASK_STORAGE)) {
		pr_err("BPF task storage is missing: %s (needs Linux 5.11)",
		       features__why(FEAT_TASK_STORAGE));
		ret = 2;
	}
	if (!ret && (opts.mode == VG_MEM_MODE_RSS || opts.mode == VG_MEM_MODE_KERNEL) &&
	    !features__has(FEAT_TRACEPOINT)) {
		pr_err("%s mode needs classic tracepoints: %s", mode_names[opts.mode],
		       features__why(FEAT_TRACEPOINT));
		ret = 2;
	}
	if (!ret && (fcfg.follow || opts.mode == VG_MEM_MODE_FAULTS))
		ret = tp_attach_resolve("mem", NULL, &tpa);
	else if (!ret)
		tpa = features__tp_attach(); /* the exec hook only: it may be missing */
	if (!ret)
		ret = features__user_unwind("mem", c.unwind, &c.unwind_mode);
	/* COMMAND allocates from its first microsecond, before its tables can follow its mmaps (a
	 * few milliseconds): checked walks then cut those stacks short, at random depths. */
	if (!ret && !c.unwind && c.command && c.unwind_mode == VG_UNWIND_CFI)
		c.unwind_mode = VG_UNWIND_KERNEL;
	/* Host-wide, every allocating process would need its tables built at once: on a busy host
	 * that took tens of seconds and left the stacks incomplete. Frame pointers, as vigil serve. */
	else if (!ret && !c.unwind && !c.command && !c.nr_pids && c.unwind_mode == VG_UNWIND_CFI)
		c.unwind_mode = VG_UNWIND_FP;
	if (!ret && opts.mode == VG_MEM_MODE_MALLOC)
		ret = choose_uprobes(&opts, &uprobes);
	if (ret)
		goto out;
	ret = 1;
	syscalls = opts.mode == VG_MEM_MODE_MALLOC && !opts.no_mmap;
	if (syscalls && !features__has(FEAT_TRACEPOINT)) {
		pr_warn("mmap, munmap and mremap not traced: %s", features__why(FEAT_TRACEPOINT));
		syscalls = false;
	}
	if (cli_runner_init(&run, "mem", &c, opts.mode != VG_MEM_MODE_RSS))
		goto out;

	col = mem_collector__new(&(struct mem_collector_opts){
		.mode = opts.mode,
		.sample_bytes = opts.sample_bytes,
		.unwind_mode = c.unwind_mode,
		.max_frames = (__u32)c.max_frames,
		.unwind_rows = (__u32)c.unwind_rows,
		.stack_storage = (__u32)c.stack_storage,
		.max_outstanding = (__u32)opts.max_outstanding,
		.syscalls = syscalls,
		.uprobes = uprobes,
		.filter = &fcfg,
		.attach = tpa,
	});
	if (!col)
		goto out;
	if (runner__spawn(&run, mem_collector__object(col), mem_collector__exec_progs(col), tpa) ||
	    (opts.mode != VG_MEM_MODE_RSS &&
	     (runner__track(&run, mem_collector__notices(col)) ||
	      runner__unwind(&run, mem_collector__object(col), c.pids, c.nr_pids))))
		goto out;
	err = mem_collector__attach(col, targets, nr_targets, what, sizeof(what));
	if (err) {
		ret = err == -EACCES || err == -EPERM ? 2 : 1;
		goto out;
	}
	if (opts.mode == VG_MEM_MODE_RSS) {
		rs.col = col;
		rs.run = &run;
		rs.json = c.json;
		if (opts.interval > 0 &&
		    session__set_tick(run.sess, opts.interval, on_rss_tick, &rs)) {
			pr_err("setting up the interval timer failed");
			goto out;
		}
	}
	if (runner__start(&run, what))
		goto out;

	if (runner__run(&run) == SESSION_ERROR)
		goto out;

	/* stop: detach first so the tables stop moving */
	if (opts.mode == VG_MEM_MODE_RSS) {
		print_rss(&rs);
		mem_collector__detach(col);
		runner__finish(&run);
		ret = runner__exit_code(&run);
		goto out;
	}
	mem_collector__detach(col);
	runner__finish(&run);
	ro.report_alloc = opts.report_alloc || opts.mode == VG_MEM_MODE_FAULTS;
	ro.older_than_ns = (__u64)(opts.older_than * 1e9);
	/* Ages count to the end of the capture (t_stop is CLOCK_MONOTONIC, as bpf_ktime_get_ns). */
	ro.now_ns = (__u64)(run.t_stop * 1e9);
	runner__timing(&run, &meta.start_ns, &meta.duration_ns);
	snprintf(title, sizeof(title), "vigil mem%s%s%s%s%s (%.1f s)",
		 opts.mode == VG_MEM_MODE_MALLOC ? "" : " --mode ",
		 opts.mode == VG_MEM_MODE_MALLOC ? "" : mode_names[opts.mode],
		 opts.report_alloc ? " --report alloc" : "", c.command ? " -- " : "",
		 c.command ? c.command[0] : "", run.t_stop - run.t_start);
	meta.title = title;
	prof = mem_collector__read(col, run.sym, &meta, &ro, COLLECT_TOTAL, cnt, mcnt);
	if (!prof)
		goto out;
	if (cli_write_profile(&run, &c, prof, CLI_TABLE_FUNCTIONS))
		goto out;
	runner__report_losses(&run, cnt,
			      opts.mode == VG_MEM_MODE_FAULTS ? "page faults" : "allocations");
	report_mem_losses(&opts, mcnt);
	ret = runner__exit_code(&run);
out:
	mem_collector__free(col);
	runner__release(&run);
	profile__free(prof);
	free(allocs);
	free(targets);
	filter_cfg__release(&fcfg);
	cli_free_common(&c);
	return ret;
}
