#!/usr/bin/env bash
# Regenerates the seed corpora in tests/fuzz/corpus/ (committed; run again when the fixtures or the
# formats change): real inputs of each parser and truncated copies of them. Needs the unit-test
# fixtures (make .output/tests/fixtures/symfixture ...), objcopy, and /proc.
#   scripts/fuzz-corpus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
C=tests/fuzz/corpus
FX=.output/tests/fixtures
make --no-print-directory -s $FX/symfixture $FX/libfixture.so $FX/cfifixture >/dev/null
rm -rf "$C" && mkdir -p "$C"/{elf,perfmap,demangle,kallsyms,procmaps}

# ELF: the fixtures (a PIE with debug info, a shared library, -O2 code with .eh_frame), this
# machine's vdso, stripped and debug-only variants, and truncations at the ELF header, the program
# headers, halfway and just before the section headers.
E=$C/elf
cp $FX/symfixture $E/exe-debuginfo
cp $FX/libfixture.so $E/lib-so
cp $FX/cfifixture $E/exe-o2-ehframe
objcopy --strip-all --add-gnu-debuglink=$E/exe-debuginfo $FX/symfixture $E/exe-stripped-debuglink
objcopy --only-keep-debug $FX/symfixture $E/debug-only
python3 - "$E" <<'PY'
import sys
out = sys.argv[1]
# The vdso of this process: an ELF image that lives in memory only.
for line in open("/proc/self/maps"):
    if line.rstrip().endswith("[vdso]"):
        a, b = (int(x, 16) for x in line.split()[0].split("-"))
        with open("/proc/self/mem", "rb") as m:
            m.seek(a)
            open(f"{out}/vdso", "wb").write(m.read(b - a))
for name in ("lib-so", "exe-o2-ehframe"):
    data = open(f"{out}/{name}", "rb").read()
    shoff = int.from_bytes(data[0x28:0x30], "little")
    for tag, n in (("ehdr", 64), ("phdrs", 64 + 56 * int.from_bytes(data[0x38:0x3a], "little")),
                   ("half", len(data) // 2), ("no-shdrs", shoff)):
        open(f"{out}/{name}-cut-{tag}", "wb").write(data[:n])
PY

# perf-PID.map: the JIT conventions seen in the wild (V8, the JVM's perf-map-agent, .NET), with and
# without 0x, CRLF, a reused address, names with spaces and brackets.
P=$C/perfmap
printf '7f0000001000 40 jit_fn\n7f0000002000 80 LazyCompile:*run app.js:10\n' > $P/v8
printf '0x7f3c2a001000 0x120 Ljava/lang/String;::hashCode\r\n0x7f3c2a001200 0x40 Interpreter\r\n' > $P/jvm-crlf
printf '7f0000001000 40 old\n7f0000001000 20 new [reused]\n7f0000000f00 200 outer\n' > $P/overlap
printf 'ffffffffffffff00 100 wraps\n0 10 zero\n7f00 0 empty\nnot a line\n7f01 10\n' > $P/edges

# Demangling: C++ (with templates, operators, lambdas) and Rust (v0 and legacy) names.
D=$C/demangle
printf '%s' _ZN5vigil4demo5scaleEPKcl > $D/cxx-params
printf '%s' _ZNSt6vectorIiSaIiEE9push_backERKi > $D/cxx-template
printf '%s' '_ZZN3foo3barEvENKUlRKT_E_clIiEEDaS2_' > $D/cxx-lambda
printf '%s' _ZN4core3fmt9Formatter3pad17h0123456789abcdefE > $D/rust-legacy
printf '%s' _RNvNtCs1234_5vigil4demo7collect > $D/rust-v0
printf '%s' _ZplRK1AS1_ > $D/cxx-operator

# kallsyms (then a NUL and /proc/modules) and /proc/PID/maps: the unit fixtures and this machine's.
K=$C/kallsyms
{ cat tests/unit/fixtures/kallsyms.txt; printf '\0'; cat tests/unit/fixtures/modules.txt; } > $K/fixture
head -c 4000 /proc/kallsyms > $K/host-head
cp tests/unit/fixtures/maps.txt $C/procmaps/fixture
cat /proc/self/maps > $C/procmaps/self
ls -R "$C" | wc -l
