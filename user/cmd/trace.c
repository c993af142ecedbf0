// SPDX-License-Identifier: GPL-2.0
/*
 * vigil trace: cross-process spans from tracepoints and uprobes (bpf/trace.bpf.c): processes,
 * threads, slow syscalls, -u functions, HTTP/1.x requests, the links between them and the critical
 * path; written as Chrome trace JSON, OTLP/JSON (to a file or an OTLP/HTTP receiver), a service map
 * or the terminal tree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <bpf/libbpf.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "collect/runner.h"
#include "collect/trace.h"
#include "collect/tracer.h"
#include "export/export.h"
#include "export/push.h"
#include "export/trace.h"
#include "kernel/attach.h"
#include "kernel/features.h"
#include "kernel/filter.h"
#include "kernel/uprobe.h"
#include "util/log.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.1.0"
#endif

#define DEFAULT_BUFFER (8u << 20)

struct trace_opts {
	const char *output;
	enum trace_format format;
	unsigned long min_syscall_us;
	unsigned long buffer_size;
	const char *service;
	const char *otlp_endpoint;
	const char *attach;
	bool no_syscalls, no_http;
	const char *funcs[VG_MAX_FUNCS];
	size_t nr_funcs;
};

enum {
	OPT_FORMAT = 5000,
	OPT_MIN_SYSCALL,
	OPT_BUFFER,
	OPT_SERVICE,
	OPT_OTLP,
	OPT_ATTACH,
	OPT_NO_SYSCALLS,
	OPT_NO_HTTP
};

static const char trace_help[] =
	"Usage: vigil trace [OPTIONS] -- COMMAND [ARGS...]\n"
	"       vigil trace [OPTIONS] -p PID[,PID...] [-d SECONDS]\n"
	"       vigil trace [OPTIONS] -d SECONDS            (every process on the host)\n"
	"\n"
	"Spans across every process COMMAND starts (or the -p targets and their children): a root\n"
	"span for the capture, one per process (fork to exit: executable, argv, exit status, on-\n"
	"and off-CPU time) and per thread, syscalls slower than --min-syscall-us (with what their\n"
	"file descriptor is), -u function calls, and HTTP/1.x requests read from socket syscalls\n"
	"(SERVER spans where a request was received, CLIENT spans where one was sent; on one host\n"
	"the client span is the server span's parent; an incoming traceparent is honoured). Links\n"
	"say who ended a wait: the last writer of pipe, unix-socket or loopback-TCP data a read got,\n"
	"or the thread that woke it. The critical path is the chain of spans that decided the end.\n"
	"Nothing is written into the traced programs; only tracepoints and uprobes are used.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE        write to FILE; the format follows the extension: .json Chrome\n"
	"                           trace (Perfetto, chrome://tracing, speedscope), .otlp.json OTLP,\n"
	"                           .dot service map, .txt the tree; '-' is stdout\n"
	"      --format NAME        chrome, otlp, dot, map-json or text (default: from -o; text)\n"
	"  -j, --json               the service map as JSON on stdout (who talks to whom, p50/p99)\n"
	"      --otlp-endpoint URL  POST the spans as OTLP/JSON to an OTLP/HTTP receiver (URL's path,\n"
	"                           or /v1/traces), retrying on 429, 502, 503 and 504\n"
	"  -u, --uprobe BIN:FUNC    a span per call of a user function (repeatable; BIN a path, a\n"
	"                           library name like libc, or a program in PATH)\n"
	"      --min-syscall-us N   syscall spans from N microseconds on (default 1000; 0 = all)\n"
	"      --no-syscalls        no syscall spans, links or HTTP (process spans only)\n"
	"      --no-http            no HTTP spans\n"
	"      --buffer-size SIZE   ring buffer size (default 8M; K, M, G suffixes; rounded up to\n"
	"                           a power of two); records that find it full are counted\n"
	"      --service NAME       service.name of the traced command (default: its executable)\n"
	"      --attach TYPE        tp_btf, raw_tp or tracepoint (default: the best that works)\n"
	"  -p, --pid PID[,PID...]   processes to trace (and their children); stops when all exit\n"
	"  -c, --cgroup PATH        only tasks in this cgroup v2\n"
	"  -d, --duration SECONDS   stop after SECONDS\n"
	"  -v, --verbose            loader diagnostics\n"
	"\n"
	"Output: without -o, -j or --format, the process tree with durations, exit status, CPU\n"
	"times and the critical path ('*') on stdout. Losses (ring buffer full, per record type)\n"
	"are reported on stderr and in the root span's vigil.records.* attributes.\n"
	"\n"
	"Examples:\n"
	"  vigil trace -- make -j2                        the tree of a build, critical path marked\n"
	"  vigil trace -o build.json -- make -j2          open build.json in ui.perfetto.dev\n"
	"  vigil trace -u ./server:handle -o s.json -p 1234 -d 10\n"
	"  vigil trace --format otlp -o t.otlp.json -- ./client\n"
	"  vigil trace --otlp-endpoint http://127.0.0.1:4318 -- ./job\n"
	"  vigil trace --format dot -o map.dot -- ./compose-up.sh   service map (dot -Tsvg)\n"
	"  vigil trace --min-syscall-us 0 -o all.json -- ./prog      every syscall\n";

/* "8M", "64k", "1048576": bytes. 0 or 1 after an error line. */
static int parse_size(const char *arg, unsigned long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg)
		return 1;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v < 4096 || v > (1ull << 30))
		return 1;
	*out = (unsigned long)v;
	return 0;
}

