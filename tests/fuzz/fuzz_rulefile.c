// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for rule files (YAML, PromQL, Go templates) and template expansion: the input
 * is a rule file; every alert template that parses is expanded. Build: make .output/fuzz/fuzz_rulefile
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "analytics/rulefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rule_file rf;
	struct rule_diags d;
	struct tmpl_data td = { .value = 1.5 };

	if (!rulefile_parse((const char *)data, size, "fuzz.yml", &rf, &d)) {
		for (size_t g = 0; g < rf.ngroups; g++)
			for (size_t r = 0; r < rf.groups[g].nrules; r++) {
				struct rule *ru = &rf.groups[g].rules[r];

				for (size_t i = 0; i < ru->nannotations; i++)
					if (ru->annotations[i].t)
						free(tmpl_expand(ru->annotations[i].t, &td));
			}
		rule_file_release(&rf);
	}
	rule_diags_release(&d);
	return 0;
}
