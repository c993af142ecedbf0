// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <linux/types.h>

#include "util/log.h"
#include "collect/session.h"

#define MAX_FDS 16

struct watch {
	int fd;
	int (*on_ready)(void *ctx);
	void *ctx;
};

struct session {
	int epfd, sigfd, deadline_fd, tick_fd;
	sigset_t old_mask;
	struct timespec start;
	double duration; /* armed when the loop first runs, so set-up time does not count */
	struct watch watches[MAX_FDS];
	int nr_watches;
	int (*on_tick)(void *ctx);
	void *tick_ctx;
	pid_t child;
	int go_fd, err_fd; /* release pipe (write end), exec-error pipe (read end) */
	int child_status;
	int signo;
	/* -p targets: one pidfd each (-1 once exited), or a /proc poll timer without pidfds */
	__u32 *pids;
	int *pidfds;
	size_t nr_pids, alive;
	int poll_fd;
};

/* epoll data for the session's own descriptors; watches use their index, pidfds EV_PIDFD + i. */
enum { EV_SIGNAL = MAX_FDS, EV_DEADLINE, EV_TICK, EV_POLL, EV_PIDFD };

static int epoll_add(int epfd, int fd, __u64 data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int arm_timer(int fd, double seconds, bool periodic)
{
	struct itimerspec its = { 0 };
	double whole = floor(seconds);

	its.it_value.tv_sec = (time_t)whole;
	its.it_value.tv_nsec = (long)((seconds - whole) * 1e9);
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	if (periodic)
		its.it_interval = its.it_value;
	return timerfd_settime(fd, 0, &its, NULL) ? -errno : 0;
}

struct session *session__new(double duration_s)
{
	struct session *s = calloc(1, sizeof(*s));
	sigset_t mask;
	int err;

	if (!s)
		return NULL;
	s->epfd = s->sigfd = s->deadline_fd = s->tick_fd = s->go_fd = s->err_fd = s->poll_fd = -1;
	s->child_status = -1;
	clock_gettime(CLOCK_MONOTONIC, &s->start);

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, &s->old_mask))
		goto err;
	s->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->sigfd < 0 || s->epfd < 0)
		goto err;
	if ((err = epoll_add(s->epfd, s->sigfd, EV_SIGNAL))) {
		errno = -err;
		goto err;
	}
	if (duration_s > 0) {
		s->duration = duration_s;
		s->deadline_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (s->deadline_fd < 0 || epoll_add(s->epfd, s->deadline_fd, EV_DEADLINE))
			goto err;
	}
	return s;
err:
	err = errno;
	session__free(s);
	errno = err;
	return NULL;
}

static void reap_child(struct session *s, int options)
{
	int status;

	if (s->child <= 0 || s->child_status != -1)
		return;
	if (waitpid(s->child, &status, options) == s->child)
		s->child_status = status;
}

void session__free(struct session *s)
{
	if (!s)
		return;
	if (s->go_fd >= 0) {
		/* Never released: it ran none of COMMAND's code, so it can simply go. */
		close(s->go_fd);
		if (s->child > 0 && s->child_status == -1) {
			kill(s->child, SIGKILL);
			reap_child(s, 0);
		}
	}
	if (s->child > 0 && s->child_status == -1) {
		reap_child(s, WNOHANG);
		if (s->child_status == -1) {
			kill(s->child, SIGTERM);
			for (int i = 0; i < 200 && s->child_status == -1; i++) {
				usleep(10000);
				reap_child(s, WNOHANG);
			}
			if (s->child_status == -1) {
				kill(s->child, SIGKILL);
				reap_child(s, 0);
			}
		}
	}
	if (s->err_fd >= 0)
		close(s->err_fd);
	/* A SIGINT that came while the output was written must not kill vigil once the mask is
	 * restored: the capture already ended and its output is out. */
	if (s->sigfd >= 0) {
		struct signalfd_siginfo si;

		while (read(s->sigfd, &si, sizeof(si)) == sizeof(si))
			;
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->sigfd >= 0)
		close(s->sigfd);
	if (s->deadline_fd >= 0)
		close(s->deadline_fd);
	if (s->tick_fd >= 0)
		close(s->tick_fd);
	if (s->poll_fd >= 0)
		close(s->poll_fd);
	for (size_t i = 0; i < s->nr_pids; i++)
		if (s->pidfds[i] >= 0)
			close(s->pidfds[i]);
	free(s->pidfds);
	free(s->pids);
	sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
	free(s);
}

