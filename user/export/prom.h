/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A streaming writer of the Prometheus text format 0.0.4: family headers, samples with escaped
 * labels, and latency histograms on the exact 1-2.5-5 ladder (vigil/hist.h) in seconds. The caller
 * keeps each family's samples together after its header, as the format requires. Thread-safe.
 */
#ifndef VIGIL_EXPORT_PROM_H
#define VIGIL_EXPORT_PROM_H

#include <stddef.h>
#include <stdio.h>

#include "model/hist.h"

struct prom_label {
	const char *name;
	const char *value;
};

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge, histogram). */
void prom_family(FILE *out, const char *name, const char *type, const char *help);
/* name{labels} value. Non-finite values are written as NaN / +Inf / -Inf. */
void prom_sample(FILE *out, const char *name, const struct prom_label *l, size_t n, double v);
/* The _bucket (22 ladder boundaries and +Inf, cumulative), _sum (seconds) and _count lines. */
void prom_histogram(FILE *out, const char *name, const struct prom_label *l, size_t n,
		    const struct vg_hist *h);
/* A label value escaped for the text format (\\, \", \n) into buf; returns buf. */
const char *prom_escape(const char *v, char *buf, size_t len);

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
