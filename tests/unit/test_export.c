// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: every exporter on one synthetic profile against golden files (VIGIL_UPDATE_GOLDEN=1
 * rewrites them), the pprof output decoded again with protobuf-c, the JSON writer, and the
 * crash-safe file writing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "export.h"
#include "json.h"
#include "stacks.h"
#include "profile.pb-c.h"

#define GOLDEN "tests/unit/golden/"

/*
 * Two processes; user, kernel, unknown and special frames; names with ';', '<', '&' and '"'.
 *   app  (pid 10): main;work;compute 30 samples, main;work;compute;<kernel> 10, main;io;read+sys 5
 *   db   (pid 20): run;"op<T>&;x" 5, [lost stack] 2, no frames 1
 */
static struct profile *synthetic(void)
{
	struct profile_meta meta = { .count_type = "samples",
				     .count_unit = "count",
				     .value_type = "cpu",
				     .value_unit = "nanoseconds",
				     .weight_unit = "samples",
				     .period = 10000000,
				     .start_ns = 1700000000000000000ull,
				     .duration_ns = 2000000000ull,
				     .title = "synthetic profile" };
	struct profile *p = profile__new(&meta);
	struct profile_mapping app = { 0x555500001000, 0x555500005000, 0x1000, "/usr/bin/app",
				       "0123456789abcdef" };
	struct profile_mapping kern = { 0xffffffff81000000, 0xffffffff82000000, 0,
					"[kernel.kallsyms]", "" };
	__u32 ma, mk, main_, work, compute, io, read_, sys, k1, run, op, lost, unk;

	assert_non_null(p);
	ma = profile__add_mapping(p, &app);
	mk = profile__add_mapping(p, &kern);
#define F(name, mod, addr, map, kind) \
	profile__add_frame(p, &(struct profile_frame){ name, mod, addr, map, kind })
	main_ = F("main", "app", 0x555500001100, ma, FRAME_USER);
	work = F("work", "app", 0x555500001200, ma, FRAME_USER);
	compute = F("compute", "app", 0x555500001300, ma, FRAME_USER);
	io = F("io", "app", 0x555500001400, ma, FRAME_USER);
	read_ = F("read", "libc.so.6", 0, 0, FRAME_USER);
	sys = F("entry_SYSCALL_64", "[kernel.kallsyms]", 0xffffffff81000100, mk, FRAME_KERNEL);
	k1 = F("asm_sysvec_apic_timer_interrupt", "[kernel.kallsyms]", 0xffffffff81000200, mk,
	       FRAME_KERNEL);
	run = F("run", "db", 0x1000, 0, FRAME_USER);
	op = F("op<T>&;x\"q\"", "db", 0x1100, 0, FRAME_USER);
	lost = F("[user stack lost: stack map collision]", "", 0, 0, FRAME_SPECIAL);
	unk = F("[unknown]+0x7f0000001234", "[unknown]", 0x7f0000001234, 0, FRAME_UNKNOWN);
#undef F
	{
		struct {
			const char *comm;
			__u32 pid, tid, n, f[5];
			__u64 count;
		} st[] = {
			{ "app", 10, 10, 3, { main_, work, compute }, 20 },
			{ "app",
			  10,
			  11,
			  3,
			  { main_, work, compute },
			  10 }, /* same stack, other thread */
			{ "app", 10, 10, 4, { main_, work, compute, k1 }, 10 },
			{ "app", 10, 10, 4, { main_, io, read_, sys }, 5 },
			{ "db", 20, 20, 2, { run, op }, 5 },
			{ "db", 20, 20, 2, { lost, sys }, 2 },
			{ "db", 20, 20, 0, { 0 }, 1 },
			{ "db", 20, 21, 1, { unk }, 3 },
		};

		for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
			struct profile_stack s = { st[i].comm,
						   st[i].pid,
						   st[i].tid,
						   st[i].n,
						   st[i].f,
						   st[i].count,
						   st[i].count * meta.period };

			assert_int_equal(profile__add_stack(p, &s), 0);
		}
	}
	return p;
}

static char *render(int (*fn)(const struct profile *, FILE *, const struct export_opts *),
		    const struct profile *p, size_t *len)
{
	struct export_opts eo = { .annotate_kernel = true };
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(fn(p, f, &eo), 0);
	fclose(f);
	return buf;
}

