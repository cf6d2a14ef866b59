// What a study claims, checked on its runs (the box under the results, CPU
// backend, no training): runs of the `batchnorm` preset imported through the
// page's Import, with numbers chosen from the claim as the engine states it
// (its sides, measure and margin read from the presets JSON at test time):
// - a pair whose train − test (and train − validation) gap is larger by more than the margin on the
//   claim's "high" side → "shows", with both gaps in the evidence; the same
//   box in a second, read-only tab;
// - a run of no study imported beside them does not ask the engine again
//   (the verdicts are asked for when a study's runs change, not per frame);
// - the pair reversed → "does not show at this budget".

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE, diagnostics, openApp, requireBuild, until, waitForBackend } from './helpers.mjs';

requireBuild();

const PRESET = 'batchnorm';

/** Counts the `claims` requests the page sends its worker (window.__claimsSent). */
function countClaimRequests() {
  window.__claimsSent = 0;
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (msg, ...rest) {
    if (msg && msg.type === 'claims') window.__claimsSent++;
    return post.call(this, msg, ...rest);
  };
}


/** The engine's presets and the preset's classroom runs, from the built engine loaded into the page. */
function engineFacts(page, id) {
  return page.evaluate(async (presetId) => {
    const m = await import(new URL('/pkg/reslab.js', location.origin).href);
    await m.default();
    return { presets: JSON.parse(m.presets()), runs: JSON.parse(m.expand_preset(presetId, 'classroom', 1, '')) };
  }, id);
}

/** Does a config match a claim's side (a partial config; numbers by value), as src/lab/claims.rs matches them? */
function matches(config, part) {
  return Object.entries(part).every(([k, v]) => JSON.stringify(config[k]) === JSON.stringify(v));
}

const pct = (x) => `${(x * 100).toFixed(1)}%`;

/** A finished run of the preset as the page exports it, whose last epoch trains `gap` above its test accuracy. */
function record(preset, planned, { test: testAcc, gap }) {
  return {
    config: planned.config,
    status: 'finished',
    label: planned.label,
    group: { kind: 'preset', id: preset.id, name: preset.title, budget: 'classroom', scale: 1 },
    epochs: [{ epoch: 1, train_loss: 1.1, train_accuracy: testAcc + gap, val_loss: 1.3, val_accuracy: testAcc }],
    steps: Array.from({ length: 20 }, (_, i) => ({ step: 20 * (i + 1), loss: 2.2 - 0.05 * i })),
    steps_done: 400,
    test_accuracy: testAcc,
    best_val_accuracy: testAcc,
    final_val_accuracy: testAcc,
  };
}

async function importRuns(app, name, records, wantRows) {
  await app.page.getByTestId('import-runs').setInputFiles({ name, mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(records)) });
  await until(`${name} to be imported`, async () => (await app.page.getByTestId('result-row').count()) === wantRows, MINUTE, app);
  assert.match(await app.page.locator('#import-status').textContent(), new RegExp(`${name}: imported ${records.length} runs?\\.`));
}

/** The claim's verdict and evidence in the preset's box, once the engine has judged it (not "checking…"). */
async function verdict(app, page, claimText) {
  const item = page.locator(`[data-testid="study-claims"][data-preset="${PRESET}"] [data-testid="claim"]`)
    .filter({ has: page.locator('[data-testid="claim-text"]', { hasText: claimText }) });
  return until('the claim\'s verdict', async () => {
    if ((await item.count()) !== 1) return null;
    const v = item.getByTestId('claim-verdict');
    if ((await v.getAttribute('data-verdict')) === 'checking') return null;
    const evidence = item.getByTestId('claim-evidence');
    return {
      verdict: (await v.textContent()).trim(),
      kind: await v.getAttribute('data-verdict'),
      evidence: (await evidence.count()) ? (await evidence.textContent()).trim() : '',
    };
  }, MINUTE, app);
}

