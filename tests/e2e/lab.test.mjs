// The ablation lab in the browser (CPU backend in wasm):
// - the "Degradation" preset on its smoke budget runs end to end from a link
//   and fills a four-row results table with the paper's numbers beside ours;
// - the runs survive a reload (IndexedDB), and export → delete → import →
//   export gives the same file;
// - a run with lr = 10 is marked diverged and the queue goes on;
// - a trained model saved as a file and loaded back evaluates to the same
//   test accuracy;
// - the diagram of resnet20 shows 9 shortcuts, plain20's none.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { encodeJsonParam } from '../../www/state.js';
import { MINUTE, diagnostics, openApp, pressTrain, requireBuild, waitForBackend } from './helpers.mjs';

requireBuild();

const ENDED = ['finished', 'stopped', 'diverged', 'failed', 'interrupted', 'evaluated'];

/** Polls the results table until `n` rows have ended; returns their {model, status, test, label}. */
async function waitForRows(app, n, timeout) {
  const until = Date.now() + timeout;
  for (;;) {
    const rows = await app.page.evaluate(() => window.__reslab.runs);
    const ended = rows.filter((r) => r.done);
    if (rows.length >= n && ended.length >= n) return rows;
    if (Date.now() > until) throw new Error(`only ${ended.length}/${n} runs ended: ${JSON.stringify(rows)}\n${await diagnostics(app)}`);
    await app.page.waitForTimeout(1000);
  }
}

async function download(app, click) {
  const [dl] = await Promise.all([app.page.waitForEvent('download', { timeout: MINUTE }), click()]);
  const path = await dl.path();
  return { path, text: readFileSync(path, 'utf8'), name: dl.suggestedFilename() };
}

async function plannedRuns(app, list) {
  const until = Date.now() + 3 * MINUTE;
  for (;;) {
    const n = await app.page.locator(`#${list} [data-testid="planned-run"]`).count();
    if (n > 0) return n;
    const err = await app.page.locator(`#${list} .error`).count();
    if (err) throw new Error(`planning failed: ${await app.page.locator(`#${list}`).textContent()}`);
    if (Date.now() > until) throw new Error(`no plan in #${list}\n${await diagnostics(app)}`);
    await app.page.waitForTimeout(300);
  }
}

test('Degradation preset from a link: four runs, the paper beside them, kept across a reload, export/import exact', { timeout: 30 * MINUTE }, async () => {
  const app = await openApp({ query: '?preset=degradation&budget=smoke&backend=cpu' });
  app.page.on('dialog', (d) => d.accept());
  try {
    await waitForBackend(app.page);
    assert.equal(await plannedRuns(app, 'preset-plan'), 4);
    assert.match(await app.page.locator('#preset-title').textContent(), /Degradation/i);
    // Copy link: the address now names the study (the clipboard may be refused headless: then the link is shown).
    await app.page.locator('#preset-link').click();
    await app.page.waitForTimeout(300);
    assert.match(await app.page.evaluate(() => location.search), /preset=degradation&budget=smoke/);
    assert.match(await app.page.locator('#preset-link-status').textContent(), /Link copied|preset=degradation/);
    await app.page.getByTestId('preset-queue').click();
    const rows = await waitForRows(app, 4, 20 * MINUTE);
    assert.equal(rows.length, 4);
    assert.deepEqual(rows.map((r) => r.status), ['finished', 'finished', 'finished', 'finished'], JSON.stringify(rows));
    const models = await app.page.evaluate(() => window.__reslab.runs.map((r) => r.config.model).sort());
    assert.deepEqual(models, ['plain20', 'plain56', 'resnet20', 'resnet56']);
    // Four rows in the table, the paper's Table 6 number beside resnet20 (100 − 8.75 %).
    await app.page.waitForTimeout(300);
    assert.equal(await app.page.getByTestId('result-row').count(), 4);
    const table = await app.page.locator('#results').textContent();
    assert.ok(table.includes('91.3%'), `no paper reference in the table: ${table}`);
    // Fig. 7 for plain-20 and ResNet-20: one curve each, 19 layers (stem + 18).
    const ids = await app.page.evaluate(() => Object.fromEntries(window.__reslab.runs.map((r) => [r.config.model, r.id])));
    for (const [k, model] of ['plain20', 'resnet20'].entries()) {
      await app.page.locator(`#results-body tr[data-run-id="${ids[model]}"] td`).nth(1).click();
      await app.page.getByTestId('fig7-compute').click();
      const until = Date.now() + 3 * MINUTE;
      while ((await app.page.locator('#fig7-chart').getAttribute('data-series')) !== String(k + 1)) {
        if (Date.now() > until) throw new Error(`Fig. 7 has no curve for ${model}: ${await app.page.locator('#fig7-status').textContent()}`);
        await app.page.waitForTimeout(300);
      }
    }
    assert.match(await app.page.locator('#fig7-status').textContent(), /\(19 layers\)/);
    // The analysis of the selected run: confusion matrix and test images, wrong ones marked.
    assert.equal(await app.page.locator('#run-details table.confusion tbody tr').count(), 10);
    const until = Date.now() + MINUTE;
    while ((await app.page.locator('#image-grid figure').count()) === 0) {
      if (Date.now() > until) throw new Error('no test images');
      await app.page.waitForTimeout(300);
    }
    const shown = await app.page.locator('#image-grid figure').count();
    const wrong = await app.page.getByTestId('image-wrong').count();
    assert.ok(shown >= 30 && wrong > 0, `${shown} images, ${wrong} wrong`);
    await app.screenshot('lab-degradation.png');

    const before = await app.page.evaluate(() => window.__reslab.runs.map((r) => [r.id, r.status, r.testAccuracy, r.steps]));
    await app.page.reload();
    await waitForBackend(app.page);
    const after = await waitForRows(app, 4, MINUTE);
    assert.deepEqual(after.map((r) => [r.id, r.status, r.testAccuracy, r.steps]), before);
    assert.equal(await app.page.getByTestId('result-row').count(), 4);
    const counts = await app.page.evaluate(() => window.__reslab.chartCounts());
    assert.ok(counts.steps > 0, `restored runs have no curves: ${JSON.stringify(counts)}`);
    assert.equal(await app.page.locator('#fig7-chart').getAttribute('data-series'), '2', 'Fig. 7 curves were not kept');

    const first = await download(app, () => app.page.getByTestId('export-json').click());
    const exported = JSON.parse(first.text);
    assert.equal(exported.length, 4);
    assert.ok(exported.every((r) => r.config && Array.isArray(r.steps) && r.steps.length && r.status === 'finished'));
    await app.page.locator('#clear-results').click();
    await app.page.waitForTimeout(300);
    assert.equal(await app.page.getByTestId('result-row').count(), 0);
    await app.page.getByTestId('import-runs').setInputFiles(first.path);
    await waitForRows(app, 4, MINUTE);
    const second = await download(app, () => app.page.getByTestId('export-json').click());
    assert.equal(second.text, first.text, 'export → import → export changed the file');

    // A damaged file is refused with a message and the runs stay.
    await app.page.getByTestId('import-runs').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('[{"config": {"lr": "x"}, "status": "finished"}]') });
    await app.page.waitForTimeout(500);
    assert.match(await app.page.locator('#import-status').textContent(), /bad\.json: imported 0 runs; 1 skipped — run 1: config/);
    assert.equal(await app.page.getByTestId('result-row').count(), 4);
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});

