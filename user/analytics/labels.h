/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Label sets and label matchers, as Prometheus has them: a series is named by a set of (name, value)
 * pairs sorted by name, the metric name being the label "__name__"; an empty value is the same as an
 * absent label. Matchers are `=`, `!=`, `=~`, `!~`; regular expressions are anchored at both ends
 * (`=~"a|b"` matches "a" and "b" only) and use POSIX extended syntax with RE2's common escapes
 * (\d \D \s \S \w \W) translated, so Prometheus selectors work unchanged in practice.
 *
 * A `struct labels` is immutable and reference-counted: labels__ref() shares it, labels__unref() drops
 * a reference and frees the set with the last one. Every constructor returns a set holding one
 * reference (NULL with errno = ENOMEM). The strings live in the set's own block. Reference counting
 * is not atomic: a set is used by one thread at a time (or shared read-only after construction
 * without ref/unref from several threads).
 */
#ifndef VIGIL_ANALYTICS_LABELS_H
#define VIGIL_ANALYTICS_LABELS_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LABEL_METRIC_NAME "__name__"

struct label {
	const char *name;
	const char *value;
};

struct labels {
	uint32_t refs;
	uint32_t n;
	uint64_t hash; /* of every pair; equal sets have equal hashes */
	struct label l[]; /* sorted by name, no duplicates, no empty values; strings follow */
};

/* A set from n pairs in any order; pairs with an empty value are dropped; on a duplicate name the
 * last pair wins. NULL with errno set. */
struct labels *labels__new(const struct label *l, size_t n);
/* The empty set (a new reference). */
struct labels *labels__empty(void);
struct labels *labels__ref(struct labels *ls);
/* NULL-safe. */
void labels__unref(struct labels *ls);

/* The value of name, or NULL when the set has no such label. */
const char *labels__get(const struct labels *ls, const char *name);
bool labels__equal(const struct labels *a, const struct labels *b);
/* Orders by the pairs, name then value, as Prometheus sorts series (-1, 0, 1). */
int labels__cmp(const struct labels *a, const struct labels *b);
/* The set without __name__ (a new reference; the same set when it has none). */
struct labels *labels__drop_name(struct labels *ls);
/*
 * Hash of only the named labels (keep = true) or of every label but the named ones and __name__
 * (keep = false): Prometheus' match signature for on(...) / ignoring(...) and by / without.
 */
uint64_t labels__hash_subset(const struct labels *ls, const char *const *names, size_t nnames,
			     bool keep);
/* Prints {a="x", b="y"} (the metric name first and outside the braces when present) into buf;
 * returns snprintf's count. */
int labels__format(const struct labels *ls, char *buf, size_t len);

/*
 * A builder: starts from a set (or empty), edits, then labels_builder__finish() makes a new set. The
 * builder borrows the strings it is given until finish. Returns 0 or -ENOMEM.
 */
struct labels_builder {
	struct label *l;
	size_t n, cap;
};
int labels_builder__init(struct labels_builder *b, const struct labels *from);
int labels_builder__set(struct labels_builder *b, const char *name, const char *value);
void labels_builder__del(struct labels_builder *b, const char *name);
/* Keeps only the named labels. */
void labels_builder__keep(struct labels_builder *b, const char *const *names, size_t n);
struct labels *labels_builder__finish(struct labels_builder *b);
void labels_builder__release(struct labels_builder *b);

/* Valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) and label name ([a-zA-Z_][a-zA-Z0-9_]*). */
bool metric_name_valid(const char *s);
bool label_name_valid(const char *s);
/* Valid UTF-8 (Prometheus' rule for label values). */
bool label_value_valid(const char *s);

/* Compiles an RE2-style pattern anchored at both ends (as matchers and label_replace use them).
 * nosub: no submatch offsets needed. 0 or -EINVAL (err gets why) / -ENOMEM. */
int label_regex_compile(regex_t *re, const char *pattern, bool nosub, char *err, size_t errlen);

enum match_type { MATCH_EQ, MATCH_NE, MATCH_RE, MATCH_NRE };

struct label_matcher {
	enum match_type type;
	char *name;
	char *value;
	regex_t re; /* compiled for MATCH_RE / MATCH_NRE */
	bool has_re;
};

/* Fills m (copies name and value, compiles the regex). 0, -EINVAL (bad regex: err gets why) or
 * -ENOMEM. */
int label_matcher_init(struct label_matcher *m, enum match_type type, const char *name,
		       const char *value, char *err, size_t errlen);
void label_matcher_release(struct label_matcher *m);
/* Whether value (NULL = absent = "") satisfies the matcher. */
bool label_matcher_matches(const struct label_matcher *m, const char *value);
/* Whether the set satisfies every matcher. */
bool labels__match(const struct labels *ls, const struct label_matcher *m, size_t n);
/* Whether the empty string satisfies the matcher (Prometheus refuses selectors where all do). */
bool label_matcher_matches_empty(const struct label_matcher *m);

#endif
