// SPDX-License-Identifier: GPL-2.0
/*
 * vigil lat: latency histograms aggregated in the kernel (syscalls, run queue, block I/O, user
 * functions), printed at the end or every interval as bcc-style text, JSON or Prometheus text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/attach.h"
#include "cmd/options.h"
#include "collect/readout.h"
#include "cmd/commands.h"
#include "kernel/features.h"
#include "kernel/filter.h"
#include "model/hashmap.h"
#include "export/histogram.h"
#include "kernel/syscalls.h"
#include "model/hist.h"
#include "export/json.h"
#include "util/log.h"
#include "collect/runner.h"
#include "kernel/uprobe.h"
#include "vigil/lat.h"
#include "lat.skel.h"

_Static_assert(sizeof(struct vg_lat_key) == VG_LAT_KEY_SIZE, "lat key layout");

enum lat_mode { LAT_SYSCALL = VG_LAT_SYSCALL, LAT_RUNQ, LAT_BIO, LAT_UPROBE };
enum lat_output { OUT_TEXT, OUT_JSON, OUT_PROM };

struct lat_opts {
	enum lat_mode mode;
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
	struct lat_bpf *skel;
	const struct lat_opts *opts;
	const struct common_opts *c;
	struct hashmap *prev; /* entry name -> struct vg_hist * (totals already printed) */
	struct hist_entry *entries;
	size_t nr, cap;
	unsigned long printed;
	__u64 events; /* events in the totals last read (VG_CNT_EVENTS for the loss report) */
	int ncpu;
	double t_last;
	char uprobe_name[96];
};

static struct hist_entry *new_entry(struct lat_run *lr)
{
	if (lr->nr == lr->cap) {
		size_t cap = lr->cap ? lr->cap * 2 : 64;
		struct hist_entry *e = realloc(lr->entries, cap * sizeof(*e));

		if (!e)
			return NULL;
		lr->entries = e;
		lr->cap = cap;
	}
	memset(&lr->entries[lr->nr], 0, sizeof(lr->entries[0]));
	return &lr->entries[lr->nr++];
}

static const char *const op_names[] = { "read", "write", "other" };

/* /sys/dev/block/MAJ:MIN/uevent's DEVNAME, else "MAJ:MIN". */
static void disk_name(__u32 dev, char *buf, size_t len)
{
	unsigned int maj = dev >> 20, min = dev & ((1u << 20) - 1);
	char path[64], line[128];
	FILE *f;

	snprintf(buf, len, "%u:%u", maj, min);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", maj, min);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%s", line + 8);
		}
	fclose(f);
}

/* Name and labels of one hash-map key, per mode. */
static void describe(struct lat_run *lr, const struct vg_lat_key *k, struct hist_entry *e)
{
	const struct lat_opts *o = lr->opts;
	char comm[VG_COMM_LEN + 1], tmp[64];
	size_t len = 0;

	memcpy(comm, k->comm, VG_COMM_LEN);
	comm[VG_COMM_LEN] = '\0';
	switch (o->mode) {
	case LAT_SYSCALL:
		hist_entry_label(e, "syscall", "%s", syscall_name(k->id, tmp, sizeof(tmp)));
		len = snprintf(e->name, sizeof(e->name), "%s", e->labels[0].value);
		break;
	case LAT_RUNQ:
		len = snprintf(e->name, sizeof(e->name), "runq");
		break;
	case LAT_BIO:
		disk_name(k->id, tmp, sizeof(tmp));
		hist_entry_label(e, "disk", "%s", tmp);
		hist_entry_label(e, "op", "%s", op_names[k->op < 3 ? k->op : 2]);
		len = snprintf(e->name, sizeof(e->name), "%s %s", tmp,
			       op_names[k->op < 3 ? k->op : 2]);
		break;
	case LAT_UPROBE:
		hist_entry_label(e, "function", "%s", lr->uprobe_name);
		len = snprintf(e->name, sizeof(e->name), "%s", lr->uprobe_name);
		break;
	}
	if (o->per_process && o->mode != LAT_BIO) {
		hist_entry_label_num(e, "pid", k->pid);
		hist_entry_label(e, "comm", "%s", comm);
		len += snprintf(e->name + len, sizeof(e->name) > len ? sizeof(e->name) - len : 0,
				" pid=%u (%s)", k->pid, comm);
	}
	if (o->per_cpu && (o->mode == LAT_RUNQ || o->mode == LAT_SYSCALL)) {
		hist_entry_label_num(e, "cpu", k->cpu);
		snprintf(e->name + len, sizeof(e->name) > len ? sizeof(e->name) - len : 0,
			 " cpu=%u", k->cpu);
	}
}

