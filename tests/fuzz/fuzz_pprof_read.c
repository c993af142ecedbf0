// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for export_pprof_read (export/pprof_read.c): vigil serve reads its stored
 * profiles back from disk, and a damaged or planted database must not crash it. The input is a
 * gzip (or raw) pprof profile; whatever decodes must export again.
 * Corpus: tests/fuzz/corpus/pprof_read/ (an export_pprof output, gzip and raw).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "export/export.h"
#include "model/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct profile_meta base = { .weight_unit = "samples" };
	struct profile *p = export_pprof_read(data, size, 16u << 20, &base);
	FILE *null;

	if (!p)
		return 0;
	/* A profile that decoded is a valid model: every exporter takes it. */
	null = fopen("/dev/null", "w");
	if (null) {
		struct export_opts o = { .annotate_kernel = true };

		export_pprof(p, null, &o);
		export_folded(p, null, &o);
		fclose(null);
	}
	profile__free(p);
	return 0;
}
