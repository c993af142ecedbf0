"""Real third-party servers the rules and alerts tests compare Vigil with: Prometheus (query engine,
rule checker) and Alertmanager (API v2, webhook payloads). Each runs on a free loopback port in the
test's temporary directory and is killed with the test (ctx.spawn)."""
import json
import os
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from lib import Skip, have, wait_for


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def http_json(url, data=None, method=None, timeout=10):
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text.strip() else None)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text


def _ready(url):
    try:
        return http_get(url, timeout=1)[0] == 200
    except Exception:
        return False


def prometheus_with_blocks(ctx, openmetrics_text, name="prom"):
    """Backfill the OpenMetrics text with promtool into a fresh TSDB and start Prometheus on it.
    Returns the base URL."""
    if not have("prometheus") or not have("promtool"):
        raise Skip("prometheus/promtool missing (scripts/install-deps.sh --test installs them)")
    om = ctx.path(name + ".om")
    with open(om, "w") as f:
        f.write(openmetrics_text)
    tsdb = ctx.path(name + "-tsdb")
    os.makedirs(tsdb, exist_ok=True)
    r = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, tsdb],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, "promtool backfill failed: " + r.stdout[-2000:] + r.stderr[-2000:]
    cfg = ctx.path(name + ".yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 15s\n")
    port = free_port()
    ctx.spawn(["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + tsdb,
               "--storage.tsdb.retention.time=100y", "--web.listen-address=127.0.0.1:%d" % port,
               "--log.level=warn"],
              stdout=subprocess.DEVNULL, stderr=open(ctx.path(name + ".log"), "w"))
    url = "http://127.0.0.1:%d" % port
    assert wait_for(lambda: _ready(url + "/-/ready"), timeout=60), \
        "prometheus did not become ready: " + open(ctx.path(name + ".log")).read()[-2000:]
    return url


def prometheus_server(ctx, config_text, name="prom", remote_write=False, files=None):
    """Start an empty Prometheus with this configuration (files: {name: text} written next to
    it, e.g. the rule files it names); remote_write: it receives remote write at
    /api/v1/write. Returns the base URL once it is ready."""
    if not have("prometheus"):
        raise Skip("prometheus missing (scripts/install-deps.sh --test installs it)")
    for fname, text in (files or {}).items():
        with open(ctx.path(fname), "w") as f:
            f.write(text)
    cfg = ctx.path(name + ".yml")
    with open(cfg, "w") as f:
        f.write(config_text)
    port = free_port()
    argv = ["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + ctx.path(name + "-tsdb"),
            "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"]
    if remote_write:
        argv.append("--web.enable-remote-write-receiver")
    ctx.spawn(argv, stdout=subprocess.DEVNULL, stderr=open(ctx.path(name + ".log"), "w"))
    url = "http://127.0.0.1:%d" % port
    assert wait_for(lambda: _ready(url + "/-/ready"), timeout=60), \
        "prometheus did not become ready: " + open(ctx.path(name + ".log")).read()[-2000:]
    return url


STALE_NAN_BITS = 0x7ff0000000000002  # Prometheus' staleness marker (value.StaleNaN)


def _varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7f, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def _field(num, payload):
    """A length-delimited protobuf field."""
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _snappy_block(raw):
    """Snappy's block format with literals only (valid snappy; no compression needed here)."""
    out = bytearray(_varint(len(raw)))
    for i in range(0, len(raw), 65536):
        chunk = raw[i:i + 65536]
        n = len(chunk) - 1
        out += bytes([n << 2]) if n < 60 else bytes([60 << 2, n]) if n < 256 else \
            bytes([61 << 2]) + struct.pack("<H", n)
        out += chunk
    return bytes(out)


def remote_write_body(series):
    """A remote write 1.0 body (snappy WriteRequest) for series: [(labels with __name__,
    [(t_ms, value, or None for a staleness marker)])], samples in time order."""
    req = bytearray()
    for labels, samples in series:
        ts = bytearray()
        for k in sorted(labels):
            ts += _field(1, _field(1, k.encode()) + _field(2, labels[k].encode()))
        for t, v in samples:
            bits = STALE_NAN_BITS if v is None else struct.unpack("<Q", struct.pack("<d", v))[0]
            ts += _field(2, b"\x09" + struct.pack("<Q", bits) + b"\x10" +
                         _varint(t & 0xffffffffffffffff))
        req += _field(1, bytes(ts))
    return _snappy_block(bytes(req))


