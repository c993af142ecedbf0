// SPDX-License-Identifier: GPL-2.0
/* vigil doctor: probe every kernel feature Vigil can use and say what each missing one costs. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "kernel/attach.h"
#include "kernel/tracefs.h"
#include "cmd/options.h"
#include "cmd/commands.h"
#include "kernel/features.h"
#include "export/json.h"
#include "util/log.h"

static const char doctor_help[] =
	"Usage: vigil doctor [-j] [-v]\n"
	"\n"
	"Probe what this kernel supports (BTF, ring buffer, perf events, raw_tp, tp_btf, fentry,\n"
	"kprobes, tracepoints and tracefs, uprobes, hardware events, kallsyms) by loading and\n"
	"attaching tiny programs, and print what each missing feature costs. Mounts tracefs at\n"
	"/sys/kernel/tracing when it is missing, as the collectors do.\n"
	"Exit status: 0 when vigil profile can run here, 2 otherwise.\n"
	"\n"
	"Options:\n"
	"  -j, --json      machine-readable output\n"
	"  -v, --verbose   show probe details\n"
	"\n"
	"Examples:\n"
	"  sudo vigil doctor\n"
	"  sudo vigil doctor -j | jq '.features[] | select(.available == false)'\n";

static const struct cli_spec doctor_spec = {
	.name = "doctor",
	.help = doctor_help,
	.common = CLI_JSON,
};

int cmd_doctor(int argc, char **argv)
{
	struct common_opts c;
	struct utsname u;
	bool tracefs_before, essential;
	int err;

	err = cli_parse(&doctor_spec, argc, argv, &c, NULL);
	if (err)
		return err < 0 ? 0 : err;
	err = features__check_basics();
	if (err == 2 && !features__has(FEAT_BTF))
		err = 0; /* doctor still reports the rest */
	if (err)
		return err;
	uname(&u);
	tracefs_before = tracefs_is_mounted();
	/* Probe everything first, so the listing is not interleaved with -v probe messages. */
	for (int f = 0; f < FEAT_NR; f++)
		features__has(f);
	essential = features__has(FEAT_BTF) && features__has(FEAT_PERF_CPU_CLOCK) &&
		    features__has(FEAT_PERF_EVENT_PROG) && features__has(FEAT_STACK_MAP);

	if (c.json) {
		struct json *j = json__new(stdout, true);

		json__begin_object(j);
		json__kv_str(j, "kernel", u.release);
		json__kv_str(j, "machine", u.machine);
		json__kv_str(j, "btf_path", features__btf_path());
		json__kv_str(j, "tracepoint_attach", tp_attach_name(features__tp_attach()));
		json__kv_bool(j, "tracefs_mounted_by_vigil",
			      !tracefs_before && tracefs_is_mounted());
		json__kv_bool(j, "profile_ok", essential);
		json__key(j, "features");
		json__begin_array(j);
		for (int f = 0; f < FEAT_NR; f++) {
			json__begin_object(j);
			json__kv_str(j, "name", features__name(f));
			json__kv_bool(j, "available", features__has(f));
			if (!features__has(f)) {
				json__kv_str(j, "reason", features__why(f));
				json__kv_str(j, "cost", features__cost(f));
			}
			json__end_object(j);
		}
		json__end_array(j);
		json__end_object(j);
		json__free(j);
		fputc('\n', stdout);
	} else {
		printf("kernel %s (%s), BTF from %s\n", u.release, u.machine, features__btf_path());
		printf("%-16s %-4s %s\n", "FEATURE", "OK", "NOTE");
		for (int f = 0; f < FEAT_NR; f++) {
			bool ok = features__has(f);
			const char *note = ok ? "" : features__cost(f);

			if (f == FEAT_TRACEFS && ok)
				note = tracefs_before ?
					       "mounted" :
					       "was not mounted: vigil mounted it at " TRACEFS_PATH;
			printf("%-16s %-4s %s", features__name(f), ok ? "yes" : "no", note);
			if (!ok && features__why(f)[0])
				printf(" [%s]", features__why(f));
			putchar('\n');
		}
		printf("\ntracepoint hooks attach with: %s\n",
		       tp_attach_name(features__tp_attach()));
		printf("vigil profile: %s\n", essential ? "ready" : "cannot run on this kernel");
	}
	cli_free_common(&c);
	return essential ? 0 : 2;
}
