// (a) Train cnn + Adam for one epoch on the built-in MNIST sample with the
//     CPU backend, read the test accuracy from the page.
// (b) A second, short run overlays its curves: two legend entries.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  MINUTE,
  control,
  debugState,
  diagnostics,
  openAdvanced,
  openApp,
  parseAccuracy,
  pressTrain,
  requireBuild,
  waitForBackend,
  waitForRunEnd,
} from './helpers.mjs';

describe('training on the built-in MNIST sample (CPU)', { timeout: 25 * MINUTE }, () => {
  let app;

  before(async () => {
    requireBuild();
    app = await openApp({ query: '?backend=cpu' });
  });

  after(async () => {
    await app?.close();
  });

  test('(a) cnn · adam · lr 0.001, 1 epoch reaches ≥ 90% test accuracy', { timeout: 15 * MINUTE }, async () => {
    const { page } = app;
    const backend = await waitForBackend(page);
    assert.match(backend, /CPU/, `backend line: ${backend}`);

    await control(page, 'Dataset').selectOption({ label: 'Built-in MNIST sample' });
    await control(page, 'Model').selectOption('cnn');
    await control(page, 'Optimizer').selectOption('adam');
    await control(page, 'Learning rate').fill('0.001');
    await control(page, 'Epochs').fill('1');
    // No step budget: a full epoch.
    await openAdvanced(page);
    await control(page, 'Max steps').fill('');

    await pressTrain(page);
    const status = await waitForRunEnd(page, 12 * MINUTE);
    assert.equal(status, 'finished', await diagnostics(app));

    const stepPoints = Number(await page.getByTestId('chart-steps').getAttribute('data-points'));
    assert.ok(stepPoints > 0, `loss chart has no points\n${await diagnostics(app)}`);
    const epochPoints = Number(await page.getByTestId('chart-epoch-loss').getAttribute('data-points'));
    assert.ok(epochPoints > 0, 'epoch loss chart has no points');

    const accEl = page.getByTestId('test-accuracy');
    await accEl.waitFor({ state: 'visible', timeout: MINUTE });
    const accText = await accEl.textContent();
    const acc = parseAccuracy(accText);
    assert.ok(acc >= 0.9, `test accuracy too low: "${accText}"`);

    const legend = page.getByTestId('legend-entry');
    assert.equal(await legend.count(), 1);
    assert.match(await legend.first().textContent(), /cnn · adam · lr 0\.001/);
    assert.equal(await page.getByTestId('result-row').count(), 1);

    await app.screenshot('mnist-cnn.png');
    assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
    assert.deepEqual(app.consoleErrors, [], 'console errors');
  });

  test('(b) a second run is overlaid: two legend entries', { timeout: 8 * MINUTE }, async () => {
    const { page } = app;
    await waitForBackend(page);
    if (await page.evaluate(() => window.__reslab.running)) {
      await page.getByRole('button', { name: 'Stop', exact: true }).click();
      await waitForRunEnd(page, 2 * MINUTE);
    }
    const before = await page.getByTestId('legend-entry').count();

    await control(page, 'Model').selectOption('cnn');
    await control(page, 'Optimizer').selectOption('sgd');
    await control(page, 'Learning rate').fill('0.05');
    await openAdvanced(page);
    await control(page, 'Max steps').fill('20');
    await control(page, 'Log every').fill('2');

    await pressTrain(page);
    const status = await waitForRunEnd(page, 6 * MINUTE);
    assert.equal(status, 'finished', await diagnostics(app));

    const legend = page.getByTestId('legend-entry');
    assert.equal(await legend.count(), before + 1);
    assert.match(await legend.last().textContent(), /cnn · sgd · lr 0\.05/);
    const { runs, counts } = await debugState(page);
    assert.equal(counts.runs, before + 1);
    assert.ok(runs.at(-1).step > 0 && runs.at(-1).step <= 20, `steps of the short run: ${runs.at(-1).step}`);
    assert.equal(await page.getByTestId('result-row').count(), before + 1);

    await app.screenshot('mnist-two-runs.png');
    assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
    assert.deepEqual(app.consoleErrors, [], 'console errors');
  });
});
