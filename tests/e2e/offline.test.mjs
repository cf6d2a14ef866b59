// Security and offline use: the page asks nothing of any other host, every
// response carries the strict CSP, and once loaded the lab works with the
// server gone (its service worker keeps the page, the engine and the samples):
// a reload still trains on the built-in sample.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE, diagnostics, openApp, pressTrain, requireBuild, waitForBackend, waitForRunEnd } from './helpers.mjs';

requireBuild();

test('nothing from other hosts; offline after one visit the page reloads and trains', { timeout: 15 * MINUTE }, async () => {
  const app = await openApp({ query: '?backend=cpu&model=cnn&max_steps=5&batch_size=16&test_limit=100' });
  const { page, context } = app;
  const origin = new URL(app.url).origin;
  const foreign = [];
  context.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  try {
    const online = await waitForBackend(page);
    // The service worker has installed: the shell, the engine and the samples are cached.
    const until = Date.now() + 3 * MINUTE;
    for (;;) {
      const ready = await page.evaluate(async () => {
        if (!navigator.serviceWorker.controller) return false;
        const cache = await caches.open('reslab-v1');
        return (await cache.keys()).length;
      });
      if (ready >= 20) break;
      if (Date.now() > until) throw new Error(`service worker not ready: ${ready}`);
      await page.waitForTimeout(500);
    }
    const csp = await page.evaluate(async () => (await fetch('./www/app.js')).headers.get('content-security-policy'));
    assert.match(csp, /default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self';/);

    await app.server.close(); // offline from here on
    await page.reload();
    // The same backend offline, threads included (the pool's workers load from the cache too).
    assert.equal(await waitForBackend(page), online);
    await pressTrain(page);
    assert.equal(await waitForRunEnd(page, 5 * MINUTE), 'finished', await diagnostics(app));
    assert.deepEqual(foreign, []);
    assert.deepEqual(app.pageErrors, []);
    const violations = app.log.filter((l) => /Content Security Policy|Refused to/.test(l));
    assert.deepEqual(violations, []);
  } finally {
    await app.close();
  }
});
