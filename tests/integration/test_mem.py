"""vigil mem on this kernel: real uprobes and tracepoints, workloads with known allocations, outputs
checked by real readers (go tool pprof, speedscope in Chromium)."""
import json
import os
import re
import signal
import subprocess
import time

from lib import (Skip, check_rc, have, node, one_line_error, parse_folded, vigil, workload, BROWSER,
                 VIGIL)

# Every program these tests load is vigil mem's (the leak check looks only at those).
BPF_PREFIXES = ("vg_mem_",)


def _bytes_at(stacks, func, leaf=True):
    """Bytes of the stacks whose leaf (or, with leaf=False, any frame) is func."""
    return sum(c for frames, c in stacks if (frames[-1] == func if leaf else func in frames))


def _within(got, want, rel):
    return abs(got - want) <= rel * want


def _folded(ctx, *args, timeout=120):
    r = vigil("mem", "-f", *args, timeout=timeout)
    check_rc(r)
    return parse_folded(r.stdout), r


def test_in_use_and_churn(ctx):
    """1000 x 4096 B kept in keep_blocks and 5000 malloc(1024)/free pairs in churn: in use at the
    first is 4,096,000 B (1%), about 0 at the second; --report alloc at the second is 5,120,000 B."""
    stacks, _ = _folded(ctx, "--", workload("allocs"), "basic")
    keep, churn = _bytes_at(stacks, "keep_blocks"), _bytes_at(stacks, "churn")
    ctx.measure(f"in use: keep_blocks {keep} B (want 4096000 +-1%), churn {churn} B (want ~0)")
    assert _within(keep, 4096000, 0.01), stacks
    assert churn <= 1024, stacks
    stacks, _ = _folded(ctx, "--report", "alloc", "--", workload("allocs"), "basic")
    churn = _bytes_at(stacks, "churn")
    ctx.measure(f"allocated: churn {churn} B (want 5120000 +-1%)")
    assert _within(churn, 5120000, 0.01), stacks
    assert _within(_bytes_at(stacks, "keep_blocks"), 4096000, 0.01), stacks


def test_every_uprobe_attach_kind(ctx):
    """Uprobe sessions, uprobe_multi links and per-function perf uprobes (the fallbacks, which
    run here too) record the same allocations, C++ new included."""
    for kind in ("session", "multi", "perf"):
        stacks, r = _folded(ctx, "--uprobes", kind, "--report", "alloc", "--",
                            workload("allocs"), "basic")
        assert {"session": "uprobe session", "multi": "uprobe_multi",
                "perf": "uprobes"}[kind] in r.stderr, r.stderr
        keep, churn = _bytes_at(stacks, "keep_blocks"), _bytes_at(stacks, "churn")
        assert _within(keep, 4096000, 0.01) and _within(churn, 5120000, 0.01), (kind, stacks)
        stacks, _ = _folded(ctx, "--uprobes", kind, "--", workload("cxxalloc"))
        assert _bytes_at(stacks, "vigil_demo::make_widgets()") == 204800, (kind, stacks)


def test_top_table_bytes_objects_average(ctx):
    r = vigil("mem", "--report", "alloc", "--", workload("allocs"), "basic")
    check_rc(r)
    lines = r.stdout.splitlines()
    assert re.match(r"\s*SELF%\s+TOTAL%\s+bytes\s+objects\s+avg\s+FUNCTION\s+MODULE", lines[0]), lines
    row = next(l for l in lines if " churn " in l)
    f = row.split()
    assert f[2] == "5120000" and f[3] == "5000" and f[4] == "1024.0", row


