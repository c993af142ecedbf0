// SPDX-License-Identifier: GPL-2.0
/*
 * syscalls DELAY_S N: sleep DELAY_S, then make N getppid() calls and N/10 failing openat() calls
 * (ENOENT) in one burst, sleep DELAY_S again and exit. Two tools watching the whole run must count
 * exactly the same calls. Prints its pid first, then "done" with what it did.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	double delay = argc > 1 ? atof(argv[1]) : 1;
	long n = argc > 2 ? atol(argv[2]) : 100000, fails = 0;
	struct timespec ts = { (time_t)delay, (long)((delay - (time_t)delay) * 1e9) };

	printf("%d\n", getpid());
	fflush(stdout);
	nanosleep(&ts, NULL);
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	for (long i = 0; i < n / 10; i++)
		if (syscall(SYS_openat, AT_FDCWD, "/nonexistent/vigil", O_RDONLY) < 0)
			fails++;
	nanosleep(&ts, NULL);
	printf("done getppid=%ld openat_failed=%ld\n", n, fails);
	return 0;
}
