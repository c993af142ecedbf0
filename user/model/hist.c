// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "model/hist.h"

void hist_merge(struct vg_hist *dst, const struct vg_hist *src)
{
	dst->count += src->count;
	dst->errors += src->errors;
	dst->sum_ns += src->sum_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
	for (int i = 0; i < VG_HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	for (int i = 0; i <= VG_LE_BOUNDS; i++)
		dst->le[i] += src->le[i];
}

void hist_sub(struct vg_hist *dst, const struct vg_hist *prev)
{
	dst->count -= prev->count;
	dst->errors -= prev->errors;
	dst->sum_ns -= prev->sum_ns;
	for (int i = 0; i < VG_HIST_BUCKETS; i++)
		dst->buckets[i] -= prev->buckets[i];
	for (int i = 0; i <= VG_LE_BOUNDS; i++)
		dst->le[i] -= prev->le[i];
}

__u64 hist_quantile(const struct vg_hist *h, double q)
{
	__u64 total = 0, seen = 0, rank;

	for (int i = 0; i < VG_HIST_BUCKETS; i++)
		total += h->buckets[i];
	if (!total)
		return 0;
	if (q <= 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = (__u64)ceil(q * (double)total);
	if (!rank)
		rank = 1;
	for (int i = 0; i < VG_HIST_BUCKETS; i++) {
		__u64 c = h->buckets[i];

		if (!c)
			continue;
		if (seen + c >= rank) {
			double lo = (double)vg_hist_low(i), hi = (double)vg_hist_high(i);
			/* Spread the bucket's values evenly over [lo, hi). */
			double v = lo + (hi - lo) * ((double)(rank - seen) - 0.5) / (double)c;

			if (h->max_ns && v > (double)h->max_ns)
				v = (double)h->max_ns;
			return (__u64)(v + 0.5);
		}
		seen += c;
	}
	return h->max_ns;
}

double hist_mean_ns(const struct vg_hist *h)
{
	return h->count ? (double)h->sum_ns / (double)h->count : 0;
}

static const struct hist_unit units[] = {
	{ "nsecs", 1 },
	{ "usecs", 1000 },
	{ "msecs", 1000000 },
};

const struct hist_unit *hist_unit_by_name(const char *s)
{
	if (!strcmp(s, "ns") || !strcmp(s, "nsecs"))
		return &units[0];
	if (!strcmp(s, "us") || !strcmp(s, "usecs"))
		return &units[1];
	if (!strcmp(s, "ms") || !strcmp(s, "msecs"))
		return &units[2];
	return NULL;
}

const char *hist_fmt_ns(double ns, char *buf, size_t len)
{
	static const struct {
		double div;
		const char *unit;
	} scale[] = { { 1e9, "s" }, { 1e6, "ms" }, { 1e3, "us" }, { 1, "ns" } };

	for (size_t i = 0; i < sizeof(scale) / sizeof(scale[0]); i++)
		if (ns >= scale[i].div || scale[i].div == 1) {
			double v = ns / scale[i].div;

			snprintf(buf, len,
				 v >= 100 ? "%.0f %s" :
				 v >= 10  ? "%.1f %s" :
					    "%.2f %s",
				 v, scale[i].unit);
			break;
		}
	return buf;
}

void hist_entry_label(struct hist_entry *e, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (e->nlabels >= HIST_MAX_LABELS)
		return;
	e->labels[e->nlabels].key = key;
	e->labels[e->nlabels].numeric = false;
	va_start(ap, fmt);
	vsnprintf(e->labels[e->nlabels].value, sizeof(e->labels[0].value), fmt, ap);
	va_end(ap);
	e->nlabels++;
}

void hist_entry_label_num(struct hist_entry *e, const char *key, __u64 v)
{
	hist_entry_label(e, key, "%llu", (unsigned long long)v);
	if (e->nlabels)
		e->labels[e->nlabels - 1].numeric = true;
}
