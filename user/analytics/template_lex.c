// SPDX-License-Identifier: GPL-2.0
/* Go text/template's lexer (text/template/parse/lex.go): delimiters, trim markers, comments, items. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/template_int.h"

/* ---- lexer ---- */

void tmpl_lfail(struct lexer *l, const char *fmt, ...)
{
	va_list ap;
	int off;

	if (l->failed)
		return;
	l->failed = true;
	off = snprintf(l->err, l->errlen, "template: %s:%d: ", l->name, l->line);
	va_start(ap, fmt);
	if (off >= 0 && (size_t)off < l->errlen)
		vsnprintf(l->err + off, l->errlen - (size_t)off, fmt, ap);
	va_end(ap);
}

static bool at_right_delim(const struct lexer *l, size_t p, size_t *dlen, bool *trim)
{
	/* " -}}" trims; "}}" does not. */
	if (p + 3 < l->len + 1 && isspace((unsigned char)l->s[p]) && l->s[p + 1] == '-' &&
	    l->s[p + 2] == '}' && l->s[p + 3] == '}') {
		*dlen = 4;
		*trim = true;
		return true;
	}
	if (p + 1 < l->len && l->s[p] == '}' && l->s[p + 1] == '}') {
		*dlen = 2;
		*trim = false;
		return true;
	}
	return false;
}

static void count_lines(struct lexer *l, size_t a, size_t b)
{
	for (size_t i = a; i < b && i < l->len; i++)
		if (l->s[i] == '\n')
			l->line++;
}

static bool is_alnum_(int c)
{
	return isalnum(c) || c == '_';
}

/* text/template's atTerminator: what may follow a field, variable or identifier. */
static bool at_terminator(const struct lexer *l, size_t p)
{
	size_t d;
	bool t;
	char c = p < l->len ? l->s[p] : 0;

	if (!c || isspace((unsigned char)c) || c == '.' || c == ',' || c == '|' || c == ':' ||
	    c == ')' || c == '(')
		return true;
	return at_right_delim(l, p, &d, &t);
}

