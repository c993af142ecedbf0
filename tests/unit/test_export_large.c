// SPDX-License-Identifier: GPL-2.0
/*
 * 100,000 stacks through every exporter: each finishes (and in reasonable time: an accidental
 * quadratic step shows up here), and the SVG flame graph keeps to its layout rules at that size (no
 * frame under 0.1% of the width, at most 1000 frames a level, the root holding the whole weight).
 * VIGIL_EXPORT_OUT=DIR writes the flame graph to DIR/large.svg, for tests/browser/check_svg.js.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <cmocka.h>

#include "export/export.h"
#include "model/profile.h"
#include "profile.pb-c.h"

#define NR_STACKS 100000
#define NR_FUNCS 3000
#define MAX_DEPTH 48
/* Per exporter, in this thread's CPU time (wall time on a loaded host says nothing), sanitizers
 * included; real runs take well under 1 s, a quadratic step over 100,000 stacks takes minutes. */
#define TIME_LIMIT_S 30.0

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Call trees fan out: few functions near the root, many near the leaves, so stacks share prefixes. */
static struct profile *big_profile(__u64 *total)
{
	struct profile_meta meta = { .count_type = "samples",
				     .count_unit = "count",
				     .value_type = "cpu",
				     .value_unit = "nanoseconds",
				     .weight_unit = "samples",
				     .period = 1000000,
				     .duration_ns = 10000000000ull,
				     .title = "large" };
	struct profile *p = profile__new(&meta);
	__u32 funcs[NR_FUNCS], frames[MAX_DEPTH];
	char name[64];

	assert_non_null(p);
	for (int i = 0; i < NR_FUNCS; i++) {
		bool kernel = i >= NR_FUNCS - 300;

		snprintf(name, sizeof(name), "%s_function_%04d", kernel ? "k" : "u", i);
		funcs[i] = profile__add_frame(
			p, &(struct profile_frame){ name, kernel ? "[kernel.kallsyms]" : "app",
						    0x400000 + (__u64)i * 64, 0,
						    kernel ? FRAME_KERNEL : FRAME_USER });
		assert_int_not_equal(funcs[i], 0);
	}
	*total = 0;
	for (int i = 0; i < NR_STACKS; i++) {
		__u32 depth = 4 + next() % (MAX_DEPTH - 4),
		      nk = next() % 4; /* fewer than the 4 frames a stack has at least */
		__u64 count = 1 + next() % 20;
		char comm[16];

		for (__u32 d = 0; d < depth - nk; d++) {
			__u32 fan = d < 3 ? 4 : d < 8 ? 30 : NR_FUNCS - 300;

			frames[d] = funcs[next() % fan];
		}
		for (__u32 d = depth - nk; d < depth; d++)
			frames[d] = funcs[NR_FUNCS - 300 + next() % 300];
		snprintf(comm, sizeof(comm), "proc%u", next() % 8);
		assert_int_equal(profile__add_stack(
					 p, &(struct profile_stack){ comm, 100, 100, depth, frames,
								     count, count * 1000000 }),
				 0);
		*total += count;
	}
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *timed(int (*fn)(const struct profile *, FILE *, const struct export_opts *),
		   const char *what, const struct profile *p, size_t *len)
{
	struct export_opts eo = { .annotate_kernel = true };
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	double t = now();

	assert_non_null(f);
	assert_int_equal(fn(p, f, &eo), 0);
	assert_int_equal(fclose(f), 0);
	t = now() - t;
	print_message("  %-10s %8.3f s CPU  %9zu bytes\n", what, t, *len);
	assert_true(t < TIME_LIMIT_S);
	return buf;
}

static void test_large_svg(void **state)
{
	__u64 total, min_w;
	struct profile *p = big_profile(&total);
	size_t len, per_depth[MAX_DEPTH + 2] = { 0 };
	__u64 weight_at[MAX_DEPTH + 2] = { 0 };
	char *out = timed(export_svg, "svg", p, &len);
	unsigned long long x, w;
	unsigned int d;
	size_t frames = 0;

	(void)state;
	if (getenv("VIGIL_EXPORT_OUT")) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/large.svg", getenv("VIGIL_EXPORT_OUT"));
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(out, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
	}
	min_w = (total + 999) / 1000;
	for (const char *g = strstr(out, "<g data-x="); g; g = strstr(g + 1, "<g data-x=")) {
		assert_int_equal(
			sscanf(g, "<g data-x=\"%llu\" data-w=\"%llu\" data-d=\"%u\"", &x, &w, &d),
			3);
		assert_true(d <= MAX_DEPTH + 1);
		if (d == 0)
			assert_int_equal(w, total);
		else if (w < min_w)
			fail_msg("frame of weight %llu drawn; the limit is %llu", w,
				 (unsigned long long)min_w);
		assert_true(x + w <= total);
		per_depth[d]++;
		weight_at[d] += w;
		frames++;
	}
	for (d = 0; d <= MAX_DEPTH + 1; d++) {
		assert_true(per_depth[d] <= 1000);
		if (d)
			assert_true(weight_at[d] <= weight_at[d - 1]);
	}
	/* The omitted frames' weight is still in their parents: every stack has a process and at least
	 * 4 frames, and processes are few and heavy, so levels 1 and 2 hold everything. */
	assert_int_equal(weight_at[1], total);
	assert_int_equal(weight_at[2], total);
	assert_true(frames > 100);
	print_message("  svg: %zu frames drawn for %d stacks\n", frames, NR_STACKS);
	free(out);
	profile__free(p);
}

static void test_large_others(void **state)
{
	__u64 total;
	struct profile *p = big_profile(&total);
	Perftools__Profiles__Profile *pp;
	unsigned long long sum = 0;
	size_t len, rawlen = 0;
	char *out, *line;
	uint8_t *raw;
	uLongf cap;
	FILE *f;

	(void)state;
	out = timed(export_folded, "folded", p, &len);
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		sum += strtoull(strrchr(line, ' ') + 1, NULL, 10);
	free(out);
	assert_int_equal(sum, total);

	out = timed(export_speedscope, "speedscope", p, &len);
	assert_true(len > 1000 && out[len - 2] == '}');
	free(out);

	out = timed(export_pprof, "pprof", p, &len);
	/* gunzip, then unpack. */
	{
		z_stream zs = { 0 };

		cap = 256u << 20;
		raw = malloc(cap);
		assert_non_null(raw);
		assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
		zs.next_in = (unsigned char *)out;
		zs.avail_in = (uInt)len;
		zs.next_out = raw;
		zs.avail_out = (uInt)cap;
		assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
		rawlen = zs.total_out;
		inflateEnd(&zs);
	}
	pp = perftools__profiles__profile__unpack(NULL, rawlen, raw);
	assert_non_null(pp);
	assert_int_equal(pp->n_sample, NR_STACKS);
	sum = 0;
	for (size_t i = 0; i < pp->n_sample; i++)
		sum += pp->sample[i]->value[0];
	assert_int_equal(sum, total);
	perftools__profiles__profile__free_unpacked(pp, NULL);
	free(raw);
	free(out);

	{
		char *buf = NULL;
		double t = now();

		f = open_memstream(&buf, &len);
		assert_non_null(f);
		assert_int_equal(export_top(p, f, 20), 0);
		fclose(f);
		print_message("  %-10s %8.3f s CPU  %9zu bytes\n", "top", now() - t, len);
		free(buf);
	}
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_svg),
		cmocka_unit_test(test_large_others),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
