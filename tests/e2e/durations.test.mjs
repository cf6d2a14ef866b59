// How long a plan takes from measured speed (www/durations.js): steps from
// max_steps or epochs over the images a run really sees, evaluation passes
// counted, runs without a speed or a dataset reported rather than guessed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSpan, planSeconds, plannedSteps, runSeconds, speedKey } from '../../www/durations.js';

const base = { dataset: 'cifar10', model: 'resnet20', shortcut: 'a', stem: 'auto', batch_size: 128, epochs: 1, max_steps: null, val_size: 0, train_limit: null, test_limit: null, patience: null };
const sample = { train: 2000, test: 1000 };

test('steps come from max_steps, or epochs over the training images less the validation split', () => {
  assert.equal(plannedSteps({ ...base, max_steps: 500 }, sample), 500);
  // 2,000 − 200 = 1,800 images: 15 batches of 128 (the last one partial) per epoch.
  assert.equal(plannedSteps({ ...base, batch_size: 128, epochs: 3, val_size: 200 }, sample), 45);
  assert.equal(plannedSteps({ ...base, batch_size: 64, epochs: 2, train_limit: 640 }, sample), 20);
});

test('a run costs its training steps plus a third of a step per evaluation batch', () => {
  // 500 steps; test: 1,000 images = 8 batches; val 200 = 2 batches, every epoch (500 / 15 → 34 epochs).
  const s = runSeconds({ ...base, max_steps: 500, val_size: 200 }, sample, 0.5);
  assert.equal(s, 0.5 * (500 + (8 + 34 * 2) / 3));
  assert.equal(runSeconds({ ...base, max_steps: 10, test_limit: 128 }, sample, 1), 10 + 1 / 3);
});

test('a plan adds its runs; runs without a speed or a dataset are counted, not guessed', () => {
  const configs = [{ ...base, max_steps: 100 }, { ...base, model: 'resnet56', max_steps: 100 }, { ...base, dataset: 'mnist', max_steps: 100 }];
  const speeds = new Map([[speedKey(configs[0], 'cpu'), 0.2], [speedKey(configs[2], 'cpu'), 0.1]]);
  const counts = (c) => (c.dataset === 'mnist' ? null : sample);
  const r = planSeconds(configs, (c) => speeds.get(speedKey(c, 'cpu')), counts);
  // resnet56 has no speed; the MNIST run no dataset: only the first is summed.
  assert.equal(r.unknown, 2);
  assert.equal(r.seconds, runSeconds(configs[0], sample, 0.2));
  assert.equal(r.atMost, false);
  assert.equal(planSeconds([{ ...base, epochs: 15, patience: 2, val_size: 200 }], () => 1, () => sample).atMost, true);
  // Speeds are per backend and per batch size.
  assert.notEqual(speedKey(base, 'cpu'), speedKey(base, 'webgpu'));
  assert.notEqual(speedKey(base, 'cpu'), speedKey({ ...base, batch_size: 64 }, 'cpu'));
});

test('spans read as a person says them', () => {
  assert.equal(formatSpan(0.2), '1 s');
  assert.equal(formatSpan(42.4), '42 s');
  assert.equal(formatSpan(89), '1 min');
  assert.equal(formatSpan(27 * 60 + 10), '27 min');
  assert.equal(formatSpan(125 * 60), '2 h 5 min');
  assert.equal(formatSpan(120 * 60), '2 h');
  assert.equal(formatSpan(NaN), '—');
});
