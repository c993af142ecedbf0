# Vigil build. `make` builds ./vigil; `sudo make run` and `sudo make test` are the README's two commands.
#
# Layout of generated files (never committed):
#   .output/*.bpf.o, *.skel.h     BPF objects and their skeletons (bpftool gen skeleton)
#   .output/profile.pb-c.[ch]     protobuf-c code generated from proto/profile.proto
#   .output/obj/, .output/asan/   userspace objects, plain and with ASan+UBSan
#   .output/tests/                unit-test binaries and the ELF fixtures they read

OUTPUT    := .output
CLANG     ?= clang
BPFTOOL   ?= bpftool
PROTOC_C  ?= protoc-c
CC        ?= gcc
ARCH      := x86

CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Werror -Wno-missing-field-initializers -Wno-format-truncation
CPPFLAGS  += -D_GNU_SOURCE -Iinclude -iquote user -I$(OUTPUT)
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(CPPFLAGS)
# libdw: DWARF lines and CFI; microhttpd, sqlite3, snappy, curl: vigil serve; yaml, jansson: configs
# and JSON input; cap: capability sets.
LDLIBS    := -lbpf -ldw -lelf -lz -lprotobuf-c -liberty -lmicrohttpd -lsqlite3 -lsnappy -lcurl -lyaml \
	     -ljansson -lcap -lpthread -lm
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
PROTO_C   := $(OUTPUT)/profile.pb-c.c $(OUTPUT)/remote.pb-c.c
PROTO_H   := $(OUTPUT)/profile.pb-c.h $(OUTPUT)/remote.pb-c.h

