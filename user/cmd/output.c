// SPDX-License-Identifier: GPL-2.0
/* The end of a stack command: the profile written where the common options say. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/output.h"
#include "export/export.h"
#include "model/profile.h"
#include "symbols/symbolizer.h"
#include "util/log.h"

int cli_write_profile(const struct runner *r, const struct common_opts *c, const struct profile *p,
		      enum cli_table table)
{
	struct export_opts o = { .annotate_kernel = true,
				 .per_thread = c->per_thread,
				 .lines = c->lines };
	const struct export_opts *eo = &o;
	double t_out;
	int err;

	if (c->output) {
		err = export_profile_to_path(p, c->format, c->output, eo);
		if (err) {
			pr_err("writing '%s' failed: %s", c->output, strerror(-err));
			return 1;
		}
	} else if (c->folded_stdout) {
		err = export_stream_error(stdout, export_folded(p, stdout, eo));
		if (err) {
			pr_err("writing folded stacks failed: %s", strerror(-err));
			return 1;
		}
	}
	t_out = mono_s();
	if (!profile__nr_stacks(p))
		pr_warn("no %s collected: the target %s, or the filters excluded everything",
			profile__meta(p)->count_type,
			!strcmp(profile__meta(p)->count_type, "samples") ? "did not run on a CPU" :
									   "did not block");
	if ((!c->output && !c->folded_stdout) || c->top_given || c->json || c->sort.nkeys) {
		struct top_opts to = c->sort;

		to.rows = (unsigned int)c->top;
		to.json = c->json;
		if (!c->sort.nkeys && table == CLI_TABLE_WAITS)
			err = export_waits(p, stdout, &to);
		else
			err = export_top_by(p, stdout, &to);
		err = export_stream_error(stdout, err);
		if (err) {
			pr_err("writing the table failed: %s", strerror(-err));
			return 1;
		}
	}
	if (c->output)
		pr_info("wrote %s (%llu %s, %zu stacks) %.0f ms after stop", c->output,
			(unsigned long long)profile__total_weight(p), profile__meta(p)->weight_unit,
			profile__nr_stacks(p), (t_out - r->t_stop) * 1e3);
	else
		pr_debug("output %.0f ms after stop", (t_out - r->t_stop) * 1e3);
	if (log_verbose() && r->sym) {
		struct symbolizer_stats st;

		symbolizer__stats(r->sym, &st);
		pr_debug(
			"symbolizer: %llu files opened, %llu failed, %llu ELF parsed, %llu processes snapshotted, %llu notices",
			(unsigned long long)st.files_opened, (unsigned long long)st.files_failed,
			(unsigned long long)st.elf_parsed, (unsigned long long)st.pids_snapshotted,
			(unsigned long long)r->notices);
	}
	return 0;
}
