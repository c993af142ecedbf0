// SPDX-License-Identifier: GPL-2.0
/*
 * PromQL lexer and recursive-descent parser, with Prometheus' operator precedence (or < and/unless <
 * comparisons < + - < * / % atan2 < ^, ^ right-associative, unary minus at * level) and its type
 * checks, so an expression Prometheus refuses is refused here with a similar message.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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

static void perr(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void perr(struct parser *p, size_t pos, const char *fmt, ...)
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
			perr(p, start, "unterminated quoted string");
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
				perr(p, i, "unknown escape sequence");
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
					perr(p, i, "illegal character in escape sequence");
					return -EINVAL;
				}
				cp = cp * 16 + (unsigned long)h;
				i++;
			}
			if (c == 'x')
				out[o++] = (char)cp;
			else if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
				free(out);
				perr(p, i, "escape sequence is an invalid Unicode code point");
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
						perr(p, i, "illegal character in escape sequence");
						return -EINVAL;
					}
					v = v * 8 + (unsigned)(s[i] - '0');
					i++;
				}
				i--;
				if (v > 255) {
					free(out);
					perr(p, i, "octal escape value > 255");
					return -EINVAL;
				}
				out[o++] = (char)v;
				break;
			}
			free(out);
			perr(p, i, "unknown escape sequence");
			return -EINVAL;
		}
	}
	out[o] = 0;
	p->str = out;
	p->pos = i + 1;
	return 0;
}

static void next(struct parser *p)
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
			perr(p, p->pos, "bad number or duration syntax: \"%.*s\"",
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
	perr(p, p->pos, "unexpected character: '%c'", c);
	p->t = T_ERR;
}

static bool tok_is(const struct parser *p, const char *kw)
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

static bool tok_is_keyword(const struct parser *p)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (tok_is(p, keywords[i]))
			return true;
	return false;
}

static int tok_aggr(const struct parser *p)
{
	for (size_t i = 0; i < sizeof(aggrs) / sizeof(aggrs[0]); i++)
		if (tok_is(p, aggrs[i].name))
			return (int)aggrs[i].op;
	return -1;
}

static char *tok_dup(const struct parser *p)
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

static void unexpected(struct parser *p, const char *where)
{
	if (p->t == T_EOF)
		perr(p, p->tstart, "unexpected end of input%s%s", where ? " " : "",
		     where ? where : "");
	else
		perr(p, p->tstart, "unexpected %s \"%.*s\"%s%s", tok_desc(p), (int)p->tlen,
		     p->src + p->tstart, where ? " " : "", where ? where : "");
}

static bool expect(struct parser *p, enum tok t, const char *where)
{
	if (p->t != t) {
		unexpected(p, where);
		return false;
	}
	next(p);
	return true;
}

static struct pq_node *node_new(struct parser *p, enum pq_kind k, size_t pos)
{
	struct pq_node *n = calloc(1, sizeof(*n));

	if (!n) {
		perr(p, pos, "out of memory");
		return NULL;
	}
	n->kind = k;
	n->pos = (int)pos;
	return n;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void pq_node_free(struct pq_node *n)
{
	if (!n)
		return;
	switch (n->kind) {
	case PQN_NUMBER:
		break;
	case PQN_STRING:
		free(n->str);
		break;
	case PQN_SELECTOR:
		free(n->sel.name);
		for (size_t i = 0; i < n->sel.nm; i++)
			label_matcher_release(&n->sel.m[i]);
		free(n->sel.m);
		break;
	case PQN_MATRIX:
		pq_node_free(n->mat.vs);
		break;
	case PQN_SUBQUERY:
		pq_node_free(n->sub.expr);
		break;
	case PQN_CALL:
		for (int i = 0; i < n->call.nargs; i++)
			pq_node_free(n->call.args[i]);
		free(n->call.args);
		break;
	case PQN_AGGR:
		pq_node_free(n->aggr.expr);
		pq_node_free(n->aggr.param);
		strv_free(n->aggr.grouping, n->aggr.ngrouping);
		break;
	case PQN_BINARY:
		pq_node_free(n->bin.lhs);
		pq_node_free(n->bin.rhs);
		strv_free(n->bin.mlabels, n->bin.nmlabels);
		strv_free(n->bin.include, n->bin.ninclude);
		break;
	case PQN_UNARY:
	case PQN_PAREN:
		pq_node_free(n->un.expr);
		break;
	}
	free(n);
}

enum pq_type pq_node_type(const struct pq_node *n)
{
	switch (n->kind) {
	case PQN_NUMBER:
		return PQ_SCALAR;
	case PQN_STRING:
		return PQ_STRING;
	case PQN_SELECTOR:
		return PQ_VECTOR;
	case PQN_MATRIX:
	case PQN_SUBQUERY:
		return PQ_MATRIX;
	case PQN_CALL:
		return n->call.f->ret;
	case PQN_AGGR:
		return PQ_VECTOR;
	case PQN_BINARY:
		return pq_node_type(n->bin.lhs) == PQ_SCALAR &&
				       pq_node_type(n->bin.rhs) == PQ_SCALAR ?
			       PQ_SCALAR :
			       PQ_VECTOR;
	case PQN_UNARY:
	case PQN_PAREN:
		return pq_node_type(n->un.expr);
	}
	return PQ_NONE;
}

const char *pq_type_name(enum pq_type t)
{
	switch (t) {
	case PQ_SCALAR:
		return "scalar";
	case PQ_VECTOR:
		return "instant vector";
	case PQ_MATRIX:
		return "range vector";
	case PQ_STRING:
		return "string";
	default:
		return "none";
	}
}

/*
 * A duration right after the current token ('[', ':' or "offset"): read from the source directly,
 * since "5m" is not a token elsewhere. *empty is set when allowed and nothing but ']' follows.
 */
