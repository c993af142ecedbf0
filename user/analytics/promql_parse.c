// SPDX-License-Identifier: GPL-2.0
/*
 * PromQL recursive-descent parser (the lexer is promql_lex.c), with Prometheus' operator precedence (or < and/unless <
 * comparisons < + - < * / % atan2 < ^, ^ right-associative, unary minus at * level) and its type
 * checks, so an expression Prometheus refuses is refused here with a similar message.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/promql_lex.h"

static struct pq_node *node_new(struct parser *p, enum pq_kind k, size_t pos)
{
	struct pq_node *n = calloc(1, sizeof(*n));

	if (!n) {
		pq_perr(p, pos, "out of memory");
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

static struct pq_node *parse_expr(struct parser *p, int minprec);

/* ( label, label, ... ) for by/without/on/ignoring/group_x. */
static bool parse_label_list(struct parser *p, char ***out, size_t *nout)
{
	size_t cap = 0;

	*out = NULL;
	*nout = 0;
	if (!pq_expect(p, T_LPAREN, "in grouping opts, expected \"(\""))
		return false;
	while (p->t != T_RPAREN) {
		if (p->t != T_IDENT || memchr(p->src + p->tstart, ':', p->tlen)) {
			pq_unexpected(p, "in grouping opts, expected label");
			return false;
		}
		if (*nout == cap) {
			char **v = realloc(*out, (cap = cap * 2 + 4) * sizeof(*v));

			if (!v) {
				pq_perr(p, p->tstart, "out of memory");
				return false;
			}
			*out = v;
		}
		(*out)[(*nout)++] = pq_tok_dup(p);
		pq_next(p);
		if (p->t == T_COMMA)
			pq_next(p);
		else if (p->t != T_RPAREN) {
			pq_unexpected(p, "in grouping opts, expected \")\" or \",\"");
			return false;
		}
	}
	pq_next(p);
	return true;
}

static bool add_matcher(struct parser *p, struct pq_node *n, enum match_type t, const char *name,
			const char *value, size_t pos)
{
	struct label_matcher *m = realloc(n->sel.m, (n->sel.nm + 1) * sizeof(*m));
	char why[200];
	int err;

	if (!m) {
		pq_perr(p, pos, "out of memory");
		return false;
	}
	n->sel.m = m;
	err = label_matcher_init(&m[n->sel.nm], t, name, value, why, sizeof(why));
	if (err) {
		pq_perr(p, pos, "%s", err == -ENOMEM ? "out of memory" : why);
		return false;
	}
	n->sel.nm++;
	return true;
}

/* {name op "value", ...} after an optional metric name (already in n->sel.name). */
static bool parse_matchers(struct parser *p, struct pq_node *n)
{
	pq_next(p); /* '{' */
	while (p->t != T_RBRACE) {
		enum match_type mt;
		char *name;
		size_t pos = p->tstart;

		if (p->t != T_IDENT) {
			pq_unexpected(p, "in label matching, expected label");
			return false;
		}
		name = pq_tok_dup(p);
		pq_next(p);
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
			pq_unexpected(
				p,
				"in label matching, expected one of \"=\", \"!=\", \"=~\" or \"!~\"");
			return false;
		}
		pq_next(p);
		if (p->t != T_STR) {
			free(name);
			pq_unexpected(p, "in label matching, expected string");
			return false;
		}
		if (!strcmp(name, LABEL_METRIC_NAME) && n->sel.name && mt == MATCH_EQ) {
			free(name);
			pq_perr(p, pos, "metric name must not be set twice: \"%s\" or \"%s\"",
				n->sel.name, p->str);
			return false;
		}
		bool ok = add_matcher(p, n, mt, name, p->str, pos);

		free(name);
		if (!ok)
			return false;
		pq_next(p);
		if (p->t == T_COMMA)
			pq_next(p);
		else if (p->t != T_RBRACE) {
			pq_unexpected(p, "in label matching, expected \",\" or \"}\"");
			return false;
		}
	}
	pq_next(p);
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
		n->sel.name = pq_tok_dup(p);
		if (!n->sel.name ||
		    !add_matcher(p, n, MATCH_EQ, LABEL_METRIC_NAME, n->sel.name, p->tstart))
			goto fail;
		pq_next(p);
	}
	if (p->t == T_LBRACE && !parse_matchers(p, n))
		goto fail;
	for (size_t i = 0; i < n->sel.nm; i++)
		if (!label_matcher_matches_empty(&n->sel.m[i]))
			nonempty = true;
	if (!nonempty) {
		pq_perr(p, (size_t)n->pos,
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
		pq_perr(p, (size_t)arg->pos, "expected type %s in %s%s%s%s, got %s",
			pq_type_name(want), what, fname ? " \"" : "", fname ? fname : "",
			fname ? "\"" : "", pq_type_name(got));
		return false;
	}
	return true;
}

static struct pq_node *parse_call(struct parser *p)
{
	size_t pos = p->tstart;
	char *name = pq_tok_dup(p);
	const struct pq_func *f = pq_func_lookup(name);
	struct pq_node *n;

