// SPDX-License-Identifier: GPL-2.0
/*
 * pprof back into the model: the stored interval profiles of `vigil serve` are the gzip pprof that
 * export_pprof() wrote, and range queries merge them again. Decoding is bounded (input and inflated
 * size) and checks every index, since the bytes come from disk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export/export.h"
#include "profile.pb-c.h"

#define KERNEL_SPACE_START 0xffff800000000000ull

typedef Perftools__Profiles__Profile Profile;

/* gunzip (or pass through raw protobuf) into a new buffer, at most max bytes. */
static int inflate_all(const unsigned char *in, size_t len, size_t max, unsigned char **out,
		       size_t *out_len)
{
	z_stream zs = { 0 };
	unsigned char *buf = NULL;
	size_t cap = len * 4 + 4096, n = 0;
	int zr;

	if (len < 2 || in[0] != 0x1f || in[1] != 0x8b) {
		/* not gzip: raw protobuf */
		if (len > max)
			return -EFBIG;
		buf = malloc(len ? len : 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, in, len);
		*out = buf;
		*out_len = len;
		return 0;
	}
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)len;
	do {
		if (n == cap || !buf) {
			unsigned char *b;

			if (buf)
				cap *= 2;
			if (cap > max)
				cap = max;
			if (n == cap) {
				zr = Z_BUF_ERROR;
				break;
			}
			b = realloc(buf, cap);
			if (!b) {
				zr = Z_MEM_ERROR;
				break;
			}
			buf = b;
		}
		zs.next_out = buf + n;
		zs.avail_out = (uInt)(cap - n);
		zr = inflate(&zs, Z_NO_FLUSH);
		n = cap - zs.avail_out;
	} while (zr == Z_OK);
	inflateEnd(&zs);
	if (zr != Z_STREAM_END) {
		free(buf);
		return zr == Z_MEM_ERROR ? -ENOMEM : n >= max ? -EFBIG : -EINVAL;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

static const char *str_at(const Profile *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "";
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* The profile's frames and mappings from pprof locations: one location, one frame. */
static int add_locations(struct profile *out, const Profile *pp, __u32 *map_ids, __u32 *loc_ids)
{
	for (size_t i = 0; i < pp->n_mapping; i++) {
		const Perftools__Profiles__Mapping *m = pp->mapping[i];
		struct profile_mapping pm = {
			.start = m->memory_start,
			.limit = m->memory_limit,
			.offset = m->file_offset,
			.path = str_at(pp, m->filename),
			.build_id = str_at(pp, m->build_id),
		};

		/* The kernel's synthetic mapping stays implicit in the model (no mapping). */
		if (!strcmp(pm.path, "[kernel.kallsyms]"))
			continue;
		map_ids[i] = profile__add_mapping(out, &pm);
		if (!map_ids[i])
			return -ENOMEM;
	}
	for (size_t i = 0; i < pp->n_location; i++) {
		const Perftools__Profiles__Location *l = pp->location[i];
		const Perftools__Profiles__Function *fn = NULL;
		const Perftools__Profiles__Mapping *m = NULL;
		struct profile_frame f = { .addr = l->address };
		const char *file = "";

		for (size_t k = 0; k < pp->n_mapping; k++)
			if (pp->mapping[k]->id == l->mapping_id) {
				m = pp->mapping[k];
				f.mapping = map_ids[k];
				break;
			}
		if (l->n_line) {
			for (size_t k = 0; k < pp->n_function; k++)
				if (pp->function[k]->id == l->line[0]->function_id) {
					fn = pp->function[k];
					break;
				}
		}
		f.name = fn ? str_at(pp, fn->name) : "[unknown]";
		file = fn ? str_at(pp, fn->filename) : m ? str_at(pp, m->filename) : "";
		if (m && !strcmp(str_at(pp, m->filename), "[kernel.kallsyms]")) {
			f.kind = FRAME_KERNEL;
			f.module = *file && strcmp(file, "[kernel.kallsyms]") ? file :
										"[kernel.kallsyms]";
		} else if (!m && !l->address) {
			f.kind = FRAME_SPECIAL;
			f.module = "";
		} else {
			f.module = base_name(file);
			f.kind = !strncmp(f.module, "[kernel", 7) ||
						 l->address >= KERNEL_SPACE_START ?
					 FRAME_KERNEL :
				 !strcmp(f.module, "[unknown]") ? FRAME_UNKNOWN :
								  FRAME_USER;
			if (f.kind == FRAME_KERNEL && f.mapping)
				f.kind = FRAME_KERNEL;
		}
		loc_ids[i] = profile__add_frame(out, &f);
		if (!loc_ids[i])
			return -ENOMEM;
	}
	return 0;
}

static __u32 loc_index(const Profile *pp, const __u32 *loc_ids, uint64_t id)
{
	/* Vigil writes location id = index + 1; others may not. */
	if (id && id <= pp->n_location && pp->location[id - 1]->id == id)
		return loc_ids[id - 1];
	for (size_t k = 0; k < pp->n_location; k++)
		if (pp->location[k]->id == id)
			return loc_ids[k];
	return 0;
}

static int add_samples(struct profile *out, const Profile *pp, const __u32 *loc_ids)
{
	__u32 *frames = NULL;
	size_t cap = 0;
	int err = 0;

	for (size_t i = 0; i < pp->n_sample && !err; i++) {
		const Perftools__Profiles__Sample *s = pp->sample[i];
		struct profile_stack st = { .comm = "" };

		if (s->n_value < 2) {
			err = -EINVAL;
			break;
		}
		if (s->n_location_id > cap) {
			__u32 *n = realloc(frames, s->n_location_id * sizeof(*n));

			if (!n) {
				err = -ENOMEM;
				break;
			}
			frames = n;
			cap = s->n_location_id;
		}
		for (size_t k = 0; k < s->n_location_id; k++) {
			/* leaf first in pprof, root first in the model */
			__u32 f = loc_index(pp, loc_ids, s->location_id[k]);

			if (!f) {
				free(frames);
				return -EINVAL;
			}
			frames[s->n_location_id - 1 - k] = f;
		}
		for (size_t k = 0; k < s->n_label; k++) {
			const char *key = str_at(pp, s->label[k]->key);

			if (!strcmp(key, "pid"))
				st.pid = (__u32)s->label[k]->num;
			else if (!strcmp(key, "tid"))
				st.tid = (__u32)s->label[k]->num;
			else if (!strcmp(key, "comm"))
				st.comm = str_at(pp, s->label[k]->str);
			else if (!strcmp(key, "cgroup"))
				st.cgroup = str_at(pp, s->label[k]->str);
		}
		st.frames = frames;
		st.nframes = (__u32)s->n_location_id;
		st.count = s->value[0] > 0 ? (__u64)s->value[0] : 0;
		st.value = s->value[1] > 0 ? (__u64)s->value[1] : 0;
		err = profile__add_stack(out, &st);
	}
	free(frames);
	return err;
}

struct profile *export_pprof_read(const void *data, size_t len, size_t max_bytes,
				  const struct profile_meta *base)
{
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	Profile *pp = NULL;
	struct profile *out = NULL;
	struct profile_meta m = *base;
	__u32 *map_ids = NULL, *loc_ids = NULL;
	int err = inflate_all(data, len, max_bytes, &raw, &raw_len);

	if (err)
		goto fail;
	pp = perftools__profiles__profile__unpack(NULL, raw_len, raw);
	if (!pp || pp->n_sample_type < 2 || !pp->n_string_table || *pp->string_table[0]) {
		err = -EINVAL;
		goto fail;
	}
	m.count_type = str_at(pp, pp->sample_type[0]->type);
	m.count_unit = str_at(pp, pp->sample_type[0]->unit);
	m.value_type = str_at(pp, pp->sample_type[1]->type);
	m.value_unit = str_at(pp, pp->sample_type[1]->unit);
	m.period = pp->period > 0 ? (__u64)pp->period : 0;
	m.start_ns = pp->time_nanos > 0 ? (__u64)pp->time_nanos : 0;
	m.duration_ns = pp->duration_nanos > 0 ? (__u64)pp->duration_nanos : 0;
	if (pp->n_comment && !m.title)
		m.title = str_at(pp, pp->comment[0]);
	out = profile__new(&m);
	map_ids = calloc(pp->n_mapping + 1, sizeof(*map_ids));
	loc_ids = calloc(pp->n_location + 1, sizeof(*loc_ids));
	err = -ENOMEM;
	if (!out || !map_ids || !loc_ids)
		goto fail;
	err = add_locations(out, pp, map_ids, loc_ids);
	if (!err)
		err = add_samples(out, pp, loc_ids);
	if (err)
		goto fail;
	free(map_ids);
	free(loc_ids);
	perftools__profiles__profile__free_unpacked(pp, NULL);
	free(raw);
	return out;
fail:
	free(map_ids);
	free(loc_ids);
	if (pp)
		perftools__profiles__profile__free_unpacked(pp, NULL);
	free(raw);
	profile__free(out);
	errno = -err;
	return NULL;
}