static void golden(const char *name, const char *got, size_t len)
{
	char path[256], *want;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), GOLDEN "%s", name);
	if (getenv("VIGIL_UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		assert_non_null(f);
		fwrite(got, 1, len, f);
		fclose(f);
		return;
	}
	f = fopen(path, "r");
	if (!f)
		fail_msg("missing golden file %s (run with VIGIL_UPDATE_GOLDEN=1)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	want = malloc(n + 1);
	assert_int_equal(fread(want, 1, n, f), n);
	want[n] = '\0';
	fclose(f);
	if ((size_t)n != len || memcmp(want, got, len))
		fail_msg("%s differs from the golden file (%ld vs %zu bytes)", name, n, len);
	free(want);
}

static void test_folded(void **state)
{
	struct profile *p = synthetic();
	size_t len;
	char *out = render(export_folded, p, &len);

	(void)state;
	/* The facts the golden file encodes, spelled out. */
	assert_non_null(strstr(out, "app;main;work;compute 30\n")); /* two threads merged */
	assert_non_null(
		strstr(out, "app;main;work;compute;asm_sysvec_apic_timer_interrupt_[k] 10\n"));
	assert_non_null(strstr(out, "db;run;op<T>&:x\"q\" 5\n")); /* ';' replaced */
	assert_non_null(strstr(out, "db 1\n")); /* no frames */
	golden("profile.folded", out, len);
	free(out);
	profile__free(p);
}

static void test_top(void **state)
{
	struct profile *p = synthetic();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(export_top(p, f, 0), 0);
	fclose(f);
	/* compute: 30 self of 56 = 53.57%; total 40 = 71.43%. main: 0 self, 45 total. */
	assert_non_null(strstr(buf, " 53.57%  71.43%           30  compute"));
	assert_null(strstr(buf, "  main  ")); /* no self time: not listed */
	golden("profile.top", buf, len);
	free(buf);
	profile__free(p);
}

static void test_svg(void **state)
{
	struct profile *p = synthetic();
	size_t len;
	char *out = render(export_svg, p, &len);

	(void)state;
	assert_non_null(strstr(out, "<svg version=\"1.1\""));
	assert_non_null(strstr(out, "op&lt;T&gt;&amp;:x&quot;q&quot;")); /* escaped */
	assert_null(strstr(out, "op<T>"));
	assert_null(strstr(out, "href=")); /* self-contained */
	assert_non_null(strstr(out, "<title>compute (40 samples, 71.43%)</title>"));
	assert_non_null(strstr(out, "function search("));
	assert_non_null(strstr(out, "function zoom("));
	assert_true(len > 100 && !strcmp(out + len - 7, "</svg>\n"));
	golden("profile.svg", out, len);
	free(out);
	profile__free(p);
}

static void test_speedscope(void **state)
{
	struct profile *p = synthetic();
	size_t len;
	char *out = render(export_speedscope, p, &len);

	(void)state;
	assert_non_null(
		strstr(out, "\"$schema\":\"https://www.speedscope.app/file-format-schema.json\""));
	assert_non_null(
		strstr(out, "\"type\":\"sampled\",\"name\":\"app\",\"unit\":\"nanoseconds\""));
	/* app first: it weighs more. Its endValue is 45 samples x 10 ms. */
	assert_true(strstr(out, "\"name\":\"app\"") < strstr(out, "\"name\":\"db\""));
	assert_non_null(strstr(out, "\"endValue\":450000000"));
	assert_non_null(strstr(out, "\"name\":\"op<T>&:x\\\"q\\\"\""));
	golden("profile.speedscope.json", out, len);
	free(out);
	profile__free(p);
}

static uint8_t *gunzip(const char *in, size_t len, size_t *outlen)
{
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);
	z_stream zs = { 0 };

	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	*outlen = zs.total_out;
	inflateEnd(&zs);
	return out;
}

static const char *str(const Perftools__Profiles__Profile *pp, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < pp->n_string_table);
	return pp->string_table[i];
}

