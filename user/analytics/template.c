// SPDX-License-Identifier: GPL-2.0
/*
 * Go text/template, parser and a small interpreter (template.h). The lexer and parser mirror
 * text/template/parse (lex.go: template_lex.c, parse.go: here) closely enough to give the same accept/reject answers and
 * messages; the interpreter is in template_exec.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/template_int.h"

/* ---- parser ---- */

struct parser {
	struct lexer lx;
	/* one item of lookahead, as text/template's peek */
	bool peeked;
	char **vars;
	size_t nvars, capvars;
	int range_depth;
	struct tmpl *t;
};

static void next(struct parser *p)
{
	if (p->peeked) {
		p->peeked = false;
		return;
	}
	tmpl_lex_next(&p->lx);
}

static enum titem peek(struct parser *p)
{
	if (!p->peeked) {
		tmpl_lex_next(&p->lx);
		p->peeked = true;
	}
	return p->lx.it;
}

static char *item_text(const struct parser *p)
{
	return strndup(p->lx.s + p->lx.start, p->lx.end - p->lx.start);
}

static bool item_is(const struct parser *p, const char *kw)
{
	size_t n = p->lx.end - p->lx.start;

	return p->lx.it == TI_IDENT && n == strlen(kw) && !strncmp(p->lx.s + p->lx.start, kw, n);
}

static void *tnew(struct parser *p, enum tnode_kind k)
{
	struct tnode *n = calloc(1, sizeof(*n));

	if (!n)
		tmpl_lfail(&p->lx, "out of memory");
	else
		n->kind = k;
	return n;
}

static bool push_var(struct parser *p, const char *name)
{
	if (p->nvars == p->capvars) {
		size_t cap = p->capvars ? p->capvars * 2 : 16;
		char **v = realloc(p->vars, cap * sizeof(*v));

		if (!v)
			return false;
		p->vars = v;
		p->capvars = cap;
	}
	p->vars[p->nvars] = strdup(name);
	return p->vars[p->nvars++] != NULL;
}

static void pop_vars(struct parser *p, size_t to)
{
	while (p->nvars > to)
		free(p->vars[--p->nvars]);
}

static bool var_known(const struct parser *p, const char *name)
{
	for (size_t i = p->nvars; i > 0; i--)
		if (!strcmp(p->vars[i - 1], name))
			return true;
	return false;
}

static const char *const known_funcs[] = {
	/* text/template builtins */
	"and", "or", "not", "len", "index", "slice", "print", "printf", "println", "html", "js",
	"urlquery", "call", "eq", "ne", "lt", "le", "gt", "ge",
	/* Prometheus' template functions */
	"query", "first", "label", "value", "strvalue", "args", "reReplaceAll", "safeHtml", "match",
	"title", "toUpper", "toLower", "graphLink", "tableLink", "sortByLabel", "humanize",
	"humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "toTime",
	"pathPrefix", "externalURL", "parseDuration", "stripPort", "stripDomain"
};

bool tmpl_func_known(const char *name)
{
	for (size_t i = 0; i < sizeof(known_funcs) / sizeof(known_funcs[0]); i++)
		if (!strcmp(known_funcs[i], name))
			return true;
	return false;
}

static struct tpipe *parse_pipeline(struct parser *p, const char *context, enum titem end);

static bool add_arg(struct parser *p, struct tcmd *c, struct targ *a)
{
	struct targ *v = realloc(c->args, (c->nargs + 1) * sizeof(*v));

	if (!v) {
		tmpl_lfail(&p->lx, "out of memory");
		return false;
	}
	c->args = v;
	c->args[c->nargs++] = *a;
	return true;
}

/* A field chain ".a.b" right after a term, e.g. "$x.a.b" is lexed as one variable item already;
 * after ')' the chain comes as separate field items. */
static bool parse_chain(struct parser *p, struct targ *a)
{
	while (peek(p) == TI_FIELD) {
		next(p);
		char *f = item_text(p);
		char *joined;

		if (!f)
			return false;
		joined = malloc(strlen(a->chain ? a->chain : "") + strlen(f) + 1);
		if (!joined) {
			free(f);
			return false;
		}
		sprintf(joined, "%s%s", a->chain ? a->chain : "", f);
		free(f);
		free(a->chain);
		a->chain = joined;
	}
	return true;
}

