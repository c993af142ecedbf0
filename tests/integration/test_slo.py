"""SLOs: the rule file `slos:` generate (promtool, a real Prometheus), and `vigil serve --config` with
real BPF: run-queue latency SLOs burn their budget under CPU hogs and stay quiet on an idle host;
/api/v1/sla and /api/v1/sla/reports (JSON, and the HTML page in headless Chromium).

"Idle" on a shared host: other users' builds already push a few percent of run-queue waits past
1 ms (measured here: 5 to 53 % of waits over 1 ms with no hog of ours, load 3 on 2 CPUs), so a 1 ms
SLO is truly violated there and its alerts are right to fire. The quiet test therefore uses an SLO
that normal scheduling noise meets (99 % of waits under 100 ms), checks from /metrics on its own
that the host did meet it during the test, and then that nothing holds and nothing fires.
"""
import json
import os
import re
import subprocess
import time
import urllib.parse

from lib import BROWSER, ROOT, VIGIL, Skip, have, node, vigil, wait_for, workload
from oracles import _ready, free_port, http_json
from test_alerts import fetch
from test_serve import Serve, own_copy, samples_of

ARTIFACTS = os.path.join(ROOT, ".output", "test-artifacts")

RUNQ_1MS = """\
slos:
  - name: runq-1ms
    objective: 99
    period: 1h
    description: "99% of run-queue waits under 1 ms"
    sli:
      latency:
        metric: vigil_runq_latency_seconds
        le: 0.001
    labels:
      team: kernel
    alerting:
      name: RunqLatencyBudgetBurn
      page_labels: {route: pager}
"""

RUNQ_100MS = """\
slos:
  - name: runq-100ms
    objective: 99
    period: 1h
    sli:
      latency: {metric: vigil_runq_latency_seconds, le: 0.1}
"""


def write(ctx, name, text):
    path = ctx.path(name)
    with open(path, "w") as f:
        f.write(text)
    return path


def hogs(ctx, n, seconds):
    """n CPU hogs (a copy of spin under this run's own name), each bounded to `seconds`."""
    path, _ = own_copy(ctx, "spin")
    return [ctx.spawn([path, str(seconds)], stdout=subprocess.DEVNULL) for _ in range(n)]


def slo_of(s, name):
    for o in s.json("/api/v1/sla")["slos"]:
        if o["name"] == name:
            return o
    raise AssertionError(f"no SLO {name} in /api/v1/sla")


def engine_alerts(s, slo):
    """The engine's alerts of this SLO (GET /api/v1/alerts), or None when there is no engine."""
    st, _, body = s.get("/api/v1/alerts")
    if st == 404:
        return None
    assert st == 200, body[:300]
    return [a for a in json.loads(body)["data"]["alerts"] if a["labels"].get("slo") == slo]


def runq_counts(s):
    text = s.get("/metrics")[2].decode()
    good = {ls["le"]: v for _, ls, v in samples_of(text, "vigil_runq_latency_seconds_bucket")}
    total = [v for n, _, v in samples_of(text, "vigil_runq_latency_seconds_count")
             if n == "vigil_runq_latency_seconds_count"]
    assert good and total, "no run-queue histogram in /metrics"
    return good, total[0]


