// node check_speedscope.js FILE
//
// Loads FILE (speedscope JSON, folded stacks or gzipped pprof: whatever speedscope's importers take)
// into speedscope's own bundled page in headless Chromium, the way its documentation describes for
// local files: a script calling speedscope.loadFileFromBase64(NAME, DATA), named in
// index.html#localProfilePath=. Exit 0 with one "OK: ..." line, or 1 with one "FAIL: reason" line.
//   - speedscope JSON is first validated against the schema speedscope ships
//     (dist/release/file-format-schema.json), plus what the schema cannot say: sample and weight
//     counts equal, frame indices in range, no negative weights, evented profiles properly nested; a
//     file whose exporter is "vigil" must also keep Vigil's promises (every frame used, endValue -
//     startValue = the weights' sum, profiles heaviest first);
//   - in the page: the title becomes "NAME - speedscope" (NAME: the profile's name or the file name),
//     the active profile's name shows in the toolbar, and there is no page error, dialog
//     ("Unrecognized format!", "...but it's empty!"), "Something went wrong" or outside request.
// Prints which importer speedscope used (from its console).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { launch, watch, fail } = require('./browser');
const { validate } = require('./schema');

const RELEASE = path.join(__dirname, 'node_modules', 'speedscope', 'dist', 'release');

// Problems with a speedscope JSON document; [] when it is sound.
function checkDocument(doc) {
  const schema = JSON.parse(fs.readFileSync(path.join(RELEASE, 'file-format-schema.json'), 'utf8'));
  const errors = validate(schema, schema, doc);
  if (errors.length) return errors.slice(0, 5);
  const nframes = doc.shared.frames.length;
  const used = new Uint8Array(nframes);
  const totals = [];
  doc.profiles.forEach((p, pi) => {
    const at = `profiles[${pi}] "${p.name}"`;
    if (p.endValue < p.startValue) errors.push(`${at}: endValue < startValue`);
    if (p.type === 'sampled') {
      if (p.samples.length !== p.weights.length) errors.push(`${at}: ${p.samples.length} samples, ${p.weights.length} weights`);
      let sum = 0;
      p.weights.forEach((w, i) => {
        if (!(w >= 0)) errors.push(`${at}: weights[${i}] = ${w}`);
        sum += w;
      });
      p.samples.forEach((s, i) => s.forEach((f) => {
        if (!Number.isInteger(f) || f < 0 || f >= nframes) errors.push(`${at}: samples[${i}] has frame ${f} of ${nframes}`);
        else used[f] = 1;
      }));
      totals.push(sum);
      if (doc.exporter === 'vigil' && Math.abs(sum - (p.endValue - p.startValue)) > 1e-6 * Math.max(1, sum)) {
        errors.push(`${at}: weights add up to ${sum}, endValue - startValue is ${p.endValue - p.startValue}`);
      }
    } else {
      const open = [];
      let last = -Infinity;
      for (const e of p.events) {
        if (e.at < last) errors.push(`${at}: event at ${e.at} after ${last}`);
        last = e.at;
        if (!Number.isInteger(e.frame) || e.frame < 0 || e.frame >= nframes) errors.push(`${at}: event frame ${e.frame}`);
        else used[e.frame] = 1;
        if (e.type === 'O') open.push(e.frame);
        else if (open.pop() !== e.frame) errors.push(`${at}: close of frame ${e.frame} at ${e.at} does not match the last open`);
      }
      if (open.length) errors.push(`${at}: ${open.length} frames never closed`);
    }
  });
  if ('activeProfileIndex' in doc && doc.profiles.length && (doc.activeProfileIndex < 0 || doc.activeProfileIndex >= doc.profiles.length)) {
    errors.push(`activeProfileIndex ${doc.activeProfileIndex} of ${doc.profiles.length} profiles`);
  }
  if (doc.exporter === 'vigil') {
    const unused = used.findIndex((u) => !u);
    if (unused >= 0) errors.push(`shared.frames[${unused}] "${doc.shared.frames[unused].name}" is used by no sample`);
    for (let i = 1; i < totals.length; i++) {
      if (totals[i] > totals[i - 1]) errors.push(`profile ${i} weighs more than profile ${i - 1}: not heaviest first`);
    }
  }
  return errors.slice(0, 5);
}

async function main() {
  const file = process.argv[2];
  if (!file) return fail('usage: node check_speedscope.js FILE');
  if (!fs.existsSync(file)) return fail(`no such file: ${file}`);
  if (!fs.existsSync(path.join(RELEASE, 'index.html'))) return fail('speedscope missing: run npm ci in tests/browser');
  const raw = fs.readFileSync(file);
  const name = path.basename(file);
  const titles = [name];
  let doc = null;
  let kind = 'not JSON';
  try {
    doc = JSON.parse(raw.toString('utf8'));
    kind = 'JSON';
  } catch (e) { /* folded stacks, pprof, ... */ }
  let active = null;
  if (doc && doc.$schema === 'https://www.speedscope.app/file-format-schema.json') {
    kind = 'speedscope JSON';
    const errors = checkDocument(doc);
    if (errors.length) return fail(`not a valid speedscope file: ${errors.join('; ')}`);
    if (typeof doc.name === 'string') titles.unshift(doc.name);
    if (!doc.profiles.length) return fail('no profiles: speedscope refuses an empty file');
    active = doc.profiles[doc.activeProfileIndex || 0].name;
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-speedscope-'));
  const loader = path.join(tmp, 'load.js');
  fs.writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(name)}, ${JSON.stringify(raw.toString('base64'))});\n`);
  const { ctx, close } = await launch();
  try {
    const page = await ctx.newPage();
    const problems = watch(page);
    const importer = [];
    page.on('console', (m) => {
      if (/^Importing as/.test(m.text())) importer.push(m.text().replace(/^Importing as /, ''));
    });
    await page.goto(`file://${path.join(RELEASE, 'index.html')}#localProfilePath=${loader}`);
    try {
      await page.waitForFunction((ts) => ts.some((t) => document.title === `${t} - speedscope`) ||
        /Something went wrong/.test(document.body.innerText), titles, { timeout: 60000 });
    } catch (e) {
      return fail(`title never became "${titles.join('" or "')} - speedscope" (it is "${await page.title()}")${problems.length ? `; ${problems.join('; ')}` : ''}`);
    }
    // Let it draw, then look at what a person would see.
    await page.waitForTimeout(500);
    const body = await page.evaluate(() => document.body.innerText);
    const m = /Something went wrong[^\n]*|Unrecognized format[^\n]*/.exec(body);
    if (m) return fail(`speedscope says "${m[0]}"${problems.length ? `; ${problems.join('; ')}` : ''}`);
    if (problems.length) return fail(problems.join('; '));
    if (active !== null && !body.includes(active)) return fail(`the toolbar does not show the active profile "${active}"`);
    if (!importer.length) return fail('speedscope did not say which importer it used');
    console.log(`OK: ${name} (${kind}${doc && doc.profiles ? `, ${doc.profiles.length} profiles` : ''}): ` +
      `imported as ${importer.join('; ')}; title "${await page.title()}"`);
  } finally {
    await close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => fail(e.stack || String(e)));
