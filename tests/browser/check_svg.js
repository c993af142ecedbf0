// node check_svg.js FILE FUNCTION [SCREENSHOT.png]: open a Vigil SVG flame graph in headless Chromium
// and use it: hover FUNCTION's frame (the details line names it with its weight and percentage),
// click it (it then spans the full width), search for it (the matched percentage is shown, > 0, and
// equals the frame's share when FUNCTION appears once), reset the zoom (the width comes back). Fails
// on any page or console error.
'use strict';
const path = require('path');
const { launch, watch, fail } = require('./browser');

async function main() {
  const [file, func, shot] = process.argv.slice(2);
  if (!file || !func) return fail('usage: node check_svg.js FILE FUNCTION [SCREENSHOT]');
  const { ctx, close } = await launch();
  try {
    const page = await ctx.newPage();
    const problems = watch(page);
    await page.goto(`file://${path.resolve(file)}`);
    await page.waitForFunction(() => typeof search === 'function' && document.getElementById('frames'));
    const frames = await page.$$eval('#frames g[data-w]', (gs) => gs.map((g, i) => ({
      i, title: g.querySelector('title').textContent,
      w: +g.querySelector('rect').getAttribute('width'),
    })));
    if (!frames.length) return fail('no frames drawn');
    const mine = frames.filter((f) => f.title.startsWith(func + ' ('));
    if (!mine.length) return fail(`no frame named ${func} (have ${frames.slice(0, 8).map((f) => f.title).join(' | ')})`);
    const target = mine.reduce((a, b) => (b.w > a.w ? b : a));
    const rect = (await page.$$('#frames g[data-w] rect'))[target.i];

    await rect.hover();
    const details = await page.$eval('#details', (t) => t.textContent);
    if (!details.includes(func) || !/%/.test(details)) return fail(`hover details: "${details}"`);

    await rect.click();
    const zoomedW = await page.$$eval('#frames g[data-w] rect', (rs, i) => +rs[i].getAttribute('width'), target.i);
    const fullW = await page.evaluate(() => FULLW);
    if (Math.abs(zoomedW - fullW) > 1) return fail(`after click the frame is ${zoomedW}px wide, want ${fullW}`);
    if (await page.$eval('#unzoom', (u) => u.classList.contains('hide'))) return fail('no Reset Zoom after zoom');

    const pct = await page.evaluate((f) => search(f), func);
    const matched = await page.$eval('#matched', (t) => t.textContent);
    if (!(pct > 0) || !/Matched: [\d.]+%/.test(matched)) return fail(`search: ${pct}, "${matched}"`);
    if (mine.length === 1) {
      const share = +/\(.* ([\d.]+)%\)$/.exec(target.title)[1];
      if (Math.abs(share - pct) > 0.02) return fail(`matched ${pct}% but the frame holds ${share}%`);
    }
    await page.click('#unzoom');
    const w = await page.$$eval('#frames g[data-w] rect', (rs, i) => +rs[i].getAttribute('width'), target.i);
    if (Math.abs(w - target.w) > 0.11) return fail(`after reset the frame is ${w}px, was ${target.w}px`);
    if (shot) await page.screenshot({ path: shot });
    if (problems.length) return fail(problems.join('; '));
    console.log(`OK: ${frames.length} frames; ${func}: ${details.replace('Function: ', '')}; ${matched}`);
  } finally {
    await close();
  }
}

main().catch((e) => fail(e.stack || String(e)));
