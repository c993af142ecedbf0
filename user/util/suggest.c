// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include "util/suggest.h"

#define MAX_LEN 255

int suggest_distance(const char *a, const char *b)
{
	int la = (int)strlen(a), lb = (int)strlen(b), prev[MAX_LEN + 1], cur[MAX_LEN + 1];

	if (la > MAX_LEN || lb > MAX_LEN)
		return 99;
	for (int j = 0; j <= lb; j++)
		prev[j] = j;
	for (int i = 1; i <= la; i++) {
		cur[0] = i;
		for (int j = 1; j <= lb; j++) {
			int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			int del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(int) * (lb + 1));
	}
	return prev[lb];
}

void suggest__init(struct suggest *s, const char *want)
{
	memset(s, 0, sizeof(*s));
	s->want = want;
	for (int k = 0; k < SUGGEST_MAX; k++)
		s->dist[k] = 99;
}

void suggest__add(struct suggest *s, const char *candidate)
{
	int d = strstr(candidate, s->want) ? 1 : suggest_distance(s->want, candidate);

	for (int k = 0; k < SUGGEST_MAX; k++)
		if (d < s->dist[k]) {
			for (int m = SUGGEST_MAX - 1; m > k; m--) {
				s->dist[m] = s->dist[m - 1];
				s->best[m] = s->best[m - 1];
			}
			s->dist[k] = d;
			s->best[k] = candidate;
			return;
		}
}

void suggest__format(const struct suggest *s, int max_dist, char *buf, size_t len)
{
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (int k = 0; k < SUGGEST_MAX && s->best[k] && s->dist[k] <= max_dist && off < len; k++)
		off += snprintf(buf + off, len - off, "%s%s", k ? ", " : "", s->best[k]);
}
