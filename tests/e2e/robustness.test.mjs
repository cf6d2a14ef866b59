// Bad settings, absurd sizes and a crashed engine: a clear message each time,
// nothing starts that cannot run, and the page keeps working.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MINUTE,
  control,
  debugState,
  diagnostics,
  openAdvanced,
  openApp,
  pressTrain,
  requireBuild,
  waitForBackend,
  waitForRunEnd,
} from './helpers.mjs';

requireBuild();

async function poll(page, fn, what, timeout = MINUTE) {
  const until = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(200);
  }
}

/** Sets the model (if given), batch size and max steps, then presses Train once it is enabled. */
async function startRun(page, { model, batch, maxSteps }) {
  if (model) await page.getByLabel('Model', { exact: true }).selectOption(model);
  for (const [label, value] of [['Batch size', batch], ['Max steps', maxSteps]]) {
    await control(page, label).fill(String(value));
    await control(page, label).press('Tab');
  }
  await poll(page, async () => !(await page.locator('#train').isDisabled()), 'Train to be enabled');
  await pressTrain(page);
}

test('out-of-range settings are refused next to their control; absurd sizes and a crashed engine give a message', { timeout: 15 * MINUTE }, async () => {
  // Test mode (?test=1): window.__reslab.debugCrash exists and the engine obeys it.
  const app = await openApp({ query: '?test=1&backend=cpu&data=sample-cifar10&model=resnet20' });
  const { page } = app;
  try {
    await waitForBackend(page);
    const train = page.locator('#train');

    // A negative learning rate: message next to the control, Train disabled.
    await control(page, 'Learning rate').fill('-1');
    await control(page, 'Learning rate').press('Tab');
    await poll(page, async () => (await page.locator('#err-lr').isVisible()) && (await train.isDisabled()), 'the lr message');
    assert.match(await page.locator('#err-lr').textContent(), /Learning rate/i);
    await control(page, 'Learning rate').fill('0.001');
    await control(page, 'Learning rate').press('Tab');
    await poll(page, async () => !(await page.locator('#err-lr').isVisible()), 'the lr message to go');

    // Batch 100,000: out of the engine's range (its schema), refused next to the control.
    await control(page, 'Batch size').fill('100000');
    await control(page, 'Batch size').press('Tab');
    await poll(page, async () => (await page.locator('#err-batch_size').isVisible()) && (await train.isDisabled()), 'the batch message');
    assert.match(await page.locator('#err-batch_size').textContent(), /too large|at most 4096/);

    // Inconsistent: early stopping without a validation split.
    await control(page, 'Batch size').fill('128');
    await control(page, 'Batch size').press('Tab');
    await openAdvanced(page);
    await control(page, 'Early-stop patience').fill('2');
    await control(page, 'Early-stop patience').press('Tab');
    await poll(page, async () => (await page.locator('#err-patience').isVisible()) && (await train.isDisabled()), 'the patience message');
    assert.match(await page.locator('#err-patience').textContent(), /validation/);
    await control(page, 'Early-stop patience').fill('');
    await control(page, 'Early-stop patience').press('Tab');
    await poll(page, async () => !(await page.locator('#err-patience').isVisible()), 'the patience message to go');

    // ResNet-152 at batch 1024 cannot fit in the browser: refused before it starts, with a way out.
    await startRun(page, { model: 'resnet152', batch: 1024, maxSteps: 1 });
    assert.equal(await waitForRunEnd(page, 3 * MINUTE), 'failed');
    const big = (await debugState(page)).runs.at(-1);
    assert.match(big.message, /resnet152 at batch 1024 needs about [\d.]+ GB .* at most 3\.0 GB\. Try a batch size of \d+ or less\./, big.message);
    assert.equal(big.steps, 0);

    // The engine crashes (as out-of-memory would): it is restarted, the page says so, and training still works.
    await page.evaluate(() => window.__reslab.debugCrash());
    await poll(page, async () => /restarted/.test(await page.locator('#notice-list').textContent()), 'the restart notice');
    await waitForBackend(page);
    await startRun(page, { model: 'cnn', batch: 16, maxSteps: 3 });
    assert.equal(await waitForRunEnd(page, 5 * MINUTE), 'finished', await diagnostics(app));
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});

test('resnet1202 on a phone-sized device is refused with the batch that fits; a small run still works', { timeout: 10 * MINUTE }, async () => {
  // Chromium reports navigator.deviceMemory in GB (rounded, at most 8); a 2 GB phone is posed here.
  const app = await openApp({
    query: '?backend=cpu&data=sample-cifar10&model=resnet1202',
    initScript: () => Object.defineProperty(Navigator.prototype, 'deviceMemory', { get: () => 2, configurable: true }),
  });
  const { page } = app;
  try {
    await waitForBackend(page);
    assert.equal(await page.evaluate(() => navigator.deviceMemory), 2);
    assert.equal(await page.getByLabel('Model', { exact: true }).inputValue(), 'resnet1202');
    await openAdvanced(page);
    await startRun(page, { batch: 128, maxSteps: 1 });
    assert.equal(await waitForRunEnd(page, 3 * MINUTE), 'failed');
    const big = (await debugState(page)).runs.at(-1);
    assert.match(big.message, /resnet1202 at batch 128 needs about [\d.]+ GB .*this device reports 2 GB of memory, of which a run may use about 1\.0 GB\. Try a batch size of (\d+) or less\./, big.message);
    assert.equal(big.steps, 0);
    console.log(`refused: ${big.message}`);
    const fits = Number(/Try a batch size of (\d+)/.exec(big.message)[1]);
    assert.ok(fits >= 1 && fits < 128, big.message);

    // The page is still alive and a small net trains on the same device.
    await startRun(page, { model: 'cnn', batch: 16, maxSteps: 2 });
    assert.equal(await waitForRunEnd(page, 5 * MINUTE), 'finished', await diagnostics(app));
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});
