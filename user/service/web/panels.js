// vigil serve's web view, the analytics panels: alerts (firing and pending, with silence and ack
// buttons), incidents, SLO error budgets, anomalies and capacity forecasts (uPlot: the series over
// the fit's window, the fitted line carried on to the limit with its 95% interval). A panel whose
// API this service does not have (GET /api/v1/status "apis") says so instead of asking for it.
"use strict";

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
}[c]));
const panelCharts = new Map();

function labelText(l, skip) {
  return Object.entries(l || {}).filter(([k]) => !(skip || []).includes(k))
    .map(([k, v]) => `${esc(k)}="${esc(v)}"`).join(", ");
}

function fmtTime(t) {
  return t ? new Date(t * 1000).toLocaleTimeString() : "–";
}

function fmtDuration(s) {
  if (s === null || s === undefined) return "never";
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

function fmtNum(v) {
  if (v === null || v === undefined) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(2)}k`;
  return a >= 1 || a === 0 ? v.toFixed(2) : v.toPrecision(3);
}

function absent(el, what) {
  $(el).innerHTML = `<p class="empty">${esc(what)} not available in this service</p>`;
  $(el).dataset.state = "absent";
}

async function postJSON(url, body) {
  const r = await fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: body === undefined ? "" : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : {};
}

// ---- alerts ----

async function silenceAlert(labels, hours) {
  const now = new Date();
  const matchers = Object.entries(labels).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true }));
  await postJSON("/api/v1/silences", {
    matchers, startsAt: now.toISOString(),
    endsAt: new Date(now.getTime() + hours * 3600e3).toISOString(),
    createdBy: "vigil web view", comment: `silenced from the web view for ${hours} h`,
  });
}

async function loadAlerts(apis) {
  if (!apis.alerts) return absent("alerts-body", "alerts");
  const data = await getJSON("/api/v1/alerts");
  const alerts = (data.data && data.data.alerts) || [];
  alerts.sort((a, b) => (a.state === b.state ? 0 : a.state === "firing" ? -1 : 1));
  const rows = alerts.map((a) => {
    const muted = a.silenced ? "silenced" : a.inhibited ? "inhibited" : a.acked ? "acked" : "";
    const buttons = (apis.silences && !a.silenced ?
      `<button data-act="silence" data-fp="${esc(a.fingerprint)}">silence 1h</button>` : "") +
      (!a.acked ? `<button data-act="ack" data-fp="${esc(a.fingerprint)}">ack</button>` : "");
    return `<tr class="alert ${esc(a.state)}" data-fp="${esc(a.fingerprint)}">` +
      `<td><span class="state ${esc(a.state)}">${esc(a.state)}</span></td>` +
      `<td>${esc(a.labels.alertname || "")}</td><td class="labels">${labelText(a.labels, ["alertname"])}</td>` +
      `<td class="num">${esc(a.value)}</td><td>${fmtTime(Date.parse(a.activeAt) / 1000)}</td>` +
      `<td>${muted}</td><td>${buttons}</td></tr>`;
  });
  $("alerts-body").innerHTML = rows.length ?
    `<table id="alerts"><thead><tr><th>state</th><th>alert</th><th>labels</th><th>value</th><th>since</th><th></th><th></th></tr></thead><tbody>${rows.join("")}</tbody></table>` :
    '<p class="empty">no firing or pending alerts</p>';
  $("alerts-body").dataset.state = rows.length ? "rows" : "none";
  const byFp = new Map(alerts.map((a) => [a.fingerprint, a]));
  for (const b of $("alerts-body").querySelectorAll("button")) {
    b.addEventListener("click", async () => {
      const a = byFp.get(b.dataset.fp);
      b.disabled = true;
      try {
        if (b.dataset.act === "silence") await silenceAlert(a.labels, 1);
        else await postJSON(`/api/v1/alerts/${encodeURIComponent(a.fingerprint)}/ack`);
        $("alerts-body").dataset.acted = b.dataset.act;
      } catch (e) {
        console.warn(e);
        b.disabled = false;
      }
      loadAlerts(apis).catch((e) => console.warn(e));
    });
  }
}

// ---- incidents ----

async function loadIncidents(apis) {
  if (!apis.incidents) return absent("incidents-body", "incidents");
  const data = await getJSON("/api/v1/incidents");
  const rows = (data.incidents || []).slice(0, 20).map((i) => {
    const rc = i.root_cause || {};
    const top = rc.top_function ? `${esc(rc.top_function.function)} (+${rc.top_function.self_change_pct.toFixed(1)} pts)` : "–";
    return `<tr class="incident ${esc(i.state)}"><td>${esc(i.id)}</td><td>${esc(i.state)}</td>` +
      `<td>${fmtTime(i.started)}</td><td>${fmtTime(i.ended)}</td><td class="num">${i.alerts.length}</td>` +
      `<td class="labels">${labelText(i.shared_labels)}</td><td>${esc(rc.alertname || "")}</td>` +
      `<td>${rc.diff_url ? `<a href="${esc(rc.diff_url)}" target="_blank">${top}</a>` : top}</td></tr>`;
  });
  $("incidents-body").innerHTML = rows.length ?
    `<table id="incidents"><thead><tr><th>id</th><th>state</th><th>started</th><th>ended</th><th>alerts</th><th>shared labels</th><th>root cause</th><th>grew most</th></tr></thead><tbody>${rows.join("")}</tbody></table>` :
    '<p class="empty">no incidents</p>';
  $("incidents-body").dataset.state = rows.length ? "rows" : "none";
}

// ---- SLO budgets ----

async function loadSlos(apis) {
  if (!apis.sla) return absent("slos-body", "SLOs");
  const data = await getJSON("/api/v1/sla");
  const slos = data.slos || [];
  $("slos-body").innerHTML = slos.length ? slos.map((s) => {
    const used = s.error_budget_consumed;
    const pct = used === null || used === undefined ? null : Math.max(0, used * 100);
    const cls = pct === null ? "" : pct >= 100 ? "over" : pct >= 75 ? "warn" : "ok";
    const firing = (s.alerts || []).length;
    return `<div class="slo" data-name="${esc(s.name)}"><div class="slo-head"><b>${esc(s.name)}</b> ` +
      `objective ${esc(s.objective)}% over ${esc(s.period)}; compliance ` +
      `${s.compliance === null ? "–" : (100 * s.compliance).toFixed(3) + "%"}` +
      `${firing ? ` <span class="state firing">${firing} firing</span>` : ""}</div>` +
      `<div class="budget"><div class="${cls}" style="width:${pct === null ? 0 : Math.min(100, pct)}%"></div></div>` +
      `<small>${pct === null ? "no data yet" : `${pct.toFixed(1)}% of the error budget consumed`}</small></div>`;
  }).join("") : '<p class="empty">no SLOs configured</p>';
  $("slos-body").dataset.state = slos.length ? "rows" : "none";
}

// ---- anomalies ----

async function loadAnomalies(apis) {
  if (!apis.anomalies) return absent("anomalies-body", "anomalies");
  const data = await getJSON("/api/v1/anomalies");
  const rows = (data.anomalies || []).slice(0, 20).map((a) =>
    `<tr class="anomaly ${a.resolved ? "resolved" : "open"}"><td>${esc(a.name)}</td><td class="labels">${labelText(a.labels)}</td>` +
    `<td><span class="state ${a.severity === "critical" ? "firing" : "pending"}">${esc(a.severity)}</span></td>` +
    `<td class="num">${fmtNum(a.value)}</td><td class="num">${fmtNum(a.expected)}</td><td class="num">${a.score.toFixed(2)}</td>` +
    `<td>${fmtTime(a.started)}</td><td>${a.resolved ? fmtTime(a.resolved_at) : "open"}</td></tr>`);
  const items = (data.items || []).length;
  $("anomalies-body").innerHTML = rows.length ?
    `<table id="anomalies"><thead><tr><th>name</th><th>labels</th><th>severity</th><th>value</th><th>expected</th><th>score</th><th>started</th><th>resolved</th></tr></thead><tbody>${rows.join("")}</tbody></table>` :
    `<p class="empty">${items ? `none found (${items} watched)` : "no anomalies: configured"}</p>`;
  $("anomalies-body").dataset.state = rows.length ? "rows" : "none";
}

// ---- capacity ----

async function capacityChart(el, c) {
  const end = c.timestamp;
  const start = end - c.window;
  const q = new URLSearchParams({ query: c.expr, start: String(start), end: String(end), step: String(interval) });
  const hist = await getJSON(`/api/v1/query_range?${q}`);
  const lkey = (l) => JSON.stringify(Object.entries(l).filter(([k]) => k !== "__name__").sort());
  const mine = ((hist.data && hist.data.result) || []).find((s) => lkey(s.metric) === lkey(c.labels));
  const pts = mine ? mine.values.map(([t, v]) => [Number(t), Number(v)]) : [];
  // the forecast: from now to the limit (or one window ahead), with the 95% rate interval
  const ahead = c.seconds_to_limit !== null ? Math.min(Math.max(c.seconds_to_limit * 1.2, interval), 10 * c.window) : c.window;
  const n = 20;
  const times = pts.map((p) => p[0]);
  const fut = [];
  for (let i = 1; i <= n; i++) fut.push(end + (ahead * i) / n);
  const allT = times.concat(fut);
  const nul = (k) => new Array(k).fill(null);
  const val = pts.map((p) => p[1]).concat(nul(n));
  const line = (r) => nul(pts.length ? pts.length - 1 : 0).concat(pts.length ? [c.current] : [])
    .concat(fut.map((t) => (r === null ? null : c.current + r * (t - end))));
  const lim = allT.map(() => c.limit);
  const data = [allT, val, line(c.rate), line(c.rate_lower), line(c.rate_upper), lim];
  const opts = {
    width: Math.max(360, Math.min(720, el.clientWidth || 600)), height: 200,
    scales: { x: { time: true } },
    axes: [{}, { size: 64, values: (u, v) => v.map(fmtNum) }],
    cursor: { points: { show: false } },
    series: [{},
      { label: "value", stroke: "#4a7bd0", width: 1.5, spanGaps: true, points: { show: false } },
      { label: "forecast", stroke: "#d0504a", width: 1.5, dash: [6, 4], spanGaps: true, points: { show: false } },
      { label: "95% low", stroke: "#e8a0a0", width: 1, dash: [2, 3], spanGaps: true, points: { show: false } },
      { label: "95% high", stroke: "#e8a0a0", width: 1, dash: [2, 3], spanGaps: true, points: { show: false } },
      { label: "limit", stroke: "#222", width: 1, points: { show: false } }],
    bands: [{ series: [4, 3], fill: "rgba(208,80,74,0.12)" }],
  };
  const key = el.dataset.key;
  if (panelCharts.has(key)) panelCharts.get(key).destroy();
  el.textContent = "";
  panelCharts.set(key, new uPlot(opts, data, el));
}

async function loadCapacity(apis) {
  if (!apis.capacity) return absent("capacity-body", "capacity forecasts");
  const data = await getJSON("/api/v1/capacity/forecast");
  const rows = data.capacity || [];
  if (!rows.length) {
    $("capacity-body").innerHTML = '<p class="empty">no capacity: items configured, or too few points yet</p>';
    $("capacity-body").dataset.state = "none";
    return;
  }
  const body = $("capacity-body");
  const keep = new Set();
  for (const c of rows) {
    const key = `${c.name}${JSON.stringify(c.labels)}`;
    keep.add(key);
    let box = body.querySelector(`[data-box="${CSS.escape(key)}"]`);
    if (!box) {
      box = document.createElement("div");
      box.className = "capacity";
      box.dataset.box = key;
      box.innerHTML = '<div class="cap-head"></div><div class="cap-chart"></div>';
      box.querySelector(".cap-chart").dataset.key = key;
      body.appendChild(box);
    }
    box.querySelector(".cap-head").innerHTML = `<b>${esc(c.name)}</b> ${labelText(c.labels)}: ` +
      `${fmtNum(c.current)} of ${fmtNum(c.limit)}, ${fmtNum(c.rate)}/s; limit in ` +
      `<span class="ttl">${fmtDuration(c.seconds_to_limit)}</span> (95%: ${fmtDuration(c.lower)} – ${fmtDuration(c.upper)})`;
    await capacityChart(box.querySelector(".cap-chart"), c).catch((e) => console.warn(e));
  }
  for (const box of [...body.querySelectorAll("[data-box]")]) {
    if (!keep.has(box.dataset.box)) box.remove();
  }
  for (const p of [...body.querySelectorAll("p.empty")]) p.remove();
  body.dataset.state = "rows";
}

async function refreshPanels(apis) {
  await Promise.all([
    loadAlerts(apis).catch((e) => console.warn(e)),
    loadIncidents(apis).catch((e) => console.warn(e)),
    loadSlos(apis).catch((e) => console.warn(e)),
    loadAnomalies(apis).catch((e) => console.warn(e)),
    loadCapacity(apis).catch((e) => console.warn(e)),
  ]);
}
