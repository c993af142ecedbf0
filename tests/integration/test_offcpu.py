"""vigil offcpu on this kernel: every attach flavour that works here, wakers and --wall."""
import json
import os
import re
import signal
import subprocess

from lib import (VIGIL, Skip, attach_flavours, check_rc, have, one_line_error, parse_folded, strip_k,
                 vigil, wait_for, workload)


def _folded(stdout):
    """Folded stacks from vigil's stdout (the workload's own summary line goes to stderr)."""
    return parse_folded(stdout)


def _sleep_share(stacks):
    """Microseconds in stacks that hold both sleeper_sleep and the kernel's nanosleep path."""
    hit = 0
    for frames, us in stacks:
        names = [strip_k(f) for f in frames]
        if "sleeper_sleep" in names and any("nanosleep" in n for n in names):
            hit += us
    return hit


def test_offcpu_attributes_sleep_time_every_flavour(ctx):
    """A thread sleeping 20 ms at a time: the capture's duration goes to its sleep stack (+-5%)."""
    ran = 0
    for flavour in attach_flavours():
        p = ctx.spawn([workload("sleeper"), "30", "20", "0"])
        # Capture 3 s of it by pid, so the whole capture is steady state (it outlives vigil's
        # start-up, seconds on a loaded host, and is killed after).
        import time
        time.sleep(0.3)
        r = vigil("offcpu", "--attach", flavour, "-p", p.pid, "-f", "3", timeout=30)
        check_rc(r)
        stacks = parse_folded(r.stdout)
        total = sum(us for _, us in stacks)
        sleep = _sleep_share(stacks)
        ctx.measure(f"{flavour}: {sleep / 1e6:.3f} s in sleeper_sleep+nanosleep stacks of a 3 s "
                    f"capture (bound +-5%)")
        assert abs(sleep - 3e6) <= 0.05 * 3e6, (
            f"{flavour}: {sleep} us in sleeper_sleep+nanosleep stacks, want 3 s +-5% "
            f"(total {total} us); stacks: {[(';'.join(f[-4:]), c) for f, c in stacks][:5]}")
        ran += 1
        p.kill()
    assert ran >= 2, f"only {ran} attach flavours available here"


def test_offcpu_kernel_unwinder(ctx):
    """The kernel's user-stack walker (the fallback) attributes the sleep the same way."""
    r = vigil("offcpu", "--unwind", "kernel", "-f", "--", workload("sleeper"), "1", "20", "0",
              timeout=30)
    check_rc(r)
    assert _sleep_share(_folded(r.stdout)) > 0.9e6


def test_offcpu_outputs_and_units(ctx):
    out = ctx.path("off.pb.gz")
    r = vigil("offcpu", "-o", out, "--", workload("sleeper"), "1", "20", "0", timeout=30)
    check_rc(r)
    if have("go"):
        raw = subprocess.run(["go", "tool", "pprof", "-raw", out], capture_output=True,
                             text=True, timeout=120)
        assert raw.returncode == 0, raw.stderr[-2000:]
        assert "off-cpu/nanoseconds" in raw.stdout, raw.stdout[:400]
        top = subprocess.run(["go", "tool", "pprof", "-top", "-sample_index=off-cpu", out],
                             capture_output=True, text=True, timeout=120)
        assert top.returncode == 0 and "sleeper_sleep" in top.stdout, top.stdout[-1500:]
    svg = ctx.path("off.svg")
    check_rc(vigil("offcpu", "-o", svg, "--", workload("sleeper"), "0.5", "20", "0"))
    assert "us" in open(svg).read()


def test_min_max_bounds(ctx):
    # Sleeps of 20 ms: -m 30000 (30 ms) excludes them all, -M 10000 (10 ms) too.
    for args in (["-m", "30000"], ["-M", "10000"]):
        r = vigil("offcpu", *args, "-f", "--", workload("sleeper"), "1", "20", "0", timeout=30)
        check_rc(r)
        sleep = _sleep_share(_folded(r.stdout))
        assert sleep == 0, f"{args}: {sleep} us of 20 ms sleeps passed the bounds"
    r = vigil("offcpu", "-m", "15000", "-M", "30000", "-f", "--", workload("sleeper"), "1", "20",
              "0", timeout=30)
    check_rc(r)
    assert _sleep_share(_folded(r.stdout)) > 0.8e6