static bool lex_duration(struct parser *p, int64_t *ms, bool allow_neg, bool *empty)
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
			next(p);
			return true;
		}
	}
	start = i;
	while (isalnum((unsigned char)s[i]))
		i++;
	if (i == start || pq_parse_duration(s + start, i - start, ms)) {
		perr(p, start, "bad duration syntax: \"%.*s\"", (int)(i - start), s + start);
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
	next(p);
	return true;
}

static struct pq_node *parse_expr(struct parser *p, int minprec);

/* ( label, label, ... ) for by/without/on/ignoring/group_x. */
static bool parse_label_list(struct parser *p, char ***out, size_t *nout)
{
	size_t cap = 0;

	*out = NULL;
	*nout = 0;
	if (!expect(p, T_LPAREN, "in grouping opts, expected \"(\""))
		return false;
	while (p->t != T_RPAREN) {
		if (p->t != T_IDENT || memchr(p->src + p->tstart, ':', p->tlen)) {
			unexpected(p, "in grouping opts, expected label");
			return false;
		}
		if (*nout == cap) {
			char **v = realloc(*out, (cap = cap * 2 + 4) * sizeof(*v));

			if (!v) {
				perr(p, p->tstart, "out of memory");
				return false;
			}
			*out = v;
		}
		(*out)[(*nout)++] = tok_dup(p);
		next(p);
		if (p->t == T_COMMA)
			next(p);
		else if (p->t != T_RPAREN) {
			unexpected(p, "in grouping opts, expected \")\" or \",\"");
			return false;
		}
	}
	next(p);
	return true;
}

static bool add_matcher(struct parser *p, struct pq_node *n, enum match_type t, const char *name,
			const char *value, size_t pos)
{
	struct label_matcher *m = realloc(n->sel.m, (n->sel.nm + 1) * sizeof(*m));
	char why[200];
	int err;

	if (!m) {
		perr(p, pos, "out of memory");
		return false;
	}
	n->sel.m = m;
	err = label_matcher_init(&m[n->sel.nm], t, name, value, why, sizeof(why));
	if (err) {
		perr(p, pos, "%s", err == -ENOMEM ? "out of memory" : why);
		return false;
	}
	n->sel.nm++;
	return true;
}