def test_allocator_entry_points(ctx):
    """realloc growth chains, calloc (and an overflowing one), posix_memalign, aligned_alloc,
    memalign, valloc, pvalloc (whole pages), reallocarray, realloc(p, 0), mmap/munmap (partial
    too) and mremap (an anonymous mapping moves, a file mapping is not one): bytes in use."""
    stacks, r = _folded(ctx, "--", workload("allocs"), "variety")
    want = {"grow_chain": 10000, "calloc_block": 4000, "memalign_block": 8192,
            "aligned_block": 640, "array_block": 3000, "old_memalign_block": 1500,
            "valloc_block": 3000, "pvalloc_block": 8192}
    for func, b in want.items():
        got = _bytes_at(stacks, func)
        ctx.measure(f"{func}: {got} B in use (want {b})")
        assert got == b, (func, got, stacks)
    assert _bytes_at(stacks, "realloc_zero") == 0, stacks
    # The mmap wrapper has no frame of its own: its caller shows through libc's mmap frame.
    mapped = sum(c for frames, c in stacks if frames[-1] == "mmap" and "run" in frames)
    ctx.measure(f"mmap: {mapped} B in use (want {4 << 20})")
    assert mapped == 4 << 20, stacks
    remapped = sum(c for frames, c in stacks if frames[-1] == "mremap")
    ctx.measure(f"mremap: {remapped} B in use (want {3 << 20})")
    assert remapped == 3 << 20, stacks
    stacks, _ = _folded(ctx, "--report", "alloc", "--", workload("allocs"), "variety")
    grown = _bytes_at(stacks, "grow_chain")
    assert grown == sum(i * 1000 for i in range(1, 11)), (grown, stacks)
    assert _bytes_at(stacks, "realloc_zero") == 5000, stacks


def _attached(p, timeout=30):
    """Read vigil's stderr until it says what it traces; the lines read so far."""
    seen = []
    end = time.time() + timeout
    while time.time() < end:
        line = p.stderr.readline()
        if not line:
            break
        seen.append(line)
        if re.search(r"tracing|counting|following", line):
            return seen
    raise AssertionError(f"vigil did not attach: {''.join(seen)}")


def test_pid_and_foreign_free(ctx):
    """-p: a free of a block allocated before the capture is ignored and counted; what the
    process keeps afterwards is in use; vigil stops when the process exits."""
    w = ctx.spawn([workload("allocs"), "foreign"])
    assert w.stdout.readline().strip() == "ready"
    v = ctx.spawn([VIGIL, "mem", "-f", "-p", str(w.pid)])
    err = "".join(_attached(v))
    w.send_signal(signal.SIGUSR1)
    out, rest = v.communicate(timeout=60)
    err += rest
    assert v.returncode == 0, err
    stacks = parse_folded(out)
    keep = _bytes_at(stacks, "keep_blocks")
    assert _within(keep, 4096000, 0.01), stacks
    assert all(c != 7777 for _, c in stacks), stacks
    m = re.search(r"(\d+) frees found no recorded allocation", err)
    assert m and int(m.group(1)) >= 1, err
    assert "exited; stopping" in err, err


def test_host_wide(ctx):
    """Without -p or COMMAND every process using libc is traced: a process started before the
    capture shows what it keeps. (On a busy shared host other processes may fill the stack map
    first: this one's blocks then count under a lost-stack frame, still under its name. It stays
    alive to the end: host-wide, a process is imaged when first seen, and on a busy host one that
    exits before its image is taken, queued behind other new processes', loses its symbols.)"""
    w = ctx.spawn([workload("allocs"), "wait", "hold", "5", "basic"])
    assert w.stdout.readline().strip() == "ready"
    # The host-wide default walks by frame pointers: CFI for every process at once cut every
    # stack here on a busy host and took 49 s to end a 3 s capture (test_unwind tests CFI).
    v = ctx.spawn([VIGIL, "mem", "-f", "--stack-storage-size", "65536", "-d", "3"])
    err = "".join(_attached(v))
    assert re.search(r"tracing \d+ functions of \S*libc\S* .*for 3 s", err), err
    w.send_signal(signal.SIGUSR1)
    out, rest = v.communicate(timeout=60)
    assert v.returncode == 0, err + rest
    mine = [(f, c) for f, c in parse_folded(out) if f[0] == "allocs"]
    keep = _bytes_at(mine, "keep_blocks")
    lost = sum(c for f, c in mine if any("stack lost" in x for x in f))
    ctx.measure(f"host-wide: keep_blocks {keep} B, {lost} B of allocs under a lost stack")
    assert keep + lost >= 0.99 * 4096000, (keep, lost, err + rest)


JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"


