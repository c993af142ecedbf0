"""PromQL: the same series in a real Prometheus (backfilled with promtool) and in Vigil's evaluator
(`vigil rules query --data`); every expression of the supported subset must give the same
/api/v1/query_range answer, to float rounding."""
import json
import math
import random
import re

from lib import check_rc, one_line_error, vigil
from oracles import prom_query, prometheus_with_blocks, same_result

# These tests load no BPF program: a program another checkout's test loads meanwhile is not theirs.
BPF_PREFIXES = ()

T0 = 1700000000  # 2023-11-14T22:13:20Z
SCRAPE = 15
N = 2 * 3600 // SCRAPE  # two hours of samples


def fmt(v):
    if v != v:
        return "NaN"
    if v in (math.inf, -math.inf):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def gen_series(seed=7):
    """OpenMetrics text: counters with resets, gauges with a gap and a series that ends, histograms.
    Scrape times jitter by up to 2 s (ms resolution) so rate() extrapolation is exercised."""
    rng = random.Random(seed)
    fams = []

    def times(skip=lambda i: False, last=N):
        return [(i, round(T0 + i * SCRAPE + rng.uniform(-2, 2), 3)) for i in range(last)
                if not skip(i)]

    # Counters: http_requests_total{job,instance,code}; one resets at i=200.
    lines = ["# TYPE http_requests counter"]
    for inst in ("a:9090", "b:9090", "c:9090"):
        for code, base in (("200", 9.0), ("404", 0.7), ("500", 0.2)):
            v = rng.uniform(0, 1000)
            for i, t in times():
                v += rng.uniform(0, 2 * base * SCRAPE)
                if inst == "b:9090" and code == "200" and i == 200:
                    v = rng.uniform(0, 5)
                lines.append('http_requests_total{job="api",instance="%s",code="%s"} %s %s'
                             % (inst, code, fmt(round(v, 3)), t))
    fams.append(lines)
    # Gauges: memory_bytes{job,instance,area}; instance c stops after 75 min.
    lines = ["# TYPE memory_bytes gauge"]
    for inst in ("a:9090", "b:9090", "c:9090"):
        for area in ("heap", "stack"):
            v = rng.uniform(4e8, 7e8)
            last = 300 if inst == "c:9090" else N
            for i, t in times(last=last):
                v = max(1e8, v + rng.gauss(2e5, 4e6))
                lines.append('memory_bytes{job="api",instance="%s",area="%s"} %s %s'
                             % (inst, area, fmt(round(v)), t))
    fams.append(lines)
    lines = ["# TYPE memory_limit_bytes gauge"]
    for inst, lim in (("a:9090", 1e9), ("b:9090", 2e9), ("c:9090", 1.5e9)):
        for i, t in times():
            lines.append('memory_limit_bytes{job="api",instance="%s"} %s %s'
                         % (inst, fmt(lim if i < 240 else lim * 1.25), t))
    fams.append(lines)
    # A gauge with a 10-minute gap and negative values.
    lines = ["# TYPE temperature_celsius gauge"]
    for sensor in ("inside", "outside"):
        v = rng.uniform(-5, 20)
        for i, t in times(skip=lambda i: sensor == "outside" and 150 <= i < 190):
            v += rng.gauss(0, 0.5)
            lines.append('temperature_celsius{sensor="%s"} %s %s' % (sensor, fmt(round(v, 2)), t))
    fams.append(lines)
    # Histogram request_duration_seconds{job,instance}.
    bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]
    lines = ["# TYPE request_duration_seconds histogram"]
    for inst in ("a:9090", "b:9090"):
        counts = [0] * (len(bounds) + 1)
        total = 0.0
        rows = []
        scale = 0.03 if inst == "a:9090" else 0.12
        for i, t in times():
            for _ in range(rng.randint(5, 40)):
                x = rng.expovariate(1 / scale)
                total += x
                for k, b in enumerate(bounds):
                    if x <= b:
                        counts[k] += 1
                counts[-1] += 1
            rows.append((t, list(counts), total))
        for t, cs, tot in rows:
            for k, b in enumerate(bounds + [math.inf]):
                le = "+Inf" if b == math.inf else repr(b)
                lines.append('request_duration_seconds_bucket{job="api",instance="%s",le="%s"} %d %s'
                             % (inst, le, cs[k], t))
            lines.append('request_duration_seconds_sum{job="api",instance="%s"} %s %s'
                         % (inst, fmt(round(tot, 6)), t))
            lines.append('request_duration_seconds_count{job="api",instance="%s"} %d %s'
                         % (inst, cs[-1], t))
    fams.append(lines)
    # up{job,instance}: 0/1 flapping.
    lines = ["# TYPE up gauge"]
    for inst in ("a:9090", "b:9090", "c:9090"):
        for i, t in times():
            lines.append('up{job="api",instance="%s"} %d %s'
                         % (inst, 0 if (inst == "b:9090" and 100 <= i < 130) else 1, t))
    fams.append(lines)
    # OpenMetrics wants each series' samples in time order; the generator emits them so.
    return "\n".join("\n".join(f) for f in fams) + "\n# EOF\n"