def test_state_filter(ctx):
    # nanosleep sleeps in TASK_INTERRUPTIBLE (S): --state D sees none of it, --state S all.
    r = vigil("offcpu", "--state", "D", "-f", "--", workload("sleeper"), "1", "20", "0",
              timeout=30)
    check_rc(r)
    assert _sleep_share(_folded(r.stdout)) == 0
    r = vigil("offcpu", "--state", "S", "-f", "--", workload("sleeper"), "1", "20", "0",
              timeout=30)
    check_rc(r)
    assert _sleep_share(_folded(r.stdout)) > 0.8e6


def test_wakers(ctx):
    """A process woken through a pipe by another: the waker's stack follows '--'."""
    r = vigil("offcpu", "--wakers", "-f", "--", "sh", "-c",
              "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.05; echo x; done | cat >/dev/null",
              timeout=30)
    check_rc(r)
    stacks = parse_folded(r.stdout)
    woken = [(f, c) for f, c in stacks if "--" in f]
    assert woken, f"no wakee;--;waker stacks: {r.stdout[:1000]}"
    # cat blocks in pipe read and is woken by the writer (sh / echo) through the pipe code.
    cat = [f for f, _ in woken if f[0] == "cat"]
    assert cat, f"cat not among the woken: {[f[0] for f, _ in woken]}"
    # cat waits in the pipe read; sh wakes it by writing to the pipe: the waker part (leaf first,
    # then the waker's name) shows the pipe write path, and the heaviest such stack names sh.
    f, _ = max(((f, c) for f, c in woken if f[0] == "cat"), key=lambda fc: fc[1])
    i = f.index("--")
    wakee, waker = [strip_k(x) for x in f[1:i]], [strip_k(x) for x in f[i + 1:]]
    assert any("pipe_read" in x for x in wakee), f"wakee not blocked in a pipe read: {f}"
    assert any("pipe_write" in x for x in waker), f"waker not in a pipe write: {f}"
    assert any(x.startswith("try_to_wake_up") for x in waker[:3]), f"waker leaf: {waker[:3]}"
    assert waker[-1] == "sh", f"waker process: {waker[-1]}"


def test_wall_half_compute_half_sleep(ctx):
    """--wall: compute and sleep halves ~50% each (+-5 points of what the workload measured: on a
    busy host its 20 ms of CPU take longer); total = threads x wall (+-5%)."""
    r = vigil("offcpu", "--wall", "-f", "--", workload("sleeper"), "4", "20", "20", timeout=60)
    check_rc(r)
    m = re.search(r"wall_ns=(\d+) sleep_ns=(\d+)", r.stderr)
    assert m, r.stderr
    stacks = parse_folded(r.stdout)
    total = sum(us for _, us in stacks)
    wall_us = int(m.group(1)) / 1000
    slept = 100 * int(m.group(2)) / 1000 / wall_us  # the workload's own share asleep
    ctx.measure(f"total weight {total / 1e6:.3f} s vs wall {wall_us / 1e6:.3f} s x 1 thread; "
                f"compute {100 * sum(us for f, us in stacks if 'sleeper_work' in f) / total:.1f}%, "
                f"sleep {100 * sum(us for f, us in stacks if 'sleeper_sleep' in f) / total:.1f}% "
                f"(the workload: asleep {slept:.1f}%)")
    assert abs(total - wall_us) <= 0.05 * wall_us, f"total {total} us vs wall {wall_us} us"
    work = sum(us for f, us in stacks if "sleeper_work" in f)
    sleep = sum(us for f, us in stacks if "sleeper_sleep" in f)
    assert abs(100 * work / total - (100 - slept)) <= 5, f"compute {100 * work / total:.1f}%"
    assert abs(100 * sleep / total - slept) <= 5, f"sleep {100 * sleep / total:.1f}% vs {slept:.1f}%"
    # an idle host gives about half each; a busy one stretches the compute half only
    assert slept <= 55, f"the workload slept {slept:.1f}% of its wall time"
    assert any("[off-cpu]" in f for f, _ in stacks)


