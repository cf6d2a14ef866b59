// Shared helpers for the end-to-end tests: static server on an ephemeral
// port, Debian's Chromium through playwright-core, console-error capture,
// screenshots under artifacts/, and small waiting utilities.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Site root to serve; RESLAB_ROOT points the tests at another build of the site. */
export const ROOT = process.env.RESLAB_ROOT ? resolve(process.env.RESLAB_ROOT) : REPO;
export const ARTIFACTS = join(REPO, 'artifacts');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const MINUTE = 60_000;

/** Fails (never skips) when the wasm engine has not been built. */
export function requireBuild() {
  const wasm = join(ROOT, 'pkg', 'reslab_bg.wasm');
  const js = join(ROOT, 'pkg', 'reslab.js');
  if (!existsSync(wasm) || !existsSync(js)) {
    throw new Error(
      `${wasm} is missing: build the engine first (compile the crate for wasm32-unknown-unknown and run ` +
        'wasm-bindgen --target web --out-dir pkg), then run these tests again.',
    );
  }
  const samples = [
    'assets/sample/mnist/train-images-idx3-ubyte.gz',
    'assets/sample/mnist/train-labels-idx1-ubyte.gz',
    'assets/sample/mnist/t10k-images-idx3-ubyte.gz',
    'assets/sample/mnist/t10k-labels-idx1-ubyte.gz',
  ];
  const missing = samples.filter((f) => !existsSync(join(ROOT, f)));
  if (missing.length) throw new Error(`built-in sample files are missing under ${ROOT}: ${missing.join(', ')}`);
  if (!existsSync(join(ROOT, 'www', 'vendor', 'uPlot.esm.js'))) {
    throw new Error('www/vendor/uPlot.esm.js is missing: run "npm install" (or "node scripts/vendor.mjs") first.');
  }
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (set CHROMIUM_PATH).`);
}

/**
 * Starts the server and a fresh Chromium profile, opens the app.
 * Returns {page, context, server, url, consoleErrors, pageErrors, screenshot(name), close()}.
 * `server`: another server already serving the site ({url, close()}), used
 * instead of scripts/serve.mjs (and closed with the app).
 */
export async function openApp({ query = '', webgpu = false, viewport = { width: 1440, height: 1000 }, extraArgs = [], initScript = null, serverOptions = {}, beforeOpen = null, server: given = null } = {}) {
  const server = given ?? (await startServer({ port: 0, root: ROOT, ...serverOptions }));
  const profile = mkdtempSync(join(tmpdir(), 'reslab-chromium-'));
  const args = [
    '--headless=new',
    '--no-sandbox',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  args.push(...extraArgs);
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: false, // headless mode comes from --headless=new above
      args,
      viewport,
    });
  } catch (err) {
    await server.close();
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  // Runs in the page before its own scripts (e.g. to pose as a smaller device).
  if (initScript) await page.addInitScript(initScript);
  // E.g. routes that change what the server sends.
  if (beforeOpen) await beforeOpen(page);
  const consoleErrors = [];
  const pageErrors = [];
  const log = [];
  const onConsole = (where) => (msg) => {
    const line = `[${where} ${msg.type()}] ${msg.text()}`;
    log.push(line);
    if (msg.type() === 'error') consoleErrors.push(line);
  };
  page.on('console', onConsole('page'));
  page.on('pageerror', (err) => {
    pageErrors.push(String(err?.stack || err));
    log.push(`[pageerror] ${err}`);
  });
  page.on('worker', (w) => {
    w.on?.('console', onConsole('worker'));
  });
  const url = `${server.url}${query}`;
  await page.goto(url);

  async function screenshot(name) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, name);
    await page.screenshot({ path, fullPage: true });
    return path;
  }

  async function close() {
    try {
      await context.close();
    } finally {
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }

  return { page, context, server, url, consoleErrors, pageErrors, log, screenshot, close };
}

/** A control by its visible label (exact match: "Momentum" ≠ "BN momentum"). */
export function control(page, label) {
  return page.getByLabel(label, { exact: true });
}

/** Opens the "Advanced settings" section if it is closed. */
export async function openAdvanced(page) {
  const open = await page.locator('#advanced').evaluate((d) => d.open);
  if (!open) await page.getByText('Advanced settings', { exact: true }).click();
}

/** Waits until the page has loaded the engine and picked a backend; returns the backend line. */
export async function waitForBackend(page, timeout = 3 * MINUTE) {
  await page.waitForFunction(
    () => {
      const el = document.getElementById('backend-line');
      const banner = document.getElementById('engine-banner');
      return (el && ['cpu', 'webgpu', 'none'].includes(el.dataset.backend)) || (banner && !banner.hidden);
    },
    null,
    { timeout, polling: 250 },
  );
  const banner = page.locator('#engine-banner');
  if (await banner.isVisible()) throw new Error(`engine did not load: ${await banner.textContent()}`);
  return (await page.locator('#backend-line').textContent()).trim();
}

const END_STATES = ['finished', 'stopped', 'diverged', 'failed'];

/** Waits for the current run to end; returns its status (finished | stopped | diverged | failed). */
/** Polls `fn` until it returns something truthy; on timeout names `what`, with the page's diagnostics when `app` is given. */
export async function until(what, fn, timeout, app = null) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${app ? await diagnostics(app) : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * What a canvas shows: `lit`, the share of its grey pixels (r = g = b: the
 * tiles of feature maps, not their coloured gaps) brighter than 8; `distinct`,
 * how many different colours it holds.
 */
export function canvasInk(locator) {
  return locator.evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let [grey, lit] = [0, 0];
    const colours = new Set();
    for (let p = 0; p < d.length; p += 4) {
      colours.add((d[p] << 16) | (d[p + 1] << 8) | d[p + 2]);
      if (d[p] === d[p + 1] && d[p + 1] === d[p + 2]) {
        grey++;
        if (d[p] > 8) lit++;
      }
    }
    return { lit: grey ? lit / grey : 0, distinct: colours.size, width: c.width, height: c.height };
  });
}

export async function waitForRunEnd(page, timeout) {
  await page.waitForFunction(
    (ends) => ends.includes(document.getElementById('run-status')?.dataset.status),
    END_STATES,
    { timeout, polling: 1000 },
  );
  return page.locator('#run-status').getAttribute('data-status');
}

/**
 * Presses Train and waits until the run has really started. Fails at once,
 * with the page's own explanation, if the settings or the data are refused.
 */
export async function pressTrain(page, timeout = 5 * MINUTE) {
  const train = page.getByRole('button', { name: 'Train', exact: true });
  // Train is disabled while settings are invalid: report those instead of waiting.
  const ready = await page.waitForFunction(
    () => {
      const btn = document.getElementById('train');
      if (btn && !btn.disabled) return 'enabled';
      const errs = [...document.querySelectorAll('#settings .error:not([hidden])')].map((e) => e.textContent.trim()).filter(Boolean);
      return errs.length ? `settings refused: ${errs.join(' | ')}` : false;
    },
    null,
    { timeout: MINUTE, polling: 200 },
  );
  const why = await ready.jsonValue();
  if (why !== 'enabled') throw new Error(`Train is disabled: ${why}`);
  await train.click();
  const outcome = await page.waitForFunction(
    () => {
      const s = document.getElementById('run-status')?.dataset.status;
      if (s && s !== 'idle' && s !== 'preparing') return 'started';
      if (s === 'idle') {
        const errs = [...document.querySelectorAll('#data-error:not([hidden]), #form-errors:not([hidden]), #settings .error:not([hidden])')]
          .map((e) => e.textContent.trim())
          .filter(Boolean);
        if (errs.length) return `run refused: ${errs.join(' | ')}`;
      }
      return false;
    },
    null,
    { timeout, polling: 250 },
  );
  const result = await outcome.jsonValue();
  if (result !== 'started') throw new Error(result);
}

/** Text of the run message and data errors, to explain a failure. */
export async function diagnostics(app) {
  const { page } = app;
  const grab = async (sel) => {
    const loc = page.locator(sel);
    return (await loc.count()) ? ((await loc.first().textContent()) ?? '').trim() : '';
  };
  return [
    `status: ${await grab('#run-status')}`,
    `message: ${await grab('#run-message')}`,
    `data error: ${await grab('#data-error')}`,
    `form errors: ${await grab('#form-errors')}`,
    `backend: ${await grab('#backend-line')}`,
    `banner: ${await grab('#engine-banner')}`,
    `notices: ${await grab('#notice-list')}`,
    `console: ${app.log.slice(-20).join('\n  ')}`,
  ].join('\n');
}

/** Parses "Test accuracy: 97.8%" into 0.978. */
export function parseAccuracy(text) {
  const m = /(\d+(?:\.\d+)?)\s*%/.exec(text ?? '');
  return m ? Number(m[1]) / 100 : NaN;
}

/** Debug view the page exposes for tests (window.__reslab). */
export function debugState(page) {
  return page.evaluate(() => ({
    runs: window.__reslab.runs,
    counts: window.__reslab.chartCounts(),
    backend: window.__reslab.backend,
    state: window.__reslab.state,
  }));
}
