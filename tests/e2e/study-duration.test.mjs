// Before a study runs, the page measures this machine's speed on the study's
// nets and says how long the study takes here (CPU backend); the number
// follows the plan (twice the length, about twice the time), so it is
// computed, not a fixed text.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE, diagnostics, openApp, requireBuild, waitForBackend } from './helpers.mjs';

requireBuild();

/** "About 12 min here, … (measured on this machine: resnet20 at batch 64 0.41 s a step)" → {seconds, perStep}. */
function parse(text) {
  const m = /^(About|At most) (?:(\d+) h ?)?(?:(\d+) min)?(?:(\d+) s)? here, on the CPU backend/.exec(text);
  if (!m) return null;
  const seconds = (Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0);
  const step = /resnet20 at batch 64 ([\d.e+-]+) s a step/.exec(text);
  return { seconds, perStep: step ? Number(step[1]) : NaN };
}

async function durationText(app, previous = null) {
  const until = Date.now() + 4 * MINUTE;
  for (;;) {
    const text = ((await app.page.getByTestId('study-duration').textContent()) ?? '').trim();
    if (parse(text) && text !== previous) return text;
    if (Date.now() > until) throw new Error(`no measured duration, last text: "${text}"\n${await diagnostics(app)}`);
    await app.page.waitForTimeout(500);
  }
}

test('a study says how long it takes here, from this machine\'s measured speed', { timeout: 10 * MINUTE }, async () => {
  // BatchNorm: 2 runs of ResNet-20, 400 steps at batch 64 on the CIFAR-10 sample.
  const app = await openApp({ query: '?preset=batchnorm&backend=cpu' });
  try {
    await waitForBackend(app.page);
    const text = await durationText(app);
    const { perStep } = parse(text);
    const seconds = Number(await app.page.getByTestId('study-duration').getAttribute('data-seconds'));
    assert.ok(perStep > 0.001 && perStep < 60, `implausible step time in "${text}"`);
    // 800 training steps plus evaluation passes (at a third of a step per batch): between the two.
    assert.ok(seconds >= 0.9 * 800 * perStep && seconds <= 1.6 * 800 * perStep + 60, `"${text}" (${seconds} s) does not follow from ${perStep} s a step`);
    assert.equal(parse(text).seconds > 0, true);
    assert.doesNotMatch(await app.page.locator('#preset-budget-note').textContent(), /estimate|laptop/);

    // Twice the length: about twice the time, from the speed already measured.
    await app.page.locator('#preset-scale').selectOption('2');
    const longer = await durationText(app, text);
    const doubled = Number(await app.page.getByTestId('study-duration').getAttribute('data-seconds'));
    assert.ok(doubled / seconds > 1.8 && doubled / seconds < 2.2, `×2 length: "${text}" (${seconds} s) → "${longer}" (${doubled} s)`);
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});
