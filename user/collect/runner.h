/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lifecycle every stack collector shares, so each command only opens, configures, loads and
 * attaches its own BPF object:
 *
 *   runner__init      symbolizer (kernel symbols loaded now, not after the capture), event loop
 *   runner__spawn     -- COMMAND forked and held, its pid put in the object's pid filter (counting
 *                     from its exec); the object's exec hook attached
 *   runner__track     perf side-band and the object's process-notice ring buffer, if it has one
 *   runner__unwind    after load: the CFI/frame-pointer walker's tables (collect/unwind.h)
 *   runner__start     release COMMAND, take the start time, say what is being collected
 *   runner__run       the event loop, until DURATION, Ctrl-C/SIGTERM, COMMAND's exit or the exit
 *                     of every -p target
 *   runner__finish    drain notices; then the caller reads its maps and builds a profile
 *   runner__exit_code what vigil returns: COMMAND's status (128+N for signal N), else 0
 *   runner__release   free everything (NULL-safe members); ends a COMMAND still running
 *
 * Writing the result (-o, -f, the top table) is the command's job: cmd/output.h.
 */
#ifndef VIGIL_RUNNER_H
#define VIGIL_RUNNER_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#include "collect/session.h"
#include "kernel/features.h"
#include "vigil/common.h"

struct bpf_object;
struct bpf_map;
struct profile;
struct ring_buffer;
struct sideband;
struct symbolizer;
struct unwinder;

/* What the lifecycle needs from the command line; cmd/options.h fills it from the common options. */
struct runner_opts {
	double duration; /* seconds; 0 = until Ctrl-C or COMMAND's exit */
	char **command; /* -- COMMAND argv (borrowed, NULL-terminated), or NULL */
	bool symbols; /* make a symbolizer (not for vigil lat) */
	bool kernel_symbols; /* load kallsyms before the capture (not with -U) */
	bool no_demangle; /* --no-demangle */
	bool lines; /* source lines from DWARF (pprof output, --lines) */
	const __u32 *pids; /* -p targets (borrowed): the capture ends when all have exited */
	size_t nr_pids;
	bool data_on_stdout; /* vigil writes its data to stdout: COMMAND's stdout goes to stderr */
	__u32 unwind_mode; /* VG_UNWIND_* (vigil/unwind.h): CFI makes the symbolizer build tables */
	__u32 max_frames; /* --max-frames */
	__u32 unwind_rows; /* --unwind-rows */
};

struct runner {
	const char *cmd; /* "profile" */
	struct runner_opts o;
	struct symbolizer *sym;
	struct sideband *sb;
	struct ring_buffer *rb;
	struct session *sess;
	struct bpf_link *exec_link; /* the object's sched_process_exec hook */
	struct unwinder *uw; /* NULL unless runner__unwind made one */
	pid_t child;
	__u64 start_ns; /* CLOCK_REALTIME at start */
	double t_start, t_stop;
	enum session_end end;
	__u64 notices;
};

/* 0 or 1 after an error message. Without o->symbols (vigil lat), no symbolizer is made. */
int runner__init(struct runner *r, const char *cmd, const struct runner_opts *o);
/*
 * Attach obj's sched_process_exec hook (VG_EXEC_PROGS; may be NULL) in flavour a, and if o->command,
 * fork it (held) and add its pid to obj's pid_filter. COMMAND counts from its exec when the hook is
 * attached (as perf's enable_on_exec: vigil's code between fork and exec is not COMMAND's), from its
 * fork otherwise. The runner owns the hook's link. 0 or 1 after an error line.
 */
struct tp_progs;
int runner__spawn(struct runner *r, struct bpf_object *obj, const struct tp_progs *on_exec,
		  enum tp_attach a);
/* Side-band records, plus obj's ring buffer map "events" of process notices when given. 0 or 1. */
int runner__track(struct runner *r, struct bpf_map *events);
/*
 * After load and runner__track (the collector sized the maps: unwind__configure): load the
 * walker's tables for every process the object announces (no-op for --unwind kernel), and now for
 * pids (-p), so their first samples unwind fully too; COMMAND's as soon as it exec'd. 0 or 1.
 */
int runner__unwind(struct runner *r, struct bpf_object *obj, const __u32 *pids, size_t npids);
/*
 * The unwinder's periodic work (side-band drained, changed images reloaded, exited processes
 * dropped). runner__unwind sets a 25 ms session tick that calls it; a caller that sets its own tick
 * afterwards (one tick per session) must call it from there.
 */
void runner__unwind_tick(struct runner *r);
/* Release COMMAND and print "what: until when" (what e.g. "sampling 2 CPUs at 99 Hz"). 0 or 1. */
int runner__start(struct runner *r, const char *what);
/* Run until the end; returns the reason. */
enum session_end runner__run(struct runner *r);
/* After the caller detached its sources: drain pending notices, report COMMAND's status or that
 * the -p targets exited. */
void runner__finish(struct runner *r);
/* vigil's exit status after a successful capture: COMMAND's exit status when it exited (128+N when
 * killed by signal N, as a shell reports it), else 0. */
int runner__exit_code(const struct runner *r);
/* The run's start time and duration, for the profile's metadata. */
void runner__timing(const struct runner *r, __u64 *start_ns, __u64 *duration_ns);
/* One warning line when counters show losses; hint names the flag that helps. */
void runner__report_losses(const struct runner *r, const __u64 cnt[VG_CNT_NR], const char *unit);
void runner__release(struct runner *r);

/* CLOCK_MONOTONIC and CLOCK_REALTIME helpers. */
double mono_s(void);
__u64 realtime_ns(void);

#endif
