// Loading a dataset by URL: the official CIFAR-10 archive layout (here the
// built-in sample, served by the same server) parses in the worker; a URL
// that answers 404 gives a message naming it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE, control, openApp, requireBuild, waitForBackend } from './helpers.mjs';

test('a dataset loads from a URL; a missing one is reported', { timeout: 5 * MINUTE }, async (t) => {
  requireBuild();
  const app = await openApp({ query: '?backend=cpu' });
  t.after(() => app.close());
  const { page } = app;
  await waitForBackend(page);
  const origin = new URL(page.url()).origin;

  await control(page, 'Dataset').selectOption({ label: 'Load files…' });
  await control(page, 'Dataset URL').fill(`${origin}/assets/sample/cifar10/cifar-10-sample-binary.tar.gz`);
  await page.getByRole('button', { name: 'Load', exact: true }).click();
  const status = page.getByTestId('user-data-status');
  for (let i = 0; i < 600 && !/2,000 train/.test((await status.textContent()) ?? ''); i++) await page.waitForTimeout(100);
  assert.match(await status.textContent(), /CIFAR-10 · 3×32×32 · 2,000 train \/ 500 test/);
  assert.equal(await page.getByTestId('data-error').isVisible(), false);

  await control(page, 'Dataset URL').fill(`${origin}/no-such-dataset.tar.gz`);
  await page.getByRole('button', { name: 'Load', exact: true }).click();
  const error = page.getByTestId('data-error');
  await error.waitFor({ state: 'visible', timeout: MINUTE });
  assert.match(await error.textContent(), /no-such-dataset\.tar\.gz: HTTP 404/);
  await app.screenshot('url-load.png');
});
