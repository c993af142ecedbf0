// SPDX-License-Identifier: GPL-2.0
/*
 * vigil serve: the continuous profiling service. Options from the command line, then from --config
 * (YAML: the same names as the long options, e.g. `listen: 127.0.0.1:7470`); the command line wins.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analytics/slo.h"
#include "analytics/yamldoc.h"
#include "cmd/commands.h"
#include "analytics/incidents.h"
#include "analytics/watch.h"
#include "analytics/yamldoc.h"
#include "cmd/options.h"
#include "kernel/features.h"
#include "service/config.h"
#include "service/service.h"
#include "util/cli.h"
#include "util/file.h"
#include "util/log.h"
#include "vigil/unwind.h"

static const char serve_help[] =
	"Usage: vigil serve [OPTIONS]\n"
	"\n"
	"Run the collectors continuously, keep a local store and serve an HTTP API, Prometheus\n"
	"/metrics, live and stored pprof profiles and a web view. Every interval becomes one stored\n"
	"CPU profile (and off-CPU profile with --offcpu) and one point per metric series. Runs until\n"
	"SIGINT or SIGTERM; a restart on the same --data-dir resumes on the same data.\n"
	"\n"
	"Options:\n"
	"      --config FILE        vigil.yml: any of the options below (long names as keys; the\n"
	"                           command line overrides them), `global:` (evaluation_interval,\n"
	"                           external_labels), `rule_files:` (Prometheus rule files, globs\n"
	"                           relative to the file), `inhibit_rules:` (Alertmanager's), and\n"
	"                           alerting, route, receivers, slos, anomalies, capacity; an error\n"
	"                           names FILE:LINE and vigil refuses to start\n"
	"      --listen ADDR        HOST:PORT to serve on (default 127.0.0.1:7470; loopback only\n"
	"                           unless you say otherwise, e.g. 0.0.0.0:7470)\n"
	"      --data-dir DIR       the store (default /var/lib/vigil; created 0700; a world-writable\n"
	"                           directory is refused)\n"
	"      --interval S         seconds per stored interval (default 10)\n"
	"      --retention DUR      keep data this long (default 7d; s, m, h, d, w)\n"
	"      --downsample AGE:RES,AGE:RES  merge stored profiles and points older than AGE into\n"
	"                           RES windows (default 1h:1m,1d:10m)\n"
	"      --profile-hz HZ      CPU samples per second per CPU (default 97)\n"
	"      --offcpu             also store off-CPU profiles (sched_switch)\n"
	"      --no-latency         no syscall / run-queue / block-I/O latency histograms\n"
	"      --top N              label cardinality: top N process names and syscalls per\n"
	"                           interval keep their own series, the rest are \"other\" (default 20)\n"
	"      --token-file FILE    require 'Authorization: Bearer TOKEN' (TOKEN = the file's first\n"
	"                           line) on every path but /healthz\n"
	"      --tls-cert FILE      serve HTTPS with this PEM certificate (needs --tls-key)\n"
	"      --tls-key FILE       ... and this PEM private key\n"
	"      --remote-write URL   send every interval's series to a Prometheus remote write 1.0\n"
	"                           endpoint (e.g. http://prom:9090/api/v1/write)\n"
	"      --push-url URL       push every interval's CPU profile as pprof to a Pyroscope-\n"
	"                           compatible server (POST URL/ingest)\n"
	"      --push-app NAME      application name of pushed profiles (default vigil.cpu)\n"
	"      --unwind cfi|fp|kernel  user-stack walker (default fp where the kernel allows it:\n"
	"                           cfi builds .eh_frame tables for every process of the host, about\n"
	"                           a tenth of a CPU on a host that starts many programs)\n"
	"      --stack-storage-size N  stack map entries (default 16384)\n"
	"  -v, --verbose            loader and HTTP diagnostics on stderr\n"
	"  -h, --help               this help\n"
	"\n"
	"Endpoints: /metrics, /healthz, /readyz, /debug/pprof/profile?seconds=N,\n"
	"/api/v1/profiling/{cpu,offcpu}?from&to&comm&pid&cgroup&format=pprof|folded|svg|speedscope,\n"
	"/api/v1/metrics, /api/v1/metrics/NAME?from&to&step&agg&LABEL=VALUE, /api/v1/stream (SSE),\n"
	"/api/v1/status, / (web view); Prometheus' /api/v1/query, /api/v1/query_range,\n"
	"/api/v1/series, /api/v1/labels, /api/v1/alerts, /api/v1/rules; rules added at run time:\n"
	"GET|POST|PUT /api/v1/alerts/rules, DELETE /api/v1/alerts/rules/GROUP; POST\n"
	"/api/v1/alerts/FINGERPRINT/ack; Alertmanager's /api/v1/silences, /api/v1/silence/ID.\n"
	"Rule groups are evaluated at interval ends (use --interval 1 for `for: 3s`); alert\n"
	"state, silences and API rules are kept in the store across restarts.\n"
	"\n"
	"Examples:\n"
	"  vigil serve                                   defaults: 127.0.0.1:7470, /var/lib/vigil\n"
	"  vigil serve --offcpu --data-dir /srv/vigil --retention 2d\n"
	"  vigil serve --listen 0.0.0.0:7470 --token-file /etc/vigil/token \\\n"
	"              --tls-cert /etc/vigil/cert.pem --tls-key /etc/vigil/key.pem\n"
	"  vigil serve --remote-write http://127.0.0.1:9090/api/v1/write\n"
	"  vigil serve --config /etc/vigil/vigil.yml --interval 1\n"
	"  go tool pprof http://127.0.0.1:7470/debug/pprof/profile?seconds=10\n"
	"  curl 'http://127.0.0.1:7470/api/v1/profiling/cpu?from=now-1h&comm=nginx&format=folded'\n";

enum {
	O_CONFIG = 5000,
	O_LISTEN,
	O_DATA_DIR,
	O_INTERVAL,
	O_RETENTION,
	O_DOWNSAMPLE,
	O_HZ,
	O_OFFCPU,
	O_NO_LATENCY,
	O_TOP,
	O_TOKEN,
	O_CERT,
	O_KEY,
	O_RW,
	O_PUSH,
	O_PUSH_APP,
	O_UNWIND,
	O_STACKS,
	O_NR,
};

static const struct option serve_longs[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "data-dir", required_argument, NULL, O_DATA_DIR },
	{ "interval", required_argument, NULL, O_INTERVAL },
	{ "retention", required_argument, NULL, O_RETENTION },
	{ "downsample", required_argument, NULL, O_DOWNSAMPLE },
	{ "profile-hz", required_argument, NULL, O_HZ },
	{ "offcpu", no_argument, NULL, O_OFFCPU },
	{ "no-latency", no_argument, NULL, O_NO_LATENCY },
	{ "top", required_argument, NULL, O_TOP },
	{ "token-file", required_argument, NULL, O_TOKEN },
	{ "tls-cert", required_argument, NULL, O_CERT },
	{ "tls-key", required_argument, NULL, O_KEY },
	{ "remote-write", required_argument, NULL, O_RW },
	{ "push-url", required_argument, NULL, O_PUSH },
	{ "push-app", required_argument, NULL, O_PUSH_APP },
	{ "unwind", required_argument, NULL, O_UNWIND },
	{ "stack-storage-size", required_argument, NULL, O_STACKS },
	{ 0 },
};

struct serve_cli {
	char *val[O_NR - O_CONFIG]; /* the option values as given (owned copies) */
	bool given[O_NR - O_CONFIG];
};

