"""vigil lat on this kernel, against Debian's libbpf-tools where they measure the same thing."""
import json
import os
import re
import signal
import subprocess
import time

from lib import (VIGIL, Skip, attach_flavours, check_rc, have, one_line_error, tracefs_for_comparators,
                 vigil, workload)


def _hists(stdout):
    """The histograms of the last JSON document vigil printed (one per interval)."""
    doc = json.loads([l for l in stdout.splitlines() if l.startswith("{")][-1])
    return {h["name"]: h for h in doc["histograms"]}


def test_syscall_p50_of_20ms_sleeps(ctx):
    r = vigil("lat", "syscall", "-j", "--", workload("sleeper"), "2", "20", "0", timeout=30)
    check_rc(r)
    h = _hists(r.stdout)
    ns = h.get("clock_nanosleep") or h.get("nanosleep")
    assert ns, f"no nanosleep histogram: {sorted(h)}"
    ctx.measure(f"{ns['name']} p50 {ns['p50_ns'] / 1e6:.2f} ms over {ns['count']} sleeps of "
                f"20 ms (bound 19-22 ms)")
    assert 19e6 <= ns["p50_ns"] <= 22e6, f"p50 {ns['p50_ns']} ns"
    assert ns["count"] >= 80
    assert sum(b["count"] for b in ns["buckets"]) == ns["count"]
    assert ns["p50_ns"] <= ns["p90_ns"] <= ns["p99_ns"] <= ns["max_ns"]


def _syscount_counts(text):
    counts = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)\s*$", line.strip())
        if m and m.group(1) != "SYSCALL":
            counts[m.group(1)] = int(m.group(2))
    return counts


def test_syscall_counts_match_syscount(ctx):
    if not have("syscount"):
        raise Skip("libbpf-tools not installed")
    tracefs_for_comparators()
    p = ctx.spawn([workload("syscalls"), "1.5", "200000"])
    pid = p.stdout.readline().strip()
    sc = ctx.spawn(["syscount", "-p", pid, "-d", "4", "-T", "50"])
    r = vigil("lat", "syscall", "-p", pid, "-j", "-d", "4", timeout=30)
    check_rc(r)
    so, se = sc.communicate(timeout=30)
    assert sc.returncode == 0, se
    ours = {name: h["count"] for name, h in _hists(r.stdout).items()}
    theirs = _syscount_counts(so)
    for name in ("getppid", "openat"):
        ctx.measure(f"{name}: vigil {ours.get(name)} vs syscount {theirs.get(name)} (bound 1%)")
    for name in ("getppid", "openat"):
        assert name in theirs, f"syscount missed {name}: {so}"
        assert abs(ours.get(name, 0) - theirs[name]) <= 0.01 * theirs[name], (
            f"{name}: vigil {ours.get(name)} vs syscount {theirs[name]}")
    assert ours["getppid"] >= 200000
    errs = _hists(r.stdout)["openat"]["errors"]
    assert errs >= 20000, f"openat errors {errs}"


def _runqlat_mean_us(text):
    total = weighted = 0
    for lo, hi, cnt in re.findall(r"^\s*(\d+)\s*->\s*(\d+)\s*:\s*(\d+)", text, re.M):
        lo, hi, cnt = int(lo), int(hi), int(cnt)
        total += cnt
        weighted += cnt * (lo + hi) / 2
    return weighted / total if total else None