test('a study\'s claim checked on imported runs: shows, then does not show when the runs say otherwise', { timeout: 10 * MINUTE }, async () => {
  const app = await openApp({ query: '?backend=cpu', initScript: countClaimRequests });
  app.page.on('dialog', (d) => d.accept());
  try {
    await waitForBackend(app.page);
    const { presets, runs: planned } = await engineFacts(app.page, PRESET);
    const preset = presets.find((p) => p.id === PRESET);
    assert.ok(preset, `no preset ${PRESET} in ${presets.map((p) => p.id)}`);
    // Measured on the records below, whose one epoch validates at the test accuracy: train − val = train − test.
    const claim = (preset.claims ?? []).find((c) => c.measure === 'train_val_lag' || c.measure === 'train_test_gap');
    assert.ok(claim, `${PRESET} has no claim on how far evaluation lags training: ${JSON.stringify(preset.claims)}`);
    assert.equal(claim.summary, 'mean');
    const low = planned.find((r) => matches(r.config, claim.low));
    const high = planned.find((r) => matches(r.config, claim.high));
    assert.ok(low && high && low !== high, `the classroom plan has no run for each side: ${JSON.stringify({ claim, planned: planned.map((r) => r.label) })}`);

    // The claim: the gap on the "high" side exceeds the "low" side's by at least the margin.
    const small = 0.03;
    const large = small + claim.margin + 0.1;
    await importRuns(app, 'shows.json', [record(preset, low, { test: 0.6, gap: small }), record(preset, high, { test: 0.45, gap: large })], 2);
    const shows = await verdict(app, app.page, claim.text);
    const box = app.page.locator(`[data-testid="study-claims"][data-preset="${PRESET}"]`);
    assert.match(await box.locator('h3').textContent(), /What this study claims, checked on these runs/);
    // Every claim of the preset is listed, this one among them.
    assert.equal(await box.getByTestId('claim').count(), preset.claims.length);
    assert.equal(shows.verdict, 'shows', JSON.stringify(shows));
    assert.equal(shows.kind, 'shows');
    // The gaps as the engine computes them (train − validation, or train − test, of the one epoch), in percent.
    const gapLow = pct(0.6 + small - 0.6);
    const gapHigh = pct(0.45 + large - 0.45);
    assert.ok(shows.evidence.includes(gapLow) && shows.evidence.includes(gapHigh), `evidence without ${gapLow} and ${gapHigh}: ${shows.evidence}`);
    assert.ok(shows.evidence.indexOf(gapHigh) < shows.evidence.indexOf(gapLow), `the high side comes first: ${shows.evidence}`);
    // A verdict badge has its colour class.
    assert.match(await box.getByTestId('claim-verdict').first().getAttribute('class'), /\bverdict-shows\b/);
    assert.equal(await app.page.evaluate(() => window.__claimsSent), 1, 'one request for one set of runs');

    // The same net run outside the study: the table redraws, the study's runs are the same, so no new request.
    const other = { ...record(preset, low, { test: 0.5, gap: 0.4 }), group: null, label: 'outside the study' };
    await importRuns(app, 'other.json', [other], 3);
    await app.page.waitForTimeout(1000);
    assert.equal(await app.page.evaluate(() => window.__claimsSent), 1, 'the claims were asked for again though the study\'s runs did not change');
    assert.equal((await verdict(app, app.page, claim.text)).verdict, 'shows');

    // A read-only second tab shows the same box (it only reads the runs).
    const second = await app.context.newPage();
    try {
      await second.goto(`${app.server.url}?backend=cpu`);
      await waitForBackend(second);
      await until('the read-only notice', () => second.locator('#other-tab').isVisible(), MINUTE, app);
      const there = await verdict(app, second, claim.text);
      assert.deepEqual(there, shows);
    } finally {
      await second.close();
    }

    // The same runs with the gaps swapped: the claim does not show.
    await app.page.locator('#clear-results').click();
    await until('the results to be cleared', async () => (await app.page.getByTestId('result-row').count()) === 0, MINUTE, app);
    assert.equal(await box.count(), 0, 'a study without finished runs has no claims box');
    await importRuns(app, 'reversed.json', [record(preset, low, { test: 0.45, gap: large }), record(preset, high, { test: 0.6, gap: small })], 2);
    const reversed = await verdict(app, app.page, claim.text);
    assert.equal(reversed.verdict, 'does not show at this budget', JSON.stringify(reversed));
    assert.equal(reversed.kind, 'does_not_show');
    assert.ok(reversed.evidence.includes(gapLow) && reversed.evidence.includes(gapHigh), `evidence without ${gapLow} and ${gapHigh}: ${reversed.evidence}`);
    assert.ok(reversed.evidence.indexOf(gapLow) < reversed.evidence.indexOf(gapHigh), `the high side (now the smaller gap) comes first: ${reversed.evidence}`);
    assert.equal(await app.page.evaluate(() => window.__claimsSent), 2);
    await app.screenshot('study-claims.png');
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});
