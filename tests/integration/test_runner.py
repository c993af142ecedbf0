"""What every collector shares (collect/runner.c, session.c): -p stops when its targets exit,
-- COMMAND's exit status and stdout, COMMAND counted from its exec and followed into its children."""
import json
import os
import time

from lib import check_rc, parse_folded, vigil, workload

# One invocation per command, each writing its data to stdout.
COMMANDS = {
    "profile": ["profile", "-F", "99", "-f"],
    "offcpu": ["offcpu", "-f"],
    "lat": ["lat", "syscall", "-j"],
}


def _timed(*args, timeout=60):
    t0 = time.monotonic()
    r = vigil(*args, timeout=timeout)
    return r, time.monotonic() - t0


def test_pid_stops_when_the_target_exits(ctx):
    """-p PID with a long (or no) duration returns within 2 s of the target's exit, says so and
    still writes its output; for every command."""
    for name, args in COMMANDS.items():
        for duration in (["-d", "30"], []):
            p = ctx.spawn(["sleep", "1.5"])
            t_spawn = time.monotonic()
            r = vigil(*args, "-p", p.pid, *duration, timeout=40)
            late = time.monotonic() - t_spawn - 1.5
            check_rc(r)
            ctx.measure(f"{name} {' '.join(duration) or '(no duration)'}: returned {late:.2f} s "
                        f"after the target's exit (bound 2 s)")
            assert late < 2.0, f"{name}: returned {late:.2f} s after the target exited"
            assert f"process {p.pid} exited; stopping" in r.stderr, r.stderr
            if name == "lat":
                json.loads(r.stdout.strip().splitlines()[-1])
            else:
                parse_folded(r.stdout)


def test_pid_list_stops_when_all_targets_exit(ctx):
    """-p A,B: the capture goes on while one of them runs, and stops after the last."""
    a = ctx.spawn(["sleep", "0.5"])
    b = ctx.spawn(["sleep", "2"])
    out = ctx.path("x.folded")
    r, took = _timed("profile", "-p", f"{a.pid},{b.pid}", "-o", out, "-d", "30", timeout=40)
    check_rc(r)
    ctx.measure(f"-p A,B with A 0.5 s and B 2 s: stopped after {took:.2f} s (bound 1.8-4 s)")
    assert 1.8 <= took < 4.0, f"stopped after {took:.2f} s"
    assert "all 2 target processes exited; stopping" in r.stderr, r.stderr
    assert os.path.exists(out)


def test_command_exit_status_is_returned(ctx):
    """vigil returns COMMAND's status, 128+N when a signal killed it, as perf does."""
    for name, args in COMMANDS.items():
        r = vigil(*args, "--", "sh", "-c", "exit 3", timeout=30)
        assert r.returncode == 3, f"{name}: exit {r.returncode}, want 3: {r.stderr}"
        r = vigil(*args, "--", "sh", "-c", "kill -TERM $$", timeout=30)
        assert r.returncode == 143, f"{name}: exit {r.returncode}, want 143: {r.stderr}"
    r = vigil("profile", "-o", ctx.path("x.pb.gz"), "--", "true", timeout=30)
    check_rc(r)


def test_command_stdout_kept_off_vigils_data(ctx):
    """-f -- find /usr: stdout carries only folded stacks; find's lines go to stderr, said once."""
    r = vigil("profile", "-F", "499", "-f", "--", "find", "/usr", timeout=120)
    check_rc(r)
    stacks = parse_folded(r.stdout)  # fails on any line that is not a folded stack
    assert stacks, "no stacks"
    assert "/usr/bin" not in r.stdout
    assert "\n/usr/bin\n" in r.stderr, "find's output should be on stderr"
    assert r.stderr.count("writes its stdout to stderr") == 1, r.stderr[:500]
    # lat prints tables or JSON on stdout: the same.
    r = vigil("lat", "syscall", "-j", "--", "sh", "-c", "echo from-the-command", timeout=30)
    check_rc(r)
    json.loads(r.stdout)
    assert "from-the-command" in r.stderr
    # With -o FILE (and no table), stdout is the command's.
    r = vigil("profile", "-o", ctx.path("x.svg"), "--", "sh", "-c", "echo from-the-command",
              timeout=30)
    check_rc(r)
    assert r.stdout == "from-the-command\n", r.stdout
    assert "writes its stdout" not in r.stderr


def test_command_counts_from_its_exec(ctx):
    """Between fork and exec the launched child is still vigil's code (named vigil): it must not
    count. execvp() tries each PATH entry with an execve: 40 bogus entries before the real one
    are 40 failed execve calls of that pre-exec child, which a filter armed at fork counts."""
    path = ":".join(f"/nonexistent-{i}" for i in range(40)) + ":" + os.environ["PATH"]
    r = vigil("lat", "syscall", "-e", "execve", "-j", "--", "true", env={"PATH": path},
              timeout=30)
    check_rc(r)
    h = {x["name"]: x for x in json.loads(r.stdout)["histograms"]}
    n = h.get("execve", {}).get("count", 0)
    ctx.measure(f"execve calls counted for '-- true' with 40 bogus PATH entries: {n} (want 0)")
    assert n == 0, f"{n} execve calls of the pre-exec child were counted"
    # And no sample of a profile is named after vigil, over several runs.
    for _ in range(3):
        r = vigil("profile", "-F", "999", "-f", "--", workload("forker"), "0.3", timeout=60)
        check_rc(r)
        comms = {f[0] for f, _ in parse_folded(r.stdout)}
        assert comms == {"forker"}, f"unexpected processes in a COMMAND profile: {comms}"


def test_lat_follows_the_commands_children(ctx):
    """lat -- COMMAND follows COMMAND's descendants like profile and offcpu do: sh runs two
    sleeps (the first one at least in a forked child); both are timed."""
    r = vigil("lat", "syscall", "-e", "clock_nanosleep,nanosleep", "-j", "--", "sh", "-c",
              "sleep 0.1; sleep 0.1; true", timeout=30)
    check_rc(r)
    n = sum(x["count"] for x in json.loads(r.stdout)["histograms"])
    assert n == 2, f"{n} sleeps timed, want 2 (children of the command not followed?)"