def test_runq_mean_matches_runqlat(ctx):
    if not have("runqlat"):
        raise Skip("libbpf-tools not installed")
    tracefs_for_comparators()
    hogs = [ctx.spawn([workload("spin"), "8"]) for _ in range(6)]
    time.sleep(0.5)
    rq = ctx.spawn(["runqlat", "4", "1"])
    r = vigil("lat", "runq", "-d", "4", timeout=30)
    check_rc(r)
    so, se = rq.communicate(timeout=30)
    theirs = _runqlat_mean_us(so)
    assert theirs, f"runqlat printed no histogram: {so} {se}"
    # runqlat prints log2 microsecond slots, so its mean can only be estimated from the slots'
    # midpoints (biased by tens of percent when latencies cluster near a slot edge, as the 4 ms
    # tick makes them here). Vigil's text output has the same layout: estimate both alike.
    ours = _runqlat_mean_us(r.stdout)
    m = re.search(r"^count (\d+), .*mean ([\d.]+) (ns|us|ms|s),", r.stdout, re.M)
    assert m and ours, r.stdout
    exact_us = float(m.group(2)) * {"ns": 1e-3, "us": 1, "ms": 1e3, "s": 1e6}[m.group(3)]
    ratio = ours / theirs
    ctx.measure(f"run-queue mean from log2 us slots: vigil {ours:.0f} us vs runqlat {theirs:.0f} us, "
                f"ratio {ratio:.3f} (bound 1/1.5..1.5); vigil's exact mean {exact_us:.0f} us")
    assert 1 / 1.5 <= ratio <= 1.5, f"vigil mean {ours:.0f} us vs runqlat {theirs:.0f} us"
    assert int(m.group(1)) > 100


def test_runq_per_cpu_and_per_process(ctx):
    hogs = [ctx.spawn([workload("spin"), "5"]) for _ in range(4)]
    r = vigil("lat", "runq", "-C", "-j", "-d", "1.5")
    check_rc(r)
    cpus = {h.get("cpu") for h in _hists(r.stdout).values()}
    assert len(cpus) == os.cpu_count(), cpus
    r = vigil("lat", "runq", "-P", "-j", "-d", "1.5")
    check_rc(r)
    assert any(h.get("comm") == "spin" for h in _hists(r.stdout).values())


def test_uprobe_p50_5ms(ctx):
    p = ctx.spawn([workload("ufunc"), "4", "5"])
    pid = p.stdout.readline().strip()
    r = vigil("lat", "uprobe", "-p", pid, "-j", "-d", "2",
              workload("ufunc") + ":ufunc_target", timeout=30)
    check_rc(r)
    h = list(_hists(r.stdout).values())
    assert len(h) == 1 and h[0]["count"] >= 100, h
    ctx.measure(f"uprobe p50 {h[0]['p50_ns'] / 1e6:.3f} ms over {h[0]['count']} calls of a 5 ms "
                f"function (bound 4.5-5.5 ms)")
    assert 4.5e6 <= h[0]["p50_ns"] <= 5.5e6, f"p50 {h[0]['p50_ns']} ns"


def test_uprobe_library_name(ctx):
    # "libc:getpid" resolves to the C library; the syscalls workload does not call getpid, but
    # the shell does: this checks resolution and attachment, with a real call count.
    r = vigil("lat", "uprobe", "-j", "libc:getpid", "--", "sh", "-c",
              "for i in 1 2 3; do /bin/true; done", timeout=30)
    check_rc(r)
    json.loads(r.stdout.strip().splitlines()[-1])


def test_bio_direct_io(ctx):
    f = os.path.join(os.path.dirname(os.path.abspath(__file__)), f".bio-test-{os.getpid()}")
    try:
        r = vigil("lat", "bio", "-j", "--", "dd", "if=/dev/zero", f"of={f}", "bs=1M",
                  "count=32", "oflag=direct", timeout=60)
        check_rc(r)
        h = _hists(r.stdout)
        writes = [v for k, v in h.items() if v.get("op") == "write"]
        assert writes, f"no write histograms: {sorted(h)}"
        w = max(writes, key=lambda v: v["count"])
        ctx.measure(f"{w['name']}: {w['count']} direct 1 MiB writes, p50 {w['p50_ns'] / 1e3:.0f} us, "
                    f"max {w['max_ns'] / 1e3:.0f} us")
        assert w["count"] >= 32, w["count"]
        assert 1e3 <= w["p50_ns"] <= 1e9, f"p50 {w['p50_ns']} ns"
        assert w["disk"] and not w["disk"][0].isdigit(), f"disk not named: {w['disk']}"
    finally:
        if os.path.exists(f):
            os.unlink(f)


