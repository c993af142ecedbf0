/* SPDX-License-Identifier: GPL-2.0 */
/* The PromQL lexer shared by promql_lex.c and promql_parse.c. Not for other files. */
#ifndef VIGIL_ANALYTICS_PROMQL_LEX_H
#define VIGIL_ANALYTICS_PROMQL_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/promql_int.h"

enum tok {
	T_EOF,
	T_ERR,
	T_NUM,
	T_STR,
	T_IDENT, /* metric or label name, function name, keyword (kw set) */
	T_LPAREN,
	T_RPAREN,
	T_LBRACE,
	T_RBRACE,
	T_LBRACKET,
	T_RBRACKET,
	T_COMMA,
	T_COLON,
	T_ADD,
	T_SUB,
	T_MUL,
	T_DIV,
	T_MOD,
	T_POW,
	T_EQLC, /* == */
	T_NEQ,
	T_LT,
	T_GT,
	T_LTE,
	T_GTE,
	T_ASSIGN, /* = (matchers) */
	T_EQ_REGEX, /* =~ */
	T_NEQ_REGEX, /* !~ */
};

struct parser {
	const char *src;
	size_t pos; /* next unread byte */
	/* current token */
	enum tok t;
	size_t tstart, tlen;
	double num;
	char *str; /* T_STR contents (owned) */
	struct pq_error *err;
	bool failed;
	int nsel;
};

/* The first error wins: "LINE:COL: parse error: ..." into p->err, p->failed set. */
void pq_perr(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Lexes the next token into p (t, tstart, tlen, num, str). */
void pq_next(struct parser *p);
/* The current token is the identifier kw (case-insensitive, as PromQL keywords). */
bool pq_tok_is(const struct parser *p, const char *kw);
bool pq_tok_is_keyword(const struct parser *p);
/* The aggregation the current identifier names, or -1. */
int pq_tok_aggr(const struct parser *p);
char *pq_tok_dup(const struct parser *p);
/* "unexpected X [where]" at the current token. */
void pq_unexpected(struct parser *p, const char *where);
/* Consumes a token of type t, or reports it. */
bool pq_expect(struct parser *p, enum tok t, const char *where);
/* A duration right after the current token ('[', ':' or "offset"); see promql_lex.c. */
bool pq_lex_duration(struct parser *p, int64_t *ms, bool allow_neg, bool *empty);

#endif
