/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whole files read into memory: configuration, rule files, metrics text, certificates, profiles.
 * Thread-safe.
 */
#ifndef VIGIL_UTIL_FILE_H
#define VIGIL_UTIL_FILE_H

#include <stddef.h>

/*
 * The whole file at path ("-": standard input) in a new NUL-terminated buffer, *len its size
 * without the NUL. At most max bytes (0: no limit). NULL with errno set: the open's or read's
 * error, EFBIG past max, ENOMEM.
 */
char *file_read(const char *path, size_t max, size_t *len);

#endif
