// node check_svg.js FILE [FUNCTION] [SCREENSHOT.png]
//
// Opens a Vigil SVG flame graph in headless Chromium and uses it the way a person would. Exit 0 with
// one "OK: ..." line, or 1 with one "FAIL: reason" line. Checks, in order:
//   - the file is self-contained (no URL but the SVG namespace, no href/src) and parses as SVG;
//   - the layout is sound: the root spans the full width and holds TOTAL, every frame sits inside its
//     parent, each tooltip says "NAME (WEIGHT UNIT, SHARE%)" with the frame's own weight and share
//     (a differential graph's adds "; base W, S%; +C points": C is data-c, the share's change, and
//     the frame is red when it grew, blue when it shrank, near white when it barely moved);
//   - hover over FUNCTION's widest frame (default: the widest frame below the process level): the
//     details line shows its name, weight, unit and share;
//   - search: Ctrl-F, type FUNCTION, Enter: the box shows the term, exactly the matching frames turn
//     magenta, and "Matched: P% (W UNIT)" equals the union of their ranges (nested matches counted
//     once), computed here independently; P > 0;
//   - click the frame: it spans the full width, frames outside it are hidden, its ancestors dimmed,
//     "Reset Zoom" appears and the matched share is now of the zoomed frame;
//   - Reset Zoom: the frame's width is back, nothing hidden, the matched share as before;
//   - optional screenshot (with the search highlighted), then Escape clears the search and the colours;
//   - no page error, console error, dialog or outside request at any point.
'use strict';
const fs = require('fs');
const path = require('path');
const { launch, watch, fail } = require('./browser');

const MAGENTA = 'rgb(230,0,230)';

// What the flame graph promises: the term as a regular expression, or as a plain substring.
function matcher(term) {
  let re = null;
  try {
    re = new RegExp(term);
  } catch (e) {
    re = null;
  }
  return (n) => (re !== null && re.test(n)) || n.indexOf(term) >= 0;
}

// The union of [x, x + w) ranges clipped to [vx, vx + vw).
function unionWeight(ranges, vx, vw) {
  const r = ranges.slice().sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let sum = 0;
  let end = vx;
  for (const [x, w] of r) {
    const s = Math.max(x, end);
    const e = Math.min(x + w, vx + vw);
    if (e > s) {
      sum += e - s;
      end = e;
    }
  }
  return sum;
}

