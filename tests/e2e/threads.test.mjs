// The CPU backend's threads (www/threads.js, src/threads.rs):
// - on a cross-origin isolated page the CPU backend is the threaded engine,
//   with one pool thread per core, and it trains;
// - a trained model and the loaded dataset move with a change of backend
//   (threaded CPU → WebGPU on the full engine → back): the saved model file is
//   the same (but for Burn's random parameter ids), and the dataset trains on
//   the other engine;
// - served without COOP/COEP (a static host that cannot set headers), the
//   service worker adds them (sw.js, www/isolation.js): the page reloads once,
//   is isolated, says so ("N threads: … headers the service worker adds") and
//   trains on the threaded engine;
// - without COOP/COEP and without service workers the page is not isolated:
//   the CPU backend says it runs on one thread, and why, and still trains.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { MINUTE, diagnostics, openApp, pressTrain, requireBuild, waitForBackend, waitForRunEnd } from './helpers.mjs';

requireBuild();

const QUERY = '?backend=cpu&data=sample-mnist&model=cnn&batch_size=32&max_steps=4';

async function runEnds(app, timeout = 5 * MINUTE) {
  const status = await waitForRunEnd(app.page, timeout);
  assert.equal(status, 'finished', await diagnostics(app));
  const runs = await app.page.evaluate(() => window.__reslab.runs);
  return runs.at(-1);
}

/**
 * A run's model file, with each parameter's id zeroed: Burn's record gives
 * every parameter a fresh random id (`param_id`, a CBOR u64) on each save, so
 * two saves of the same weights differ there and only there.
 */
async function saveModel(app, runId) {
  const row = app.page.locator(`#results-body tr[data-run-id="${runId}"]`);
  const [dl] = await Promise.all([app.page.waitForEvent('download', { timeout: 2 * MINUTE }), row.getByTestId('save-model').click()]);
  const bytes = readFileSync(await dl.path());
  const tag = Buffer.from('param_id');
  let ids = 0;
  for (let i = bytes.indexOf(tag); i >= 0; i = bytes.indexOf(tag, i + 1)) {
    const at = i + tag.length;
    assert.equal(bytes[at], 0x1b, 'a param_id is a CBOR u64');
    bytes.fill(0, at + 1, at + 9);
    ids++;
  }
  assert.ok(ids >= 8, `the cnn's model file has a param_id per parameter tensor (found ${ids})`);
  return bytes;
}

async function switchBackend(app, value, pattern) {
  await app.page.locator('#backend').selectOption(value);
  await app.page.waitForFunction(
    (re) => new RegExp(re).test(document.getElementById('backend-line')?.textContent ?? ''),
    pattern.source,
    { timeout: 3 * MINUTE, polling: 250 },
  );
  return (await app.page.locator('#backend-line').textContent()).trim();
}

test('CPU backend on an isolated page: one pool thread per core; models and datasets move between engines', { timeout: 20 * MINUTE }, async () => {
  const app = await openApp({ query: QUERY, webgpu: true });
  try {
    const cores = await app.page.evaluate(() => navigator.hardwareConcurrency);
    assert.ok(await app.page.evaluate(() => self.crossOriginIsolated), 'the server should make the page cross-origin isolated');
    const line = await waitForBackend(app.page);
    if (cores > 1) {
      const n = Math.min(cores, 16);
      assert.equal(line, `Backend: CPU, ${n} threads (chosen in settings; ${n} threads: the page is cross-origin isolated by the server's COOP/COEP headers)`);
    } else {
      assert.match(line, /^Backend: CPU, 1 thread \(chosen in settings; one thread because this machine reports one core\)$/, line);
    }

    // The pool trains (a rayon job no pool thread ran would never finish).
    await pressTrain(app.page);
    const cpuRun = await runEnds(app);
    assert.ok(Number.isFinite(cpuRun.testAccuracy), JSON.stringify(cpuRun));
    const before = await saveModel(app, cpuRun.id);

    // To WebGPU (the full engine): the model comes along unchanged, and the
    // dataset is there to train on (SwiftShader: a few steps only).
    const gpuLine = await switchBackend(app, 'webgpu', /^Backend: WebGPU/);
    assert.match(gpuLine, /SwiftShader|software/i, gpuLine);
    assert.deepEqual(await saveModel(app, cpuRun.id), before, 'the CPU-trained model after the move to WebGPU');
    await pressTrain(app.page);
    const gpuRun = await runEnds(app, 10 * MINUTE);
    assert.ok(gpuRun.id !== cpuRun.id);
    const gpuModel = await saveModel(app, gpuRun.id);

    // And back to the threaded CPU engine: both models are still there, unchanged.
    const back = await switchBackend(app, 'cpu', /^Backend: CPU/);
    if (cores > 1) assert.match(back, /threads/, back);
    assert.deepEqual(await saveModel(app, cpuRun.id), before, 'the CPU-trained model after the round trip');
    assert.deepEqual(await saveModel(app, gpuRun.id), gpuModel, 'the WebGPU-trained model after the move to the CPU');
    assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
    assert.deepEqual(app.consoleErrors.filter((l) => !/GPU|WebGPU/i.test(l)), [], 'console errors');
  } finally {
    await app.close();
  }
});

