// Time to accuracy in the page: loads the full MNIST (the four official .gz
// files) through the page's own file input, then trains the small CNN (model
// `cnn` with the page's defaults: Adam, lr 1e-3, batch 64) on the CPU backend
// for a given number of steps (the "Max steps" setting), and prints one JSON
// line per run:
//   {steps, status, test_accuracy, seconds_from_train_to_finished,
//    run_time_shown_by_page, engine, threads, data_load_seconds, ...}
// The engine is the page's threaded CPU engine when the page is cross-origin
// isolated (the server of tests/e2e/helpers.mjs sends the headers for that).
//
//   node scripts/time-to-accuracy.mjs --mnist /work/shared/data/mnist --steps 600
//   node scripts/time-to-accuracy.mjs --mnist DIR --steps 100,300,600   # several runs, one page
//
// Options: --timeout-min M  per run (default: 10 + steps/60 minutes)
//          --screenshot     saves artifacts/time-to-accuracy-<steps>.png after each run
// Progress goes to stderr; the JSON lines to stdout. Needs a built pkg/.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  MINUTE,
  control,
  diagnostics,
  openAdvanced,
  openApp,
  parseAccuracy,
  pressTrain,
  requireBuild,
  waitForBackend,
} from '../tests/e2e/helpers.mjs';

const FILES = [
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  't10k-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz',
];
const END_STATES = ['finished', 'stopped', 'diverged', 'failed'];