/* One operand of a command. false: no operand here (not an error by itself). */
static bool parse_operand(struct parser *p, struct targ *a, bool *err)
{
	enum titem it = peek(p);

	memset(a, 0, sizeof(*a));
	*err = false;
	switch (it) {
	case TI_IDENT:
		next(p);
		if (item_is(p, "true") || item_is(p, "false")) {
			a->kind = TA_BOOL;
			a->b = item_is(p, "true");
			break;
		}
		if (item_is(p, "nil")) {
			a->kind = TA_NIL;
			break;
		}
		a->kind = TA_FUNC;
		a->text = item_text(p);
		if (!tmpl_func_known(a->text)) {
			tmpl_lfail(&p->lx, "function \"%s\" not defined", a->text);
			free(a->text);
			*err = true;
			return false;
		}
		break;
	case TI_DOT:
		next(p);
		a->kind = TA_DOT;
		break;
	case TI_FIELD:
		next(p);
		a->kind = TA_FIELD;
		a->chain = item_text(p);
		break;
	case TI_VARIABLE: {
		next(p);
		char *v = item_text(p), *dot = strchr(v + 1, '.');

		a->kind = TA_VAR;
		if (dot) {
			a->chain = strdup(dot);
			*dot = 0;
		}
		a->text = v;
		if (!var_known(p, v)) {
			tmpl_lfail(&p->lx, "undefined variable \"%s\"", v);
			goto fail;
		}
		break;
	}
	case TI_STRING:
	case TI_RAW_STRING:
	case TI_CHAR:
	case TI_NUMBER:
		next(p);
		a->kind = it == TI_NUMBER ? TA_NUMBER : it == TI_CHAR ? TA_NUMBER : TA_STRING;
		a->text = item_text(p);
		if (it == TI_CHAR) {
			/* 'c' is a rune constant: its code as a number. */
			char buf[16];

			snprintf(buf, sizeof(buf), "%d", (unsigned char)a->text[1]);
			free(a->text);
			a->text = strdup(buf);
		}
		break;
	case TI_LPAREN:
		next(p);
		a->kind = TA_PIPE;
		a->pipe = parse_pipeline(p, "parenthesized pipeline", TI_RPAREN);
		if (!a->pipe) {
			*err = true;
			return false;
		}
		break;
	default:
		return false;
	}
	if (peek(p) == TI_FIELD) {
		if (a->kind == TA_STRING || a->kind == TA_NUMBER || a->kind == TA_BOOL ||
		    a->kind == TA_NIL) {
			tmpl_lfail(&p->lx, "unexpected . after term \"%s\"",
				   a->text ? a->text : "nil");
			goto fail;
		}
		if (!parse_chain(p, a))
			goto fail;
	}
	return true;
fail:
	free(a->text);
	free(a->chain);
	tpipe_free(a->pipe);
	memset(a, 0, sizeof(*a));
	*err = true;
	return false;
}

static struct tpipe *parse_pipeline(struct parser *p, const char *context, enum titem end)
{
	struct tpipe *pipe = calloc(1, sizeof(*pipe));

