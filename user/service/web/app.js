// vigil serve's web view: CPU by process over time (uPlot), a flame graph of a selected range
// (the service's own SVG), latency histograms, top functions and recent losses; the analytics
// panels are panels.js's. Everything comes from this service's API; no external assets.
"use strict";

const $ = (id) => document.getElementById(id);
let interval = 10;
let chart = null;
let apis = {}; // the optional APIs this service has (GET /api/v1/status), for panels.js

async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

function fmtSeconds(s) {
  if (s < 1e-3) return `${(s * 1e6).toFixed(s < 1e-5 ? 1 : 0)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(s < 1e-2 ? 1 : 0)} ms`;
  return `${s.toFixed(1)} s`;
}

async function loadCpu() {
  const data = await getJSON(`/api/v1/metrics/vigil_cpu_seconds_total?from=now-1h&agg=rate&step=${interval}s`);
  const series = (data.series || []).filter((s) => s.points.length);
  // The busiest names first, at most 8 lines.
  series.sort((a, b) => b.points.reduce((t, p) => t + p[1], 0) - a.points.reduce((t, p) => t + p[1], 0));
  const shown = series.slice(0, 8);
  const times = [...new Set(shown.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const cols = shown.map((s) => {
    const m = new Map(s.points.map((p) => [p[0], p[1]]));
    return times.map((t) => (m.has(t) ? m.get(t) : null));
  });
  const palette = ["#4a7bd0", "#d0504a", "#4ab07b", "#c79a2a", "#8a4ad0", "#2ab0c7", "#d04a9a", "#777"];
  const opts = {
    width: Math.max(400, $("cpu-chart").clientWidth || 900),
    height: 260,
    cursor: { drag: { x: true, y: false, setScale: false } },
    scales: { x: { time: true } },
    axes: [{}, { label: "cores", values: (u, v) => v.map((x) => x.toFixed(2)) }],
    series: [{}].concat(shown.map((s, i) => ({
      label: s.labels.comm || "?", stroke: palette[i % palette.length], width: 1.5, spanGaps: true,
    }))),
    hooks: {
      setSelect: [(u) => {
        if (u.select.width < 2) return;
        const from = u.posToVal(u.select.left, "x");
        const to = u.posToVal(u.select.left + u.select.width, "x");
        loadFlame(from - interval, to);
      }],
    },
  };
  if (chart) chart.destroy();
  $("cpu-chart").textContent = "";
  if (!times.length) {
    $("cpu-chart").innerHTML = '<p class="empty">no samples stored yet</p>';
    chart = null;
    return;
  }
  chart = new uPlot(opts, [times].concat(cols), $("cpu-chart"));
}

async function loadFlame(from, to) {
  const f = from ? Math.floor(from) : "now-5m";
  const t = to ? Math.ceil(to) : "now";
  $("flame-range").textContent = from ?
    `(${new Date(from * 1000).toLocaleTimeString()} – ${new Date(to * 1000).toLocaleTimeString()})` :
    "(the last 5 minutes; drag across the chart to pick a range)";
  const r = await fetch(`/api/v1/profiling/cpu?from=${f}&to=${t}&format=svg`);
  const svg = await r.text();
  if (!r.ok) {
    $("flame").innerHTML = `<p class="empty">${r.status}: ${svg.replace(/</g, "&lt;")}</p>`;
    return;
  }
  // The SVG's own script does not run here; the picture and its titles do.
  $("flame").innerHTML = svg.slice(svg.indexOf("<svg"));
  $("flame").dataset.loaded = String(Date.now());
}

async function loadHist(metric, el, agg) {
  const data = await getJSON(`/api/v1/metrics/${metric}_bucket?from=now-${Math.max(60, 3 * interval)}s`);
  const byLe = new Map();
  for (const s of data.series || []) {
    const last = s.points[s.points.length - 1];
    if (!last) continue;
    const le = s.labels.le;
    byLe.set(le, (byLe.get(le) || 0) + last[1]);
  }
  const les = [...byLe.keys()].filter((l) => l !== "+Inf").sort((a, b) => parseFloat(a) - parseFloat(b));
  let prev = 0;
  const rows = [];
  for (const le of les) {
    const c = byLe.get(le) - prev;
    prev = byLe.get(le);
    rows.push([le, c]);
  }
  if (byLe.has("+Inf")) rows.push(["+Inf", byLe.get("+Inf") - prev]);
  const max = Math.max(1, ...rows.map((r) => r[1]));
  const shown = rows.filter((r) => r[1] > 0);
  $(el).innerHTML = shown.length ? shown.map(([le, c]) =>
    `<div class="bar"><span>≤ ${le === "+Inf" ? "∞" : fmtSeconds(parseFloat(le))}</span>` +
    `<div style="width:${Math.max(1, 200 * c / max)}px"></div><span>${Math.round(c)}</span></div>`).join("") :
    '<p class="empty">no events yet</p>';
}

async function loadLosses() {
  const data = await getJSON("/api/v1/metrics/vigil_lost_events_total?from=now-1h");
  const rows = [];
  for (const s of data.series || []) {
    if (!s.points.length) continue;
    const d = s.points[s.points.length - 1][1] - s.points[0][1];
    if (d > 0) rows.push(`<tr><td>${s.labels.collector}</td><td>${s.labels.reason}</td><td class="num">${d}</td></tr>`);
  }
  $("losses").tBodies[0].innerHTML = rows.join("") || '<tr><td class="empty">none</td></tr>';
}

function showEvent(ev) {
  $("status").textContent = `last interval ${new Date(ev.to * 1000).toLocaleTimeString()}, ` +
    `${ev.samples} samples${ev.store_writable ? "" : ", STORE NOT WRITABLE"}`;
  $("top").tBodies[0].innerHTML = (ev.top_functions || []).map((f) =>
    `<tr><td>${f.name.replace(/</g, "&lt;")}</td><td class="num">${f.self_pct.toFixed(1)}%</td></tr>`).join("");
}

async function refresh() {
  await Promise.all([
    loadCpu().catch((e) => console.warn(e)),
    loadHist("vigil_runq_latency_seconds", "hist-runq").catch((e) => console.warn(e)),
    loadHist("vigil_syscall_latency_seconds", "hist-syscall").catch((e) => console.warn(e)),
    loadHist("vigil_bio_latency_seconds", "hist-bio").catch((e) => console.warn(e)),
    loadLosses().catch((e) => console.warn(e)),
    refreshPanels(apis),
  ]);
}

async function main() {
  try {
    const st = await getJSON("/api/v1/status");
    interval = st.interval_s || interval;
    apis = st.apis || {};
  } catch (e) {
    console.warn(e);
  }
  await refresh();
  await loadFlame(null, null).catch((e) => console.warn(e));
  document.body.dataset.ready = "1";
  const es = new EventSource("/api/v1/stream");
  es.addEventListener("interval", (m) => {
    showEvent(JSON.parse(m.data));
    refresh();
  });
  es.onerror = () => { $("status").textContent = "stream disconnected; retrying…"; };
}

main();