def test_offcpu_bad_input(ctx):
    cases = [
        (["offcpu", "-m", "100", "-M", "10"], r"-m 100 is more than -M 10"),
        (["offcpu", "--state", "X"], r"invalid --state 'X'"),
        (["offcpu", "--wall", "1"], r"--wall needs -p PID or -- COMMAND"),
        (["offcpu", "--attach", "bogus", "1"], r"unknown attach type 'bogus'"),
        (["offcpu", "-p", "999999999"], r"no such process"),
        (["offcpu", "-o", "/nonexistent/x.svg", "1"], r"cannot write"),
    ]
    for args, pat in cases:
        one_line_error(vigil(*args), 1, pat)


def _dead_time(stacks, func="do_task_dead"):
    """Microseconds in stacks through func: do_task_dead is a task's final switch-out; do_exit
    also holds real waits of an exiting task (preemption in exit_mmap), which must stay small."""
    return sum(us for frames, us in stacks if any(strip_k(f) == func for f in frames))


def test_exit_is_not_a_wait(ctx):
    """A fork loop of 200 /bin/true: none of their off-CPU time is in do_task_dead (each dead
    task was charged from its final switch-out to the end of the capture)."""
    r = vigil("offcpu", "-f", "--", "sh", "-c",
              "for i in $(seq 200); do /bin/true; done; sleep 0.5", timeout=60)
    check_rc(r)
    stacks = parse_folded(r.stdout)
    total, dead, exiting = sum(us for _, us in stacks), _dead_time(stacks), _dead_time(
        stacks, "do_exit")
    ctx.measure(f"fork loop: {dead} us of {total} us off-CPU in do_task_dead (want 0), "
                f"{exiting} us in do_exit (bound 10%)")
    assert total > 0 and dead == 0, f"{dead} of {total} us charged to exited tasks"
    # (Preemption of an exiting task under load is real waiting; a tower was ~all of it.)
    assert exiting <= 0.1 * total, f"{exiting} of {total} us in do_exit"


def test_exited_target_not_charged_after_exit(ctx):
    """`sleeper 1 & vigil offcpu -p $!`: its 1 s of 20 ms naps is charged, not the time after its
    exit. The target stops itself and execs the sleeper once vigil has attached (SIGCONT), so the
    whole second is seen whatever vigil's start-up time."""
    p = ctx.spawn(["sh", "-c", f"kill -STOP $$; exec {workload('sleeper')} 1 20 0"])
    assert wait_for(lambda: open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()[0]
                    == "T", 5)
    v = ctx.spawn([VIGIL, "offcpu", "-p", str(p.pid), "-f", "-d", "8"])
    line = v.stderr.readline()
    assert "tracing off-CPU time" in line, line
    os.kill(p.pid, signal.SIGCONT)
    out, err = v.communicate(timeout=30)
    assert v.returncode == 0, err
    stacks = parse_folded(out)
    total = sum(us for _, us in stacks)
    ctx.measure(f"sleeper 1 s under -p: {total / 1e6:.3f} s off-CPU (bound 0.9-1.1 s), "
                f"{_dead_time(stacks)} us in do_task_dead")
    assert 0.9e6 <= total <= 1.1e6 and _dead_time(stacks) == 0, stacks
    # Its frames are named although it is gone by the end (imaged at the start, and at exec
    # through the side-band).
    assert _sleep_share(stacks) >= 0.9 * total, stacks[:3]


