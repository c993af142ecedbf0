"""Notifications of vigil serve, end to end with real BPF: a rule on the CPU of a spinning workload
fires, and its notifications reach loopback receivers as the formats' users expect them: an
Alertmanager webhook receiver (payload version "4", firing then resolved), Slack and PagerDuty
fakes (their documented fields), an SMTP server (the RFC 5322 message), a real Alertmanager (as
`alerting.alertmanagers` target: its /api/v2/alerts lists the alert); the alert is on CPU, so its
generatorURL (as Alertmanager hands it on) opens the differential flame graph of its window with
the workload's hot function grown, and every notification names that function among the top
growing ones; a receiver that fails twice
then succeeds shows 3 attempts in /api/v1/notifications, an unreachable one its error, and the
service stays healthy. Bad route/receivers configs are refused naming FILE:LINE, as amtool
check-config refuses them. At Vigil's defaults (group_wait 10s) a firing alert reaches its webhook
within 30 s."""
import email
import email.policy
import http.server
import json
import os
import re
import socketserver
import subprocess
import threading
import time

from lib import Skip, have, vigil, wait_for
from oracles import alertmanager, free_port, http_json
from test_alerts import check_diff_link
from test_serve import Serve, own_copy


class Receivers:
    """Loopback HTTP receivers: every POST recorded as (path, headers, parsed JSON, time);
    fail[path] = [status, ...] answers those first (then 200)."""

    def __init__(self):
        self.got = []
        self.fail = {}
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    plan = outer.fail.get(self.path, [])
                    status = plan.pop(0) if plan else 200
                    try:
                        doc = json.loads(body)
                    except ValueError:
                        doc = None
                    outer.got.append((self.path, dict(self.headers), doc, time.time(), status))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path, status=200):
        with self.lock:
            return [g[2] for g in self.got if g[0] == path and g[4] == status]

    def close(self):
        self.srv.shutdown()


class SMTP:
    """A minimal SMTP server (RFC 5321: EHLO, MAIL, RCPT, DATA, QUIT) keeping every message."""

    def __init__(self):
        self.messages = []
        outer = self

        class H(socketserver.StreamRequestHandler):
            def handle(self):
                env = {"rcpt": []}
                self.wfile.write(b"220 fake ESMTP\r\n")
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode("latin-1").strip()
                    up = cmd.upper()
                    if up.startswith("EHLO"):
                        env["helo"] = cmd[5:]
                        self.wfile.write(b"250-fake\r\n250 8BITMIME\r\n")
                    elif up.startswith("HELO"):
                        self.wfile.write(b"250 fake\r\n")
                    elif up.startswith("MAIL FROM:"):
                        env["from"] = cmd[10:].strip()
                        self.wfile.write(b"250 OK\r\n")
                    elif up.startswith("RCPT TO:"):
                        env["rcpt"].append(cmd[8:].strip())
                        self.wfile.write(b"250 OK\r\n")
                    elif up == "DATA":
                        self.wfile.write(b"354 go on\r\n")
                        data = b""
                        while True:
                            l = self.rfile.readline()
                            if not l or l == b".\r\n":
                                break
                            data += l[1:] if l.startswith(b"..") else l
                        env["data"] = data
                        outer.messages.append(dict(env))
                        env = {"rcpt": [], "helo": env.get("helo")}
                        self.wfile.write(b"250 queued\r\n")
                    elif up == "RSET":
                        env = {"rcpt": [], "helo": env.get("helo")}
                        self.wfile.write(b"250 OK\r\n")
                    elif up == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 OK\r\n")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()


def write(ctx, name, text):
    path = ctx.path(name)
    with open(path, "w") as f:
        f.write(text)
    return path


def notifications(s):
    return s.json("/api/v1/notifications")["data"]


