// Shared studies and runs as data, without a browser: every config field
// round-trips through the URL, studies (preset / grid) round-trip through
// their link, and exported runs import back exactly; bad imports are refused
// with a message naming the entry.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FALLBACK_CONFIG,
  FIELDS,
  decodeJsonParam,
  encodeJsonParam,
  gridFromConfigs,
  labFromQuery,
  queryForLab,
  queryFromState,
  stateFromQuery,
  AppState,
} from '../../www/state.js';
import { exportRuns, parseImport, runFromRecord, toCsv } from '../../www/results.js';

/** A valid value of `key` different from its default. */
function otherValue(key) {
  const f = FIELDS[key];
  const d = FALLBACK_CONFIG[key];
  switch (f.type) {
    case 'enum': return f.values.find((v) => v !== d);
    case 'bool': return f.nullable && d === null ? false : !d;
    case 'intlist': return [1000, 2500];
    case 'int': return d === null ? 7 : d + 3;
    case 'number': {
      if (d === null) return 0.25;
      const v = d === 0 ? 1e-4 : d / 2;
      return v;
    }
    default: throw new Error(`no test value for ${key}`);
  }
}

test('every config field round-trips through the URL', () => {
  const fields = Object.keys(FIELDS).filter((k) => FIELDS[k].url !== false);
  assert.ok(fields.length >= 28, `only ${fields.length} fields`);
  for (const key of fields) {
    const s = new AppState(FALLBACK_CONFIG);
    const value = otherValue(key);
    s.set(key, value);
    const q = queryFromState(s);
    assert.ok(q.includes(`${key}=`), `${key} is missing from ${q}`);
    const { state, messages } = stateFromQuery(q);
    assert.deepEqual(messages, [], `${key}: ${messages.join('; ')}`);
    assert.deepEqual(state.config[key], value, `${key} came back as ${JSON.stringify(state.config[key])}`);
  }
  // …and all at once.
  const s = new AppState(FALLBACK_CONFIG);
  for (const key of fields) s.set(key, otherValue(key));
  const back = stateFromQuery(queryFromState(s));
  assert.deepEqual(back.messages, []);
  for (const key of fields) assert.deepEqual(back.state.config[key], s.config[key], key);
});

test('a preset link round-trips and bad values fall back with a message', () => {
  const q = queryForLab({ preset: 'degradation', budget: 'smoke', scale: 2 });
  assert.deepEqual(labFromQuery(q), { lab: { preset: 'degradation', budget: 'smoke', scale: 2 }, messages: [] });
  assert.equal(queryForLab({ preset: 'depth', budget: 'classroom', scale: 1 }), '?preset=depth');
  const bad = labFromQuery('?preset=depth&budget=forever&scale=1e9');
  assert.deepEqual(bad.lab, { preset: 'depth', budget: 'classroom', scale: 1 });
  assert.equal(bad.messages.length, 2, bad.messages.join('\n'));
  assert.equal(labFromQuery('?preset=<script>').lab, null);
  // Study keys are not config fields: stateFromQuery leaves them alone, silently.
  assert.deepEqual(stateFromQuery('?preset=depth&budget=smoke&scale=2').messages, []);
});

test('a grid (and a whole queue) round-trips through its link', () => {
  const grid = { name: 'Ünïcode · study', base: { dataset: 'cifar10', lr: 0.1 }, grid: { model: ['plain20', 'resnet20'], optimizer: ['momentum', 'adam'] } };
  const { lab, messages } = labFromQuery(queryForLab({ grid }));
  assert.deepEqual(messages, []);
  assert.deepEqual(lab.grid, grid);
  assert.deepEqual(decodeJsonParam(encodeJsonParam([1, 'x'])), [1, 'x']);
  for (const bad of ['%%%', 'e30=', '', 'bm90IGpzb24']) {
    assert.throws(() => decodeJsonParam(bad), /base64url|JSON/, bad);
  }
  assert.match(labFromQuery('?grid=WzFd').messages[0], /must be a JSON object/);
  const configs = [{ ...FALLBACK_CONFIG, model: 'resnet20' }, { ...FALLBACK_CONFIG, model: 'plain20', lr: 0.1 }];
  assert.deepEqual(gridFromConfigs(configs, FALLBACK_CONFIG), { runs: [{ model: 'resnet20' }, { model: 'plain20', lr: 0.1 }] });
});

