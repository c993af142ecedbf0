/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ring-buffer records of bpf/trace.bpf.c (vigil trace). Every record starts with struct vg_trec_hdr
 * (type and size first, STYLE.md rule 3), then the record's own fields. Times are CLOCK_MONOTONIC
 * nanoseconds (bpf_ktime_get_ns). Userspace checks type and size before it reads a record.
 */
#ifndef VIGIL_TRACE_H
#define VIGIL_TRACE_H

#include "vigil/common.h"

/* Record types (distinct from VG_REC_NEW_PROC of the other collectors). */
#define VG_TREC_FORK 16 /* a task was created (process or thread) */
#define VG_TREC_EXEC 17 /* a process executed a new program */
#define VG_TREC_EXIT 18 /* a task exited */
#define VG_TREC_SYSCALL 19 /* a syscall at least min_syscall_ns long */
#define VG_TREC_FUNC 20 /* a call of a -u function returned */
#define VG_TREC_SOCK 21 /* socket data of an HTTP connection (head bytes, or a size only) */
#define VG_TREC_FIRST VG_TREC_FORK
#define VG_TREC_LAST VG_TREC_SOCK
#define VG_TREC_NR (VG_TREC_LAST - VG_TREC_FIRST + 1)

/*
 * Per-CPU counters of the trace program (the "tcounters" map), summed by userspace: for each record
 * type, how many were due (VG_TCNT_DUE + t) and how many of those the ring buffer had no room for
 * (VG_TCNT_LOST + t), so received + lost = due, exactly. Other losses have their own reason.
 */
#define VG_TCNT_DUE 0 /* + (type - VG_TREC_FIRST) */
#define VG_TCNT_LOST 8 /* + (type - VG_TREC_FIRST) */
#define VG_TCNT_STORAGE 16 /* a task's state could not be stored: its syscalls are not timed */
#define VG_TCNT_FUNC_DEPTH 17 /* -u calls nested deeper than VG_FUNC_DEPTH: not timed */
#define VG_TCNT_FUNC_FULL 18 /* -u call stacks map full */
#define VG_TCNT_SOCKS_FULL 19 /* HTTP connection map full (LRU evicted entries are not counted) */
#define VG_TCNT_WRITERS_FULL 20 /* last-writer map full: a data link may be missing */
#define VG_TCNT_FOLLOW_FULL 21 /* a descendant could not join the pid filter */
#define VG_TCNT_NR 24

#define VG_ARGV_LEN 512 /* bytes of argv kept per exec (NUL-separated) */
#define VG_FILENAME_LEN 256
#define VG_PATH_PARTS 8 /* path components kept for a file descriptor, leaf first */
#define VG_PART_LEN 32
#define VG_HTTP_CAP 1024 /* bytes of a request or response head copied from the socket buffer */
#define VG_FUNC_DEPTH 16 /* nested -u calls timed per thread */
#define VG_MAX_FUNCS 64 /* -u targets */
#define VG_TRACE_MAX_SYSCALLS 512 /* syscall numbers with an entry in sc_flags */

/* sc_flags[nr]: what the syscall's arguments and return value are (filled by userspace by name). */
#define VG_SC_FD0 1 /* arg0 is a file descriptor */
#define VG_SC_RETFD 2 /* the return value is a new file descriptor */
#define VG_SC_PATH1 4 /* arg1 is a user path (openat) */
#define VG_SC_PATH0 8 /* arg0 is a user path (open, stat, ...) */
#define VG_SC_RX 16 /* reads data from fd arg0 into user memory */
#define VG_SC_TX 32 /* writes data from user memory to fd arg0 */
#define VG_SC_BUF1 64 /* arg1 is the buffer */
#define VG_SC_IOV1 128 /* arg1 is a struct iovec array */
#define VG_SC_MSG1 256 /* arg1 is a struct user_msghdr */

struct vg_trec_hdr {
	__u32 type;
	__u32 size; /* bytes of the whole record */
	__u64 ts; /* the event's time (a span's start) */
	__u32 pid; /* tgid of the task the record is about (the parent for FORK) */
	__u32 tid;
};

/* VG_TREC_FORK: hdr.pid/tid is the parent. */
#define VG_FORK_THREAD 1 /* the child shares the parent's thread group */
#define VG_FORK_UNSURE 2 /* child_pid is the tid: the child's own records tell its tgid */
struct vg_trec_fork {
	struct vg_trec_hdr hdr;
	__u32 child_pid;
	__u32 child_tid;
	__u32 flags;
	__u32 pad;
	__u8 comm[VG_COMM_LEN]; /* the child's (the parent's, inherited) */
};

