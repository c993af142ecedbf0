/* SPDX-License-Identifier: GPL-2.0 */
/* Go template internals shared by template.c (parser) and template_exec.c. Not for other files. */
#ifndef VIGIL_ANALYTICS_TEMPLATE_INT_H
#define VIGIL_ANALYTICS_TEMPLATE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/template.h"

enum titem {
	TI_EOF,
	TI_ERROR,
	TI_TEXT,
	TI_LEFT,
	TI_RIGHT,
	TI_PIPE,
	TI_COMMA,
	TI_LPAREN,
	TI_RPAREN,
	TI_ASSIGN,
	TI_DECLARE,
	TI_STRING,
	TI_RAW_STRING,
	TI_CHAR,
	TI_NUMBER,
	TI_DOT,
	TI_FIELD,
	TI_VARIABLE,
	TI_IDENT,
};

/* The lexer's state (template_lex.c); the parser reads the current item from it. */
struct lexer {
	const char *s;
	size_t pos, len;
	int line;
	bool in_action;
	int paren;
	/* the current item */
	enum titem it;
	size_t start, end; /* item text [start, end) */
	bool trim_next; /* the last right delimiter was "-}}" */
	char *err;
	size_t errlen;
	const char *name;
	bool failed;
};

/* The next item into l->it (text outside actions, tokens inside). */
void tmpl_lex_next(struct lexer *l);
/* The first error wins: "template: NAME:LINE: why" into l->err, l->failed set. */
void tmpl_lfail(struct lexer *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

enum targ_kind {
	TA_FUNC,
	TA_DOT,
	TA_FIELD,
	TA_VAR,
	TA_STRING,
	TA_NUMBER,
	TA_BOOL,
	TA_NIL,
	TA_PIPE
};

struct tpipe;

struct targ {
	enum targ_kind kind;
	char *text; /* function or variable name, literal as written (quotes included) */
	char *chain; /* ".a.b" after the term (TA_FIELD: the whole field chain) */
	bool b;
	struct tpipe *pipe; /* TA_PIPE */
};

struct tcmd {
	struct targ *args;
	size_t nargs;
};

struct tpipe {
	char *decl[2];
	int ndecl;
	bool assign; /* "=" rather than ":=" */
	struct tcmd *cmds;
	size_t ncmds;
};

enum tnode_kind {
	TN_TEXT,
	TN_ACTION,
	TN_IF,
	TN_RANGE,
	TN_WITH,
	TN_BREAK,
	TN_CONTINUE,
	TN_TEMPLATE,
	TN_DEFINE,
};

struct tnode {
	enum tnode_kind kind;
	char *name; /* TN_TEXT: the text; TN_TEMPLATE / TN_DEFINE: the template's name (quoted) */
	struct tpipe *pipe;
	struct tnode *list, *else_list;
	bool is_block; /* TN_TEMPLATE from {{block}}: list is the definition */
	struct tnode *next;
};

struct tmpl {
	struct tnode *root;
	struct tnode *defines; /* TN_DEFINE nodes, and blocks' bodies */
};

bool tmpl_func_known(const char *name);

/* ---- execution (template_exec.c, template_funcs.c) ---- */

enum vkind { V_NIL, V_BOOL, V_INT, V_FLOAT, V_STR, V_MAP, V_DATA };

struct val {
	enum vkind k;
	bool b;
	long long i;
	double f;
	const char *s;
	const struct labels *m;
};

struct ex {
	const struct tmpl *t;
	const struct tmpl_data *d;
	char *out;
	size_t len, cap;
	struct {
		const char *name;
		struct val v;
	} vars[64];
	size_t nvars;
	char err[256];
	bool failed;
	char **allocs;
	size_t nallocs, capallocs;
	int depth;
	int ctl; /* 1 after {{break}}, 2 after {{continue}} */
};

static inline struct val vstr(const char *s)
{
	struct val v = { .k = V_STR, .s = s ? s : "" };

	return v;
}

static inline struct val vfloat(double f)
{
	struct val v = { .k = V_FLOAT, .f = f };

	return v;
}

static inline struct val vbool(bool b)
{
	struct val v = { .k = V_BOOL, .b = b };

	return v;
}

void tx_xfail(struct ex *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Strings made during execution: kept until it ends (NULL stays NULL, after an error). */
char *tx_keep(struct ex *x, char *s);
char *tx_xprintf(struct ex *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *tx_kind_name(const struct val *v);
/* fmt's %v of a float64, and %.4g followed by suffix. */
char *tx_go_float_v(struct ex *x, double v);
char *tx_go_g4(struct ex *x, double v, const char *suffix);
const char *tx_to_text(struct ex *x, const struct val *v);
bool tx_truth(const struct val *v);
bool tx_to_float(struct ex *x, const struct val *v, double *f);
struct val tx_field(struct ex *x, struct val v, const char *name);
struct val tx_eval_arg(struct ex *x, const struct targ *a, struct val dot);
struct val tx_eval_pipe(struct ex *x, const struct tpipe *p, struct val dot);
int tx_cmp_vals(struct ex *x, const struct val *a, const struct val *b, bool *ok);
/* A function call: args unevaluated (and/or are lazy), final the previous pipeline stage's value. */
struct val tx_call(struct ex *x, const char *fn, const struct targ *args, size_t nargs,
		   const struct val *final, struct val dot);
void tcmd_release(struct tcmd *c);
void tpipe_free(struct tpipe *p);
void tnode_free(struct tnode *n);

#endif
