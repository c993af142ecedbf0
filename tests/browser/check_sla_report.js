// node check_sla_report.js FILE WANT_JSON SCREENSHOT_DIR
//
// Opens the printable SLO report (GET /api/v1/sla/reports?format=html, saved to FILE) in headless
// Chromium. Exit 0 with one "OK: ..." line, or 1 with one "FAIL: reason" line. Checks:
//   - the page loads with no page error, console error, dialog or request beyond the file itself
//     (no external assets);
//   - the days table has one column per SLO of WANT_JSON ({name: [compliance or null per day]}),
//     in order, and one row per day; each cell shows the compliance as a percentage (4 decimals,
//     green when it meets the SLO's objective, red when not) or "-" for a day without events;
//   - it prints: page.pdf() gives a PDF of at least one page; a screenshot is kept in SCREENSHOT_DIR.
'use strict';
const fs = require('fs');
const path = require('path');
const { launch, watch, fail } = require('./browser');

async function main() {
  const [file, wantJson, shots] = process.argv.slice(2);
  if (!file || !wantJson || !shots) throw new Error('usage: node check_sla_report.js FILE WANT_JSON DIR');
  const want = JSON.parse(wantJson);
  const names = Object.keys(want);
  fs.mkdirSync(shots, { recursive: true });
  const { ctx, close } = await launch();
  try {
    const page = await ctx.newPage();
    const problems = watch(page);
    await page.goto('file://' + path.resolve(file));
    const table = await page.evaluate(() => {
      const t = document.querySelector('table#days');
      if (!t) return null;
      const rows = [...t.querySelectorAll('tr')].map((tr) => [...tr.children].map((c) => ({
        text: c.textContent.trim(), cls: c.className, bg: getComputedStyle(c).backgroundColor,
      })));
      return rows;
    });
    if (!table) return fail('no table#days');
    const head = table[0].slice(1).map((c) => c.text);
    if (JSON.stringify(head) !== JSON.stringify(names)) return fail(`columns ${head} want ${names}`);
    const ndays = want[names[0]].length;
    if (table.length - 1 !== ndays) return fail(`${table.length - 1} rows, want ${ndays}`);
    let cells = 0;
    for (let d = 0; d < ndays; d++) {
      for (let i = 0; i < names.length; i++) {
        const c = table[d + 1][i + 1];
        const w = want[names[i]][d];
        if (w === null) {
          if (c.text !== '-') return fail(`day ${d} ${names[i]}: '${c.text}' for no events`);
          continue;
        }
        const m = /^(\d+\.\d{4})%$/.exec(c.text);
        if (!m || Math.abs(parseFloat(m[1]) / 100 - w) > 1e-6) {
          return fail(`day ${d} ${names[i]}: '${c.text}', want ${(w * 100).toFixed(4)}%`);
        }
        if (c.cls !== 'met' && c.cls !== 'missed') return fail(`day ${d} ${names[i]}: class '${c.cls}'`);
        if (c.bg === 'rgba(0, 0, 0, 0)') return fail(`day ${d} ${names[i]}: not coloured`);
        cells++;
      }
    }
    if (!cells) return fail('no day with events');
    const shot = path.join(shots, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
    if (pdf.length < 1000 || !pdf.slice(0, 5).toString().startsWith('%PDF') || pages < 1) {
      return fail(`page.pdf() gave ${pdf.length} bytes, ${pages} pages`);
    }
    fs.writeFileSync(path.join(shots, 'report.pdf'), pdf);
    if (problems.length) return fail(problems.join('; '));
    console.log(`OK: ${names.length} SLOs x ${ndays} days, ${cells} cells with the JSON's compliance; ` +
      `PDF ${pdf.length} bytes, ${pages} page(s)`);
  } finally {
    await close();
  }
}

main().catch((e) => fail(e.stack || e));
