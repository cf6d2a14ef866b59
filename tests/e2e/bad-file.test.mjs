// (c) A corrupted dataset file gives a visible error naming the file, and the
//     app stays usable: training on the built-in sample still works.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MINUTE,
  control,
  diagnostics,
  openAdvanced,
  openApp,
  pressTrain,
  requireBuild,
  waitForBackend,
  waitForRunEnd,
} from './helpers.mjs';

test('(c) a corrupted file is reported and the built-in sample still trains', { timeout: 12 * MINUTE }, async (t) => {
  requireBuild();
  const app = await openApp({ query: '?backend=cpu' });
  t.after(() => app.close());
  const { page } = app;
  await waitForBackend(page);

  await control(page, 'Dataset').selectOption({ label: 'Load files…' });
  const garbage = Buffer.from('this is not a gzip file, nor an IDX file: just some garbage bytes '.repeat(20));
  await control(page, 'Dataset files').setInputFiles([
    { name: 'train-images-idx3-ubyte.gz', mimeType: 'application/gzip', buffer: garbage },
  ]);

  const error = page.getByTestId('data-error');
  await error.waitFor({ state: 'visible', timeout: 2 * MINUTE });
  const text = await error.textContent();
  assert.match(text, /train-images-idx3-ubyte\.gz/, `error should name the file: "${text}"`);
  await app.screenshot('bad-file.png');

  // The page is still usable: the built-in sample trains.
  await control(page, 'Dataset').selectOption({ label: 'Built-in MNIST sample' });
  await control(page, 'Model').selectOption('cnn');
  await control(page, 'Optimizer').selectOption('adam');
  await control(page, 'Learning rate').fill('0.001');
  await openAdvanced(page);
  await control(page, 'Max steps').fill('5');
  await control(page, 'Log every').fill('1');

  await pressTrain(page);
  const status = await waitForRunEnd(page, 8 * MINUTE);
  assert.equal(status, 'finished', await diagnostics(app));
  const points = Number(await page.getByTestId('chart-steps').getAttribute('data-points'));
  assert.ok(points > 0, 'loss chart has no points');
  assert.equal(await page.getByTestId('legend-entry').count(), 1);

  await app.screenshot('bad-file-then-train.png');
  assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
});