def test_interposed_jemalloc(ctx):
    """A process running on an LD_PRELOADed jemalloc is traced through jemalloc's malloc and free,
    found from its mappings (-p) or from LD_PRELOAD (-- COMMAND); --lib naming a library the
    target never calls says so instead of printing an empty profile in silence."""
    if not os.path.exists(JEMALLOC):
        raise Skip("libjemalloc2 missing (scripts/install-deps.sh --test)")
    env = dict(os.environ, LD_PRELOAD=JEMALLOC)
    w = subprocess.Popen([workload("allocs"), "wait", "basic"], stdout=subprocess.PIPE, text=True,
                         env=env)
    try:
        assert w.stdout.readline().strip() == "ready"
        v = ctx.spawn([VIGIL, "mem", "-f", "--report", "alloc", "-p", str(w.pid)])
        err = "".join(_attached(v))
        assert "libjemalloc.so.2" in err, err
        w.send_signal(signal.SIGUSR1)
        out, rest = v.communicate(timeout=60)
        assert v.returncode == 0, err + rest
    finally:
        if w.poll() is None:
            w.kill()
        w.wait()
    stacks = parse_folded(out)
    keep, churn = _bytes_at(stacks, "keep_blocks"), _bytes_at(stacks, "churn")
    ctx.measure(f"jemalloc -p: keep_blocks {keep} B, churn {churn} B allocated")
    assert _within(keep, 4096000, 0.01) and _within(churn, 5120000, 0.01), stacks
    r = vigil("mem", "-f", "--", workload("allocs"), "basic", env={"LD_PRELOAD": JEMALLOC})
    check_rc(r)
    assert "libjemalloc.so.2" in r.stderr, r.stderr
    assert _within(_bytes_at(parse_folded(r.stdout), "keep_blocks"), 4096000, 0.01), r.stdout
    r = vigil("mem", "-f", "--lib", JEMALLOC, "--", workload("allocs"), "basic")
    check_rc(r)
    assert _bytes_at(parse_folded(r.stdout), "keep_blocks") == 0, r.stdout
    assert re.search(r"warning: no call of the hooked functions of \S+libjemalloc.so.2 was seen",
                     r.stderr), r.stderr


def test_cxx_new_shows_its_caller(ctx):
    """operator new is recorded where it returns: its caller is the leaf."""
    stacks, _ = _folded(ctx, "--", workload("cxxalloc"))
    got = _bytes_at(stacks, "vigil_demo::make_widgets()")
    ctx.measure(f"make_widgets: {got} B in use (want 204800)")
    assert got == 200 * 512 + 100 * 1024, stacks
    assert _bytes_at(stacks, "vigil_demo::drop_widgets()") == 0, stacks
    frames = next(f for f, _ in stacks if f[-1] == "vigil_demo::make_widgets()")
    assert frames[-2] == "main", frames


def test_pprof_heap_profile(ctx):
    """The four heap sample types and period type space/bytes; go tool pprof reads them and
    -sample_index=inuse_space -top names the leaking function."""
    if not have("go"):
        raise Skip("go not installed (scripts/install-deps.sh --test)")
    out = ctx.path("heap.pb.gz")
    check_rc(vigil("mem", "-o", out, "--", workload("allocs"), "basic"))
    raw = subprocess.run(["go", "tool", "pprof", "-raw", out], capture_output=True, text=True,
                         timeout=120)
    assert raw.returncode == 0, raw.stderr[-2000:]
    assert re.search(r"alloc_objects/count alloc_space/bytes inuse_objects/count "
                     r"inuse_space/bytes\[dflt\]", raw.stdout), raw.stdout[:800]
    assert "PeriodType: space bytes" in raw.stdout, raw.stdout[:800]
    assert re.search(r"^\s+5000\s+5120000\s+0\s+0:", raw.stdout, re.M), raw.stdout
    for index, leader in (("inuse_space", "keep_blocks"), ("alloc_space", "churn")):
        top = subprocess.run(["go", "tool", "pprof", f"-sample_index={index}", "-top", out],
                             capture_output=True, text=True, timeout=120)
        assert top.returncode == 0, top.stderr[-2000:]
        lines = top.stdout.splitlines()
        head = [i for i, l in enumerate(lines) if "flat%" in l]
        assert head and leader in lines[head[0] + 1], f"{index}: {top.stdout}"
    # --report alloc: the same four types, alloc_space the default.
    check_rc(vigil("mem", "--report", "alloc", "-o", out, "--", workload("allocs"), "basic"))
    raw = subprocess.run(["go", "tool", "pprof", "-raw", out], capture_output=True, text=True,
                         timeout=120)
    assert raw.returncode == 0, raw.stderr[-2000:]
    assert "alloc_objects/count alloc_space/bytes[dflt] inuse_objects/count" in raw.stdout