def test_per_thread_early_exit(ctx):
    """--per-thread: a thread that naps 100 ms and exits in a 2 s run is charged ~0.1 s, not 2 s."""
    r = vigil("offcpu", "--per-thread", "-f", "--", workload("threadexit"), "2", "100",
              timeout=30)
    check_rc(r)
    m = re.search(r"early_tid=(\d+)", r.stderr)
    assert m, r.stderr
    stacks = parse_folded(r.stdout)
    early = sum(us for f, us in stacks if f[0].endswith(f"-{m.group(1)}"))
    main = sum(us for f, us in stacks if not f[0].endswith(f"-{m.group(1)}"))
    ctx.measure(f"early thread {early / 1e6:.3f} s off-CPU (bound 0.09-0.2 s), "
                f"main thread {main / 1e6:.3f} s")
    assert 0.09e6 <= early <= 0.2e6, f"early thread charged {early} us"
    assert main >= 1.5e6, f"main thread {main} us"


def test_wall_has_no_exit_tower(ctx):
    """--wall of a fork loop: no do_exit tower of the children's last switch-outs."""
    r = vigil("offcpu", "--wall", "-f", "--", "sh", "-c",
              "for i in $(seq 100); do /bin/true; done; sleep 0.5", timeout=60)
    check_rc(r)
    stacks = parse_folded(r.stdout)
    off = [(f, us) for f, us in stacks if "[off-cpu]" in f]
    total, dead, exiting = sum(us for _, us in off), _dead_time(off), _dead_time(off, "do_exit")
    ctx.measure(f"--wall fork loop: {dead} us of off-CPU time in do_task_dead (want 0), "
                f"{exiting} us of {total} in do_exit (bound 10%)")
    assert off and dead == 0, f"{dead} us of off-CPU time in do_task_dead stacks"
    assert exiting <= 0.1 * total, f"a do_exit tower: {exiting} of {total} us"


def test_table_names_the_wait(ctx):
    """The default table ranks waits: the sleeping function, what it called and why
    ("sleeper_sleep <- clock_nanosleep  (hrtimer)"), not "__schedule [kernel.kallsyms]"."""
    r = vigil("offcpu", "--", workload("sleeper"), "1", "20", "0", timeout=30)
    check_rc(r)
    lines = r.stdout.splitlines()
    assert re.match(r"\s*TOTAL%\s+TIME\s+COUNT\s+AVG\s+COMM\s+WAIT$", lines[0]), lines[0]
    top = lines[1]
    ctx.measure(f"top row: {top.strip()}")
    assert "sleeper sleeper_sleep <- clock_nanosleep  (hrtimer)" in top, lines[:4]
    pct = float(top.split("%")[0])
    assert pct > 95, top
    # As JSON.
    r = vigil("offcpu", "-j", "--", workload("sleeper"), "1", "20", "0", timeout=30)
    check_rc(r)
    w = json.loads(r.stdout)["waits"][0]
    assert w["comm"] == "sleeper" and w["wait"] == "sleeper_sleep <- clock_nanosleep  (hrtimer)"
    assert 40 <= w["count"] <= 55 and 0.9e9 <= w["ns"] <= 1.1e9, w
    # --sort asks for the function table instead.
    r = vigil("offcpu", "--sort", "sym", "--", workload("sleeper"), "0.5", "20", "0", timeout=30)
    check_rc(r)
    assert "FUNCTION" in r.stdout.splitlines()[0], r.stdout[:300]


def test_wakers_table_names_the_waker(ctx):
    """--wakers: cat blocked in a pipe read, woken by sh writing to the pipe."""
    r = vigil("offcpu", "--wakers", "-j", "--", "sh", "-c",
              "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.05; echo x; done | cat >/dev/null",
              timeout=30)
    check_rc(r)
    waits = json.loads(r.stdout)["waits"]
    cat = [w for w in waits if w["comm"] == "cat" and "(pipe)" in w["wait"]]
    assert cat, waits[:5]
    top = max(cat, key=lambda w: w["ns"])
    ctx.measure(f"cat: {top['wait']} woken by {top.get('woken_by')}, {top['count']} times")
    assert top.get("woken_by", "").startswith("sh: ") and "(pipe)" in top["woken_by"], top
    assert top["count"] >= 8, top


def test_frequency_needs_wall(ctx):
    one_line_error(vigil("offcpu", "-F", "99", "1"), 1, r"-F applies to --wall only")
