/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Demangling the symbol names that ELF files and perf maps carry (both are other users' input).
 * Pure function; thread-safe as libiberty's cplus_demangle is.
 */
#ifndef VIGIL_SYMBOLS_DEMANGLE_H
#define VIGIL_SYMBOLS_DEMANGLE_H

/* Longer names are shown as they are: libiberty's time and recursion grow with the input. */
#define DEMANGLE_MAX_LEN 16384

/*
 * The name a user sees for a mangled C++ (_Z...) or Rust (_R... v0, and the legacy
 * _ZN...17h<hash>E) symbol, with parameter types, as perf shows them: malloc'd (the caller frees
 * it), or NULL when name does not look mangled, is too long, or does not demangle.
 */
char *demangle__name(const char *name);

#endif
