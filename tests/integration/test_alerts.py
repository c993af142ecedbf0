# SPDX-License-Identifier: GPL-2.0
"""Alerts on a live `vigil serve` (real BPF, real workloads): a threshold rule on
rate(vigil_cpu_seconds_total) with for: 3s goes pending then firing under a 2-CPU job, with its
activeAt, ALERTS / ALERTS_FOR_STATE queryable, its generatorURL (it reads CPU through a recording
rule) a differential flame graph of its window naming the job's hot function as grown, the functions
that grew in its annotations, silences and ack setting their flags, state kept across kill -9, and
resolving after the job ends; rules added through the API persist, rules on other metrics keep
Prometheus' graph link; a rule on a missing metric stays inactive; config errors name file:line and
refuse to start. The same rule file (for: and keep_firing_for:) in vigil serve and in a real
Prometheus fed by its remote write: the same alerts from both /api/v1/alerts (Prometheus' JSON
shape) and the same ALERTS / ALERTS_FOR_STATE series from both /api/v1/query_range, to within one
evaluation interval, ending when the alert resolves."""
import json
import os
import re
import signal
import time
import urllib.parse
import urllib.request

from lib import one_line_error, vigil, wait_for
from oracles import http_json, prom_query, prometheus_server
from test_serve import Serve, own_copy


def write(ctx, name, text):
    path = ctx.path(name)
    with open(path, "w") as f:
        f.write(text)
    return path


def alerts(s, name=None):
    a = s.json("/api/v1/alerts")["data"]["alerts"]
    return [x for x in a if name is None or x["labels"].get("alertname") == name]


