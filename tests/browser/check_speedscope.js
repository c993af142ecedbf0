// node check_speedscope.js FILE: load FILE (speedscope JSON, folded stacks or pprof) into speedscope's
// own page in headless Chromium; exit 0 when it imports cleanly (the title becomes "NAME - speedscope",
// NAME being the file name or the profile's own name; no page error, no dialog, no "Something went
// wrong"/"Unrecognized format"). Prints the importer used.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { launch, watch, fail } = require('./browser');

async function main() {
  const file = process.argv[2];
  if (!file) return fail('usage: node check_speedscope.js FILE');
  const name = path.basename(file);
  let want = [name];
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (doc && typeof doc.name === 'string') want.push(doc.name); // speedscope titles it so
  } catch (e) { /* not JSON: folded or pprof */ }
  const data = fs.readFileSync(file).toString('base64');
  const loader = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ss-')), 'load.js');
  fs.writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(name)}, ${JSON.stringify(data)});\n`);
  const index = path.join(__dirname, 'node_modules', 'speedscope', 'dist', 'release', 'index.html');
  const { ctx, close } = await launch();
  try {
    const page = await ctx.newPage();
    const problems = watch(page);
    const importer = [];
    page.on('console', (m) => { if (/Importing as/.test(m.text())) importer.push(m.text()); });
    await page.goto(`file://${index}#localProfilePath=${loader}`);
    try {
      await page.waitForFunction((ns) => ns.some((n) => document.title === `${n} - speedscope`), want,
        { timeout: 60000 });
    } catch (e) {
      return fail(`title never became "${want.join('" or "')} - speedscope" (got "${await page.title()}"); ${problems.join('; ')}`);
    }
    await page.waitForTimeout(500);
    const body = await page.evaluate(() => document.body.innerText);
    if (/Something went wrong|Unrecognized format/.test(body)) return fail(`speedscope says: ${body.slice(0, 200)}`);
    if (problems.length) return fail(problems.join('; '));
    console.log(`OK: ${name}: ${importer.join('; ') || 'imported'}`);
  } finally {
    await close();
    fs.rmSync(path.dirname(loader), { recursive: true, force: true });
  }
}

main().catch((e) => fail(e.stack || String(e)));