def prometheus_with_samples(ctx, series, name="prom"):
    """An empty Prometheus given series (as remote_write_body takes them) by remote write, staleness
    markers included (a promtool backfill has no way to write one). Returns the base URL."""
    url = prometheus_server(ctx, "global:\n  scrape_interval: 15s\n", name=name,
                            remote_write=True)
    for i in range(0, len(series), 500):
        req = urllib.request.Request(url + "/api/v1/write", data=remote_write_body(series[i:i + 500]),
                                     headers={"Content-Encoding": "snappy",
                                              "Content-Type": "application/x-protobuf",
                                              "X-Prometheus-Remote-Write-Version": "0.1.0"})
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status in (200, 204), r.status
    return url


def prom_query(url, expr, **params):
    """GET /api/v1/query or /api/v1/query_range (when start is given); returns the parsed JSON."""
    path = "/api/v1/query_range" if "start" in params else "/api/v1/query"
    q = dict(params, query=expr)
    try:
        return json.loads(http_get(url + path + "?" + urllib.parse.urlencode(q), timeout=60)[1])
    except urllib.error.HTTPError as e:
        return json.loads(e.read().decode())


def alertmanager(ctx, config_text, name="am"):
    """Start Alertmanager with this configuration; returns the base URL."""
    binary = "prometheus-alertmanager"
    if not have(binary):
        raise Skip("prometheus-alertmanager missing (scripts/install-deps.sh --test installs it)")
    cfg = ctx.path(name + ".yml")
    with open(cfg, "w") as f:
        f.write(config_text)
    port = free_port()
    cluster = free_port()
    ctx.spawn([binary, "--config.file=" + cfg, "--storage.path=" + ctx.path(name + "-data"),
               "--web.listen-address=127.0.0.1:%d" % port,
               "--cluster.listen-address=127.0.0.1:%d" % cluster, "--log.level=warn"],
              stdout=subprocess.DEVNULL, stderr=open(ctx.path(name + ".log"), "w"))
    url = "http://127.0.0.1:%d" % port
    assert wait_for(lambda: _ready(url + "/-/ready"), timeout=60), \
        "alertmanager did not become ready: " + open(ctx.path(name + ".log")).read()[-2000:]
    return url


def same_result(a, b, rel=1e-9, abs_tol=1e-12):
    """Compare two Prometheus API answers: same result type, same series (by labels), same
    timestamps, values equal within float rounding. Returns None or a description of the first
    difference."""
    if a.get("status") != b.get("status"):
        return "status %s vs %s: %s / %s" % (a.get("status"), b.get("status"),
                                              a.get("error"), b.get("error"))
    if a["status"] != "success":
        return None
    da, db = a["data"], b["data"]
    if da["resultType"] != db["resultType"]:
        return "resultType %s vs %s" % (da["resultType"], db["resultType"])

    def close(x, y):
        fx, fy = float(x), float(y)
        if fx != fx and fy != fy:
            return True
        if fx == fy:
            return True
        return abs(fx - fy) <= max(rel * max(abs(fx), abs(fy)), abs_tol)

    kind = da["resultType"]
    if kind in ("scalar", "string"):
        ra, rb = da["result"], db["result"]
        if ra[0] != rb[0] or not (close(ra[1], rb[1]) if kind == "scalar" else ra[1] == rb[1]):
            return "%s %s vs %s" % (kind, ra, rb)
        return None

    def by_labels(res):
        out = {}
        for s in res:
            key = tuple(sorted(s["metric"].items()))
            out[key] = s.get("values") or [s["value"]]
        return out

    ma, mb = by_labels(da["result"]), by_labels(db["result"])
    if set(ma) != set(mb):
        return "series differ: only first %s; only second %s" % (
            sorted(set(ma) - set(mb))[:3], sorted(set(mb) - set(ma))[:3])
    for k in ma:
        pa, pb = ma[k], mb[k]
        ta, tb = [p[0] for p in pa], [p[0] for p in pb]
        if ta != tb:
            extra_a = sorted(set(ta) - set(tb))[:3]
            extra_b = sorted(set(tb) - set(ta))[:3]
            return "%s: timestamps differ (%d vs %d points; only first %s, only second %s)" % (
                dict(k), len(ta), len(tb), extra_a, extra_b)
        for (t, x), (_, y) in zip(pa, pb):
            if not close(x, y):
                return "%s at %s: %s vs %s" % (dict(k), t, x, y)
    return None
