// node check_serve.js URL FUNCTION SCREENSHOT_DIR
//
// Opens vigil serve's web view in headless Chromium and uses it as a person would. Exit 0 with one
// "OK: ..." line, or 1 with one "FAIL: reason" line. Checks:
//   - the page loads with no page error, console error or dialog, and every request it makes goes to
//     the service itself (the chart library is served from the binary: no external assets);
//   - the CPU chart is drawn (uPlot's canvas, with at least one series in the legend);
//   - dragging across the chart selects a time range, and the flame graph of that range names
//     FUNCTION;
//   - the latency histograms show bars, and the recent losses table is filled ("none" or rows
//     of collector, reason and a positive count);
//   - screenshots of the page before and after the selection are kept in SCREENSHOT_DIR.
'use strict';
const fs = require('fs');
const path = require('path');
const { launch, fail } = require('./browser');

async function main() {
  const [url, fn, shots] = process.argv.slice(2);
  if (!url || !fn || !shots) throw new Error('usage: node check_serve.js URL FUNCTION SCREENSHOT_DIR');
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
      if (!r.url().startsWith(origin + '/') && !/^(data|blob|about):/.test(r.url())) {
        problems.push(`external request: ${r.url()}`);
      }
    });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
    await page.waitForSelector('#cpu-chart canvas', { timeout: 15000 });
    const legend = await page.$$eval('#cpu-chart .u-legend .u-series', (els) => els.length);
    if (legend < 2) throw new Error(`chart has no series (legend rows ${legend})`);
    await page.screenshot({ path: path.join(shots, 'serve-overview.png'), fullPage: true });

    // Drag across the plot area: left 5% to right 98%.
    const over = await page.$('#cpu-chart .u-over');
    const box = await over.boundingBox();
    const before = await page.$eval('#flame', (e) => e.dataset.loaded || '');
    await page.mouse.move(box.x + box.width * 0.05, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.98, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    try {
      await page.waitForFunction((b) => {
        const f = document.getElementById('flame');
        return f.dataset.loaded && f.dataset.loaded !== b;
      }, before, { timeout: 60000 });
    } catch (e) {
      const shown = await page.$eval('#flame', (f) => f.textContent.slice(0, 200));
      const range = await page.$eval('#flame-range', (f) => f.textContent);
      throw new Error(`no flame graph for the selection ${range}: shows '${shown}' (${e.message})`);
    }
    const range = await page.$eval('#flame-range', (e) => e.textContent);
    if (!/–/.test(range)) throw new Error(`selection did not set a range: ${range}`);
    const names = await page.$$eval('#flame svg text, #flame svg title', (els) => els.map((e) => e.textContent));
    if (!names.some((n) => n.includes(fn))) {
      throw new Error(`flame graph of the selection does not name ${fn} (${names.length} labels)`);
    }
    const bars = await page.$$eval('.hist .bar', (els) => els.length);
    if (!bars) throw new Error('no latency histogram bars');
    // The recent losses: filled from the store, "none" or one row per collector and reason
    // with a positive count.
    const losses = await page.$$eval('#losses tbody tr', (trs) => trs.map((tr) =>
      Array.from(tr.cells).map((c) => c.textContent)));
    if (!losses.length) throw new Error('the losses table was never filled');
    const badLoss = losses.find((r) => !(r.length === 1 && r[0] === 'none') &&
      !(r.length === 3 && r[0] && r[1] && Number(r[2]) > 0));
    if (badLoss) throw new Error(`bad losses row: ${JSON.stringify(badLoss)}`);
    await page.screenshot({ path: path.join(shots, 'serve-selection.png'), fullPage: true });
    if (problems.length) throw new Error(problems.join('; '));
    console.log(`OK: chart with ${legend - 1} series; selection ${range.trim()} names ${fn}; ${bars} histogram bars; losses ${losses.length === 1 && losses[0][0] === 'none' ? 'none' : losses.length + ' rows'}`);
  } finally {
    await close();
  }
}

main().catch((e) => fail(e.stack || e));
