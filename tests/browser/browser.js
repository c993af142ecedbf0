// Shared by the browser checks: headless Debian Chromium through playwright-core, with the flags these
// machines need (no sandbox as root; no background networking: the network is closed anyway), a fresh
// profile directory per run, and a record of everything a page complains about.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--allow-file-access-from-files',
  '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// One line on stdout, exit status 1. Later calls keep the first reason.
let failed = false;
function fail(msg) {
  if (!failed) console.log(`FAIL: ${String(msg).replace(/\s+/g, ' ').slice(0, 2000)}`);
  failed = true;
  process.exitCode = 1;
}

async function launch() {
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    throw new Error('playwright-core missing: run npm ci in tests/browser (scripts/install-deps.sh --test)');
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM} (apt-get install chromium)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-chromium-'));
  // playwright adds its own --headless; the flag is listed anyway so the command line says it all.
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 },
  });
  const close = async () => {
    await ctx.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { ctx, close };
}

// Uncaught errors, console errors, dialogs (answered, so the page does not hang), and any request
// that leaves the local files (a self-contained document makes none).
function watch(page, { allowConsoleErrors = [] } = {}) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !allowConsoleErrors.some((re) => re.test(m.text()))) {
      problems.push(`console error: ${m.text()}`);
    }
  });
  page.on('dialog', async (d) => {
    problems.push(`dialog: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on('request', (r) => {
    if (!/^(file|data|blob|about):/.test(r.url())) problems.push(`external request: ${r.url()}`);
  });
  return problems;
}

module.exports = { launch, watch, fail, FLAGS };