def test_notify_every_integration_fire_and_resolve(ctx):
    if not have("prometheus-alertmanager"):
        raise Skip("prometheus-alertmanager missing (scripts/install-deps.sh --test)")
    rx = Receivers()
    # The real Alertmanager gets Vigil's alerts (as alerting.alertmanagers target) and, routed as
    # Vigil routes them, sends its own webhook: the oracle for Vigil's webhook payload.
    am = alertmanager(ctx, f"""route:
  receiver: x
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  routes:
  - matchers: ['severity="page"']
    receiver: all
    continue: true
  - matchers: ['severity="page"']
    receiver: unreachable
receivers:
- name: x
- name: all
  webhook_configs:
  - url: {rx.url("/am-hook")}
- name: unreachable
""")
    am_hostport = am.split("//")[1]
    smtp = SMTP()
    rx.fail["/flaky"] = [500, 503]
    exe, comm = own_copy(ctx, "spin")
    write(ctx, "rules.yml", f"""groups:
- name: cpu
  interval: 1s
  rules:
  - alert: HotSpin
    expr: rate(vigil_cpu_seconds_total{{comm="{comm}"}}[3s]) > 0.2
    for: 1s
    labels:
      severity: page
    annotations:
      summary: '{{{{ $labels.comm }}}} is hot'
""")
    cfg = write(ctx, "vigil.yml", f"""rule_files: [rules.yml]
route:
  receiver: all
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  routes:
  - matchers: ['severity="page"']
    receiver: all
    continue: true
  - matchers: ['severity="page"']
    receiver: unreachable
receivers:
- name: all
  webhook_configs:
  - url: {rx.url("/hook")}
  - url: {rx.url("/flaky")}
  slack_configs:
  - api_url: {rx.url("/slack")}
    channel: '#ops'
    send_resolved: true
  pagerduty_configs:
  - routing_key: 0123456789abcdef0123456789abcdef
    url: {rx.url("/pd")}
  email_configs:
  - to: ops@example.org
    from: vigil@example.org
    smarthost: 127.0.0.1:{smtp.port}
    require_tls: false
    send_resolved: true
- name: unreachable
  webhook_configs:
  - url: http://127.0.0.1:1/nobody
  email_configs:
  - to: tls@example.org
    from: vigil@example.org
    smarthost: 127.0.0.1:{smtp.port}
alerting:
  alertmanagers:
  - static_configs:
    - targets: ['{am_hostport}']
""")
    s = Serve(ctx, "--config", cfg, interval=1).start()
    spin = ctx.spawn([exe, "0"], stdout=subprocess.DEVNULL)
    try:
        # (a) the webhook gets a version-4 firing payload
        assert wait_for(lambda: any(b and b["status"] == "firing" for b in rx.bodies("/hook")),
                        timeout=60, step=0.2), f"no firing webhook: {rx.got} {s.stderr()}"
        t_fire = time.time()
        hook = [b for b in rx.bodies("/hook") if b["status"] == "firing"][0]
        assert hook["version"] == "4" and hook["receiver"] == "all", hook
        assert hook["groupKey"] == '{}/{severity="page"}:{alertname="HotSpin"}', hook["groupKey"]
        assert hook["groupLabels"] == {"alertname": "HotSpin"}, hook
        assert hook["commonLabels"]["severity"] == "page" and hook["truncatedAlerts"] == 0
        assert hook["externalURL"].startswith("http"), hook
        a = hook["alerts"][0]
        assert a["status"] == "firing" and a["labels"]["alertname"] == "HotSpin", a
        assert a["labels"]["comm"] == comm, a
        assert re.fullmatch(r"[0-9a-f]{16}", a["fingerprint"]), a
        assert a["endsAt"] == "0001-01-01T00:00:00Z" and a["startsAt"] > "2000", a
        assert a["annotations"]["summary"] == f"{comm} is hot", a
        assert "generatorURL" in a and "commonAnnotations" in hook
        # (b) the real Alertmanager lists it
        def am_has():
            st, alerts = http_json(am + "/api/v2/alerts")
            return st == 200 and any(x["labels"].get("alertname") == "HotSpin" and
                                     x["labels"].get("comm") == comm for x in alerts)
        assert wait_for(am_has, timeout=30, step=0.5), "alertmanager does not list HotSpin"
        # Alertmanager's own webhook for the same alert and route: the same fields and values
        assert wait_for(lambda: [b for b in rx.bodies("/am-hook") if b["status"] == "firing"],
                        timeout=30, step=0.3), "alertmanager sent no webhook"
        amh = [b for b in rx.bodies("/am-hook") if b["status"] == "firing"][0]
        assert sorted(amh) == sorted(hook), (sorted(amh), sorted(hook))
        for k in ("receiver", "status", "groupLabels", "commonLabels", "commonAnnotations",
                  "version", "groupKey", "truncatedAlerts"):
            assert amh[k] == hook[k], (k, amh[k], hook[k])
        ama = amh["alerts"][0]
        assert sorted(ama) == sorted(a), (sorted(ama), sorted(a))
        for k in ("status", "labels", "annotations", "startsAt", "endsAt", "fingerprint",
                  "generatorURL"):
            assert ama[k] == a[k], (k, ama[k], a[k])
        # on CPU: the top growing functions in the payload, and the generatorURL Alertmanager
        # hands on opens the differential flame graph of the alert's window (ending when it
        # fired) with spin_hot grown (red)
        top = a["annotations"].get("top_growing_functions", "")
        assert top.startswith("spin_hot [") and "% -> " in top, a["annotations"]
        assert hook["commonAnnotations"]["top_growing_functions"] == top, hook
        d = check_diff_link(s, ama, comm, None)
        ctx.measure(f"generatorURL (from Alertmanager's webhook) opens the diff: spin_hot "
                    f"{d['grew'][0]['base_self_pct']:.1f}% -> {d['grew'][0]['new_self_pct']:.1f}%"
                    f"; payload: {top}")
        # (c) Slack and PagerDuty
        assert wait_for(lambda: rx.bodies("/slack") and rx.bodies("/pd"), timeout=30)
        sl = rx.bodies("/slack")[0]
        assert sl["channel"] == "#ops", sl
        att = sl["attachments"][0]
        assert att["title"] == "[FIRING:1] HotSpin (" + " ".join(
            v for k, v in sorted(a["labels"].items()) if k != "alertname") + ")", att
        assert att["color"] == "danger" and "#/alerts?receiver=all" in att["title_link"], att
        # Vigil's default text: the diff's link and what grew
        want = f"<{a['generatorURL'].replace('&', '&amp;')}|HotSpin> grew: spin_hot ["
        assert att.get("text", "").startswith(want), (att.get("text"), want)
        pd = rx.bodies("/pd")[0]
        assert pd["event_action"] == "trigger" and pd["routing_key"].startswith("0123"), pd
        assert re.fullmatch(r"[0-9a-f]{64}", pd["dedup_key"]), pd
        assert pd["payload"]["severity"] == "error" and pd["payload"]["summary"] == att["title"]
        assert pd["payload"]["custom_details"]["num_firing"] == "1", pd
        assert f"top_growing_functions = {top}" in pd["payload"]["custom_details"]["firing"], pd
        assert f"Source: {a['generatorURL']}" in pd["payload"]["custom_details"]["firing"], pd
        # (d) email
        assert wait_for(lambda: smtp.messages, timeout=30), "no email"
        m = smtp.messages[0]
        assert m["from"] == "<vigil@example.org>" and m["rcpt"] == ["<ops@example.org>"], m
        msg = email.message_from_bytes(m["data"], policy=email.policy.default)
        assert msg["Subject"] == att["title"], msg["Subject"]
        assert msg["To"] == "ops@example.org" and msg["Date"] and msg["Message-Id"]
        text = msg.get_body(("plain",)).get_content()
        assert f"comm = {comm}" in text and "alertname = HotSpin" in text, text
        assert f"top_growing_functions = {top}" in text, text
        assert "HotSpin" in msg.get_body(("html",)).get_content()
        # (e) failed twice, then delivered: 3 attempts; the unreachable one's error
        def entry(integration, receiver, status):
            return [e for e in notifications(s)["notifications"]
                    if e["integration"] == integration and e["receiver"] == receiver and
                    e["status"] == status]
        assert wait_for(lambda: rx.bodies("/flaky"), timeout=30), "flaky never succeeded"
        assert [g[4] for g in rx.got if g[0] == "/flaky"][:3] == [500, 503, 200]
        def flaky_sent():
            return [e for e in entry("webhook", "all", "sent") if e["attempts"] == 3]
        assert wait_for(flaky_sent, timeout=10), notifications(s)
        assert "HTTP 503" in flaky_sent()[0]["lastError"], flaky_sent()
        # Every firing notification is out (the unreachable ones retry on their own jobs): the
        # job ends now, so the alert resolves while those retries run out.
        spin.kill()
        assert wait_for(lambda: entry("webhook", "unreachable", "failed"), timeout=60,
                        step=0.5), notifications(s)
        bad = entry("webhook", "unreachable", "failed")[0]
        assert bad["attempts"] == 6 and "connect" in bad["lastError"].lower(), bad
        # require_tls (the default) to a server without STARTTLS: refused, never sent in clear
        assert wait_for(lambda: entry("email", "unreachable", "failed"), timeout=60, step=0.5)
        tls = entry("email", "unreachable", "failed")[0]
        assert "tls" in tls["lastError"].lower(), tls
        assert not any(m["rcpt"] == ["<tls@example.org>"] for m in smtp.messages)
        assert entry("alertmanager", f"http://{am_hostport}/api/v2/alerts", "sent")
        assert s.get("/healthz")[0] == 200
        st, _, metrics = s.get("/metrics")
        assert re.search(rb'vigil_notifications_total\{integration="webhook",outcome="sent"\} '
                         rb'[1-9]', metrics), metrics[-2000:]
        ctx.measure(f"firing delivered to every integration; flaky 3 attempts, unreachable "
                    f"{bad['attempts']} attempts: {bad['lastError']}")
    finally:
        spin.kill()
        spin.wait()
    # resolved: webhook (send_resolved default true), Slack (set), email (set)
    assert wait_for(lambda: any(b["status"] == "resolved" for b in rx.bodies("/hook")),
                    timeout=90, step=0.3), f"no resolved webhook: {s.stderr()}"
    res = [b for b in rx.bodies("/hook") if b["status"] == "resolved"][0]
    ra = res["alerts"][0]
    assert ra["status"] == "resolved" and ra["endsAt"] > ra["startsAt"], ra
    assert ra["fingerprint"] == a["fingerprint"], (ra, a)
    assert wait_for(lambda: any(b["attachments"][0]["color"] == "good"
                                for b in rx.bodies("/slack")), timeout=20)
    assert wait_for(lambda: any(b["event_action"] == "resolve" for b in rx.bodies("/pd")),
                    timeout=20)
    assert wait_for(lambda: len(smtp.messages) >= 2, timeout=20)
    assert "[RESOLVED] HotSpin" in str(email.message_from_bytes(smtp.messages[-1]["data"],
                                                                policy=email.policy.default)["Subject"])
    # the real Alertmanager no longer lists it as active
    def am_gone():
        st, alerts = http_json(am + "/api/v2/alerts?active=true")
        return st == 200 and not any(x["labels"].get("comm") == comm and
                                     x["status"]["state"] == "active" for x in alerts)
    assert wait_for(am_gone, timeout=30, step=0.5), http_json(am + "/api/v2/alerts")
    assert s.stop() == 0
    rx.close()
    smtp.close()


