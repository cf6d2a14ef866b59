// What a hostile (or merely hurried) user does to the page, CPU backend:
// - two tabs on one browser: one trains the queue, the other is read-only and
//   takes over when the first closes; every queued run starts once;
// - twenty quick clicks on Train queue one run, not twenty;
// - links the page cannot open say why and leave the address bar; the
//   largest grid the page allows opens from its link;
// - a validation split as large as the training set is refused in the form;
// - a PNG renamed as an MNIST file is named as a PNG.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeJsonParam, gridFromConfigs, queryForLab, FALLBACK_CONFIG } from '../../www/state.js';
import { MINUTE, control, diagnostics, openAdvanced, openApp, requireBuild, until, waitForBackend } from './helpers.mjs';

requireBuild();

/** The run records in the page's IndexedDB: [{id, status, seed, label}]. */
function storedRuns(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('reslab');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const get = db.transaction('runs', 'readonly').objectStore('runs').getAll();
      get.onsuccess = () => {
        resolve(get.result.map((r) => ({ id: r.id, status: r.record.status, seed: r.record.config.seed, label: r.record.label })));
        db.close();
      };
      get.onerror = () => reject(get.error);
    };
  }));
}


async function noticeText(page) {
  return (await page.locator('#notice-list').textContent()) ?? '';
}

async function plannedCount(page, list) {
  return page.locator(`#${list} [data-testid="planned-run"]`).count();
}

test('two tabs: one owns the queue, the other is read-only and takes over when it closes; each run starts once', { timeout: 20 * MINUTE }, async () => {
  // Three seeds: the first far too long to finish before its tab closes, the other two short.
  const grid = {
    name: 'Tabs',
    base: { model: 'cnn', optimizer: 'adam', lr: 0.001, max_steps: 20, batch_size: 16, test_limit: 100, log_every: 2 },
    runs: [{ seed: 11, max_steps: 100000 }, { seed: 12 }, { seed: 13 }],
  };
  const app = await openApp({ query: `?backend=cpu#grid=${encodeJsonParam(grid)}` });
  const second = await app.context.newPage();
  const secondErrors = [];
  const secondLog = [];
  second.on('pageerror', (e) => secondErrors.push(String(e)));
  second.on('console', (m) => secondLog.push(`[second ${m.type()}] ${m.text()}`));
  // What a failure is explained with once the first page is gone.
  const secondApp = { page: second, log: secondLog };
  second.on('dialog', (d) => d.accept());
  try {
    await waitForBackend(app.page);
    await second.goto(`${app.server.url}?backend=cpu`);
    await waitForBackend(second);
    // The second tab knows it is not the one that trains.
    await until('the read-only notice', () => second.locator('#other-tab').isVisible(), MINUTE, app);
    assert.match(await second.getByTestId('other-tab').textContent(), /another ResLab tab.*read-only/s);
    assert.equal(await second.locator('#train').isDisabled(), true);
    assert.equal(await app.page.locator('#other-tab').isVisible(), false);
    assert.equal(await app.page.locator('#train').isDisabled(), false);

    await until('the grid plan', async () => (await plannedCount(app.page, 'grid-plan')) === 3, 3 * MINUTE, app);
    await app.page.locator('#grid-queue').click();
    // The owner's queue shows in the other tab, read-only (no remove buttons).
    await until('the queue in the second tab', async () => (await second.getByTestId('queued-run').count()) === 2, MINUTE, app);
    assert.equal(await second.locator('#queue-list button').count(), 0);
    assert.equal(await second.locator('#queue-clear').isVisible(), false);
    await until('the first run to train', () => app.page.evaluate(() => window.__reslab.runs.some((r) => r.status === 'running' && r.step > 0)), 3 * MINUTE, app);
    // The grid's runs are labelled by what differs between them (max_steps, seed).
    await until('the live line in the second tab', async () => /Training now: #\d+ .*seed 11/.test(await second.getByTestId('other-tab-now').textContent()), MINUTE, app);

    // The owning tab goes away mid-run: the second takes over, with the rest of the queue held.
    await app.page.close({ runBeforeUnload: false });
    await until('the take-over', async () => /now owns the queue/.test(await noticeText(second)), MINUTE, secondApp);
    assert.equal(await second.locator('#other-tab').isVisible(), false);
    assert.equal(await second.getByTestId('queued-run').count(), 2);
    await second.locator('#queue-resume').click();
    await until('the two queued runs to finish', async () => {
      const runs = await storedRuns(second);
      return runs.filter((r) => r.status === 'finished').length === 2;
    }, 10 * MINUTE, secondApp);
    const runs = await storedRuns(second);
    // Every seed ran once: the cut-off one interrupted, the other two finished; nothing twice.
    assert.deepEqual(runs.map((r) => r.seed).sort(), [11, 12, 13], JSON.stringify(runs));
    assert.equal(runs.find((r) => r.seed === 11).status, 'interrupted', JSON.stringify(runs));
    assert.deepEqual(secondErrors, []);
  } finally {
    await app.close();
  }
});

test('without Web Locks (a page on plain HTTP) tabs still elect one owner, and hand over when it leaves', { timeout: 10 * MINUTE }, async () => {
  // Browsers offer Web Locks only on secure origins; a classroom server on the LAN is plain HTTP.
  const noLocks = () => Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true });
  const app = await openApp({ query: '?backend=cpu', initScript: noLocks });
  const second = await app.context.newPage();
  await second.addInitScript(noLocks);
  const secondApp = { page: second, log: [] };
  try {
    await waitForBackend(app.page);
    assert.equal(await app.page.evaluate(() => 'locks' in navigator && navigator.locks), undefined);
    await second.goto(`${app.server.url}?backend=cpu`);
    await waitForBackend(second);
    await until('the read-only notice', () => second.locator('#other-tab').isVisible(), MINUTE, secondApp);
    assert.equal(await second.locator('#train').isDisabled(), true);
    assert.equal(await app.page.locator('#train').isDisabled(), false);
    // The owner leaves (pagehide): the other tab takes over.
    await app.page.goto('about:blank');
    await until('the take-over', async () => /now owns the queue/.test(await noticeText(second)), MINUTE, secondApp);
    assert.equal(await second.locator('#other-tab').isVisible(), false);
    assert.equal(await second.locator('#train').isDisabled(), false);
  } finally {
    await app.close();
  }
});

