// (a) Train cnn + Adam for one epoch on the built-in MNIST sample with the
//     CPU backend, read the test accuracy from the page.
// (b) A second, short run overlays its curves: two legend entries.
// (c) Use the net with the run of (a): ten MNIST test digits, one of each
//     class (the first the run classified right), drawn on the pad as
//     strokes; at least 8 of 10 come out as their digit, and what the net
//     saw is close to the test image (MNIST's centring reproduced). Look inside: the filters and both stages' feature maps
//     of the cnn are drawn and not blank.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  MINUTE,
  control,
  debugState,
  diagnostics,
  openAdvanced,
  openApp,
  REPO,
  canvasInk,
  parseAccuracy,
  pressTrain,
  requireBuild,
  waitForBackend,
  until,
  waitForRunEnd,
} from './helpers.mjs';

/** The grey level from which an MNIST pixel is drawn: a stroke's middle. */
const INK = 192;

/** Pearson correlation of two equally long arrays. */
function correlation(a, b) {
  const mean = (v) => v.reduce((s, x) => s + x, 0) / v.length;
  const [ma, mb] = [mean(a), mean(b)];
  let [sab, saa, sbb] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

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

  test('(c) drawn digits are recognised, and the cnn can be looked inside', { timeout: 6 * MINUTE }, async () => {
    const { page } = app;
    // The run of (a), with Adam.
    await page.getByTestId('result-row').filter({ hasText: 'adam' }).click();
    const model = page.getByTestId('use-model');
    await until('the model of run #1 in Use the net', async () => /Run #1: cnn/.test(await model.textContent()), MINUTE, app);
    const pad = page.getByTestId('draw-canvas');
    await pad.scrollIntoViewIfNeeded();

    // For each digit, the first test image of the built-in sample that the run itself classified right: what
    // is checked is the way from a drawing to the net (pad, preparation, engine), not the net's test errors.
    const images = gunzipSync(readFileSync(join(REPO, 'assets/sample/mnist/t10k-images-idx3-ubyte.gz')));
    const labels = gunzipSync(readFileSync(join(REPO, 'assets/sample/mnist/t10k-labels-idx1-ubyte.gz'))).subarray(8);
    const { runs } = await debugState(page);
    const predicted = runs.find((r) => /adam/.test(r.label)).testPredictions;
    const digits = [];
    for (let d = 0; d < 10; d++) {
      const i = predicted.findIndex((p, k) => labels[k] === d && p === d);
      assert.ok(i >= 0, `no test image of ${d} classified right among the first ${predicted.length}`);
      digits.push({ digit: d, pixels: images.subarray(16 + i * 784, 16 + (i + 1) * 784) });
    }
    const outcomes = [];
    const correlations = [];
    for (const { digit, pixels } of digits) {
      await page.getByTestId('draw-clear').click();
      const box = await pad.boundingBox();
      const cell = box.width / 28;
      // Each row's runs of its darkest ink (a stroke's middle, where a pen goes; the pad's brush gives the width),
      // drawn as horizontal strokes through the pixels' centres.
      for (let y = 0; y < 28; y++) {
        let x = 0;
        while (x < 28) {
          if (pixels[y * 28 + x] < INK) {
            x++;
            continue;
          }
          const start = x;
          while (x < 28 && pixels[y * 28 + x] >= INK) x++;
          const py = box.y + (y + 0.5) * cell;
          await page.mouse.move(box.x + (start + 0.5) * cell, py);
          await page.mouse.down();
          await page.mouse.move(box.x + (x - 0.5) * cell, py, { steps: 2 });
          await page.mouse.up();
        }
      }
      // The prediction of the finished drawing (the pad answers while drawing; the last answer is for the whole digit).
      const prediction = page.getByTestId('prediction');
      const top = await until(`a prediction for the drawn ${digit}`, () => prediction.evaluate((ol) =>
        (ol.dataset.pending === undefined && ol.dataset.top !== undefined ? ol.dataset.top : null)), MINUTE, app);
      const probs = await page.getByTestId('prediction').locator('li').evaluateAll((lis) => lis.map((li) => Number(li.dataset.probability)));
      // What the net saw is the digit, prepared as MNIST prepared it: close to the test image itself.
      const seen = await page.getByTestId('use-seen').evaluate((c) => Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0)));
      correlations.push(correlation(seen, Array.from(pixels)));
      assert.equal(probs.length, 10, 'all ten classes shown');
      assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-3, `probabilities sum to 1: ${probs}`);
      outcomes.push(`${digit}→${top}`);
    }
    const right = outcomes.filter((o) => o[0] === o.at(-1)).length;
    console.log(`drawn digits: ${outcomes.join(' ')}; correlation of what the net saw with the test image: ${correlations.map((c) => c.toFixed(2)).join(' ')}`);
    // Centred and scaled as MNIST's digits (a digit drawn from a pen's middle line differs at its faint ends).
    const median = correlations.slice().sort((a, b) => a - b)[5];
    assert.ok(median > 0.7, `what the net saw is unlike the test images: correlations ${correlations.map((c) => c.toFixed(2))}`);
    assert.ok(right >= 8, `drawn digits recognised: ${right} of 10 (${outcomes.join(' ')})`);

    // Look inside: the first layer's 32 filters and the two stages' maps, not blank.
    await page.locator('#inside > summary').click();
    const filters = page.getByTestId('filters');
    await filters.waitFor({ state: 'visible', timeout: MINUTE });
    const maps = page.getByTestId('feature-map');
    await until('the feature maps of both stages', async () => (await maps.count()) === 2, MINUTE, app);
    assert.deepEqual(await maps.evaluateAll((f) => f.map((x) => x.dataset.layer)), ['conv1', 'conv2']);
    assert.ok((await canvasInk(filters)).distinct > 20, 'the filters are drawn');
    for (const m of await maps.locator('canvas').all()) {
      const ink = await canvasInk(m);
      assert.ok(ink.lit > 0.02, `a stage's maps are not blank: ${JSON.stringify(ink)}`);
    }
    await app.screenshot('mnist-use-the-net.png');
    assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
    assert.deepEqual(app.consoleErrors, [], 'console errors');
  });
});