def test_notify_defaults_deliver_within_30s(ctx):
    rx = Receivers()
    exe, comm = own_copy(ctx, "spin")
    write(ctx, "rules.yml", f"""groups:
- name: cpu
  interval: 1s
  rules:
  - alert: HotSpin
    expr: rate(vigil_cpu_seconds_total{{comm="{comm}"}}[3s]) > 0.2
""")
    cfg = write(ctx, "vigil.yml", f"""rule_files: [rules.yml]
route:
  receiver: hook
receivers:
- name: hook
  webhook_configs:
  - url: {rx.url("/hook")}
""")
    s = Serve(ctx, "--config", cfg, interval=1).start()
    spin = ctx.spawn([exe, "0"], stdout=subprocess.DEVNULL)
    try:
        def firing_since():
            st, _, body = s.get("/api/v1/alerts")
            for al in json.loads(body)["data"]["alerts"]:
                if al["labels"].get("comm") == comm and al["state"] == "firing":
                    return True
            return False
        assert wait_for(firing_since, timeout=60, step=0.1), s.stderr()
        t_fire = time.time()
        assert wait_for(lambda: rx.bodies("/hook"), timeout=40, step=0.1), s.stderr()
        t_got = [g[3] for g in rx.got if g[0] == "/hook"][0]
        lat = t_got - t_fire
        ctx.measure(f"firing -> webhook at the defaults: {lat:.1f} s (group_wait 10s; bound 30 s)")
        assert lat < 30, lat
        hook = rx.bodies("/hook")[0]
        assert hook["groupKey"] == "{}:{}", hook["groupKey"]  # no group_by: one group
    finally:
        spin.kill()
        spin.wait()
    assert s.stop() == 0
    rx.close()