test('lr = 10 is marked diverged and the queue goes on; a saved model evaluates the same after loading', { timeout: 15 * MINUTE }, async () => {
  const grid = {
    name: 'Learning rate',
    base: { model: 'cnn', optimizer: 'sgd', max_steps: 30, batch_size: 16, test_limit: 200, log_every: 1 },
    grid: { lr: [10, 0.05] },
  };
  const app = await openApp({ query: `?grid=${encodeJsonParam(grid)}&backend=cpu` });
  try {
    await waitForBackend(app.page);
    assert.equal(await plannedRuns(app, 'grid-plan'), 2);
    await app.page.locator('#grid-queue').click();
    const rows = await waitForRows(app, 2, 10 * MINUTE);
    const byLr = Object.fromEntries(await app.page.evaluate(() => window.__reslab.runs.map((r) => [r.config.lr, r])));
    assert.equal(byLr[10].status, 'diverged', JSON.stringify(rows));
    assert.match(byLr[10].message, /^diverged at step \d+/);
    assert.equal(byLr[0.05].status, 'finished', JSON.stringify(rows));
    const status = app.page.locator(`#results-body tr[data-run-id="${byLr[10].id}"] [data-testid="result-status"]`);
    assert.equal((await status.textContent()).trim(), 'Diverged');
    assert.match(await status.getAttribute('title'), /diverged at step/);

    // Save the finished run's model, load it back, evaluate: same accuracy.
    const row = app.page.locator(`#results-body tr[data-run-id="${byLr[0.05].id}"]`);
    const file = await download(app, () => row.getByTestId('save-model').click());
    assert.match(file.name, /\.reslab$/);
    await app.page.getByTestId('load-model').setInputFiles(file.path);
    await app.page.getByTestId('evaluate-model').click({ timeout: 2 * MINUTE });
    const all = await waitForRows(app, 3, 5 * MINUTE);
    const evaluated = all.find((r) => r.status === 'evaluated');
    assert.ok(evaluated, JSON.stringify(all));
    assert.equal(evaluated.testAccuracy, byLr[0.05].testAccuracy);

    // A file that is not a model is refused with a message; the page goes on.
    await app.page.getByTestId('load-model').setInputFiles({ name: 'notes.reslab', mimeType: 'application/octet-stream', buffer: Buffer.from('hello') });
    const until = Date.now() + MINUTE;
    let text = '';
    while (Date.now() < until && !/could not be loaded/.test(text)) {
      text = await app.page.locator('#loaded-model').textContent();
      await app.page.waitForTimeout(200);
    }
    assert.match(text, /could not be loaded: .*not a ResLab model/i);
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});

test('the diagram shows resnet20 with 9 shortcuts and plain20 with none', { timeout: 5 * MINUTE }, async () => {
  const app = await openApp({ query: '?model=resnet20&data=sample-cifar10&backend=cpu' });
  try {
    await waitForBackend(app.page);
    const shortcuts = async (want) => {
      const until = Date.now() + MINUTE;
      for (;;) {
        const n = await app.page.locator('#diagram [data-testid="shortcut"]').count();
        const nodes = await app.page.locator('#diagram [data-testid="diagram-node"]').count();
        if (n === want && nodes > 9) return { n, nodes };
        if (Date.now() > until) throw new Error(`diagram has ${n} shortcuts, ${nodes} nodes (want ${want})`);
        await app.page.waitForTimeout(200);
      }
    };
    const r = await shortcuts(9);
    assert.ok(r.nodes >= 12, `resnet20: stem + 9 blocks + pool + fc, got ${r.nodes}`);
    await app.page.getByLabel('Model', { exact: true }).selectOption('plain20');
    await shortcuts(0);
    assert.match(await app.page.locator('#diagram').textContent(), /no shortcuts/);
    // Deep nets start with their stages collapsed; a click expands one.
    await app.page.getByLabel('Model', { exact: true }).selectOption('resnet110');
    const until = Date.now() + MINUTE;
    while ((await app.page.locator('#diagram [data-testid="diagram-stage"][aria-expanded="false"]').count()) !== 3) {
      if (Date.now() > until) throw new Error('resnet110 stages are not collapsed');
      await app.page.waitForTimeout(200);
    }
    await app.page.locator('#diagram [data-testid="diagram-stage"]').first().click();
    assert.equal(await app.page.locator('#diagram [data-testid="shortcut"]').count(), 18);
  } finally {
    await app.close();
  }
});

test('a run cut off by a reload is marked interrupted and resumes from its checkpoint', { timeout: 15 * MINUTE }, async () => {
  const app = await openApp({ query: '?backend=cpu&model=cnn&batch_size=32&epochs=4&train_limit=1024&test_limit=200&log_every=4' });
  try {
    await waitForBackend(app.page);
    await pressTrain(app.page);
    const until = Date.now() + 10 * MINUTE;
    for (;;) {
      const [r] = await app.page.evaluate(() => window.__reslab.runs);
      if (r?.checkpoint?.epoch >= 1 && !r.done) break;
      if (r?.done) throw new Error(`the run ended before its first checkpoint: ${JSON.stringify(r)}`);
      if (Date.now() > until) throw new Error(`no checkpoint: ${await diagnostics(app)}`);
      await app.page.waitForTimeout(200);
    }
    await app.page.reload();
    await waitForBackend(app.page);
    const [cut] = await waitForRows(app, 1, MINUTE);
    assert.equal(cut.status, 'interrupted');
    assert.match(cut.message, /Interrupted by a page reload after step \d+\. It can be resumed from its checkpoint at epoch \d/);
    await app.page.getByTestId('resume').click();
    const rows = await waitForRows(app, 2, 10 * MINUTE);
    const resumed = rows[1];
    assert.equal(resumed.status, 'finished', await diagnostics(app));
    assert.match(resumed.label, /\(resumed at epoch \d\)$/);
    // The same run goes on: its config unchanged, its curve the original's up
    // to the checkpoint and then on to the end of the 4 epochs (32 steps each).
    assert.deepEqual(resumed.config, cut.config);
    const ck = Number(/checkpoint at epoch (\d)/.exec(cut.message)[1]);
    assert.equal(resumed.step, 4 * 32, `steps done: ${resumed.step}`);
    assert.equal(resumed.firstLoss, cut.firstLoss, 'the curve starts with the original run\'s first steps');
    const [orig, cont] = await app.page.evaluate(([a, b]) => [window.__reslab.curve(a), window.__reslab.curve(b)], [cut.id, resumed.id]);
    const upTo = ck * 32;
    assert.deepEqual(cont.filter(([s]) => s <= upTo), orig.filter(([s]) => s <= upTo));
    const after = cont.filter(([s]) => s > upTo).map(([s]) => s);
    assert.deepEqual(after, Array.from({ length: 4 * 32 - upTo }, (_, i) => upTo + 1 + i), 'the new steps follow on from the checkpoint');
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});
