"""make bench, section "trace": vigil trace beside strace -f -T and perf trace, in one run.

  - events per second delivered to userspace without loss: getppid() paced at rising rates under
    vigil trace --min-syscall-us 0 (every syscall a span), until a rate loses records or the
    workload cannot go faster under tracing; the highest lossless rate delivered is the figure;
  - slowdown of a syscall loop (geteuid_loop) and of an HTTP workload (httpload: requests per
    second over loopback keep-alive) alone, under vigil trace (default 1 ms threshold, and every
    syscall), strace -f -T and perf trace: each wraps the command, configurations interleaved
    round by round, medians; the target is vigil >= 10x cheaper than strace and no worse than perf
    trace, in added time per syscall (or per request);
  - BPF run time vigil trace's programs add per syscall (kernel.bpf_stats_enabled).
"""
import json
import os
import re
import statistics
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VIGIL = os.path.join(ROOT, "vigil")
W = os.path.join(ROOT, ".output", "workloads")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
LOOP_N = int(os.environ.get("BENCH_TRACE_LOOP", "200000"))
HTTP_N = int(os.environ.get("BENCH_TRACE_HTTP", "4000"))


def log(*a):
    import sys
    print(*a, file=sys.stderr, flush=True)


def wrappers(tmp):
    return {
        "alone": [],
        "vigil trace": [VIGIL, "trace", "-o", os.devnull, "--format", "dot", "--"],
        "vigil trace --min-syscall-us 0": [VIGIL, "trace", "--min-syscall-us", "0", "-o",
                                           os.devnull, "--format", "dot", "--"],
        "strace -f -T": ["strace", "-f", "-T", "-o", os.devnull],
        "perf trace": ["perf", "trace", "-o", os.devnull, "--"],
    }


def run_wrapped(prefix, argv):
    """The workload's own figure (its last stdout line) under a wrapper; and vigil's loss line."""
    r = subprocess.run(prefix + argv, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(prefix[:2])}: exit {r.returncode}: {r.stderr[-400:]}")
    lost = re.search(r"ring buffer full: lost (\d+) of (\d+) syscall", r.stderr)
    return float(r.stdout.strip().splitlines()[-1]), lost


def side_by_side(title, argv, unit, rounds, per_op, lower_is_better=True):
    """Interleaved rounds; per configuration the median of the workload's figure, the ratio to
    alone and the cost added per operation (microseconds)."""
    cfgs = wrappers(None)
    names = list(cfgs)
    vals = {n: [] for n in names}
    losses = {n: 0 for n in names}
    for rnd in range(rounds):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        for n in order:
            v, lost = run_wrapped(cfgs[n], argv)
            vals[n].append(v)
            if lost:
                losses[n] += int(lost.group(1))
        log(f"  round {rnd + 1}: " + ", ".join(f"{n}={vals[n][-1]:.4g}" for n in names))
    base = statistics.median(vals["alone"])
    res = {}
    print(f"\n== {title} (median of {rounds}; alone {base:.4g} {unit}) ==")
    for n in names:
        med = statistics.median(vals[n])
        # seconds: slower is larger; requests/s: slower is smaller
        slow = med / base if lower_is_better else base / med
        added_us = per_op(med) - per_op(base)
        res[n] = {"median": med, "slowdown": slow, "added_us_per_op": added_us, "runs": vals[n],
                  "records_lost": losses[n]}
        extra = f", {losses[n]} records lost over the rounds" if losses[n] else ""
        print(f"  {n:<34} {med:10.4g} {unit}  {slow:7.2f}x  +{added_us:8.2f} us per op{extra}")
    v, s, p = (res["vigil trace"]["added_us_per_op"], res["strace -f -T"]["added_us_per_op"],
               res["perf trace"]["added_us_per_op"])
    print(f"  vigil trace adds {v:.2f} us per op: strace {s / v if v > 0 else float('inf'):.1f}x "
          f"as much (target >= 10x), perf trace {p / v if v > 0 else float('inf'):.1f}x "
          f"(target >= 1x)")
    return res


def bench_loop():
    argv = [os.path.join(W, "geteuid_loop"), str(LOOP_N)]
    log(f"trace: {ROUNDS} rounds of geteuid_loop {LOOP_N} under each tracer")
    return side_by_side(f"{LOOP_N} geteuid() calls, wall time", argv, "s", ROUNDS,
                        lambda s: s / LOOP_N * 1e6)


def bench_http():
    argv = [os.path.join(W, "httpload"), str(HTTP_N)]
    log(f"trace: {ROUNDS} rounds of httpload {HTTP_N} under each tracer")
    return side_by_side(f"HTTP/1.1 over loopback, {HTTP_N} keep-alive requests", argv, "req/s",
                        ROUNDS, lambda rps: 1e6 / rps, lower_is_better=False)