test('twenty quick clicks on Train queue one run; a repeat on purpose is one answer away', { timeout: 10 * MINUTE }, async () => {
  const app = await openApp({ query: '?backend=cpu&model=cnn&max_steps=2000&batch_size=16&log_every=10' });
  let answer = false;
  let asked = 0;
  app.page.on('dialog', (d) => {
    asked++;
    if (answer) d.accept();
    else d.dismiss();
  });
  try {
    await waitForBackend(app.page);
    await until('Train enabled', async () => !(await app.page.locator('#train').isDisabled()), MINUTE, app);
    for (let i = 0; i < 20; i++) await app.page.locator('#train').click();
    const pending = () => app.page.evaluate(() => ({
      queued: document.querySelectorAll('[data-testid="queued-run"]').length,
      running: window.__reslab.running,
    }));
    assert.deepEqual(await pending(), { queued: 0, running: true });
    assert.equal(asked, 19);
    assert.match(await app.page.getByTestId('train-note').textContent(), /Already (training|queued): .*not queued again/);
    // Asked and answered yes: the repeat is queued.
    answer = true;
    await app.page.locator('#train').click();
    assert.deepEqual(await pending(), { queued: 1, running: true });
    // Another seed is another run: no question.
    answer = false;
    await openAdvanced(app.page);
    await control(app.page, 'Seed').fill('2');
    await app.page.waitForTimeout(500);
    const before = asked;
    await app.page.locator('#train').click();
    assert.equal(asked, before);
    assert.deepEqual(await pending(), { queued: 2, running: true });
    answer = true;
    await app.page.locator('#queue-clear').click();
    await app.page.locator('#stop').click();
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});

test('links the page cannot open say why and leave the address bar', { timeout: 10 * MINUTE }, async () => {
  const cases = [
    { query: '?preset=nonexistent&backend=cpu', notice: /study “nonexistent”, which ResLab does not have .*degradation/ },
    { query: '?preset=__proto__&backend=cpu', notice: /preset=__proto__ is not a preset name/ },
    { query: '?grid=!!!junk***&backend=cpu', notice: /grid .*is not base64url-encoded JSON/ },
    { query: `?backend=cpu#grid=${encodeJsonParam({ grid: { lr: Array.from({ length: 65 }, (_, i) => 0.001 * (i + 1)) } })}`, notice: /grid cannot be run: .*65 runs.*at most 64/ },
  ];
  for (const c of cases) {
    const app = await openApp({ query: c.query });
    try {
      await waitForBackend(app.page);
      // The notice is still there once the engine and its studies are loaded.
      await until(`the notice for ${c.query.slice(0, 40)}`, async () => c.notice.test(await noticeText(app.page)), 2 * MINUTE, app);
      await app.page.waitForTimeout(1500);
      assert.match(await noticeText(app.page), c.notice);
      const url = new URL(await app.page.evaluate(() => location.href));
      assert.equal(url.searchParams.has('preset'), false, url.href);
      assert.equal(url.searchParams.has('grid'), false, url.href);
      assert.equal(url.hash.includes('grid='), false, url.href);
      // The rest of the address (the settings) is kept.
      assert.equal(url.searchParams.get('backend'), 'cpu', url.href);
      assert.deepEqual(app.pageErrors, []);
    } finally {
      await app.close();
    }
  }
});

test('the largest grid the page allows opens from its link', { timeout: 10 * MINUTE }, async () => {
  // 64 runs (the most a grid may have), each differing from the defaults in many settings: the link the
  // queue's "Copy link" builds for them is far longer than a server accepts in a query.
  const configs = Array.from({ length: 64 }, (_, i) => ({
    ...FALLBACK_CONFIG,
    model: i % 2 ? 'resnet20' : 'plain20',
    dataset: 'cifar10',
    optimizer: 'momentum',
    lr: 0.1 / (i + 1),
    momentum: 0.85 + i / 1000,
    weight_decay: 0.0001 * (i + 1),
    schedule: 'multistep',
    milestones: [1000 + i, 2000 + i, 3000 + i],
    gamma: 0.1,
    warmup_steps: 10 + i,
    warmup_lr: 0.01,
    batch_size: 8 + i,
    max_steps: 100 + i,
    bn_momentum: 0.01 + i / 1000,
    bn_epsilon: 0.00001 * (i + 1),
    seed: 1000 + i,
    test_limit: 100 + i,
    train_limit: 1000 + i,
    log_every: 1 + (i % 5),
  }));
  const part = queryForLab({ grid: gridFromConfigs(configs, FALLBACK_CONFIG, 'Shared queue') });
  assert.ok(part.startsWith('#grid='), part.slice(0, 20));
  assert.ok(part.length > 16 * 1024, `only ${part.length} characters`);
  const app = await openApp({ query: `?backend=cpu${part}` });
  try {
    await waitForBackend(app.page);
    await until('the 64 planned runs', async () => (await plannedCount(app.page, 'grid-plan')) === 64, 3 * MINUTE, app);
    assert.equal(await app.page.locator('#grid-plan .error').count(), 0);
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});

test('a validation split as large as the training set is refused in the form; a PNG named as MNIST is called a PNG', { timeout: 10 * MINUTE }, async () => {
  const app = await openApp({ query: '?backend=cpu' });
  try {
    await waitForBackend(app.page);
    const train = await until('the sample to load', () => app.page.evaluate(() => window.__reslab.datasets['sample-mnist']?.train), 2 * MINUTE, app);
    await openAdvanced(app.page);
    await control(app.page, 'Validation images').fill(String(train));
    await until('the val_size message', async () => /leaves no training images/.test(await app.page.locator('#err-val_size').textContent()), MINUTE, app);
    assert.equal(await app.page.locator('#train').isDisabled(), true);
    await control(app.page, 'Validation images').fill(String(train - 1));
    await until('the message to go', () => app.page.locator('#err-val_size').isHidden(), MINUTE, app);

    // Only a PNG, renamed as the training images.
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000010000000100802000000', 'hex');
    await app.page.locator('#data').selectOption('user');
    await app.page.locator('#data-files').setInputFiles({ name: 'train-images-idx3-ubyte.gz', mimeType: 'application/gzip', buffer: png });
    await until('the data error', () => app.page.getByTestId('data-error').isVisible(), MINUTE, app);
    assert.match(await app.page.getByTestId('data-error').textContent(), /train-images-idx3-ubyte\.gz: this is a PNG image, not a dataset file/);
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});
