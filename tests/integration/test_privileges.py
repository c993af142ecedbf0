"""Least privilege: Vigil as a user from a binary with five file capabilities, the capabilities it
keeps as root, and `make install CAPS=1`."""
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import urllib.request

from lib import ROOT, VIGIL, Skip, check_rc, parse_folded, strip_k, wait_for, workload

NOBODY = 65534
OTHER = 4321  # another user: no passwd entry needed
NEEDED = "cap_bpf,cap_perfmon,cap_sys_ptrace,cap_dac_read_search,cap_syslog"
# Bits (linux/capability.h) of what Vigil keeps as root: kernel/caps.c's table.
KEPT = {"cap_dac_override": 1, "cap_dac_read_search": 2, "cap_sys_ptrace": 19,
        "cap_sys_admin": 21, "cap_sys_resource": 24, "cap_syslog": 34, "cap_perfmon": 38,
        "cap_bpf": 39, "cap_checkpoint_restore": 40}


def as_user(uid, argv, gid=None):
    gid = uid if gid is None else gid
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *argv]


def _caps_binary(ctx, caps):
    """A copy of ./vigil carrying caps, in a directory every user may enter."""
    os.chmod(ctx.tmp, 0o755)
    d = ctx.path(f"bin-{len(os.listdir(ctx.tmp))}")
    os.mkdir(d, 0o755)
    b = os.path.join(d, "vigil")
    shutil.copy(VIGIL, b)
    r = subprocess.run(["setcap", f"{caps}+ep", b], capture_output=True, text=True)
    if r.returncode != 0:
        raise Skip(f"setcap on {d} failed (no xattr support?): {r.stderr.strip()}")
    return b


def _other_users_process(ctx):
    """A process of uid OTHER making syscalls in a loop, its binary in a directory only OTHER
    can read (reading it takes cap_dac_read_search)."""
    d = ctx.path("private")
    os.mkdir(d, 0o700)
    exe = os.path.join(d, "geteuid_loop")
    shutil.copy(workload("geteuid_loop"), exe)
    subprocess.run(["chown", "-R", f"{OTHER}:{OTHER}", d], check=True)
    p = ctx.spawn(as_user(OTHER, [exe, "2000000000"]))
    assert wait_for(lambda: os.path.exists(f"/proc/{p.pid}/exe") and
                    os.stat(f"/proc/{p.pid}").st_uid == OTHER, 5)
    return p.pid


def _run(argv, timeout=90):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def test_unprivileged_run_with_file_capabilities(ctx):
    """As nobody, from a copy of ./vigil with cap_bpf, cap_perfmon, cap_sys_ptrace,
    cap_dac_read_search and cap_syslog: another user's process, with kernel and user symbols.
    The doctor shows the five held and nothing needed missing; without cap_syslog it names it."""
    b = _caps_binary(ctx, NEEDED)
    pid = _other_users_process(ctx)
    r = _run(as_user(NOBODY, [b, "profile", "-p", str(pid), "-F", "499", "-f", "2"]))
    check_rc(r)
    stacks = parse_folded(r.stdout)
    total = sum(c for _, c in stacks)
    kernel = sum(c for f, c in stacks if any(strip_k(x) in ("do_syscall_64", "__x64_sys_geteuid")
                                              for x in f if x.endswith("_[k]")))
    user = sum(c for f, c in stacks if f[0] == "geteuid_loop" and
               any(x in ("main", "syscall") for x in f))
    ctx.measure(f"as nobody: {total} samples, {kernel} with named kernel frames, "
                f"{user} with named user frames")
    assert total > 100, r.stderr[-2000:]
    assert kernel > 0.3 * total and user > 0.8 * total, stacks[:6]
    assert "symbols incomplete" not in r.stderr, r.stderr

    r = _run(as_user(NOBODY, [b, "doctor", "-j"]))
    check_rc(r)
    doc = json.loads(r.stdout)
    held = {c["name"]: c["held"] for c in doc["capabilities"]}
    assert doc["uid"] == NOBODY and doc["missing_capabilities"] == [] and doc["profile_ok"]
    assert all(held[c] for c in NEEDED.split(",")), held
    assert not held["cap_sys_admin"] and not held["cap_checkpoint_restore"], held
    # map_files needs cap_checkpoint_restore: the doctor says so, and files open by path instead.
    assert doc["symbol_files"]["map_files"] is False
    assert "CAP_CHECKPOINT_RESTORE" in doc["symbol_files"]["map_files_why"]

    b2 = _caps_binary(ctx, NEEDED.replace(",cap_syslog", ""))
    r = _run(as_user(NOBODY, [b2, "doctor"]))
    check_rc(r)
    assert re.search(r"^cap_syslog\s+no\s+needed", r.stdout, re.M), r.stdout
    assert "missing cap_syslog" in r.stdout, r.stdout


