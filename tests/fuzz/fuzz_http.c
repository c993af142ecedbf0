// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the HTTP/1.x head parser and the traceparent parser: the bytes a traced
 * program sent or received on a socket (vigil trace). Build: make .output/fuzz/fuzz_http
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void terminated(const char *field, size_t cap)
{
	if (!memchr(field, '\0', cap))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_head h;
	__u8 id[16], flags;
	__u64 parent;
	char path[64];

	if (http_parse_head(buf, size, &h) == 0) {
		terminated(h.method, sizeof(h.method));
		terminated(h.target, sizeof(h.target));
		terminated(h.reason, sizeof(h.reason));
		terminated(h.host, sizeof(h.host));
		terminated(h.user_agent, sizeof(h.user_agent));
		if (h.is_request && (!h.method[0] || !h.target[0] || h.status))
			__builtin_trap();
		if (!h.is_request && (h.status < 100 || h.status > 999))
			__builtin_trap();
		if (h.minor < 0 || h.minor > 9 || h.content_length < -1)
			__builtin_trap();
		if (h.has_traceparent && !h.parent_id)
			__builtin_trap();
		http_target_path(h.target, path, sizeof(path));
		terminated(path, sizeof(path));
		if (path[0] != '/' && h.target[0] == '/')
			__builtin_trap();
	}
	if (http_parse_traceparent(buf, size, id, &parent, &flags) == 0 && !parent)
		__builtin_trap();
	return 0;
}
