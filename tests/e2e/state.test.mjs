// The page state: URL parsing is strict (never evaluated), invalid values
// fall back to defaults with a message, and serialisation round-trips.
// Pure module: runs under node without a browser or the engine.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FALLBACK_CONFIG,
  checkConfig,
  formatNumber,
  parseField,
  queryFromState,
  runLabel,
  stateFromQuery,
} from '../../www/state.js';

test('valid URL values are parsed with their types', () => {
  const { state, messages } = stateFromQuery('?backend=cpu&model=resnet56&lr=0.001&batch_size=64&augment=false&max_steps=20&milestones=100,200&mean_subtraction=off');
  assert.deepEqual(messages, []);
  assert.equal(state.backend, 'cpu');
  assert.equal(state.config.model, 'resnet56');
  assert.equal(state.config.lr, 0.001);
  assert.equal(state.config.batch_size, 64);
  assert.equal(state.config.augment, false);
  assert.equal(state.config.max_steps, 20);
  assert.deepEqual(state.config.milestones, [100, 200]);
  assert.equal(state.config.mean_subtraction, false);
});

test('invalid URL values fall back to the defaults with a message', () => {
  const { state, messages } = stateFromQuery('?lr=abc&batch_size=1.5&model=alert(1)&backend=gpu&bn_momentum=2&foo=bar&max_steps=-3');
  assert.equal(state.config.lr, FALLBACK_CONFIG.lr);
  assert.equal(state.config.batch_size, FALLBACK_CONFIG.batch_size);
  assert.equal(state.config.model, FALLBACK_CONFIG.model);
  assert.equal(state.backend, 'auto');
  assert.equal(state.config.bn_momentum, FALLBACK_CONFIG.bn_momentum);
  assert.equal(state.config.max_steps, FALLBACK_CONFIG.max_steps);
  assert.equal(messages.length, 7, messages.join('\n'));
  assert.ok(messages.some((m) => m.includes('lr=abc')));
  assert.ok(messages.some((m) => m.includes('"foo"')));
});

test('nothing in the URL is evaluated', () => {
  globalThis.__pwned = false;
  const { state } = stateFromQuery('?lr=globalThis.__pwned%3Dtrue&seed=1e400&__proto__=x&constructor=y');
  assert.equal(globalThis.__pwned, false);
  assert.equal(state.config.lr, FALLBACK_CONFIG.lr);
  assert.equal(state.config.seed, FALLBACK_CONFIG.seed);
  assert.equal({}.x, undefined);
});

test('dataset choice: built-in samples set the dataset kind', () => {
  assert.equal(stateFromQuery('?data=sample-cifar10').state.config.dataset, 'cifar10');
  assert.equal(stateFromQuery('?dataset=cifar10').state.data, 'sample-cifar10');
  const { state, messages } = stateFromQuery('?data=user');
  assert.equal(state.data, 'sample-mnist');
  assert.equal(messages.length, 1);
});

test('serialisation round-trips and omits untouched defaults', () => {
  const { state } = stateFromQuery('?backend=webgpu&model=plain20&lr=0.05&max_steps=3&augment=true');
  const q = queryFromState(state);
  const again = stateFromQuery(q).state;
  assert.deepEqual(again.config, state.config);
  assert.equal(again.backend, 'webgpu');
  assert.equal(queryFromState(stateFromQuery('').state), '');
});

test('field parsing', () => {
  assert.deepEqual(parseField('lr', '1e-3'), { ok: true, value: 0.001 });
  assert.equal(parseField('lr', '0').ok, false);
  assert.equal(parseField('lr', 'Infinity').ok, false);
  assert.equal(parseField('epochs', '2.5').ok, false);
  assert.deepEqual(parseField('patience', ''), { ok: true, value: null });
  assert.deepEqual(parseField('augment', 'auto'), { ok: true, value: null });
  assert.equal(parseField('milestones', '300, 200').ok, false);
  assert.equal(parseField('model', 'resnet1202', { modelIds: ['resnet1202'] }).ok, true);
  assert.equal(formatNumber(1e-5), '1e-5');
  assert.equal(formatNumber(0.0001), '1e-4');
  assert.equal(formatNumber(0.001), '0.001');
  assert.deepEqual(checkConfig({ ...FALLBACK_CONFIG }), []);
  assert.equal(runLabel({ model: 'cnn', optimizer: 'adam', lr: 0.001 }), 'cnn · adam · lr 0.001');
});

test('a whole number past the safe range is refused with the maximum named', () => {
  const max = String(Number.MAX_SAFE_INTEGER);
  assert.deepEqual(parseField('seed', max), { ok: true, value: Number.MAX_SAFE_INTEGER });
  const seed = parseField('seed', '9007199254740993');
  assert.equal(seed.ok, false);
  assert.equal(seed.error, `is too large (at most ${max})`);
  const { state, messages } = stateFromQuery('?seed=123456789012345678901');
  assert.equal(state.config.seed, FALLBACK_CONFIG.seed);
  assert.equal(messages.length, 1);
  assert.ok(messages[0].includes(`Seed is too large (at most ${max})`), messages[0]);
  const list = parseField('milestones', '10,99999999999999999999');
  assert.equal(list.ok, false);
  assert.equal(list.error, `each entry is too large (at most ${max})`);
  // A schema's own range speaks first: its bound is the one that matters.
  assert.equal(parseField('seed', '-99999999999999999999').error, 'must be at least 0');
});