/* The next item. Text items are produced outside actions. */
void tmpl_lex_next(struct lexer *l)
{
	const char *s = l->s;

	if (l->failed) {
		l->it = TI_ERROR;
		return;
	}
	if (!l->in_action) {
		size_t p = l->pos, text_end;
		const char *open = NULL;

		if (p >= l->len) {
			l->it = TI_EOF;
			return;
		}
		open = strstr(s + p, "{{");
		text_end = open ? (size_t)(open - s) : l->len;
		l->start = p;
		l->end = text_end;
		if (l->trim_next) {
			while (l->start < l->end && isspace((unsigned char)s[l->start]))
				l->start++;
			l->trim_next = false;
		}
		if (open) {
			size_t after = text_end + 2;
			bool trim_left = after + 1 < l->len && s[after] == '-' &&
					 isspace((unsigned char)s[after + 1]);

			if (trim_left)
				while (l->end > l->start && isspace((unsigned char)s[l->end - 1]))
					l->end--;
			if (text_end > p || l->end > l->start) {
				count_lines(l, p, text_end);
				l->pos = text_end;
				if (l->end > l->start) {
					l->it = TI_TEXT;
					return;
				}
			}
			/* The left delimiter, and a comment right after it. */
			l->pos = after + (trim_left ? 2 : 0);
			if (l->pos + 1 < l->len + 1 && !strncmp(s + l->pos, "/*", 2)) {
				const char *close = strstr(s + l->pos + 2, "*/");
				size_t dl;
				bool tr;

				if (!close) {
					tmpl_lfail(l, "unclosed comment");
					l->it = TI_ERROR;
					return;
				}
				size_t q = (size_t)(close - s) + 2;

				count_lines(l, l->pos, q);
				if (!at_right_delim(l, q, &dl, &tr)) {
					tmpl_lfail(l, "comment ends before closing delimiter");
					l->it = TI_ERROR;
					return;
				}
				l->pos = q + dl;
				l->trim_next = tr;
				tmpl_lex_next(l);
				return;
			}
			l->in_action = true;
			l->paren = 0;
			l->it = TI_LEFT;
			return;
		}
		count_lines(l, p, text_end);
		l->pos = text_end;
		if (l->end > l->start) {
			l->it = TI_TEXT;
			return;
		}
		l->it = TI_EOF;
		return;
	}
	/* Inside an action. */
	for (;;) {
		size_t p = l->pos, dl;
		bool tr;

		if (p >= l->len) {
			tmpl_lfail(l, "unclosed action");
			l->it = TI_ERROR;
			return;
		}
		if (at_right_delim(l, p, &dl, &tr) && l->paren == 0) {
			l->pos = p + dl;
			l->trim_next = tr;
			l->in_action = false;
			l->it = TI_RIGHT;
			return;
		}
		if (at_right_delim(l, p, &dl, &tr)) {
			tmpl_lfail(l, "unclosed left paren");
			l->it = TI_ERROR;
			return;
		}
		char c = s[p];

		l->start = p;
		if (isspace((unsigned char)c)) {
			while (l->pos < l->len && isspace((unsigned char)s[l->pos]) &&
			       !at_right_delim(l, l->pos, &dl, &tr)) {
				if (s[l->pos] == '\n')
					l->line++;
				l->pos++;
			}
			continue; /* spaces only separate items here */
		}
		l->pos++;
		switch (c) {
		case '|':
			l->it = TI_PIPE;
			l->end = l->pos;
			return;
		case ',':
			l->it = TI_COMMA;
			l->end = l->pos;
			return;
		case '(':
			l->paren++;
			l->it = TI_LPAREN;
			l->end = l->pos;
			return;
		case ')':
			l->paren--;
			if (l->paren < 0) {
				tmpl_lfail(l, "unexpected right paren");
				l->it = TI_ERROR;
				return;
			}
			l->it = TI_RPAREN;
			l->end = l->pos;
			return;
		case '=':
			l->it = TI_ASSIGN;
			l->end = l->pos;
			return;
		case ':':
			if (l->pos < l->len && s[l->pos] == '=') {
				l->pos++;
				l->it = TI_DECLARE;
				l->end = l->pos;
				return;
			}
			tmpl_lfail(l, "expected :=");
			l->it = TI_ERROR;
			return;
		case '"':
		case '`':
		case '\'': {
			for (; l->pos < l->len && s[l->pos] != c; l->pos++) {
				if (c != '`' && s[l->pos] == '\\' && l->pos + 1 < l->len)
					l->pos++;
				else if (c != '`' && s[l->pos] == '\n')
					break;
			}
			if (l->pos >= l->len || s[l->pos] != c) {
				tmpl_lfail(l, c == '`' ? "unterminated raw quoted string" :
					      c == '"' ? "unterminated quoted string" :
							 "unterminated character constant");
				l->it = TI_ERROR;
				return;
			}
			l->pos++;
			l->end = l->pos;
			l->it = c == '\'' ? TI_CHAR : c == '"' ? TI_STRING : TI_RAW_STRING;
			return;
		}
		case '$':
		case '.':
			if (c == '.' && l->pos < l->len && isdigit((unsigned char)s[l->pos]))
				goto number;
			while (l->pos < l->len && is_alnum_((unsigned char)s[l->pos]))
				l->pos++;
			if (!at_terminator(l, l->pos)) {
				unsigned char b = (unsigned char)s[l->pos];

				tmpl_lfail(l, "bad character U+%04X '%c'", b, b);
				l->it = TI_ERROR;
				return;
			}
			l->end = l->pos;
			l->it = c == '$' ? TI_VARIABLE :
					   (l->end - l->start == 1 ? TI_DOT : TI_FIELD);
			return;
		default:
			break;
		}
		if (isdigit((unsigned char)c) || c == '-' || c == '+') {
number:
			while (l->pos < l->len && (isalnum((unsigned char)s[l->pos]) ||
						   s[l->pos] == '.' || s[l->pos] == '_' ||
						   ((s[l->pos] == '+' || s[l->pos] == '-') &&
						    (s[l->pos - 1] == 'e' || s[l->pos - 1] == 'E' ||
						     s[l->pos - 1] == 'p'))))
				l->pos++;
			l->end = l->pos;
			char buf[64], *e;

			snprintf(buf, sizeof(buf), "%.*s", (int)(l->end - l->start), s + l->start);
			errno = 0;
			strtod(buf, &e);
			if (*e || e == buf) {
				tmpl_lfail(l, "bad number syntax: \"%s\"", buf);
				l->it = TI_ERROR;
				return;
			}
			l->it = TI_NUMBER;
			return;
		}
		if (is_alnum_((unsigned char)c)) {
			while (l->pos < l->len && is_alnum_((unsigned char)s[l->pos]))
				l->pos++;
			if (!at_terminator(l, l->pos)) {
				unsigned char b = (unsigned char)s[l->pos];

				tmpl_lfail(l, "bad character U+%04X '%c'", b, b);
				l->it = TI_ERROR;
				return;
			}
			l->end = l->pos;
			l->it = TI_IDENT;
			return;
		}
		tmpl_lfail(l, "bad character U+%04X '%c'", (unsigned char)c, c);
		l->it = TI_ERROR;
		return;
	}
}
