/* SPDX-License-Identifier: GPL-2.0 */
/*
 * "Did you mean" hints: keep the few known names closest to an unknown one (a name containing it
 * counts as close; otherwise the edit distance). Stateless apart from the struct; thread-safe.
 */
#ifndef VIGIL_SUGGEST_H
#define VIGIL_SUGGEST_H

#include <stddef.h>

#define SUGGEST_MAX 3

struct suggest {
	const char *want;
	const char *best[SUGGEST_MAX]; /* borrowed: must outlive the struct's use */
	int dist[SUGGEST_MAX];
};

void suggest__init(struct suggest *s, const char *want);
/* Consider one known name. */
void suggest__add(struct suggest *s, const char *candidate);
/* "a, b, c": the kept names at most max_dist away, best first; "" when none. */
void suggest__format(const struct suggest *s, int max_dist, char *buf, size_t len);

/* Levenshtein distance, capped at 99 for names longer than 255 bytes. */
int suggest_distance(const char *a, const char *b);

#endif
