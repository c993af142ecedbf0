// SPDX-License-Identifier: GPL-2.0
/* Symbol names through libiberty's demangler. */
#include <string.h>
#include <libiberty/demangle.h>

#include "symbols/demangle.h"

char *demangle__name(const char *name)
{
	if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R') ||
	    strnlen(name, DEMANGLE_MAX_LEN + 1) > DEMANGLE_MAX_LEN)
		return NULL;
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}
