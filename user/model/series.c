// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/series.h"

bool series_is_end(double v)
{
	uint64_t b;

	memcpy(&b, &v, sizeof(b));
	return b == SERIES_END_BITS;
}

double series_end_value(void)
{
	uint64_t b = SERIES_END_BITS;
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

void series_set__release(struct series_set *set)
{
	for (size_t i = 0; set && i < set->n; i++) {
		struct series *s = &set->s[i];

		free(s->name);
		for (size_t k = 0; k < s->nr_labels; k++) {
			free(s->labels[k].name);
			free(s->labels[k].value);
		}
		free(s->labels);
		free(s->points);
	}
	if (set) {
		free(set->s);
		set->s = NULL;
		set->n = 0;
	}
}

const char *series__label(const struct series *s, const char *name)
{
	for (size_t i = 0; i < s->nr_labels; i++)
		if (!strcmp(s->labels[i].name, name))
			return s->labels[i].value;
	return NULL;
}

static int re_full_match(const char *re, const char *v)
{
	size_t len = strlen(re) + 8;
	char *anchored = malloc(len);
	regex_t rx;
	int r;

	if (!anchored)
		return -ENOMEM;
	snprintf(anchored, len, "^(%s)$", re);
	r = regcomp(&rx, anchored, REG_EXTENDED | REG_NOSUB);
	free(anchored);
	if (r)
		return -EINVAL;
	r = regexec(&rx, v, 0, NULL, 0) == 0;
	regfree(&rx);
	return r;
}

int series_matches(const char *name, const struct series_label *l, size_t n,
		   const struct series_matcher *m, size_t nm)
{
	for (size_t i = 0; i < nm; i++) {
		const char *v = "";
		int r;

		if (!strcmp(m[i].name, "__name__")) {
			v = name;
		} else {
			for (size_t k = 0; k < n; k++)
				if (!strcmp(l[k].name, m[i].name)) {
					v = l[k].value;
					break;
				}
		}
		switch (m[i].op) {
		case SERIES_EQ:
			r = !strcmp(v, m[i].value);
			break;
		case SERIES_NE:
			r = !!strcmp(v, m[i].value);
			break;
		default:
			r = re_full_match(m[i].value, v);
			if (r < 0)
				return r;
			if (m[i].op == SERIES_NRE)
				r = !r;
		}
		if (!r)
			return 0;
	}
	return 1;
}