def test_slo_rules_pass_promtool(ctx):
    if not have("promtool"):
        raise Skip("promtool missing (scripts/install-deps.sh --test installs it)")
    cfg = write(ctx, "vigil.yml", "interval: 1\n" + RUNQ_1MS + """\
  - name: read-errors
    objective: 99.9
    sli:
      events:
        errors: sum(rate(vigil_syscall_latency_seconds_count{syscall="read"}[{{.window}}])) - sum(rate(vigil_syscall_latency_seconds_bucket{syscall="read",le="0.01"}[{{.window}}]))
        total: sum(rate(vigil_syscall_latency_seconds_count{syscall="read"}[{{.window}}]))
""")
    for interval in ("1s", "10s", "15s"):
        r = vigil("rules", "slo", "--interval", interval, cfg)
        assert r.returncode == 0, r.stderr
        rules = write(ctx, f"slo-{interval}.yml", r.stdout)
        p = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        # runq (1 h): 6 windows at 1 s (4s 5s 10s 30s 2m 6m), fewer once the clamp merges them;
        # read-errors (30 d): the workbook's 7; each + the period, 6 meta, 2 alerts.
        n = int(re.search(r"SUCCESS: (\d+) rules found", p.stdout).group(1))
        want = {"1s": 6, "10s": 3, "15s": 3}[interval] + 7 + 2 * (1 + 6 + 2)
        assert n == want, f"{interval}: {n} rules, want {want}"
        c = vigil("rules", "check", rules)
        assert c.returncode == 0, c.stderr
        ctx.measure(f"--interval {interval}: promtool check rules: {n} rules")
    # Errors: one line naming FILE:LINE, exit 1.
    bad = write(ctx, "bad.yml", "slos:\n  - name: x\n    objective: 0.99\n")
    r = vigil("rules", "slo", bad)
    assert r.returncode == 1 and r.stdout == "", r
    assert re.fullmatch(r"vigil rules slo: .*bad\.yml:3: slos\[0\] \(x\): objective: 0\.99 is "
                        r"outside \[1, 100\).*\n", r.stderr), r.stderr
    # And vigil serve refuses to start on it, with the same line.
    r = vigil("serve", "--config", bad, "--data-dir", ctx.path("d"), "--listen",
              f"127.0.0.1:{free_port()}", timeout=30)
    assert r.returncode == 1 and "bad.yml:3: slos[0] (x): objective" in r.stderr, r
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_slo_hogs_page_within_a_minute(ctx):
    """99% of run-queue waits under 1 ms over 1 h; four CPU hogs on two CPUs: the page condition
    (14.4x over 5 s and the 4 s clamp) holds within a minute, the budget shows as consumed, and
    the engine fires the page alert, whose generatorURL (an alert on latency) opens the host's
    profile diff of its window with the hogs' spin_hot grown."""
    cfg = write(ctx, "vigil.yml", RUNQ_1MS)
    s = Serve(ctx, "--config", cfg, interval=1).start()
    s.wait_intervals(6)
    # Before the hogs: the page windows under 3x (far from 6x and 14.4x), or a page could not be
    # theirs. On a host that others' builds keep busy that fails (40x measured with no hog of
    # ours at load 5 on 2 CPUs): wait for a quiet moment, and say so when there is none.
    base = {}

    def quiet():  # the page windows under 3x (the ticket ones still hold vigil's start-up)
        base["slo"] = slo_of(s, "runq-1ms")
        return all(c[k] is not None and c[k] < 3 for c in base["slo"]["conditions"]
                   if c["severity"] == "page" for k in ("long_burn_rate", "short_burn_rate"))
    if not wait_for(quiet, timeout=60, step=1):
        burn = {b["window"]: round(b["burn_rate"] or 0, 1) for b in base["slo"]["burn_rates"]}
        raise Skip(f"the host burns the 1 ms SLO's budget at 3x or more over the page windows "
                   f"without our hogs for 60 s "
                   f"(burn rates {burn}): other processes already hog the CPUs; run on an idle "
                   "host")
    base_burn = {b["window"]: b["burn_rate"] for b in base["slo"]["burn_rates"]}
    t0 = time.time()
    hogs(ctx, 4, 90)
    seen = {}

    def paged():
        o = slo_of(s, "runq-1ms")
        seen["slo"] = o
        page = [c for c in o["conditions"] if c["severity"] == "page"]
        # The 6x row may page first (others' short waits dilute the hogs' on a busy host): wait
        # for a window burning over 14.4x as well.
        short = [b["burn_rate"] or 0 for b in o["burn_rates"] if b["window"] in ("4s", "5s")]
        if not any(c["holds"] for c in page) or max(short) <= 14.4:
            return False
        al = engine_alerts(s, "runq-1ms")
        seen["alerts"] = al
        return al is None or any(a["state"] == "firing" and a["labels"]["severity"] == "page"
                                 for a in al)
    ok = wait_for(paged, timeout=60, step=1)
    took = time.time() - t0
    o = seen["slo"]
    assert ok, f"no page in 60 s: {json.dumps(o)[:1500]} alerts {seen.get('alerts')}"
    burn = {b["window"]: b["burn_rate"] for b in o["burn_rates"]}
    held = [c for c in o["conditions"] if c["severity"] == "page" and c["holds"]]
    for c in held:  # the condition is what its windows' burn rates say
        assert burn[c["long_window"]] > c["factor"] and burn[c["short_window"]] > c["factor"], c
    assert max(burn["4s"], burn["5s"]) > 14.4, burn
    assert o["error_budget_consumed"] > 0 and o["error_budget_remaining"] < 1, o
    assert 0 <= o["compliance"] < 0.99, o
    assert o["objective"] == 99 and o["period"] == "1h" and o["error_budget"] == 0.01, o
    if seen.get("alerts") is not None:
        a = [a for a in seen["alerts"] if a["labels"]["severity"] == "page"][0]
        assert a["labels"]["alertname"] == "RunqLatencyBudgetBurn", a
        assert a["labels"]["team"] == "kernel" and a["labels"]["route"] == "pager", a
        assert wait_for(lambda: slo_of(s, "runq-1ms")["alerts"], timeout=10, step=0.5), \
            "/api/v1/sla lists no firing alert"
        # an alert on latency (through the SLO's recording rules): its generatorURL is the host's
        # profile diff of its window (no comm label: unfiltered), where the hogs' spin_hot grew
        def linked():
            al = [a for a in engine_alerts(s, "runq-1ms") if a["labels"]["severity"] == "page"
                  and a["state"] == "firing" and "top_growing_functions" in a["annotations"]]
            return al[0] if al else None
        assert wait_for(linked, timeout=10, step=0.2), engine_alerts(s, "runq-1ms")
        url = linked()["generatorURL"]
        assert url.startswith(s.url("/api/v1/profiling/diff?")) and "comm=" not in url, url
        st, ct, svg = fetch(url)
        assert st == 200 and ct.startswith("image/svg+xml") and b"<title>" in svg, (st, ct)
        grew = {g["function"]: g for g in json.loads(fetch(url + "&format=json&top=50")[2])["grew"]}
        assert "spin_hot" in grew and grew["spin_hot"]["new_self"] > 0, sorted(grew)[:20]
    ctx.measure(f"baseline burn rates {({k: round(v or 0, 1) for k, v in base_burn.items()})}; "
                f"page after {took:.1f} s; burn rates {({k: round(v, 1) for k, v in burn.items()})}"
                f", budget consumed {o['error_budget_consumed']:.2f}, engine alerts "
                f"{'checked' if seen.get('alerts') is not None else 'absent'}"
                + (f"; page's diff: spin_hot {grew['spin_hot']['base_self_pct']:.1f}% -> "
                   f"{grew['spin_hot']['new_self_pct']:.1f}%" if seen.get("alerts") is not None
                   else ""))