/* {name op "value", ...} after an optional metric name (already in n->sel.name). */
static bool parse_matchers(struct parser *p, struct pq_node *n)
{
	next(p); /* '{' */
	while (p->t != T_RBRACE) {
		enum match_type mt;
		char *name;
		size_t pos = p->tstart;

		if (p->t != T_IDENT) {
			unexpected(p, "in label matching, expected label");
			return false;
		}
		name = tok_dup(p);
		next(p);
		switch (p->t) {
		case T_ASSIGN:
			mt = MATCH_EQ;
			break;
		case T_NEQ:
			mt = MATCH_NE;
			break;
		case T_EQ_REGEX:
			mt = MATCH_RE;
			break;
		case T_NEQ_REGEX:
			mt = MATCH_NRE;
			break;
		default:
			free(name);
			unexpected(
				p,
				"in label matching, expected one of \"=\", \"!=\", \"=~\" or \"!~\"");
			return false;
		}
		next(p);
		if (p->t != T_STR) {
			free(name);
			unexpected(p, "in label matching, expected string");
			return false;
		}
		if (!strcmp(name, LABEL_METRIC_NAME) && n->sel.name && mt == MATCH_EQ) {
			free(name);
			perr(p, pos, "metric name must not be set twice: \"%s\" or \"%s\"",
			     n->sel.name, p->str);
			return false;
		}
		bool ok = add_matcher(p, n, mt, name, p->str, pos);

		free(name);
		if (!ok)
			return false;
		next(p);
		if (p->t == T_COMMA)
			next(p);
		else if (p->t != T_RBRACE) {
			unexpected(p, "in label matching, expected \",\" or \"}\"");
			return false;
		}
	}
	next(p);
	return true;
}

static struct pq_node *parse_selector(struct parser *p)
{
	struct pq_node *n = node_new(p, PQN_SELECTOR, p->tstart);
	bool nonempty = false;

	if (!n)
		return NULL;
	n->sel.id = p->nsel++;
	if (p->t == T_IDENT) {
		n->sel.name = tok_dup(p);
		if (!n->sel.name ||
		    !add_matcher(p, n, MATCH_EQ, LABEL_METRIC_NAME, n->sel.name, p->tstart))
			goto fail;
		next(p);
	}
	if (p->t == T_LBRACE && !parse_matchers(p, n))
		goto fail;
	for (size_t i = 0; i < n->sel.nm; i++)
		if (!label_matcher_matches_empty(&n->sel.m[i]))
			nonempty = true;
	if (!nonempty) {
		perr(p, (size_t)n->pos,
		     "vector selector must contain at least one non-empty matcher");
		goto fail;
	}
	return n;
fail:
	pq_node_free(n);
	return NULL;
}

static bool check_arg_type(struct parser *p, const struct pq_node *arg, enum pq_type want,
			   const char *what, const char *fname)
{
	enum pq_type got = pq_node_type(arg);

	if (got != want) {
		perr(p, (size_t)arg->pos, "expected type %s in %s%s%s%s, got %s",
		     pq_type_name(want), what, fname ? " \"" : "", fname ? fname : "",
		     fname ? "\"" : "", pq_type_name(got));
		return false;
	}
	return true;
}

static struct pq_node *parse_call(struct parser *p)
{
	size_t pos = p->tstart;
	char *name = tok_dup(p);
	const struct pq_func *f = pq_func_lookup(name);
	struct pq_node *n;

	if (!f) {
		perr(p, pos, "unknown function with name \"%s\"", name);
		free(name);
		return NULL;
	}
	free(name);
	n = node_new(p, PQN_CALL, pos);
	if (!n)
		return NULL;
	n->call.f = f;
	next(p); /* name */
	next(p); /* ( */
	while (p->t != T_RPAREN) {
		struct pq_node *a = parse_expr(p, 0), **args;

		if (!a)
			goto fail;
		args = realloc(n->call.args, (size_t)(n->call.nargs + 1) * sizeof(*args));
		if (!args) {
			pq_node_free(a);
			perr(p, pos, "out of memory");
			goto fail;
		}
		n->call.args = args;
		args[n->call.nargs++] = a;
		if (p->t == T_COMMA)
			next(p);
		else if (p->t != T_RPAREN) {
			unexpected(p, "in call, expected \",\" or \")\"");
			goto fail;
		}
	}
	next(p);
	if (n->call.nargs < f->nargs || (f->maxargs >= 0 && n->call.nargs > f->maxargs)) {
		if (f->maxargs == f->nargs)
			perr(p, pos, "expected %d argument(s) in call to \"%s\", got %d", f->nargs,
			     f->name, n->call.nargs);
		else if (n->call.nargs < f->nargs)
			perr(p, pos, "expected at least %d argument(s) in call to \"%s\", got %d",
			     f->nargs, f->name, n->call.nargs);
		else
			perr(p, pos, "expected at most %d argument(s) in call to \"%s\", got %d",
			     f->maxargs, f->name, n->call.nargs);
		goto fail;
	}
	for (int i = 0; i < n->call.nargs; i++) {
		int ai = i < 4 ? i : 3;
		enum pq_type want = f->args[ai];

		if (f->maxargs < 0 && i >= f->nargs)
			want = f->args[f->nargs - 1 < 3 ? f->nargs - 1 : 3];
		if (!check_arg_type(p, n->call.args[i], want, "call to function", f->name))
			goto fail;
	}
	return n;
fail:
	pq_node_free(n);
	return NULL;
}

