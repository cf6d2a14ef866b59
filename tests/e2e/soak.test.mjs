// Soak: 2,000 training steps in headless Chromium (CPU backend in wasm) with
// no console error and flat memory: the engine's wasm memory and the page's
// JS heap (after a forced collection) at step 2,000 within 5% of step 100.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE, diagnostics, openApp, pressTrain, requireBuild, waitForBackend } from './helpers.mjs';

requireBuild();

/** Wasm memory (from the last progress event) and the page's JS heap after a full collection. */
async function memory(page) {
  return page.evaluate(() => {
    window.gc();
    const run = window.__reslab.runs.at(-1);
    return { step: run.step, wasm: run.memoryLog.at(-1)?.[1] ?? null, js: performance.memory.usedJSHeapSize, done: run.done, status: run.status };
  });
}

test('2,000 steps: no console error, memory flat from step 100 to step 2,000', { timeout: 30 * MINUTE }, async () => {
  const app = await openApp({
    query: '?model=cnn&batch_size=8&max_steps=2000&log_every=10&test_limit=200&backend=cpu',
    extraArgs: ['--js-flags=--expose-gc'],
  });
  try {
    await waitForBackend(app.page);
    await pressTrain(app.page);
    const until = Date.now() + 25 * MINUTE;
    let early = null;
    let m;
    for (;;) {
      m = await memory(app.page);
      if (!early && m.step >= 100) early = m;
      if (m.done) break;
      if (Date.now() > until) throw new Error(`soak did not finish: ${JSON.stringify(m)}`);
      await app.page.waitForTimeout(early ? 2000 : 200);
    }
    assert.equal(m.status, 'finished', await diagnostics(app));
    assert.equal(m.step, 2000);
    console.log(`memory at step ${early.step}: wasm ${early.wasm} B, page JS heap ${early.js} B; ` +
      `at step ${m.step}: wasm ${m.wasm} B, page JS heap ${m.js} B`);
    assert.ok(early.step <= 200 && early.wasm > 0 && early.js > 0, JSON.stringify(early));
    assert.ok(m.wasm <= early.wasm * 1.05, `wasm memory grew from ${early.wasm} to ${m.wasm}`);
    assert.ok(m.js <= early.js * 1.05, `page JS heap grew from ${early.js} to ${m.js}`);
    assert.deepEqual(app.consoleErrors, []);
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});
