// SPDX-License-Identifier: GPL-2.0
/* PromQL's lexer: numbers, strings with Go's escapes, identifiers, operators, durations. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analytics/promql_lex.h"

void pq_perr(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int line = 1, col = 1;

	if (p->failed)
		return;
	p->failed = true;
	for (size_t i = 0; i < pos && p->src[i]; i++) {
		if (p->src[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	p->err->pos = (int)pos;
	int off = snprintf(p->err->msg, sizeof(p->err->msg), "%d:%d: parse error: ", line, col);
	va_start(ap, fmt);
	vsnprintf(p->err->msg + off, sizeof(p->err->msg) - (size_t)off, fmt, ap);
	va_end(ap);
}

static bool is_ident_start(int c)
{
	return isalpha(c) || c == '_' || c == ':';
}

static bool is_ident(int c)
{
	return isalnum(c) || c == '_' || c == ':';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void put_utf8(char *out, size_t *o, unsigned long cp)
{
	if (cp < 0x80) {
		out[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*o)++] = (char)(0xc0 | (cp >> 6));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*o)++] = (char)(0xe0 | (cp >> 12));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | (cp >> 18));
		out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* A quoted string at p->pos (quote char q): Go's escapes in "..." and '...', none in `...`. */
static int lex_string(struct parser *p, char q)
{
	size_t start = p->pos, o = 0;
	const char *s = p->src;
	size_t i = p->pos + 1;
	char *out = malloc(strlen(s + start) + 1);

	if (!out)
		return -ENOMEM;
	for (;; i++) {
		char c = s[i];

		if (!c || (c == '\n' && q != '`')) {
			free(out);
			pq_perr(p, start, "unterminated quoted string");
			return -EINVAL;
		}
		if (c == q)
			break;
		if (c != '\\' || q == '`') {
			out[o++] = c;
			continue;
		}
		c = s[++i];
		switch (c) {
		case 'a':
			out[o++] = '\a';
			break;
		case 'b':
			out[o++] = '\b';
			break;
		case 'f':
			out[o++] = '\f';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'v':
			out[o++] = '\v';
			break;
		case '\\':
			out[o++] = '\\';
			break;
		case '"':
		case '\'':
			if (c != q) {
				free(out);
				pq_perr(p, i, "unknown escape sequence");
				return -EINVAL;
			}
			out[o++] = c;
			break;
		case 'x':
		case 'u':
		case 'U': {
			int nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			unsigned long cp = 0;

			for (int k = 0; k < nd; k++) {
				int h = hexval(s[i + 1]);

				if (h < 0) {
					free(out);
					pq_perr(p, i, "illegal character in escape sequence");
					return -EINVAL;
				}
				cp = cp * 16 + (unsigned long)h;
				i++;
			}
			if (c == 'x')
				out[o++] = (char)cp;
			else if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
				free(out);
				pq_perr(p, i, "escape sequence is an invalid Unicode code point");
				return -EINVAL;
			} else
				put_utf8(out, &o, cp);
			break;
		}
		default:
			if (c >= '0' && c <= '7') {
				unsigned v = 0;

				for (int k = 0; k < 3; k++) {
					if (s[i] < '0' || s[i] > '7') {
						free(out);
						pq_perr(p, i,
							"illegal character in escape sequence");
						return -EINVAL;
					}
					v = v * 8 + (unsigned)(s[i] - '0');
					i++;
				}
				i--;
				if (v > 255) {
					free(out);
					pq_perr(p, i, "octal escape value > 255");
					return -EINVAL;
				}
				out[o++] = (char)v;
				break;
			}
			free(out);
			pq_perr(p, i, "unknown escape sequence");
			return -EINVAL;
		}
	}
	out[o] = 0;
	p->str = out;
	p->pos = i + 1;
	return 0;
}

void pq_next(struct parser *p)
{
	const char *s = p->src;

	free(p->str);
	p->str = NULL;
	if (p->failed) {
		p->t = T_ERR;
		return;
	}
	for (;;) {
		while (isspace((unsigned char)s[p->pos]))
			p->pos++;
		if (s[p->pos] == '#') { /* comment to end of line */
			while (s[p->pos] && s[p->pos] != '\n')
				p->pos++;
			continue;
		}
		break;
	}
	p->tstart = p->pos;
	char c = s[p->pos];

	if (!c) {
		p->t = T_EOF;
		p->tlen = 0;
		return;
	}
	if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)s[p->pos + 1]))) {
		char *end;

		errno = 0;
		if (c == '0' && (s[p->pos + 1] == 'x' || s[p->pos + 1] == 'X'))
			p->num = (double)strtoull(s + p->pos, &end, 16);
		else
			p->num = strtod(s + p->pos, &end);
		if (is_ident(*end)) {
			/* "5m" outside brackets, "1e" ... */
			pq_perr(p, p->pos, "bad number or duration syntax: \"%.*s\"",
				(int)strspn(s + p->pos, "0123456789.eEabcdfhmswyx+-"), s + p->pos);
			p->t = T_ERR;
			return;
		}
		p->t = T_NUM;
		p->pos = (size_t)(end - s);
		p->tlen = p->pos - p->tstart;
		return;
	}
	if (is_ident_start((unsigned char)c)) {
		while (is_ident((unsigned char)s[p->pos]))
			p->pos++;
		p->t = T_IDENT;
		p->tlen = p->pos - p->tstart;
		return;
	}
	if (c == '"' || c == '\'' || c == '`') {
		if (lex_string(p, c)) {
			p->t = T_ERR;
			return;
		}
		p->t = T_STR;
		p->tlen = p->pos - p->tstart;
		return;
	}
	static const struct {
		const char *s;
		enum tok t;
	} ops[] = {
		{ "==", T_EQLC },     { "!=", T_NEQ },	     { "<=", T_LTE },	  { ">=", T_GTE },
		{ "=~", T_EQ_REGEX }, { "!~", T_NEQ_REGEX }, { "=", T_ASSIGN },	  { "<", T_LT },
		{ ">", T_GT },	      { "(", T_LPAREN },     { ")", T_RPAREN },	  { "{", T_LBRACE },
		{ "}", T_RBRACE },    { "[", T_LBRACKET },   { "]", T_RBRACKET }, { ",", T_COMMA },
		{ ":", T_COLON },     { "+", T_ADD },	     { "-", T_SUB },	  { "*", T_MUL },
		{ "/", T_DIV },	      { "%", T_MOD },	     { "^", T_POW },
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t l = strlen(ops[i].s);

		if (!strncmp(s + p->pos, ops[i].s, l)) {
			p->t = ops[i].t;
			p->pos += l;
			p->tlen = l;
			return;
		}
	}
	pq_perr(p, p->pos, "unexpected character: '%c'", c);
	p->t = T_ERR;
}