const { values: opts } = parseArgs({
  options: {
    mnist: { type: 'string', default: '/work/shared/data/mnist' },
    steps: { type: 'string', default: '100' },
    'timeout-min': { type: 'string' },
    screenshot: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log('usage: node scripts/time-to-accuracy.mjs --mnist DIR --steps N[,N...] [--timeout-min M] [--screenshot]');
  process.exit(0);
}
const stepsList = opts.steps.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
if (!stepsList.length || stepsList.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error(`--steps: expected positive integers separated by commas, got "${opts.steps}"`);
  process.exit(2);
}
const mnistDir = resolve(opts.mnist);
const paths = FILES.map((f) => join(mnistDir, f));
const missing = paths.filter((p) => !existsSync(p));
if (missing.length) {
  console.error(`missing MNIST files: ${missing.join(', ')}`);
  process.exit(2);
}

const log = (...a) => console.error(`[time-to-accuracy ${new Date().toISOString().slice(11, 19)}]`, ...a);

requireBuild();
const app = await openApp({ query: '?backend=cpu' });
const { page } = app;
let exitCode = 0;
try {
  // In-page clocks: the moment Train is clicked and the moment the run's
  // status becomes an end state, and when the loaded dataset is reported.
  await page.evaluate((ends) => {
    const t = (window.__tta = { click: null, end: null, endStatus: null, change: null, loaded: null });
    document.getElementById('train').addEventListener('click', () => {
      t.click = performance.now();
      t.end = null;
      t.endStatus = null;
    }, { capture: true });
    const status = document.getElementById('run-status');
    new MutationObserver(() => {
      const s = status.dataset.status;
      if (t.click !== null && t.end === null && ends.includes(s)) {
        t.end = performance.now();
        t.endStatus = s;
      }
    }).observe(status, { attributes: true, attributeFilter: ['data-status'] });
    document.getElementById('data-files').addEventListener('change', () => {
      t.change = performance.now();
      t.loaded = null;
    }, { capture: true });
    const userStatus = document.getElementById('user-data-status');
    new MutationObserver(() => {
      if (t.change !== null && t.loaded === null && /60,000 train/.test(userStatus.textContent)) t.loaded = performance.now();
    }).observe(userStatus, { childList: true, characterData: true, subtree: true });
  }, END_STATES);

  const backendLine = await waitForBackend(page);
  const env = await page.evaluate(() => ({
    crossOriginIsolated: self.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
    backend: window.__reslab?.backend ?? null,
  }));
  log(`${backendLine} · crossOriginIsolated=${env.crossOriginIsolated} · hardwareConcurrency=${env.hardwareConcurrency}`);

  // ---- load the four files through the page's file input
  await control(page, 'Dataset').selectOption({ label: 'Load files…' });
  const tLoad = Date.now();
  await control(page, 'Dataset files').setInputFiles(paths);
  const loaded = await page.waitForFunction(
    () => {
      const err = document.getElementById('data-error');
      if (err && !err.hidden && err.textContent.trim()) return `error: ${err.textContent.trim()}`;
      const s = document.getElementById('user-data-status')?.textContent ?? '';
      return /60,000 train/.test(s) ? s.trim() : false;
    },
    null,
    { timeout: 10 * MINUTE, polling: 50 },
  );
  const loadedText = await loaded.jsonValue();
  const dataLoadSeconds = (Date.now() - tLoad) / 1000;
  if (loadedText.startsWith('error:')) throw new Error(`loading the MNIST files failed: ${loadedText}`);
  const inPage = await page.evaluate(() => window.__tta);
  const dataLoadInPage = inPage.change !== null && inPage.loaded !== null ? (inPage.loaded - inPage.change) / 1000 : null;
  log(`data loaded in ${dataLoadSeconds.toFixed(2)} s: ${loadedText}`);

  // ---- the network and its defaults
  await control(page, 'Model').selectOption('cnn');
  await openAdvanced(page);

  for (const steps of stepsList) {
    await control(page, 'Max steps').fill(String(steps));
    const before = new Set(await page.locator('[data-testid="result-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.runId)));
    const settings = {
      dataset_select: await control(page, 'Dataset').inputValue(),
      model: await control(page, 'Model').inputValue(),
      optimizer: await control(page, 'Optimizer').inputValue(),
      lr: await control(page, 'Learning rate').inputValue(),
      batch_size: await control(page, 'Batch size').inputValue(),
      max_steps: await control(page, 'Max steps').inputValue(),
    };
    log(`run: ${JSON.stringify(settings)}`);

    const timeout = (opts['timeout-min'] ? Number(opts['timeout-min']) : 10 + steps / 60) * MINUTE;
    const t0 = Date.now();
    await pressTrain(page);
    // Progress on stderr while waiting for the end.
    let lastStep = '';
    const ticker = setInterval(async () => {
      try {
        const s = (await page.locator('#run-step').textContent())?.trim();
        const speed = (await page.locator('#run-speed').textContent())?.trim();
        if (s && s !== lastStep) log(`  step ${s} · ${speed}`);
        lastStep = s;
      } catch {}
    }, 15_000);
    let status;
    try {
      const h = await page.waitForFunction(() => window.__tta.end !== null && window.__tta.endStatus, null, { timeout, polling: 200 });
      status = await h.jsonValue();
    } finally {
      clearInterval(ticker);
    }
    const nodeSeconds = (Date.now() - t0) / 1000;
    const clocks = await page.evaluate(() => window.__tta);
    const pageSeconds = (clocks.end - clocks.click) / 1000;

    // The new result row, and its test accuracy once filled in.
    const rowSel = await page.waitForFunction(
      (old) => {
        const row = [...document.querySelectorAll('[data-testid="result-row"]')].find((r) => !old.includes(r.dataset.runId));
        if (!row) return false;
        const test = row.querySelector('[data-testid="result-test"]')?.textContent ?? '';
        return /%/.test(test) || row.dataset.status !== 'finished' ? row.dataset.runId : false;
      },
      [...before],
      { timeout: MINUTE, polling: 200 },
    ).then((h) => h.jsonValue()).catch(() => null);
    let row = null;
    if (rowSel) {
      row = await page.evaluate((id) => {
        const heads = [...document.querySelectorAll('#results-head th')].map((th) => th.textContent.replace(/[▲▼]/g, '').trim());
        const tr = document.querySelector(`[data-testid="result-row"][data-run-id="${id}"]`);
        const cells = [...tr.cells].map((td) => td.textContent.trim());
        const byHead = Object.fromEntries(heads.map((h, i) => [h, cells[i]]).filter(([h]) => h));
        return { id, byHead };
      }, rowSel);
    }
    const run = await page.evaluate((id) => (window.__reslab?.runs ?? []).find((r) => String(r.id) === String(id)) ?? null, rowSel);
    const accText = row?.byHead['Test acc.'] ?? '';
    const panelAcc = (await page.getByTestId('test-accuracy').isVisible()) ? (await page.getByTestId('test-accuracy').textContent()).trim() : '';
    const stepText = (await page.locator('#run-step').textContent())?.trim();
    const backendNow = (await page.locator('#backend-line').textContent()).trim();

    const out = {
      steps,
      status,
      steps_done: run?.step ?? stepText,
      test_accuracy: parseAccuracy(accText),
      test_accuracy_text: accText,
      test_accuracy_panel: panelAcc,
      seconds_from_train_to_finished: Number(pageSeconds.toFixed(2)),
      seconds_from_train_to_finished_node: Number(nodeSeconds.toFixed(2)),
      run_time_shown_by_page: row?.byHead['Time'] ?? null,
      img_per_s_shown_by_page: row?.byHead['img/s'] ?? null,
      engine: backendNow.replace(/^Backend:\s*/, ''),
      threads: env.backend?.threads ?? null,
      cross_origin_isolated: env.crossOriginIsolated,
      data_load_seconds: Number(dataLoadSeconds.toFixed(2)),
      data_load_seconds_in_page: dataLoadInPage === null ? null : Number(dataLoadInPage.toFixed(2)),
      dataset: loadedText,
      config: run?.config
        ? Object.fromEntries(['model', 'optimizer', 'lr', 'batch_size', 'max_steps', 'epochs', 'val_size', 'log_every', 'seed'].map((k) => [k, run.config[k]]))
        : settings,
      run_id: rowSel,
    };
    if (status !== 'finished') {
      out.diagnostics = await diagnostics(app);
      exitCode = 1;
    }
    console.log(JSON.stringify(out));
    if (opts.screenshot) await app.screenshot(`time-to-accuracy-${steps}.png`);
  }
  if (app.pageErrors.length) log(`uncaught page errors:\n  ${app.pageErrors.join('\n  ')}`);
} catch (err) {
  log(`failed: ${err?.stack || err}`);
  try {
    log(await diagnostics(app));
  } catch {}
  exitCode = 1;
} finally {
  await app.close();
}
process.exit(exitCode);
