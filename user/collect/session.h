/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The life of one collection: a single-threaded epoll loop over the collector's file descriptors
 * (ring buffers, perf side-band), SIGINT/SIGTERM/SIGHUP/SIGCHLD through a signalfd, a deadline and
 * periodic ticks; and the optional COMMAND that vigil launches and follows.
 *
 * COMMAND is forked at session__spawn() but held before exec until session__start_child(), so the
 * collector can put its pid in the BPF filter and attach first: nothing it does is missed.
 * Not thread-safe. session__free() ends a COMMAND still running (SIGTERM, then SIGKILL after 2 s) and
 * restores the signal mask.
 */
#ifndef VIGIL_SESSION_H
#define VIGIL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct session;

enum session_end {
	SESSION_DEADLINE, /* the duration elapsed */
	SESSION_SIGNAL, /* SIGINT, SIGTERM or SIGHUP */
	SESSION_CHILD_EXIT, /* COMMAND exited */
	SESSION_TARGETS_EXIT, /* every watched process (-p) exited */
	SESSION_ERROR, /* a callback failed */
};

/* duration_s = 0: no deadline. The deadline counts from the first session__run(). NULL + errno. */
struct session *session__new(double duration_s);
void session__free(struct session *s);

/* Fork argv held before exec. Returns the child's pid or -errno. At most one per session.
 * stdout_to_stderr: the child's stdout is vigil's stderr (vigil's stdout carries its data). */
pid_t session__spawn(struct session *s, char *const argv[], bool stdout_to_stderr);
/* Let the child exec. 0, or -errno when exec failed (the child has exited then). */
int session__start_child(struct session *s);

/* End the loop (SESSION_TARGETS_EXIT) once every one of these processes has exited: through
 * pidfds, or by polling /proc twice a second where pidfd_open() is missing. A process already gone
 * counts as exited. Once per session; 0 or -errno. */
int session__watch_pids(struct session *s, const __u32 *pids, size_t n);
/* How many of the watched processes are still running. */
size_t session__pids_alive(const struct session *s);

/* Call on_ready(ctx) when fd is readable; a negative return ends the loop with SESSION_ERROR. */
int session__add_fd(struct session *s, int fd, int (*on_ready)(void *ctx), void *ctx);
/* Call on_tick(ctx) every interval_s seconds (one tick source per session: a later call replaces
 * the earlier one). */
int session__set_tick(struct session *s, double interval_s, int (*on_tick)(void *ctx), void *ctx);

enum session_end session__run(struct session *s);
/* Seconds since session__new (CLOCK_MONOTONIC). */
double session__elapsed(const struct session *s);
/* The signal that ended the loop, 0 if none. */
int session__signal(const struct session *s);
/* COMMAND's wait status once it exited, -1 before. */
int session__child_status(const struct session *s);

#endif