	if (!f) {
		pq_perr(p, pos, "unknown function with name \"%s\"", name);
		free(name);
		return NULL;
	}
	free(name);
	n = node_new(p, PQN_CALL, pos);
	if (!n)
		return NULL;
	n->call.f = f;
	pq_next(p); /* name */
	pq_next(p); /* ( */
	while (p->t != T_RPAREN) {
		struct pq_node *a = parse_expr(p, 0), **args;

		if (!a)
			goto fail;
		args = realloc(n->call.args, (size_t)(n->call.nargs + 1) * sizeof(*args));
		if (!args) {
			pq_node_free(a);
			pq_perr(p, pos, "out of memory");
			goto fail;
		}
		n->call.args = args;
		args[n->call.nargs++] = a;
		if (p->t == T_COMMA)
			pq_next(p);
		else if (p->t != T_RPAREN) {
			pq_unexpected(p, "in call, expected \",\" or \")\"");
			goto fail;
		}
	}
	pq_next(p);
	if (n->call.nargs < f->nargs || (f->maxargs >= 0 && n->call.nargs > f->maxargs)) {
		if (f->maxargs == f->nargs)
			pq_perr(p, pos, "expected %d argument(s) in call to \"%s\", got %d",
				f->nargs, f->name, n->call.nargs);
		else if (n->call.nargs < f->nargs)
			pq_perr(p, pos,
				"expected at least %d argument(s) in call to \"%s\", got %d",
				f->nargs, f->name, n->call.nargs);
		else
			pq_perr(p, pos, "expected at most %d argument(s) in call to \"%s\", got %d",
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
	pq_next(p);
	if (pq_tok_is(p, "by") || pq_tok_is(p, "without")) {
		n->aggr.without = pq_tok_is(p, "without");
		pq_next(p);
		if (!parse_label_list(p, &n->aggr.grouping, &n->aggr.ngrouping))
			goto fail;
		have_group = true;
	}
	if (p->t != T_LPAREN) {
		pq_unexpected(p, "in aggregation, expected \"(\"");
		goto fail;
	}
	pq_next(p);
	n->aggr.expr = parse_expr(p, 0);
	if (!n->aggr.expr)
		goto fail;
	if (p->t == T_COMMA) {
		pq_next(p);
		n->aggr.param = n->aggr.expr;
		n->aggr.expr = parse_expr(p, 0);
		if (!n->aggr.expr)
			goto fail;
	}
	if (!pq_expect(p, T_RPAREN, "in aggregation, expected \")\""))
		goto fail;
	if (!have_group && (pq_tok_is(p, "by") || pq_tok_is(p, "without"))) {
		n->aggr.without = pq_tok_is(p, "without");
		pq_next(p);
		if (!parse_label_list(p, &n->aggr.grouping, &n->aggr.ngrouping))
			goto fail;
	}
	bool wants_param =
		op == AG_TOPK || op == AG_BOTTOMK || op == AG_QUANTILE || op == AG_COUNT_VALUES;
	if (wants_param != (n->aggr.param != NULL)) {
		pq_perr(p, (size_t)n->pos,
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
		pq_perr(p, (size_t)n->aggr.param->pos, "invalid label name \"%s\"",
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

			if (!pq_lex_duration(p, &range, false, NULL))
				goto fail;
			if (p->t == T_COLON) {
				struct pq_node *s;

				if (!pq_lex_duration(p, &step, false, &empty))
					goto fail;
				if (!pq_expect(p, T_RBRACKET, "in subquery, expected \"]\""))
					goto fail;
				if (pq_node_type(n) != PQ_VECTOR) {
					pq_perr(p, pos,
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
			if (!pq_expect(p, T_RBRACKET, "in range, expected \"]\""))
				goto fail;
			if (n->kind != PQN_SELECTOR || n->sel.offset) {
				pq_perr(p, pos, "ranges only allowed for vector selectors");
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
		if (pq_tok_is(p, "offset")) {
			size_t pos = p->tstart;
			int64_t off;
			int64_t *slot = n->kind == PQN_SELECTOR ? &n->sel.offset :
					n->kind == PQN_MATRIX	? &n->mat.vs->sel.offset :
					n->kind == PQN_SUBQUERY ? &n->sub.offset :
								  NULL;

			if (!slot) {
				pq_perr(p, pos,
					"offset modifier must be preceded by an instant vector "
					"selector or range vector selector or a subquery");
				goto fail;
			}
			if (*slot) {
				pq_perr(p, pos, "offset may not be set multiple times");
				goto fail;
			}
			if (!pq_lex_duration(p, &off, true, NULL))
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
		pq_next(p);
		break;
	case T_STR:
		n = node_new(p, PQN_STRING, p->tstart);
		if (n) {
			n->str = p->str;
			p->str = NULL;
		}
		pq_next(p);
		break;
	case T_LPAREN: {
		size_t pos = p->tstart;
		struct pq_node *e;

		pq_next(p);
		e = parse_expr(p, 0);
		if (!e)
			return NULL;
		if (!pq_expect(p, T_RPAREN, "in paren expression, expected \")\"")) {
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
		int ag = pq_tok_aggr(p);
		size_t save = p->pos;

		if (pq_tok_is(p, "inf") || pq_tok_is(p, "nan")) {
			n = node_new(p, PQN_NUMBER, p->tstart);
			if (n)
				n->num = pq_tok_is(p, "inf") ? INFINITY : NAN;
			pq_next(p);
			break;
		}
		if (ag >= 0) {
			n = parse_aggr(p, (enum pq_aggr)ag);
			break;
		}
		if (pq_tok_is_keyword(p)) {
			pq_unexpected(p, NULL);
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
		pq_unexpected(p, NULL);
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
		if (pq_tok_is(p, "atan2")) {
			*op = OP_ATAN2;
			return 5;
		}
		if (pq_tok_is(p, "and")) {
			*op = OP_AND;
			return 2;
		}
		if (pq_tok_is(p, "unless")) {
			*op = OP_UNLESS;
			return 2;
		}
		if (pq_tok_is(p, "or")) {
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
	if (pq_tok_is(p, "bool")) {
		b->bin.ret_bool = true;
		pq_next(p);
	}
	if (pq_tok_is(p, "on") || pq_tok_is(p, "ignoring")) {
		b->bin.on = pq_tok_is(p, "on");
		pq_next(p);
		if (!parse_label_list(p, &b->bin.mlabels, &b->bin.nmlabels))
			return false;
		/* Remember that a matching clause was given, even an empty one. */
		if (!b->bin.mlabels)
			b->bin.mlabels = calloc(1, sizeof(char *));
		if (pq_tok_is(p, "group_left") || pq_tok_is(p, "group_right")) {
			b->bin.card =
				pq_tok_is(p, "group_left") ? CARD_MANY_TO_ONE : CARD_ONE_TO_MANY;
			pq_next(p);
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
		pq_perr(p, pos,
			"binary expression must contain only scalar and instant vector types");
		return false;
	}
	if (b->bin.ret_bool && !op_is_comparison(op)) {
		pq_perr(p, pos, "bool modifier can only be used on comparison operators");
		return false;
	}
	if (op_is_comparison(op) && !b->bin.ret_bool && lt == PQ_SCALAR && rt == PQ_SCALAR) {
		pq_perr(p, pos, "comparisons between scalars must use BOOL modifier");
		return false;
	}
	if (op_is_set(op)) {
		if (lt == PQ_SCALAR || rt == PQ_SCALAR) {
			pq_perr(p, pos,
				"set operator \"%s\" not allowed in binary scalar expression",
				op_name(op));
			return false;
		}
		if (b->bin.card == CARD_MANY_TO_ONE || b->bin.card == CARD_ONE_TO_MANY) {
			pq_perr(p, pos, "no grouping allowed for \"%s\" operation", op_name(op));
			return false;
		}
		b->bin.card = CARD_MANY_TO_MANY;
	}
	if (b->bin.mlabels && (lt != PQ_VECTOR || rt != PQ_VECTOR)) {
		pq_perr(p, pos, "vector matching only allowed between instant vectors");
		return false;
	}
	if (b->bin.on)
		for (size_t i = 0; i < b->bin.ninclude; i++)
			for (size_t j = 0; j < b->bin.nmlabels; j++)
				if (!strcmp(b->bin.include[i], b->bin.mlabels[j])) {
					pq_perr(p, pos,
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

		pq_next(p);
		e = parse_expr(p, 6); /* binds looser than ^, tighter than * */
		if (!e)
			return NULL;
		t = pq_node_type(e);
		if (t != PQ_SCALAR && t != PQ_VECTOR) {
			pq_perr(p, pos,
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
		pq_next(p);
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
	pq_next(&p);
	if (p.t == T_EOF) {
		pq_perr(&p, 0, "no expression found in input");
		errno = EINVAL;
		return NULL;
	}
	struct pq_node *root = parse_expr(&p, 0);

	if (root && p.t != T_EOF) {
		pq_unexpected(&p, NULL);
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

static int64_t max_range(const struct pq_node *n)
{
	int64_t r = 0, x;

	switch (n->kind) {
	case PQN_MATRIX:
		return n->mat.range;
	case PQN_SUBQUERY:
		/* the subquery's own range over the samples its inner expression looks back on */
		return n->sub.range + max_range(n->sub.expr);
	case PQN_CALL:
		for (int i = 0; i < n->call.nargs; i++)
			if ((x = max_range(n->call.args[i])) > r)
				r = x;
		return r;
	case PQN_AGGR:
		r = max_range(n->aggr.expr);
		x = n->aggr.param ? max_range(n->aggr.param) : 0;
		return x > r ? x : r;
	case PQN_BINARY:
		r = max_range(n->bin.lhs);
		x = max_range(n->bin.rhs);
		return x > r ? x : r;
	case PQN_UNARY:
	case PQN_PAREN:
		return max_range(n->un.expr);
	default:
		return 0;
	}
}

int64_t pq_expr__max_range(const struct pq_expr *e)
{
	return max_range(e->root);
}
