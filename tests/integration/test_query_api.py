"""Prometheus' query API on vigil serve (/api/v1/query, /api/v1/query_range, series, labels): the
samples a running service stored, with the ends of its series as staleness markers, given to a real
Prometheus (by remote write: a promtool backfill cannot write a marker), must give the same answers from both servers' /api/v1/query_range for every expression below, to float rounding.
The samples are what Vigil's own API returns for a range selector, so the test covers the HTTP API
and the evaluator over the live store (with the points the store skipped put back); that those
samples are the ones the same service sent to a Prometheus by remote write is checked on the same
run (and in tests/unit/test_storesrc.c)."""
import json
import math
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request

from lib import wait_for, workload
from oracles import (prom_query, prometheus_server, prometheus_with_blocks, prometheus_with_samples,
                     same_result)
from test_serve import Serve, own_copy

EXPRS = [
    "vigil_cpu_seconds_total",
    "rate(vigil_cpu_seconds_total[5s])",
    "irate(vigil_cpu_seconds_total[5s])",
    "increase(vigil_cpu_seconds_total[10s])",
    "delta(vigil_process_resident_bytes[10s])",
    "deriv(vigil_process_resident_bytes[10s])",
    "sum(rate(vigil_cpu_seconds_total[5s]))",
    "sum by (comm) (rate(vigil_cpu_seconds_total[5s]))",
    "avg without (comm) (vigil_process_resident_bytes)",
    "max(vigil_process_resident_bytes)",
    "min by (comm) (vigil_process_resident_bytes)",
    "count(vigil_cpu_seconds_total)",
    "topk(3, vigil_process_resident_bytes)",
    "histogram_quantile(0.9, sum by (le) (rate(vigil_runq_latency_seconds_bucket[5s])))",
    "histogram_quantile(0.5, rate(vigil_syscall_latency_seconds_bucket[10s]))",
    "avg_over_time(vigil_process_resident_bytes[10s])",
    "max_over_time(vigil_agent_resident_bytes[10s])",
    "min_over_time(vigil_agent_resident_bytes[10s])",
    "sum_over_time(vigil_store_bytes[10s])",
    "count_over_time(vigil_cpu_seconds_total[10s])",
    "last_over_time(vigil_intervals_total[10s])",
    "predict_linear(vigil_agent_cpu_seconds_total[10s], 60)",
    "abs(delta(vigil_process_resident_bytes[5s]))",
    "clamp_min(rate(vigil_cpu_seconds_total[5s]), 0.1)",
    "clamp_max(rate(vigil_cpu_seconds_total[5s]), 0.5)",
    "vigil_process_resident_bytes / 1024 / 1024",
    "rate(vigil_cpu_seconds_total[5s]) > 0.05",
    "rate(vigil_cpu_seconds_total[5s]) > bool 0.05",
    "vigil_cpu_seconds_total offset 5s",
    "rate(vigil_cpu_seconds_total[5s] offset 3s)",
    'vigil_cpu_seconds_total{comm=~"s.*|b.*"}',
    'vigil_cpu_seconds_total{comm!~"s.*"}',
    'vigil_cpu_seconds_total{comm!="spin"}',
    "rate(vigil_cpu_seconds_total[5s]) * on(comm) group_left vigil_process_resident_bytes",
    "vigil_cpu_seconds_total and on(comm) vigil_process_resident_bytes",
    "vigil_cpu_seconds_total unless on(comm) vigil_process_resident_bytes",
    "vigil_process_resident_bytes or vigil_agent_resident_bytes",
    "sum(rate(vigil_runq_latency_seconds_sum[5s])) / sum(rate(vigil_runq_latency_seconds_count[5s]))",
    "rate(vigil_syscall_latency_seconds_sum[5s]) / ignoring(le) rate(vigil_syscall_latency_seconds_count[5s])",
    "vigil_agent_resident_bytes - vigil_agent_resident_bytes offset 5s",
    "max_over_time(rate(vigil_cpu_seconds_total[3s])[10s:1s])",
    "quantile(0.5, vigil_process_resident_bytes)",
    "stddev(vigil_process_resident_bytes)",
    "changes(vigil_process_resident_bytes[10s])",
    "resets(vigil_cpu_seconds_total[10s])",
    "time() - timestamp(vigil_intervals_total)",
    "sum by (syscall) (increase(vigil_syscall_latency_seconds_count[10s])) > 10",
]


