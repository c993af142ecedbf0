// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "analytics/yamldoc.h"

struct ydoc {
	yaml_document_t doc;
	bool empty;
};

struct ydoc *ydoc_load(const char *buf, size_t len, char *err, size_t errlen, int *line)
{
	yaml_parser_t p;
	struct ydoc *d = calloc(1, sizeof(*d));

	*line = 0;
	if (!d || !yaml_parser_initialize(&p)) {
		free(d);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &d->doc)) {
		/*
		 * libyaml is what yaml.v3 was translated from, so the problems read as promtool
		 * prints them; but yaml.v3 often names the line where the enclosing block started.
		 * Name the line of the problem itself, and the context's start when it has one.
		 */
		*line = (int)p.problem_mark.line + 1;
		/* At the end of input libyaml may point one past the last line. */
		int nlines = 0;

		for (size_t i = 0; i < len; i++)
			nlines += buf[i] == '\n';
		if (len && buf[len - 1] != '\n')
			nlines++;
		if (*line > nlines && nlines)
			*line = nlines;
		if (p.context && p.context_mark.line != p.problem_mark.line)
			snprintf(err, errlen, "yaml: %s (%s at line %d)",
				 p.problem ? p.problem : "unknown problem parsing YAML content",
				 p.context, (int)p.context_mark.line + 1);
		else
			snprintf(err, errlen, "yaml: %s",
				 p.problem ? p.problem : "unknown problem parsing YAML content");
		yaml_parser_delete(&p);
		free(d);
		errno = EINVAL;
		return NULL;
	}
	yaml_parser_delete(&p);
	d->empty = !yaml_document_get_root_node(&d->doc);
	return d;
}

void ydoc_free(struct ydoc *d)
{
	if (!d)
		return;
	yaml_document_delete(&d->doc);
	free(d);
}

static yaml_node_t *node(const struct ydoc *d, ynode n)
{
	if (!d || n <= 0)
		return NULL;
	return yaml_document_get_node((yaml_document_t *)&d->doc, n);
}

ynode ydoc_root(const struct ydoc *d)
{
	return d && !d->empty ? 1 : 0;
}

enum ykind ynode_kind(const struct ydoc *d, ynode n)
{
	yaml_node_t *y = node(d, n);

	if (!y)
		return Y_NONE;
	return y->type == YAML_SCALAR_NODE   ? Y_SCALAR :
	       y->type == YAML_SEQUENCE_NODE ? Y_SEQ :
	       y->type == YAML_MAPPING_NODE  ? Y_MAP :
					       Y_NONE;
}

static bool yre_match(const char *re, const char *s)
{
	regex_t r;
	bool ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return false;
	ok = !regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	return ok;
}

enum ytag ynode_tag(const struct ydoc *d, ynode n)
{
	yaml_node_t *y = node(d, n);
	const char *s, *tag;

