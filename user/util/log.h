/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Diagnostics on stderr. Every message is one line: "vigil: what failed: why (hint)".
 * Not thread-safe with respect to the verbosity setting (set it once at start-up).
 */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <bpf/libbpf.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* 0 = errors, warnings and notices; 1 (-v) adds debug lines and libbpf's messages. */
void log_set_verbose(int verbose);
int log_verbose(void);
/* Suppress info-level notices (used by tests and by quiet modes). */
void log_set_quiet(bool quiet);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* libbpf print callback: routes libbpf's output through here (debug only unless -v). */
int log_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap);

#endif
