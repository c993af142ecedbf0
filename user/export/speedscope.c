// SPDX-License-Identifier: GPL-2.0
/*
 * speedscope file format (https://www.speedscope.app/file-format-schema.json): one "sampled" profile
 * per process name (or "comm-tid" with per_thread), heaviest first, so speedscope opens on the
 * busiest; samples are frame indices root first, one per distinct stack. The weights are the stacks'
 * values in nanoseconds when the profile's values are nanoseconds (CPU time, off-CPU time), so
 * speedscope shows times; otherwise their weights, with unit "bytes" when the weight unit is bytes
 * (memory profiles) and "none" otherwise. startValue 0, endValue the
 * profile's total weight.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/merge.h"
#include "export/json.h"

struct group {
	__u32 root; /* name index of the process */
	__u64 weight;
};

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return x->root < y->root ? -1 : x->root > y->root;
}

int export_speedscope(const struct profile *p, FILE *out, const struct export_opts *o)
{
	const struct profile_meta *meta = profile__meta(p);
	bool ns = !strcmp(meta->value_unit, "nanoseconds");
	struct group *groups = NULL;
	long *group_of = NULL; /* name index -> group, -1 for none */
	long *frame_of = NULL; /* name index -> shared.frames index, -1 for none */
	__u32 *frame_names = NULL; /* shared.frames index -> name index */
	size_t ngroups = 0, nframes = 0;
	struct merged m;
	struct json *j;
	int err = merged__build(&m, p, o);

	if (err)
		return err;
	j = json__new(out, false);
	groups = calloc(m.nr_names ? m.nr_names : 1, sizeof(*groups));
	group_of = malloc((m.nr_names ? m.nr_names : 1) * sizeof(*group_of));
	frame_of = malloc((m.nr_names ? m.nr_names : 1) * sizeof(*frame_of));
	frame_names = malloc((m.nr_names ? m.nr_names : 1) * sizeof(*frame_names));
	if (!j || !groups || !group_of || !frame_of || !frame_names) {
		err = -ENOMEM;
		goto out;
	}
	/*
	 * Group stacks by their root (process) name; the root is the profile's name, not a frame.
	 * Frames are numbered in order of first use, so only frames some sample uses are listed.
	 */
	for (size_t i = 0; i < m.nr_names; i++)
		group_of[i] = frame_of[i] = -1;
	for (size_t i = 0; i < m.nr_stacks; i++) {
		const struct merged_stack *s = &m.stacks[i];
		__u32 root = s->names[0];

		if (group_of[root] < 0) {
			group_of[root] = (long)ngroups;
			groups[ngroups++].root = root;
		}
		groups[group_of[root]].weight += ns ? s->value : s->weight;
		for (__u32 k = 1; k < s->n; k++) {
			if (frame_of[s->names[k]] >= 0)
				continue;
			frame_of[s->names[k]] = (long)nframes;
			frame_names[nframes++] = s->names[k];
		}
	}
	if (ngroups > 1)
		qsort(groups, ngroups, sizeof(*groups), cmp_group);

	json__begin_object(j);
	json__kv_str(j, "$schema", "https://www.speedscope.app/file-format-schema.json");
	json__kv_str(j, "exporter", "vigil");
	json__kv_str(j, "name", o && o->title ? o->title : meta->title ? meta->title : "vigil");
	json__kv_u64(j, "activeProfileIndex", 0);
	json__key(j, "shared");
	json__begin_object(j);
	json__key(j, "frames");
	json__begin_array(j);
	for (size_t i = 0; i < nframes; i++) {
		__u32 n = frame_names[i];

		json__begin_object(j);
		json__kv_str(j, "name", m.names[n]);
		if (m.modules[n][0])
			json__kv_str(j, "file", m.modules[n]);
		json__end_object(j);
	}
	json__end_array(j);
	json__end_object(j);
	json__key(j, "profiles");
	json__begin_array(j);
	for (size_t g = 0; g < ngroups; g++) {
		json__begin_object(j);
		json__kv_str(j, "type", "sampled");
		json__kv_str(j, "name", m.names[groups[g].root]);
		json__kv_str(j, "unit",
			     ns					 ? "nanoseconds" :
			     !strcmp(meta->weight_unit, "bytes") ? "bytes" :
								   "none");
		json__kv_u64(j, "startValue", 0);
		json__kv_u64(j, "endValue", groups[g].weight);
		json__key(j, "samples");
		json__begin_array(j);
		for (size_t i = 0; i < m.nr_stacks; i++) {
			const struct merged_stack *s = &m.stacks[i];

			if (s->names[0] != groups[g].root)
				continue;
			json__begin_array(j);
			for (__u32 k = 1; k < s->n; k++)
				json__u64(j, (__u64)frame_of[s->names[k]]);
			json__end_array(j);
		}
		json__end_array(j);
		json__key(j, "weights");
		json__begin_array(j);
		for (size_t i = 0; i < m.nr_stacks; i++)
			if (m.stacks[i].names[0] == groups[g].root)
				json__u64(j, ns ? m.stacks[i].value : m.stacks[i].weight);
		json__end_array(j);
		json__end_object(j);
	}
	json__end_array(j);
	json__end_object(j);
	fputc('\n', out);
	err = json__finish(j);
out:
	json__free(j);
	free(groups);
	free(group_of);
	free(frame_of);
	free(frame_names);
	merged__release(&m);
	return err;
}