def with_ends(matrix, data, t_end):
    """A range selector's answer with the store's ends of series up to t_end merged in as staleness
    markers (None), as prometheus_with_samples takes them: the selector drops markers, as
    Prometheus' range selectors do."""
    db = sqlite3.connect(f"file:{data}/vigil.db?mode=ro", uri=True)
    ends = {}
    for name, labels, t in db.execute("SELECT s.name, s.labels, e.t FROM ends e JOIN series s "
                                      "ON s.id = e.series WHERE e.t <= ?", (round(t_end * 1000),)):
        key = tuple(sorted(dict(json.loads(labels), __name__=name).items()))
        ends.setdefault(key, []).append((t, None))
    db.close()
    out = []
    for s in matrix:
        pts = [(round(float(t) * 1000), float(v)) for t, v in s["values"]]
        pts += ends.get(tuple(sorted(s["metric"].items())), [])
        out.append((s["metric"], sorted(pts, key=lambda p: (p[0], p[1] is None))))
    return out


def serve_samples(ctx, seconds, *args):
    """A service with a 1 s interval (and args) over a CPU-bound job; returns (serve, matrix,
    t_end) where the matrix is every stored sample up to the newest interval t_end (unix seconds)."""
    sv = Serve(ctx, *args, interval=1).start()
    ctx.spawn([workload("spin"), str(seconds * 0.6)])
    sv.wait_intervals(seconds, timeout=seconds * 6 + 30)
    last = sv.json("/api/v1/query?" + urllib.parse.urlencode({"query": "vigil_intervals_total[1m]"}))
    t_end = last["data"]["result"][0]["values"][-1][0]
    # Samples put back after a series' newest point reach up to the newest interval the query API
    # has seen (its hook runs just after the store's commit): let it see t_end for sure.
    sv.wait_intervals(2)
    q = urllib.parse.urlencode({"query": '{__name__=~"vigil_.+"}[1h]', "time": t_end})
    raw = sv.json("/api/v1/query?" + q)
    assert raw["status"] == "success" and raw["data"]["resultType"] == "matrix", raw
    return sv, raw["data"]["result"], t_end


def vigil_query(sv, path, **params):
    st, ct, body = sv.get(path + "?" + urllib.parse.urlencode(params))
    return st, json.loads(body)


def test_query_api_matches_prometheus_and_remote_write(ctx):
    """One service, remote writing to a real Prometheus: its query API agrees with another
    Prometheus given its samples and their ends, and those samples are the ones remote write
    sent."""
    prom = prometheus_server(ctx, "global:\n  scrape_interval: 1m\n", name="prom-rw",
                             remote_write=True)
    sv, matrix, t_end = serve_samples(ctx, 24, "--remote-write", f"{prom}/api/v1/write")
    check_matches_prometheus(ctx, sv, matrix, t_end)
    check_samples_are_what_remote_write_sent(ctx, sv, prom, t_end)


def check_matches_prometheus(ctx, sv, matrix, t_end):
    """Every expression of EXPRS, ranges and instants, the same from vigil serve and from a
    Prometheus given the service's samples (matrix, up to t_end) and the store's ends."""
    names = {s["metric"]["__name__"] for s in matrix}
    for want in ("vigil_cpu_seconds_total", "vigil_process_resident_bytes",
                 "vigil_runq_latency_seconds_bucket", "vigil_intervals_total"):
        assert want in names, f"{want} not stored: {sorted(names)}"
    assert any(s["metric"].get("comm") == "spin" for s in matrix), "the spin job was not seen"
    npoints = sum(len(s["values"]) for s in matrix)
    fed = with_ends(matrix, sv.data, t_end)
    nends = sum(1 for _, pts in fed for _, v in pts if v is None)
    prom = prometheus_with_samples(ctx, fed)
    t0 = min(float(s["values"][0][0]) for s in matrix)
    failures = []
    # Aligned and unaligned windows; the data's first seconds are in both.
    for start, end, step in ((math.floor(t0) + 3, t_end, 1), (t0 + 0.37, t_end - 0.5, 2.3)):
        for expr in EXPRS:
            params = {"start": start, "end": end, "step": step}
            st, mine = vigil_query(sv, "/api/v1/query_range", query=expr, **params)
            theirs = prom_query(prom, expr, **params)
            d = same_result(mine, theirs)
            if d is None and theirs["status"] == "success":
                if expr in ("rate(vigil_cpu_seconds_total[5s])", "count(vigil_cpu_seconds_total)"):
                    assert theirs["data"]["result"], f"{expr}: empty in both"
            if d:
                failures.append(f"{expr} [{start}..{end} step {step}]: {d}")
    # Instant queries at the end and in the middle.
    for t in (t_end, (t0 + t_end) / 2):
        for expr in EXPRS:
            st, mine = vigil_query(sv, "/api/v1/query", query=expr, time=t)
            d = same_result(mine, prom_query(prom, expr, time=t))
            if d:
                failures.append(f"{expr} @ {t}: {d}")
    assert not failures, "\n".join(failures[:10]) + f"\n({len(failures)} differences)"
    ctx.measure(f"{len(EXPRS)} expressions x 2 ranges + 2 instants over {len(matrix)} series, "
                f"{npoints} samples ({nends} ends) of a live vigil serve agree with Prometheus")