	if (!pipe) {
		tmpl_lfail(&p->lx, "out of memory");
		return NULL;
	}
	/* Declarations: $x := ..., $x = ..., $k, $v := ... (range). */
	if (peek(p) == TI_VARIABLE) {
		struct lexer save = p->lx;

		next(p);
		char *v = item_text(p);
		enum titem nx = peek(p);

		if (!v) {
			tmpl_lfail(&p->lx, "out of memory");
			goto fail;
		}
		if (nx == TI_DECLARE || nx == TI_ASSIGN || (nx == TI_COMMA && end == TI_RIGHT)) {
			next(p);
			pipe->decl[pipe->ndecl++] = v;
			pipe->assign = nx == TI_ASSIGN;
			if (nx == TI_COMMA) {
				if (peek(p) != TI_VARIABLE) {
					tmpl_lfail(&p->lx, "missing variable in range declaration");
					goto fail;
				}
				next(p);
				pipe->decl[pipe->ndecl++] = item_text(p);
				if (peek(p) != TI_DECLARE && peek(p) != TI_ASSIGN) {
					tmpl_lfail(&p->lx, "expected :=");
					goto fail;
				}
				next(p);
			}
			for (int i = 0; i < pipe->ndecl; i++)
				if (!pipe->decl[i] || !push_var(p, pipe->decl[i]))
					goto fail;
		} else {
			/* Not a declaration: back up so the variable is read again as an operand. */
			free(v);
			p->lx = save;
			p->peeked = true;
		}
	}
	for (;;) {
		enum titem it = peek(p);

		if (it == end) {
			next(p);
			break;
		}
		if (it == TI_ERROR)
			goto fail;
		if (it == TI_RIGHT || it == TI_RPAREN || it == TI_EOF) {
			next(p);
			tmpl_lfail(&p->lx, "unexpected \"%s\" in %s", it == TI_RPAREN ? ")" : "}}",
				   context);
			goto fail;
		}
		/* One command: operands up to '|' or the end. */
		struct tcmd cmd = { 0 };
		bool err = false;

		for (;;) {
			struct targ a;

			if (!parse_operand(p, &a, &err)) {
				if (err)
					goto cmd_fail;
				break;
			}
			if (!add_arg(p, &cmd, &a))
				goto cmd_fail;
		}
		it = peek(p);
		if (it != TI_PIPE && it != end) {
			if (it == TI_ERROR)
				goto cmd_fail;
			next(p);
			tmpl_lfail(&p->lx, "unexpected \"%.*s\" in operand",
				   (int)(p->lx.end - p->lx.start), p->lx.s + p->lx.start);
			goto cmd_fail;
		}
		if (!cmd.nargs) {
			if (it == TI_PIPE || pipe->ncmds == 0) {
				tmpl_lfail(&p->lx, "missing value for %s", context);
				goto cmd_fail;
			}
			/* "A |" before the end: text/template accepts it. */
			continue;
		}
		struct tcmd *cs = realloc(pipe->cmds, (pipe->ncmds + 1) * sizeof(*cs));

		if (!cs) {
			tmpl_lfail(&p->lx, "out of memory");
			goto cmd_fail;
		}
		pipe->cmds = cs;
		pipe->cmds[pipe->ncmds++] = cmd;
		if (it == TI_PIPE)
			next(p);
		continue;
cmd_fail:
		tcmd_release(&cmd);
		goto fail;
	}
	if (!pipe->ncmds) {
		tmpl_lfail(&p->lx, "missing value for %s", context);
		goto fail;
	}
	for (size_t i = 1; i < pipe->ncmds; i++) {
		enum targ_kind k = pipe->cmds[i].args[0].kind;

		if (k == TA_BOOL || k == TA_DOT || k == TA_NIL || k == TA_NUMBER ||
		    k == TA_STRING) {
			tmpl_lfail(&p->lx, "non executable command in pipeline stage %zu", i + 1);
			goto fail;
		}
	}
	return pipe;
fail:
	tpipe_free(pipe);
	return NULL;
}

static struct tnode *parse_list(struct parser *p, struct tnode **stop, bool *is_else);

static bool append_node(struct tnode **head, struct tnode **tail, struct tnode *n)
{
	if (!n)
		return false;
	if (*tail)
		(*tail)->next = n;
	else
		*head = n;
	*tail = n;
	return true;
}

/* if / range / with: pipeline, list, optional else list ({{else if}} chains as a nested if). */
static struct tnode *parse_control(struct parser *p, enum tnode_kind k, const char *what)
{
	struct tnode *n = tnew(p, k), *stop = NULL;
	size_t vars = p->nvars;
	bool is_else = false;

	if (!n)
		return NULL;
	n->pipe = parse_pipeline(p, what, TI_RIGHT);
	if (!n->pipe)
		goto fail;
	if (k == TN_RANGE)
		p->range_depth++;
	n->list = parse_list(p, &stop, &is_else);
	if (k == TN_RANGE)
		p->range_depth--;
	if (p->lx.failed)
		goto fail;
	if (is_else) {
		enum titem it = peek(p);

		/* {{else if ...}} / {{else with ...}}: the rest is one nested node sharing the end. */
		if (it == TI_IDENT && k != TN_RANGE) {
			next(p);
			if ((k == TN_IF && item_is(p, "if")) ||
			    (k == TN_WITH && item_is(p, "with"))) {
				n->else_list = parse_control(p, k, what);
				if (!n->else_list)
					goto fail;
				pop_vars(p, vars);
				return n;
			}
		} else if (it == TI_RIGHT) {
			next(p);
			n->else_list = parse_list(p, &stop, &is_else);
			if (p->lx.failed)
				goto fail;
			if (is_else) {
				tmpl_lfail(&p->lx, "expected end; found {{else}}");
				goto fail;
			}
		} else {
			next(p);
		}
		if (it != TI_RIGHT) {
			tmpl_lfail(&p->lx, "unexpected \"%.*s\" in else",
				   (int)(p->lx.end - p->lx.start), p->lx.s + p->lx.start);
			goto fail;
		}
	}
	if (!stop) {
		tmpl_lfail(&p->lx, "unexpected EOF");
		goto fail;
	}
	pop_vars(p, vars);
	return n;
fail:
	pop_vars(p, vars);
	tnode_free(n);
	return NULL;
}

