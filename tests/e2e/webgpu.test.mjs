// (d) Forced WebGPU (SwiftShader in headless Chromium: software, very slow):
//     a 3-step run of the small convnet finishes with a finite loss.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MINUTE,
  diagnostics,
  debugState,
  openApp,
  pressTrain,
  requireBuild,
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
  await app.screenshot('webgpu-cnn.png');
  assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
});
