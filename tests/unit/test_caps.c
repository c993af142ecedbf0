// SPDX-License-Identifier: GPL-2.0
/*
 * caps: the table agrees with the Makefile's install set and the README; dropping keeps exactly the
 * table's capabilities (in a child, so this process keeps its own), CAP_SYS_ADMIN until
 * caps__drop_admin, and a root child of a dropped process still gets full capabilities.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "kernel/caps.h"

/* A field of /proc/self/status ("CapEff") as a mask. */
static unsigned long long status_mask(const char *pid, const char *field)
{
	char path[64], line[256];
	unsigned long long v = ~0ULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)) && line[strlen(field)] == ':')
			v = strtoull(line + strlen(field) + 1, NULL, 16);
	fclose(f);
	return v;
}

static char *slurp(const char *path)
{
	static char buf[1 << 17];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_table_matches_install_and_readme(void **state)
{
	char want[300];
	size_t n;
	const struct caps_info *t = caps__table(&n);
	char *mk = slurp("Makefile"), *readme;

	(void)state;
	snprintf(want, sizeof(want), "VIGIL_CAPS ?= %s\n", caps__setcap_list(false));
	if (!strstr(mk, want))
		fail_msg("Makefile lacks '%s'", want);
	readme = slurp("README.md");
	for (size_t i = 0; i < n; i++) {
		assert_non_null(t[i].buys);
		if (!strstr(readme, t[i].name))
			fail_msg("README.md does not say what %s buys", t[i].name);
	}
	assert_non_null(strstr(caps__setcap_list(true), "cap_checkpoint_restore"));
	assert_null(strstr(caps__setcap_list(false), "cap_sys_admin"));
}

static void in_child_dropped(void)
{
	unsigned long long keep = 0, bnd = status_mask("self", "CapBnd"), prm, eff, child_eff;
	size_t n;
	const struct caps_info *t = caps__table(&n);
	char cmd[64];
	FILE *p;

	for (size_t i = 0; i < n; i++)
		keep |= 1ULL << t[i].cap;
	keep &= bnd;
	assert_int_equal(caps__drop_unneeded(), 0);
	prm = status_mask("self", "CapPrm");
	eff = status_mask("self", "CapEff");
	assert_true(prm == keep);
	assert_true(eff == keep);
	assert_true(status_mask("self", "CapInh") == 0 && status_mask("self", "CapAmb") == 0);
	assert_true(caps__effective(CAP_SYS_ADMIN)); /* until the capture starts: attaching */
	assert_false(caps__effective(CAP_NET_ADMIN) || caps__permitted(CAP_SETUID));
	/* Lowered and raised again (it is still permitted). */
	assert_int_equal(caps__lower(CAP_SYS_ADMIN), 0);
	assert_false(caps__effective(CAP_SYS_ADMIN));
	assert_int_equal(caps__raise(CAP_SYS_ADMIN), 0);
	assert_true(caps__effective(CAP_SYS_ADMIN));
	/* A root child (-- COMMAND) gets the bounding set back at exec. */
	snprintf(cmd, sizeof(cmd), "grep CapEff /proc/self/status");
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "CapEff: %llx", &child_eff), 1);
	pclose(p);
	assert_true(child_eff == bnd);
	/* For good: not even permitted any more. */
	caps__drop_admin();
	assert_false(caps__permitted(CAP_SYS_ADMIN) || caps__effective(CAP_SYS_ADMIN));
	assert_true(status_mask("self", "CapPrm") == (keep & ~(1ULL << CAP_SYS_ADMIN)));
	caps__drop_admin(); /* idempotent */
	assert_int_equal(caps__raise(CAP_SYS_ADMIN), -EPERM);
	assert_true(caps__effective(CAP_BPF) && caps__effective(CAP_PERFMON));
}

static void test_drop_as_root(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() || !caps__effective(CAP_SYS_ADMIN))
		skip(); /* needs root's full set to see what is dropped */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A failed assertion here ends the child with a non-zero status. */
		in_child_dropped();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_install_and_readme),
		cmocka_unit_test(test_drop_as_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
