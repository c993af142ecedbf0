#!/usr/bin/env bash
# Runs each libFuzzer target over its seed corpus, then on new inputs, within a time budget split
# between the targets (FUZZ_BUDGET seconds in all, at least FUZZ_MIN_SECONDS each), under ASan and
# UBSan. A crash, a sanitizer report, a leak or a timeout fails the run and prints the log's tail;
# the input that did it is kept in .output/fuzz/. Usage: scripts/fuzz-smoke.sh FUZZ_BINARY...
#
# A target fuzz_NAME reads tests/fuzz/corpus/NAME/ (optional; a symlink shares another's) and the
# dictionary tests/fuzz/NAME.dict when there is one. New inputs go to .output/fuzz/new-NAME/, kept
# between runs so a later run starts from what earlier ones found.
#
# FUZZ_SEED (default 1) fixes libFuzzer's seed, so make test's short smoke run replays the same
# mutations on every machine: it checks the corpus and what those mutations reach, and a red CI is
# a regression, not a new input found by chance in 4 s. FUZZ_SEED=0 picks a random seed (make fuzz:
# the long runs that look for new inputs).
set -u
seed=${FUZZ_SEED:-1}
budget=${FUZZ_BUDGET:-60}
min=${FUZZ_MIN_SECONDS:-4}
[ $# -gt 0 ] || { echo "fuzz-smoke: no targets" >&2; exit 1; }
each=$((budget / $#))
[ "$each" -ge "$min" ] || each=$min
fail=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for bin in "$@"; do
	t=$(basename "$bin")
	name=${t#fuzz_}
	out=.output/fuzz
	new=$out/new-$name
	mkdir -p "$new"
	args=(-max_total_time="$each" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
	      -artifact_prefix="$out/$t-" -seed="$seed")
	[ -f "tests/fuzz/$name.dict" ] && args+=(-dict="tests/fuzz/$name.dict")
	dirs=("$new")
	[ -d "tests/fuzz/corpus/$name" ] && dirs+=("tests/fuzz/corpus/$name/")
	if "$bin" "${args[@]}" "${dirs[@]}" >"$out/$t.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
		cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -1)
		echo "  FUZZ    $t: ${runs:-?} runs in ${each} s, ${cov:-cov: ?}, corpus $(ls "${dirs[@]}" | grep -vc ':$')"
	else
		echo "  FAIL    $t (log: $out/$t.log)"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$out/$t.log" | head -5 | sed 's/^/          /'
		tail -25 "$out/$t.log" | sed 's/^/          /'
		fail=$((fail + 1))
	fi
done
[ "$fail" -eq 0 ] || { echo "fuzz-smoke: $fail of $# targets failed" >&2; exit 1; }
echo "fuzz-smoke: all $# targets clean"
