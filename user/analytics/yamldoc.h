/* SPDX-License-Identifier: GPL-2.0 */
/*
 * YAML documents for configuration files (rule files, vigil.yml), through libyaml's loader, with
 * what Go's yaml.v3 checks and the messages it prints: syntax errors (libyaml's problem text), duplicate
 * keys, scalars resolved as null / bool / int / float / string (YAML 1.1 core plain scalars).
 * Lines are 1-based. A document is immutable once loaded; thread-safe to read.
 */
#ifndef VIGIL_ANALYTICS_YAMLDOC_H
#define VIGIL_ANALYTICS_YAMLDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ydoc;

enum ykind { Y_NONE, Y_SCALAR, Y_SEQ, Y_MAP };
enum ytag { YT_NULL, YT_BOOL, YT_INT, YT_FLOAT, YT_STR, YT_SEQ, YT_MAP };

/* A node handle: 0 is "no node". */
typedef int ynode;

/*
 * Loads the first document of buf. NULL with err set ("yaml: problem (context at line N)") and
 * *line the 1-based line of the problem (ENOMEM in errno when out of memory). An empty document
 * loads, with no root node.
 */
struct ydoc *ydoc_load(const char *buf, size_t len, char *err, size_t errlen, int *line);
void ydoc_free(struct ydoc *d);
ynode ydoc_root(const struct ydoc *d);

enum ykind ynode_kind(const struct ydoc *d, ynode n);
/* The resolved tag (plain scalars by their form; quoted ones are strings). */
enum ytag ynode_tag(const struct ydoc *d, ynode n);
const char *ytag_name(enum ytag t); /* "!!str", "!!int", ... */
int ynode_line(const struct ydoc *d, ynode n);
int ynode_col(const struct ydoc *d, ynode n);
/* A scalar's text ("" for non-scalars; null scalars give ""). */
const char *ynode_str(const struct ydoc *d, ynode n);
/* Sequence items / mapping pairs. */
size_t ynode_len(const struct ydoc *d, ynode n);
ynode yseq_item(const struct ydoc *d, ynode n, size_t i);
ynode ymap_key(const struct ydoc *d, ynode n, size_t i);
ynode ymap_value(const struct ydoc *d, ynode n, size_t i);
/* The value for key (a scalar key), or 0. */
ynode ymap_get(const struct ydoc *d, ynode n, const char *key);
/* The first duplicate key of a mapping: its index, or -1 (*first gets the earlier one's index). */
long ymap_duplicate(const struct ydoc *d, ynode n, size_t *first);
/* Integer scalars as yaml.v3 reads them (decimal, 0x, 0o, underscores). 0 or -EINVAL. */
int ynode_int(const struct ydoc *d, ynode n, long long *out);

#endif