static int set_opt(struct serve_cli *c, int key, const char *arg)
{
	int i = key - O_CONFIG;

	free(c->val[i]);
	c->val[i] = strdup(arg ? arg : "");
	c->given[i] = true;
	return c->val[i] ? 0 : cli_error("serve", "out of memory");
}

static int serve_option(int key, const char *arg, void *o)
{
	if (key >= O_CONFIG && key < O_NR)
		return set_opt(o, key, arg);
	return cli_error("serve", "unknown option (see 'vigil serve --help')");
}

static const struct cli_spec serve_spec = {
	.name = "serve",
	.help = serve_help,
	.common = 0,
	.short_opts = "",
	.longs = serve_longs,
	.option = serve_option,
};

static int opt_key(const char *name)
{
	char norm[64];

	snprintf(norm, sizeof(norm), "%s", name);
	for (char *p = norm; *p; p++)
		if (*p == '_')
			*p = '-';
	for (const struct option *o = serve_longs; o->name; o++)
		if (!strcmp(o->name, norm) && o->val != O_CONFIG)
			return o->val;
	return -1;
}

/*
 * The configuration file (service/config.h): its top-level scalars fill the options not given on
 * the command line; the rest (rules, alerting, ...) is for the service. One line on error.
 */
static int load_config(struct serve_cli *c, const char *path, struct vigil_config *cfg)
{
	const char *keys[O_NR - O_CONFIG + 1];
	char err[1024];
	size_t n = 0;
	int rc;

	for (const struct option *o = serve_longs; o->name; o++)
		if (o->val != O_CONFIG)
			keys[n++] = o->name;
	keys[n] = NULL;
	rc = config_load(path, keys, cfg, err, sizeof(err));
	if (rc)
		return cli_error("serve", "%s", err);
	for (size_t i = 0; i < cfg->nopts; i++) {
		const struct config_opt *co = &cfg->opts[i];
		int k = opt_key(co->key);

		if (k < O_CONFIG || k >= O_NR || c->given[k - O_CONFIG])
			continue;
		if (k == O_OFFCPU || k == O_NO_LATENCY) {
			if (!co->is_bool)
				return cli_error("serve", "%s:%d: '%s' wants true or false", path,
						 co->line, co->key);
			if (co->bval && set_opt(c, k, ""))
				return 1;
		} else if (set_opt(c, k, co->value)) {
			return 1;
		}
	}
	return 0;
}