/* One action after "{{". *stop set for {{end}} / {{else}}. */
static struct tnode *parse_action(struct parser *p, bool *end, bool *is_else, bool top)
{
	enum titem it = peek(p);

	*end = *is_else = false;
	if (it == TI_IDENT) {
		next(p);
		if (item_is(p, "end") || item_is(p, "else")) {
			bool e = item_is(p, "else");

			if (!e && peek(p) != TI_RIGHT) {
				tmpl_lfail(&p->lx, "unexpected \"%.*s\" in end",
					   (int)(p->lx.end - p->lx.start), p->lx.s + p->lx.start);
				return NULL;
			}
			if (!e)
				next(p);
			*end = !e;
			*is_else = e;
			return NULL;
		}
		if (item_is(p, "if"))
			return parse_control(p, TN_IF, "if");
		if (item_is(p, "range"))
			return parse_control(p, TN_RANGE, "range");
		if (item_is(p, "with"))
			return parse_control(p, TN_WITH, "with");
		if (item_is(p, "break") || item_is(p, "continue")) {
			bool brk = item_is(p, "break");

			if (!p->range_depth) {
				tmpl_lfail(&p->lx, "{{%s}} outside {{range}}",
					   brk ? "break" : "continue");
				return NULL;
			}
			if (peek(p) != TI_RIGHT) {
				next(p);
				tmpl_lfail(&p->lx, "unexpected \"%.*s\" in {{%s}}",
					   (int)(p->lx.end - p->lx.start), p->lx.s + p->lx.start,
					   brk ? "break" : "continue");
				return NULL;
			}
			next(p);
			return tnew(p, brk ? TN_BREAK : TN_CONTINUE);
		}
		if (item_is(p, "template") || item_is(p, "block") || item_is(p, "define")) {
			bool block = item_is(p, "block"), define = item_is(p, "define");
			struct tnode *n;

			if (define && !top) {
				tmpl_lfail(&p->lx, "unexpected <define> in command");
				return NULL;
			}
			it = peek(p);
			if (it != TI_STRING && it != TI_RAW_STRING) {
				next(p);
				tmpl_lfail(&p->lx, "unexpected \"%.*s\" in %s clause",
					   (int)(p->lx.end - p->lx.start), p->lx.s + p->lx.start,
					   define ? "define" :
					   block  ? "block" :
						    "template");
				return NULL;
			}
			next(p);
			n = tnew(p, define ? TN_DEFINE : TN_TEMPLATE);
			if (!n)
				return NULL;
			n->name = item_text(p);
			if (!define && peek(p) != TI_RIGHT) {
				n->pipe = parse_pipeline(p, "template clause", TI_RIGHT);
				if (!n->pipe) {
					tnode_free(n);
					return NULL;
				}
			} else {
				if (peek(p) != TI_RIGHT) {
					next(p);
					tmpl_lfail(&p->lx, "unexpected \"%.*s\" in define clause",
						   (int)(p->lx.end - p->lx.start),
						   p->lx.s + p->lx.start);
					tnode_free(n);
					return NULL;
				}
				next(p);
			}
			if (define || block) {
				struct tnode *stop = NULL;
				bool els = false;
				int depth = p->range_depth;
				size_t vars = p->nvars;

				/* A definition sees only $ (text/template starts it afresh). */
				p->range_depth = 0;
				n->list = parse_list(p, &stop, &els);
				p->range_depth = depth;
				pop_vars(p, vars);
				if (!p->lx.failed && (els || !stop)) {
					tmpl_lfail(&p->lx,
						   els ? "unexpected {{else}}" : "unexpected EOF");
				}
				if (p->lx.failed) {
					tnode_free(n);
					return NULL;
				}
				n->is_block = block;
			}
			return n;
		}
		/* An identifier starting a command: back up one item. */
		p->peeked = true;
	}
	struct tnode *n = tnew(p, TN_ACTION);