static void test_pprof_round_trip(void **state)
{
	struct profile *p = synthetic();
	Perftools__Profiles__Profile *pp;
	size_t len, rawlen;
	char *out = render(export_pprof, p, &len);
	uint8_t *raw;
	bool saw_leaf_first = false;

	(void)state;
	assert_true((unsigned char)out[0] == 0x1f && (unsigned char)out[1] == 0x8b); /* gzip */
	raw = gunzip(out, len, &rawlen);
	pp = perftools__profiles__profile__unpack(NULL, rawlen, raw);
	assert_non_null(pp);
	assert_string_equal(pp->string_table[0], "");
	assert_int_equal(pp->n_sample_type, 2);
	assert_string_equal(str(pp, pp->sample_type[0]->type), "samples");
	assert_string_equal(str(pp, pp->sample_type[0]->unit), "count");
	assert_string_equal(str(pp, pp->sample_type[1]->type), "cpu");
	assert_string_equal(str(pp, pp->sample_type[1]->unit), "nanoseconds");
	assert_string_equal(str(pp, pp->period_type->type), "cpu");
	assert_int_equal(pp->period, 10000000);
	assert_int_equal(pp->time_nanos, 1700000000000000000ll);
	assert_int_equal(pp->duration_nanos, 2000000000ll);
	assert_int_equal(pp->n_mapping, 2);
	assert_int_equal(pp->mapping[0]->id, 1);
	assert_string_equal(str(pp, pp->mapping[0]->filename), "/usr/bin/app");
	assert_string_equal(str(pp, pp->mapping[0]->build_id), "0123456789abcdef");
	assert_int_equal(pp->mapping[0]->memory_start, 0x555500001000);
	assert_int_equal(pp->n_sample, 8);
	for (size_t i = 0; i < pp->n_sample; i++) {
		Perftools__Profiles__Sample *s = pp->sample[i];

		assert_int_equal(s->n_value, 2);
		assert_int_equal(s->value[1], s->value[0] * 10000000);
		for (size_t k = 0; k < s->n_location_id; k++) {
			uint64_t id = s->location_id[k];
			Perftools__Profiles__Location *loc;

			assert_true(id >= 1 && id <= pp->n_location);
			loc = pp->location[id - 1];
			assert_int_equal(loc->id, id);
			assert_int_equal(loc->n_line, 1);
			assert_true(loc->line[0]->function_id >= 1 &&
				    loc->line[0]->function_id <= pp->n_function);
			assert_true(loc->mapping_id <= pp->n_mapping);
		}
		/* Leaf first: the first sample's first location is "compute". */
		if (i == 0) {
			Perftools__Profiles__Location *leaf = pp->location[s->location_id[0] - 1];

			assert_string_equal(
				str(pp, pp->function[leaf->line[0]->function_id - 1]->name),
				"compute");
			saw_leaf_first = true;
		}
		assert_int_equal(s->n_label, 3);
		assert_string_equal(str(pp, s->label[0]->key), "pid");
	}
	assert_true(saw_leaf_first);
	/* Functions are deduplicated by name and module: "main" appears once. */
	{
		int mains = 0;

		for (size_t i = 0; i < pp->n_function; i++) {
			assert_int_equal(pp->function[i]->id, i + 1);
			mains += !strcmp(str(pp, pp->function[i]->name), "main");
		}
		assert_int_equal(mains, 1);
	}
	perftools__profiles__profile__free_unpacked(pp, NULL);
	free(raw);
	free(out);
	profile__free(p);
}

static void test_empty_profile(void **state)
{
	struct profile_meta meta = { .weight_unit = "samples" };
	struct profile *p = profile__new(&meta);
	size_t len;
	char *out;

	(void)state;
	out = render(export_folded, p, &len);
	assert_int_equal(len, 0);
	free(out);
	out = render(export_svg, p, &len);
	assert_non_null(strstr(out, "</svg>"));
	free(out);
	out = render(export_speedscope, p, &len);
	assert_non_null(strstr(out, "\"profiles\":[]"));
	free(out);
	out = render(export_pprof, p, &len);
	assert_true(len > 10);
	free(out);
	profile__free(p);
}