def test_text_histogram_and_prom(ctx):
    r = vigil("lat", "syscall", "-e", "clock_nanosleep,nanosleep", "--", workload("sleeper"),
              "1", "20", "0", timeout=30)
    check_rc(r)
    assert re.search(r"usecs\s+: count\s+distribution", r.stdout), r.stdout
    assert re.search(r"16384 -> 32767\s+: \d+\s+\|\*+", r.stdout), r.stdout
    assert "getppid" not in r.stdout
    r = vigil("lat", "syscall", "--prom", "--", workload("sleeper"), "1", "20", "0", timeout=30)
    check_rc(r)
    text = r.stdout  # the workload's own output goes to stderr
    assert "# TYPE vigil_syscall_latency_seconds histogram" in text
    assert re.search(r'vigil_syscall_latency_seconds_bucket\{syscall="clock_nanosleep",le="\+Inf"\} \d+',
                     text)
    assert have("promtool"), "promtool missing (scripts/install-deps.sh --test installs it)"
    pt = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                        text=True)
    assert pt.returncode == 0, pt.stdout + pt.stderr


def test_interval_mode(ctx):
    r = vigil("lat", "runq", "-j", "0.5", "3", timeout=30)
    check_rc(r)
    docs = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    assert len(docs) == 3, r.stdout
    for d in docs:
        assert 0.3 <= d["interval_s"] <= 1.0, d["interval_s"]


def test_lat_bad_input(ctx):
    cases = [
        (["lat", "syscall", "-e", "notasyscall"], r"unknown syscall 'notasyscall'"),
        (["lat", "syscall", "-e", "opn"], r"did you mean: .*open"),
        (["lat", "uprobe", "/nonexistent/bin:main"], r"/nonexistent/bin"),
        (["lat", "uprobe", workload("ufunc") + ":no_such_function_xyz"],
         r"no function 'no_such_function_xyz'"),
        (["lat", "uprobe", workload("ufunc") + ":ufunc_targt"], r"did you mean: ufunc_target"),
        (["lat", "uprobe", "libnosuchlib:foo"], r"cannot find library or binary 'libnosuchlib'"),
        (["lat", "bogus"], r"unknown latency 'bogus'"),
        (["lat"], r"which latency"),
        (["lat", "runq", "-e", "read"], r"-e applies to 'lat syscall' only"),
        (["lat", "syscall", "x"], r"invalid interval 'x'"),
    ]
    for args, pat in cases:
        one_line_error(vigil(*args), 1, pat)