pid_t session__spawn(struct session *s, char *const argv[], bool stdout_to_stderr)
{
	int go[2], ex[2];
	pid_t pid;
	char c;

	if (s->child > 0)
		return -EBUSY;
	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(ex, O_CLOEXEC)) {
		int err = -errno;

		close(go[0]);
		close(go[1]);
		return err;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(go[0]);
		close(go[1]);
		close(ex[0]);
		close(ex[1]);
		return err;
	}
	if (pid == 0) {
		int e;

		close(go[1]);
		close(ex[0]);
		sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
		/* Stop until vigil has attached: a stopped task leaves no scheduler trace of its
		 * own, unlike one blocked in read(). SIGCONT, then the go byte, releases it; EOF on
		 * the go pipe means vigil gave up. */
		raise(SIGSTOP);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		if (stdout_to_stderr && dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		e = errno;
		if (write(ex[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(ex[1]);
	s->go_fd = go[1];
	s->err_fd = ex[0];
	s->child = pid;
	{
		int st;

		/* Wait until it is stopped, so nothing it does precedes the attach. */
		if (waitpid(pid, &st, WUNTRACED) == pid && !WIFSTOPPED(st))
			s->child_status = st;
	}
	return pid;
}

int session__start_child(struct session *s)
{
	ssize_t n;
	int e = 0;
	char c = 1;

	if (s->go_fd < 0)
		return -EINVAL;
	kill(s->child, SIGCONT);
	n = write(s->go_fd, &c, 1);
	close(s->go_fd);
	s->go_fd = -1;
	if (n != 1)
		return -EPIPE;
	/* The exec-error pipe closes on a successful exec (O_CLOEXEC) and carries errno otherwise. */
	do
		n = read(s->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(s->err_fd);
	s->err_fd = -1;
	if (n == sizeof(e)) {
		reap_child(s, 0);
		return -e;
	}
	return 0;
}

/* Has pid exited (gone, zombie or dead)? For the /proc poll. */
static bool proc_gone(__u32 pid)
{
	char path[64], buf[512], *p;
	bool gone = true;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	/* "PID (COMM) STATE ...": COMM may hold anything, the state follows the last ')'. */
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
		gone = p[2] == 'Z' || p[2] == 'X';
	fclose(f);
	return gone;
}

int session__watch_pids(struct session *s, const __u32 *pids, size_t n)
{
	bool poll = false;
	int err;

	if (s->nr_pids || !n)
		return s->nr_pids ? -EBUSY : 0;
	s->pids = calloc(n, sizeof(*s->pids));
	s->pidfds = calloc(n, sizeof(*s->pidfds));
	if (!s->pids || !s->pidfds)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int fd = (int)syscall(SYS_pidfd_open, (pid_t)pids[i], 0);

		s->pids[i] = pids[i];
		s->pidfds[i] = -1;
		s->nr_pids++;
		if (fd < 0 && errno == ESRCH) {
			s->pids[i] = 0; /* already gone */
			continue;
		}
		s->alive++;
		if (fd < 0) {
			poll = true; /* no pidfds here (before 5.3): poll /proc */
			continue;
		}
		s->pidfds[i] = fd;
		err = epoll_add(s->epfd, fd, EV_PIDFD + i);
		if (err)
			return err;
	}
	if (!poll)
		return 0;
	s->poll_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->poll_fd < 0)
		return -errno;
	err = arm_timer(s->poll_fd, 0.5, true);
	return err ? err : epoll_add(s->epfd, s->poll_fd, EV_POLL);
}

size_t session__pids_alive(const struct session *s)
{
	return s->alive;
}

/* The /proc poll: count the polled targets that are gone. */
static void poll_pids(struct session *s)
{
	__u64 expirations;

	if (read(s->poll_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	for (size_t i = 0; i < s->nr_pids; i++) {
		if (s->pidfds[i] >= 0 || !s->pids[i] || !proc_gone(s->pids[i]))
			continue;
		s->pids[i] = 0; /* counted */
		s->alive--;
	}
}

/* A pidfd became readable: its process exited. */
static void pid_exited(struct session *s, size_t i)
{
	if (i >= s->nr_pids || s->pidfds[i] < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->pidfds[i], NULL);
	close(s->pidfds[i]);
	s->pidfds[i] = -1;
	s->pids[i] = 0;
	s->alive--;
}

int session__add_fd(struct session *s, int fd, int (*on_ready)(void *ctx), void *ctx)
{
	int err;

	if (s->nr_watches >= MAX_FDS)
		return -E2BIG;
	err = epoll_add(s->epfd, fd, (__u64)s->nr_watches);
	if (err)
		return err;
	s->watches[s->nr_watches++] = (struct watch){ fd, on_ready, ctx };
	return 0;
}

int session__set_tick(struct session *s, double interval_s, int (*on_tick)(void *ctx), void *ctx)
{
	int err;

	if (s->tick_fd >= 0) {
		/* A later tick replaces the earlier one (the runner's unwinder tick, e.g.). */
		err = arm_timer(s->tick_fd, interval_s, true);
		if (!err) {
			s->on_tick = on_tick;
			s->tick_ctx = ctx;
		}
		return err;
	}
	s->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->tick_fd < 0)
		return -errno;
	err = arm_timer(s->tick_fd, interval_s, true);
	if (!err)
		err = epoll_add(s->epfd, s->tick_fd, EV_TICK);
	s->on_tick = on_tick;
	s->tick_ctx = ctx;
	return err;
}

/* Returns true when the loop must end. */
static bool handle_signals(struct session *s, enum session_end *end)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap_child(s, WNOHANG);
			if (s->child > 0 && s->child_status != -1) {
				*end = SESSION_CHILD_EXIT;
				return true;
			}
			continue;
		}
		s->signo = (int)si.ssi_signo;
		*end = SESSION_SIGNAL;
		return true;
	}
	return false;
}

enum session_end session__run(struct session *s)
{
	struct epoll_event evs[MAX_FDS + 8];
	enum session_end end;
	__u64 expirations;

	if (s->duration > 0) {
		int err = arm_timer(s->deadline_fd, s->duration, false);

		s->duration = 0; /* once */
		if (err) {
			pr_err("arming the deadline failed: %s", strerror(-err));
			return SESSION_ERROR;
		}
	}
	/* COMMAND may have exited before the loop started. */
	reap_child(s, WNOHANG);
	if (s->child > 0 && s->child_status != -1)
		return SESSION_CHILD_EXIT;
	if (s->nr_pids && !s->alive)
		return SESSION_TARGETS_EXIT;
	for (;;) {
		int n = epoll_wait(s->epfd, evs, MAX_FDS + 8, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("event loop failed: %s", strerror(errno));
			return SESSION_ERROR;
		}
		for (int i = 0; i < n; i++) {
			__u64 d = evs[i].data.u64;

			if (d == EV_SIGNAL) {
				if (handle_signals(s, &end))
					return end;
			} else if (d == EV_DEADLINE) {
				return SESSION_DEADLINE;
			} else if (d == EV_TICK) {
				if (read(s->tick_fd, &expirations, sizeof(expirations)) > 0 &&
				    s->on_tick && s->on_tick(s->tick_ctx) < 0)
					return SESSION_ERROR;
			} else if (d == EV_POLL || d >= EV_PIDFD) {
				if (d == EV_POLL)
					poll_pids(s);
				else
					pid_exited(s, (size_t)(d - EV_PIDFD));
				if (!s->alive)
					return SESSION_TARGETS_EXIT;
			} else if (d < (__u64)s->nr_watches) {
				struct watch *w = &s->watches[d];

				if (w->on_ready(w->ctx) < 0)
					return SESSION_ERROR;
			}
		}
	}
}

double session__elapsed(const struct session *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - s->start.tv_sec) + (now.tv_nsec - s->start.tv_nsec) / 1e9;
}

int session__signal(const struct session *s)
{
	return s->signo;
}

int session__child_status(const struct session *s)
{
	return s->child_status;
}
