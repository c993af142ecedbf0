"""make bench notify: notification latency of vigil serve, from an alert firing (its startsAt, the
evaluation that fired it) to a loopback webhook receiving the Alertmanager payload.

Each round starts a spinning workload (a copy under a name of this run's own), waits for the
firing webhook, stops the workload and waits for the resolved one. Two settings:
  group_wait 0s  the pipeline itself (evaluation -> sink -> notify thread -> HTTP)
  defaults       Vigil's group_wait 10s (the issue's bound: under 30 s at the defaults)
BENCH_NOTIFY_ROUNDS rounds each (default 5 and 2). Median and max are reported."""
import datetime
import http.server
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def _parse_time(s):
    # Go's RFC 3339 with a trimmed fraction
    base, _, frac = s.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    return t + (float("0." + frac) if frac else 0.0)


class _Hook:
    def __init__(self):
        self.got = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.got.append((time.time(), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/hook" % self.srv.server_address[1]


def _wait(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return None


def _rounds(vigil, workloads, log, group_wait, rounds):
    tmp = tempfile.mkdtemp(prefix="vigil-bench-notify-")
    comm = "nspin%05d" % (os.getpid() % 100000)
    exe = os.path.join(tmp, comm)
    shutil.copy(os.path.join(workloads, "spin"), exe)
    hook = _Hook()
    with open(os.path.join(tmp, "rules.yml"), "w") as f:
        f.write("groups:\n- name: b\n  interval: 1s\n  rules:\n  - alert: BenchHot\n"
                "    expr: rate(vigil_cpu_seconds_total{comm=\"%s\"}[2s]) > 0.2\n" % comm)
    gw = "" if group_wait is None else "  group_wait: %s\n  group_interval: 1s\n" % group_wait
    with open(os.path.join(tmp, "vigil.yml"), "w") as f:
        f.write("rule_files: [rules.yml]\nroute:\n  receiver: h\n%sreceivers:\n- name: h\n"
                "  webhook_configs:\n  - url: %s\n" % (gw, hook.url))
    port = _free_port()
    srv = subprocess.Popen([vigil, "serve", "--config", os.path.join(tmp, "vigil.yml"),
                            "--listen", "127.0.0.1:%d" % port, "--data-dir",
                            os.path.join(tmp, "data"), "--interval", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lat = []
    try:
        time.sleep(3)
        for r in range(rounds):
            n0 = len(hook.got)
            spin = subprocess.Popen([exe, "0"], stdout=subprocess.DEVNULL)
            try:
                got = _wait(lambda: [g for g in hook.got[n0:] if g[1]["status"] == "firing"], 90)
            finally:
                spin.kill()
                spin.wait()
            if not got:
                log("  round %d: no firing webhook in 90 s" % r)
                continue
            t_recv, body = got[0]
            starts = min(_parse_time(a["startsAt"]) for a in body["alerts"])
            lat.append(t_recv - starts)
            n1 = len(hook.got)
            if not _wait(lambda: [g for g in hook.got[n1:] if g[1]["status"] == "resolved"],
                         90):
                log("  round %d: no resolved webhook in 90 s" % r)
            time.sleep(1)
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            srv.kill()
        hook.srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    return lat


def bench_notify(results, vigil, workloads, log):
    rows = []
    for label, gw, n in (("group_wait 0s", "0s", int(os.environ.get("BENCH_NOTIFY_ROUNDS", "5"))),
                         ("defaults (group_wait 10s)", None,
                          int(os.environ.get("BENCH_NOTIFY_DEFAULT_ROUNDS", "2")))):
        lat = _rounds(vigil, workloads, log, gw, n)
        if not lat:
            log("notify %s: no measurement" % label)
            continue
        row = {"what": label, "rounds": len(lat), "median_s": statistics.median(lat),
               "max_s": max(lat)}
        rows.append(row)
        log("notify: firing -> webhook received, %-26s median %6.3f s  max %6.3f s  (%d rounds)"
            % (label, row["median_s"], row["max_s"], len(lat)))
    results["notify"] = rows