	if (!y)
		return YT_NULL;
	if (y->type == YAML_SEQUENCE_NODE)
		return YT_SEQ;
	if (y->type == YAML_MAPPING_NODE)
		return YT_MAP;
	s = (const char *)y->data.scalar.value;
	tag = (const char *)y->tag;
	if (tag && strcmp(tag, YAML_DEFAULT_SCALAR_TAG) &&
	    strncmp(tag, "tag:yaml.org,2002:", 18) == 0) {
		const char *t = tag + 18;

		if (!strcmp(t, "str"))
			return YT_STR;
		if (!strcmp(t, "int"))
			return YT_INT;
		if (!strcmp(t, "float"))
			return YT_FLOAT;
		if (!strcmp(t, "bool"))
			return YT_BOOL;
		if (!strcmp(t, "null"))
			return YT_NULL;
	}
	if (y->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return YT_STR;
	/* yaml.v3's resolve(): YAML 1.2 core schema plus the 1.1 forms it keeps. */
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return YT_NULL;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") || !strcmp(s, "false") ||
	    !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return YT_BOOL;
	if (yre_match("^[-+]?(0|[1-9][0-9_]*|0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+)$", s))
		return YT_INT;
	if (yre_match("^[-+]?(\\.[0-9]+|[0-9][0-9_]*(\\.[0-9_]*)?)([eE][-+]?[0-9]+)?$", s) ||
	    yre_match("^[-+]?\\.(inf|Inf|INF)$", s) || yre_match("^\\.(nan|NaN|NAN)$", s))
		return YT_FLOAT;
	return YT_STR;
}

const char *ytag_name(enum ytag t)
{
	static const char *const names[] = { "!!null", "!!bool", "!!int", "!!float",
					     "!!str",  "!!seq",	 "!!map" };
	return names[t];
}

int ynode_line(const struct ydoc *d, ynode n)
{
	yaml_node_t *y = node(d, n);

	return y ? (int)y->start_mark.line + 1 : 0;
}

int ynode_col(const struct ydoc *d, ynode n)
{
	yaml_node_t *y = node(d, n);

	return y ? (int)y->start_mark.column + 1 : 0;
}

const char *ynode_str(const struct ydoc *d, ynode n)
{
	yaml_node_t *y = node(d, n);

	if (!y || y->type != YAML_SCALAR_NODE || ynode_tag(d, n) == YT_NULL)
		return "";
	return (const char *)y->data.scalar.value;
}

size_t ynode_len(const struct ydoc *d, ynode n)
{
	yaml_node_t *y = node(d, n);

	if (!y)
		return 0;
	if (y->type == YAML_SEQUENCE_NODE)
		return (size_t)(y->data.sequence.items.top - y->data.sequence.items.start);
	if (y->type == YAML_MAPPING_NODE)
		return (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
	return 0;
}

ynode yseq_item(const struct ydoc *d, ynode n, size_t i)
{
	yaml_node_t *y = node(d, n);

	if (!y || y->type != YAML_SEQUENCE_NODE || i >= ynode_len(d, n))
		return 0;
	return y->data.sequence.items.start[i];
}

ynode ymap_key(const struct ydoc *d, ynode n, size_t i)
{
	yaml_node_t *y = node(d, n);

	if (!y || y->type != YAML_MAPPING_NODE || i >= ynode_len(d, n))
		return 0;
	return y->data.mapping.pairs.start[i].key;
}

ynode ymap_value(const struct ydoc *d, ynode n, size_t i)
{
	yaml_node_t *y = node(d, n);

	if (!y || y->type != YAML_MAPPING_NODE || i >= ynode_len(d, n))
		return 0;
	return y->data.mapping.pairs.start[i].value;
}

ynode ymap_get(const struct ydoc *d, ynode n, const char *key)
{
	for (size_t i = 0; i < ynode_len(d, n); i++) {
		ynode k = ymap_key(d, n, i);

		if (ynode_kind(d, k) == Y_SCALAR && !strcmp(ynode_str(d, k), key))
			return ymap_value(d, n, i);
	}
	return 0;
}

long ymap_duplicate(const struct ydoc *d, ynode n, size_t *first)
{
	size_t len = ynode_len(d, n);

	for (size_t i = 1; i < len; i++) {
		ynode k = ymap_key(d, n, i);

		if (ynode_kind(d, k) != Y_SCALAR)
			continue;
		for (size_t j = 0; j < i; j++) {
			ynode o = ymap_key(d, n, j);

			if (ynode_kind(d, o) == Y_SCALAR &&
			    !strcmp(ynode_str(d, o), ynode_str(d, k))) {
				*first = j;
				return (long)i;
			}
		}
	}
	return -1;
}

int ynode_int(const struct ydoc *d, ynode n, long long *out)
{
	char buf[64], *e;
	const char *s = ynode_str(d, n);
	size_t o = 0;
	int base = 10;

	if (ynode_tag(d, n) != YT_INT)
		return -EINVAL;
	for (; *s && o + 1 < sizeof(buf); s++)
		if (*s != '_')
			buf[o++] = *s;
	buf[o] = 0;
	s = buf;
	bool neg = *s == '-';

	if (*s == '-' || *s == '+')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && s[1] == 'o') {
		base = 8;
		s += 2;
	} else if (s[0] == '0' && s[1] == 'b') {
		base = 2;
		s += 2;
	} else if (s[0] == '0' && s[1]) {
		base = 8;
	}
	errno = 0;
	long long v = strtoll(s, &e, base);

	if (*e || errno)
		return -EINVAL;
	*out = neg ? -v : v;
	return 0;
}
