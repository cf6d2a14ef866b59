// Shared studies and runs as data, without a browser: every config field
// round-trips through the URL, studies (preset / grid) round-trip through
// their link, and exported runs import back exactly; bad imports are refused
// with a message naming the entry, oversized text is cut with a note, and the
// CSV export never hands a spreadsheet a formula.

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
import { LIST_LIMITS, TEXT_LIMITS, boundRecord, exportRuns, parseImport, runFromRecord, toCsv } from '../../www/results.js';

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
  assert.deepEqual(labFromQuery(q), { lab: { preset: 'degradation', budget: 'smoke', scale: 2 }, messages: [], asked: true });
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
  const { records, errors, notes } = parseImport(text);
  assert.deepEqual(errors, []);
  assert.deepEqual(notes, []);
  assert.equal(records.length, 2);
  // Nothing in bounds is cut: the stored record comes back as it was.
  for (const r of records) assert.equal(boundRecord(r).record, r);
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

/** RFC 4180 rows: quoted cells may hold commas, quotes ("") and newlines. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') cell += c;
      else if (text[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  assert.equal(quoted, false, 'unterminated quote');
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

test('CSV escapes every cell a spreadsheet could evaluate, and leaves plain numbers alone', () => {
  const runs = [
    sampleRun(1, { lr: -0.25 }),
    sampleRun(2, { lr: 1e-5 }),
    sampleRun(3, { lr: 0.1 }),
    sampleRun(4, { lr: 0.5 }),
  ];
  runs[0].message = "-2+3+cmd|' /C calc'!A0";
  runs[0].label = '-1+1|cmd';
  runs[0].elapsed = -0.25;
  runs[1].label = '=HYPERLINK("http://x", "y")';
  runs[1].message = '@SUM(1+1)';
  runs[1].imgPerS = 1e-5;
  runs[2].label = '  =1+1';
  runs[2].message = '+3';
  runs[2].backend = '\t=1+1';
  runs[3].label = '-12';
  runs[3].message = '-0.5e-3';
  const [head, ...rows] = parseCsv(toCsv(runs));
  assert.equal(rows.length, 4);
  for (const r of rows) assert.equal(r.length, head.length, r.join(' | '));
  const cell = (i, col) => rows[i][head.indexOf(col)];
  // Formulas, whatever they start with, come out as text.
  assert.equal(cell(0, 'message'), "'-2+3+cmd|' /C calc'!A0");
  assert.equal(cell(0, 'label'), "'-1+1|cmd");
  assert.equal(cell(1, 'label'), `'=HYPERLINK("http://x", "y")`);
  assert.equal(cell(1, 'message'), "'@SUM(1+1)");
  assert.equal(cell(2, 'label'), "'  =1+1");
  assert.equal(cell(2, 'message'), "'+3");
  assert.equal(cell(2, 'backend'), "'\t=1+1");
  // Numbers, negative or in exponent form, stay numbers.
  assert.equal(cell(0, 'lr'), '-0.25');
  assert.equal(cell(0, 'wall_seconds'), '-0.25');
  assert.equal(cell(1, 'lr'), '1e-5');
  assert.equal(cell(1, 'img_per_s'), '0.00001');
  assert.equal(cell(1, 'test_accuracy'), '0.5');
  assert.equal(cell(3, 'label'), '-12');
  assert.equal(cell(3, 'message'), '-0.5e-3');
});

test('imported text is cut to its limit with a note; the rest of the run is kept', () => {
  const good = exportRuns([sampleRun(1)])[0];
  const huge = 'x'.repeat(10_000_000);
  const { records, errors, notes } = parseImport(JSON.stringify([
    good,
    { ...good, label: huge, message: 'm'.repeat(5_000) },
    { ...good, group: { ...good.group, name: 'g'.repeat(201), id: 'i'.repeat(81) }, layer_std: [good.layer_std[0], { name: 'n'.repeat(300), index: 1, std: 0.5 }] },
  ]));
  assert.deepEqual(errors, []);
  assert.equal(records.length, 3);
  assert.deepEqual(notes, [
    'run 2: label cut from 10,000,000 to 200 characters',
    'run 2: message cut from 5,000 to 2,000 characters',
    'run 3: group.id cut from 81 to 80 characters',
    'run 3: group.name cut from 201 to 200 characters',
    'run 3: layer_std[1].name cut from 300 to 200 characters',
  ]);
  assert.equal(records[1].label, 'x'.repeat(TEXT_LIMITS.label));
  assert.equal(records[1].message, 'm'.repeat(TEXT_LIMITS.message));
  assert.deepEqual(records[1].steps, good.steps);
  assert.equal(records[2].group.name.length, 200);
  assert.equal(records[2].group.id.length, 80);
  assert.equal(records[2].group.kind, good.group.kind);
  assert.deepEqual(records[2].layer_std, [good.layer_std[0], { name: 'n'.repeat(200), index: 1, std: 0.5 }]);
  // The cut run's CSV row is bounded too.
  const csv = toCsv([runFromRecord(records[1], { id: 1, color: '#000' })]);
  assert.ok(csv.length < 5_000, `${csv.length} characters of CSV`);
});

test('a cut never splits a surrogate pair', () => {
  const good = exportRuns([sampleRun(1)])[0];
  const { records, notes } = parseImport(JSON.stringify([
    { ...good, label: '😀'.repeat(300) },
    { ...good, label: `a${'😀'.repeat(300)}` },
  ]));
  assert.equal(records[0].label, '😀'.repeat(200));
  assert.equal(records[1].label, `a${'😀'.repeat(199)}`);
  for (const r of records) assert.ok(r.label.isWellFormed(), 'a lone surrogate was left');
  assert.deepEqual(notes, ['run 1: label cut from 300 to 200 characters', 'run 2: label cut from 301 to 200 characters']);
});

test('a run restored from storage is cut the same way, without touching the stored record', () => {
  const stored = { ...exportRuns([sampleRun(1)])[0], label: 'y'.repeat(1_000), dataset_label: 'd'.repeat(250), backend: 'b'.repeat(101) };
  const copy = structuredClone(stored);
  const { record, notes } = boundRecord(stored);
  assert.deepEqual(stored, copy, 'boundRecord changed its input');
  assert.equal(record.label.length, 200);
  assert.equal(record.dataset_label.length, 200);
  assert.equal(record.backend.length, 100);
  assert.equal(record.steps, stored.steps, 'curves are shared, not copied');
  assert.deepEqual(notes, [
    'label cut from 1,000 to 200 characters',
    'dataset_label cut from 250 to 200 characters',
    'backend cut from 101 to 100 characters',
  ]);
  // Records of any shape pass through: storage may hold anything.
  assert.deepEqual(boundRecord(null), { record: null, notes: [] });
  assert.deepEqual(boundRecord({ label: 7 }), { record: { label: 7 }, notes: [] });
});

test('an import with a list past its limit is refused, naming the field and the limit', () => {
  const good = exportRuns([sampleRun(1)])[0];
  const over = (n, fill) => Array.from({ length: n + 1 }, fill);
  const epoch = good.epochs[0];
  const cases = [
    [{ epochs: over(LIST_LIMITS.epochs, (_, i) => ({ ...epoch, epoch: i + 1 })) }, /^run 2: "epochs" has 10,001 entries, more than the 10,000 a run may have$/],
    [{ per_class_accuracy: over(LIST_LIMITS.per_class_accuracy, () => 0.5) }, /^run 2: "per_class_accuracy" has 1,001 entries, more than the 1,000/],
    [{ confusion_matrix: over(LIST_LIMITS.confusion_matrix, () => [1]) }, /^run 2: "confusion_matrix" has 1,001 rows, more than the 1,000/],
    [{ confusion_matrix: [over(1000, () => 1)] }, /^run 2: "confusion_matrix" has a row longer than 1,000 entries \(at most 1,000 × 1,000\)$/],
    [{ test_predictions: over(LIST_LIMITS.test_predictions, () => 3) }, /^run 2: "test_predictions" has 100,001 entries, more than the 100,000/],
    [{ layer_std: over(LIST_LIMITS.layer_std, (_, i) => ({ name: `l${i}`, index: i, std: 1 })) }, /^run 2: "layer_std" has 2,001 entries, more than the 2,000/],
  ];
  for (const [extra, re] of cases) {
    const { records, errors } = parseImport(JSON.stringify([good, { ...good, ...extra }]));
    assert.equal(records.length, 1, Object.keys(extra)[0]);
    assert.equal(errors.length, 1, Object.keys(extra)[0]);
    assert.match(errors[0], re);
  }
  // At the limit is still fine.
  const { errors } = parseImport(JSON.stringify([{ ...good, per_class_accuracy: Array(LIST_LIMITS.per_class_accuracy).fill(0.5) }]));
  assert.deepEqual(errors, []);
});
