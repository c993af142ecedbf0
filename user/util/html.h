/* SPDX-License-Identifier: GPL-2.0 */
/* Text put into HTML: the email notifications' bodies, the SLA report page. Thread-safe. */
#ifndef VIGIL_UTIL_HTML_H
#define VIGIL_UTIL_HTML_H

#include <stdio.h>

/* s with & < > " ' escaped as Go's html/template escapes them (so Alertmanager's email template and
 * ours agree byte for byte), fit for element text and quoted attribute values. */
static inline void html_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '"')
			fputs("&#34;", f);
		else if (*s == '\'')
			fputs("&#39;", f);
		else
			fputc(*s, f);
	}
}

#endif
