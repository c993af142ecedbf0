"""Helpers for Vigil's integration tests: run vigil and workloads, parse outputs, check for leaks.

Tests are functions named test_* in tests/integration/test_*.py taking one argument, a Ctx.
They raise AssertionError to fail and Skip to skip (with the reason), like the kernel's test_progs.
"""
import json
import os
import re
import signal
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VIGIL = os.path.join(ROOT, "vigil")
WORKLOADS = os.path.join(ROOT, ".output", "workloads")
BROWSER = os.path.join(ROOT, "tests", "browser")


class Skip(Exception):
    pass


class Ctx:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []
        self.measures = []

    def measure(self, text):
        """Record what a test measured against its bound; the runner prints it under the result,
        so a test log carries the numbers and not only PASS."""
        self.measures.append(text)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def spawn(self, argv, **kw):
        """Start a background process that the runner kills after the test."""
        p = subprocess.Popen(argv, stdout=kw.pop("stdout", subprocess.PIPE),
                             stderr=kw.pop("stderr", subprocess.PIPE), text=True, **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.communicate(timeout=5)
            except Exception:
                pass


def workload(name):
    return os.path.join(WORKLOADS, name)


def vigil(*args, timeout=120, input=None, env=None, user=None):
    """Run vigil; returns CompletedProcess with text stdout/stderr."""
    argv = [VIGIL] + [str(a) for a in args]
    if user:
        # nobody/nogroup are 65534 on Debian; numeric ids avoid group-name differences.
        argv = ["setpriv", "--reuid=" + str(user), "--regid=" + str(user), "--clear-groups",
                "--inh-caps=-all"] + argv
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                          env=e)


def check_rc(r, want=0):
    assert r.returncode == want, (
        f"exit {r.returncode}, want {want}\nstdout: {r.stdout[-3000:]}\nstderr: {r.stderr[-3000:]}")


def one_line_error(r, want_rc, pattern):
    """A user error: the given exit code, one line on stderr matching pattern, nothing on stdout."""
    check_rc(r, want_rc)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"want one stderr line, got {len(lines)}: {r.stderr!r}"
    assert re.search(pattern, lines[0]), f"stderr {lines[0]!r} does not match {pattern!r}"
    assert lines[0].startswith("vigil"), f"message should start with 'vigil': {lines[0]!r}"
    assert r.stdout == "", f"stdout should be empty on error: {r.stdout!r}"


def parse_folded(text):
    """[(frames, count)] from folded text; fails on malformed lines."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        assert stack and count.isdigit(), f"malformed folded line: {line!r}"
        out.append((stack.split(";"), int(count)))
    return out


def strip_k(frame):
    return frame[:-4] if frame.endswith("_[k]") else frame


def bpf_progs():
    """{id: name} of loaded BPF programs that Vigil could have left (vg_* and probe_*)."""
    r = subprocess.run(["bpftool", "-j", "prog", "list"], capture_output=True, text=True)
    if r.returncode != 0:
        return {}
    return {p["id"]: p.get("name", "") for p in json.loads(r.stdout or "[]")
            if p.get("name", "").startswith(("vg_", "probe_"))}


def bpf_links():
    """{id: prog_id} of every BPF link."""
    r = subprocess.run(["bpftool", "-j", "link", "list"], capture_output=True, text=True)
    if r.returncode != 0:
        return {}
    return {l["id"]: l.get("prog_id", 0) for l in json.loads(r.stdout or "[]")}


def held_bpf_ids():
    """(prog ids, link ids) some live process holds a descriptor of, from /proc/*/fdinfo. A program
    or link nobody holds and that is still there after a test was left behind (pinned or attached
    for good); one a live process holds belongs to that process, e.g. another test run on the same
    machine, and is not this test's leak."""
    progs, links = set(), set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        d = f"/proc/{pid}/fdinfo"
        try:
            fds = os.listdir(d)
        except OSError:
            continue
        for fd in fds:
            try:
                with open(f"{d}/{fd}") as f:
                    text = f.read()
            except OSError:
                continue
            if "prog_id:" not in text and "link_id:" not in text:
                continue
            for line in text.splitlines():
                k, _, v = line.partition(":")
                if k == "prog_id" and v.strip().isdigit():
                    progs.add(int(v))
                elif k == "link_id" and v.strip().isdigit():
                    links.add(int(v))
    return progs, links


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def interrupt_after(p, seconds, sig=signal.SIGINT):
    time.sleep(seconds)
    p.send_signal(sig)


def node(*args, timeout=180):
    return subprocess.run(["node"] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, cwd=BROWSER)


def have(cmd):
    return subprocess.run(["sh", "-c", f"command -v {cmd}"], capture_output=True).returncode == 0


def tracefs_for_comparators():
    """Third-party comparators (syscount, runqlat, bpftrace) attach classic tracepoints and
    fail when tracefs is not mounted, as on a fresh host. Vigil mounts it itself; a
    comparator started before Vigil needs it mounted first."""
    path = "/sys/kernel/tracing"
    if subprocess.run(["mountpoint", "-q", path]).returncode != 0:
        subprocess.run(["mount", "-t", "tracefs", "tracefs", path], check=True)


def attach_flavours():
    """The tracepoint attach types this kernel takes, best first, as `vigil doctor -j` reports."""
    r = vigil("doctor", "-j")
    check_rc(r)
    feats = {f["name"]: f["available"] for f in json.loads(r.stdout)["features"]}
    return [f for f in ("tp_btf", "raw_tp", "tracepoint") if feats.get(f)]