/* Read the current totals of every histogram into lr->entries. 0 or -errno. */
static int read_totals(struct lat_run *lr)
{
	struct vg_lat_key *keys = NULL;
	struct vg_hist *vals = NULL;
	long n;

	lr->nr = 0;
	if ((lr->opts->mode == LAT_SYSCALL || lr->opts->mode == LAT_RUNQ) &&
	    !lr->opts->per_process && !lr->opts->per_cpu) {
		int fd = bpf_map__fd(lr->skel->maps.flat_hists);
		__u32 end = lr->opts->mode == LAT_RUNQ ? 1 : VG_LAT_MAX_SYSCALLS;

		vals = calloc(lr->ncpu, sizeof(*vals));
		if (!vals)
			return -ENOMEM;
		for (__u32 nr = 0; nr < end; nr++) {
			struct vg_lat_key k = { .id = nr };
			struct vg_hist sum = { 0 };
			struct hist_entry *e;

			if (bpf_map_lookup_elem(fd, &nr, vals))
				continue;
			for (int c = 0; c < lr->ncpu; c++)
				hist_merge(&sum, &vals[c]);
			if (!sum.count)
				continue;
			e = new_entry(lr);
			if (!e) {
				free(vals);
				return -ENOMEM;
			}
			describe(lr, &k, e);
			e->h = sum;
		}
		free(vals);
		return 0;
	}
	n = map_read_all(bpf_map__fd(lr->skel->maps.hists), sizeof(*keys), sizeof(*vals),
			 (void **)&keys, (void **)&vals);
	if (n < 0)
		return (int)n;
	for (long i = 0; i < n; i++) {
		struct hist_entry *e = new_entry(lr);

		if (!e) {
			free(keys);
			free(vals);
			return -ENOMEM;
		}
		describe(lr, &keys[i], e);
		e->h = vals[i];
	}
	free(keys);
	free(vals);
	return 0;
}

