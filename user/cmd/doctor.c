// SPDX-License-Identifier: GPL-2.0
/* vigil doctor: probe every kernel feature Vigil can use and say what each missing one costs. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "kernel/attach.h"
#include "kernel/caps.h"
#include "symbols/mapfile.h"
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
	"/sys/kernel/tracing when it is missing, as the collectors do. Then the capabilities this\n"
	"process holds (Vigil drops every other one at start) and what each missing one costs, and\n"
	"how mapped files are opened (map_files, openat2 RESOLVE_IN_ROOT, or their fallbacks).\n"
	"Exit status: 0 when vigil profile can run here, 2 otherwise.\n"
	"\n"
	"Options:\n"
	"  -j, --json      machine-readable output\n"
	"  -v, --verbose   show probe details\n"
	"\n"
	"Examples:\n"
	"  sudo vigil doctor\n"
	"  sudo vigil doctor -j | jq '.features[] | select(.available == false)'\n"
	"  vigil doctor -j | jq .missing_capabilities     # as a user, with a setcap'd binary\n";

static const struct cli_spec doctor_spec = {
	.name = "doctor",
	.help = doctor_help,
	.common = CLI_JSON,
};

/* Held: in the effective set (the doctor never starts a capture, so CAP_SYS_ADMIN is still there
 * when it was given). */
static bool cap_held(const struct caps_info *ci)
{
	return caps__effective(ci->cap);
}

static const char *missing_needed(char *buf, size_t size)
{
	size_t n, len = 0;
	const struct caps_info *t = caps__table(&n);

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (t[i].needed && !cap_held(&t[i]) && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "",
						t[i].name);
	return buf;
}

static void json_privileges(struct json *j)
{
	const char *why;
	size_t n;
	const struct caps_info *t = caps__table(&n);

	json__kv_u64(j, "uid", getuid());
	json__kv_u64(j, "euid", geteuid());
	json__key(j, "capabilities");
	json__begin_array(j);
	for (size_t i = 0; i < n; i++) {
		json__begin_object(j);
		json__kv_str(j, "name", t[i].name);
		json__kv_bool(j, "held", cap_held(&t[i]));
		json__kv_bool(j, "needed", t[i].needed);
		json__kv_bool(j, "kernel_knows", caps__kernel_knows(t[i].cap));
		json__kv_str(j, "buys", t[i].buys);
		json__end_object(j);
	}
	json__end_array(j);
	json__key(j, "missing_capabilities");
	json__begin_array(j);
	for (size_t i = 0; i < n; i++)
		if (t[i].needed && !cap_held(&t[i]))
			json__str(j, t[i].name);
	json__end_array(j);
	json__key(j, "symbol_files");
	json__begin_object(j);
	json__kv_bool(j, "map_files", mapfile__have_map_files(&why));
	json__kv_str(j, "map_files_why", why);
	json__kv_bool(j, "openat2", mapfile__have_openat2(&why));
	json__kv_str(j, "openat2_why", why);
	json__end_object(j);
}

static void print_privileges(void)
{
	const char *why;
	size_t n;
	const struct caps_info *t = caps__table(&n);
	char miss[256];

	printf("\n%-23s %-4s %s\n", "CAPABILITY", "HELD", "WHAT IT BUYS");
	for (size_t i = 0; i < n; i++)
		printf("%-23s %-4s %s: %s%s\n", t[i].name, cap_held(&t[i]) ? "yes" : "no",
		       t[i].needed ? "needed" : "optional", t[i].buys,
		       caps__kernel_knows(t[i].cap) ? "" : " [unknown to this kernel]");
	missing_needed(miss, sizeof(miss));
	printf("running as uid %u (euid %u)", (unsigned)getuid(), (unsigned)geteuid());
	if (*miss)
		printf("; missing %s (as root, or: setcap %s+ep vigil; make install CAPS=1)\n",
		       miss, caps__setcap_list(false));
	else
		printf("; every needed capability held\n");
	printf("mapped files open through: %s", mapfile__have_map_files(&why) ?
							"map_files (the mapped inode itself)" :
							"their paths inside the process's root");
	if (*why)
		printf(" [map_files: %s]", why);
	printf("\nnames inside a process's root resolve with: %s",
	       mapfile__have_openat2(&why) ?
		       "openat2 RESOLVE_IN_ROOT" :
		       "a walk that follows no symlink (symlinked files give up)");
	if (*why)
		printf(" [%s]", why);
	putchar('\n');
}

int cmd_doctor(int argc, char **argv)
{
	struct common_opts c;
	struct utsname u;
	bool tracefs_before, essential, no_caps;
	const char *unwinder, *unwind_why;
	int err;

	err = cli_parse(&doctor_spec, argc, argv, &c, NULL);
	if (err)
		return err < 0 ? 0 : err;
	/* Without CAP_BPF/CAP_PERFMON the doctor still says what is there and what is missing. */
	no_caps = !caps__effective(CAP_SYS_ADMIN) &&
		  (!caps__effective(CAP_BPF) || !caps__effective(CAP_PERFMON));
	err = no_caps ? 0 : features__check_basics();
	if (err == 2 && !features__has(FEAT_BTF))
		err = 0; /* doctor still reports the rest */
	if (err)
		return err;
	uname(&u);
	tracefs_before = tracefs_is_mounted();
	/* Probe everything first, so the listing is not interleaved with -v probe messages. */
	for (int f = 0; f < FEAT_NR; f++)
		features__has(f);
	unwinder = features__unwind_default(&unwind_why);
	essential = !no_caps && features__has(FEAT_BTF) && features__has(FEAT_PERF_CPU_CLOCK) &&
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
		json__kv_str(j, "user_unwinder", unwinder);
		json__kv_str(j, "user_unwinder_why", unwind_why);
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
		json_privileges(j);
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
		print_privileges();
		printf("user stacks unwind with: %s (%s)\n", unwinder, unwind_why);
		printf("vigil profile: %s\n",
		       essential ? "ready" :
		       no_caps	 ? "cannot run: missing CAP_BPF and CAP_PERFMON (run as root)" :
				   "cannot run on this kernel");
	}
	cli_free_common(&c);
	return essential ? 0 : 2;
}
