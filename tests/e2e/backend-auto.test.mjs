// (e) Without --enable-unsafe-webgpu there is no hardware adapter: "auto"
//     picks the CPU backend and says why.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openApp, requireBuild, waitForBackend } from './helpers.mjs';

test('(e) ?backend=auto without WebGPU falls back to the CPU with a reason', { timeout: 5 * 60_000 }, async (t) => {
  requireBuild();
  const app = await openApp({ query: '?backend=auto' });
  t.after(() => app.close());
  const { page } = app;

  const line = await waitForBackend(page);
  assert.equal(await page.locator('#backend-line').getAttribute('data-backend'), 'cpu');
  assert.match(line, /^Backend: CPU, \d+ threads? \(.+\)$/, `backend line: ${line}`);
  assert.match(line, /WebGPU|adapter|software/i, `the reason should explain why: ${line}`);
  await app.screenshot('backend-auto.png');
  assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
  assert.deepEqual(app.consoleErrors, [], 'console errors');
});