static struct pq_node *parse_aggr(struct parser *p, enum pq_aggr op)
{
	struct pq_node *n = node_new(p, PQN_AGGR, p->tstart);
	char name[16];
	bool have_group = false;

	if (!n)
		return NULL;
	snprintf(name, sizeof(name), "%.*s", (int)p->tlen, p->src + p->tstart);
	n->aggr.op = op;
	next(p);
	if (tok_is(p, "by") || tok_is(p, "without")) {
		n->aggr.without = tok_is(p, "without");
		next(p);
		if (!parse_label_list(p, &n->aggr.grouping, &n->aggr.ngrouping))
			goto fail;
		have_group = true;
	}
	if (p->t != T_LPAREN) {
		unexpected(p, "in aggregation, expected \"(\"");
		goto fail;
	}
	next(p);
	n->aggr.expr = parse_expr(p, 0);
	if (!n->aggr.expr)
		goto fail;
	if (p->t == T_COMMA) {
		next(p);
		n->aggr.param = n->aggr.expr;
		n->aggr.expr = parse_expr(p, 0);
		if (!n->aggr.expr)
			goto fail;
	}
	if (!expect(p, T_RPAREN, "in aggregation, expected \")\""))
		goto fail;
	if (!have_group && (tok_is(p, "by") || tok_is(p, "without"))) {
		n->aggr.without = tok_is(p, "without");
		next(p);
		if (!parse_label_list(p, &n->aggr.grouping, &n->aggr.ngrouping))
			goto fail;
	}
	bool wants_param =
		op == AG_TOPK || op == AG_BOTTOMK || op == AG_QUANTILE || op == AG_COUNT_VALUES;
	if (wants_param != (n->aggr.param != NULL)) {
		perr(p, (size_t)n->pos,
		     wants_param ? "no parameter provided for aggregation" :
				   "wrong number of arguments for aggregate "
				   "expression provided, expected 1, got 2");
		goto fail;
	}
	if (!check_arg_type(p, n->aggr.expr, PQ_VECTOR, "aggregation expression", NULL))
		goto fail;
	if (n->aggr.param &&
	    !check_arg_type(p, n->aggr.param, op == AG_COUNT_VALUES ? PQ_STRING : PQ_SCALAR,
			    "aggregation parameter", NULL))
		goto fail;
	if (op == AG_COUNT_VALUES && n->aggr.param->kind == PQN_STRING &&
	    !label_name_valid(n->aggr.param->str)) {
		perr(p, (size_t)n->aggr.param->pos, "invalid label name \"%s\"",
		     n->aggr.param->str);
		goto fail;
	}
	return n;
fail:
	pq_node_free(n);
	return NULL;
}

