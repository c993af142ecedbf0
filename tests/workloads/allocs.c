// SPDX-License-Identifier: GPL-2.0
/*
 * allocs MODE: allocations with known totals, for vigil mem.
 *   basic        keep_blocks() keeps 1000 x 4096 B; churn() makes 5000 malloc(1024)/free pairs
 *   variety      one function per allocator entry point, each leaving a known number of bytes in use
 *                (see the table in main); prints nothing
 *   foreign      allocates 7777 B, prints "ready", waits for SIGUSR1, frees it (a free of memory
 *                vigil never saw allocated), then keep_blocks() and exits
 *   mixed N      N allocations of mixed sizes (16 B .. 256 KiB) made and freed in mixed_churn();
 *                prints the bytes allocated
 *   touch MIB [S] touch_pages() writes every page of MIB fresh MiB of anonymous memory, then holds
 *                it for S seconds (default 0)
 *   aging        old_blocks() keeps 100 x 1000 B, 1.5 s later young_blocks() keeps 100 x 2000 B
 *   loop N [SZ]  N malloc(SZ)/free pairs in alloc_loop() (default 64 B); prints ns per pair, wall
 *                clock then the process's CPU time
 *   faultloop N MIB  fault_loop() maps MIB fresh MiB, writes every page and unmaps it, N times;
 *                prints ns per page, wall clock then CPU time
 *   deep N       one 100 B block kept from each of N distinct stacks (recursion depths 0..N-1)
 *   wait MODE... prints "ready", waits for SIGUSR1, then runs MODE (for -p tests)
 *   hold S MODE... runs MODE, then stays S seconds before exiting
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "workload.h"

/* Pointers escape here, so the compiler cannot elide a malloc/free pair. */
void *volatile sink;
volatile int depth_sink;
static void *kept[1000];

__attribute__((noinline)) void keep_blocks(void)
{
	for (int i = 0; i < 1000; i++) {
		kept[i] = malloc(4096);
		memset(kept[i], 1, 64);
	}
}

__attribute__((noinline)) void churn(void)
{
	for (int i = 0; i < 5000; i++) {
		void *p = malloc(1024);

		sink = p;
		free(p);
	}
}

/* realloc growth: 1000, 2000, ... 10000 B, the last one kept (10000 B in use). */
__attribute__((noinline)) void grow_chain(void)
{
	void *p = NULL;

	for (int i = 1; i <= 10; i++) {
		void *q = realloc(p, (size_t)i * 1000);

		if (!q)
			abort();
		p = q;
	}
	sink = p;
}

/* calloc(100, 40) kept: 4000 B. An overflowing calloc fails and is not recorded. */
__attribute__((noinline)) void calloc_block(void)
{
	volatile size_t huge = (size_t)1 << 62;

	void *p;

	sink = calloc(100, 40);
	p = calloc(huge, 16);
	sink = p;
	if (p)
		abort();
}

/* posix_memalign(64, 8192) kept: 8192 B. */
__attribute__((noinline)) void memalign_block(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 64, 8192))
		abort();
	sink = p;
}

/* aligned_alloc(64, 640) kept: 640 B. */
__attribute__((noinline)) void aligned_block(void)
{
	sink = aligned_alloc(64, 640);
}

/* memalign(256, 1500) kept: 1500 B. */
__attribute__((noinline)) void old_memalign_block(void)
{
	sink = memalign(256, 1500);
}

/* valloc(3000) kept: 3000 B. */
__attribute__((noinline)) void valloc_block(void)
{
	sink = valloc(3000);
}

/* pvalloc(5000) kept: rounded up to whole pages, 2 x 4096 B. */
__attribute__((noinline)) void pvalloc_block(void)
{
	sink = pvalloc(5000);
}

/* An anonymous 1 MiB mapping grown to 3 MiB by mremap (moved to mremap's caller: 3 MiB in use),
 * and a page of a file mapping grown to two (not anonymous: nothing). */
__attribute__((noinline)) void remap_blocks(void)
{
	char *a = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open("/proc/self/exe", O_RDONLY);
	char *f = fd >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;

	if (a == MAP_FAILED || f == MAP_FAILED)
		abort();
	a = mremap(a, 1 << 20, 3 << 20, MREMAP_MAYMOVE);
	f = mremap(f, 4096, 8192, MREMAP_MAYMOVE);
	if (a == MAP_FAILED || f == MAP_FAILED)
		abort();
	close(fd);
	sink = a;
	sink = f;
}

/* reallocarray(NULL, 10, 300) kept: 3000 B. */
__attribute__((noinline)) void array_block(void)
{
	sink = reallocarray(NULL, 10, 300);
}

/* malloc(5000) then realloc(p, 0), which frees it: 0 B in use, 5000 B allocated. */
__attribute__((noinline)) void realloc_zero(void)
{
	void *p = malloc(5000);

	sink = p;
	sink = realloc(p, 0);
}