# user/ is one folder per concern (user/*/README.md); main.c sits on top of them.
USER_SRCS := user/main.c $(wildcard user/*/*.c)
LIB_SRCS  := $(filter-out user/main.c,$(USER_SRCS))
LIB_OBJS  := $(patsubst user/%.c,$(OUTPUT)/obj/%.o,$(LIB_SRCS)) $(OUTPUT)/obj/profile.pb-c.o \
	     $(OUTPUT)/obj/remote.pb-c.o $(OUTPUT)/obj/web_assets.o
ASAN_OBJS := $(patsubst $(OUTPUT)/obj/%,$(OUTPUT)/asan/%,$(LIB_OBJS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
ASAN_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/asan-%,$(UNIT_SRCS))
FIXTURE_SRCS := $(wildcard tests/unit/fixtures/*.c)
FIXTURE_BINS := $(patsubst tests/unit/fixtures/%.c,$(OUTPUT)/tests/fixtures/%,\
	$(filter-out %/libfixture.c,$(FIXTURE_SRCS))) $(OUTPUT)/tests/fixtures/libfixture.so
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)
WORKLOAD_CXX_SRCS := $(wildcard tests/workloads/*.cpp)
WORKLOADS := $(patsubst tests/workloads/%.c,$(OUTPUT)/workloads/%,$(WORKLOAD_SRCS)) \
	     $(patsubst tests/workloads/%.cpp,$(OUTPUT)/workloads/%,$(WORKLOAD_CXX_SRCS)) \
	     $(OUTPUT)/workloads/chain-stripped $(OUTPUT)/workloads/libplugin.so
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))

Q := $(if $(V),,@)

# BPF objects and generated sources are intermediates worth keeping between builds.
.SECONDARY:

.PHONY: all deps test-deps run test unit unit-asan integration lint format bench fuzz fuzz-smoke \
	install clean
all: vigil

deps:
	$(Q)scripts/install-deps.sh
test-deps:
	$(Q)scripts/install-deps.sh --test

# ---- BPF: object, then skeleton. CO-RE against the committed vmlinux.h. ----
$(OUTPUT) $(OUTPUT)/obj $(OUTPUT)/asan $(OUTPUT)/tests $(OUTPUT)/tests/fixtures $(OUTPUT)/workloads $(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h) $(wildcard include/vigil/*.h) | $(OUTPUT)
	@echo "  BPF     $@"
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude \
		-Ivmlinux/$(ARCH) -c $< -o $@.tmp && mv $@.tmp $@
	$(Q)$(BPFTOOL) gen object $@.linked $@ && mv $@.linked $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	@echo "  SKEL    $@"
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(OUTPUT)/syscall_names.h: scripts/gen-syscalls.sh | $(OUTPUT)
	$(Q)scripts/gen-syscalls.sh > $@.tmp && mv $@.tmp $@

$(OUTPUT)/%.pb-c.c $(OUTPUT)/%.pb-c.h: proto/%.proto | $(OUTPUT)
	@echo "  PROTOC  $<"
	$(Q)$(PROTOC_C) --proto_path=proto --c_out=$(OUTPUT) $<

# vigil serve's web view: our page and script plus the chart library vendored from npm
# (user/service/web/package.json), embedded in the binary: no external assets at runtime.
WEB_ASSETS := user/service/web/index.html user/service/web/app.js user/service/web/panels.js \
	      user/service/web/style.css \
	      user/service/web/node_modules/uplot/dist/uPlot.iife.min.js \
	      user/service/web/node_modules/uplot/dist/uPlot.min.css
user/service/web/node_modules/uplot/dist/%: user/service/web/package-lock.json
	$(Q)cd user/service/web && npm ci --no-audit --no-fund --loglevel=error
$(OUTPUT)/web_assets.c: $(WEB_ASSETS) scripts/embed-assets.py | $(OUTPUT)
	@echo "  EMBED   $@"
	$(Q)/usr/bin/python3 scripts/embed-assets.py $(WEB_ASSETS) > $@.tmp && mv $@.tmp $@

# ---- userspace ----
# Objects mirror the folders (.output/obj/cmd/profile.o); -MMD records each object's real headers.
GEN_HDRS := $(SKELS) $(PROTO_H) $(OUTPUT)/syscall_names.h
$(OUTPUT)/obj/%.o: user/%.c $(GEN_HDRS) | $(OUTPUT)/obj
	@echo "  CC      $@"
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
$(OUTPUT)/obj/%.pb-c.o: $(OUTPUT)/%.pb-c.c $(PROTO_H) | $(OUTPUT)/obj
	$(Q)$(CC) -std=c11 -O2 -g $(CPPFLAGS) -c $< -o $@
$(OUTPUT)/obj/web_assets.o: $(OUTPUT)/web_assets.c | $(OUTPUT)/obj
	$(Q)$(CC) -std=c11 -O2 $(CPPFLAGS) -c $< -o $@
$(OUTPUT)/asan/web_assets.o: $(OUTPUT)/web_assets.c | $(OUTPUT)/asan
	$(Q)$(CC) -std=c11 -O1 $(CPPFLAGS) -c $< -o $@
$(OUTPUT)/asan/%.o: user/%.c $(GEN_HDRS) | $(OUTPUT)/asan
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@
$(OUTPUT)/asan/%.pb-c.o: $(OUTPUT)/%.pb-c.c $(PROTO_H) | $(OUTPUT)/asan
	$(Q)$(CC) -std=c11 -O1 -g $(CPPFLAGS) $(SAN_FLAGS) -c $< -o $@

$(OUTPUT)/libvigil.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^
$(OUTPUT)/libvigil-asan.a: $(ASAN_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

vigil: $(OUTPUT)/obj/main.o $(OUTPUT)/libvigil.a
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# ---- tests ----
$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(OUTPUT)/libvigil.a $(wildcard tests/unit/*.h) | $(OUTPUT)/tests
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -Itests/unit $< $(OUTPUT)/libvigil.a $(LDLIBS) -lcmocka -o $@
$(OUTPUT)/tests/asan-test_%: tests/unit/test_%.c $(OUTPUT)/libvigil-asan.a $(wildcard tests/unit/*.h) | $(OUTPUT)/tests
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP -Itests/unit $< $(OUTPUT)/libvigil-asan.a $(LDLIBS) -lcmocka -o $@
# ELF fixtures for the symbol tests: built here so `nm` can check them on any machine.
$(OUTPUT)/tests/fixtures/%: tests/unit/fixtures/%.c | $(OUTPUT)/tests/fixtures
	$(Q)$(CC) -O0 -g -fPIE -pie -Wl,--build-id=sha1 $< -o $@
# test_cfi's fixture: optimized, without frame pointers, as distributions build their packages.
$(OUTPUT)/tests/fixtures/cfifixture: tests/unit/fixtures/cfifixture.c | $(OUTPUT)/tests/fixtures
	$(Q)$(CC) -O2 -g -fomit-frame-pointer -fPIE -pie -Wl,--build-id=sha1 $< -o $@
$(OUTPUT)/tests/fixtures/libfixture.so: tests/unit/fixtures/libfixture.c | $(OUTPUT)/tests/fixtures
	$(Q)$(CC) -O0 -g -fPIC -shared -Wl,--build-id=sha1 $< -o $@
# Workloads keep frame pointers, leaf functions included, so user stacks unwind without DWARF. Built
# with clang: gcc 12 drops the frame of leaf functions even with -mno-omit-leaf-frame-pointer.
$(OUTPUT)/workloads/%: tests/workloads/%.c $(wildcard tests/workloads/*.h) | $(OUTPUT)/workloads
	$(Q)$(CLANG) -std=gnu11 -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-inline \
		-Wall -Werror $< -o $@ -lm -lpthread
# Workloads built as distributions build their packages: -O2 without frame pointers, so only CFI
# finds their callers (sibling calls off, so the call chains the tests expect stay calls).
NOFP_CFLAGS := -std=gnu11 -O2 -g -fomit-frame-pointer -fno-optimize-sibling-calls -Wall -Werror
$(OUTPUT)/workloads/chain: tests/workloads/chain.c tests/workloads/workload.h | $(OUTPUT)/workloads
	$(Q)$(CC) $(NOFP_CFLAGS) $< -o $@
$(OUTPUT)/workloads/chain-stripped: $(OUTPUT)/workloads/chain
	$(Q)strip --strip-all -o $@ $<
$(OUTPUT)/workloads/libplugin.so: tests/workloads/lib/plugin.c | $(OUTPUT)/workloads
	$(Q)$(CC) $(NOFP_CFLAGS) -fPIC -shared $< -o $@
$(OUTPUT)/workloads/dlopener: tests/workloads/dlopener.c tests/workloads/workload.h | $(OUTPUT)/workloads
	$(Q)$(CC) $(NOFP_CFLAGS) $< -o $@ -ldl
# Frame pointers everywhere but in leaf functions (as libc's syscall wrappers have none).
$(OUTPUT)/workloads/fpleaf: tests/workloads/fpleaf.c tests/workloads/workload.h | $(OUTPUT)/workloads
	$(Q)$(CLANG) -std=gnu11 -O1 -g -fno-omit-frame-pointer -momit-leaf-frame-pointer -fno-inline \
		-Wall -Werror $< -o $@
# C++ workloads (real compiler-mangled names for the demangling test).
$(OUTPUT)/workloads/%: tests/workloads/%.cpp $(wildcard tests/workloads/*.h) | $(OUTPUT)/workloads
	$(Q)$(CLANG)++ -std=gnu++17 -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
		-fno-inline -Wall -Werror $< -o $@
# Fuzz targets: the library built again with coverage instrumentation, linked as an archive so only
# what a target uses is pulled in.
FUZZ_OBJS := $(patsubst user/%.c,$(OUTPUT)/fuzzobj/%.o,$(LIB_SRCS))
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined $(CPPFLAGS)
$(OUTPUT)/fuzzobj/%.o: user/%.c $(GEN_HDRS)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(OUTPUT)/libvigil-fuzz.a: $(FUZZ_OBJS) $(OUTPUT)/obj/profile.pb-c.o $(OUTPUT)/obj/remote.pb-c.o \
			   $(OUTPUT)/obj/web_assets.o
	$(Q)rm -f $@ && ar rcs $@ $^
$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(OUTPUT)/libvigil-fuzz.a | $(OUTPUT)/fuzz
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(OUTPUT)/libvigil-fuzz.a $(LDLIBS) -o $@

unit: $(UNIT_BINS) $(FIXTURE_BINS)
	$(Q)scripts/run-unit.sh $(UNIT_BINS)
unit-asan: $(ASAN_BINS) $(FIXTURE_BINS)
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 scripts/run-unit.sh $(ASAN_BINS)
integration: vigil $(WORKLOADS)
	$(Q)python3 tests/integration/run.py $(T)
# Every tests/fuzz/fuzz_*.c is a target (tests/fuzz/README.md). fuzz-smoke (part of `make test`)
# gives them FUZZ_BUDGET seconds in all (default 60); `make fuzz` FUZZ_SECONDS each (default 60).
fuzz-smoke: $(FUZZ_BINS)
	$(Q)scripts/fuzz-smoke.sh $(FUZZ_BINS)
fuzz: $(FUZZ_BINS)
	$(Q)FUZZ_SEED=$${FUZZ_SEED:-0} FUZZ_BUDGET=$$(( $${FUZZ_SECONDS:-60} * $(words $(FUZZ_BINS)) )) \
		scripts/fuzz-smoke.sh $(FUZZ_BINS)

# The README's second command: everything, from a fresh machine.
# Everything the steps below run is built first, on every CPU (serially this took minutes of the
# suite's time); then each step runs in order.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test: test-deps
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) all $(UNIT_BINS) $(ASAN_BINS) $(FIXTURE_BINS) \
		$(FUZZ_BINS) $(WORKLOADS) $(SKELS) $(PROTO_H) $(OUTPUT)/syscall_names.h
	$(Q)$(MAKE) --no-print-directory lint
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory unit-asan
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	$(Q)$(MAKE) --no-print-directory integration

# The README's first command: build, then profile the whole host for 10 s.
run: deps
	$(Q)$(MAKE) --no-print-directory all
	./vigil profile -o vigil-profile.svg --top 15 10

LINT_SRCS = $(wildcard user/*.c user/*/*.c user/*/*.h bpf/*.c bpf/*.h include/vigil/*.h tests/unit/*.c \
	tests/unit/*.h tests/workloads/*.c tests/workloads/lib/*.c tests/workloads/*.cpp tests/workloads/*.h tests/fuzz/*.c tests/bench/*.c)
lint: $(SKELS) $(PROTO_H) $(OUTPUT)/syscall_names.h
	@echo "  LINT    include layering (user/*/README.md)"
	$(Q)/usr/bin/python3 scripts/check-layers.py user
	$(Q)/usr/bin/python3 tests/lint/test_check_layers.py
	@echo "  LINT    clang-format + cppcheck"
	$(Q)clang-format --dry-run --Werror $(LINT_SRCS)
	$(Q)cppcheck -j $(JOBS) --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem --std=c11 -D__x86_64__ \
		--include=scripts/cppcheck-macros.h \
		-Iinclude -Iuser user tests/workloads