/* [range], [range:step], offset after a primary. */
static struct pq_node *parse_postfix(struct parser *p, struct pq_node *n)
{
	for (;;) {
		if (p->t == T_LBRACKET) {
			int64_t range, step = 0;
			size_t pos = p->tstart;

			bool empty;

			if (!lex_duration(p, &range, false, NULL))
				goto fail;
			if (p->t == T_COLON) {
				struct pq_node *s;

				if (!lex_duration(p, &step, false, &empty))
					goto fail;
				if (!expect(p, T_RBRACKET, "in subquery, expected \"]\""))
					goto fail;
				if (pq_node_type(n) != PQ_VECTOR) {
					perr(p, pos,
					     "subquery is only allowed on instant vector, got %s",
					     pq_type_name(pq_node_type(n)));
					goto fail;
				}
				s = node_new(p, PQN_SUBQUERY, pos);
				if (!s)
					goto fail;
				s->sub.expr = n;
				s->sub.range = range;
				s->sub.step = step;
				s->sub.id = p->nsel++;
				n = s;
				continue;
			}
			if (!expect(p, T_RBRACKET, "in range, expected \"]\""))
				goto fail;
			if (n->kind != PQN_SELECTOR || n->sel.offset) {
				perr(p, pos, "ranges only allowed for vector selectors");
				goto fail;
			}
			struct pq_node *m = node_new(p, PQN_MATRIX, (size_t)n->pos);

			if (!m)
				goto fail;
			m->mat.vs = n;
			m->mat.range = range;
			n = m;
			continue;
		}
		if (tok_is(p, "offset")) {
			size_t pos = p->tstart;
			int64_t off;
			int64_t *slot = n->kind == PQN_SELECTOR ? &n->sel.offset :
					n->kind == PQN_MATRIX	? &n->mat.vs->sel.offset :
					n->kind == PQN_SUBQUERY ? &n->sub.offset :
								  NULL;

			if (!slot) {
				perr(p, pos,
				     "offset modifier must be preceded by an instant vector "
				     "selector or range vector selector or a subquery");
				goto fail;
			}
			if (*slot) {
				perr(p, pos, "offset may not be set multiple times");
				goto fail;
			}
			if (!lex_duration(p, &off, true, NULL))
				goto fail;
			*slot = off;
			continue;
		}
		return n;
	}
fail:
	pq_node_free(n);
	return NULL;
}

static struct pq_node *parse_primary(struct parser *p)
{
	struct pq_node *n = NULL;

	switch (p->t) {
	case T_NUM:
		n = node_new(p, PQN_NUMBER, p->tstart);
		if (n)
			n->num = p->num;
		next(p);
		break;
	case T_STR:
		n = node_new(p, PQN_STRING, p->tstart);
		if (n) {
			n->str = p->str;
			p->str = NULL;
		}
		next(p);
		break;
	case T_LPAREN: {
		size_t pos = p->tstart;
		struct pq_node *e;

		next(p);
		e = parse_expr(p, 0);
		if (!e)
			return NULL;
		if (!expect(p, T_RPAREN, "in paren expression, expected \")\"")) {
			pq_node_free(e);
			return NULL;
		}
		n = node_new(p, PQN_PAREN, pos);
		if (!n) {
			pq_node_free(e);
			return NULL;
		}
		n->un.expr = e;
		break;
	}
	case T_LBRACE:
		n = parse_selector(p);
		break;
	case T_IDENT: {
		int ag = tok_aggr(p);
		size_t save = p->pos;

		if (tok_is(p, "inf") || tok_is(p, "nan")) {
			n = node_new(p, PQN_NUMBER, p->tstart);
			if (n)
				n->num = tok_is(p, "inf") ? INFINITY : NAN;
			next(p);
			break;
		}
		if (ag >= 0) {
			n = parse_aggr(p, (enum pq_aggr)ag);
			break;
		}
		if (tok_is_keyword(p)) {
			unexpected(p, NULL);
			return NULL;
		}
		/* A function call when '(' follows the name. */
		while (isspace((unsigned char)p->src[save]))
			save++;
		if (p->src[save] == '(')
			n = parse_call(p);
		else
			n = parse_selector(p);
		break;
	}
	default:
		unexpected(p, NULL);
		return NULL;
	}
	if (!n)
		return NULL;
	return parse_postfix(p, n);
}

static int binop_prec(const struct parser *p, enum pq_op *op)
{
	switch (p->t) {
	case T_ADD:
		*op = OP_ADD;
		return 4;
	case T_SUB:
		*op = OP_SUB;
		return 4;
	case T_MUL:
		*op = OP_MUL;
		return 5;
	case T_DIV:
		*op = OP_DIV;
		return 5;
	case T_MOD:
		*op = OP_MOD;
		return 5;
	case T_POW:
		*op = OP_POW;
		return 6;
	case T_EQLC:
		*op = OP_EQ;
		return 3;
	case T_NEQ:
		*op = OP_NE;
		return 3;
	case T_LT:
		*op = OP_LT;
		return 3;
	case T_GT:
		*op = OP_GT;
		return 3;
	case T_LTE:
		*op = OP_LE;
		return 3;
	case T_GTE:
		*op = OP_GE;
		return 3;
	case T_IDENT:
		if (tok_is(p, "atan2")) {
			*op = OP_ATAN2;
			return 5;
		}
		if (tok_is(p, "and")) {
			*op = OP_AND;
			return 2;
		}
		if (tok_is(p, "unless")) {
			*op = OP_UNLESS;
			return 2;
		}
		if (tok_is(p, "or")) {
			*op = OP_OR;
			return 1;
		}
		return -1;
	default:
		return -1;
	}
}