def _status_caps(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k.startswith("Cap"):
                out[k] = int(v, 16)
    return out


def test_capabilities_dropped_at_start(ctx):
    """As root, Vigil keeps only its table's capabilities, CAP_SYS_ADMIN not effective and gone for
    good once the capture runs; the COMMAND it starts still runs with root's full set."""
    marker = ctx.path("child-caps")
    p = ctx.spawn([VIGIL, "profile", "-F", "99", "-o", ctx.path("out.folded"), "--", "sh", "-c",
                   f"grep Cap /proc/self/status > {marker}; sleep 3"])
    bnd = _status_caps("self")["CapBnd"]
    keep = sum(1 << b for b in KEPT.values()) & bnd
    admin = 1 << KEPT["cap_sys_admin"]
    assert wait_for(lambda: os.path.exists(marker) and os.path.getsize(marker) > 0, 20)
    caps = _status_caps(p.pid)
    ctx.measure(f"vigil: CapPrm {caps['CapPrm']:#x} CapEff {caps['CapEff']:#x} "
                f"(root's bounding set {bnd:#x})")
    assert caps["CapPrm"] == keep & ~admin, f"{caps['CapPrm']:#x} != {keep & ~admin:#x}"
    assert caps["CapEff"] == keep & ~admin
    assert caps["CapInh"] == 0 and caps["CapAmb"] == 0
    child = {}
    for line in open(marker):
        k, _, v = line.partition(":")
        child[k] = int(v, 16)
    assert child["CapEff"] == bnd, f"the command lost capabilities: {child['CapEff']:#x}"
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err


def test_make_install_caps(ctx):
    """make install CAPS=1 (into a DESTDIR): the capabilities on the file, mode 0750 for the group,
    runnable by its members without root. (That others cannot run it is the mode's job; this
    host's kernel lets any user exec a 0750 file, so the test checks the mode, not a refusal.)"""
    os.chmod(ctx.tmp, 0o755)
    dest = ctx.path("dest")
    r = _run(["make", "-C", ROOT, "--no-print-directory", "install", "CAPS=1", f"DESTDIR={dest}",
              "CAPS_GROUP=nogroup"], timeout=300)
    check_rc(r)
    b = os.path.join(dest, "usr/local/sbin/vigil")
    for d in (dest, f"{dest}/usr", f"{dest}/usr/local", f"{dest}/usr/local/sbin"):
        os.chmod(d, 0o755)
    st = os.stat(b)
    assert oct(st.st_mode & 0o7777) == "0o750" and st.st_gid == NOBODY, oct(st.st_mode)
    got = _run(["getcap", b]).stdout
    for c in NEEDED.split(","):
        assert c in got, got
    r = _run(as_user(NOBODY, [b, "doctor", "-j"]))  # nobody's group is nogroup (65534)
    check_rc(r)
    assert json.loads(r.stdout)["missing_capabilities"] == []


def test_serve_parses_http_without_capabilities(ctx):
    """vigil serve: the threads that parse HTTP requests hold no capability at all (the collector
    thread keeps the table's), and a live profile through them still works."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = ctx.spawn([VIGIL, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir",
                   ctx.path("data"), "--interval", "2"])

    def up():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status
        except OSError:
            return None
    assert wait_for(up, 30), p.stderr.read() if p.poll() is not None else "serve not up"
    got = {}
    t = threading.Thread(target=lambda: got.update(body=urllib.request.urlopen(
        f"http://127.0.0.1:{port}/debug/pprof/profile?seconds=2", timeout=30).read()))
    t.start()
    threads = {}

    def connection_seen():
        for tid in os.listdir(f"/proc/{p.pid}/task"):
            try:
                comm = open(f"/proc/{p.pid}/task/{tid}/comm").read().strip()
                threads[tid] = (comm, _status_caps(f"{p.pid}/task/{tid}"))
            except OSError:
                pass
        return any(c == "MHD-connection" for c, _ in threads.values())
    assert wait_for(connection_seen, 10), threads
    t.join(40)
    assert got.get("body", b"")[:2] == b"\x1f\x8b", "no gzip pprof from the live endpoint"
    http = {tid: caps for tid, (comm, caps) in threads.items() if comm.startswith("MHD-")}
    main = _status_caps(p.pid)
    ctx.measure(f"{len(http)} HTTP threads, CapPrm/CapEff "
                f"{sorted({(c['CapPrm'], c['CapEff']) for c in http.values()})}; "
                f"collector thread CapEff {main['CapEff']:#x}")
    assert http and all(c["CapPrm"] == 0 and c["CapEff"] == 0 for c in http.values()), http
    assert main["CapEff"] & (1 << KEPT["cap_bpf"]), f"{main['CapEff']:#x}"
    p.send_signal(2)
    p.communicate(timeout=30)