/* A small file read whole (certificates, keys, tokens: at most 1 MiB). NULL after an error line. */
static char *slurp(const char *what, const char *path)
{
	size_t len;
	char *buf = file_read(path, 1 << 20, &len);

	if (!buf)
		cli_error("serve", "cannot read %s '%s': %s", what, path,
			  errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
	return buf;
}

/* The config's anomalies:, capacity: and incidents: sections into w and inc. 0 or 1 after an
 * error line naming the file and line. */
static int load_watches(const struct vigil_config *cfg, struct watch_config *w,
			struct incident_opts *inc)
{
	char err[512] = "";
	int rc;

	rc = anomalies_config_parse(cfg->doc, cfg->section[CFG_ANOMALIES], cfg->path, w, err,
				    sizeof(err));
	if (!rc)
		rc = capacity_config_parse(cfg->doc, cfg->section[CFG_CAPACITY], cfg->path, w, err,
					   sizeof(err));
	if (!rc)
		rc = incidents_config_parse(cfg->doc, cfg->section[CFG_INCIDENTS], cfg->path, inc,
					    err, sizeof(err));
	if (rc == -ENOMEM)
		return cli_error("serve", "out of memory");
	return rc ? cli_error("serve", "%s", err) : 0;
}

/* The config's slos: section into out. 0 or 1 after an error line naming the file and line. */
static int load_slos(const struct vigil_config *cfg, struct slo_set *out)
{
	char err[512] = "";
	int rc = slo_config_parse(cfg->doc, cfg->section[CFG_SLOS], cfg->path, out, err,
				  sizeof(err));

	if (rc == -ENOMEM)
		return cli_error("serve", "out of memory");
	return rc ? cli_error("serve", "%s", err) : 0;
}

#define V(k) (c.val[(k)-O_CONFIG])
#define GIVEN(k) (c.given[(k)-O_CONFIG])

int cmd_serve(int argc, char **argv)
{
	struct serve_cli c = { 0 };
	struct common_opts common;
	struct service_opts o = {
		.listen = "127.0.0.1:7470",
		.data_dir = "/var/lib/vigil",
		.interval_s = 10,
		.retention_s = 7 * 86400,
		.downsample_age1_s = 3600,
		.downsample_res1_s = 60,
		.downsample_age2_s = 86400,
		.downsample_res2_s = 600,
		.profile_hz = 97,
		.latency = true,
		.top_n = 20,
		.push_app = "vigil.cpu",
		.stack_storage = 16384,
	};
	struct service *s = NULL;
	struct vigil_config cfg = { 0 };
	struct watch_config watch = { 0 };
	struct incident_opts inc = { 0 };
	struct slo_set slos = { 0 };
	char *token = NULL, *cert = NULL, *key = NULL;
	unsigned long ul;
	double d;
	int err, ret = 1;

	err = cli_parse(&serve_spec, argc, argv, &common, &c);
	if (err)
		return err < 0 ? 0 : err;
	if (GIVEN(O_CONFIG)) {
		if (load_config(&c, V(O_CONFIG), &cfg) || load_watches(&cfg, &watch, &inc) ||
		    load_slos(&cfg, &slos))
			goto out;
		o.config = &cfg;
	}
	o.watch = &watch;
	o.incidents = &inc;
	o.slos = &slos;
	if (GIVEN(O_LISTEN))
		o.listen = V(O_LISTEN);
	if (GIVEN(O_DATA_DIR))
		o.data_dir = V(O_DATA_DIR);
	if (GIVEN(O_INTERVAL)) {
		if (cli_parse_duration(V(O_INTERVAL), &d) || d < 1 || d > 3600) {
			ret = cli_error("serve", "invalid --interval '%s' (want 1..3600 seconds)",
					V(O_INTERVAL));
			goto out;
		}
		o.interval_s = d;
	}
	if (GIVEN(O_RETENTION)) {
		if (cli_parse_duration(V(O_RETENTION), &d) || d < 60) {
			ret = cli_error("serve",
					"invalid --retention '%s' (want a duration of at least 1m, "
					"e.g. 7d)",
					V(O_RETENTION));
			goto out;
		}
		o.retention_s = (long)d;
	}
	if (GIVEN(O_DOWNSAMPLE)) {
		double a1, r1, a2, r2;
		char *spec = V(O_DOWNSAMPLE), *comma = strchr(spec, ','), *c1, *c2;

		c1 = strchr(spec, ':');
		c2 = comma ? strchr(comma + 1, ':') : NULL;
		if (comma)
			*comma = '\0';
		if (c1)
			*c1 = '\0';
		if (c2)
			*c2 = '\0';
		if (!comma || !c1 || !c2 || cli_parse_duration(spec, &a1) ||
		    cli_parse_duration(c1 + 1, &r1) || cli_parse_duration(comma + 1, &a2) ||
		    cli_parse_duration(c2 + 1, &r2) || a2 < a1 || r2 < r1 || r1 < 1) {
			ret = cli_error("serve",
					"invalid --downsample (want AGE:RES,AGE:RES with "
					"growing ages and resolutions, e.g. 1h:1m,1d:10m)");
			goto out;
		}
		o.downsample_age1_s = (long)a1;
		o.downsample_res1_s = (long)r1;
		o.downsample_age2_s = (long)a2;
		o.downsample_res2_s = (long)r2;
	}
	if (GIVEN(O_HZ)) {
		if (cli_parse_ulong(V(O_HZ), 1, 10000, &ul)) {
			ret = cli_error("serve", "invalid --profile-hz '%s' (want 1..10000)",
					V(O_HZ));
			goto out;
		}
		o.profile_hz = ul;
	}
	if (GIVEN(O_TOP)) {
		if (cli_parse_ulong(V(O_TOP), 1, 1000, &ul)) {
			ret = cli_error("serve", "invalid --top '%s' (want 1..1000)", V(O_TOP));
			goto out;
		}
		o.top_n = (unsigned int)ul;
	}
	if (GIVEN(O_STACKS)) {
		if (cli_parse_ulong(V(O_STACKS), 64, 1u << 24, &ul)) {
			ret = cli_error("serve", "invalid --stack-storage-size '%s' (want 64..16M)",
					V(O_STACKS));
			goto out;
		}
		o.stack_storage = (__u32)ul;
	}
	o.offcpu = GIVEN(O_OFFCPU);
	o.latency = !GIVEN(O_NO_LATENCY);
	if (GIVEN(O_RW)) {
		if (strncmp(V(O_RW), "http://", 7) && strncmp(V(O_RW), "https://", 8)) {
			ret = cli_error("serve", "--remote-write wants an http(s):// URL");
			goto out;
		}
		o.remote_write_url = V(O_RW);
	}
	if (GIVEN(O_PUSH)) {
		if (strncmp(V(O_PUSH), "http://", 7) && strncmp(V(O_PUSH), "https://", 8)) {
			ret = cli_error("serve", "--push-url wants an http(s):// URL");
			goto out;
		}
		o.push_url = V(O_PUSH);
	}
	if (GIVEN(O_PUSH_APP))
		o.push_app = V(O_PUSH_APP);
	if (GIVEN(O_CERT) != GIVEN(O_KEY)) {
		ret = cli_error("serve", "--tls-cert and --tls-key go together");
		goto out;
	}
	if (GIVEN(O_TOKEN)) {
		struct stat st;

		if (!(token = slurp("--token-file", V(O_TOKEN))))
			goto out;
		token[strcspn(token, "\r\n")] = '\0';
		if (strlen(token) < 8) {
			ret = cli_error("serve",
					"the token in '%s' is shorter than 8 characters (use e.g. "
					"'openssl rand -hex 32')",
					V(O_TOKEN));
			goto out;
		}
		if (!stat(V(O_TOKEN), &st) && (st.st_mode & 0004))
			pr_warn("--token-file %s is readable by every user (chmod 600 it)",
				V(O_TOKEN));
		o.token = token;
	}
	if (GIVEN(O_CERT)) {
		if (!(cert = slurp("--tls-cert", V(O_CERT))) ||
		    !(key = slurp("--tls-key", V(O_KEY))))
			goto out;
		o.tls_cert_pem = cert;
		o.tls_key_pem = key;
	}
	ret = features__check_basics();
	if (!ret && !features__has(FEAT_PERF_CPU_CLOCK)) {
		pr_err("cannot open cpu-clock perf events: %s (is perf_event_open allowed here?)",
		       features__why(FEAT_PERF_CPU_CLOCK));
		ret = 2;
	}
	if (!ret)
		ret = features__user_unwind("serve", GIVEN(O_UNWIND) ? V(O_UNWIND) : NULL,
					    &o.unwind_mode);
	/* Continuous and host-wide: CFI tables only when asked for (--unwind cfi). */
	if (!ret && !GIVEN(O_UNWIND) && o.unwind_mode == VG_UNWIND_CFI)
		o.unwind_mode = VG_UNWIND_FP;
	if (ret)
		goto out;
	ret = 1;
	s = service__new(&o);
	if (!s)
		goto out;
	ret = service__run(s);
out:
	service__free(s);
	watch_config_release(&watch);
	slo_set_release(&slos);
	config_release(&cfg);
	free(token);
	free(cert);
	free(key);
	for (int i = 0; i < O_NR - O_CONFIG; i++)
		free(c.val[i]);
	cli_free_common(&common);
	return ret;
}