static bool op_is_comparison(enum pq_op op)
{
	return op >= OP_EQ && op <= OP_GE;
}

static bool op_is_set(enum pq_op op)
{
	return op == OP_AND || op == OP_OR || op == OP_UNLESS;
}

static const char *op_name(enum pq_op op)
{
	static const char *const names[] = { "",   "+", "-", "*",  "/",	 "%",	"^",  "atan2", "==",
					     "!=", "<", ">", "<=", ">=", "and", "or", "unless" };
	return names[op];
}

/* The operator's modifiers (bool, on/ignoring, group_x) and the type checks. */
static bool parse_bin_modifiers(struct parser *p, struct pq_node *b)
{
	if (tok_is(p, "bool")) {
		b->bin.ret_bool = true;
		next(p);
	}
	if (tok_is(p, "on") || tok_is(p, "ignoring")) {
		b->bin.on = tok_is(p, "on");
		next(p);
		if (!parse_label_list(p, &b->bin.mlabels, &b->bin.nmlabels))
			return false;
		/* Remember that a matching clause was given, even an empty one. */
		if (!b->bin.mlabels)
			b->bin.mlabels = calloc(1, sizeof(char *));
		if (tok_is(p, "group_left") || tok_is(p, "group_right")) {
			b->bin.card = tok_is(p, "group_left") ? CARD_MANY_TO_ONE : CARD_ONE_TO_MANY;
			next(p);
			if (p->t == T_LPAREN &&
			    !parse_label_list(p, &b->bin.include, &b->bin.ninclude))
				return false;
		}
	}
	return true;
}

static bool check_binary(struct parser *p, struct pq_node *b)
{
	enum pq_type lt = pq_node_type(b->bin.lhs), rt = pq_node_type(b->bin.rhs);
	enum pq_op op = b->bin.op;
	size_t pos = (size_t)b->pos;

	if ((lt != PQ_SCALAR && lt != PQ_VECTOR) || (rt != PQ_SCALAR && rt != PQ_VECTOR)) {
		perr(p, pos, "binary expression must contain only scalar and instant vector types");
		return false;
	}
	if (b->bin.ret_bool && !op_is_comparison(op)) {
		perr(p, pos, "bool modifier can only be used on comparison operators");
		return false;
	}
	if (op_is_comparison(op) && !b->bin.ret_bool && lt == PQ_SCALAR && rt == PQ_SCALAR) {
		perr(p, pos, "comparisons between scalars must use BOOL modifier");
		return false;
	}
	if (op_is_set(op)) {
		if (lt == PQ_SCALAR || rt == PQ_SCALAR) {
			perr(p, pos, "set operator \"%s\" not allowed in binary scalar expression",
			     op_name(op));
			return false;
		}
		if (b->bin.card == CARD_MANY_TO_ONE || b->bin.card == CARD_ONE_TO_MANY) {
			perr(p, pos, "no grouping allowed for \"%s\" operation", op_name(op));
			return false;
		}
		b->bin.card = CARD_MANY_TO_MANY;
	}
	if (b->bin.mlabels && (lt != PQ_VECTOR || rt != PQ_VECTOR)) {
		perr(p, pos, "vector matching only allowed between instant vectors");
		return false;
	}
	if (b->bin.on)
		for (size_t i = 0; i < b->bin.ninclude; i++)
			for (size_t j = 0; j < b->bin.nmlabels; j++)
				if (!strcmp(b->bin.include[i], b->bin.mlabels[j])) {
					perr(p, pos,
					     "label \"%s\" must not occur in ON and GROUP clause at once",
					     b->bin.include[i]);
					return false;
				}
	return true;
}

