// Soak: 2,000 training steps in headless Chromium (CPU backend in wasm) with
// no console error and flat memory: the engine's heap in use (its allocator's
// count) within 1 % of step 100 at step 2,000, the training worker's heap and
// the page's JS heap (each after a forced collection) within 5 %, and the
// engine's wasm memory (a high-water mark) with no gross growth.
// The run goes on to 3,000 steps so that step 2,000 is measured mid-run, like
// step 100 (the end of a run adds its test results and analysis views). A
// measurement takes about a second (three forced collections in the page and
// three in the worker) and the CPU backend with two threads does about 100
// steps a second here: with a run of 2,100 steps the end came during the
// measurement once. The margins below are 300 and 900 steps.
// Two runs of the same length come first and warm the page up. During a
// page's first long run Blink's text-shaping cache (every new number shown,
// e.g. "step 1,234", is shaped once and kept; the cache is bounded) and V8's
// optimised code grow and then stay. The end of a run (new views, new object
// shapes) sends some of that code back to be optimised again during the next
// run: with 2,100-step runs V8's compiled code grew by about 140 KB between
// steps 100 and 2,000 of the second run (heap snapshots). None of that is
// what this test looks for. With 3,000-step runs, heap snapshots of the page
// at steps 100, 2,000 and 2,900 of the third run grew by 212 and 271 KB: the
// run's own data (two numbers a step in the charts, the step log's buffers,
// the memory log) about 90 and 145 KB, V8's compiled code about 95 KB, once.
// The page's heap is about 6.6-7.3 MB, so that stays inside 5 % over these
// 1,900 steps; a leak of a few hundred bytes a step does not.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE, diagnostics, openAdvanced, openApp, pressTrain, requireBuild, waitForBackend, waitForRunEnd } from './helpers.mjs';

requireBuild();

/**
 * The training worker's heap through the DevTools protocol: the used size of
 * its V8 heap plus its array buffers' backing stores (the dataset files it
 * keeps, the chart data it posts), the smallest of three readings, each
 * after a full collection. The worker's target is found by auto-attaching
 * (non-flattened sessions: Playwright's CDP session sends to one target).
 *
 * Why not `measureUserAgentSpecificMemory` (used until the CPU backend got
 * threads): it asks every worker of the page to measure itself, and the
 * CPU backend's pool workers never return to their event loop (they run
 * rayon's thread loop in wasm), so each call waited for its 60 s timeout.
 */
async function workerHeapProbe(app) {
  const cdp = await app.context.newCDPSession(app.page);
  const targets = [];
  const replies = new Map();
  let next = 1;
  cdp.on('Target.attachedToTarget', (e) => targets.push(e));
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message);
    replies.get(m.id)?.(m);
    replies.delete(m.id);
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const ask = (sessionId, method) => new Promise((resolve, reject) => {
    const id = next++;
    const timer = setTimeout(() => reject(new Error(`${method}: no answer from the worker`)), 30_000);
    replies.set(id, (m) => {
      clearTimeout(timer);
      if (m.error) reject(new Error(`${method}: ${m.error.message}`));
      else resolve(m.result);
    });
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) }).catch(reject);
  });
  return async () => {
    const worker = targets.find((t) => t.targetInfo.type === 'worker' && t.targetInfo.url.endsWith('/www/worker.js'));
    assert.ok(worker, `the training worker's target: ${JSON.stringify(targets.map((t) => t.targetInfo.url))}`);
    let least = Infinity;
    for (let i = 0; i < 3; i++) {
      await ask(worker.sessionId, 'HeapProfiler.collectGarbage');
      const u = await ask(worker.sessionId, 'Runtime.getHeapUsage');
      least = Math.min(least, u.usedSize + u.backingStorageSize);
    }
    return least;
  };
}

/**
 * Wasm memory (from the last progress event), the worker's heap (above), and
 * the page's JS heap: the used size of the page's V8 heap
 * (`performance.memory`, exact in a cross-origin isolated page; the server
 * sets COOP/COEP), the smallest of six readings 200 ms apart, each right
 * after a full collection, with the run paused (Pause, then Resume after).
 *
 * Why paused: while a run trains, readings taken right after a full
 * collection were bimodal, about 6.6 MB or 8.3–9.2 MB within the same
 * second (progress messages, chart redraws and run saves in flight), and
 * once all six landed high at step 100, once at step 2,000 (CI runs that
 * failed with worker and wasm flat). Paused, the six readings agree within
 * 8 KB.
 *
 * Why not the 'Window' share of measureUserAgentSpecificMemory for the page:
 * that share is an attribution of the heap to contexts, and three readings
 * 50 ms apart, each after a collection, differed by up to 300 KB (7 %) while
 * the heap's used size moved by under 0.1 %. Across runs it read -2 % to
 * +20 % at step 2,000 with no growing object kind in heap snapshots; it
 * measured the attribution, not the heap.
 */