static int trace_option(int key, const char *arg, void *o)
{
	struct trace_opts *opts = o;

	switch (key) {
	case 'o':
		opts->output = arg;
		return 0;
	case OPT_FORMAT:
		opts->format = trace_format_by_name(arg);
		if (opts->format == TRACE_FMT_NONE)
			return cli_error("trace", "unknown format '%s' (known: %s)", arg,
					 trace_format_list());
		return 0;
	case 'u':
		if (opts->nr_funcs >= VG_MAX_FUNCS)
			return cli_error("trace", "too many -u targets (at most %d)", VG_MAX_FUNCS);
		if (!strchr(arg, ':'))
			return cli_error("trace", "-u target '%s' should be BINARY:FUNCTION", arg);
		opts->funcs[opts->nr_funcs++] = arg;
		return 0;
	case OPT_MIN_SYSCALL:
		if (cli_parse_ulong(arg, 0, 3600ul * 1000000, &opts->min_syscall_us))
			return cli_error("trace",
					 "invalid --min-syscall-us '%s' (want microseconds)", arg);
		return 0;
	case OPT_BUFFER:
		if (parse_size(arg, &opts->buffer_size))
			return cli_error("trace",
					 "invalid --buffer-size '%s' (want 4K..1G, e.g. 8M)", arg);
		return 0;
	case OPT_SERVICE:
		if (!*arg)
			return cli_error("trace", "--service needs a name");
		opts->service = arg;
		return 0;
	case OPT_OTLP:
		if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
			return cli_error(
				"trace",
				"--otlp-endpoint '%s' should be an http:// or https:// URL", arg);
		opts->otlp_endpoint = arg;
		return 0;
	case OPT_ATTACH:
		opts->attach = arg;
		return 0;
	case OPT_NO_SYSCALLS:
		opts->no_syscalls = true;
		return 0;
	case OPT_NO_HTTP:
		opts->no_http = true;
		return 0;
	}
	return cli_error("trace", "unknown option (see 'vigil trace --help')");
}

static const struct option trace_longs[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "uprobe", required_argument, NULL, 'u' },
	{ "min-syscall-us", required_argument, NULL, OPT_MIN_SYSCALL },
	{ "buffer-size", required_argument, NULL, OPT_BUFFER },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "otlp-endpoint", required_argument, NULL, OPT_OTLP },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ "no-syscalls", no_argument, NULL, OPT_NO_SYSCALLS },
	{ "no-http", no_argument, NULL, OPT_NO_HTTP },
	{ 0 },
};

static const struct cli_spec trace_spec = {
	.name = "trace",
	.help = trace_help,
	.common = CLI_PID | CLI_CGROUP | CLI_DURATION | CLI_COMMAND | CLI_JSON,
	.short_opts = "o:u:",
	.longs = trace_longs,
	.option = trace_option,
};

