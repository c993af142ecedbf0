// SPDX-License-Identifier: GPL-2.0
/* Latency histograms written out: bcc's log2 text layout and Prometheus text format 0.0.4. */
#include <errno.h>
#include <stdio.h>

#include "export/histogram.h"

#define ROWS 64

/* bcc's print_stars: a '+' marks a value beyond the scale. */
static void print_stars(FILE *out, __u64 val, __u64 val_max, int width)
{
	int n = (int)((val < val_max ? val : val_max) * width / val_max);

	for (int i = 0; i < n; i++)
		fputc('*', out);
	for (int i = 0; i < width - n; i++)
		fputc(' ', out);
	if (val > val_max)
		fputc('+', out);
}

void hist_print_log2(FILE *out, const struct vg_hist *h, const struct hist_unit *u)
{
	__u64 rows[ROWS] = { 0 }, val_max = 0;
	int idx_max = -1;

	/* Fold the fine buckets into bcc's log2 rows of the display unit (row i holds values whose
	 * log2 is i; 0 and 1 share row 0), placing each fine bucket by its middle. */
	for (int i = 0; i < VG_HIST_BUCKETS; i++) {
		double mid;
		__u64 v;
		int r;

		if (!h->buckets[i])
			continue;
		mid = ((double)vg_hist_low(i) + (double)vg_hist_high(i) - 1) / 2;
		v = (__u64)(mid / (double)u->ns);
		r = v ? (int)vg_log2_u64(v) : 0;
		if (r >= ROWS)
			r = ROWS - 1;
		rows[r] += h->buckets[i];
	}
	for (int i = 0; i < ROWS; i++) {
		if (rows[i])
			idx_max = i;
		if (rows[i] > val_max)
			val_max = rows[i];
	}
	if (idx_max < 0) {
		fprintf(out, "(no events)\n");
		return;
	}
	/* The same layout as bcc's print_log2_hist (libbpf-tools trace_helpers.c). */
	fprintf(out, "%*s%-*s : count    distribution\n", idx_max <= 32 ? 5 : 15, "",
		idx_max <= 32 ? 19 : 29, u->name);
	for (int i = 0; i <= idx_max; i++) {
		unsigned long long low = (1ULL << (i + 1)) >> 1, high = (1ULL << (i + 1)) - 1;
		int width = idx_max <= 32 ? 10 : 20;

		if (low == high)
			low -= 1;
		fprintf(out, "%*llu -> %-*llu : %-8llu |", width, low, width, high,
			(unsigned long long)rows[i]);
		print_stars(out, rows[i], val_max, idx_max <= 32 ? 40 : 20);
		fprintf(out, "|\n");
	}
}

/* Label values escape backslash, double quote and newline (text format 0.0.4). */
const char *hist_le_label(__u32 i, char *buf, size_t len)
{
	snprintf(buf, len, "%.9g", (double)vg_le_bound(i) / 1e9);
	return buf;
}

static void prom_labels(FILE *out, const struct hist_entry *e, const char *extra_key,
			const char *extra_val)
{
	bool any = false;

	for (int i = 0; i < e->nlabels; i++) {
		fprintf(out, "%s%s=\"", any ? "," : "{", e->labels[i].key);
		for (const char *p = e->labels[i].value; *p; p++) {
			if (*p == '\\' || *p == '"')
				fputc('\\', out);
			if (*p == '\n')
				fputs("\\n", out);
			else
				fputc(*p, out);
		}
		fputc('"', out);
		any = true;
	}
	if (extra_key) {
		fprintf(out, "%s%s=\"%s\"", any ? "," : "{", extra_key, extra_val);
		any = true;
	}
	if (any)
		fputc('}', out);
}

int hist_write_prom(FILE *out, const char *metric, const char *help, const char *errors_metric,
		    const struct hist_entry *e, size_t n)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s histogram\n", metric, help, metric);
	for (size_t k = 0; k < n; k++) {
		__u64 cum = 0;
		char le[32];

		/* The exact 1-2.5-5 ladder counted in the kernel beside the log2 buckets. */
		for (__u32 i = 0; i < VG_LE_BOUNDS; i++) {
			cum += e[k].h.le[i];
			hist_le_label(i, le, sizeof(le));
			fprintf(out, "%s_bucket", metric);
			prom_labels(out, &e[k], "le", le);
			fprintf(out, " %llu\n", (unsigned long long)cum);
		}
		fprintf(out, "%s_bucket", metric);
		prom_labels(out, &e[k], "le", "+Inf");
		fprintf(out, " %llu\n", (unsigned long long)e[k].h.count);
		fprintf(out, "%s_sum", metric);
		prom_labels(out, &e[k], NULL, NULL);
		fprintf(out, " %.9f\n", (double)e[k].h.sum_ns / 1e9);
		fprintf(out, "%s_count", metric);
		prom_labels(out, &e[k], NULL, NULL);
		fprintf(out, " %llu\n", (unsigned long long)e[k].h.count);
	}
	if (errors_metric) {
		fprintf(out, "# HELP %s Calls that returned an error.\n# TYPE %s counter\n",
			errors_metric, errors_metric);
		for (size_t k = 0; k < n; k++) {
			fputs(errors_metric, out);
			prom_labels(out, &e[k], NULL, NULL);
			fprintf(out, " %llu\n", (unsigned long long)e[k].h.errors);
		}
	}
	return ferror(out) ? -EIO : 0;
}
