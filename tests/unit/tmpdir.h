/* SPDX-License-Identifier: GPL-2.0 */
/* Unit tests' scratch directories under /tmp. Include after cmocka.h. */
#ifndef VIGIL_TESTS_UNIT_TMPDIR_H
#define VIGIL_TESTS_UNIT_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A new empty directory /tmp/vigil-unit-TAG-XXXXXX, in a new string. */
static char *unit_tmpdir(const char *tag)
{
	char tmpl[128];
	char *d;

	snprintf(tmpl, sizeof(tmpl), "/tmp/vigil-unit-%s-XXXXXX", tag);
	d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

/* Removes d and everything under it. */
static void unit_rmrf(const char *d)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

#endif
