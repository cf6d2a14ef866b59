// Use the net and the analysis around it, on nets trained for a few steps on
// the built-in MNIST sample (CPU backend): for ResNet-20 and ResNet-18 the
// first layer's filters and every stage's feature maps are drawn and are not
// blank; a confusion cell shows the test images behind it; a test image
// clicked becomes the net's input; Fig. 7's images are the first 100; the
// camera (Chromium's fake one) starts only when asked, gives a picture to
// predict, and stops when the user leaves the panel.
// (The cnn's maps and the drawn digits are in train-mnist.test.mjs, with a
// net trained long enough to read digits.)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MINUTE, canvasInk, control, diagnostics, openApp, pressTrain, requireBuild, until, waitForBackend, waitForRunEnd } from './helpers.mjs';

/** Opens Look inside (once) and checks the filters and the stages' maps of the selected run. */
async function checkInside(app, stages, filterCount) {
  const { page } = app;
  const inside = page.locator('#inside');
  if (!(await inside.evaluate((d) => d.open))) await page.locator('#inside > summary').click();
  const maps = page.getByTestId('feature-map');
  await until(`the feature maps of ${stages.join(', ')}`, async () =>
    JSON.stringify(await maps.evaluateAll((f) => f.map((x) => x.dataset.layer))) === JSON.stringify(stages), 2 * MINUTE, app);
  for (const [i, m] of (await maps.locator('canvas').all()).entries()) {
    const ink = await canvasInk(m);
    assert.ok(ink.lit > 0.02, `${stages[i]}: its maps are blank (${JSON.stringify(ink)})`);
  }
  const filters = page.getByTestId('filters');
  await filters.waitFor({ state: 'visible', timeout: MINUTE });
  assert.match(await page.getByTestId('filters-box').textContent(), new RegExp(`conv1: ${filterCount} filters of 3×3`));
  assert.ok((await canvasInk(filters)).distinct > 20, 'the filters are drawn');
}

async function trainShort(app, model) {
  const { page } = app;
  await control(page, 'Model').selectOption(model);
  await pressTrain(page);
  assert.equal(await waitForRunEnd(page, 8 * MINUTE), 'finished', await diagnostics(app));
}