function staticChecks(file) {
  const text = fs.readFileSync(file, 'utf8');
  const urls = (text.match(/\b(?:https?|ftp|file|data):[^\s"'<>)]*/g) || [])
    .filter((u) => u !== 'http://www.w3.org/2000/svg');
  if (urls.length) return `external reference in the file: ${urls[0]}`;
  if (/\s(?:xlink:)?(?:href|src)\s*=/.test(text)) return 'href/src attribute: the file is not self-contained';
  if (/@import|url\(/.test(text)) return 'CSS import or url(): the file is not self-contained';
  return null;
}

// Everything the checks need from the page, in one round trip.
function snapshot(page) {
  return page.evaluate(() => {
    const gs = Array.from(document.querySelectorAll('#frames g[data-w]'));
    return {
      total: TOTAL, fullw: FULLW, xpad: XPAD,
      unit: document.documentElement.getAttribute('data-unit'),
      details: document.getElementById('details').textContent,
      matched: document.getElementById('matched').textContent,
      term: document.getElementById('sterm').textContent,
      editing: document.getElementById('sbox').classList.contains('editing'),
      unzoomHidden: document.getElementById('unzoom').classList.contains('hide'),
      frames: gs.map((g, i) => {
        const t = g.querySelector('title').textContent;
        const r = g.querySelector('rect');
        return {
          i, title: t, name: t.substring(0, t.lastIndexOf(' (')),
          x: +g.getAttribute('data-x'), w: +g.getAttribute('data-w'), d: +g.getAttribute('data-d'),
          f: g.getAttribute('data-f'), fill: r.getAttribute('fill'), c: g.getAttribute('data-c'),
          rx: +r.getAttribute('x'), rw: +r.getAttribute('width'),
          hidden: g.classList.contains('hide'), parent: g.classList.contains('parent'),
        };
      }),
    };
  });
}

function layoutChecks(s) {
  const byDepth = new Map();
  const roots = s.frames.filter((f) => f.d === 0);
  if (roots.length !== 1) return `want one root frame, found ${roots.length}`;
  const root = roots[0];
  if (root.w !== s.total) return `root holds ${root.w}, TOTAL is ${s.total}`;
  if (Math.abs(root.rw - s.fullw) > 0.05 || Math.abs(root.rx - s.xpad) > 0.05) {
    return `root drawn at ${root.rx}+${root.rw}, want ${s.xpad}+${s.fullw}`;
  }
  // A differential flame graph (vigil diff): "; base W, S%; +C points" in every tooltip, the change
  // of share as data-c, and the colour red for a share that grew, blue for one that shrank.
  const maxChange = Math.max(0, ...s.frames.map((f) => Math.abs(f.c || 0)));
  for (const f of s.frames) {
    const m = /^(.*) \((\d+) (.+?), ([\d.]+)%(?:; base (\d+), ([\d.]+)%; ([+-][\d.]+) points)?\)$/.exec(f.title);
    if (!m) return `tooltip "${f.title}" is not "NAME (WEIGHT UNIT, SHARE%)"`;
    if ((m[5] !== undefined) !== (f.c !== null)) return `tooltip "${f.title}" and data-c disagree on a diff`;
    if (f.c !== null) {
      const c = +f.c;
      if (Math.abs(+m[7] - c) > 0.006 || Math.abs(+m[4] - +m[6] - c) > 0.011) return `tooltip "${f.title}": change ${c} is not new share - base share`;
      const rgb = /^rgb\((\d+),(\d+),(\d+)\)$/.exec(f.f).slice(1).map(Number);
      const kind = rgb[0] === 255 && rgb[1] === rgb[2] && rgb[1] < 235 ? 'red' : rgb[2] === 255 && rgb[0] === rgb[1] && rgb[0] < 235 ? 'blue' : rgb.join() === '235,235,235' ? 'white' : 'other';
      const want = Math.abs(c) < 0.01 * maxChange ? 'white' : c > 0 ? 'red' : 'blue';
      if (kind !== want && Math.abs(Math.abs(c) - 0.01 * maxChange) > 0.001) return `frame "${f.name}" changed ${c} points but is ${f.f} (${kind}, want ${want})`;
    }
    if (+m[2] !== f.w || m[3] !== s.unit) return `tooltip "${f.title}" vs weight ${f.w} ${s.unit}`;
    if (Math.abs(+m[4] - (100 * f.w) / s.total) > 0.006) return `tooltip "${f.title}": share should be ${((100 * f.w) / s.total).toFixed(2)}%`;
    const want = s.xpad + (f.x / s.total) * s.fullw;
    if (Math.abs(f.rx - want) > 0.06) return `frame "${f.name}" at x=${f.rx}, want ${want.toFixed(1)}`;
    if (!byDepth.has(f.d)) byDepth.set(f.d, []);
    byDepth.get(f.d).push(f);
  }
  for (const list of byDepth.values()) list.sort((a, b) => a.x - b.x);
  for (const [d, list] of byDepth) {
    if (d === 0) continue;
    const parents = byDepth.get(d - 1) || [];
    let prevEnd = -1;
    for (const f of list) {
      if (f.x < prevEnd) return `frames overlap at depth ${d} ("${f.name}")`;
      prevEnd = f.x + f.w;
      // The parent is the last frame one level down that starts at or before f.
      let lo = 0;
      let hi = parents.length - 1;
      let p = null;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (parents[mid].x <= f.x) {
          p = parents[mid];
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (!p || f.x + f.w > p.x + p.w) return `frame "${f.name}" (depth ${d}) lies outside any parent`;
    }
  }
  return null;
}

async function main() {
  let [file, func, shot] = process.argv.slice(2);
  if (func && /\.png$/i.test(func) && !shot) {
    shot = func;
    func = undefined;
  }
  if (!file) return fail('usage: node check_svg.js FILE [FUNCTION] [SCREENSHOT.png]');
  if (!fs.existsSync(file)) return fail(`no such file: ${file}`);
  const bad = staticChecks(file);
  if (bad) return fail(bad);

  const { ctx, close } = await launch();
  try {
    const page = await ctx.newPage();
    const problems = watch(page);
    await page.goto(`file://${path.resolve(file)}`);
    const doc = await page.evaluate(() => ({
      ns: document.documentElement.namespaceURI,
      tag: document.documentElement.localName,
      errors: Array.from(document.getElementsByTagNameNS('*', 'parsererror')).map((e) => e.textContent),
    }));
    if (doc.errors.length) return fail(`XML parse error: ${doc.errors[0]}`);
    if (doc.ns !== 'http://www.w3.org/2000/svg' || doc.tag !== 'svg') return fail(`not an SVG document: <${doc.tag}> in ${doc.ns}`);
    await page.waitForFunction(() => typeof search === 'function' && typeof TOTAL === 'number',
      null, { timeout: 30000 });

    let s = await snapshot(page);
    if (!s.frames.length) return fail('no frames drawn');
    const layout = layoutChecks(s);
    if (layout) return fail(layout);

    // The frame to exercise.
    let mine;
    if (func) {
      mine = s.frames.filter((f) => f.name === func);
      if (!mine.length) {
        const widest = s.frames.slice().sort((a, b) => b.w - a.w).slice(0, 8).map((f) => f.name);
        return fail(`no frame named "${func}" (widest: ${widest.join(' | ')})`);
      }
    } else {
      mine = s.frames.filter((f) => f.d >= 2);
      if (!mine.length) mine = s.frames;
    }
    const target = mine.reduce((a, b) => (b.w > a.w ? b : a));
    const term = func || target.name;
    const rect = page.locator('#frames g[data-w]').nth(target.i).locator('rect');

    // Hover.
    await rect.hover();
    s = await snapshot(page);
    if (s.details !== `Function: ${target.title}`) return fail(`hover shows "${s.details}", want "Function: ${target.title}"`);

    // Search through the box: Ctrl-F, type, Enter.
    await page.mouse.move(1, 1);
    await page.keyboard.press('Control+f');
    s = await snapshot(page);
    if (!s.editing) return fail('Ctrl-F did not open the search box');
    await page.keyboard.type(term);
    await page.keyboard.press('Enter');
    s = await snapshot(page);
    if (s.editing) return fail('Enter did not close the search box');
    if (term.length <= 36 && s.term !== term) return fail(`search box shows "${s.term}", typed "${term}"`);
    const match = matcher(term);
    const hits = s.frames.filter((f) => match(f.name));
    const lit = s.frames.filter((f) => f.fill === MAGENTA);
    if (lit.length !== hits.length || lit.some((f) => !match(f.name))) {
      return fail(`${lit.length} frames highlighted, ${hits.length} match "${term}"`);
    }
    const wantSum = unionWeight(hits.map((f) => [f.x, f.w]), 0, s.total);
    const m = /^Matched: ([\d.]+)% \((\d+) /.exec(s.matched);
    if (!m) return fail(`matched line "${s.matched}"`);
    const pct = +m[1];
    if (!(pct > 0)) return fail(`search for "${term}" matched ${pct}%`);
    if (+m[2] !== wantSum || Math.abs(pct - (100 * wantSum) / s.total) > 0.006) {
      return fail(`"${s.matched}", want ${((100 * wantSum) / s.total).toFixed(2)}% (${wantSum})`);
    }
    const matchedLine = s.matched;

    // Zoom.
    await rect.click();
    s = await snapshot(page);
    const z = s.frames[target.i];
    if (Math.abs(z.rw - s.fullw) > 0.5 || Math.abs(z.rx - s.xpad) > 0.5) return fail(`after click "${target.name}" is at ${z.rx}+${z.rw}px, want ${s.xpad}+${s.fullw}`);
    if (s.unzoomHidden) return fail('no Reset Zoom control after zooming');
    for (const f of s.frames) {
      const inside = f.d >= target.d && f.x >= target.x && f.x + f.w <= target.x + target.w;
      const ancestor = f.d < target.d && f.x <= target.x && target.x < f.x + f.w;
      if (inside && (f.hidden || f.parent)) return fail(`"${f.name}" inside the zoomed frame is hidden`);
      if (ancestor && !f.parent) return fail(`ancestor "${f.name}" is not shown dimmed`);
      if (!inside && !ancestor && !f.hidden) return fail(`"${f.name}" outside the zoomed frame is still shown`);
    }
    const zoomSum = unionWeight(hits.map((f) => [f.x, f.w]), target.x, target.w);
    const zm = /^Matched: ([\d.]+)% \((\d+) .* of the zoomed frame\)$/.exec(s.matched);
    if (!zm || +zm[2] !== zoomSum || Math.abs(+zm[1] - (100 * zoomSum) / target.w) > 0.006) {
      return fail(`zoomed: "${s.matched}", want ${((100 * zoomSum) / target.w).toFixed(2)}% of the zoomed frame`);
    }

    // Reset zoom.
    await page.click('#unzoom');
    s = await snapshot(page);
    if (Math.abs(s.frames[target.i].rw - target.rw) > 0.11) return fail(`after Reset Zoom "${target.name}" is ${s.frames[target.i].rw}px, was ${target.rw}px`);
    if (s.frames.some((f) => f.hidden || f.parent)) return fail('frames still hidden after Reset Zoom');
    if (!s.unzoomHidden) return fail('Reset Zoom still shown after resetting');
    if (s.matched !== matchedLine) return fail(`after Reset Zoom "${s.matched}", was "${matchedLine}"`);
    if (shot) await page.screenshot({ path: shot });

    // Clear the search.
    await page.keyboard.press('Escape');
    s = await snapshot(page);
    if (s.matched.trim() !== '') return fail(`Escape left "${s.matched}"`);
    if (s.frames.some((f) => f.fill !== f.f)) return fail('Escape left frames coloured');

    if (problems.length) return fail(problems.join('; '));
    console.log(`OK: ${path.basename(file)}: ${s.frames.length} frames, ${s.total} ${s.unit}; hover "${target.title}"; ` +
      `search "${term}": ${matchedLine}; zoom and reset ok${shot ? `; screenshot ${shot}` : ''}`);
  } finally {
    await close();
  }
}

main().catch((e) => fail(e.stack || String(e)));