function sampleRun(id, over = {}) {
  return {
    id,
    config: { ...FALLBACK_CONFIG, model: 'resnet20', dataset: 'cifar10', ...over },
    label: `resnet20 #${id}`,
    color: '#000',
    status: 'finished',
    message: 'finished after 3 steps',
    backend: 'cpu',
    params: 269722,
    epochs: [{ epoch: 1, train_loss: 2.1, train_accuracy: 0.2, val_loss: null, val_accuracy: null, elapsed: 1.5 }],
    steps: [{ step: 1, loss: 2.3 }, { step: 2, loss: 2.2 }, { step: 3, loss: 2.1 }],
    result: { steps_done: 3, test_loss: 2.0, per_class_accuracy: [0.5, null], confusion_matrix: [[1, 1], [0, 0]], test_predictions: [0, 1] },
    testAccuracy: 0.5,
    bestVal: null,
    finalVal: null,
    elapsed: 2.5,
    imgPerS: 12.5,
    dataLabel: 'Built-in CIFAR-10 sample',
    group: { kind: 'preset', id: 'degradation', name: 'Degradation', budget: 'smoke', scale: 1 },
    layerStd: [{ name: 'conv1', index: 0, std: 0.7 }],
  };
}

test('exported runs import back exactly', () => {
  const runs = [sampleRun(1), sampleRun(2, { model: 'plain20', lr: 0.1 })];
  const text = JSON.stringify(exportRuns(runs), null, 2);
  const { records, errors } = parseImport(text);
  assert.deepEqual(errors, []);
  assert.equal(records.length, 2);
  const again = records.map((r, i) => runFromRecord(r, { id: 10 + i, color: '#111' }));
  assert.equal(JSON.stringify(exportRuns(again), null, 2), text);
  // A CLI result (no page keys) is accepted as a single object.
  const cli = JSON.parse(text)[0];
  for (const k of ['label', 'group', 'dataset_label', 'layer_std']) delete cli[k];
  const one = parseImport(JSON.stringify(cli));
  assert.deepEqual(one.errors, []);
  assert.equal(one.records[0].config.model, 'resnet20');
});

test('bad imports are refused entry by entry, with the reason', () => {
  const good = exportRuns([sampleRun(1)])[0];
  const cases = [
    ['not json', /not a JSON file/],
    ['42', /expected a run result/],
    [JSON.stringify([{ ...good, config: { ...good.config, lr: 'fast' } }]), /run 1: config: Learning rate/],
    [JSON.stringify([{ ...good, config: { ...good.config, evil: 1 } }]), /unknown field "evil"/],
    [JSON.stringify([{ ...good, status: 'hacked' }]), /"status" must be one of/],
    [JSON.stringify([{ ...good, steps: [{ step: 1, loss: '<img>' }] }]), /steps\[0\]/],
    [JSON.stringify([{ ...good, test_accuracy: 7 }]), /fraction/],
    [JSON.stringify([{ ...good, __proto__x: 1 }]), /unknown key/],
    [JSON.stringify([good, { ...good, confusion_matrix: [['a']] }]), /run 2: "confusion_matrix"/],
  ];
  for (const [text, re] of cases) {
    const { errors } = parseImport(text);
    assert.ok(errors.some((e) => re.test(e)), `${text.slice(0, 60)} → ${errors.join(' | ')}`);
  }
  const mixed = parseImport(JSON.stringify([good, { ...good, status: 'x' }]));
  assert.equal(mixed.records.length, 1);
  assert.equal(mixed.errors.length, 1);
});

test('CSV has the differing fields and defuses formulas', () => {
  const runs = [sampleRun(1), sampleRun(2, { model: 'plain20', lr: 0.1 })];
  runs[1].label = '=HYPERLINK("x")';
  const csv = toCsv(runs).trim().split('\n');
  assert.match(csv[0], /^run,label,model,lr,status,/);
  assert.equal(csv.length, 3);
  assert.ok(csv[2].includes(`"'=HYPERLINK(""x"")"`), csv[2]);
});
