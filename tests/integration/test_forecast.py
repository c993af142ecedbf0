"""vigil forecast: the last day of NAB's daily-cycle series forecast from the rest (MASE, coverage)."""
import csv
import glob
import os
import statistics
from datetime import datetime

from lib import ROOT, Skip, check_rc, one_line_error, vigil

BPF_PREFIXES = ()  # these tests load no BPF program: others' on the shared host are not theirs

NAB = os.path.join(ROOT, "..", "..", "shared", "datasets", "nab")
if not os.path.isdir(NAB):
    NAB = "/work/shared/datasets/nab"


def acf(v, lag):
    m = sum(v) / len(v)
    den = sum((x - m) ** 2 for x in v)
    return sum((v[i] - m) * (v[i - lag] - m) for i in range(lag, len(v))) / den if den else 0.0


def daily_series():
    """NAB files with a daily cycle: autocorrelation at one day's lag above 0.5 on the part the
    forecaster sees, at least four days long, and not perfectly periodic (whose seasonal-naive error
    is 0, so no ratio exists)."""
    out = []
    for f in sorted(glob.glob(os.path.join(NAB, "data", "*", "*.csv"))):
        rows = list(csv.reader(open(f)))[1:]
        ts = [datetime.fromisoformat(r[0]) for r in rows]
        v = [float(r[1]) for r in rows]
        steps = sorted((b - a).total_seconds() for a, b in zip(ts, ts[1:]) if b > a)
        day = int(round(86400 / steps[len(steps) // 2]))
        n = len(v)
        if n < 4 * day or acf(v[:n - day], day) < 0.5:
            continue
        insample = sum(abs(v[i] - v[i - day]) for i in range(day, n - day)) / (n - 2 * day)
        if insample == 0:
            continue
        out.append((f, rows, v, day, insample))
    return out


def test_nab_last_day(ctx):
    """Forecast the last day from the rest: median MASE (against the in-sample seasonal-naive error)
    and median error relative to the seasonal-naive forecast of that day below 1; the 80% intervals
    hold 70-90% of the held-out points, the 95% ones at least 85%."""
    if not os.path.isdir(NAB):
        raise Skip("NAB subset not found (../shared/datasets/nab)")
    series = daily_series()
    assert len(series) >= 8, "only %d daily-cycle series found" % len(series)
    mases, rels, in80, in95, total = [], [], 0, 0, 0
    for f, rows, v, day, insample in series:
        n = len(v)
        train = ctx.path("train.csv")
        with open(train, "w") as o:
            o.write("timestamp,value\n")
            o.writelines(",".join(r) + "\n" for r in rows[:n - day])
        r = vigil("forecast", "-v", "--horizon", day, train)
        check_rc(r)
        lines = r.stdout.splitlines()
        assert lines[0] == "timestamp,forecast,lower_80,upper_80,lower_95,upper_95", lines[0]
        fc = [[float(x) for x in l.split(",")[1:]] for l in lines[1:]]
        assert len(fc) == day, (f, len(fc), day)
        # the forecast's timestamps continue the file's
        assert lines[1].split(",")[0] == rows[n - day][0].split(".")[0], (lines[1], rows[n - day][0])
        truth = v[n - day:]
        mae = sum(abs(p[0] - t) for p, t in zip(fc, truth)) / day
        snaive = sum(abs(v[n - 2 * day + i] - truth[i]) for i in range(day)) / day
        mases.append(mae / insample)
        rels.append(mae / snaive if snaive else float("inf"))
        c80 = sum(1 for p, t in zip(fc, truth) if p[1] <= t <= p[2])
        c95 = sum(1 for p, t in zip(fc, truth) if p[3] <= t <= p[4])
        in80, in95, total = in80 + c80, in95 + c95, total + day
        model = [l for l in r.stderr.splitlines() if "chosen" in l]
        ctx.measure("%s: MASE %.3f, vs seasonal-naive %.3f, 80%% coverage %.2f (%s)" % (
            os.path.relpath(f, os.path.join(NAB, "data")), mases[-1], rels[-1], c80 / day,
            model[0].split("forecast: ")[-1] if model else "?"))
    mase, rel = statistics.median(mases), statistics.median(rels)
    ctx.measure("median MASE %.3f, median MAE / seasonal-naive MAE %.3f, 80%% coverage %.3f, "
                "95%% coverage %.3f over %d series, %d points" % (mase, rel, in80 / total, in95 / total,
                                                                   len(series), total))
    assert mase < 1, "median MASE %.3f" % mase
    assert rel < 1, "median error relative to seasonal naive %.3f" % rel
    assert 0.70 <= in80 / total <= 0.90, "80%% intervals cover %.3f" % (in80 / total)
    assert in95 / total >= 0.85, "95%% intervals cover %.3f" % (in95 / total)


def test_forecast_cli(ctx):
    """Timestamps continue the input's step and spelling; -o writes atomically; bad input is one
    line naming the file and line, exit 1."""
    p = ctx.path("lin.csv")
    with open(p, "w") as f:
        f.write("timestamp,value\n")
        for i in range(100):
            f.write("2024-01-01T%02d:%02d:00Z,%d\n" % (i // 60, i % 60, 3 * i))
    r = vigil("forecast", "--model", "linear", "-n", "3", p)
    check_rc(r)
    lines = r.stdout.splitlines()
    assert [l.split(",")[0] for l in lines[1:]] == ["2024-01-01T01:40:00Z", "2024-01-01T01:41:00Z",
                                                  "2024-01-01T01:42:00Z"], lines
    assert abs(float(lines[1].split(",")[1]) - 300) < 1e-6, lines[1]
    out = ctx.path("fc.csv")
    check_rc(vigil("forecast", "--model", "linear", "-n", "3", "-o", out, p))
    assert open(out).read() == r.stdout
    bad = ctx.path("bad.csv")
    with open(bad, "w") as f:
        f.write("timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,x\n")
    one_line_error(vigil("forecast", "-o", out + ".2", bad), 1, r"bad\.csv:3: value 'x' is not a number")
    assert not os.path.exists(out + ".2")
    one_line_error(vigil("forecast", "--model", "arima", p), 1, r"unknown --model 'arima'")
    one_line_error(vigil("forecast", "--horizon", "0", p), 1, r"invalid --horizon '0'")
    with open(bad, "w") as f:
        f.write("timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,2\n")
    one_line_error(vigil("forecast", bad), 1, r"2 point\(s\); a forecast needs at least 3")
    one_line_error(vigil("forecast", "--model", "holt-winters", "--period", "50", p), 1,
                   r"cannot fit holt-winters to 100 points")


GROW = r"""
import sys, time
rate, secs = float(sys.argv[1]), float(sys.argv[2])
chunks, t0 = [], time.monotonic()
print("start", flush=True)
while time.monotonic() - t0 < secs:
    # on schedule by the clock: RSS grows by `rate` bytes per second whatever the host's load
    want = int(rate * (time.monotonic() - t0)) // 65536
    while len(chunks) < want:
        b = bytearray(65536)
        for i in range(0, 65536, 4096):
            b[i] = 1
        chunks.append(b)
    time.sleep(0.02)
"""


def _rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_capacity_rss(ctx):
    """A process growing its RSS at a fixed 8 MiB/s toward a limit: after 30 s of samples,
    `vigil forecast --limit` gives the time left within 20% of the truth."""
    import subprocess
    import time as _t

    rate = 8 << 20
    p = subprocess.Popen(["/usr/bin/python3", "-c", GROW, str(rate), "60"], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "start"
        t0 = _t.time()
        base = _rss(p.pid)
        rows = []
        while _t.time() - t0 < 30:
            rows.append((_t.time(), _rss(p.pid)))
            _t.sleep(0.5)
    finally:
        p.kill()
        p.wait()
    limit = base + rate * 120  # the schedule reaches it 120 s after the start
    csv_path = ctx.path("rss.csv")
    with open(csv_path, "w") as f:
        f.write("timestamp,value\n")
        for t, v in rows:
            f.write(f"{t:.3f},{v}\n")
    r = vigil("forecast", "--limit", str(limit), csv_path)
    check_rc(r)
    head, row = r.stdout.strip().splitlines()
    assert head == "timestamp,value,rate_per_second,seconds_to_limit,lower_95,upper_95", head
    f = dict(zip(head.split(","), row.split(",")))
    now = float(f["timestamp"])
    truth = t0 + 120 - now
    got = float(f["seconds_to_limit"])
    ctx.measure(f"time to limit {got:.1f} s, truth {truth:.1f} s ({100 * (got - truth) / truth:+.1f}%), "
                f"rate {float(f['rate_per_second']) / 2**20:.2f} MiB/s (8 set), 95% "
                f"[{float(f['lower_95']):.1f}, {float(f['upper_95']):.1f}] s")
    assert abs(got - truth) <= 0.2 * truth, (got, truth)
    assert float(f["lower_95"]) <= got <= float(f["upper_95"])
    # a limit below a growing series is moving away: never reached
    r = vigil("forecast", "--limit", str(base), csv_path)
    check_rc(r)
    assert r.stdout.splitlines()[1].split(",")[3:] == ["inf", "inf", "inf"], r.stdout
    one_line_error(vigil("forecast", "--limit", "lots", csv_path), 1, r"invalid --limit")