EXPRESSIONS = [
    # selectors and matchers
    'http_requests_total',
    'http_requests_total{code="200"}',
    'http_requests_total{code!="200",instance="a:9090"}',
    'http_requests_total{code=~"4..|5.."}',
    'memory_bytes{instance!~"a:.*"}',
    '{__name__=~"memory_.*",instance="b:9090"}',
    'memory_bytes offset 10m',
    # counters
    'rate(http_requests_total[5m])',
    'rate(http_requests_total[1m])',
    'irate(http_requests_total[2m])',
    'increase(http_requests_total[10m])',
    'rate(http_requests_total[5m] offset 15m)',
    'resets(http_requests_total[30m])',
    # gauges
    'delta(memory_bytes[10m])',
    'idelta(temperature_celsius[5m])',
    'deriv(memory_bytes[10m])',
    'predict_linear(memory_bytes[30m], 3600)',
    'changes(up[30m])',
    # aggregations
    'sum(rate(http_requests_total[5m]))',
    'sum by (code) (rate(http_requests_total[5m]))',
    'sum without (instance) (rate(http_requests_total[5m]))',
    'avg by (instance) (memory_bytes)',
    'min(memory_bytes)',
    'max by (area) (memory_bytes)',
    'count by (code) (http_requests_total)',
    'count(up == 1)',
    'topk(2, memory_bytes)',
    'bottomk(2, memory_bytes)',
    'topk(1, sum by (instance) (rate(http_requests_total[5m])))',
    'quantile(0.75, memory_bytes)',
    'stddev(memory_bytes)',
    'stdvar by (area) (memory_bytes)',
    'group by (instance) (memory_bytes)',
    'count_values("gb", round(memory_bytes / 1e8))',
    # histograms
    'histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))',
    'histogram_quantile(0.5, rate(request_duration_seconds_bucket[5m]))',
    'histogram_quantile(0.99, sum by (instance, le) (rate(request_duration_seconds_bucket[10m])))',
    'rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])',
    # *_over_time
    'avg_over_time(memory_bytes[10m])',
    'min_over_time(temperature_celsius[15m])',
    'max_over_time(temperature_celsius[15m])',
    'sum_over_time(up[10m])',
    'count_over_time(temperature_celsius[10m])',
    'last_over_time(temperature_celsius[10m])',
    'present_over_time(temperature_celsius[5m])',
    'quantile_over_time(0.9, memory_bytes[20m])',
    'stddev_over_time(temperature_celsius[20m])',
    'stdvar_over_time(memory_bytes[20m])',
    # math
    'abs(temperature_celsius)',
    'clamp_min(temperature_celsius, 0)',
    'clamp_max(memory_bytes, 6e8)',
    'clamp(temperature_celsius, -1, 10)',
    'ceil(temperature_celsius)',
    'sqrt(abs(temperature_celsius))',
    'ln(memory_bytes)',
    # arithmetic and comparisons
    'memory_bytes / 1024 / 1024',
    '2 * memory_bytes + 1',
    '-temperature_celsius',
    'memory_bytes % 7',
    'temperature_celsius ^ 2',
    '1 - memory_bytes / on(instance) group_left memory_limit_bytes',
    'memory_bytes / ignoring(area) group_left memory_limit_bytes',
    'memory_limit_bytes - on(instance) group_right sum by (instance, area) (memory_bytes)',
    'memory_bytes - memory_bytes offset 5m',
    'memory_bytes > 6e8',
    'memory_bytes > bool 6e8',
    '5 < temperature_celsius',
    'temperature_celsius >= bool 0',
    'sum by (instance) (rate(http_requests_total{code=~"5.."}[5m])) / '
    'sum by (instance) (rate(http_requests_total[5m])) > 0.01',
    'rate(http_requests_total{code="500"}[5m]) / ignoring(code) '
    'rate(http_requests_total{code="200"}[5m])',
    'up == bool on(instance) group_left memory_limit_bytes > 1.2e9',
    # set operators
    'http_requests_total and http_requests_total{code="200"}',
    'memory_bytes{area="heap"} or memory_bytes{instance="a:9090"}',
    'memory_bytes unless on(instance) up == 0',
    'up == 1 and on(instance) memory_limit_bytes > 1.2e9',
    # scalars, vector(), absent, subqueries, labels
    'time() - 1700000000',
    'vector(1) + scalar(count(up))',
    'absent(nonexistent_metric{job="x"})',
    'absent(up{job="api"})',
    'absent_over_time(temperature_celsius{sensor="outside"}[5m])',
    'max_over_time(rate(http_requests_total{code="200"}[5m])[30m:1m])',
    'avg_over_time(sum(memory_bytes)[15m:30s])',
    'label_replace(memory_limit_bytes, "host", "$1", "instance", "(.*):.*")',
    'label_join(up, "id", "/", "job", "instance")',
    'timestamp(up{instance="a:9090"})',
    'sum(memory_bytes) by (instance) / 1e6 > 900',
]


