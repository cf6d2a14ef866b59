// (d) Forced WebGPU (SwiftShader in headless Chromium: software, very slow):
//     a 3-step run of the small convnet finishes with a finite loss; Use the
//     net, on the WebGPU engine, predicts a test image as the run's
//     evaluation did, and draws the net's feature maps.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MINUTE,
  canvasInk,
  diagnostics,
  debugState,
  openApp,
  pressTrain,
  requireBuild,
  until,
  waitForBackend,
  waitForRunEnd,
} from './helpers.mjs';

test('(d) ?backend=webgpu trains cnn for 3 steps on WebGPU', { timeout: 30 * MINUTE }, async (t) => {
  requireBuild();
  const query =
    '?backend=webgpu&data=sample-mnist&model=cnn&optimizer=adam&lr=0.001&batch_size=8&max_steps=3' +
    '&log_every=1&val_size=64&test_limit=64';
  const app = await openApp({ query, webgpu: true });
  t.after(() => app.close());
  const { page } = app;

  const backend = await waitForBackend(page, 5 * MINUTE);
  assert.match(backend, /WebGPU/, `backend line: ${backend}\n${await diagnostics(app)}`);
  assert.equal(await page.locator('#backend-line').getAttribute('data-backend'), 'webgpu');

  await pressTrain(page, 10 * MINUTE);
  const status = await waitForRunEnd(page, 25 * MINUTE);
  assert.equal(status, 'finished', await diagnostics(app));

  const { runs, counts } = await debugState(page);
  const run = runs.at(-1);
  assert.ok(Number.isFinite(run.lastLoss), `last loss is not finite: ${run.lastLoss}`);
  assert.ok(counts.steps > 0, 'loss chart has no points');

  // Use the net on the GPU: a test image is predicted as the evaluation (batched, also on the GPU) predicted it.
  await page.getByTestId('result-row').first().click();
  const figure = page.getByTestId('image-grid').locator('figure').first();
  await figure.waitFor({ timeout: 2 * MINUTE });
  const [, pred] = /predicted (\S+), true/.exec(await figure.getAttribute('title'));
  await until('the model in Use the net', async () => /cnn, input 28×28 grey/.test(await page.getByTestId('use-model').textContent()), 2 * MINUTE, app);
  await page.locator('#inside > summary').click();
  await figure.click();
  const prediction = page.getByTestId('prediction');
  await until('a prediction on the GPU', () => prediction.evaluate((ol) => ol.dataset.pending === undefined && ol.dataset.top !== undefined), 5 * MINUTE, app);
  assert.equal(await prediction.getAttribute('data-top'), pred, 'Use the net and the evaluation disagree on the GPU');
  const maps = page.getByTestId('feature-map');
  await until('the feature maps', async () => (await maps.count()) === 2, 5 * MINUTE, app);
  for (const c of await maps.locator('canvas').all()) assert.ok((await canvasInk(c)).lit > 0.02, 'blank feature maps on the GPU');
  await app.screenshot('webgpu-cnn.png');
  assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
});

/** A long cnn run on WebGPU, two steps in: the moment the failure tests break something. */
async function twoStepsOnWebGpu(t) {
  requireBuild();
  // Test mode (?test=1): the failure tests need window.__reslab.debugLoseDevice / debugGpuError.
  const query = '?test=1&backend=webgpu&data=sample-mnist&model=cnn&batch_size=8&max_steps=500&log_every=1&test_limit=64';
  const app = await openApp({ query, webgpu: true });
  t.after(() => app.close());
  const { page } = app;
  assert.match(await waitForBackend(page, 5 * MINUTE), /WebGPU/);
  await pressTrain(page, 10 * MINUTE);
  const until = Date.now() + 15 * MINUTE;
  while ((await debugState(page)).runs.at(-1)?.steps < 2) {
    if (Date.now() > until) throw new Error(`no steps: ${await diagnostics(app)}`);
    await page.waitForTimeout(500);
  }
  return app;
}

/** Sets "Max steps" (under Advanced settings when folded away). */
async function setMaxSteps(page, n) {
  const field = () => page.getByLabel('Max steps', { exact: true });
  await field().fill(String(n)).catch(async () => {
    await page.getByText('Advanced settings', { exact: true }).click();
    await field().fill(String(n));
  });
  await field().press('Tab');
}