describe('Use the net and the analysis (CPU, MNIST sample)', { timeout: 25 * MINUTE }, () => {
  let app;

  before(async () => {
    requireBuild();
    app = await openApp({
      query: '?backend=cpu&optimizer=adam&lr=0.001&batch_size=16&max_steps=3&test_limit=120&val_size=0',
      // A camera that shows a test pattern, granted without asking.
      extraArgs: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    });
    await waitForBackend(app.page);
  });

  after(async () => {
    await app?.close();
  });

  test('ResNet-20: filters and the maps of its stem and three stages, on a drawing', { timeout: 10 * MINUTE }, async () => {
    const { page } = app;
    await trainShort(app, 'resnet20');
    await page.getByTestId('result-row').filter({ hasText: 'resnet20' }).click();
    await until('the model in Use the net', async () => /resnet20, input 28×28 grey/.test(await page.getByTestId('use-model').textContent()), MINUTE, app);
    // A stroke on the pad: the input of the maps.
    const pad = page.getByTestId('draw-canvas');
    await pad.scrollIntoViewIfNeeded();
    const b = await pad.boundingBox();
    await page.mouse.move(b.x + b.width * 0.3, b.y + b.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width * 0.6, b.y + b.height * 0.8, { steps: 8 });
    await page.mouse.up();
    await checkInside(app, ['conv1', 'stage1', 'stage2', 'stage3'], 16);
    assert.ok((await canvasInk(page.getByTestId('use-seen'))).lit > 0.02, 'the prepared input shows the stroke');
  });

  test('a confusion cell shows its test images; a test image becomes the input; Fig. 7 shows its 100', { timeout: 5 * MINUTE }, async () => {
    const { page } = app;
    // The first non-empty cell of the ResNet-20 run's matrix (its row and column say which classes).
    const cell = page.getByTestId('confusion-cell').first();
    await cell.waitFor({ timeout: MINUTE });
    const count = Number(await cell.textContent());
    await cell.click();
    const filter = page.getByTestId('image-filter');
    await filter.waitFor({ state: 'visible', timeout: MINUTE });
    await until('the images of the cell', async () => (await page.getByTestId('image-grid').locator('figure').count()) > 0, MINUTE, app);
    const shown = await page.getByTestId('image-grid').locator('figure').count();
    // The cell counts the run's test images (120 here), all of which the grid has: as many images as the count, up to 60.
    assert.equal(shown, Math.min(count, 60), await filter.textContent());
    const captions = await page.getByTestId('image-grid').locator('figure').evaluateAll((f) => f.map((x) => x.title));
    const [, pred, truth] = /predicted (\S+), true (\S+)\./.exec(captions[0]);
    assert.ok(captions.every((t) => t.includes(`predicted ${pred}, true ${truth}.`)), captions.join('\n'));
    assert.match(await filter.textContent(), new RegExp(`True ${truth}, predicted ${pred}: ${shown} of the first 120 test images`));

    // That image in Use the net.
    await page.getByTestId('image-grid').locator('figure').first().click();
    const prediction = page.getByTestId('prediction');
    await until('a prediction for the test image', () => prediction.evaluate((ol) => ol.dataset.pending === undefined && ol.dataset.top !== undefined), MINUTE, app);
    assert.equal(await prediction.getAttribute('data-top'), pred, 'the test image is predicted as in the evaluation');
    assert.match(await page.getByTestId('use-status').textContent(), new RegExp(`true class ${truth}`));

    await page.getByTestId('fig7-images').click();
    await until('Fig. 7\'s images', async () => (await page.getByTestId('image-grid').locator('figure').count()) === 100, MINUTE, app);
    assert.match(await filter.textContent(), /first 100 test images, on which Fig\. 7 is measured/);
  });

  test('ResNet-18 (small stem at 28 px): filters and the maps of its stem and four stages', { timeout: 10 * MINUTE }, async () => {
    const { page } = app;
    await trainShort(app, 'resnet18');
    await page.getByTestId('result-row').filter({ hasText: 'resnet18' }).click();
    await until('the model in Use the net', async () => /resnet18, input 28×28 grey/.test(await page.getByTestId('use-model').textContent()), MINUTE, app);
    // The drawing stays the input when the model changes.
    await checkInside(app, ['conv1', 'stage1', 'stage2', 'stage3', 'stage4'], 64);
    await app.screenshot('use-net-resnet18.png');
    assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
    assert.deepEqual(app.consoleErrors, [], 'console errors');
  });

  test('the camera: off until Start, a picture taken is predicted, off again when the panel is left', { timeout: 3 * MINUTE }, async () => {
    const { page } = app;
    const video = page.locator('#use-video');
    await page.locator('#use-tabs [data-source="camera"]').click();
    assert.equal(await video.evaluate((v) => v.srcObject), null, 'no stream before Start');
    await page.locator('#camera-start').click();
    await until('the camera\'s picture', () => video.evaluate((v) => !!v.srcObject && v.videoWidth > 0), MINUTE, app);
    await page.locator('#camera-shot').click();
    const prediction = page.getByTestId('prediction');
    await until('a prediction for the camera picture', async () =>
      /camera picture/.test(await page.getByTestId('use-status').textContent()) &&
      (await prediction.evaluate((ol) => ol.dataset.pending === undefined && ol.dataset.top !== undefined)), MINUTE, app);
    assert.equal(await prediction.locator('li').count(), 10);
    // Leaving the panel stops the stream (its track ends), not only hides it.
    await video.evaluate((v) => {
      window.__cameraTrack = v.srcObject.getVideoTracks()[0];
    });
    await page.evaluate(() => window.scrollTo(0, 0));
    await until('the camera stopped', () => page.evaluate(() => window.__cameraTrack.readyState === 'ended'), MINUTE, app);
    assert.equal(await video.evaluate((v) => v.srcObject), null);
    assert.equal(await page.locator('#camera-shot').isDisabled(), true);
    assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
    assert.deepEqual(app.consoleErrors, [], 'console errors');
  });
});
