/* SPDX-License-Identifier: GPL-2.0 */
/* Go template internals shared by template.c (parser) and template_exec.c. Not for other files. */
#ifndef VIGIL_ANALYTICS_TEMPLATE_INT_H
#define VIGIL_ANALYTICS_TEMPLATE_INT_H

#include <stdbool.h>
#include <stddef.h>

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
void tcmd_release(struct tcmd *c);
void tpipe_free(struct tpipe *p);
void tnode_free(struct tnode *n);

#endif
