// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for vigil serve's --config YAML (cmd/serve.c: libyaml events to options, then
 * every option's validation), through the command's own entry point: the input is the config file
 * (a memfd), and the command line names a token file that does not exist, so cmd_serve stops at
 * reading it, after every value from the file has been checked, and never starts the service.
 * It must return 1 (a user error), never crash, leak or read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>

#include "cmd/commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], *argv[6];
	int fd = memfd_create("serve-config", MFD_CLOEXEC), rc;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	argv[0] = "serve";
	argv[1] = "--config";
	argv[2] = path;
	argv[3] = "--token-file";
	argv[4] = "/nonexistent/vigil-fuzz-token";
	argv[5] = NULL;
	rc = cmd_serve(5, argv);
	close(fd);
	if (rc != 1) {
		fprintf(stderr, "fuzz_serve_config: cmd_serve returned %d, not 1\n", rc);
		__builtin_trap();
	}
	return 0;
}
