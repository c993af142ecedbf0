"""Untrusted input: what a profiled process controls (its perf map, its mount namespace, its files)
must never make Vigil, running as root, read or show a file the process could not read itself."""
import ctypes
import os
import re
import secrets
import shutil
import struct
import subprocess
import tempfile

from lib import check_rc, parse_folded, strip_k, vigil, workload, VIGIL

NOBODY = 65534


def as_user(uid, *argv):
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
            *argv]


def _samples_with(stacks, func):
    return sum(c for frames, c in stacks if any(strip_k(f) == func for f in frames))


class Fanotify:
    """The processes that open or read a file while it is watched (O_PATH opens and stat read
    nothing and do not count). Other engineers' profilers on this machine may read it too, so
    the test asks about one pid, not about anyone."""
    FAN_CLASS_NOTIF, FAN_NONBLOCK, FAN_CLOEXEC, FAN_MARK_ADD = 0, 0x2, 0x1, 0x1
    FAN_ACCESS, FAN_OPEN = 0x1, 0x20

    def __init__(self, path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64,
                                            ctypes.c_int, ctypes.c_char_p]
        self.fd = self.libc.fanotify_init(self.FAN_CLASS_NOTIF | self.FAN_NONBLOCK |
                                          self.FAN_CLOEXEC, os.O_RDONLY)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        rc = self.libc.fanotify_mark(self.fd, self.FAN_MARK_ADD, self.FAN_OPEN | self.FAN_ACCESS,
                                     -100, path.encode())
        assert rc == 0, os.strerror(ctypes.get_errno())
        self.pids = set()

    def readers(self):
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return self.pids
            off = 0
            while off + 24 <= len(buf):
                length, _, _, _, _, fd, pid = struct.unpack_from("=IBBHQii", buf, off)
                if fd >= 0:
                    os.close(fd)
                self.pids.add(pid)
                off += length

    def close(self):
        os.close(self.fd)


def _vigil_watched(path, *args, env=None):
    """Runs vigil while watching path; returns (CompletedProcess-like, whether vigil read it)."""
    watch = Fanotify(path)
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.Popen([VIGIL] + [str(a) for a in args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=e)
    out, err = p.communicate(timeout=60)
    read = p.pid in watch.readers()
    watch.close()
    return subprocess.CompletedProcess(p.args, p.returncode, out, err), read


def test_perf_map_symlink_to_root_only_file(ctx):
    """A process of nobody's makes its /tmp/perf-PID.map a symlink to a root-only file in map
    format: the file's contents never appear in the output; the refusal is counted and said once
    under -v. Then the honest map, nobody's own file, names the JIT code again."""
    p = ctx.spawn(as_user(NOBODY, workload("jit"), "30"))
    pid = p.stdout.readline().strip()
    assert pid.isdigit(), p.stderr.read()
    mapfile = f"/tmp/perf-{pid}.map"
    honest = open(mapfile).read()
    assert os.stat(mapfile).st_uid == NOBODY
    addr = honest.split()[0]
    token = "SECRET_" + secrets.token_hex(6)
    secret = ctx.path("root-only.map")
    with open(secret, "w") as f:
        f.write(f"{addr} 9 {token}\n")
    os.chmod(secret, 0o600)
    # The attack, as nobody: swap the map for a symlink to the root-only file.
    subprocess.run(as_user(NOBODY, "sh", "-c", f"rm -f {mapfile} && ln -s {secret} {mapfile}"),
                   check=True)
    assert os.path.islink(mapfile)
    if os.path.exists(mapfile):  # fs.protected_symlinks=0: root following it reads the secret
        assert token in open(mapfile).read()
    r = vigil("profile", "-p", pid, "-F", "499", "-f", "-v", "1")
    check_rc(r)
    assert token not in r.stdout and token not in r.stderr, "the root-only file was shown"
    lines = [l for l in r.stderr.splitlines() if "perf map" in l and "not read" in l]
    assert len(lines) == 1 and "a symbolic link" in lines[0], r.stderr[-2000:]
    assert re.search(r"warning: symbols incomplete: 1 perf map refused", r.stderr), r.stderr[-2000:]
    stacks = parse_folded(r.stdout)
    assert _samples_with(stacks, "jit_hot_loop") == 0

    # The honest map again, written by nobody: named.
    subprocess.run(as_user(NOBODY, "sh", "-c", f"rm -f {mapfile} && cat > {mapfile}"),
                   input=honest, text=True, check=True)
    r = vigil("profile", "-p", pid, "-F", "499", "-f", "1")
    check_rc(r)
    stacks = parse_folded(r.stdout)
    total = sum(c for _, c in stacks)
    jit = sum(c for f, c in stacks if f[-1] == "jit_hot_loop")
    ctx.measure(f"{jit}/{total} samples named jit_hot_loop from nobody's own map")
    assert total > 50 and jit >= 0.9 * total, stacks[:4]
    assert "symbols incomplete" not in r.stderr, r.stderr


def _nm_functions(path):
    out = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True,
                         check=True).stdout
    return {l.split()[2] for l in out.splitlines() if len(l.split()) == 3 and l.split()[1] in "tT"}