static unsigned long pow2_ceil(unsigned long v)
{
	unsigned long p = 4096;

	while (p < v)
		p <<= 1;
	return p;
}

static void random_bytes(void *buf, size_t len)
{
	if (getrandom(buf, len, 0) != (ssize_t)len) {
		/* No entropy source: time and pid still make ids distinct between runs. */
		__u64 x = realtime_ns() ^ ((__u64)getpid() << 32);

		for (size_t i = 0; i < len; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			((__u8 *)buf)[i] = (__u8)(x >> 56);
		}
	}
}

static void root_name(const struct common_opts *c, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (c->command) {
		for (char **a = c->command; *a && n < len; a++)
			n += snprintf(buf + n, len - n, "%s%s", n ? " " : "", *a);
		return;
	}
	if (c->nr_pids) {
		n = snprintf(buf, len, "pid");
		for (size_t i = 0; i < c->nr_pids && n < len; i++)
			n += snprintf(buf + n, len - n, "%s%u", i ? "," : " ", c->pids[i]);
		return;
	}
	snprintf(buf, len, "host");
}

struct write_job {
	const struct spans *s;
	enum trace_format f;
};

static int write_job(FILE *out, void *arg)
{
	const struct write_job *j = arg;

	return export_trace(j->s, j->f, out, VIGIL_VERSION);
}

static int push_otlp(const struct spans *s, const char *endpoint)
{
	char url[2048], *buf = NULL;
	size_t len = 0;
	struct push_result res;
	FILE *mem = open_memstream(&buf, &len);
	int err;

	if (!mem) {
		pr_err("--otlp-endpoint: %s", strerror(errno));
		return 1;
	}
	err = export_otlp(s, mem, VIGIL_VERSION);
	if (fclose(mem) && !err)
		err = -EIO;
	if (err) {
		free(buf);
		pr_err("building the OTLP request failed: %s", strerror(-err));
		return 1;
	}
	push_otlp_traces_url(endpoint, url, sizeof(url));
	err = export_push(url, buf, len, NULL, &res);
	free(buf);
	if (err) {
		pr_err("sending spans to %s failed after %d attempt%s: %s%s", url, res.attempts,
		       res.attempts == 1 ? "" : "s", res.error,
		       err == -EAGAIN ? " (the receiver kept refusing; is it overloaded?)" : "");
		return 1;
	}
	pr_info("sent %zu spans to %s (%d attempt%s)", spans__count(s), url, res.attempts,
		res.attempts == 1 ? "" : "s");
	return 0;
}

/* One warning line per loss reason; none when nothing was lost. */
static void report_losses(const struct tracer_counts *tc)
{
	char buf[512];
	size_t n = 0;

	for (int i = 0; i < VG_TREC_NR && n < sizeof(buf); i++)
		if (tc->bpf[VG_TCNT_LOST + i])
			n += snprintf(buf + n, sizeof(buf) - n, "%s%llu of %llu %s records",
				      n ? ", " : "", (unsigned long long)tc->bpf[VG_TCNT_LOST + i],
				      (unsigned long long)tc->bpf[VG_TCNT_DUE + i],
				      tracer_record_name(VG_TREC_FIRST + i));
	if (n)
		pr_warn("ring buffer full: lost %s (raise --buffer-size or --min-syscall-us)", buf);
	if (tc->bpf[VG_TCNT_STORAGE])
		pr_warn("%llu syscalls not timed (task storage full)",
			(unsigned long long)tc->bpf[VG_TCNT_STORAGE]);
	if (tc->bpf[VG_TCNT_FUNC_DEPTH] || tc->bpf[VG_TCNT_FUNC_FULL])
		pr_warn("%llu -u calls not timed (nested deeper than %d, or the call map full)",
			(unsigned long long)(tc->bpf[VG_TCNT_FUNC_DEPTH] +
					     tc->bpf[VG_TCNT_FUNC_FULL]),
			VG_FUNC_DEPTH);
	if (tc->follow_full)
		pr_warn("%llu descendants not followed (pid filter full)",
			(unsigned long long)tc->follow_full);
	if (tc->malformed)
		pr_warn("%llu malformed records ignored", (unsigned long long)tc->malformed);
}