def test_slo_idle_host_raises_nothing(ctx):
    cfg = write(ctx, "vigil.yml", RUNQ_100MS)
    s = Serve(ctx, "--config", cfg, interval=1).start()
    s.wait_intervals(2)
    good0, total0 = runq_counts(s)
    # 20 s: the page windows (4 s, 5 s, 30 s) fill several times over, the ticket ones partly.
    end = time.time() + 20
    while time.time() < end:
        o = slo_of(s, "runq-100ms")
        held = [c for c in o["conditions"] if c["holds"]]
        assert not held, f"a condition holds on an idle host: {held}"
        al = engine_alerts(s, "runq-100ms")
        assert not al, f"alerts on an idle host: {al}"
        time.sleep(1)
    good1, total1 = runq_counts(s)
    waits = total1 - total0
    over = waits - (good1["0.1"] - good0["0.1"])
    assert waits > 100, f"only {waits} run-queue waits in 20 s"
    # The oracle: the host did meet the SLO meanwhile (else an alert would be right).
    assert over / waits < 0.01, f"{over} of {waits} waits over 100 ms: the host is not idle"
    assert o["compliance"] is not None and o["compliance"] >= 0.99, o
    assert o["error_budget_consumed"] < 1, o
    assert not o["alerts"], o
    ctx.measure(f"{waits:.0f} waits, {over:.0f} over 100 ms; compliance {o['compliance']:.5f}, "
                f"budget consumed {o['error_budget_consumed']:.3f}")


