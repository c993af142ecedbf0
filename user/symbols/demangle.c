// SPDX-License-Identifier: GPL-2.0
/* Symbol names through libiberty's demangler. */
#include <stdlib.h>
#include <string.h>
#include <libiberty/demangle.h>

#include "symbols/demangle.h"

char *demangle__name(const char *name)
{
	if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R') ||
	    strnlen(name, DEMANGLE_MAX_LEN + 1) > DEMANGLE_MAX_LEN)
		return NULL;
	char *d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);

	/* libiberty demangles some malformed Rust v0 names ("_RC0") to "": keep the raw name. */
	if (d && !*d) {
		free(d);
		return NULL;
	}
	return d;
}