/** Removes the isolation headers from a response the route sees. */
async function withoutIsolationHeaders(route) {
  const res = await route.fetch();
  const headers = { ...res.headers() };
  delete headers['cross-origin-opener-policy'];
  delete headers['cross-origin-embedder-policy'];
  delete headers['cross-origin-resource-policy'];
  await route.fulfill({ response: res, headers });
}

test('served without COOP/COEP and without service workers: one thread, the reason shown, and it trains', { timeout: 10 * MINUTE }, async () => {
  // The page's own response without the isolation headers (its workers inherit its isolation)…
  const withoutIsolation = (page) => page.route((url) => url.pathname === '/', withoutIsolationHeaders);
  // …and a browser that will not register service workers (as with storage blocked).
  const noServiceWorkers = () => {
    ServiceWorkerContainer.prototype.register = () => Promise.reject(new DOMException('blocked by this test', 'SecurityError'));
  };
  let loads = 0;
  const app = await openApp({ query: QUERY, initScript: noServiceWorkers, beforeOpen: (page) => (page.on('load', () => loads++), withoutIsolation(page)) });
  try {
    const line = await waitForBackend(app.page);
    assert.equal(await app.page.evaluate(() => self.crossOriginIsolated), false);
    assert.equal(
      line,
      'Backend: CPU, 1 thread (chosen in settings; one thread because this host does not send COOP/COEP and service workers are unavailable ' +
        '(blocked by this test), so the page is not cross-origin isolated and shared memory is off)',
    );
    assert.equal(loads, 1, 'no reload without a service worker');
    await pressTrain(app.page);
    const run = await runEnds(app);
    assert.ok(Number.isFinite(run.testAccuracy), JSON.stringify(run));
    assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
  } finally {
    await app.close();
  }
});

test('served without COOP/COEP: the service worker adds them, the page reloads once, threads, and it trains', { timeout: 10 * MINUTE }, async () => {
  // Every response without the isolation headers, the service worker's own requests included.
  const withoutIsolation = (page) => page.context().route('**/*', withoutIsolationHeaders);
  let loads = 0;
  const app = await openApp({ query: QUERY, beforeOpen: (page) => (page.on('load', () => loads++), withoutIsolation(page)) });
  try {
    // The first load is not isolated; it waits for the service worker and reloads (waitForBackend does not survive that).
    const end = Date.now() + 3 * MINUTE;
    while (!(await app.page.evaluate(() => self.crossOriginIsolated && document.getElementById('backend-line')?.dataset.backend).catch(() => false))) {
      if (Date.now() > end) throw new Error(`not isolated with a backend within 3 minutes:\n${await diagnostics(app)}`);
      await app.page.waitForTimeout(250);
    }
    const line = await waitForBackend(app.page);
    assert.equal(loads, 2, `one reload under the service worker (${line})`);
    const cores = await app.page.evaluate(() => navigator.hardwareConcurrency);
    if (cores > 1) {
      const n = Math.min(cores, 16);
      assert.equal(line, `Backend: CPU, ${n} threads (chosen in settings; ${n} threads: the page is cross-origin isolated by COOP/COEP headers the service worker adds)`);
    }
    await pressTrain(app.page);
    const run = await runEnds(app);
    assert.ok(Number.isFinite(run.testAccuracy), JSON.stringify(run));
    assert.equal(loads, 2, 'no further reload');
    assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
  } finally {
    await app.close();
  }
});