BAD = [
    ("route:\n  receiver: nope\nreceivers:\n- name: a\n",
     r"vigil\.yml:2: undefined receiver \"nope\" used in route"),
    ("route:\n  receiver: a\n  group_by: [a, a]\nreceivers:\n- name: a\n",
     r"vigil\.yml:3: duplicated label \"a\" in group_by"),
    ("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n  - url: ftp://x/\n",
     r"vigil\.yml:6: unsupported scheme \"ftp\" for URL"),
    ("route:\n  receiver: a\nreceivers:\n- name: a\n  email_configs:\n  - to: x@y\n",
     r"vigil\.yml:6: no global SMTP smarthost set"),
    ("route:\n  receiver: a\n  group_wait: 5x\nreceivers:\n- name: a\n",
     r"vigil\.yml:3: not a valid duration string: \"5x\""),
    ("route:\n  receiver: a\n  routes:\n  - matchers: ['a']\nreceivers:\n- name: a\n",
     r"vigil\.yml:4: bad matcher format: a"),
    ("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n  - url: http://x/\n"
     "    sendresolved: true\n",
     r"vigil\.yml:7: field sendresolved not found in type config\.plain"),
]


def test_notify_bad_config_refused_with_line(ctx):
    for i, (text, want) in enumerate(BAD):
        d = ctx.path(f"c{i}")
        os.makedirs(d)
        path = os.path.join(d, "vigil.yml")
        with open(path, "w") as f:
            f.write(text)
        r = vigil("serve", "--config", path, "--listen", f"127.0.0.1:{free_port()}",
                  "--data-dir", ctx.path(f"data{i}"), timeout=60)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        assert r.returncode == 1 and len(lines) == 1, (text, r.returncode, r.stderr)
        assert re.search(want, lines[0]), (lines[0], want)
        # the real Alertmanager refuses the same file with the same cause
        if have("amtool"):
            a = subprocess.run(["amtool", "check-config", path], capture_output=True, text=True)
            assert a.returncode != 0, (text, a.stdout)
            cause = re.sub(r"^.*?:\d+: ", "", lines[0])
            assert cause.replace("\\", "") in (a.stdout + a.stderr), (cause, a.stdout)
    # and a good one is accepted by both (amtool) and starts (vigil)
    good = write(ctx, "good.yml", "route:\n  receiver: a\n  group_by: ['...']\nreceivers:\n"
                 "- name: a\n  webhook_configs:\n  - url: http://127.0.0.1:1/\n")
    if have("amtool"):
        a = subprocess.run(["amtool", "check-config", good], capture_output=True, text=True)
        assert a.returncode == 0, a.stdout + a.stderr
    s = Serve(ctx, "--config", good, interval=1).start()
    assert notifications(s)["notifications"] == []
    assert s.stop() == 0
