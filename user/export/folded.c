// SPDX-License-Identifier: GPL-2.0
/* Folded stacks: "comm;root;...;leaf WEIGHT", one line per distinct stack, sorted. */
#include <errno.h>

#include "export/merge.h"

int export_folded(const struct profile *p, FILE *out, const struct export_opts *o)
{
	struct merged m;
	int err = merged__build(&m, p, o);

	if (err)
		return err;
	for (size_t i = 0; i < m.nr_stacks; i++) {
		const struct merged_stack *s = &m.stacks[i];

		for (__u32 k = 0; k < s->n; k++) {
			if (k)
				fputc(';', out);
			fputs(m.names[s->names[k]], out);
		}
		fprintf(out, " %llu\n", (unsigned long long)s->weight);
	}
	merged__release(&m);
	return ferror(out) ? -EIO : 0;
}
