// Loading a dataset by URL: the official CIFAR-10 archive layout (here the
// built-in sample, served by the same server) parses in the worker; a URL
// that answers 404 gives a message naming it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MINUTE, ROOT, control, openApp, requireBuild, waitForBackend } from './helpers.mjs';

test('a dataset loads from a URL; a missing one is reported', { timeout: 5 * MINUTE }, async (t) => {
  requireBuild();
  const app = await openApp({ query: '?backend=cpu' });
  t.after(() => app.close());
  const { page } = app;
  await waitForBackend(page);
  const origin = new URL(page.url()).origin;

  await loadUrl(page, `${origin}/assets/sample/cifar10/cifar-10-sample-binary.tar.gz`);
  await expectCifarSample(page);

  await control(page, 'Dataset URL').fill(`${origin}/no-such-dataset.tar.gz`);
  await page.getByRole('button', { name: 'Load', exact: true }).click();
  const error = page.getByTestId('data-error');
  await error.waitFor({ state: 'visible', timeout: MINUTE });
  assert.match(await error.textContent(), /no-such-dataset\.tar\.gz: HTTP 404/);
  await app.screenshot('url-load.png');
});

/** Another origin serving the CIFAR-10 sample archive with CORS allowed, as a dataset host would. */
async function dataHost() {
  const bytes = readFileSync(join(ROOT, 'assets/sample/cifar10/cifar-10-sample-binary.tar.gz'));
  const server = createServer((req, res) => {
    res.writeHead(200, {
      'Content-Type': 'application/gzip',
      'Content-Length': bytes.length,
      'Access-Control-Allow-Origin': '*',
      'Cross-Origin-Resource-Policy': 'cross-origin',
    });
    res.end(bytes);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, close: () => new Promise((ok) => { server.close(ok); server.closeAllConnections?.(); }) };
}

/** Waits for the CIFAR-10 sample (2,000 train / 500 test) to be the loaded user dataset, without an error. */
async function expectCifarSample(page) {
  const status = page.getByTestId('user-data-status');
  for (let i = 0; i < 600 && !/2,000 train/.test((await status.textContent()) ?? ''); i++) await page.waitForTimeout(100);
  assert.match(await status.textContent(), /CIFAR-10 · 3×32×32 · 2,000 train \/ 500 test/);
  assert.equal(await page.getByTestId('data-error').isVisible(), false);
}

async function loadUrl(page, url) {
  await control(page, 'Dataset').selectOption({ label: 'Load files…' });
  await control(page, 'Dataset URL').fill(url);
  await page.getByRole('button', { name: 'Load', exact: true }).click();
}

test('by default the page loads data only from its own origin, and says how to allow another', { timeout: 5 * MINUTE }, async (t) => {
  requireBuild();
  const host = await dataHost();
  t.after(() => host.close());
  const app = await openApp({ query: '?backend=cpu' });
  t.after(() => app.close());
  const { page } = app;
  await waitForBackend(page);
  const csp = await page.evaluate(async () => (await fetch('./index.html')).headers.get('content-security-policy'));
  assert.match(csp, /connect-src 'self';/);
  await loadUrl(page, `${host.origin}/cifar-10-binary.tar.gz`);
  const error = page.getByTestId('data-error');
  await error.waitFor({ state: 'visible', timeout: MINUTE });
  const text = await error.textContent();
  assert.match(text, /cifar-10-binary\.tar\.gz: could not be fetched from http:\/\/127\.0\.0\.1:\d+/);
  assert.ok(text.includes(`--allow-data-from ${host.origin}`), text);
});

test('a server started with --allow-data-from loads a dataset from that origin', { timeout: 5 * MINUTE }, async (t) => {
  requireBuild();
  const host = await dataHost();
  t.after(() => host.close());
  const app = await openApp({ query: '?backend=cpu', serverOptions: { allowDataFrom: [host.origin] } });
  t.after(() => app.close());
  const { page } = app;
  await waitForBackend(page);
  await loadUrl(page, `${host.origin}/cifar-10-binary.tar.gz`);
  await expectCifarSample(page);
});