format:
	$(Q)clang-format -i $(LINT_SRCS)

$(OUTPUT)/bench/floor: tests/bench/floor.c $(OUTPUT)/libvigil.a $(OUTPUT)/probe.skel.h
	$(Q)mkdir -p $(OUTPUT)/bench
	$(Q)$(CC) $(ALL_CFLAGS) $< $(OUTPUT)/libvigil.a $(LDLIBS) -o $@

$(OUTPUT)/bench/alerts_bench: tests/bench/alerts_bench.c $(OUTPUT)/libvigil.a
	$(Q)mkdir -p $(OUTPUT)/bench
	$(Q)$(CC) $(ALL_CFLAGS) $< $(OUTPUT)/libvigil.a $(LDLIBS) -o $@

bench: vigil $(WORKLOADS) $(OUTPUT)/bench/floor $(OUTPUT)/bench/alerts_bench
	$(Q)scripts/install-deps.sh --test
	$(Q)scripts/bench.sh

# `make install CAPS=1`: for users without root. The binary carries the capabilities below (what each
# buys: README.md, `vigil doctor`) and only members of CAPS_GROUP may run it, since these
# capabilities read every file and every process's memory. setcap comes last: chgrp clears them.
VIGIL_CAPS ?= cap_bpf,cap_perfmon,cap_sys_ptrace,cap_dac_read_search,cap_syslog
CAPS_GROUP ?= vigil
install: vigil
	install -D -m 0755 vigil $(DESTDIR)/usr/local/sbin/vigil
	install -D -m 0644 scripts/vigil.service $(DESTDIR)/etc/systemd/system/vigil.service
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then \
		systemctl daemon-reload; \
		echo "installed vigil.service: systemctl enable --now vigil"; fi
ifeq ($(CAPS),1)
	getent group $(CAPS_GROUP) >/dev/null || groupadd --system $(CAPS_GROUP)
	chgrp $(CAPS_GROUP) $(DESTDIR)/usr/local/sbin/vigil
	chmod 0750 $(DESTDIR)/usr/local/sbin/vigil
	setcap $(VIGIL_CAPS)+ep $(DESTDIR)/usr/local/sbin/vigil
	@echo "  vigil: $(VIGIL_CAPS) for members of group $(CAPS_GROUP) (usermod -aG $(CAPS_GROUP) USER)"
endif

clean:
	rm -rf $(OUTPUT) vigil

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
