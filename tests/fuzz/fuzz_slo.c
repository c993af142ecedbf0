// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for SLO definitions (vigil.yml's slos:): parsing, then the generated rule file,
 * which must load as a valid rule file for whatever the parser accepted (anything else is a bug:
 * the alert engine would refuse what the config check let through). Build:
 * make .output/fuzz/fuzz_slo
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "analytics/rulefile.h"
#include "analytics/slo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slo_set set = { 0 };
	char err[512], *text = NULL;
	size_t len;

	if (slo_file_parse((const char *)data, size, "fuzz.yml", &set, err, sizeof(err)))
		return 0;
	if (!slo_rules_text(&set, 1000, &text, &len)) {
		struct rule_file rf;
		struct rule_diags d;
		int rc = rulefile_parse(text, len, "gen.yml", &rf, &d);

		if (rc == -EINVAL)
			abort(); /* accepted SLOs generated an invalid rule file */
		if (!rc)
			rule_file_release(&rf);
		rule_diags_release(&d);
		free(text);
	}
	slo_set_release(&set);
	return 0;
}