int cmd_trace(int argc, char **argv)
{
	struct trace_opts opts = { .min_syscall_us = 1000, .buffer_size = DEFAULT_BUFFER };
	struct filter_cfg fcfg = { .cgroup_fd = -1 };
	struct uprobe_target *ut = NULL;
	struct trace_collector *col = NULL;
	struct tracer *tr = NULL;
	struct runner run = { 0 };
	struct common_opts c;
	struct tracer_counts counts = { 0 };
	struct spans *spans = NULL;
	enum tp_attach tpa = TP_ATTACH_NONE;
	char *names[VG_MAX_FUNCS] = { NULL }, rname[256], what[160], host[256] = "";
	__u8 trace_id[16];
	__u64 seed;
	int err, ret = 1;
	bool to_stdout;

	err = cli_parse(&trace_spec, argc, argv, &c, &opts);
	if (err)
		return err < 0 ? 0 : err;
	if (opts.output && opts.format == TRACE_FMT_NONE) {
		opts.format = !strcmp(opts.output, "-") ? TRACE_FMT_TEXT :
							  trace_format_by_path(opts.output);
		if (opts.format == TRACE_FMT_NONE) {
			ret = cli_error(
				"trace",
				"cannot tell the format of '%s' from its extension (known: %s; or use --format)",
				opts.output, trace_format_list());
			goto out;
		}
	}
	if (c.json && opts.output && !strcmp(opts.output, "-")) {
		ret = cli_error("trace", "-j writes to stdout: give -o a file");
		goto out;
	}
	if (opts.no_syscalls && opts.min_syscall_us != 1000) {
		ret = cli_error("trace", "--no-syscalls and --min-syscall-us exclude each other");
		goto out;
	}
	if (!c.command && !c.nr_pids && !c.duration && !c.cgroup) {
		ret = cli_error(
			"trace",
			"what to trace? -- COMMAND, -p PID or -d SECONDS (see 'vigil trace --help')");
		goto out;
	}
	to_stdout =
		(!opts.output && !c.json) || (opts.output && !strcmp(opts.output, "-")) || c.json;
	{
		struct common_opts v = c;

		v.output = opts.output && strcmp(opts.output, "-") ? opts.output : NULL;
		if (cli_validate_common("trace", &v) || cli_filter_init(&fcfg, "trace", &c))
			goto out;
	}
	if (opts.nr_funcs && !(ut = calloc(opts.nr_funcs, sizeof(*ut))))
		goto out;
	for (size_t i = 0; i < opts.nr_funcs; i++) {
		char name[400];

		if (uprobe_target_resolve("trace", opts.funcs[i], c.pids, c.nr_pids, &ut[i]))
			goto out;
		snprintf(name, sizeof(name), "%s:%s", ut[i].short_name, ut[i].func);
		names[i] = strdup(name);
		if (!names[i])
			goto out;
	}
	ret = features__check_basics();
	if (!ret)
		ret = tp_attach_resolve("trace", opts.attach, &tpa);
	if (!ret && !features__has(FEAT_RINGBUF)) {
		pr_err("the kernel has no BPF ring buffer (%s); vigil trace needs one (Linux 5.8+)",
		       features__why(FEAT_RINGBUF));
		ret = 2;
	}
	if (!ret && opts.nr_funcs && !features__has(FEAT_UPROBE)) {
		pr_err("uprobes do not work on this kernel: %s", features__why(FEAT_UPROBE));
		ret = 2;
	}
	if (ret)
		goto out;
	ret = 1;
	{
		struct runner_opts ro = {
			.duration = c.duration,
			.command = c.command,
			.pids = c.pids,
			.nr_pids = c.nr_pids,
			.data_on_stdout = to_stdout,
		};

		if (runner__init(&run, "trace", &ro))
			goto out;
	}
	{
		struct trace_collector_opts co = {
			.min_syscall_ns = (__u64)opts.min_syscall_us * 1000,
			.no_syscalls = opts.no_syscalls,
			.no_http = opts.no_http,
			.buffer_size = (__u32)pow2_ceil(opts.buffer_size),
			.follow_pids = c.nr_pids > 0,
			.filter = &fcfg,
			.attach = tpa,
			.funcs = ut,
			.nr_funcs = opts.nr_funcs,
			.func_pid = c.nr_pids == 1 ? (int)c.pids[0] : -1,
		};

		col = trace_collector__new(&co);
		if (!col)
			goto out;
	}
	if (runner__spawn(&run, trace_collector__object(col), trace_collector__exec_progs(col),
			  tpa))
		goto out;
	random_bytes(trace_id, sizeof(trace_id));
	random_bytes(&seed, sizeof(seed));
	root_name(&c, rname, sizeof(rname));
	{
		struct tracer_opts to = {
			.root_name = rname,
			.service = opts.service,
			.root_pid = run.child > 0 ? (__u32)run.child :
				    c.nr_pids	  ? c.pids[0] :
						    0,
			.funcs = (const char *const *)names,
			.nr_funcs = opts.nr_funcs,
			.trace_id = trace_id,
			.seed = seed,
		};

		tr = tracer__new(&to);
		if (!tr) {
			pr_err("out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < c.nr_pids; i++)
		tracer__adopt(tr, c.pids[i]);
	if (trace_collector__stream(col, run.sess, tr) || trace_collector__attach(col))
		goto out;
	snprintf(what, sizeof(what), "tracing%s (%s)",
		 opts.no_syscalls    ? " processes" :
		 opts.min_syscall_us ? "" :
				       " every syscall",
		 tp_attach_name(tpa));
	if (runner__start(&run, what))
		goto out;
	if (runner__run(&run) == SESSION_ERROR && !trace_collector__failed(col))
		goto out;
	trace_collector__detach(col);
	bpf_link__destroy(run.exec_link);
	run.exec_link = NULL;
	trace_collector__drain(col);
	runner__finish(&run);
	if (trace_collector__failed(col)) {
		pr_err("out of memory while building spans");
		goto out;
	}
	trace_collector__counts(col, &counts);
	spans = tracer__finish(tr, (__u64)(run.t_start * 1e9), (__u64)(run.t_stop * 1e9), &counts);
	if (!spans) {
		pr_err("building spans failed: %s", strerror(errno));
		goto out;
	}
	spans__set_clock(spans, (__s64)run.start_ns - (__s64)(run.t_start * 1e9));
	gethostname(host, sizeof(host) - 1);
	spans__set_host(spans, host);
	report_losses(&counts);

	ret = 0;
	if (opts.output && strcmp(opts.output, "-")) {
		struct write_job j = { spans, opts.format };

		err = export_to_path(opts.output, write_job, &j);
		if (err) {
			pr_err("writing '%s' failed: %s", opts.output, strerror(-err));
			ret = 1;
		} else {
			pr_info("wrote %s (%zu spans)", opts.output, spans__count(spans));
		}
	}
	if (!ret && opts.otlp_endpoint)
		ret = push_otlp(spans, opts.otlp_endpoint);
	/* stdout: -j's map, -o -'s format, or the tree when nothing else was asked for */
	if (!ret && (c.json || (opts.output && !strcmp(opts.output, "-")) ||
		     (!opts.output && !opts.otlp_endpoint) || (!opts.output && opts.format))) {
		enum trace_format f = c.json	  ? TRACE_FMT_MAP_JSON :
				      opts.format ? opts.format :
						    TRACE_FMT_TEXT;

		err = export_trace(spans, f, stdout, VIGIL_VERSION);
		if (err) {
			pr_err("writing to stdout failed: %s", strerror(-err));
			ret = 1;
		}
	}
	if (!ret)
		ret = runner__exit_code(&run);
out:
	trace_collector__free(col);
	runner__release(&run);
	tracer__free(tr);
	spans__free(spans);
	for (size_t i = 0; i < VG_MAX_FUNCS; i++)
		free(names[i]);
	free(ut);
	filter_cfg__release(&fcfg);
	cli_free_common(&c);
	return ret;
}
