// Test mode (?test=1): the hooks that crash the engine, lose its GPU device or
// inject a GPU error exist only there. Without it window.__reslab has no
// debug hooks and the engine's worker refuses the test-only messages with an
// error naming them, while the page keeps training. With it the hooks work,
// the flag stays in the address bar, and links the page hands out never carry it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE, diagnostics, openApp, pressTrain, requireBuild, until, waitForBackend, waitForRunEnd } from './helpers.mjs';

requireBuild();

const TEST_ONLY = ['debug-crash', 'debug-lose-device', 'debug-gpu-error'];
const HOOKS = ['debugCrash', 'debugLoseDevice', 'debugGpuError'];

/**
 * Runs in the page before its scripts: keeps each Worker the page creates
 * (window.__workers, with its URL in __workerUrls) and the error messages
 * they send (__workerErrors), and records what is copied to the clipboard
 * (__copied) instead of depending on the headless clipboard permission.
 */
function tap() {
  const Native = window.Worker;
  window.__workers = [];
  window.__workerUrls = [];
  window.__workerErrors = [];
  window.Worker = class extends Native {
    constructor(url, options) {
      super(url, options);
      window.__workers.push(this);
      window.__workerUrls.push(String(url));
      this.addEventListener('message', (ev) => {
        if (ev.data?.type === 'error') window.__workerErrors.push(ev.data);
      });
    }
  };
  Object.defineProperty(Navigator.prototype, 'clipboard', {
    configurable: true,
    get: () => ({ writeText: async (text) => void (window.__copied = String(text)) }),
  });
}

const poll = (page, fn, what, timeout = MINUTE) => until(what, fn, timeout);

const hooksOf = (page) =>
  page.evaluate((names) => ({
    keys: Object.keys(window.__reslab),
    types: Object.fromEntries(names.map((n) => [n, typeof window.__reslab[n]])),
    testMode: window.__reslab.testMode,
  }), HOOKS);

test('without ?test=1: no debug hooks, the worker refuses the test-only messages by name, and the run goes on', { timeout: 10 * MINUTE }, async () => {
  const app = await openApp({
    query: '?backend=cpu&model=cnn&batch_size=16&max_steps=40&log_every=1&test_limit=64',
    initScript: tap,
  });
  const { page } = app;
  try {
    await waitForBackend(page);
    const hooks = await hooksOf(page);
    assert.deepEqual(hooks.types, { debugCrash: 'undefined', debugLoseDevice: 'undefined', debugGpuError: 'undefined' });
    assert.deepEqual(hooks.keys.filter((k) => /^debug/i.test(k)), [], `__reslab keys: ${hooks.keys}`);
    assert.equal(hooks.testMode, false);
    // The read-only parts stay.
    assert.ok(Array.isArray(await page.evaluate(() => window.__reslab.runs)));
    const urls = await page.evaluate(() => window.__workerUrls);
    assert.equal(urls.length, 1, `workers: ${urls}`);
    assert.doesNotMatch(urls[0], /test=/);

    // Straight to the engine's worker, as a script in the page could: each is refused, by name.
    await pressTrain(page);
    const statusAtPost = await page.locator('#run-status').getAttribute('data-status');
    await page.evaluate((types) => {
      for (const type of types) window.__workers[0].postMessage({ type });
    }, TEST_ONLY);
    const refused = await poll(page, async () => {
      const errs = await page.evaluate(() => window.__workerErrors);
      return errs.filter((e) => e.refused).length >= TEST_ONLY.length && errs;
    }, 'the refusals');
    for (const type of TEST_ONLY) {
      const e = refused.find((x) => x.refused === type);
      assert.ok(e, `no refusal of ${type}: ${JSON.stringify(refused)}`);
      assert.equal(e.context, 'worker');
      assert.ok(!e.fatal, JSON.stringify(e));
      assert.ok(e.message.includes(`"${type}"`), e.message);
      assert.match(e.message, /test mode \(\?test=1\)/);
    }
    // The page says so too.
    await poll(page, async () => (await page.locator('#notice-list').textContent()).includes('"debug-crash"'), 'the refusal notice');

    // Nothing crashed: the run, started before the messages were posted, finishes on the same engine.
    assert.equal(await waitForRunEnd(page, 5 * MINUTE), 'finished', await diagnostics(app));
    const [run] = await page.evaluate(() => window.__reslab.runs);
    assert.ok(run.steps > 0 && Number.isFinite(run.lastLoss), JSON.stringify(run));
    assert.doesNotMatch(await page.locator('#notice-list').textContent(), /restarted|crashed/);
    assert.equal(await page.evaluate(() => window.__workers.length), 1, 'the engine was restarted');
    assert.equal(await page.locator('#backend-line').getAttribute('data-backend'), 'cpu');
    assert.deepEqual(app.pageErrors, []);
    console.log(`run status when the test-only messages were posted: ${statusAtPost}`);
  } finally {
    await app.close();
  }
});

test('with ?test=1: the hooks exist and work, the flag stays in the address bar but not in copied links', { timeout: 10 * MINUTE }, async () => {
  const app = await openApp({ query: '?test=1&backend=cpu&preset=degradation&budget=smoke', initScript: tap });
  const { page } = app;
  try {
    await waitForBackend(page);
    const hooks = await hooksOf(page);
    assert.deepEqual(hooks.types, { debugCrash: 'function', debugLoseDevice: 'function', debugGpuError: 'function' });
    assert.equal(hooks.testMode, true);
    assert.match((await page.evaluate(() => window.__workerUrls))[0], /worker\.js\?test=1$/);
    // `test` is not a setting: no "Unknown URL parameter" notice.
    assert.doesNotMatch(await page.locator('#notice-list').textContent(), /Unknown URL parameter|"test"/);

    // A study's link: the address bar names the study and keeps test=1; the copied link has no test=1.
    await poll(page, async () => /Degradation/i.test(await page.locator('#preset-title').textContent()), 'the linked study');
    await page.locator('#preset-link').click();
    const copied = await poll(page, () => page.evaluate(() => window.__copied), 'the copied link');
    assert.match(copied, /[?&]preset=degradation/);
    assert.doesNotMatch(copied, /test=/, copied);
    assert.match(await page.evaluate(() => location.search), /preset=degradation/);
    assert.match(await page.evaluate(() => location.search), /[?&]test=1(&|$)/);

    // The URL state written on a setting change keeps test=1 (a reload stays in test mode).
    await page.getByLabel('Learning rate', { exact: true }).fill('0.05');
    await page.getByLabel('Learning rate', { exact: true }).press('Tab');
    await poll(page, async () => /lr=0\.05/.test(await page.evaluate(() => location.search)), 'lr in the address bar');
    const search = await page.evaluate(() => location.search);
    assert.match(search, /[?&]test=1(&|$)/, search);
    assert.equal(new URLSearchParams(search).getAll('test').length, 1, search);

    // The engine obeys: debugCrash traps it, the page restarts it, and the new worker is in test mode too.
    await page.evaluate(() => window.__reslab.debugCrash());
    await poll(page, async () => /restarted/.test(await page.locator('#notice-list').textContent()), 'the restart notice');
    await waitForBackend(page);
    const urls = await page.evaluate(() => window.__workerUrls);
    assert.equal(urls.length, 2, `workers: ${urls}`);
    assert.match(urls[1], /worker\.js\?test=1$/);
    assert.deepEqual((await page.evaluate(() => window.__workerErrors)).filter((e) => e.refused), []);
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});