static struct pq_node *parse_unary(struct parser *p)
{
	if (p->t == T_SUB || p->t == T_ADD) {
		bool neg = p->t == T_SUB;
		size_t pos = p->tstart;
		struct pq_node *e, *n;
		enum pq_type t;

		next(p);
		e = parse_expr(p, 6); /* binds looser than ^, tighter than * */
		if (!e)
			return NULL;
		t = pq_node_type(e);
		if (t != PQ_SCALAR && t != PQ_VECTOR) {
			perr(p, pos,
			     "unary expression only allowed on expressions of type scalar or "
			     "instant vector, got %s",
			     pq_type_name(t));
			pq_node_free(e);
			return NULL;
		}
		if (!neg)
			return e;
		if (e->kind == PQN_NUMBER) { /* fold -1 into a literal, as Prometheus does */
			e->num = -e->num;
			return e;
		}
		n = node_new(p, PQN_UNARY, pos);
		if (!n) {
			pq_node_free(e);
			return NULL;
		}
		n->un.expr = e;
		return n;
	}
	return parse_primary(p);
}

static struct pq_node *parse_expr(struct parser *p, int minprec)
{
	struct pq_node *lhs = parse_unary(p);

	while (lhs) {
		enum pq_op op;
		int prec = binop_prec(p, &op);
		struct pq_node *b;

		if (prec < 0 || prec < minprec)
			break;
		b = node_new(p, PQN_BINARY, p->tstart);
		if (!b) {
			pq_node_free(lhs);
			return NULL;
		}
		b->bin.op = op;
		b->bin.lhs = lhs;
		next(p);
		if (!parse_bin_modifiers(p, b)) {
			pq_node_free(b);
			return NULL;
		}
		b->bin.rhs = parse_expr(p, op == OP_POW ? prec : prec + 1);
		if (!b->bin.rhs || !check_binary(p, b)) {
			pq_node_free(b);
			return NULL;
		}
		lhs = b;
	}
	return lhs;
}

struct pq_expr *pq_parse(const char *text, struct pq_error *err)
{
	struct pq_error dummy = { 0 };
	struct parser p = { .src = text, .err = err ? err : &dummy };
	struct pq_expr *e;

	p.err->pos = -1;
	p.err->msg[0] = 0;
	next(&p);
	if (p.t == T_EOF) {
		perr(&p, 0, "no expression found in input");
		errno = EINVAL;
		return NULL;
	}
	struct pq_node *root = parse_expr(&p, 0);

	if (root && p.t != T_EOF) {
		unexpected(&p, NULL);
		pq_node_free(root);
		root = NULL;
	}
	free(p.str);
	if (!root) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->text = strdup(text))) {
		free(e);
		pq_node_free(root);
		snprintf(p.err->msg, sizeof(p.err->msg), "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	e->root = root;
	e->nselectors = p.nsel;
	return e;
}

void pq_expr__free(struct pq_expr *e)
{
	if (!e)
		return;
	pq_node_free(e->root);
	free(e->text);
	free(e);
}

enum pq_type pq_expr__type(const struct pq_expr *e)
{
	return pq_node_type(e->root);
}

static int each_selector(const struct pq_node *n,
			 int (*fn)(const struct label_matcher *m, size_t n, void *arg), void *arg)
{
	int r = 0;

	switch (n->kind) {
	case PQN_SELECTOR:
		return fn(n->sel.m, n->sel.nm, arg);
	case PQN_MATRIX:
		return each_selector(n->mat.vs, fn, arg);
	case PQN_SUBQUERY:
		return each_selector(n->sub.expr, fn, arg);
	case PQN_CALL:
		for (int i = 0; i < n->call.nargs && !r; i++)
			r = each_selector(n->call.args[i], fn, arg);
		return r;
	case PQN_AGGR:
		r = each_selector(n->aggr.expr, fn, arg);
		if (!r && n->aggr.param)
			r = each_selector(n->aggr.param, fn, arg);
		return r;
	case PQN_BINARY:
		r = each_selector(n->bin.lhs, fn, arg);
		return r ? r : each_selector(n->bin.rhs, fn, arg);
	case PQN_UNARY:
	case PQN_PAREN:
		return each_selector(n->un.expr, fn, arg);
	default:
		return 0;
	}
}

int pq_expr__for_each_selector(const struct pq_expr *e,
			       int (*fn)(const struct label_matcher *m, size_t n, void *arg),
			       void *arg)
{
	return each_selector(e->root, fn, arg);
}
