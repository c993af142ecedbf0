#!/usr/bin/env bash
# make bench: side-by-side overhead and speed measurements (not tests). See tests/bench/bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
# Comparators that use classic tracepoints need tracefs; Vigil mounts it itself.
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
exec python3 tests/bench/bench.py "$@"