def test_every_attach_flavour_counts_alike(ctx):
    """The fallbacks (raw_tp, classic tracepoints; hash maps where tp_btf uses task storage)
    count the same syscalls and see the same run-queue waits as the default path. The run-queue
    part runs every flavour at once on the same waits: 4 stopped hogs, continued only when all
    flavours are attached and killed before any stops, so each must see every one of their waits."""
    flavours = attach_flavours()
    assert len(flavours) >= 2, flavours
    for fl in flavours:
        r = vigil("lat", "syscall", "--attach", fl, "-j", "-e", "getppid,openat", "--",
                  workload("syscalls"), "0", "20000", timeout=30)
        check_rc(r)
        h = _hists(r.stdout)
        assert h["getppid"]["count"] == 20000, (fl, h["getppid"]["count"])
        assert h["openat"]["count"] >= 2000 and h["openat"]["errors"] >= 2000, (fl, h["openat"])

    hogs = [ctx.spawn([workload("spin"), "0"], stdout=subprocess.DEVNULL) for _ in range(4)]
    for p in hogs:
        os.kill(p.pid, signal.SIGSTOP)
    pids = ",".join(str(p.pid) for p in hogs)
    tracers = {fl: ctx.spawn([VIGIL, "lat", "runq", "--attach", fl, "-j", "-p", pids])
               for fl in flavours}
    for fl, t in tracers.items():
        line = t.stderr.readline()
        assert "timing runq latency" in line, (fl, line, t.stderr.read() if t.poll() else "")
    for p in hogs:
        os.kill(p.pid, signal.SIGCONT)
    time.sleep(1.5)
    for p in hogs:
        p.kill()
        p.wait(timeout=10)
    hists = {}
    for fl, t in tracers.items():
        # -p: each tracer stops by itself once the hogs are gone.
        out, err = t.communicate(timeout=30)
        assert t.returncode == 0, (fl, t.returncode, err)
        assert "all 4 target processes exited" in err, (fl, err)
        hists[fl] = _hists(out)["runq"]
    ctx.measure("4 hogs on 2 CPUs, every flavour at once: " + ", ".join(
        f"{fl} {q['count']} waits, mean {q['sum_ns'] / q['count'] / 1e6:.2f} ms"
        for fl, q in hists.items()))
    counts = [q["count"] for q in hists.values()]
    sums = [q["sum_ns"] for q in hists.values()]
    assert min(counts) >= 100, hists
    # The same waits: the counts equal but for a few at the edges, total wait time within 1%.
    assert max(counts) - min(counts) <= 2 + min(counts) // 200, counts
    assert max(sums) <= 1.01 * min(sums), sums


def test_help_prints_percent_once(ctx):
    """--help is printed as text, not as a format: "12.5%", never "12.5%%"."""
    for args in (["lat", "--help"], ["lat", "syscall", "--help"]):
        r = vigil(*args)
        check_rc(r)
        assert "12.5%" in r.stdout and "%%" not in r.stdout, r.stdout[:400]


def test_per_process_names_are_not_cut(ctx):
    """-P: "clock_nanosleep pid=N (sleeper)" is wider than the old 28-column field: whole."""
    r = vigil("lat", "syscall", "-P", "-e", "clock_nanosleep", "--", workload("sleeper"), "0.3",
              "20", "0", timeout=30)
    check_rc(r)
    row = [l for l in r.stdout.splitlines() if l.startswith("clock_nanosleep pid=")]
    assert row and re.match(r"clock_nanosleep pid=\d+ \(sleeper\)\s+\d+", row[0]), r.stdout[:500]


PY_LOOP = """
import sys, time
print("ready", flush=True)
while True:
    [str(i) for i in range(2000)]
    time.sleep(0.01)
"""


def test_uprobe_name_resolves_in_the_targets_mappings(ctx):
    """Debian's /usr/bin/python3 links libpython in statically: python3:PyObject_Free -p PID
    must probe the program the process runs (python3.11), not libpython3.11.so, which it does not
    map; and a probe on an object no target maps says so."""
    if not os.path.exists("/usr/bin/python3"):
        raise Skip("no /usr/bin/python3")
    p = ctx.spawn(["/usr/bin/python3", "-c", PY_LOOP])
    assert p.stdout.readline().strip() == "ready"
    r = vigil("lat", "uprobe", "python3:PyObject_Free", "-p", p.pid, "-j", "-d", "1", timeout=30)
    check_rc(r)
    assert "python3.11" in r.stderr and "libpython" not in r.stderr, r.stderr
    assert "no target process maps" not in r.stderr, r.stderr
    h = list(_hists(r.stdout).values())
    n = h[0]["count"] if h else 0
    ctx.measure(f"python3:PyObject_Free -p: {n} calls in 1 s")
    assert n > 10000, f"only {n} PyObject_Free calls timed: {r.stderr}"
    # The shared library by name: resolved, but no target maps it.
    r = vigil("lat", "uprobe", "libpython3:PyObject_Free", "-p", p.pid, "-j", "-d", "0.3",
              timeout=30)
    if r.returncode == 0:
        assert "no target process maps" in r.stderr and "libpython3" in r.stderr, r.stderr
