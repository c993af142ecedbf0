// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "export/histogram.h"
#include "export/prom.h"

const char *prom_escape(const char *v, char *buf, size_t len)
{
	size_t o = 0;

	for (; v && *v && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"') {
			buf[o++] = '\\';
			buf[o++] = *v;
		} else if (*v == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *v;
		}
	}
	buf[o] = '\0';
	return buf;
}

void prom_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void labels(FILE *out, const struct prom_label *l, size_t n, const char *le)
{
	char buf[512];

	if (!n && !le)
		return;
	fputc('{', out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s=\"%s\"", i ? "," : "", l[i].name,
			prom_escape(l[i].value, buf, sizeof(buf)));
	if (le)
		fprintf(out, "%sle=\"%s\"", n ? "," : "", le);
	fputc('}', out);
}

static void value(FILE *out, double v)
{
	if (isnan(v))
		fputs(" NaN\n", out);
	else if (isinf(v))
		fputs(v > 0 ? " +Inf\n" : " -Inf\n", out);
	else if (v == (double)(long long)v && fabs(v) < 1e15)
		fprintf(out, " %lld\n", (long long)v);
	else
		fprintf(out, " %.9g\n", v);
}

void prom_sample(FILE *out, const char *name, const struct prom_label *l, size_t n, double v)
{
	fputs(name, out);
	labels(out, l, n, NULL);
	value(out, v);
}

void prom_histogram(FILE *out, const char *name, const struct prom_label *l, size_t n,
		    const struct vg_hist *h)
{
	unsigned long long cum = 0;
	char le[32];

	for (__u32 i = 0; i < VG_LE_BOUNDS; i++) {
		cum += h->le[i];
		fprintf(out, "%s_bucket", name);
		labels(out, l, n, hist_le_label(i, le, sizeof(le)));
		fprintf(out, " %llu\n", cum);
	}
	fprintf(out, "%s_bucket", name);
	labels(out, l, n, "+Inf");
	fprintf(out, " %llu\n", (unsigned long long)h->count);
	fprintf(out, "%s_sum", name);
	labels(out, l, n, NULL);
	fprintf(out, " %.9f\n", (double)h->sum_ns / 1e9);
	fprintf(out, "%s_count", name);
	labels(out, l, n, NULL);
	fprintf(out, " %llu\n", (unsigned long long)h->count);
}