def _trapped_namespace(ctx):
    """A process in its own mount namespace whose executable's path, inside the namespace, is by
    now an absolute symlink to a file that only the host has (hidden inside the namespace by a
    tmpfs). Returns (pid, decoy path)."""
    hidden = tempfile.mkdtemp(prefix="vigil-ns-")
    decoy_dir = tempfile.mkdtemp(prefix="vigil-host-")
    decoy = os.path.join(decoy_dir, "decoy")
    shutil.copy(workload("split"), decoy)
    ctx.dirs = [hidden, decoy_dir]
    script = (f"mount -t tmpfs none {hidden} && cp {workload('spin')} {hidden}/ctspin && "
              f"mount -t tmpfs none {decoy_dir} && "
              f"{{ {hidden}/ctspin 60 & }} && sleep 0.3 && "
              # cover the mapped file's directory; its path becomes a symlink to the host's file
              f"mount -t tmpfs none {hidden} && ln -s {decoy} {hidden}/ctspin && "
              f"echo ready && wait")
    p = ctx.spawn(["unshare", "--mount", "--propagation", "private", "sh", "-c", script])
    pid = p.stdout.readline().strip()
    assert pid.isdigit(), p.stderr.read()
    assert p.stdout.readline().strip() == "ready", p.stderr.read()
    # The trap is live: the host resolving the path through /proc/PID/root lands on its decoy.
    via_root = f"/proc/{pid}/root{hidden}/ctspin"
    ctx.pids = [int(pid)]
    assert os.stat(via_root).st_ino == os.stat(decoy).st_ino
    return pid, decoy


def _cleanup_dirs(ctx):
    for pid in getattr(ctx, "pids", []):  # the workload is the shell's child, not ours
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    ctx.cleanup()
    for d in getattr(ctx, "dirs", []):
        subprocess.run(["umount", "-l", d], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def test_library_symlink_out_of_mount_namespace(ctx):
    """Vigil resolves the file inside the namespace (through map_files, the mapped inode) or gives
    up (map_files refused: openat2 resolves the symlink inside the process's root, where the decoy
    is hidden; without openat2, no symlink is followed), and never opens the host's file
    (fanotify names every process that opens it)."""
    pid, decoy = _trapped_namespace(ctx)
    try:
        decoy_only = _nm_functions(decoy) - _nm_functions(workload("spin"))
        assert "hot_alpha" in decoy_only
        cases = [("map_files", {}, True),
                 ("openat2 in the root", {"VIGIL_NO_MAP_FILES": "1"}, False),
                 ("no symlinks", {"VIGIL_NO_MAP_FILES": "1", "VIGIL_NO_OPENAT2": "1"}, False)]
        for name, env, resolves in cases:
            r, touched = _vigil_watched(decoy, "profile", "-p", pid, "-F", "499", "-f", "-U", "1",
                                        env=env)
            check_rc(r)
            stacks = parse_folded(r.stdout)
            frames = {strip_k(f) for fs, _ in stacks for f in fs}
            total = sum(c for _, c in stacks)
            hot = _samples_with(stacks, "spin_hot")
            ctx.measure(f"{name}: {hot}/{total} samples in spin_hot, host file opened: {touched}")
            assert not touched, f"{name}: the host's file was opened"
            assert not frames & decoy_only, f"{name}: names from the host's file: {frames & decoy_only}"
            assert total > 50, stacks[:4]
            if resolves:
                assert hot >= 0.9 * total, stacks[:4]
            else:
                assert hot == 0, stacks[:4]
    finally:
        _cleanup_dirs(ctx)