def test_query_api_errors_like_prometheus(ctx):
    sv = Serve(ctx, interval=1).start()
    now = time.time()
    cases = [
        ("/api/v1/query", {"query": "sum(", "time": now}),
        ("/api/v1/query", {"query": "nosuchfunc(up)"}),
        ("/api/v1/query", {}),
        ("/api/v1/query", {"query": "up", "time": "yesterday"}),
        ("/api/v1/query_range", {"query": "up", "start": now, "end": now - 10, "step": 1}),
        ("/api/v1/query_range", {"query": "up", "start": now - 10, "end": now, "step": 0}),
        ("/api/v1/query_range", {"query": "up", "start": now - 10, "end": now, "step": "x"}),
        ("/api/v1/query_range", {"query": "up", "start": now - 100000, "end": now, "step": 1}),
        ("/api/v1/query_range", {"query": "up[5m]", "start": now - 10, "end": now, "step": 1}),
        ("/api/v1/query_range", {"query": "up", "end": now, "step": 1}),
        ("/api/v1/series", {}),
        ("/api/v1/query", {"query": "up", "timeout": "soon"}),
        # 35 million subquery steps: past the timeout, 503 "timeout"
        ("/api/v1/query", {"query": "avg_over_time(sum(up)[58w:1s])", "timeout": "0.2"}),
        ("/api/v1/query_range", {"query": "avg_over_time(sum(up)[58w:1s])", "start": now - 10,
                                 "end": now, "step": 5, "timeout": "200ms"}),
    ]
    prom = prometheus_with_blocks(ctx, "# EOF\n", name="empty")
    for path, params in cases:
        st, mine = vigil_query(sv, path, **params)
        try:
            with urllib.request.urlopen(prom + path + "?" + urllib.parse.urlencode(params)) as r:
                theirs_st, theirs = r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            theirs_st, theirs = e.code, json.loads(e.read())
        assert (st, mine["status"], mine.get("errorType")) == \
            (theirs_st, theirs["status"], theirs.get("errorType")), \
            f"{path} {params}: vigil {st} {mine} / prometheus {theirs_st} {theirs}"
    # An evaluation error is a 422, as in Prometheus; the service stays up.
    sv.wait_intervals(2)
    st, body = vigil_query(sv, "/api/v1/query",
                           query="vigil_cpu_seconds_total + ignoring(comm) vigil_cpu_seconds_total")
    assert st == 422 and body["errorType"] == "execution", (st, body)
    assert sv.alive()
    # POST form bodies (Grafana's default), series and labels.
    st, ct, body = sv.get("/api/v1/query", method="POST",
                          body=urllib.parse.urlencode({"query": "vigil_intervals_total"}),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    got = json.loads(body)
    assert st == 200 and got["data"]["result"][0]["metric"]["__name__"] == "vigil_intervals_total", got
    st, got = vigil_query(sv, "/api/v1/series", **{"match[]": "vigil_intervals_total"})
    assert st == 200 and got["data"] == [{"__name__": "vigil_intervals_total"}], got
    st, got = vigil_query(sv, "/api/v1/labels")
    assert st == 200 and {"__name__", "comm", "le"} <= set(got["data"]), got
    st, got = vigil_query(sv, "/api/v1/label/__name__/values")
    assert st == 200 and "vigil_cpu_seconds_total" in got["data"], got


def check_samples_are_what_remote_write_sent(ctx, sv, prom, t_end):
    """The samples the query API reads (stored points plus the skipped ones put back) are the ones
    the same service sent by remote write to a real Prometheus (prom), for every series sent at
    every interval of the window (up to t_end); and none that remote write did not send (a series
    that ended or left the top N ends in both at the same interval)."""
    # Remote write is asynchronous: wait until Prometheus has the interval t_end.
    def have_end():
        r = prom_query(prom, "timestamp(vigil_intervals_total)", time=t_end)
        return r["status"] == "success" and r["data"]["result"] and \
            float(r["data"]["result"][0]["value"][1]) >= t_end - 1e-3
    assert wait_for(have_end, timeout=60), "remote write did not deliver the newest interval"
    q = {"query": '{__name__=~"vigil_.+"}[1h]', "time": t_end}
    mine = sv.json("/api/v1/query?" + urllib.parse.urlencode(q))["data"]["result"]
    theirs = prom_query(prom, q["query"], time=t_end)["data"]["result"]

    def key(m):
        return tuple(sorted((k, v) for k, v in m.items() if k not in ("instance", "job")))
    rw = {key(s["metric"]): s["values"] for s in theirs}
    held = {key(s["metric"]): s["values"] for s in mine}
    # The window: from the tenth interval Prometheus got (the first ones may predate its
    # readiness) to t_end; the series sent at every interval in it.
    rw_ticks = [t for t, _ in rw[(("__name__", "vigil_intervals_total"),)]]
    start = rw_ticks[min(9, len(rw_ticks) - 1)]
    win = [t for t in rw_ticks if start <= t <= t_end]
    assert len(win) >= 8, f"only {len(win)} intervals delivered: {rw_ticks}"
    steady = [k for k, v in rw.items() if [t for t, _ in v if start <= t <= t_end] == win]
    assert len(steady) > 50, f"only {len(steady)} series sent at every interval"
    diffs, compared, extra = [], 0, 0
    for k in steady:
        a = [(t, v) for t, v in held.get(k, []) if start <= t <= t_end]
        b = [(t, v) for t, v in rw[k] if start <= t <= t_end]
        compared += len(b)
        if a != b:
            diffs.append(f"{dict(k)}: vigil {a[:4]}... vs remote write {b[:4]}...")
    for k, v in held.items():
        if k not in rw:
            continue
        sent = {t for t, _ in rw[k]}
        extra += sum(1 for t, _ in v if start <= t <= t_end and t not in sent)
    assert not diffs, f"{len(diffs)} of {len(steady)} series differ:\n" + "\n".join(diffs[:5])
    assert extra == 0, f"{extra} samples held that remote write did not send"
    # Not vacuous: most of those samples were not stored (unchanged values) but put back.
    db = sqlite3.connect(f"file:{sv.data}/vigil.db?mode=ro", uri=True)
    stored = db.execute("SELECT count(*) FROM points WHERE t >= ? AND t <= ?",
                        (round(start * 1000), round(t_end * 1000))).fetchone()[0]
    db.close()
    assert stored < compared, f"{stored} points stored, {compared} compared: nothing put back"
    ctx.measure(f"{len(steady)} series x {len(win)} intervals: {compared} samples equal to what "
                f"remote write sent, {compared - stored}+ of them put back (the store holds "
                f"{stored} points in the window); {extra} samples held that it did not send")


def test_query_api_ends_series_of_exited_process(ctx):
    """A process that exits: its vigil_process_resident_bytes series is in /api/v1/query while it
    lives and gone within 2 intervals after it exits (the service ends the series at the first
    interval without it, as Prometheus marks a missed series stale), and /api/v1/query_range over
    its life still has its points; a real Prometheus fed by the service's remote write (staleness
    markers) answers the same range query with the same samples. Then the service is killed (-9)
    while a second such process lives, the process ends, and the service restarts: the series is
    gone from both at once (the restart ends what the killed run reported last, after its last
    point and before the new run's first), its points still there."""
    prom = prometheus_server(ctx, "global:\n  scrape_interval: 1m\n", name="prom-stale",
                             remote_write=True)
    args = ("--remote-write", f"{prom}/api/v1/write", "--top", "1000")
    sv = Serve(ctx, *args, interval=1).start()
    exe, comm = own_copy(ctx, "rssgrow")
    sel = f'vigil_process_resident_bytes{{comm="{comm}"}}'

    def vigil_has(t=None):
        q = {"query": sel} if t is None else {"query": sel, "time": t}
        return bool(sv.json("/api/v1/query?" + urllib.parse.urlencode(q))["data"]["result"])

    def prom_has(t=None):
        r = prom_query(prom, sel, **({} if t is None else {"time": t}))
        return bool(r["data"]["result"])

    def prom_caught_up(t):
        r = prom_query(prom, "timestamp(vigil_intervals_total)")
        return r["status"] == "success" and r["data"]["result"] and \
            float(r["data"]["result"][0]["value"][1]) >= t

    def ranges(t0, t1):
        params = {"start": t0, "end": t1, "step": 0.5}
        _, mine = vigil_query(sv, "/api/v1/query_range", query=sel, **params)
        theirs = prom_query(prom, sel, **params)
        assert mine["status"] == theirs["status"] == "success", (mine, theirs)
        return [[[float(t), v] for t, v in s["values"]] for s in mine["data"]["result"]], \
            [[[float(t), v] for t, v in s["values"]] for s in theirs["data"]["result"]]

    # 1. Lives a few intervals, then exits.
    p = ctx.spawn([exe, "64", "16"])
    p.stdout.readline()
    t_start = time.time()
    assert wait_for(vigil_has, timeout=15, step=0.2), f"{comm} never in /api/v1/query"
    assert wait_for(prom_has, timeout=15, step=0.2), f"{comm} never remote-written"
    sv.wait_intervals(3)
    p.kill()
    p.wait()
    t_exit = time.time()
    assert vigil_has(t_exit - 0.1)
    sv.wait_intervals(3)
    # the second interval the service closed after the exit (by its own clock series: on a
    # loaded host an interval can close late, so not t_exit + 2 s)
    _, ticks = vigil_query(sv, "/api/v1/query", query="vigil_intervals_total[30s]", time=time.time())
    closes = sorted(float(t) for t, _ in ticks["data"]["result"][0]["values"] if float(t) > t_exit)
    assert len(closes) >= 2, (t_exit, closes)
    t_gone = closes[1] + 0.001
    assert wait_for(lambda: prom_caught_up(closes[1]), timeout=30, step=0.3)
    gone = {"vigil": not vigil_has(t_gone), "prometheus (remote write)": not prom_has(t_gone)}
    assert all(gone.values()), f"still there 2 intervals after the exit: {gone}"
    mine, theirs = ranges(t_start - 2, t_gone + 1)
    assert len(mine) == 1 and mine == theirs, f"vigil {mine} / prometheus {theirs}"
    times = [t for t, _ in mine[0]]
    assert times[0] <= t_exit - 2 and t_exit - 1 <= times[-1] < t_gone, (t_start, t_exit, t_gone, times)
    assert all(abs(b - a - 0.5) < 1e-3 for a, b in zip(times, times[1:])), \
        f"a gap in its life: {times}"
    last_vigil = times[-1]

    # 2. Killed (-9) while a second run of it lives; the process ends, the service restarts.
    p = ctx.spawn([exe, "64", "16"])
    p.stdout.readline()
    t_start2 = time.time()
    assert wait_for(vigil_has, timeout=15, step=0.2), f"{comm} not back in /api/v1/query"
    assert wait_for(prom_has, timeout=15, step=0.2), f"{comm} not back in remote write"
    sv.wait_intervals(2)
    sv.p.kill()
    sv.p.wait()
    p.kill()
    p.wait()
    t_kill = time.time()
    sv = Serve(ctx, *args, interval=1, data=sv.data).start()
    t_up = time.time()
    assert not vigil_has(), f"{comm} still in /api/v1/query after the restart"
    assert wait_for(lambda: not prom_has(), timeout=10, step=0.2), \
        f"{comm} still in the remote-written Prometheus after the restart"
    t_prom_gone = time.time()
    db = sqlite3.connect(f"file:{sv.data}/vigil.db?mode=ro", uri=True)
    rows = db.execute("SELECT (SELECT max(p.t) FROM points p WHERE p.series = s.id), "
                      "(SELECT max(e.t) FROM ends e WHERE e.series = s.id) FROM series s "
                      "WHERE s.name = 'vigil_process_resident_bytes' AND s.labels = ?",
                      (json.dumps({"comm": comm}, separators=(",", ":")),)).fetchall()
    db.close()
    assert len(rows) == 1 and rows[0][0] < rows[0][1] and \
        t_kill - 1.5 <= rows[0][1] / 1000 <= t_up, (rows, t_kill, t_up)
    mine, theirs = ranges(t_start2 - 1, t_up)
    assert len(mine) == 1 and len(mine[0]) >= 3 and mine[0][-1][0] >= t_kill - 1.5, (t_kill, mine)
    assert mine == theirs, f"vigil {mine} / prometheus {theirs}"
    ctx.measure(f"{comm}: in both while alive; vigil's last sample {last_vigil - t_exit:+.2f} s "
                f"from its exit, both empty 2 intervals after it, query_range equal "
                f"({len(times)} steps); after kill -9 and restart: end {rows[0][1] / 1000 - t_kill:+.2f}"
                f" s from the kill (restart took {t_up - t_kill:.1f} s), gone from vigil at once and "
                f"from remote write {t_prom_gone - t_up:.1f} s after the restart")