	if (!n)
		return NULL;
	n->pipe = parse_pipeline(p, "command", TI_RIGHT);
	if (!n->pipe) {
		free(n);
		return NULL;
	}
	return n;
}

/* Items up to EOF, {{end}} (*stop = non-NULL marker) or {{else}} (*is_else). */
static struct tnode *parse_list(struct parser *p, struct tnode **stop, bool *is_else)
{
	struct tnode *head = NULL, *tail = NULL;
	static struct tnode end_marker;

	*stop = NULL;
	*is_else = false;
	for (;;) {
		enum titem it = peek(p);

		if (it == TI_EOF || it == TI_ERROR) {
			next(p);
			return head;
		}
		next(p);
		if (it == TI_TEXT) {
			struct tnode *n = tnew(p, TN_TEXT);

			if (n)
				n->name = strndup(p->lx.s + p->lx.start, p->lx.end - p->lx.start);
			if (!append_node(&head, &tail, n))
				break;
			continue;
		}
		/* TI_LEFT */
		bool end, els;
		struct tnode *n = parse_action(p, &end, &els, false);

		if (p->lx.failed) {
			tnode_free(n);
			break;
		}
		if (end) {
			*stop = &end_marker;
			return head;
		}
		if (els) {
			*is_else = true;
			*stop = &end_marker;
			return head;
		}
		if (n && n->kind == TN_DEFINE) {
			n->next = p->t->defines;
			p->t->defines = n;
			continue;
		}
		if (!append_node(&head, &tail, n))
			break;
	}
	tnode_free(head);
	return NULL;
}

static const char *const predeclared[] = { "$", "$labels", "$externalLabels", "$externalURL",
					   "$value" };

struct tmpl *tmpl_parse(const char *text, const char *name, char *err, size_t errlen)
{
	struct parser p = { 0 };
	struct tmpl *t = calloc(1, sizeof(*t));
	char dummy[8];

	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p.t = t;
	p.lx.s = text;
	p.lx.len = strlen(text);
	p.lx.line = 1;
	p.lx.err = err;
	p.lx.errlen = errlen;
	p.lx.name = name ? name : "";
	for (size_t i = 0; i < sizeof(predeclared) / sizeof(predeclared[0]); i++)
		if (!push_var(&p, predeclared[i]))
			tmpl_lfail(&p.lx, "out of memory");
	/* Top level: like parse_list, but {{define}} allowed and {{end}}/{{else}} unexpected. */
	struct tnode *tail = NULL;

	while (!p.lx.failed) {
		enum titem it = peek(&p);

		if (it == TI_EOF || it == TI_ERROR)
			break;
		next(&p);
		if (it == TI_TEXT) {
			struct tnode *n = tnew(&p, TN_TEXT);

			if (n)
				n->name = strndup(p.lx.s + p.lx.start, p.lx.end - p.lx.start);
			append_node(&t->root, &tail, n);
			continue;
		}
		bool end, els;
		struct tnode *n = parse_action(&p, &end, &els, true);

		if (p.lx.failed) {
			tnode_free(n);
			break;
		}
		if (end || els) {
			tmpl_lfail(&p.lx, end ? "unexpected {{end}}" : "unexpected {{else}}");
			break;
		}
		if (n && n->kind == TN_DEFINE) {
			n->next = t->defines;
			t->defines = n;
			continue;
		}
		append_node(&t->root, &tail, n);
	}
	pop_vars(&p, 0);
	free(p.vars);
	if (p.lx.failed) {
		tmpl__free(t);
		return NULL;
	}
	return t;
}

void tmpl__free(struct tmpl *t)
{
	if (!t)
		return;
	tnode_free(t->root);
	tnode_free(t->defines);
	free(t);
}

void tcmd_release(struct tcmd *c)
{
	for (size_t i = 0; i < c->nargs; i++) {
		free(c->args[i].text);
		free(c->args[i].chain);
		tpipe_free(c->args[i].pipe);
	}
	free(c->args);
	memset(c, 0, sizeof(*c));
}

void tpipe_free(struct tpipe *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ncmds; i++)
		tcmd_release(&p->cmds[i]);
	free(p->cmds);
	for (int i = 0; i < p->ndecl; i++)
		free(p->decl[i]);
	free(p);
}

void tnode_free(struct tnode *n)
{
	while (n) {
		struct tnode *next = n->next;

		free(n->name);
		tpipe_free(n->pipe);
		tnode_free(n->list);
		tnode_free(n->else_list);
		free(n);
		n = next;
	}
}