static void test_formats(void **state)
{
	(void)state;
	assert_int_equal(export_format_by_path("x.svg"), EXPORT_SVG);
	assert_int_equal(export_format_by_path("a/b.pb.gz"), EXPORT_PPROF);
	assert_int_equal(export_format_by_path("x.pprof"), EXPORT_PPROF);
	assert_int_equal(export_format_by_path("x.folded"), EXPORT_FOLDED);
	assert_int_equal(export_format_by_path("x.json"), EXPORT_SPEEDSCOPE);
	assert_int_equal(export_format_by_path("x.png"), EXPORT_NONE);
	assert_int_equal(export_format_by_path(".svg"), EXPORT_NONE);
	assert_int_equal(export_format_by_name("speedscope"), EXPORT_SPEEDSCOPE);
	assert_int_equal(export_format_by_name("SVG"), EXPORT_NONE);
	assert_non_null(strstr(export_format_list(), ".pb.gz"));
	assert_string_equal(export_format_name(EXPORT_PPROF), "pprof");
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void test_atomic_write_and_path_checks(void **state)
{
	char dir[] = "/tmp/vigil-export-XXXXXX", path[256], sub[256];
	struct profile *p = synthetic();
	struct export_opts eo = { .annotate_kernel = true };
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.folded", dir);
	assert_int_equal(export_check_path(path), 0);
	assert_int_equal(export_check_path("/nonexistent-dir-vigil/x.svg"), -ENOENT);
	assert_int_equal(export_check_path(dir), -EISDIR);
	assert_int_equal(export_check_path("/proc/self/status/x"), -ENOTDIR);
	assert_int_equal(export_check_path(""), -ENOENT);

	assert_int_equal(export_profile_to_path(p, EXPORT_FOLDED, path, &eo), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0);
	assert_int_equal(count_entries(dir), 1); /* no temporary file left */
	/* Overwriting keeps one file. */
	assert_int_equal(export_profile_to_path(p, EXPORT_SVG, path, &eo), 0);
	assert_int_equal(count_entries(dir), 1);
	/* A directory that vanished: an error, and nothing left behind. */
	snprintf(sub, sizeof(sub), "%s/gone/x.svg", dir);
	assert_int_equal(export_profile_to_path(p, EXPORT_SVG, sub, &eo), -ENOENT);
	/* A read-only place: /proc refuses new files even to root. */
	assert_true(export_profile_to_path(p, EXPORT_SVG, "/proc/vigil-test.svg", &eo) < 0);
	assert_int_equal(count_entries(dir), 1);
	unlink(path);
	rmdir(dir);
	profile__free(p);
}

static char *json_out(void (*fn)(struct json *), bool pretty)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json *j = json__new(f, pretty);

	fn(j);
	assert_int_equal(json__finish(j), 0);
	json__free(j);
	fclose(f);
	return buf;
}

static void doc_escapes(struct json *j)
{
	json__begin_object(j);
	json__kv_str(j, "q", "a\"b\\c\n\t\x01");
	json__kv_str(j, "utf8", "caf\xc3\xa9 \xe2\x82\xac");
	json__kv_str(j, "bad", "x\xff\xc3(y\xed\xa0\x80");
	json__kv_u64(j, "big", 18446744073709551615ull);
	json__kv_i64(j, "neg", -5);
	json__kv_double(j, "nan", 0.0 / 0.0);
	json__kv_double(j, "pi", 3.25);
	json__key(j, "a");
	json__begin_array(j);
	json__begin_array(j);
	json__end_array(j);
	json__begin_object(j);
	json__end_object(j);
	json__null(j);
	json__bool(j, false);
	json__end_array(j);
	json__end_object(j);
}

static void doc_small(struct json *j)
{
	json__begin_object(j);
	json__kv_u64(j, "a", 1);
	json__key(j, "b");
	json__begin_array(j);
	json__u64(j, 2);
	json__end_array(j);
	json__end_object(j);
}

static void test_json_writer(void **state)
{
	char *s = json_out(doc_escapes, false);

	(void)state;
	assert_string_equal(
		s, "{\"q\":\"a\\\"b\\\\c\\n\\t\\u0001\","
		   "\"utf8\":\"caf\xc3\xa9 \xe2\x82\xac\","
		   "\"bad\":\"x\xef\xbf\xbd\xef\xbf\xbd(y\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\","
		   "\"big\":18446744073709551615,\"neg\":-5,\"nan\":null,\"pi\":3.25,"
		   "\"a\":[[],{},null,false]}");
	free(s);
	s = json_out(doc_small, true);
	assert_string_equal(s, "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}");
	free(s);
	{
		/* Unbalanced documents are reported. */
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		struct json *j = json__new(f, false);

		json__begin_object(j);
		assert_int_equal(json__finish(j), -EINVAL);
		json__free(j);
		fclose(f);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_svg),
		cmocka_unit_test(test_speedscope),
		cmocka_unit_test(test_pprof_round_trip),
		cmocka_unit_test(test_empty_profile),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_atomic_write_and_path_checks),
		cmocka_unit_test(test_json_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