def run_both(prom, data, expr, **params):
    want = prom_query(prom, expr, **params)
    args = ["rules", "query", "--data", data]
    if "start" in params:
        args += ["--start", params["start"], "--end", params["end"], "--step", params["step"]]
    else:
        args += ["--time", params["time"]]
    r = vigil(*(args + ["--", expr]), timeout=60)
    if r.returncode != 0:
        got = {"status": "error", "error": r.stderr.strip()}
    else:
        got = json.loads(r.stdout)
    return want, got


def test_promql_matches_prometheus(ctx):
    text = gen_series()
    prom = prometheus_with_blocks(ctx, text)
    data = ctx.path("prom.om")
    failures = []
    windows = [
        dict(start=str(T0 + 1800), end=str(T0 + 7200 - 60), step="60"),
        # unaligned start and step, running past the data's end (lookback and staleness).
        dict(start=str(T0 + 1234.5), end=str(T0 + 7200 + 400), step="37"),
    ]
    checked = 0
    for expr in EXPRESSIONS:
        for w in windows:
            want, got = run_both(prom, data, expr, **w)
            assert want["status"] == "success", (expr, want)
            diff = same_result(want, got)
            if diff:
                failures.append("%s [step %s]: %s" % (expr, w["step"], diff))
            checked += 1
    assert not failures, "%d of %d differ:\n" % (len(failures), checked) + "\n".join(failures[:20])
    ctx.measure("%d expressions x %d windows agree with Prometheus /api/v1/query_range"
                % (len(EXPRESSIONS), len(windows)))