def test_speedscope_and_svg_in_chromium(ctx):
    if not have("node") or not os.path.exists("/usr/bin/chromium"):
        raise Skip("node or chromium missing (scripts/install-deps.sh --test)")
    if not os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core")):
        raise Skip("npm packages missing in tests/browser (scripts/install-deps.sh --test)")
    out = ctx.path("heap.json")
    check_rc(vigil("mem", "-o", out, "--", workload("allocs"), "basic"))
    doc = json.load(open(out))
    assert doc["profiles"][0]["unit"] == "bytes", doc["profiles"][0]["unit"]
    res = node("check_speedscope.js", out)
    assert res.returncode == 0, f"check_speedscope.js: {res.stdout[-1500:]}{res.stderr[-1500:]}"
    svg = ctx.path("heap.svg")
    check_rc(vigil("mem", "-o", svg, "--", workload("allocs"), "basic"))
    res = node("check_svg.js", svg, "keep_blocks", ctx.path("shot.png"))
    assert res.returncode == 0, f"check_svg.js: {res.stdout[-1500:]}{res.stderr[-1500:]}"


def test_lost_stacks_counted_and_named(ctx):
    """100 distinct allocating stacks against 64 stack entries: the lost ones are still counted,
    under a lost-stack frame, and the warning names the flag that raises the limit."""
    stacks, r = _folded(ctx, "--stack-storage-size", "64", "--", workload("allocs"), "deep",
                        "100")
    # the kernel's walker (COMMAND's default) loses them as collisions, Vigil's as a full map
    assert re.search(r"warning: \d+ of \d+ allocations incomplete: .*stack map (full|collisions).*"
                     r"raise --stack-storage-size", r.stderr), r.stderr
    lost = sum(c for f, c in stacks if any("stack lost" in x for x in f))
    named = _bytes_at(stacks, "deep_alloc")
    ctx.measure(f"64 stack entries: {named} B under deep_alloc, {lost} B under a lost stack")
    assert lost >= 3000 and named + lost >= 100 * 100, stacks


def test_outstanding_table_full_is_reported(ctx):
    r = vigil("mem", "--max-outstanding", "100", "--", workload("allocs"), "basic")
    check_rc(r)
    m = re.search(r"(\d+) allocations not tracked: the outstanding table was full \(raise "
                  r"--max-outstanding", r.stderr)
    assert m and int(m.group(1)) >= 800, r.stderr


NOLIBC = r"""
void _start(void)
{
	__asm__ volatile("mov $60, %eax\n xor %edi, %edi\n syscall");
}
"""


def test_bad_input(ctx):
    src = ctx.path("nolibc.c")
    exe = ctx.path("nolibc")
    with open(src, "w") as f:
        f.write(NOLIBC)
    subprocess.run(["gcc", "-nostdlib", "-static", "-o", exe, src], check=True)
    one_line_error(vigil("mem", "--", exe), 1, r"links no allocator: no libc")
    one_line_error(vigil("mem", "-p", "2"), 1, r"process 2 maps no allocator")
    one_line_error(vigil("mem", "--lib", "/etc/hostname", "--", "/bin/true"), 1,
                   r"'/etc/hostname' is not an ELF file")
    one_line_error(vigil("mem", "--prefix", "je_", "--", "/bin/true"), 1,
                   r"no allocator function 'je_malloc' in \S+libc\S+ \(did you mean: .*malloc")
    one_line_error(vigil("mem", "--sample-bytes", "0", "--", "/bin/true"), 1,
                   r"--sample-bytes 0 would sample nothing")
    one_line_error(vigil("mem", "--sample-bytes", "lots"), 1, r"invalid --sample-bytes 'lots'")
    one_line_error(vigil("mem", "--mode", "heap"), 1, r"unknown mode 'heap' \(known: malloc")
    one_line_error(vigil("mem", "--report", "alloc", "--older-than", "5"), 1,
                   r"--older-than .* --report alloc")
    one_line_error(vigil("mem", "--mode", "faults", "--sample-bytes", "4096"), 1,
                   r"--sample-bytes applies to --mode malloc")