def query(s, expr):
    r = s.json("/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert r["status"] == "success", r
    return r["data"]["result"]


def post(s, path, body, method="POST"):
    st, _, b = s.get(path, method=method, body=body if isinstance(body, (bytes, str)) else
                     json.dumps(body), headers={"Content-Type": "application/json"})
    return st, (json.loads(b) if b else None)


def iso_ms(t):
    """Milliseconds of Prometheus' RFC 3339 activeAt."""
    base, _, frac = t.rstrip("Z").partition(".")
    return (time.mktime(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) - time.timezone) * 1000 + \
        (int((frac + "000")[:3]) if frac else 0)


def fetch(url):
    """GET an absolute URL as a receiver of the alert would: (status, content type, body)."""
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read()


def check_diff_link(s, alert, comm, back_ms, fn="spin_hot"):
    """alert's generatorURL: /api/v1/profiling/diff of [activeAt - back, startsAt) against the
    window of the same length before, filtered on comm (back None: an alert without activeAt, as
    a webhook has it); the SVG it opens draws fn red (grew) and its JSON form lists fn first among
    the grown functions. Returns the JSON."""
    url = alert["generatorURL"]
    assert url.startswith(s.url("/api/v1/profiling/diff?")), url
    qs = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert qs["comm"] == [comm], qs
    frm, to, bf, bt = (float(qs[k][0]) * 1000 for k in ("from", "to", "base_from", "base_to"))
    assert back_ms is None or abs(frm - (iso_ms(alert["activeAt"]) - back_ms)) <= 1, \
        (qs, alert.get("activeAt"))
    assert abs(to - iso_ms(alert["startsAt"])) <= 1, (qs, alert["startsAt"])
    assert abs(bt - frm) <= 1 and abs((bt - bf) - (to - frm)) <= 2, qs
    st, ct, svg = fetch(url)
    assert st == 200 and ct.startswith("image/svg+xml") and svg.startswith(b"<?xml"), (st, ct)
    m = re.search(rb'data-f="rgb\((\d+),(\d+),(\d+)\)"[^>]*><title>' + fn.encode() + rb" ", svg)
    assert m, f"{fn} not drawn in {url}"
    r_, g_, b_ = (int(x) for x in m.groups())
    assert r_ == 255 and g_ < 200 and b_ < 200, f"{fn} should be red (grew): {m.group(0)}"
    st, ct, body = fetch(url + "&format=json")
    d = json.loads(body)
    assert d["grew"] and d["grew"][0]["function"] == fn, d["grew"][:3]
    assert d["grew"][0]["new_self_pct"] > d["grew"][0]["base_self_pct"] + 50, d["grew"][0]
    return d


def rule_state(s, name):
    for g in s.json("/api/v1/rules")["data"]["groups"]:
        for r in g["rules"]:
            if r["name"] == name:
                return r
    return None


def test_threshold_alert_lifecycle(ctx):
    spin, comm = own_copy(ctx, "spin")
    rules = write(ctx, "cpu.yml", f"""groups:
  - name: cpu
    rules:
      - record: job:cpu:rate10s
        expr: sum by (comm) (rate(vigil_cpu_seconds_total{{comm="{comm}"}}[10s]))
      - alert: Busy
        expr: job:cpu:rate10s > 0.25
        for: 3s
        labels: {{severity: warning}}
        annotations: {{summary: "{{{{ $labels.comm }}}} at {{{{ $value }}}} on {{{{ $externalLabels.site }}}}"}}
""")
    cfg = write(ctx, "vigil.yml", """global:
  evaluation_interval: 1s
  external_labels: {site: lab}
rule_files: [cpu.yml]
""")
    data = ctx.path("data")
    s = Serve(ctx, "--config", cfg, "--top", "1000", interval=1, data=data).start()
    s.wait_intervals(4)
    assert alerts(s, "Busy") == [], alerts(s)
    assert rule_state(s, "Busy")["state"] == "inactive"
    # the 2-CPU job
    jobs = [ctx.spawn([spin, "0"]), ctx.spawn([spin, "0"])]
    assert wait_for(lambda: alerts(s, "Busy"), timeout=30, step=0.2), s.stderr()
    first = alerts(s, "Busy")[0]
    assert first["state"] == "pending", first
    active = first["activeAt"]
    assert wait_for(lambda: alerts(s, "Busy")[0]["state"] == "firing", timeout=30, step=0.2)
    a = alerts(s, "Busy")[0]
    assert a["activeAt"] == active, (a, active)
    assert a["labels"] == {"alertname": "Busy", "comm": comm, "severity": "warning"}, a
    assert a["annotations"]["summary"].startswith(f"{comm} at ") and \
        a["annotations"]["summary"].endswith(" on lab"), a
    fired = iso_ms(a["startsAt"])
    # for: 3s at 1 s evaluations: fired 3 s after it was first seen (evaluations at interval ends)
    assert 2900 <= fired - iso_ms(active) <= 4200, (a["startsAt"], active)
    assert float(a["value"]) > 0.25
    ctx.measure(f"pending at {active}, firing at {a['startsAt']}, value {float(a['value']):.2f} CPUs")
    # it reads CPU (through job:cpu:rate10s): linked to the diff of [activeAt - 10s - 1.5
    # intervals, startsAt) against the window before (the link and the annotation are set after
    # the round's evaluation, before its notifications: the API may show the firing alert an
    # instant before)
    assert wait_for(lambda: "top_growing_functions" in alerts(s, "Busy")[0]["annotations"],
                    timeout=10, step=0.1), alerts(s, "Busy")
    a = alerts(s, "Busy")[0]
    d = check_diff_link(s, a, comm, 11500)
    top = a["annotations"]["top_growing_functions"]
    assert top.startswith("spin_hot ") and " -> " in top, top
    ctx.measure(f"generatorURL diff: spin_hot {d['grew'][0]['base_self_pct']:.1f}% -> "
                f"{d['grew'][0]['new_self_pct']:.1f}%; annotation: {top}")
    r = rule_state(s, "Busy")
    assert r["state"] == "firing" and r["health"] == "ok" and r["duration"] == 3, r
    assert r["alerts"][0]["fingerprint"] == a["fingerprint"]
    # ALERTS and ALERTS_FOR_STATE through the query API
    assert wait_for(lambda: query(s, 'ALERTS{alertname="Busy",alertstate="firing"}'), timeout=10)
    q = query(s, 'ALERTS{alertname="Busy",alertstate="firing"}')
    assert q[0]["metric"]["comm"] == comm and q[0]["value"][1] == "1", q
    fs = query(s, 'ALERTS_FOR_STATE{alertname="Busy"}')
    assert fs and float(fs[0]["value"][1]) == iso_ms(active) // 1000, (fs, active)
    rec = query(s, f'job:cpu:rate10s{{comm="{comm}"}}')
    assert rec and float(rec[0]["value"][1]) > 0.25, rec

    # a silence mutes it; bad silences and unknown ids are refused
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    st, body = post(s, "/api/v1/silences", {
        "matchers": [{"name": "alertname", "value": "Busy", "isRegex": False, "isEqual": True}],
        "startsAt": now, "endsAt": later, "createdBy": "test", "comment": "known"})
    assert st == 200 and len(body["silenceID"]) == 36, (st, body)
    sid = body["silenceID"]
    st, body = post(s, "/api/v1/silences", {
        "matchers": [{"name": "alertname", "value": ".*", "isRegex": True}],
        "startsAt": now, "endsAt": later, "createdBy": "test", "comment": "all"})
    assert st == 400 and "empty string" in body["error"], body
    st, body = post(s, "/api/v1/silences", b"{not json")
    assert st == 400 and "error" in body
    st, body = post(s, "/api/v1/silence/no-such-id", b"", method="DELETE")
    assert st == 404, (st, body)
    sil = s.json("/api/v1/silences")
    assert [x["id"] for x in sil] == [sid] and sil[0]["status"]["state"] == "active", sil
    assert wait_for(lambda: alerts(s, "Busy")[0]["silenced"], timeout=10)
    # ack by fingerprint; an unknown fingerprint is a 404
    st, _ = post(s, f"/api/v1/alerts/{a['fingerprint']}/ack", b"")
    assert st == 200
    assert alerts(s, "Busy")[0]["acked"]
    st, body = post(s, "/api/v1/alerts/0123456789abcdef/ack", b"")
    assert st == 404 and "error" in body, (st, body)

    # kill -9 and restart on the same data: still firing, same activeAt, silence and ack kept
    s.stop(signal.SIGKILL)
    s = Serve(ctx, "--config", cfg, "--top", "1000", interval=1, data=data).start()
    assert wait_for(lambda: alerts(s, "Busy"), timeout=30, step=0.2), s.stderr()
    b = alerts(s, "Busy")[0]
    assert b["state"] == "firing" and b["activeAt"] == active and b["startsAt"] == a["startsAt"], b
    assert b["silenced"] and b["acked"], b
    # the same window (on the new service's port)
    assert b["generatorURL"] == s.url(a["generatorURL"][a["generatorURL"].index("/api/"):]), \
        (b["generatorURL"], a["generatorURL"])
    assert [x["id"] for x in s.json("/api/v1/silences")] == [sid]
    # the job ends: resolved (no longer listed, the rule inactive)
    for j in jobs:
        j.kill()
    assert wait_for(lambda: not alerts(s, "Busy"), timeout=30, step=0.2), alerts(s)
    assert rule_state(s, "Busy")["state"] == "inactive"
    # expiring the silence
    st, _ = post(s, f"/api/v1/silence/{sid}", b"", method="DELETE")
    assert st == 200
    assert s.json(f"/api/v1/silence/{sid}")["status"]["state"] == "expired"
    assert s.stop() == 0, s.stderr()


def test_api_rules_persist_and_missing_metric(ctx):
    data = ctx.path("data")
    s = Serve(ctx, interval=1, data=data).start()
    group = """groups:
  - name: api1
    rules:
      - alert: Always
        expr: vector(1)
        labels: {team: db}
      - alert: Missing
        expr: no_such_metric_at_all > 0
        for: 1s
      - alert: Ticking
        expr: vigil_intervals_total > 0
      - alert: RunqBusy
        expr: sum(rate(vigil_runq_latency_seconds_count[5s])) > 0
"""
    st, body = post(s, "/api/v1/alerts/rules", group)
    assert st == 200 and body["data"]["groups"] == ["api1"], (st, body)
    st, body = post(s, "/api/v1/alerts/rules", group)
    assert st == 409, (st, body)
    st, body = post(s, "/api/v1/alerts/rules",
                    "groups:\n  - name: bad\n    rules:\n      - alert: X\n        expr: nosuch(1)\n")
    assert st == 400 and body["error"].startswith("line 5:") and "nosuch" in body["error"], body
    st, body = post(s, "/api/v1/alerts/rules", "groups: [")
    assert st == 400 and "yaml" in body["error"], body
    st, body = post(s, "/api/v1/alerts/rules/nosuch", b"", method="DELETE")
    assert st == 404
    # JSON is YAML: a second group as JSON through PUT
    st, body = post(s, "/api/v1/alerts/rules", {"groups": [{"name": "api2", "rules": [
        {"record": "one:x", "expr": "vector(1)"}]}]}, method="PUT")
    assert st == 200, body
    listed = s.json("/api/v1/alerts/rules")["data"]["groups"]
    assert [g["name"] for g in listed] == ["api1", "api2"], listed
    assert wait_for(lambda: alerts(s, "Always"), timeout=20), s.stderr()
    a = alerts(s, "Always")[0]
    assert a["state"] == "firing" and a["labels"] == {"alertname": "Always", "team": "db"}, a
    # not about CPU or latency: Prometheus' graph link, no profile diff
    assert a["generatorURL"] == s.url("/graph?g0.expr=vector%281%29&g0.tab=1"), a
    assert wait_for(lambda: alerts(s, "Ticking"), timeout=20), s.stderr()
    t = alerts(s, "Ticking")[0]
    assert t["generatorURL"] == s.url("/graph?g0.expr=vigil_intervals_total+%3E+0&g0.tab=1"), t
    assert "top_growing_functions" not in t["annotations"], t
    # on latency (the run queue's, no comm label): the host's profile diff of its window, added
    # through the API as well
    def runq_linked():
        r = alerts(s, "RunqBusy")
        return r and r[0]["state"] == "firing" and "top_growing_functions" in r[0]["annotations"]
    assert wait_for(runq_linked, timeout=20, step=0.2), alerts(s, "RunqBusy")
    rq = alerts(s, "RunqBusy")[0]
    url = rq["generatorURL"]
    qs = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert url.startswith(s.url("/api/v1/profiling/diff?")) and "comm" not in qs, url
    # no for: it fired when first seen; the window [activeAt - 5 s - 1.5 intervals, activeAt)
    assert abs(float(qs["from"][0]) * 1000 - (iso_ms(rq["activeAt"]) - 6500)) <= 1, (qs, rq)
    assert abs(float(qs["to"][0]) * 1000 - iso_ms(rq["activeAt"])) <= 1, (qs, rq)
    st, ct, svg = fetch(url)
    assert st == 200 and ct.startswith("image/svg+xml") and b"<title>" in svg, (st, ct, svg[:200])
    s.wait_intervals(3)
    m = rule_state(s, "Missing")
    assert m["health"] == "ok" and m["state"] == "inactive" and m["alerts"] == [], m
    assert alerts(s, "Missing") == []
    # kill -9, restart: the rules and the firing alert are back
    s.stop(signal.SIGKILL)
    s = Serve(ctx, interval=1, data=data).start()
    listed = s.json("/api/v1/alerts/rules")["data"]["groups"]
    assert [g["name"] for g in listed] == ["api1", "api2"], listed
    assert rule_state(s, "Missing") is not None
    assert wait_for(lambda: alerts(s, "Always"), timeout=20)
    assert alerts(s, "Always")[0]["activeAt"] == a["activeAt"]
    st, _ = post(s, "/api/v1/alerts/rules/api1", b"", method="DELETE")
    assert st == 200
    assert rule_state(s, "Always") is None
    assert s.stop() == 0
    s = Serve(ctx, interval=1, data=data).start()
    assert [g["name"] for g in s.json("/api/v1/alerts/rules")["data"]["groups"]] == ["api2"]
    assert rule_state(s, "Always") is None and rule_state(s, "one:x") is not None
    assert s.stop() == 0, s.stderr()


def test_config_errors_refuse_to_start(ctx):
    def refused(text, pattern, rules=None):
        if rules is not None:
            write(ctx, "r.yml", rules)
        cfg = write(ctx, "vigil.yml", text)
        one_line_error(vigil("serve", "--config", cfg, "--listen", "127.0.0.1:1",
                             "--data-dir", ctx.path("never")), 1, pattern)
        assert not os.path.exists(ctx.path("never")), "started before the config was checked"

    refused("global:\n  evaluation_interval: 1s\n  external_labels: {a: [\n", r"vigil\.yml:\d+: yaml: ")
    refused("rule_files: [r.yml]\n", r"r\.yml:6: .*unknown function with name \"nosuch\"",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n"
            "        for: 3s\n        expr: nosuch(up) > 1\n")
    refused("rule_files: [r.yml]\n", r"r\.yml:\d+: yaml: ", "groups:\n  - name: [\n")
    refused("global:\n  evaluation_intervall: 1s\n", r"vigil\.yml:2: field evaluation_intervall")
    refused("global:\n  evaluation_interval: soon\n", r"vigil\.yml:2: not a valid duration")
    refused("rule_files: [missing.yml]\n", r"vigil\.yml:1: rule file .*missing\.yml.* does not exist")
    refused("rule_files: [r.yml]\nrule_files: []\n", r"vigil\.yml:2: mapping key \"rule_files\" already")
    refused("inhibit_rules:\n  - source_matchers: ['severity=~\"(\"']\n", r"vigil\.yml:2: ")
    refused("offcpu: maybe\n", r"vigil\.yml:1: 'offcpu' wants true or false")


# The same rules in Vigil and in a real Prometheus fed by Vigil's remote write: a threshold with
# for: and one with keep_firing_for:, a CPU job making both fire and then resolve.
CMP_RULES = """groups:
  - name: cmp
    interval: 1s
    rules:
      - alert: BusyFor
        expr: sum by (comm) (rate(vigil_cpu_seconds_total{{comm="{comm}"}}[{win}])) > 0.2
        for: 3s
        labels: {{severity: warning}}
        annotations: {{summary: "{{{{ $labels.comm }}}} busy"}}
      - alert: BusyKeep
        expr: sum by (comm) (rate(vigil_cpu_seconds_total{{comm="{comm}"}}[{win}])) > 0.2
        keep_firing_for: 4s
        labels: {{severity: info}}
"""


def presence(result, t0, t1):
    """{labels: (first, last, n)} of a query_range matrix: when each series is present."""
    out = {}
    for s in result:
        ts = [float(t) for t, _ in s["values"] if t0 <= float(t) <= t1]
        if ts:
            out[tuple(sorted(s["metric"].items()))] = (ts[0], ts[-1], len(ts))
    return out


def shape_missing(theirs, mine, path=""):
    """Where mine lacks a field theirs has, or has it of another JSON type (recursively; lists by
    their first elements): [] when mine has Prometheus' shape (and maybe more fields)."""
    if isinstance(theirs, dict):
        if not isinstance(mine, dict):
            return [f"{path}: {type(mine).__name__}, not an object"]
        out = []
        for k, v in theirs.items():
            out += [f"{path}.{k}: missing"] if k not in mine else \
                shape_missing(v, mine[k], f"{path}.{k}")
        return out
    if isinstance(theirs, list):
        if not isinstance(mine, list):
            return [f"{path}: {type(mine).__name__}, not a list"]
        return shape_missing(theirs[0], mine[0], path + "[0]") if theirs and mine else []
    return [] if type(theirs) is type(mine) else \
        [f"{path}: {type(mine).__name__}, not {type(theirs).__name__}"]


def test_alerts_match_prometheus(ctx):
    compare_with_prometheus(ctx, interval=1, window="3s")


def test_alerts_match_prometheus_group_timer(ctx):
    """The 1 s group on 2 s intervals: on its own timer, as Prometheus evaluates it, so for: 3s
    fires 3 s after activeAt (at the interval ends it took 4)."""
    compare_with_prometheus(ctx, interval=2, window="5s")


def compare_with_prometheus(ctx, interval, window):
    spin, comm = own_copy(ctx, "spin")
    rules = CMP_RULES.format(comm=comm, win=window)
    prom = prometheus_server(ctx, "global:\n  evaluation_interval: 1s\nrule_files: [cmp.yml]\n",
                             name="prom-alerts", remote_write=True, files={"cmp.yml": rules})
    write(ctx, "cmp.yml", rules)
    cfg = write(ctx, "vigil.yml", "global:\n  evaluation_interval: 1s\nrule_files: [cmp.yml]\n")
    s = Serve(ctx, "--config", cfg, "--top", "1000", "--remote-write", prom + "/api/v1/write",
              interval=interval).start()

    def prom_alerts():
        st, body = http_json(prom + "/api/v1/alerts")
        assert st == 200, (st, body)
        return body

    def states(alist):
        return {a["labels"]["alertname"]: a["state"] for a in alist
                if a["labels"].get("comm") == comm}

    # Prometheus has the data (remote write) before the job starts.
    assert wait_for(lambda: prom_query(prom, "vigil_intervals_total")["data"]["result"],
                    timeout=60, step=0.5), "remote write delivered nothing"
    s.wait_intervals(3)
    t_start = time.time()
    jobs = [ctx.spawn([spin, "10"]) for _ in range(2)]
    log = []  # (t, vigil states, prometheus states)
    snaps = {}  # (alertname, state) -> (vigil alert, prometheus alert), both seen in it
    seen_firing = False
    deadline = time.time() + 60
    while time.time() < deadline:
        va = s.json("/api/v1/alerts")
        pa = prom_alerts()
        vs, ps = states(va["data"]["alerts"]), states(pa["data"]["alerts"])
        log.append((time.time(), vs, ps))
        for name in ("BusyFor", "BusyKeep"):
            if vs.get(name) and vs.get(name) == ps.get(name):
                pick = [[a for a in x["data"]["alerts"] if a["labels"]["alertname"] == name][0]
                        for x in (va, pa)]
                snaps.setdefault((name, vs[name]), (va, pa, pick[0], pick[1]))
        seen_firing = seen_firing or (vs.get("BusyFor") == "firing" and
                                      ps.get("BusyFor") == "firing")
        if seen_firing and all(j.poll() is not None for j in jobs) and not vs and not ps:
            break
        time.sleep(0.2)
    assert seen_firing, f"never firing in both: {log[-5:]}\n{s.stderr()}"
    assert not log[-1][1] and not log[-1][2], f"not resolved in both: {log[-3:]}"
    t_end = time.time() + 1
    # Let both evaluate a few more rounds: a resolved alert's ALERTS series must have ended.
    time.sleep(4)

    failures = []
    # /api/v1/alerts: the same JSON shape (Prometheus' fields, same types and formats), same
    # labels, annotations and state, activeAt within one evaluation interval.
    for (name, state), (va, pa, v, p) in sorted(snaps.items()):
        for d in shape_missing(pa, va, "alerts") + shape_missing(p, v, name):
            failures.append(f"{name}/{state}: {d}")
        for k in ("activeAt",):
            if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", v[k]):
                failures.append(f"{name}/{state} {k}: {v[k]} is not RFC 3339")
        # Vigil's one addition: a firing CPU alert names the functions that grew (alertlink.c)
        mine_ann = {k: x for k, x in v["annotations"].items() if k != "top_growing_functions"}
        for k, mv, pv in (("labels", v["labels"], p["labels"]), ("state", v["state"], p["state"]),
                          ("annotations", mine_ann, p["annotations"])):
            if mv != pv:
                failures.append(f"{name}/{state} {k}: {mv} vs {pv}")
        if float(v["value"]) <= 0.2 or float(p["value"]) <= 0.2 or \
                not re.fullmatch(r"-?\d(\.\d+)?e[+-]\d\d", v["value"]):
            failures.append(f"{name}/{state} value {v['value']} vs {p['value']}")
        if state == "firing" and name == "BusyFor":
            # for: 3s on the group's 1 s grid: the third evaluation after activeAt
            held = iso_ms(v["startsAt"]) - iso_ms(v["activeAt"])
            ctx.measure(f"BusyFor pending -> firing in vigil: {held:.0f} ms (for: 3s)")
            if abs(held - 3000) > 250:
                failures.append(f"BusyFor fired {held:.0f} ms after activeAt (for: 3s)")
        dt = abs(iso_ms(v["activeAt"]) - iso_ms(p["activeAt"]))
        ctx.measure(f"{name} {state}: activeAt vigil {v['activeAt']} prometheus "
                    f"{p['activeAt']} ({dt:.0f} ms apart)")
        # one evaluation interval, and the remote write's delivery to Prometheus
        if dt > 1000 + 500:
            failures.append(f"{name}/{state} activeAt {v['activeAt']} vs {p['activeAt']}")
    for want in (("BusyFor", "pending"), ("BusyFor", "firing"), ("BusyKeep", "firing")):
        if want not in snaps:
            failures.append(f"{want} never seen in both at once")

    # ALERTS and ALERTS_FOR_STATE from both /api/v1/query_range: the same series, present over
    # the same span to within one evaluation interval (and the step), ended when resolved.
    step = 0.5
    for expr in (f'ALERTS{{comm="{comm}"}}', f'ALERTS_FOR_STATE{{comm="{comm}"}}'):
        q = {"start": t_start, "end": t_end + 4, "step": step}
        mine = s.json("/api/v1/query_range?" + urllib.parse.urlencode(dict(q, query=expr)))
        theirs = prom_query(prom, expr, **q)
        assert mine["status"] == theirs["status"] == "success", (mine, theirs)
        a = presence(mine["data"]["result"], t_start, t_end + 4)
        b = presence(theirs["data"]["result"], t_start, t_end + 4)
        if set(a) != set(b):
            failures.append(f"{expr}: series {sorted(a)} vs {sorted(b)}")
            continue
        for k in a:
            (f1, l1, n1), (f2, l2, n2) = a[k], b[k]
            lab = dict(k)
            # present at every step in between, in both: no flapping, no gap
            for who, (f, last, n) in (("vigil", a[k]), ("prometheus", b[k])):
                if n != round((last - f) / step) + 1:
                    failures.append(f"{expr} {lab}: {who} has gaps ({n} steps in "
                                    f"{f - t_start:.1f}..{last - t_start:.1f} s)")
            ctx.measure(f"{expr} {lab.get('alertname')}/{lab.get('alertstate', '-')}: vigil "
                        f"{f1 - t_start:.1f}..{l1 - t_start:.1f} s, prometheus "
                        f"{f2 - t_start:.1f}..{l2 - t_start:.1f} s")
            if abs(f1 - f2) > 1 + step or abs(l1 - l2) > 1 + step:
                failures.append(f"{expr} {lab}: present {f1 - t_start:.1f}..{l1 - t_start:.1f}"
                                f" vs {f2 - t_start:.1f}..{l2 - t_start:.1f} s")
        # ALERTS is 1 wherever present, ALERTS_FOR_STATE the alert's activeAt in seconds
        theirs_v = {tuple(sorted(r["metric"].items())): {float(v) for _, v in r["values"]}
                    for r in theirs["data"]["result"]}
        for r in mine["data"]["result"]:
            vals = {float(v) for _, v in r["values"]}
            want = theirs_v.get(tuple(sorted(r["metric"].items())), set())
            if "FOR_STATE" not in expr:
                ok = vals == want == {1.0}
            else:
                ok = len(vals) == len(want) == 1 and abs(vals.pop() - want.pop()) <= 1.5
            if not ok:
                failures.append(f"{expr} {r['metric']}: values {r['values'][:3]} vs "
                                f"{sorted(want)[:3]}")
    assert not failures, "\n".join(failures)
    assert s.stop() == 0, s.stderr()
