#!/usr/bin/env bash
# Run cmocka unit-test binaries from the repository root; print one line each and a summary.
set -u
fail=0
for t in "$@"; do
	if out=$("$t" 2>&1); then
		echo "  PASS    $(basename "$t")"
	else
		echo "  FAIL    $(basename "$t")"
		echo "$out" | tail -40 | sed 's/^/          /'
		fail=$((fail + 1))
	fi
done
[ "$fail" -eq 0 ] || { echo "unit: $fail failed" >&2; exit 1; }
echo "unit: all $# passed"
