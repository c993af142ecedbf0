/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /proc/PID/maps: one line per mapping, "start-end perms offset maj:min inode   path". The path is the
 * rest of the line (it may hold spaces); the kernel appends " (deleted)" to unlinked files and escapes
 * a newline in a name as "\012". Anonymous mappings have no path; special ones name themselves in
 * brackets ([heap], [stack], [vdso], [vvar], [vsyscall], [anon:NAME]).
 *
 * Ownership: a struct procmaps owns its entries and their path strings; pointers returned by its
 * accessors stay valid until procmaps__free(). Pure parsing: thread-safe on distinct objects.
 */
#ifndef VIGIL_PROCMAPS_H
#define VIGIL_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

enum procmaps_kind {
	PROCMAPS_ANON = 0, /* no path */
	PROCMAPS_FILE = 1, /* an absolute path (possibly deleted) */
	PROCMAPS_SPECIAL = 2, /* "[heap]", "[stack]", "[vdso]", "[anon:NAME]", ... */
};

/* One parsed line. path points into the caller's line and is NOT NUL-terminated. */
struct procmaps_line {
	__u64 start, end, pgoff;
	__u64 ino;
	__u32 maj, min;
	__u32 prot; /* PROT_READ | PROT_WRITE | PROT_EXEC */
	bool shared; /* 's' rather than 'p' */
	bool deleted; /* " (deleted)" was stripped from the path */
	const char *path; /* path_len bytes, escapes left as they are; "" (len 0) when anonymous */
	size_t path_len;
};

/*
 * Parses one line of len bytes (a trailing newline is allowed). Never reads past line + len and never
 * writes to it. Returns 0, or -EINVAL when the line is malformed (out is then undefined).
 */
int procmaps__parse_line(const char *line, size_t len, struct procmaps_line *out);

/* A mapping as stored in a struct procmaps: path is an owned, NUL-terminated, unescaped copy. */
struct procmaps_entry {
	__u64 start, end, pgoff;
	__u64 ino;
	__u32 maj, min;
	__u32 prot;
	bool shared;
	bool deleted;
	enum procmaps_kind kind;
	const char *path; /* "" when anonymous; never NULL */
};

struct procmaps;

/*
 * Parses a whole maps text of len bytes (need not be NUL-terminated). Malformed lines are skipped.
 * Entries end up sorted by start address. Returns NULL with errno set (ENOMEM).
 */
struct procmaps *procmaps__parse(const char *buf, size_t len);
/* Reads and parses a file such as "/proc/123/maps". NULL with errno set (ENOENT when it is gone). */
struct procmaps *procmaps__read(const char *path);
/* NULL-safe. */
void procmaps__free(struct procmaps *m);

size_t procmaps__count(const struct procmaps *m);
/* i < count; entries are sorted by start. */
const struct procmaps_entry *procmaps__entry(const struct procmaps *m, size_t i);
/* The mapping with start <= addr < end, or NULL. O(log n). */
const struct procmaps_entry *procmaps__find(const struct procmaps *m, __u64 addr);

/* The file offset that addr (inside e) corresponds to: addr - start + pgoff. */
static inline __u64 procmaps_entry__file_offset(const struct procmaps_entry *e, __u64 addr)
{
	return addr - e->start + e->pgoff;
}

/* Classifies a path as it appears in maps (or in a perf MMAP2 record). */
enum procmaps_kind procmaps__classify(const char *path);

/* Text scanning shared with the other line parsers of this folder: hex digits at *p (at least one,
 * at most 16), or exactly the character c; both advance *p. 0 or -EINVAL. */
int procmaps__scan_hex(const char **p, const char *end, __u64 *out);
int procmaps__scan_char(const char **p, const char *end, char c);

/*
 * Reads a whole file into a NUL-terminated malloc'ed buffer (works for /proc files, whose size is
 * unknown up front). Returns the buffer and sets *len, or NULL with errno set. The caller frees it.
 */
char *procmaps__slurp(const char *path, size_t *len);
/* The same from an open descriptor (the caller keeps it); at most max bytes (0: no cap), else NULL
 * with errno EFBIG. */
char *procmaps__slurp_fd(int fd, size_t max, size_t *len);
/*
 * Populates the page tables of a large, freshly allocated range in one call: touching fresh memory
 * page by page costs a fault per page, which in some VMs dominates the cost of parsing big files.
 * Best effort; a no-op for ranges under 1 MiB.
 */
void procmaps__prefault(void *p, size_t len);

#endif