INSTANT = [
    ('http_requests_total{instance="a:9090"}[1m]', "matrix"),
    ('sum(up)', "vector"),
    ('scalar(sum(up))', "scalar"),
    ('1 + 2 * 3 ^ 2', "scalar"),
    ('"a string"', "string"),
    ('rate(http_requests_total[5m]) > 1', "vector"),
    ('max_over_time(memory_bytes[5m:1m])', "vector"),
]


def test_promql_instant_matches_prometheus(ctx):
    prom = prometheus_with_blocks(ctx, gen_series(seed=11))
    data = ctx.path("prom.om")
    for expr, kind in INSTANT:
        for t in (T0 + 3600, T0 + 3600.25, T0 + 7200 + 200):
            want, got = run_both(prom, data, expr, time=str(t))
            assert want["status"] == "success", (expr, want)
            assert want["data"]["resultType"] == kind, (expr, want["data"]["resultType"])
            diff = same_result(want, got)
            assert not diff, "%s at %s: %s" % (expr, t, diff)


def test_promql_errors_like_prometheus(ctx):
    """Expressions Prometheus refuses are refused here too, with the position."""
    prom = prometheus_with_blocks(ctx, gen_series(seed=3))
    bad = [
        'foo(up)',
        'rate(up)',
        'sum(up[5m])',
        'up[5m] + 1',
        '1 > 2',
        'up and 1',
        'up + on(instance) group_left(instance) up',
        '{job=~".*"}',
        'up{instance="a"',
        'rate(up[5x])',
        'topk(up)',
        'histogram_quantile(up)',
        'up offset 5m offset 1m',
        '(up)[5m]',
        'up ==',
        'sum by (instance (up)',
        'memory_bytes / ignoring(area) memory_limit_bytes',  # many-to-one without group_left
        'memory_limit_bytes / ignoring(area) group_left memory_bytes',  # duplicates on the one side
    ]
    for expr in bad:
        want = prom_query(prom, expr, time=str(T0 + 3600))
        assert want["status"] == "error", (expr, want)
        r = vigil("rules", "query", "--data", ctx.path("prom.om"), "--time", str(T0 + 3600),
                  "--", expr)
        if want.get("errorType") == "execution":
            one_line_error(r, 1, r"evaluating")
        else:
            one_line_error(r, 1, r"bad expression: \d+:\d+: parse error")


def test_rules_query_cli_errors(ctx):
    good = ctx.path("d.om")
    with open(good, "w") as f:
        f.write("# TYPE x gauge\nx 1 1700000000\n# EOF\n")
    bad = ctx.path("bad.om")
    with open(bad, "w") as f:
        f.write("# TYPE x gauge\nx 1 1700000000\nx{a=\"1\" 2 1700000001\n# EOF\n")
    r = vigil("rules", "query", "--data", good, "x * 2")
    check_rc(r)
    assert json.loads(r.stdout)["data"]["result"][0]["value"] == [1700000000, "2"], r.stdout
    r = vigil("rules", "query", "--stats", "--data", good, "x * 2")
    check_rc(r)
    assert re.fullmatch(r"vigil rules query: 1 series, 1 samples, \d+ bytes held; evaluation "
                        r"[\d.]+ s CPU\n", r.stderr), r.stderr
    one_line_error(vigil("rules", "query", "--data", bad, "x"), 1, r"bad\.om:3: ")
    one_line_error(vigil("rules", "query", "--data", ctx.path("none.om"), "x"), 1,
                   r"cannot read .*none\.om")
    one_line_error(vigil("rules", "query", "--data", good), 1, r"no expression given")
    one_line_error(vigil("rules", "query", "--data", good, "--step", "0", "--start", "1", "x"), 1,
                   r"bad --step")
    one_line_error(vigil("rules", "query", "--data", good, "--time", "yesterday", "x"), 1,
                   r"bad --time 'yesterday'")
    one_line_error(vigil("rules", "bogus"), 1, r"unknown subcommand 'bogus'")