def bench_rate():
    """Records delivered per second with none lost: the syscall loop flat out under
    --min-syscall-us 0 (the workload, slowed by the hooks, is then the limit), and paced rates
    when flat out loses some."""
    out = {"flat_out": {}, "paced": {}}
    print("\n== events per second delivered without loss (vigil trace --min-syscall-us 0, "
          "default 8 MiB ring buffer) ==")
    best = None
    for n in (300000, 1000000):
        r = subprocess.run([VIGIL, "trace", "--min-syscall-us", "0", "--no-http", "-o", os.devnull,
                            "--format", "dot", "--", os.path.join(W, "geteuid_loop"), str(n)],
                           capture_output=True, text=True, timeout=600)
        secs = float(r.stdout.strip().splitlines()[-1])
        lost = re.search(r"ring buffer full: lost (\d+) of (\d+) syscall", r.stderr)
        spans = re.search(r"\((\d+) spans\)", r.stderr)
        nlost = int(lost.group(1)) if lost else 0
        rate = (n - nlost) / secs
        out["flat_out"][n] = {"seconds": secs, "lost": nlost, "delivered_per_s": rate,
                              "spans": int(spans.group(1)) if spans else None}
        print(f"  geteuid_loop {n} flat out: {secs:.3f} s, {nlost} lost, "
              f"{rate:,.0f} records/s delivered, {out['flat_out'][n]['spans']} spans")
        if not nlost:
            best = max(best or 0, rate)
    if best is None:
        for rate in (25000, 50000, 100000, 200000, 400000):
            r = subprocess.run([VIGIL, "trace", "--min-syscall-us", "0", "--no-http", "-o",
                                os.devnull, "--format", "dot", "--", os.path.join(W, "sysrate"),
                                str(rate), "2"], capture_output=True, text=True, timeout=300)
            m = re.search(r"calls=(\d+) rate=(\d+)", r.stdout)
            lost = re.search(r"ring buffer full: lost (\d+) of (\d+) syscall", r.stderr)
            if not m:
                break
            nlost = int(lost.group(1)) if lost else 0
            out["paced"][rate] = {"achieved": int(m.group(2)), "lost": nlost}
            print(f"  paced at {rate}/s: reached {int(m.group(2))}/s, {nlost} lost")
            if nlost:
                break
            best = int(m.group(2))
    print(f"  sustained without loss: {best:,.0f} records/s" if best else "  every run lost records")
    out["lossless_per_s"] = best
    return out


def bench_bpf_cost():
    """BPF run time of vigil trace's programs per syscall of the loop."""
    path = "/proc/sys/kernel/bpf_stats_enabled"
    old = open(path).read().strip()
    res = {}
    print("\n== BPF run time vigil trace adds per syscall (kernel.bpf_stats_enabled) ==")
    try:
        open(path, "w").write("1")
        for label, extra in (("vigil trace", []), ("vigil trace --min-syscall-us 0",
                                                     ["--min-syscall-us", "0"])):
            before = {p["id"] for p in json.loads(subprocess.run(
                ["bpftool", "-j", "prog", "list"], capture_output=True, text=True).stdout)}
            p = subprocess.Popen([VIGIL, "trace", *extra, "-o", os.devnull, "--format", "dot",
                                  "--", os.path.join(W, "geteuid_loop"), str(LOOP_N)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            ns = cnt = 0
            mine = {}
            while p.poll() is None:
                for q in json.loads(subprocess.run(["bpftool", "-j", "prog", "list"],
                                                   capture_output=True, text=True).stdout):
                    if q["id"] not in before and q.get("name", "").startswith("vg_trace"):
                        mine[q["id"]] = (q.get("run_time_ns", 0), q.get("run_cnt", 0))
                time.sleep(0.05)
            p.communicate()
            ns = sum(v[0] for v in mine.values())
            cnt = sum(v[1] for v in mine.values())
            per = ns / LOOP_N
            run = ns / cnt if cnt else 0.0
            res[label] = {"run_time_ns": ns, "run_cnt": cnt, "ns_per_syscall": per,
                          "ns_per_run": run}
            # The programs also run (and filter out) every other process's syscalls: per syscall
            # of the loop is an upper bound on a shared host; per run mixes traced and filtered.
            print(f"  {label:<34} {ns / 1e6:8.1f} ms over {cnt} program runs: {per:6.0f} ns per "
                  f"syscall of the loop (upper bound: other processes' syscalls run the hooks "
                  f"too), {run:5.0f} ns per run (last reading before exit)")
    finally:
        open(path, "w").write(old)
    return res


def bench_trace(results):
    results["trace_rate"] = bench_rate()
    results["trace_loop"] = bench_loop()
    results["trace_http"] = bench_http()
    results["trace_bpf"] = bench_bpf_cost()