bool pq_tok_is(const struct parser *p, const char *kw)
{
	return p->t == T_IDENT && p->tlen == strlen(kw) &&
	       !strncasecmp(p->src + p->tstart, kw, p->tlen);
}

static const char *const keywords[] = { "and",	      "or",	     "unless", "atan2",
					"by",	      "without",     "on",     "ignoring",
					"group_left", "group_right", "offset", "bool" };

static const struct {
	const char *name;
	enum pq_aggr op;
} aggrs[] = {
	{ "sum", AG_SUM },	   { "avg", AG_AVG },		{ "min", AG_MIN },
	{ "max", AG_MAX },	   { "count", AG_COUNT },	{ "group", AG_GROUP },
	{ "stddev", AG_STDDEV },   { "stdvar", AG_STDVAR },	{ "topk", AG_TOPK },
	{ "bottomk", AG_BOTTOMK }, { "quantile", AG_QUANTILE }, { "count_values", AG_COUNT_VALUES },
};

bool pq_tok_is_keyword(const struct parser *p)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (pq_tok_is(p, keywords[i]))
			return true;
	return false;
}

int pq_tok_aggr(const struct parser *p)
{
	for (size_t i = 0; i < sizeof(aggrs) / sizeof(aggrs[0]); i++)
		if (pq_tok_is(p, aggrs[i].name))
			return (int)aggrs[i].op;
	return -1;
}

char *pq_tok_dup(const struct parser *p)
{
	return strndup(p->src + p->tstart, p->tlen);
}

static const char *tok_desc(const struct parser *p)
{
	switch (p->t) {
	case T_EOF:
		return "end of input";
	case T_NUM:
		return "number";
	case T_STR:
		return "string";
	case T_IDENT:
		return "identifier";
	default:
		return "character";
	}
}

void pq_unexpected(struct parser *p, const char *where)
{
	if (p->t == T_EOF)
		pq_perr(p, p->tstart, "unexpected end of input%s%s", where ? " " : "",
			where ? where : "");
	else
		pq_perr(p, p->tstart, "unexpected %s \"%.*s\"%s%s", tok_desc(p), (int)p->tlen,
			p->src + p->tstart, where ? " " : "", where ? where : "");
}

bool pq_expect(struct parser *p, enum tok t, const char *where)
{
	if (p->t != t) {
		pq_unexpected(p, where);
		return false;
	}
	pq_next(p);
	return true;
}

/*
 * A duration right after the current token ('[', ':' or "offset"): read from the source directly,
 * since "5m" is not a token elsewhere. *empty is set when allowed and nothing but ']' follows.
 */
bool pq_lex_duration(struct parser *p, int64_t *ms, bool allow_neg, bool *empty)
{
	const char *s = p->src;
	size_t i = p->pos, start;
	bool neg = false;

	while (isspace((unsigned char)s[i]))
		i++;
	if (allow_neg && (s[i] == '-' || s[i] == '+')) {
		neg = s[i] == '-';
		i++;
		while (isspace((unsigned char)s[i]))
			i++;
	}
	if (empty) {
		*empty = s[i] == ']';
		if (*empty) {
			*ms = 0;
			p->pos = i;
			pq_next(p);
			return true;
		}
	}
	start = i;
	while (isalnum((unsigned char)s[i]))
		i++;
	if (i == start || pq_parse_duration(s + start, i - start, ms)) {
		pq_perr(p, start, "bad duration syntax: \"%.*s\"", (int)(i - start), s + start);
		return false;
	}
	if (neg)
		*ms = -*ms;
	p->pos = i;
	while (isspace((unsigned char)s[p->pos]))
		p->pos++;
	if (s[p->pos] == ':') {
		/* ':' also starts identifiers ("5m:1m"): the subquery colon is a token of its own. */
		free(p->str);
		p->str = NULL;
		p->t = T_COLON;
		p->tstart = p->pos++;
		p->tlen = 1;
		return true;
	}
	pq_next(p);
	return true;
}