/* Turn totals into "since the last print" and remember the totals. */
static int to_interval(struct lat_run *lr)
{
	lr->events = 0;
	for (size_t i = 0; i < lr->nr; i++)
		lr->events += lr->entries[i].h.count;
	for (size_t i = 0; i < lr->nr; i++) {
		struct hist_entry *e = &lr->entries[i];
		struct vg_hist *p;
		uintptr_t v;
		char *name;

		if (hashmap__get(lr->prev, e->name, &v)) {
			p = (struct vg_hist *)v;
			struct vg_hist total = e->h;

			e->h.count -= p->count;
			e->h.errors -= p->errors;
			e->h.sum_ns -= p->sum_ns;
			for (int b = 0; b < VG_HIST_BUCKETS; b++)
				e->h.buckets[b] -= p->buckets[b];
			*p = total;
			/* The maximum of an interval is not recoverable from totals: keep the
			 * bucket bound of its largest value as a safe upper estimate. */
			for (int b = VG_HIST_BUCKETS - 1; b >= 0; b--)
				if (e->h.buckets[b]) {
					if (vg_hist_high(b) < e->h.max_ns)
						e->h.max_ns = vg_hist_high(b) - 1;
					break;
				}
			continue;
		}
		p = malloc(sizeof(*p));
		name = strdup(e->name);
		if (!p || !name || hashmap__set(lr->prev, name, (uintptr_t)p)) {
			free(p);
			free(name);
			return -ENOMEM;
		}
		*p = e->h;
	}
	return 0;
}

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
		printf("%-28s %10s %8s %10s %10s %10s %10s %10s\n", "SYSCALL", "COUNT", "ERRORS",
		       "TOTAL", "P50", "P90", "P99", "MAX");
		for (size_t i = 0; i < lr->nr; i++) {
			const struct vg_hist *h = &lr->entries[i].h;

			printf("%-28.28s %10llu %8llu %10s %10s %10s %10s %10s\n",
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
	int err = read_totals(lr);

	if (!err && interval) {
		err = to_interval(lr);
	} else if (!err) {
		lr->events = 0;
		for (size_t i = 0; i < lr->nr; i++)
			lr->events += lr->entries[i].h.count;
	}
	if (err) {
		pr_err("reading histograms failed: %s", strerror(-err));
		return err;
	}
	lr->t_last = now;
	/* Intervals print only what happened in them. */
	if (interval) {
		size_t k = 0;

		for (size_t i = 0; i < lr->nr; i++)
			if (lr->entries[i].h.count)
				lr->entries[k++] = lr->entries[i];
		lr->nr = k;
	}
	if (lr->nr > 1)
		qsort(lr->entries, lr->nr, sizeof(*lr->entries), cmp_count);
	if (lr->opts->out == OUT_JSON)
		print_json(lr, seconds);
	else if (lr->opts->out == OUT_PROM)
		print_prom(lr);
	else
		print_text(lr, seconds);
	fflush(stdout);
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

static int free_prev(const void *key, uintptr_t value, void *arg)
{
	(void)arg;
	free((void *)key);
	free((void *)value);
	return 0;
}

/* Which programs each mode uses: hooks in three flavours each. */
static void select_programs(struct lat_bpf *s, enum lat_mode mode, enum tp_attach a, bool follow,
			    struct tp_progs *hooks, int *nhooks, struct tp_progs *exec)
{
	struct tp_progs fork = { s->progs.vg_lat_fork_btf, s->progs.vg_lat_fork_raw,
				 s->progs.vg_lat_fork_tp };
	struct bpf_program *p;

	bpf_object__for_each_program(p, s->obj) bpf_program__set_autoload(p, false);
	*exec = (struct tp_progs){ s->progs.vg_lat_exec_btf, s->progs.vg_lat_exec_raw,
				   s->progs.vg_lat_exec_tp };
	tp_progs__autoload(exec, a, follow);
	*nhooks = 0;
	switch (mode) {
	case LAT_SYSCALL:
		hooks[(*nhooks)++] = (struct tp_progs){ s->progs.vg_lat_sys_enter_btf,
							s->progs.vg_lat_sys_enter_raw,
							s->progs.vg_lat_sys_enter_tp };
		hooks[(*nhooks)++] = (struct tp_progs){ s->progs.vg_lat_sys_exit_btf,
							s->progs.vg_lat_sys_exit_raw,
							s->progs.vg_lat_sys_exit_tp };
		break;
	case LAT_RUNQ:
		hooks[(*nhooks)++] =
			(struct tp_progs){ s->progs.vg_lat_wakeup_btf, s->progs.vg_lat_wakeup_raw,
					   s->progs.vg_lat_wakeup_tp };
		hooks[(*nhooks)++] = (struct tp_progs){ s->progs.vg_lat_wakeup_new_btf,
							s->progs.vg_lat_wakeup_new_raw,
							s->progs.vg_lat_wakeup_new_tp };
		hooks[(*nhooks)++] =
			(struct tp_progs){ s->progs.vg_lat_switch_btf, s->progs.vg_lat_switch_raw,
					   s->progs.vg_lat_switch_tp };
		break;
	case LAT_BIO:
		hooks[(*nhooks)++] = (struct tp_progs){ s->progs.vg_lat_bio_issue_btf,
							s->progs.vg_lat_bio_issue_raw,
							s->progs.vg_lat_bio_issue_tp };
		hooks[(*nhooks)++] = (struct tp_progs){ s->progs.vg_lat_bio_done_btf,
							s->progs.vg_lat_bio_done_raw,
							s->progs.vg_lat_bio_done_tp };
		break;
	case LAT_UPROBE:
		bpf_program__set_autoload(s->progs.vg_lat_uprobe_entry, true);
		bpf_program__set_autoload(s->progs.vg_lat_uprobe_exit, true);
		break;
	}
	/* -- COMMAND: descendants join the filter (the fork hook goes last: it is attached first) */
	if (follow)
		hooks[(*nhooks)++] = fork;
	for (int i = 0; i < *nhooks; i++)
		tp_progs__autoload(&hooks[i], a, true);
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
	struct tp_progs hooks[4], exec_progs;
	struct bpf_link *links[4] = { NULL }, *ulinks[2] = { NULL };
	struct lat_run lr = { 0 };
	struct runner run = { 0 };
	struct common_opts c;
	struct uprobe_target ut = { 0 };
	__u64 cnt[VG_CNT_NR] = { 0 };
	enum tp_attach tpa = TP_ATTACH_NONE;
	int nrs[VG_LAT_MAX_SYSCALLS], nnrs = 0, nhooks = 0, err, ret = 1;
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
	    uprobe_target_resolve(opts.target, c.nr_pids ? c.pids[0] : 0, &ut))
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

	/* open → configure → load */
	lr.skel = lat_bpf__open();
	if (!lr.skel) {
		pr_err("opening the BPF program failed: %s", strerror(errno));
		goto out;
	}
	lr.skel->rodata->per_process = opts.per_process;
	lr.skel->rodata->per_cpu = opts.per_cpu;
	lr.skel->rodata->filter_syscalls = nnrs > 0;
	lr.skel->rodata->use_task_storage = features__has(FEAT_TASK_STORAGE);
	filter_cfg__set_rodata(&fcfg, lr.skel->rodata);
	if (!features__has(FEAT_TASK_STORAGE)) {
		bpf_map__set_autocreate(lr.skel->maps.sys_task_start, false);
		bpf_map__set_autocreate(lr.skel->maps.runq_task_start, false);
	}
	select_programs(lr.skel, opts.mode, tpa, fcfg.follow, hooks, &nhooks, &exec_progs);
	err = lat_bpf__load(lr.skel);
	if (err) {
		pr_err("loading the BPF program failed: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto out;
	}
	for (int i = 0; i < nnrs; i++) {
		__u32 k = (__u32)nrs[i];
		__u8 one = 1;

		bpf_map_update_elem(bpf_map__fd(lr.skel->maps.syscall_filter), &k, &one, BPF_ANY);
	}
	if (filter_cfg__apply(&fcfg, lr.skel->obj) ||
	    runner__spawn(&run, lr.skel->obj, fcfg.follow ? &exec_progs : NULL, tpa))
		goto out;

	/* attach: the fork hook (last) first, so no descendant escapes the others */
	for (int i = nhooks - 1; i >= 0; i--) {
		links[i] = tp_progs__attach(&hooks[i], tpa);
		if (!links[i]) {
			pr_err("attaching the %s hooks (%s) failed: %s", opts.mode_name,
			       tp_attach_name(tpa), strerror(errno));
			goto out;
		}
	}
	if (opts.mode == LAT_UPROBE) {
		if (uprobe_target_attach(&ut, lr.skel->progs.vg_lat_uprobe_entry,
					 lr.skel->progs.vg_lat_uprobe_exit,
					 c.nr_pids == 1 ? (int)c.pids[0] : -1, ulinks))
			goto out;
		snprintf(lr.uprobe_name, sizeof(lr.uprobe_name), "%s:%s", ut.short_name, ut.func);
	}

	lr.opts = &opts;
	lr.c = &c;
	lr.ncpu = libbpf_num_possible_cpus();
	lr.prev = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	if (!lr.prev || lr.ncpu < 0)
		goto out;
	if (opts.interval > 0 && session__set_tick(run.sess, opts.interval, on_tick, &lr)) {
		pr_err("setting up the interval timer failed");
		goto out;
	}
	if (opts.mode == LAT_UPROBE)
		snprintf(what, sizeof(what), "timing %s (%s)", lr.uprobe_name, ut.path);
	else
		snprintf(what, sizeof(what), "timing %s latency (%s)", opts.mode_name,
			 tp_attach_name(tpa));
	if (runner__start(&run, what))
		goto out;
	lr.t_last = mono_s();

	/* A tick that printed COUNT intervals ends the loop as an "error": that is the plan. */
	if (runner__run(&run) == SESSION_ERROR && !(opts.count && lr.printed >= opts.count))
		goto out;
	for (int i = 0; i < nhooks; i++) {
		bpf_link__destroy(links[i]);
		links[i] = NULL;
	}
	runner__finish(&run);
	/* Whatever the last interval (or the whole run) saw and nobody printed yet. */
	if (!(opts.count && lr.printed >= opts.count) && print_now(&lr, opts.interval > 0))
		goto out;
	read_percpu_counters(bpf_map__fd(lr.skel->maps.counters), cnt, VG_CNT_NR);
	cnt[VG_CNT_EVENTS] = lr.events; /* the histograms count them; the BPF side does not */
	runner__report_losses(&run, cnt, "events");
	ret = runner__exit_code(&run);
out:
	for (int i = 0; i < 4; i++)
		bpf_link__destroy(links[i]);
	bpf_link__destroy(ulinks[0]);
	bpf_link__destroy(ulinks[1]);
	runner__release(&run);
	lat_bpf__destroy(lr.skel);
	if (lr.prev)
		hashmap__for_each(lr.prev, free_prev, NULL);
	hashmap__free(lr.prev);
	free(lr.entries);
	filter_cfg__release(&fcfg);
	cli_free_common(&c);
	return ret;
}