test('the GPU device lost mid-run: the run is marked failed with its curves kept, and the next run works', { timeout: 30 * MINUTE }, async (t) => {
  const app = await twoStepsOnWebGpu(t);
  const { page } = app;
  await page.evaluate(() => window.__reslab.debugLoseDevice());
  const status = await waitForRunEnd(page, 5 * MINUTE);
  assert.equal(status, 'failed', await diagnostics(app));
  const lost = (await debugState(page)).runs.at(-1);
  assert.match(lost.message, /GPU device was lost/);
  assert.ok(lost.steps >= 2, `curves were not kept: ${JSON.stringify(lost)}`);
  assert.match(await page.locator('#notice-list').textContent(), /GPU device was lost/);

  // A fresh engine takes the next run.
  await setMaxSteps(page, 2);
  await waitForBackend(page, 5 * MINUTE);
  await pressTrain(page, 10 * MINUTE);
  assert.equal(await waitForRunEnd(page, 20 * MINUTE), 'finished', await diagnostics(app));
  const runs = (await debugState(page)).runs;
  assert.equal(runs.length, 2);
  assert.equal(runs[0].status, 'failed');
  assert.equal(runs[1].status, 'finished');
});

test('the GPU reports an error mid-run: the run is marked failed with its curves kept, and training goes on on the CPU', { timeout: 30 * MINUTE }, async (t) => {
  const app = await twoStepsOnWebGpu(t);
  const { page } = app;
  // A call the device rejects: WebGPU reports it on the device, not to the caller.
  await page.evaluate(() => window.__reslab.debugGpuError());
  assert.equal(await waitForRunEnd(page, 5 * MINUTE), 'failed', await diagnostics(app));
  const failed = (await debugState(page)).runs.at(-1);
  assert.match(failed.message, /GPU reported a validation error/);
  assert.ok(failed.steps >= 2, `curves were not kept: ${JSON.stringify(failed)}`);
  assert.match(await page.locator('#notice-list').textContent(), /GPU reported a validation error.*on the CPU/);

  // The fresh engine is on the CPU, says why, and trains.
  const backend = await waitForBackend(page, 5 * MINUTE);
  assert.match(backend, /CPU.*GPU reported a validation error.*WebGPU is not used until the page is reloaded/, backend);
  assert.equal(await page.locator('#backend-line').getAttribute('data-backend'), 'cpu');
  await setMaxSteps(page, 2);
  await pressTrain(page, 10 * MINUTE);
  assert.equal(await waitForRunEnd(page, 10 * MINUTE), 'finished', await diagnostics(app));
  const runs = (await debugState(page)).runs;
  assert.deepEqual(runs.map((r) => r.status), ['failed', 'finished']);
  assert.ok(Number.isFinite(runs[1].lastLoss), `last loss: ${runs[1].lastLoss}`);
});

// The GPU self-check at every WebGPU engine start: each layer kind forward and
// backward on the GPU against the CPU. (d) above passes it on SwiftShader;
// here test mode makes it find ReLU's output wrong, as a broken kernel or a
// dropped command buffer would: the run must go to the CPU engine and the
// page must say which op differed, by how much, on which adapter.
test('a GPU whose self-check fails is not trained on: the CPU engine is, and the page says why', { timeout: 15 * MINUTE }, async (t) => {
  requireBuild();
  const app = await openApp({ query: '?test=1&gpu_corrupt=relu&backend=webgpu&data=sample-mnist&model=cnn&batch_size=8&max_steps=3&log_every=1&test_limit=64', webgpu: true });
  t.after(() => app.close());
  const { page } = app;
  const line = await waitForBackend(page, 5 * MINUTE);
  assert.equal(await page.locator('#backend-line').getAttribute('data-backend'), 'cpu', line);
  assert.match(line, /GPU self-check failed on .*SwiftShader.*: relu output differs from the CPU by 1\.000e0/i, line);
  const notices = await page.locator('#notice-list li').allTextContents();
  assert.ok(notices.some((n) => /self-check failed .*relu output differs.*training on the CPU backend instead/i.test(n)), notices.join('\n'));
  // And the run trains, on the CPU.
  await pressTrain(page, 5 * MINUTE);
  assert.equal(await waitForRunEnd(page, 5 * MINUTE), 'finished', await diagnostics(app));
  assert.equal((await debugState(page)).backend?.backend ?? 'cpu', 'cpu');
  assert.deepEqual(app.pageErrors, []);
});

test('outside test mode the self-check cannot be told to fail', { timeout: 15 * MINUTE }, async (t) => {
  requireBuild();
  const app = await openApp({ query: '?gpu_corrupt=relu&backend=webgpu&data=sample-mnist', webgpu: true });
  t.after(() => app.close());
  const line = await waitForBackend(app.page, 5 * MINUTE);
  assert.equal(await app.page.locator('#backend-line').getAttribute('data-backend'), 'webgpu', line);
  assert.match(line, /WebGPU/);
});
