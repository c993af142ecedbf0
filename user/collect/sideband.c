// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "util/log.h"
#include "collect/sideband.h"
#include "symbols/symbolizer.h"

#define SIDEBAND_PAGES 64 /* per CPU: 256 KiB, thousands of records between two reads */

struct sideband {
	struct symbolizer *sym;
	struct perf_buffer *pb;
	int map_fd;
	__u64 lost;
};

struct rec_mmap2 {
	struct perf_event_header hdr;
	__u32 pid, tid;
	__u64 addr, len, pgoff;
	union {
		struct {
			__u32 maj, min;
			__u64 ino, ino_generation;
		};
		struct {
			__u8 build_id_size, res1;
			__u16 res2;
			__u8 build_id[20];
		};
	};
	__u32 prot, flags;
	char filename[];
};

struct rec_task {
	struct perf_event_header hdr;
	__u32 pid, ppid, tid, ptid;
	__u64 time;
};

struct rec_comm {
	struct perf_event_header hdr;
	__u32 pid, tid;
	char comm[];
};

struct rec_lost {
	struct perf_event_header hdr;
	__u64 id, lost;
};

static enum bpf_perf_event_ret on_record(void *ctx, int cpu, struct perf_event_header *h)
{
	struct sideband *sb = ctx;

	(void)cpu;
	switch (h->type) {
	case PERF_RECORD_MMAP2: {
		const struct rec_mmap2 *r = (const void *)h;
		struct sym_mmap m = {
			.start = r->addr,
			.len = r->len,
			.pgoff = r->pgoff,
			.prot = r->prot,
			.path = r->filename,
		};

		if (h->size < sizeof(*r) || !memchr(r->filename, 0, h->size - sizeof(*r)))
			break;
		if (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
			m.build_id = r->build_id;
			m.build_id_size = r->build_id_size > 20 ? 20 : r->build_id_size;
		} else {
			m.maj = r->maj;
			m.min = r->min;
			m.ino = r->ino;
		}
		symbolizer__add_mmap(sb->sym, r->pid, &m);
		break;
	}
	case PERF_RECORD_FORK: {
		const struct rec_task *r = (const void *)h;

		/* A new thread shares its process's image; only new processes need a copy. */
		if (r->pid != r->ppid)
			symbolizer__fork(sb->sym, r->ppid, r->pid);
		break;
	}
	case PERF_RECORD_COMM: {
		const struct rec_comm *r = (const void *)h;

		if (h->misc & PERF_RECORD_MISC_COMM_EXEC)
			symbolizer__exec(sb->sym, r->pid);
		break;
	}
	case PERF_RECORD_LOST: {
		const struct rec_lost *r = (const void *)h;

		sb->lost += r->lost;
		/* Images built from records may now miss a mapping. */
		symbolizer__records_lost(sb->sym);
		break;
	}
	default:
		break;
	}
	return LIBBPF_PERF_EVENT_CONT;
}

struct sideband *sideband__new(struct symbolizer *sym)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_DUMMY,
		.mmap = 1,
		.mmap2 = 1,
		.comm = 1,
		.comm_exec = 1,
		.task = 1,
		.sample_period = 1,
		/* Wake the reader once a quarter of the buffer is used; the loop also drains it often. */
		.watermark = 1,
		.wakeup_watermark = SIDEBAND_PAGES * 4096 / 4,
	};
	struct sideband *sb = calloc(1, sizeof(*sb));
	int ncpu = libbpf_num_possible_cpus(), err;

	if (!sb)
		return NULL;
	sb->sym = sym;
	if (ncpu < 0) {
		err = ncpu;
		goto fail;
	}
	sb->map_fd = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "vg_sideband", sizeof(int),
				    sizeof(int), ncpu, NULL);
	if (sb->map_fd < 0) {
		err = -errno;
		goto fail;
	}
	sb->pb = perf_buffer__new_raw(sb->map_fd, SIDEBAND_PAGES, &attr, on_record, sb, NULL);
	if (!sb->pb) {
		err = -errno;
		goto fail;
	}
	return sb;
fail:
	sideband__free(sb);
	errno = -err;
	return NULL;
}

void sideband__free(struct sideband *sb)
{
	if (!sb)
		return;
	perf_buffer__free(sb->pb);
	if (sb->map_fd > 0)
		close(sb->map_fd);
	free(sb);
}

int sideband__fd(const struct sideband *sb)
{
	return perf_buffer__epoll_fd(sb->pb);
}

int sideband__drain(struct sideband *sb)
{
	int err = perf_buffer__consume(sb->pb);

	return err < 0 ? err : 0;
}

__u64 sideband__lost(const struct sideband *sb)
{
	return sb->lost;
}
