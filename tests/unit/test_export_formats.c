// SPDX-License-Identifier: GPL-2.0
/*
 * Every exporter on one synthetic profile: the facts each output must hold, spelled out, then the whole
 * output against a golden file in tests/unit/golden/. The pprof output is gunzipped, unpacked with
 * protobuf-c and compared field by field (as a text dump with the strings resolved), not as bytes.
 *
 *   VIGIL_UPDATE_GOLDEN=1 .output/tests/test_export_formats   rewrites the golden files
 *   VIGIL_EXPORT_OUT=DIR  .output/tests/test_export_formats   also writes every output into DIR
 *                                                             (for go tool pprof and the browser checks)
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "export/export.h"
#include "model/profile.h"
#include "profile.pb-c.h"

#define GOLDEN "tests/unit/golden/"
#define PERIOD 10000000ull

/*
 * Two processes; user, kernel (with and without a mapping), unknown and special frames; names with
 * ';', '<', '&', '"', a byte that is not UTF-8, recursion and an off-CPU style "--" separator:
 *
 *   app (pid 10)  main;work;compute                  20 (tid 10) + 10 (tid 11)
 *                 main;work;compute;<timer irq [k]>  10
 *                 main;io;read;<entry_SYSCALL_64 [k]> 5
 *                 main;rec;rec;rec                   4
 *   db  (pid 20)  run;op<T>&;x"q"                    5
 *                 [lost];<entry_SYSCALL_64 [k]>      2
 *                 (no frames)                        1
 *                 <[unknown]+0x7f0000001234>         3 (tid 21)
 *                 run;--;waker\xff                   4
 *                 run;<ext4_file_write_iter [k], no mapping> 6
 */
static struct profile *synthetic(void)
{
	struct profile_meta meta = { .count_type = "samples",
				     .count_unit = "count",
				     .value_type = "cpu",
				     .value_unit = "nanoseconds",
				     .weight_unit = "samples",
				     .period = PERIOD,
				     .start_ns = 1700000000000000000ull,
				     .duration_ns = 2000000000ull,
				     .title = "synthetic <profile> & co" };
	struct profile *p = profile__new(&meta);
	struct profile_mapping app = { 0x555500001000, 0x555500005000, 0x1000, "/usr/bin/app",
				       "0123456789abcdef" };
	struct profile_mapping kern = { 0xffffffff81000000, 0xffffffff82000000, 0,
					"[kernel.kallsyms]", "" };
	struct profile_mapping libc = { 0x7f0000000000, 0x7f0000100000, 0,
					"/lib/x86_64-linux-gnu/libc.so.6", "" };
	__u32 ml, ma, mk, main_, work, compute, io, read_, sys, irq, run, op, lost, unk, rec, sep,
		waker, ext4;

	assert_non_null(p);
	/* libc first: pprof's first mapping must still be the main binary, app. */
	ml = profile__add_mapping(p, &libc);
	ma = profile__add_mapping(p, &app);
	mk = profile__add_mapping(p, &kern);
	assert_int_equal(ml, 1);
	assert_int_equal(ma, 2);
	assert_int_equal(mk, 3);
#define F(name, mod, addr, map, kind) \
	profile__add_frame(p, &(struct profile_frame){ name, mod, addr, map, kind })
	main_ = F("main", "app", 0x555500001100, ma, FRAME_USER);
	work = F("work", "app", 0x555500001200, ma, FRAME_USER);
	compute = F("compute", "app", 0x555500001300, ma, FRAME_USER);
	io = F("io", "app", 0x555500001400, ma, FRAME_USER);
	read_ = F("read", "libc.so.6", 0x7f0000000100, ml, FRAME_USER);
	sys = F("entry_SYSCALL_64", "[kernel.kallsyms]", 0xffffffff81000100, mk, FRAME_KERNEL);
	irq = F("asm_sysvec_apic_timer_interrupt", "[kernel.kallsyms]", 0xffffffff81000200, mk,
		FRAME_KERNEL);
	run = F("run", "db", 0x1000, 0, FRAME_USER);
	op = F("op<T>&;x\"q\"", "db", 0x1100, 0, FRAME_USER);
	lost = F("[user stack lost: stack map collision]", "", 0, 0, FRAME_SPECIAL);
	unk = F("[unknown]+0x7f0000001234", "[unknown]", 0x7f0000001234, 0, FRAME_UNKNOWN);
	rec = F("rec", "app", 0x555500001500, ma, FRAME_USER);
	sep = F("--", "", 0, 0, FRAME_SPECIAL);
	waker = F("waker\xff", "db", 0x1200, 0, FRAME_USER);
	ext4 = F("ext4_file_write_iter", "[ext4]", 0xffffffffc0001000, 0, FRAME_KERNEL);
#undef F
	{
		struct {
			const char *comm;
			__u32 pid, tid, n, f[5];
			__u64 count;
		} st[] = {
			{ "app", 10, 10, 3, { main_, work, compute }, 20 },
			{ "app", 10, 11, 3, { main_, work, compute }, 10 },
			{ "app", 10, 10, 4, { main_, work, compute, irq }, 10 },
			{ "app", 10, 10, 4, { main_, io, read_, sys }, 5 },
			{ "app", 10, 10, 4, { main_, rec, rec, rec }, 4 },
			{ "db", 20, 20, 2, { run, op }, 5 },
			{ "db", 20, 20, 2, { lost, sys }, 2 },
			{ "db", 20, 20, 0, { 0 }, 1 },
			{ "db", 20, 21, 1, { unk }, 3 },
			{ "db", 20, 0, 3, { run, sep, waker }, 4 },
			{ "db", 20, 20, 2, { run, ext4 }, 6 },
		};

		for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
			struct profile_stack s = {
				st[i].comm, st[i].pid,	 st[i].tid,	      st[i].n,
				st[i].f,    st[i].count, st[i].count * PERIOD
			};

			assert_int_equal(profile__add_stack(p, &s), 0);
		}
	}
	return p;
}

