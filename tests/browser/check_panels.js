// node check_panels.js URL SCREENSHOT_DIR EXPECT_JSON
//
// Opens vigil serve's web view in headless Chromium and checks its analytics panels against what
// the service's own API says, as a person would read them. Exit 0 with one "OK: ..." line, or 1
// with one "FAIL: reason" line. EXPECT_JSON names, per panel (alerts, incidents, slos, anomalies,
// capacity), what the panel must show: "rows", "none" (an empty list said in words), "absent"
// (the service has no such API) or "any". Checks:
//   - no page error, console error, dialog or request outside the service;
//   - each panel's state is the expected one; "rows" panels hold what the API returns (alert
//     names, incident ids, SLO names, anomaly names and capacity items with a uPlot canvas and a
//     time to the limit), read until page and API agree (the page redraws every interval);
//   - with alerts shown: the ack button of the first one acks it through the API (the row then
//     says "acked", and GET /api/v1/alerts agrees);
//   - a full-page screenshot is kept in SCREENSHOT_DIR.
'use strict';
const fs = require('fs');
const path = require('path');
const { launch, fail } = require('./browser');

const PANELS = { alerts: 'alerts-body', incidents: 'incidents-body', slos: 'slos-body',
  anomalies: 'anomalies-body', capacity: 'capacity-body' };

async function main() {
  const [url, shots, expectText] = process.argv.slice(2);
  if (!url || !shots || !expectText) throw new Error('usage: node check_panels.js URL SCREENSHOT_DIR EXPECT_JSON');
  const expect = JSON.parse(expectText);
  fs.mkdirSync(shots, { recursive: true });
  const origin = new URL(url).origin;
  const { ctx, close } = await launch();
  const problems = [];
  try {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    page.on('dialog', async (d) => { problems.push(`dialog: ${d.message()}`); await d.dismiss().catch(() => {}); });
    page.on('request', (r) => {
      if (!r.url().startsWith(origin + '/') && !/^(data|blob|about):/.test(r.url())) problems.push(`external request: ${r.url()}`);
    });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 60000 });
    const api = async (p) => page.evaluate(async (u) => (await fetch(u)).json(), p);
    const got = {};
    for (const [name, id] of Object.entries(PANELS)) {
      const want = expect[name] || 'any';
      try {
        // the state that matched (a refresh may redraw the panel right after)
        const h = await page.waitForFunction(([i, w]) => {
          const s = document.getElementById(i).dataset.state;
          return s && (w === 'any' || s === w) ? s : null;
        }, [id, want], { timeout: 30000 });
        got[name] = await h.jsonValue();
      } catch (e) {
        const st = await page.$eval(`#${id}`, (el) => `${el.dataset.state}: ${el.textContent.slice(0, 160)}`);
        throw new Error(`panel ${name} is not '${want}' (${st})`);
      }
    }
    const text = async (id) => page.$eval(`#${id}`, (el) => el.textContent);
    // The page redraws its panels at every interval and the API answers for now: an alert that
    // turned pending or resolved between the two is on one and not yet the other. Each check reads
    // both until they agree, for up to 30 s (several intervals); the last difference fails it.
    const agree = async (read, id, what) => {
      const until = Date.now() + 30000;
      for (;;) {
        const list = await read();
        const t = await text(id);
        const missing = list.filter((x) => !t.includes(x));
        if (!missing.length) return list;
        if (Date.now() > until) throw new Error(`${what} ${missing[0]} not shown`);
        await page.waitForTimeout(500);
      }
    };
    const notes = [];
    if (got.anomalies === 'rows') {
      const shown = await agree(async () => (await api('/api/v1/anomalies')).anomalies.slice(0, 20)
        .map((x) => x.name), 'anomalies-body', 'anomaly');
      notes.push(`${shown.length} anomalies`);
    }
    if (got.capacity === 'rows') {
      const c = await api('/api/v1/capacity/forecast');
      const boxes = await page.$$eval('#capacity-body .capacity', (els) => els.map((e) => ({
        head: e.querySelector('.cap-head').textContent, canvas: !!e.querySelector('canvas'),
        legend: e.querySelectorAll('.u-legend .u-series').length })));
      if (boxes.length !== c.capacity.length) throw new Error(`${boxes.length} capacity charts for ${c.capacity.length} rows`);
      for (const b of boxes) {
        if (!b.canvas || b.legend < 6) throw new Error(`capacity chart not drawn: ${JSON.stringify(b)}`);
        if (!/limit in \S+/.test(b.head)) throw new Error(`no time to the limit: ${b.head}`);
      }
      notes.push(`${boxes.length} capacity charts (${boxes[0].head.replace(/\s+/g, ' ').trim()})`);
    }
    if (got.slos === 'rows') {
      const s = await api('/api/v1/sla');
      const names = await page.$$eval('#slos-body .slo', (els) => els.map((e) => e.dataset.name));
      if (JSON.stringify(names) !== JSON.stringify(s.slos.map((x) => x.name))) throw new Error(`SLOs shown ${names}, API ${s.slos.map((x) => x.name)}`);
      notes.push(`${names.length} SLOs`);
    }
    if (got.incidents === 'rows') {
      const shown = await agree(async () => (await api('/api/v1/incidents')).incidents.slice(0, 20)
        .map((x) => x.id), 'incidents-body', 'incident');
      notes.push(`${shown.length} incidents`);
    }
    await page.screenshot({ path: path.join(shots, 'panels.png'), fullPage: true });
    if (got.alerts === 'rows') {
      const shown = await agree(async () => (await api('/api/v1/alerts')).data.alerts
        .map((x) => x.labels.alertname), 'alerts-body', 'alert');
      const fp = await page.$eval('#alerts-body button[data-act="ack"]', (b) => b.dataset.fp);
      await page.click(`#alerts-body button[data-act="ack"][data-fp="${fp}"]`);
      await page.waitForFunction((f) => {
        const tr = document.querySelector(`#alerts-body tr[data-fp="${f}"]`);
        return tr && tr.textContent.includes('acked');
      }, fp, { timeout: 30000 });
      const after = await api('/api/v1/alerts');
      const acked = after.data.alerts.find((x) => x.fingerprint === fp);
      if (!acked || !acked.acked) throw new Error(`ack of ${fp} not in the API: ${JSON.stringify(acked)}`);
      notes.push(`${shown.length} alerts, ${fp} acked from the page`);
      await page.screenshot({ path: path.join(shots, 'panels-acked.png'), fullPage: true });
    }
    if (problems.length) throw new Error(problems.join('; '));
    console.log(`OK: panels ${Object.entries(got).map(([k, v]) => `${k}=${v}`).join(' ')}; ${notes.join('; ')}`);
  } finally {
    await close();
  }
}

main().catch((e) => fail(e.stack || e));