/* mmap 1 MiB kept; 2 MiB mapped and unmapped; 4 MiB mapped then the first 1 MiB unmapped
 * (3 MiB left). In use: 4 MiB. */
__attribute__((noinline)) void map_blocks(void)
{
	char *a = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *c = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (a == MAP_FAILED || b == MAP_FAILED || c == MAP_FAILED)
		abort();
	munmap(b, 2 << 20);
	munmap(c, 1 << 20);
	sink = a;
}

__attribute__((noinline)) void mixed_churn(long n)
{
	static const size_t sizes[] = { 16, 48, 200, 1000, 4000, 30000, 100000, 262144 };
	uint64_t x = 12345, total = 0;

	for (long i = 0; i < n; i++) {
		size_t s;
		void *p;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		s = sizes[(x >> 33) % 8];
		p = malloc(s);
		sink = p;
		free(p);
		total += s;
	}
	printf("%llu\n", (unsigned long long)total);
}

__attribute__((noinline)) void touch_pages(long mib)
{
	size_t len = (size_t)mib << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long page = sysconf(_SC_PAGESIZE);

	if (p == MAP_FAILED)
		abort();
	madvise(p, len, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < len; off += (size_t)page)
		p[off] = 1;
	sink = p;
}

__attribute__((noinline)) void old_blocks(void)
{
	for (int i = 0; i < 100; i++)
		kept[i] = malloc(1000);
}

__attribute__((noinline)) void young_blocks(void)
{
	for (int i = 100; i < 200; i++)
		kept[i] = malloc(2000);
}

__attribute__((noinline)) void alloc_loop(long n, size_t size)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID), t1, c1;

	for (long i = 0; i < n; i++) {
		void *p = malloc(size);

		sink = p;
		free(p);
	}
	t1 = now_ns(CLOCK_MONOTONIC);
	c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	printf("%.1f %.1f\n", (double)(t1 - t0) / (double)n, (double)(c1 - c0) / (double)n);
}

__attribute__((noinline)) void fault_loop(long n, long mib)
{
	size_t len = (size_t)mib << 20;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID), t1, c1;
	double pages = (double)n * (double)(len / (size_t)page);

	for (long i = 0; i < n; i++) {
		char *p =
			mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			abort();
		madvise(p, len, MADV_NOHUGEPAGE);
		for (size_t off = 0; off < len; off += (size_t)page)
			p[off] = 1;
		munmap(p, len);
	}
	t1 = now_ns(CLOCK_MONOTONIC);
	c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	printf("%.1f %.1f\n", (double)(t1 - t0) / pages, (double)(c1 - c0) / pages);
}

__attribute__((noinline)) void deep_alloc(int depth)
{
	if (depth > 0) {
		deep_alloc(depth - 1);
		depth_sink = depth; /* not a tail call: each depth keeps its frame */
		return;
	}
	sink = malloc(100);
}

static void wait_usr1(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
}

static int run(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "basic";

	if (!strcmp(mode, "basic")) {
		keep_blocks();
		churn();
	} else if (!strcmp(mode, "variety")) {
		grow_chain();
		calloc_block();
		memalign_block();
		aligned_block();
		old_memalign_block();
		valloc_block();
		pvalloc_block();
		remap_blocks();
		array_block();
		realloc_zero();
		map_blocks();
	} else if (!strcmp(mode, "foreign")) {
		void *early = malloc(7777);

		sink = early;
		wait_usr1();
		free(early);
		keep_blocks();
	} else if (!strcmp(mode, "mixed")) {
		mixed_churn(argc > 2 ? atol(argv[2]) : 20000);
	} else if (!strcmp(mode, "touch")) {
		touch_pages(argc > 2 ? atol(argv[2]) : 64);
		if (argc > 3)
			usleep((useconds_t)(atof(argv[3]) * 1e6));
	} else if (!strcmp(mode, "aging")) {
		old_blocks();
		usleep(1500000);
		young_blocks();
	} else if (!strcmp(mode, "loop")) {
		alloc_loop(argc > 2 ? atol(argv[2]) : 1000000,
			   argc > 3 ? (size_t)atol(argv[3]) : 64);
	} else if (!strcmp(mode, "faultloop")) {
		fault_loop(argc > 2 ? atol(argv[2]) : 10, argc > 3 ? atol(argv[3]) : 64);
	} else if (!strcmp(mode, "deep")) {
		for (int d = 0; d < (argc > 2 ? atoi(argv[2]) : 100); d++)
			deep_alloc(d);
	} else if (!strcmp(mode, "wait")) {
		wait_usr1();
		return run(argc - 1, argv + 1);
	} else if (!strcmp(mode, "hold") && argc > 3) {
		int ret = run(argc - 2, argv + 2);

		fflush(stdout);
		usleep((useconds_t)(atof(argv[2]) * 1e6));
		return ret;
	} else {
		fprintf(stderr, "allocs: unknown mode '%s'\n", mode);
		return 2;
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	return run(argc, argv);
}