async function memory(page, workerHeap) {
  // Paused: no progress events, chart redraws or saves while it is measured.
  await page.click('#pause');
  await page.waitForFunction(() => document.getElementById('pause').getAttribute('aria-pressed') === 'true', null, { timeout: 60_000 });
  const snapshot = await page.evaluate(async () => {
    const run = window.__reslab.runs.at(-1);
    const last = run.memoryLog.at(-1) ?? [];
    const snapshot = { step: run.step, done: run.done, status: run.status, wasm: last[1] ?? null, heap: last[3] ?? null };
    const readings = [];
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      window.gc();
      readings.push(performance.memory.usedJSHeapSize);
    }
    return { ...snapshot, page: Math.min(...readings), readings };
  });
  const worker = await workerHeap();
  await page.click('#pause');
  await page.waitForFunction(() => document.getElementById('pause').getAttribute('aria-pressed') === 'false', null, { timeout: 60_000 });
  return { ...snapshot, worker };
}

const STEPS = 3000;

test('2,000 steps: no console error, memory flat from step 100 to step 2,000', { timeout: 30 * MINUTE }, async () => {
  const app = await openApp({
    // Batch 4: the sample's 10,000 training images make an epoch of 2,500
    // steps, so steps 100 and 2,000 fall in the same epoch. An epoch's end
    // keeps a checkpoint in the engine (net and optimizer state, about 2.7 MB
    // for this cnn; the latest two are kept, src/web.rs): with batch 8 the
    // first epoch ended at step 1,250, between the readings, and the heap in
    // use grew by that checkpoint less the one it replaced.
    query: '?model=cnn&batch_size=4&log_every=10&test_limit=200&backend=cpu',
    extraArgs: ['--js-flags=--expose-gc'],
  });
  try {
    await waitForBackend(app.page);
    const workerHeap = await workerHeapProbe(app);
    await openAdvanced(app.page);
    // Two warm-up runs, then the measured one, all of the same length.
    for (let run = 0; run < 3; run++) {
      await app.page.getByLabel('Max steps', { exact: true }).fill(String(STEPS));
      await app.page.getByLabel('Max steps', { exact: true }).press('Tab');
      await pressTrain(app.page);
      if (run < 2) assert.equal(await waitForRunEnd(app.page, 10 * MINUTE), 'finished', await diagnostics(app));
    }
    const until = Date.now() + 25 * MINUTE;
    // Wait for a step cheaply (reading the step count), then measure once.
    const reach = async (step) => {
      for (;;) {
        const r = await app.page.evaluate(() => {
          const run = window.__reslab.runs.at(-1);
          return { step: run.step, done: run.done };
        });
        if (r.step >= step || r.done) return;
        if (Date.now() > until) throw new Error(`soak did not reach step ${step}: ${JSON.stringify(r)}`);
        await app.page.waitForTimeout(r.step < step - 200 ? 1000 : 20);
      }
    };
    await reach(100);
    const early = await memory(app.page, workerHeap);
    await reach(2000);
    const late = await memory(app.page, workerHeap);
    assert.ok(early.step >= 100 && early.step <= 400 && !early.done, `step 100 was not caught: ${JSON.stringify(early)}`);
    assert.ok(late.step >= 2000 && late.step <= STEPS - 100 && !late.done, `step 2,000 was not caught mid-run: ${JSON.stringify(late)}`);
    assert.equal(await waitForRunEnd(app.page, 10 * MINUTE), 'finished', await diagnostics(app));
    const fmt = (x) => `engine heap in use ${x.heap} B, wasm ${x.wasm} B, worker heap ${x.worker} B, page JS heap ${x.page} B (readings ${x.readings.join(', ')})`;
    console.log(`memory at step ${early.step}: ${fmt(early)}; at step ${late.step}: ${fmt(late)}`);
    assert.ok(early.heap > 0 && early.wasm > 0 && early.worker > 0 && early.page > 0, JSON.stringify(early));
    // The engine's heap in use is exact (its allocator counts), so its bound
    // is tight: 1 %, about 320 KB of a 32 MB heap, 170 bytes a step over
    // these 1,900 steps. What the run keeps by design between the two
    // readings (its curves) is about 10 KB.
    assert.ok(late.heap <= early.heap * 1.01, `the engine's heap in use grew from ${early.heap} to ${late.heap} B`);
    // The wasm memory's size is the allocator's high-water mark, not its use:
    // it grows when fragmentation asks for a larger free block, which the
    // warm-up runs do not always reach (once: 45.1 MB at step 100, 47.8 MB at
    // step 2,000, where other runs read 49.6 MB at both). Only a gross growth
    // is a finding here; a leak shows in the heap above.
    assert.ok(late.wasm <= early.wasm * 1.25, `wasm memory grew from ${early.wasm} to ${late.wasm}`);
    assert.ok(late.worker <= early.worker * 1.05, `worker heap grew from ${early.worker} to ${late.worker}`);
    assert.ok(late.page <= early.page * 1.05, `page JS heap grew from ${early.page} to ${late.page}`);
    assert.deepEqual(app.consoleErrors, []);
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});