/* What a file descriptor refers to. */
#define VG_FD_NONE 0 /* no descriptor, or not resolved */
#define VG_FD_FILE 1 /* regular file, directory or device: path components */
#define VG_FD_PIPE 2 /* pipe or FIFO: ino */
#define VG_FD_SOCK 3 /* socket: family, addresses */
#define VG_FD_OTHER 4 /* anon inode (eventfd, epoll, ...): path[0] holds its name */

#define VG_FDI_WHOLE_PATH 1 /* path holds the syscall's path argument as one string */
#define VG_FDI_TRUNCATED 2 /* the path has more components than were kept */
struct vg_fd_info {
	__u8 kind; /* VG_FD_* */
	__u8 flags; /* VG_FDI_* */
	__u16 sock_type; /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u16 family; /* AF_INET, AF_INET6, AF_UNIX */
	__u16 sport; /* local port, host order */
	__u16 dport; /* remote port, host order */
	__u16 pad[3];
	__u64 ino;
	__u64 sk; /* the socket's kernel address, as an identity only (never printed) */
	__u64 peer; /* unix: the peer's kernel address */
	__u8 saddr[16]; /* local address (IPv4 in the first 4 bytes) */
	__u8 daddr[16]; /* remote address; unix: the peer's inode number (first 8 bytes) */
	char path[VG_PATH_PARTS][VG_PART_LEN]; /* leaf first; "" ends it */
};

/* VG_TREC_EXEC: argv as the process's memory holds it after exec. */
struct vg_trec_exec {
	struct vg_trec_hdr hdr;
	__u32 old_tid; /* the exec'ing thread before de_thread() made it the leader */
	__u32 argv_len; /* bytes valid in argv */
	__u8 comm[VG_COMM_LEN];
	char filename[VG_FILENAME_LEN]; /* as passed to execve (may be relative) */
	char argv[VG_ARGV_LEN];
	struct vg_fd_info exe; /* the file the kernel runs (mm->exe_file): path components */
};

/* VG_TREC_EXIT: exit_code is the wait status of the task (status << 8 | signal). */
#define VG_EXIT_GROUP_DEAD 1 /* the last task of its thread group */
#define VG_EXIT_GROUP_EXIT 2 /* the group exits as a whole (exit_group, fatal signal) */
struct vg_trec_exit {
	struct vg_trec_hdr hdr;
	__u32 exit_code;
	__u32 group_exit_code; /* valid with VG_EXIT_GROUP_EXIT */
	__u32 flags;
	__u32 ppid; /* the real parent's tgid */
	__u64 start_ns; /* task->start_time (CLOCK_MONOTONIC): the task's creation */
	__u64 oncpu_ns; /* task->se.sum_exec_runtime */
	__u64 run_delay_ns; /* task->sched_info.run_delay: runnable but waiting for a CPU */
	__u8 comm[VG_COMM_LEN];
};

/* A link to the span that caused a wait: the waker, or the last writer of the data read. */
#define VG_LINK_NONE 0
#define VG_LINK_WAKEUP 1 /* sched_wakeup of this thread by another traced thread */
#define VG_LINK_PIPE 2 /* data written to the pipe this syscall read */
#define VG_LINK_UNIX 3 /* data written to the unix socket this syscall read */
#define VG_LINK_TCP 4 /* data written to the TCP connection (loopback) this syscall read */
struct vg_link {
	__u32 kind;
	__u32 pid;
	__u32 tid;
	__u32 pad;
	__u64 ts;
};

/* VG_TREC_SYSCALL: hdr.ts is the entry, dur the time to the exit. */
struct vg_trec_syscall {
	struct vg_trec_hdr hdr;
	__u64 dur;
	__s64 ret;
	__u32 nr;
	__s32 fd; /* -1: none */
	struct vg_link waker;
	struct vg_link writer;
	struct vg_fd_info fdi;
};

/* VG_TREC_FUNC: a -u function call, entry (hdr.ts) to return. */
struct vg_trec_func {
	struct vg_trec_hdr hdr;
	__u64 dur;
	__u32 func; /* index of the -u target (attach cookie) */
	__u32 depth; /* nesting depth at entry, 0 = outermost */
	__s64 ret; /* the return value register */
};

/* VG_TREC_SOCK: one read-like (rx) or write-like (tx) syscall on a socket of an HTTP connection.
 * hdr.ts is the syscall's entry, dur its length. */
#define VG_SOCK_RX 1
#define VG_SOCK_TX 2
#define VG_SOCK_HEAD 4 /* data[] holds the first bytes of what was transferred */
struct vg_trec_sock {
	struct vg_trec_hdr hdr;
	__u64 dur;
	__s64 ret; /* bytes transferred, 0 = EOF, negative errno */
	__u32 nr;
	__s32 fd;
	__u32 flags; /* VG_SOCK_* */
	__u32 len; /* bytes valid in data */
	struct vg_fd_info fdi;
	char data[VG_HTTP_CAP];
};

#endif