#define TOTAL_SAMPLES 70 /* the counts above, added up */

typedef int (*export_fn)(const struct profile *, FILE *, const struct export_opts *);

static char *render_opts(export_fn fn, const struct profile *p, const struct export_opts *eo,
			 size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(fn(p, f, eo), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static char *render(export_fn fn, const struct profile *p, size_t *len)
{
	struct export_opts eo = { .annotate_kernel = true };

	return render_opts(fn, p, &eo, len);
}

static void save_output(const char *name, const void *data, size_t len)
{
	const char *dir = getenv("VIGIL_EXPORT_OUT");
	char path[4096];
	FILE *f;

	if (!dir || !*dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void golden(const char *name, const char *got, size_t len)
{
	char path[256], *want;
	size_t line = 1;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), GOLDEN "%s", name);
	if (getenv("VIGIL_UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(got, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
		return;
	}
	f = fopen(path, "r");
	if (!f)
		fail_msg("missing golden file %s (run with VIGIL_UPDATE_GOLDEN=1)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	want = malloc(n + 1);
	assert_non_null(want);
	assert_int_equal(fread(want, 1, n, f), n);
	want[n] = '\0';
	fclose(f);
	for (size_t i = 0; i < len && i < (size_t)n; i++) {
		if (want[i] != got[i])
			fail_msg("%s differs from %s at byte %zu (line %zu)", name, path, i, line);
		line += got[i] == '\n';
	}
	if ((size_t)n != len)
		fail_msg("%s: %zu bytes, golden file %s has %ld", name, len, path, n);
	free(want);
}

/* The line of text that contains needle's first occurrence, for messages. */
static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("output lacks \"%s\"", needle);
}

static void test_folded(void **state)
{
	struct profile *p = synthetic();
	struct export_opts plain = { 0 };
	size_t len, lines = 0;
	unsigned long long sum = 0;
	char *out = render(export_folded, p, &len), *prev = NULL;

	(void)state;
	assert_contains(out, "app;main;work;compute 30\n"); /* two threads merged */
	assert_contains(out, "app;main;work;compute;asm_sysvec_apic_timer_interrupt_[k] 10\n");
	assert_contains(out, "app;main;io;read;entry_SYSCALL_64_[k] 5\n");
	assert_contains(out, "app;main;rec;rec;rec 4\n");
	assert_contains(out, "db;run;op<T>&:x\"q\" 5\n"); /* ';' replaced: still 3 frames */
	assert_contains(out, "db 1\n"); /* a sample without frames: the process alone */
	assert_contains(out, "db;run;ext4_file_write_iter_[k] 6\n");
	/* Every line "frames COUNT", lines sorted and distinct, counts adding up to the total. */
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
		char *sp = strrchr(l, ' ');

		assert_non_null(sp);
		assert_true(sp[1] >= '1' && sp[1] <= '9');
		sum += strtoull(sp + 1, NULL, 10);
		*sp = '\0';
		if (prev)
			assert_true(strcmp(prev, l) < 0);
		prev = l;
		lines++;
	}
	assert_int_equal(sum, TOTAL_SAMPLES);
	assert_int_equal(lines, 10);
	free(out);

	out = render(export_folded, p, &len);
	save_output("profile.folded", out, len);
	golden("profile.folded", out, len);
	free(out);

	/* Without annotation, kernel frames are bare; per thread, the root is comm-tid. */
	plain.per_thread = true;
	out = render_opts(export_folded, p, &plain, &len);
	assert_contains(out, "app-10;main;work;compute 20\n");
	assert_contains(out, "app-11;main;work;compute 10\n");
	assert_contains(out, "app-10;main;io;read;entry_SYSCALL_64 5\n");
	assert_null(strstr(out, "_[k]"));
	free(out);
	profile__free(p);
}

static void test_top(void **state)
{
	struct profile *p = synthetic();
	char *buf = NULL, *l;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rows = 0;

	(void)state;
	assert_int_equal(export_top(p, f, 0), 0);
	fclose(f);
	save_output("profile.top", buf, len);
	/* compute: self 30 of 70 = 42.86%, total 40 = 57.14%. rec recurses: total 4, not 12.
	 * run: self 4 (run;--;waker: the waker part is not its cost), total 5 + 4 + 6 = 15; it ties
	 * with rec on self weight and comes first on total. */
	assert_contains(buf, " 42.86%  57.14%      30  compute");
	assert_contains(buf, "  5.71%   5.71%       4  rec ");
	assert_contains(buf, "  5.71%  21.43%       4  run ");
	assert_true(strstr(buf, "  run ") < strstr(buf, "  rec "));
	assert_null(strstr(buf, "waker")); /* after "--": no cost */
	assert_null(strstr(buf, " main ")); /* no self weight: not listed */
	assert_true(strncmp(buf, "  SELF%  TOTAL% samples  FUNCTION", 33) == 0);
	for (l = buf; (l = strchr(l, '\n')); l++)
		rows++;
	assert_int_equal(rows, 1 + 9);
	golden("profile.top", buf, len);
	free(buf);

	/* n limits the rows; the header stays. */
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(export_top(p, f, 2), 0);
	fclose(f);
	rows = 0;
	for (l = buf; (l = strchr(l, '\n')); l++)
		rows++;
	assert_int_equal(rows, 3);
	assert_contains(buf, "compute");
	free(buf);
	profile__free(p);
}

/*
 * Well-formed XML, checked by hand: tags balance, '<' only starts markup, '&' only starts one of
 * the five entities or a character reference, CDATA sections skipped. Returns the element count.
 */
static int check_xml(const char *s)
{
	const char *stack[256];
	int depth = 0, elements = 0;

	while (*s) {
		if (!strncmp(s, "<![CDATA[", 9)) {
			s = strstr(s, "]]>");
			assert_non_null(s);
			s += 3;
		} else if (!strncmp(s, "<?", 2)) {
			s = strstr(s, "?>");
			assert_non_null(s);
			s += 2;
		} else if (!strncmp(s, "</", 2)) {
			size_t n = strcspn(s + 2, ">");

			assert_true(depth > 0);
			depth--;
			if (strncmp(stack[depth], s + 2, n) || !strchr(" >/\n", stack[depth][n]))
				fail_msg("</%.*s> closes <%.20s", (int)n, s + 2, stack[depth]);
			s += 2 + n + 1;
		} else if (*s == '<') {
			const char *end = s + 1;
			char quote = 0;

			assert_true((end[0] >= 'a' && end[0] <= 'z') ||
				    (end[0] >= 'A' && end[0] <= 'Z'));
			for (; *end && (quote || *end != '>'); end++) {
				if (quote && *end == '<')
					fail_msg("'<' in an attribute value: %.40s", s);
				if (*end == '"' || *end == '\'')
					quote = quote == *end ? 0 : quote ? quote : *end;
			}
			assert_int_equal(*end, '>');
			elements++;
			if (end[-1] != '/') {
				assert_true(depth < 256);
				stack[depth++] = s + 1;
			}
			s = end + 1;
		} else if (*s == '&') {
			static const char *const ents[] = { "&amp;",  "&lt;",	"&gt;",
							    "&quot;", "&apos;", "&#" };
			bool ok = false;

			for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
				ok |= !strncmp(s, ents[i], strlen(ents[i]));
			if (!ok)
				fail_msg("bare '&': %.40s", s);
			s++;
		} else if (*s == '>') {
			fail_msg("bare '>' in text: %.40s", s);
		} else {
			s++;
		}
	}
	assert_int_equal(depth, 0);
	return elements;
}

/* Valid UTF-8 throughout. */
static void check_utf8(const char *s, size_t len)
{
	char *copy = malloc(len + 1);
	size_t i = 0;

	assert_non_null(copy);
	memcpy(copy, s, len);
	copy[len] = '\0';
	while (i < len) {
		unsigned char c = (unsigned char)copy[i];
		int n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;

		assert_true(c < 0x80 || (c >= 0xc2 && c <= 0xf4));
		for (int k = 1; k < n; k++)
			assert_true(i + k < len && ((unsigned char)copy[i + k] & 0xc0) == 0x80);
		i += n;
	}
	free(copy);
}

/* The y of the rectangle of the frame named name. */
static double rect_y(const char *svg, const char *name)
{
	char needle[128];
	const char *t, *y;
	double v;

	snprintf(needle, sizeof(needle), "<title>%s (", name);
	t = strstr(svg, needle);
	assert_non_null(t);
	y = strstr(t, "<rect ");
	assert_non_null(y);
	y = strstr(y, " y=\"");
	assert_non_null(y);
	assert_int_equal(sscanf(y, " y=\"%lf\"", &v), 1);
	return v;
}

static void test_svg(void **state)
{
	struct profile *p = synthetic();
	size_t len;
	char *out = render(export_svg, p, &len);
	const char *g;
	int frames = 0;

	(void)state;
	assert_true(len > 100);
	assert_true(!strncmp(out, "<?xml", 5) && !strcmp(out + len - 7, "</svg>\n"));
	check_xml(out);
	check_utf8(out, len);
	/* Names and the title escaped; the byte that is not UTF-8 replaced. */
	assert_contains(out, "<title>op&lt;T&gt;&amp;:x&quot;q&quot; (5 samples, 7.14%)</title>");
	assert_contains(out, ">synthetic &lt;profile&gt; &amp; co</text>");
	assert_contains(out, "waker\xef\xbf\xbd (4 samples");
	assert_null(strstr(out, "op<T>"));
	/* Self-contained: the only URL is the SVG namespace. */
	assert_null(strstr(out, "href"));
	assert_null(strstr(out, "@import"));
	assert_null(strstr(out, "url("));
	assert_null(strstr(strstr(out, "http://www.w3.org/2000/svg") + 1, "http"));
	assert_null(strstr(out, "https:"));
	/* Weights and shares: the root holds everything; compute has 40 of 70. */
	assert_contains(out, "<title>all (70 samples, 100.00%)</title>");
	assert_contains(out, "<title>compute (40 samples, 57.14%)</title>");
	assert_contains(out, "<title>rec (4 samples, 5.71%)</title>");
	/* Subtitle: total weight and duration. */
	assert_contains(out, ">70 samples in 2.00 s");
	/* Kernel frames orange (red 230+, green 130-180, blue < 40), user frames red (green < 90),
	 * unknown and special frames grey. */
	for (g = strstr(out, "<g data-x"); g; g = strstr(g + 1, "<g data-x")) {
		int r, gr, b;
		const char *t = strstr(g, "<title>") + 7, *fill = strstr(g, "data-f=\"rgb(");

		assert_non_null(fill);
		assert_int_equal(sscanf(fill, "data-f=\"rgb(%d,%d,%d)", &r, &gr, &b), 3);
		if (strstr(t, "_[k] (") && strstr(t, "_[k] (") < strchr(t, '<'))
			assert_true(r >= 230 && gr >= 130 && gr <= 180 && b < 40);
		else if (!strncmp(t, "compute (", 9) || !strncmp(t, "main (", 6))
			assert_true(r >= 205 && gr < 90 && b < 55);
		else if (!strncmp(t, "[unknown]", 9) || !strncmp(t, "[user stack lost", 16))
			assert_true(r == gr && gr == b);
		frames++;
	}
	/* One <g> per node of the merged tree: all, 2 processes, 10 + 8 frames below them. */
	assert_int_equal(frames, 21);
	/* Root at the bottom: "all" is drawn lowest (largest y), a process above it, main above. */
	assert_true(rect_y(out, "all") > rect_y(out, "app"));
	assert_true(rect_y(out, "app") > rect_y(out, "main"));
	assert_true(rect_y(out, "main") > rect_y(out, "work"));
	/* The interaction is in the file. */
	assert_contains(out, "function search(");
	assert_contains(out, "function zoom(");
	assert_contains(out, "id=\"searchbox\"");
	assert_contains(out, "id=\"unzoom\"");
	save_output("profile.svg", out, len);
	golden("profile.svg", out, len);
	free(out);

	/* The caller's title wins over the profile's. */
	{
		struct export_opts eo = { .title = "T<1>" };

		out = render_opts(export_svg, p, &eo, &len);
		assert_contains(out, "<text id=\"title\" x=\"600\" y=\"24\">T&lt;1&gt;</text>");
		free(out);
		out = render_opts(export_speedscope, p, &eo, &len);
		assert_contains(out, "\"name\":\"T<1>\"");
		free(out);
	}

	/* Two runs, same bytes: colours and order do not depend on anything but the profile. */
	{
		size_t len2;
		char *a = render(export_svg, p, &len), *b = render(export_svg, p, &len2);

		assert_int_equal(len, len2);
		assert_memory_equal(a, b, len);
		free(a);
		free(b);
	}
	profile__free(p);
}

static void test_speedscope(void **state)
{
	struct profile *p = synthetic();
	size_t len;
	char *out = render(export_speedscope, p, &len);
	const char *app, *db;

	(void)state;
	check_utf8(out, len);
	assert_contains(out, "\"$schema\":\"https://www.speedscope.app/file-format-schema.json\"");
	assert_contains(out, "\"exporter\":\"vigil\"");
	assert_contains(out, "\"activeProfileIndex\":0");
	/* app first: it weighs more (49 samples x 10 ms against 21). */
	app = strstr(out, "{\"type\":\"sampled\",\"name\":\"app\",\"unit\":\"nanoseconds\","
			  "\"startValue\":0,\"endValue\":490000000,");
	db = strstr(out, "{\"type\":\"sampled\",\"name\":\"db\",\"unit\":\"nanoseconds\","
			 "\"startValue\":0,\"endValue\":210000000,");
	assert_non_null(app);
	assert_non_null(db);
	assert_true(app < db);
	/* Frames: escaped, the bad byte replaced, modules as files; processes are not frames. */
	assert_contains(out, "{\"name\":\"op<T>&:x\\\"q\\\"\",\"file\":\"db\"}");
	assert_contains(out, "{\"name\":\"waker\xef\xbf\xbd\",\"file\":\"db\"}");
	assert_null(strstr(out, "{\"name\":\"app\""));
	/* Samples are root first: frame 0 is main, the first root. */
	assert_contains(out, "\"frames\":[{\"name\":\"main\",\"file\":\"app\"}");
	save_output("profile.speedscope.json", out, len);
	golden("profile.speedscope.json", out, len);
	free(out);
	profile__free(p);

	/* Values that are not nanoseconds: unit "none", the weights. */
	{
		struct profile_meta meta = { .count_type = "events",
					     .count_unit = "count",
					     .value_type = "alloc_space",
					     .value_unit = "bytes",
					     .weight_unit = "KiB",
					     .weight_div = 1024 };
		__u32 fr;

		p = profile__new(&meta);
		assert_non_null(p);
		fr = profile__add_frame(p,
					&(struct profile_frame){ "alloc", "a", 1, 0, FRAME_USER });
		assert_int_equal(profile__add_stack(
					 p, &(struct profile_stack){ "a", 1, 1, 1, &fr, 3, 4096 }),
				 0);
		out = render(export_speedscope, p, &len);
		assert_contains(out, "\"unit\":\"none\",\"startValue\":0,\"endValue\":4,"
				     "\"samples\":[[0]],\"weights\":[4]");
		free(out);
		profile__free(p);
	}
}

static uint8_t *gunzip(const char *in, size_t len, size_t *outlen)
{
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);
	z_stream zs = { 0 };

	assert_non_null(out);
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

static Perftools__Profiles__Profile *unpack(const char *gz, size_t len)
{
	Perftools__Profiles__Profile *pp;
	size_t rawlen;
	uint8_t *raw;

	assert_true(len > 2 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
	raw = gunzip(gz, len, &rawlen);
	pp = perftools__profiles__profile__unpack(NULL, rawlen, raw);
	free(raw);
	assert_non_null(pp);
	return pp;
}

static const char *str(const Perftools__Profiles__Profile *pp, int64_t i)
{
	if (i < 0 || (size_t)i >= pp->n_string_table)
		fail_msg("string index %lld out of the table (%zu)", (long long)i,
			 pp->n_string_table);
	return pp->string_table[i];
}

/* A string as a C literal, so the dump is plain ASCII whatever the names hold. */
static void dump_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Every field of the decoded profile, strings resolved, one record a line. */
static char *dump_pprof(const Perftools__Profiles__Profile *pp, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	fprintf(f, "sample_type");
	for (size_t i = 0; i < pp->n_sample_type; i++)
		fprintf(f, " %s/%s", str(pp, pp->sample_type[i]->type),
			str(pp, pp->sample_type[i]->unit));
	assert_non_null(pp->period_type);
	fprintf(f, "\nperiod_type %s/%s\nperiod %lld\n", str(pp, pp->period_type->type),
		str(pp, pp->period_type->unit), (long long)pp->period);
	fprintf(f, "time_nanos %lld\nduration_nanos %lld\ndefault_sample_type %s\n",
		(long long)pp->time_nanos, (long long)pp->duration_nanos,
		str(pp, pp->default_sample_type));
	fprintf(f, "drop_frames %s\nkeep_frames %s\n", str(pp, pp->drop_frames),
		str(pp, pp->keep_frames));
	for (size_t i = 0; i < pp->n_comment; i++) {
		fprintf(f, "comment ");
		dump_str(f, str(pp, pp->comment[i]));
		fputc('\n', f);
	}
	for (size_t i = 0; i < pp->n_mapping; i++) {
		const Perftools__Profiles__Mapping *m = pp->mapping[i];

		fprintf(f, "mapping %llu 0x%llx-0x%llx offset 0x%llx file ",
			(unsigned long long)m->id, (unsigned long long)m->memory_start,
			(unsigned long long)m->memory_limit, (unsigned long long)m->file_offset);
		dump_str(f, str(pp, m->filename));
		fprintf(f, " build_id ");
		dump_str(f, str(pp, m->build_id));
		fprintf(f, " has functions=%d filenames=%d lines=%d inline=%d\n", m->has_functions,
			m->has_filenames, m->has_line_numbers, m->has_inline_frames);
	}
	for (size_t i = 0; i < pp->n_location; i++) {
		const Perftools__Profiles__Location *l = pp->location[i];

		fprintf(f, "location %llu mapping %llu addr 0x%llx folded %d lines",
			(unsigned long long)l->id, (unsigned long long)l->mapping_id,
			(unsigned long long)l->address, l->is_folded);
		for (size_t k = 0; k < l->n_line; k++)
			fprintf(f, " fn%llu:%lld", (unsigned long long)l->line[k]->function_id,
				(long long)l->line[k]->line);
		fputc('\n', f);
	}
	for (size_t i = 0; i < pp->n_function; i++) {
		const Perftools__Profiles__Function *fn = pp->function[i];

		fprintf(f, "function %llu name ", (unsigned long long)fn->id);
		dump_str(f, str(pp, fn->name));
		fprintf(f, " system ");
		dump_str(f, str(pp, fn->system_name));
		fprintf(f, " file ");
		dump_str(f, str(pp, fn->filename));
		fprintf(f, " start_line %lld\n", (long long)fn->start_line);
	}
	for (size_t i = 0; i < pp->n_sample; i++) {
		const Perftools__Profiles__Sample *s = pp->sample[i];

		fprintf(f, "sample locations [");
		for (size_t k = 0; k < s->n_location_id; k++)
			fprintf(f, "%s%llu", k ? " " : "", (unsigned long long)s->location_id[k]);
		fprintf(f, "] values [");
		for (size_t k = 0; k < s->n_value; k++)
			fprintf(f, "%s%lld", k ? " " : "", (long long)s->value[k]);
		fprintf(f, "] labels");
		for (size_t k = 0; k < s->n_label; k++) {
			const Perftools__Profiles__Label *l = s->label[k];

			fprintf(f, " %s=", str(pp, l->key));
			if (l->str)
				dump_str(f, str(pp, l->str));
			else
				fprintf(f, "%lld%s%s", (long long)l->num, l->num_unit ? "/" : "",
					l->num_unit ? str(pp, l->num_unit) : "");
		}
		fputc('\n', f);
	}
	fprintf(f, "strings %zu\n", pp->n_string_table);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static const char *fn_name_of(const Perftools__Profiles__Profile *pp, uint64_t loc_id)
{
	const Perftools__Profiles__Location *loc;

	assert_true(loc_id >= 1 && loc_id <= pp->n_location);
	loc = pp->location[loc_id - 1];
	assert_int_equal(loc->id, loc_id);
	return str(pp, pp->function[loc->line[0]->function_id - 1]->name);
}

static void test_pprof(void **state)
{
	struct profile *p = synthetic();
	Perftools__Profiles__Profile *pp;
	size_t len, dlen;
	char *out = render(export_pprof, p, &len), *dump;
	__u64 counts = 0, values = 0;

	(void)state;
	save_output("profile.pb.gz", out, len);
	pp = unpack(out, len);
	assert_int_equal(pp->n_string_table > 0, 1);
	assert_string_equal(pp->string_table[0], "");
	for (size_t i = 0; i < pp->n_string_table; i++)
		check_utf8(pp->string_table[i], strlen(pp->string_table[i]));
	assert_int_equal(pp->n_sample_type, 2);
	assert_string_equal(str(pp, pp->sample_type[0]->type), "samples");
	assert_string_equal(str(pp, pp->sample_type[0]->unit), "count");
	assert_string_equal(str(pp, pp->sample_type[1]->type), "cpu");
	assert_string_equal(str(pp, pp->sample_type[1]->unit), "nanoseconds");
	assert_string_equal(str(pp, pp->period_type->type), "cpu");
	assert_string_equal(str(pp, pp->period_type->unit), "nanoseconds");
	assert_int_equal(pp->period, PERIOD);
	assert_int_equal(pp->time_nanos, 1700000000000000000ll);
	assert_int_equal(pp->duration_nanos, 2000000000ll);

	/* Mappings: the three of the profile, the main binary (app: the comm) moved first, and the
	 * kernel one made for the ext4 frame, which came without. */
	assert_int_equal(pp->n_mapping, 4);
	for (size_t i = 0; i < pp->n_mapping; i++)
		assert_int_equal(pp->mapping[i]->id, i + 1);
	assert_string_equal(str(pp, pp->mapping[0]->filename), "/usr/bin/app");
	assert_string_equal(str(pp, pp->mapping[0]->build_id), "0123456789abcdef");
	assert_int_equal(pp->mapping[0]->memory_start, 0x555500001000);
	assert_int_equal(pp->mapping[0]->memory_limit, 0x555500005000);
	assert_int_equal(pp->mapping[0]->file_offset, 0x1000);
	assert_string_equal(str(pp, pp->mapping[1]->filename), "/lib/x86_64-linux-gnu/libc.so.6");
	assert_string_equal(str(pp, pp->mapping[2]->filename), "[kernel.kallsyms]");
	assert_int_equal(pp->mapping[2]->memory_start, 0xffffffff81000000);
	assert_string_equal(str(pp, pp->mapping[3]->filename), "[kernel.kallsyms]");
	assert_true(pp->mapping[3]->memory_start <= 0xffffffffc0001000 &&
		    pp->mapping[3]->memory_limit > 0xffffffffc0001000);

	/* Locations: one per frame, ids 1..n, each with one line naming an existing function;
	 * kernel frames in a kernel mapping, special frames in none. */
	assert_int_equal(pp->n_location, profile__nr_frames(p));
	for (size_t i = 0; i < pp->n_location; i++) {
		const Perftools__Profiles__Location *l = pp->location[i];
		const struct profile_frame *fr = profile__frame(p, (__u32)(i + 1));

		assert_int_equal(l->id, i + 1);
		assert_int_equal(l->n_line, 1);
		assert_true(l->line[0]->function_id >= 1 &&
			    l->line[0]->function_id <= pp->n_function);
		/* Names as given, but always UTF-8 (proto3 strings): the stray byte replaced. */
		if (!strcmp(fr->name, "waker\xff"))
			assert_string_equal(fn_name_of(pp, l->id), "waker\xef\xbf\xbd");
		else
			assert_string_equal(fn_name_of(pp, l->id), fr->name);
		assert_int_equal(l->address, fr->addr);
		if (fr->kind == FRAME_KERNEL)
			assert_string_equal(str(pp, pp->mapping[l->mapping_id - 1]->filename),
					    "[kernel.kallsyms]");
		else if (fr->kind == FRAME_SPECIAL)
			assert_int_equal(l->mapping_id, 0);
		else if (!fr->mapping)
			assert_int_equal(l->mapping_id, 0);
		else
			assert_string_equal(str(pp, pp->mapping[l->mapping_id - 1]->filename),
					    profile__mapping(p, fr->mapping)->path);
	}
	/* Functions: ids 1..n, distinct by (name, file); file is the mapping's path. */
	for (size_t i = 0; i < pp->n_function; i++) {
		const Perftools__Profiles__Function *fn = pp->function[i];

		assert_int_equal(fn->id, i + 1);
		assert_int_equal(fn->system_name, fn->name);
		for (size_t k = 0; k < i; k++)
			assert_false(pp->function[k]->name == fn->name &&
				     pp->function[k]->filename == fn->filename);
		if (!strcmp(str(pp, fn->name), "main"))
			assert_string_equal(str(pp, fn->filename), "/usr/bin/app");
		if (!strcmp(str(pp, fn->name), "read"))
			assert_string_equal(str(pp, fn->filename),
					    "/lib/x86_64-linux-gnu/libc.so.6");
	}

	/* Samples: one per profile stack, leaf first, [count, value], labels. */
	assert_int_equal(pp->n_sample, profile__nr_stacks(p));
	for (size_t i = 0; i < pp->n_sample; i++) {
		const Perftools__Profiles__Sample *s = pp->sample[i];
		const struct profile_stack *ps = profile__stack(p, i);

		assert_int_equal(s->n_value, pp->n_sample_type);
		assert_int_equal(s->value[0], ps->count);
		assert_int_equal(s->value[1], ps->count * PERIOD);
		counts += s->value[0];
		values += s->value[1];
		assert_int_equal(s->n_location_id, ps->nframes);
		for (size_t k = 0; k < s->n_location_id; k++)
			assert_int_equal(s->location_id[k], ps->frames[ps->nframes - 1 - k]);
		assert_true(s->n_label >= 2);
		assert_string_equal(str(pp, s->label[0]->key), "pid");
		assert_int_equal(s->label[0]->num, ps->pid);
		assert_string_equal(str(pp, s->label[s->n_label - 1]->key), "comm");
		assert_string_equal(str(pp, s->label[s->n_label - 1]->str), ps->comm);
		/* tid only when known */
		assert_int_equal(s->n_label, ps->tid ? 3 : 2);
	}
	assert_string_equal(fn_name_of(pp, pp->sample[0]->location_id[0]), "compute");
	assert_string_equal(fn_name_of(pp, pp->sample[2]->location_id[0]),
			    "asm_sysvec_apic_timer_interrupt");
	assert_string_equal(fn_name_of(pp, pp->sample[2]->location_id[3]), "main");
	assert_int_equal(counts, TOTAL_SAMPLES);
	assert_int_equal(values, TOTAL_SAMPLES * PERIOD);

	dump = dump_pprof(pp, &dlen);
	golden("profile.pprof.txt", dump, dlen);
	free(dump);
	perftools__profiles__profile__free_unpacked(pp, NULL);
	free(out);
	profile__free(p);
}

static void test_empty_profile(void **state)
{
	struct profile_meta meta = { .weight_unit = "samples" };
	struct profile *p = profile__new(&meta);
	Perftools__Profiles__Profile *pp;
	char *buf = NULL;
	size_t len;
	FILE *f;
	char *out;

	(void)state;
	assert_non_null(p);
	out = render(export_folded, p, &len);
	assert_int_equal(len, 0);
	free(out);
	out = render(export_svg, p, &len);
	check_xml(out);
	assert_contains(out, "(no samples)");
	assert_contains(out, "<text id=\"title\" x=\"600\" y=\"24\">vigil</text>");
	free(out);
	out = render(export_speedscope, p, &len);
	assert_contains(out, "\"shared\":{\"frames\":[]},\"profiles\":[]");
	free(out);
	out = render(export_pprof, p, &len);
	pp = unpack(out, len);
	assert_string_equal(pp->string_table[0], "");
	assert_int_equal(pp->n_sample, 0);
	assert_int_equal(pp->n_sample_type, 2);
	perftools__profiles__profile__free_unpacked(pp, NULL);
	free(out);
	f = open_memstream(&buf, &len);
	assert_int_equal(export_top(p, f, 10), 0);
	fclose(f);
	assert_contains(buf, "(no samples)");
	free(buf);
	profile__free(p);
}

/* A stream that fails: every exporter says -EIO rather than success. */
static void test_write_errors(void **state)
{
	struct profile *p = synthetic();
	struct export_opts eo = { .annotate_kernel = true };
	export_fn fns[] = { export_folded, export_svg, export_pprof, export_speedscope };
	FILE *f;

	(void)state;
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		f = fopen("/dev/full", "w");
		assert_non_null(f);
		setvbuf(f, NULL, _IONBF, 0);
		assert_int_equal(fns[i](p, f, &eo), -EIO);
		fclose(f);
	}
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(export_top(p, f, 0), -EIO);
	fclose(f);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded),	     cmocka_unit_test(test_top),
		cmocka_unit_test(test_svg),	     cmocka_unit_test(test_speedscope),
		cmocka_unit_test(test_pprof),	     cmocka_unit_test(test_empty_profile),
		cmocka_unit_test(test_write_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
