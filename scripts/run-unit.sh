#!/usr/bin/env bash
# Run cmocka unit-test binaries from the repository root; print one line each and a summary.
set -u
fail=0
for t in "$@"; do
	if out=$("$t" 2>&1); then
		echo "  PASS    $(basename "$t")"
	else
		echo "  FAIL    $(basename "$t")"
		# cmocka's verdict lines and the first error, then the end (leak reports can be long).
		echo "$out" | grep -m 20 -E '^\[ *(FAILED|ERROR) *\]|[Ee]rror|[Ff]ailure|^==[0-9]+==' |
			sed 's/^/          /'
		echo "$out" | tail -40 | sed 's/^/          /'
		fail=$((fail + 1))
	fi
done
[ "$fail" -eq 0 ] || { echo "unit: $fail failed" >&2; exit 1; }
echo "unit: all $# passed"
