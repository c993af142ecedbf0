/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Latency histograms shared by BPF and userspace: log2 buckets, each split into VG_HIST_SUB linear
 * sub-buckets, so a bucket is at most 1/8 = 12.5% of its lower bound wide. Values 0..7 ns have a
 * bucket each; the last bucket (from 2^VG_HIST_MAX_POW ns, about 4.9 hours) takes everything above.
 *
 * Beside them, an exact count on the 1-2.5-5 ladder from 1 us to 10 s (the `le` boundaries of the
 * Prometheus histograms): le[i] counts values v with bound(i-1) < v <= bound(i), le[VG_LE_BOUNDS]
 * those above 10 s. The log2 buckets cannot give these (1000 ns is not a bucket edge), and an SLO on
 * "under 1 ms" must not be an interpolation.
 */
#ifndef VIGIL_HIST_H
#define VIGIL_HIST_H

#define VG_HIST_SUB 8
#define VG_HIST_SUB_SHIFT 3
#define VG_HIST_MAX_POW 44
#define VG_HIST_BUCKETS ((VG_HIST_MAX_POW - 2) * VG_HIST_SUB)
#define VG_LE_BOUNDS 22 /* 1, 2.5, 5 us ... 5 s, 10 s */

struct vg_hist {
	__u64 count;
	__u64 errors; /* e.g. syscalls that returned a negative errno */
	__u64 sum_ns;
	__u64 max_ns;
	__u64 buckets[VG_HIST_BUCKETS];
	__u64 le[VG_LE_BOUNDS + 1];
};

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
/* The i-th `le` boundary in ns (i < VG_LE_BOUNDS): 1000, 2500, 5000, 10000, ... 10^10. */
static __always_inline __u64 vg_le_bound(__u32 i)
{
	__u64 m = i % 3 == 0 ? 1000 : i % 3 == 1 ? 2500 : 5000;

	for (__u32 d = 0; d < i / 3; d++)
		m *= 10;
	return m;
}

/* Ladder bucket of v: the number of boundaries below v (exact integer compares). */
static __always_inline __u32 vg_le_bucket(__u64 v)
{
	return (v > 1000ull) + (v > 2500ull) + (v > 5000ull) + (v > 10000ull) + (v > 25000ull) +
	       (v > 50000ull) + (v > 100000ull) + (v > 250000ull) + (v > 500000ull) +
	       (v > 1000000ull) + (v > 2500000ull) + (v > 5000000ull) + (v > 10000000ull) +
	       (v > 25000000ull) + (v > 50000000ull) + (v > 100000000ull) + (v > 250000000ull) +
	       (v > 500000000ull) + (v > 1000000000ull) + (v > 2500000000ull) +
	       (v > 5000000000ull) + (v > 10000000000ull);
}

#endif

/* floor(log2(v)) for v > 0, branch-free (bcc's bits.bpf.h). */
static __always_inline __u32 vg_log2_u64(__u64 v)
{
	__u32 r, shift, hi = v >> 32 ? 1 : 0;
	__u32 x;

	r = hi << 5;
	x = hi ? (__u32)(v >> 32) : (__u32)v;
	shift = (x > 0xFFFF) << 4;
	x >>= shift;
	r |= shift;
	shift = (x > 0xFF) << 3;
	x >>= shift;
	r |= shift;
	shift = (x > 0xF) << 2;
	x >>= shift;
	r |= shift;
	shift = (x > 0x3) << 1;
	x >>= shift;
	r |= shift;
	r |= (x >> 1);
	return r;
}

static __always_inline __u32 vg_hist_bucket(__u64 v)
{
	__u32 p;

	if (v < VG_HIST_SUB)
		return (__u32)v;
	p = vg_log2_u64(v);
	if (p >= VG_HIST_MAX_POW)
		return VG_HIST_BUCKETS - 1;
	return (p - 2) * VG_HIST_SUB + (__u32)((v >> (p - VG_HIST_SUB_SHIFT)) & (VG_HIST_SUB - 1));
}

/* [low, high) of bucket i in ns; the last bucket's high is its low (open-ended). */
static __always_inline __u64 vg_hist_low(__u32 i)
{
	__u32 p, sub;

	if (i < VG_HIST_SUB)
		return i;
	p = i / VG_HIST_SUB + 2;
	sub = i % VG_HIST_SUB;
	return (__u64)(VG_HIST_SUB + sub) << (p - VG_HIST_SUB_SHIFT);
}

static __always_inline __u64 vg_hist_high(__u32 i)
{
	if (i < VG_HIST_SUB)
		return (__u64)i + 1;
	return vg_hist_low(i) + ((__u64)1 << (i / VG_HIST_SUB + 2 - VG_HIST_SUB_SHIFT));
}

/* The i-th `le` boundary in ns (i < VG_LE_BOUNDS): 1000, 2500, 5000, 10000, ... 10^10. */
static __always_inline __u64 vg_le_bound(__u32 i)
{
	__u64 m = i % 3 == 0 ? 1000 : i % 3 == 1 ? 2500 : 5000;

	for (__u32 d = 0; d < i / 3; d++)
		m *= 10;
	return m;
}

/* Ladder bucket of v: the number of boundaries below v (exact integer compares). */
static __always_inline __u32 vg_le_bucket(__u64 v)
{
	return (v > 1000ull) + (v > 2500ull) + (v > 5000ull) + (v > 10000ull) + (v > 25000ull) +
	       (v > 50000ull) + (v > 100000ull) + (v > 250000ull) + (v > 500000ull) +
	       (v > 1000000ull) + (v > 2500000ull) + (v > 5000000ull) + (v > 10000000ull) +
	       (v > 25000000ull) + (v > 50000000ull) + (v > 100000000ull) + (v > 250000000ull) +
	       (v > 500000000ull) + (v > 1000000000ull) + (v > 2500000000ull) +
	       (v > 5000000000ull) + (v > 10000000000ull);
}

#endif