def test_slo_reports_json_html_and_bad_params(ctx):
    cfg = write(ctx, "vigil.yml", RUNQ_1MS + RUNQ_100MS.replace("slos:\n", ""))
    s = Serve(ctx, "--config", cfg, interval=1).start()
    s.wait_intervals(5)
    r = s.json("/api/v1/sla/reports?from=now-3d")
    assert [x["name"] for x in r["slos"]] == ["runq-1ms", "runq-100ms"], r
    for slo in r["slos"]:
        days = slo["days"]
        assert len(days) in (3, 4), days  # the range starts mid-day
        assert [d["date"] for d in days] == sorted(d["date"] for d in days)
        today = days[-1]
        assert today["date"] == time.strftime("%Y-%m-%d", time.gmtime(r["to"])), today
        assert 0 <= today["compliance"] <= 1, today
        assert abs(today["compliance"] + today["error_ratio"] - 1) < 1e-9, today
        assert today["met"] == (today["compliance"] * 100 >= slo["objective"]), today
        for d in days[:-1]:
            assert d["compliance"] is None and d["met"] is None, d  # before the service ran
        assert days[0]["from"] == r["from"] and days[-1]["to"] == r["to"]
    # Bad parameters: 400 with a JSON error, the server stays up.
    for q in ("from=yesterday", "to=12", "format=xml", "from=now&to=now-1h", "from=now-500d"):
        st, ct, body = s.get("/api/v1/sla/reports?" + q)
        assert st == 400 and ct.startswith("application/json"), (q, st, body)
        assert json.loads(body)["error"], body
    assert s.get("/healthz")[0] == 200
    # The printable page: self-contained, one row per day, the JSON's numbers, prints to PDF.
    st, ct, html = s.get("/api/v1/sla/reports?from=now-3d&format=html")
    assert st == 200 and ct.startswith("text/html"), (st, ct)
    assert not re.search(rb"(src|href)=|https?://|@import", html), "external assets in the report"
    if not os.path.exists("/usr/bin/chromium"):
        raise Skip("chromium missing (scripts/install-deps.sh --test installs it)")
    page = write(ctx, "report.html", html.decode())
    want = {x["name"]: [d["compliance"] for d in x["days"]] for x in r["slos"]}
    shots = os.path.join(ARTIFACTS, "sla-report")
    n = node(os.path.join(BROWSER, "check_sla_report.js"), page, json.dumps(want), shots)
    assert n.returncode == 0 and n.stdout.startswith("OK"), n.stdout + n.stderr
    ctx.measure(n.stdout.strip())


def test_slo_generated_rules_fire_in_prometheus(ctx):
    """The same generated rules loaded into a real Prometheus scraping `vigil serve` every second:
    four hogs make Prometheus itself fire the page alert, its rules all healthy. (What this checks is
    that the rules run and page in Prometheus; whether the page is the hogs' own is the job of
    test_slo_hogs_page_within_a_minute, which waits for a quiet host first.)"""
    if not have("prometheus"):
        raise Skip("prometheus missing (scripts/install-deps.sh --test installs it)")
    cfg = write(ctx, "vigil.yml", RUNQ_1MS)
    r = vigil("rules", "slo", "--interval", "1s", cfg)
    assert r.returncode == 0, r.stderr
    write(ctx, "slo-rules.yml", r.stdout)
    s = Serve(ctx, interval=1).start()
    port = free_port()
    write(ctx, "prom.yml", f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [slo-rules.yml]
scrape_configs:
  - job_name: vigil
    static_configs: [{{targets: ["127.0.0.1:{s.port}"]}}]
""")
    ctx.spawn(["prometheus", "--config.file=" + ctx.path("prom.yml"),
               "--storage.tsdb.path=" + ctx.path("tsdb"),
               "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
              stdout=subprocess.DEVNULL, stderr=open(ctx.path("prom.log"), "w"))
    url = "http://127.0.0.1:%d" % port
    assert wait_for(lambda: _ready(url + "/-/ready"), timeout=60), open(ctx.path("prom.log")).read()
    # Rules loaded and healthy.
    assert wait_for(lambda: http_json(url + "/api/v1/rules")[1]["data"]["groups"], timeout=30)
    t0 = time.time()
    hogs(ctx, 4, 90)

    def firing():
        st, j = http_json(url + "/api/v1/alerts")
        return [a for a in j["data"]["alerts"] if a["state"] == "firing"
                and a["labels"].get("slo") == "runq-1ms" and a["labels"]["severity"] == "page"]
    ok = wait_for(firing, timeout=60, step=1)
    groups = http_json(url + "/api/v1/rules")[1]["data"]["groups"]
    bad = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"]
           if r.get("health") != "ok"]
    assert ok, f"Prometheus fired no page in 60 s; unhealthy rules: {bad}"
    assert not bad, bad
    a = firing()[0]
    assert a["labels"]["alertname"] == "RunqLatencyBudgetBurn" and a["labels"]["team"] == "kernel"
    # (A 4 s window holds 4 scrapes: one late scrape on a loaded host can leave it empty.)
    q = urllib.parse.urlencode({"query": 'max_over_time(slo:current_burn_rate:ratio{slo="runq-1ms"}[30s])'})
    got = {}

    def burning():
        got["r"] = http_json(f"{url}/api/v1/query?{q}")[1]
        res = got["r"].get("data", {}).get("result", [])
        return res and float(res[0]["value"][1]) > 14.4
    assert wait_for(burning, timeout=30, step=1), f"slo:current_burn_rate:ratio: {got['r']}"
    burn = float(got["r"]["data"]["result"][0]["value"][1])
    ctx.measure(f"Prometheus fired the page after {time.time() - t0:.1f} s; current burn rate "
                f"{burn:.1f}; {sum(len(g['rules']) for g in groups)} rules healthy")