def test_help(ctx):
    r = vigil("mem", "--help")
    check_rc(r)
    for s in ("--report inuse|alloc", "--older-than", "--sample-bytes", "--mode MODE", "Examples:"):
        assert s in r.stdout, s
    assert "mem" in vigil("--help").stdout


def test_older_than(ctx):
    """old_blocks() 1.5 s before young_blocks(): --older-than 1 keeps only the old ones."""
    stacks, _ = _folded(ctx, "--", workload("allocs"), "aging")
    assert _bytes_at(stacks, "old_blocks") == 100000 and _bytes_at(stacks, "young_blocks") == 200000
    stacks, _ = _folded(ctx, "--older-than", "1", "--", workload("allocs"), "aging")
    assert _bytes_at(stacks, "old_blocks") == 100000, stacks
    assert _bytes_at(stacks, "young_blocks") == 0, stacks


def test_sample_bytes_unbiased(ctx):
    """A churn of mixed sizes (16 B .. 256 KiB) sampled every 512 KiB on average: the scaled
    estimate of the bytes allocated is within 10% of the truth in each of three runs."""
    errs = []
    for _ in range(3):
        stacks, r = _folded(ctx, "--report", "alloc", "--sample-bytes", "512k", "--",
                            workload("allocs"), "mixed", "20000")
        truth = int(re.search(r"^(\d+)$", r.stderr, re.M).group(1))
        est = _bytes_at(stacks, "mixed_churn")
        m = re.search(r"sampled (\d+) of (\d+) allocations", r.stderr)
        assert m and int(m.group(1)) < int(m.group(2)) / 4, r.stderr
        errs.append((est - truth) / truth)
        assert abs(errs[-1]) <= 0.10, (est, truth)
    ctx.measure("sampled estimate vs truth: " + ", ".join(f"{100 * e:+.1f}%" for e in errs) +
                " (bound 10% each)")


def test_faults_mode(ctx):
    """A function that touches 64 MiB of fresh memory is charged 64 MiB (5%)."""
    stacks, _ = _folded(ctx, "--mode", "faults", "--", workload("allocs"), "touch", "64")
    got = _bytes_at(stacks, "touch_pages")
    ctx.measure(f"touch_pages: {got} B faulted in (want {64 << 20} +-5%)")
    assert _within(got, 64 << 20, 0.05), stacks


def test_rss_mode(ctx):
    """rss_stat over time: while the workload holds 64 MiB its anonymous RSS shows it, and the
    peak stays after it exits."""
    r = vigil("mem", "--mode", "rss", "-j", "-i", "0.2", "--", workload("allocs"), "touch", "64",
              "1")
    check_rc(r)
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    assert len(rows) >= 3, r.stdout
    mine = [p for row in rows for p in row["processes"] if p["comm"] == "allocs"]
    anon = max(p["anon_bytes"] for p in mine)
    ctx.measure(f"anonymous RSS seen {anon} B (want >= 64 MiB), peak {mine[-1]['peak_bytes']} B")
    assert anon >= 64 << 20, mine
    assert mine[-1]["peak_bytes"] >= 64 << 20, mine
    r = vigil("mem", "--mode", "rss", "--", workload("allocs"), "touch", "8")
    check_rc(r)
    assert re.search(r"^\s+TIME\(s\)\s+PID\s+COMM\s+RSS\(KiB\)", r.stdout, re.M), r.stdout


def test_kernel_mode(ctx):
    """kmem tracepoints: the pages a process faults in are allocated from do_anonymous_page, and
    slab allocations name their caller, not the allocator."""
    stacks, _ = _folded(ctx, "--mode", "kernel", "--report", "alloc", "--", workload("allocs"),
                        "touch", "64")
    anon = _bytes_at(stacks, "do_anonymous_page_[k]")
    ctx.measure(f"do_anonymous_page: {anon} B of pages (want >= 64 MiB)")
    assert anon >= 64 << 20, sorted(stacks, key=lambda s: -s[1])[:5]
    leaves = {f[-1] for f, _ in stacks}
    assert not any(l.startswith(("__kmalloc", "kmem_cache_alloc")) for l in leaves), leaves
