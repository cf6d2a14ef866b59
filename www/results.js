// Runs as data: the record kept in IndexedDB, the export/import format (the
// CLI's result JSON, one object per run), the results table's columns and CSV.
//
// No DOM here: this module also runs under node for tests.

import { FIELDS, checkConfig, differingFields, formatField } from './state.js';

/** Statuses a run can end with (the CLI's) plus the page's own. */
export const END_STATUSES = ['finished', 'stopped', 'diverged', 'failed'];
export const PAGE_STATUSES = ['interrupted', 'evaluated'];
const ALL_STATUSES = new Set([...END_STATUSES, ...PAGE_STATUSES, 'running', 'preparing']);

// Bounds on what one run may carry. A run comes from a file anyone can write
// (an import) or from IndexedDB; without bounds one entry could hold a label
// of megabytes that every table render, reload and CSV export pays for.
const MAX_IMPORT_RUNS = 1000;
/** Loss-curve points ("steps"). */
const MAX_POINTS = 2_000_000;
/** Epoch entries ("epochs"). */
const MAX_EPOCHS = 10_000;
/** Classes: per_class_accuracy entries, and rows and columns of confusion_matrix. */
const MAX_CLASSES = 1_000;
/** Test-image predictions ("test_predictions"). */
const MAX_PREDICTIONS = 100_000;
/** Layers with a recorded output std ("layer_std"). */
const MAX_LAYERS = 2_000;

/** Lists longer than these are refused (cutting would misstate the run). */
export const LIST_LIMITS = Object.freeze({
  epochs: MAX_EPOCHS,
  steps: MAX_POINTS,
  per_class_accuracy: MAX_CLASSES,
  confusion_matrix: MAX_CLASSES,
  test_predictions: MAX_PREDICTIONS,
  layer_std: MAX_LAYERS,
});

/**
 * Longest text each field keeps, in characters (Unicode code points, so a cut
 * never leaves half a surrogate pair). Longer text is cut with a note rather
 * than refused: the rest of the run is still worth having.
 */
export const TEXT_LIMITS = Object.freeze({
  label: 200,
  message: 2_000,
  dataset_label: 200,
  backend: 100,
  'group.kind': 80,
  'group.id': 80,
  'group.name': 200,
  'group.budget': 80,
  'group.scale': 80,
  'layer_std.name': 200,
});

/** Result JSON keys in the CLI's order (src/train/events.rs RunResult). */
const RESULT_KEYS = [
  'config', 'status', 'message', 'backend', 'params', 'epochs', 'steps', 'steps_done', 'test_loss',
  'test_accuracy', 'best_val_accuracy', 'final_val_accuracy', 'per_class_accuracy', 'confusion_matrix',
  'test_predictions', 'wall_seconds', 'img_per_s',
];
/** Page-only keys an exported run carries besides the result. */
const PAGE_KEYS = ['label', 'group', 'dataset_label', 'layer_std'];

/**
 * A run's loss curve in two growable typed arrays: 16 bytes a point instead
 * of an object each, so a long run keeps the page's heap flat.
 */
export class StepLog {
  constructor(points = []) {
    this.n = 0;
    this.step = new Float64Array(64);
    this.loss = new Float64Array(64);
    for (const p of points) {
      if (Array.isArray(p)) this.push(p[0], p[1]);
      else if (p && typeof p === 'object') this.push(p.step, p.loss);
    }
  }

  get length() {
    return this.n;
  }

  push(step, loss) {
    if (this.n === this.step.length) {
      const grow = (a) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.step = grow(this.step);
      this.loss = grow(this.loss);
    }
    this.step[this.n] = Number(step);
    // NaN stands for a missing loss (null in JSON).
    this.loss[this.n] = loss === null || loss === undefined ? NaN : Number(loss);
    this.n++;
  }

  last() {
    return this.n ? { step: this.step[this.n - 1], loss: this.lossAt(this.n - 1) } : null;
  }

  lossAt(i) {
    const v = this.loss[i];
    return Number.isNaN(v) ? null : v;
  }

  /** [{step, loss}] as in the result JSON. */
  toArray() {
    const out = new Array(this.n);
    for (let i = 0; i < this.n; i++) out[i] = { step: this.step[i], loss: this.lossAt(i) };
    return out;
  }

  /** [[step, loss]] for the charts. */
  toPairs() {
    const out = new Array(this.n);
    for (let i = 0; i < this.n; i++) out[i] = [this.step[i], this.lossAt(i)];
    return out;
  }
}

/**
 * One run in the CLI's result format plus the page's keys (label, group,
 * dataset_label, layer_std). This is what is exported, imported and stored.
 */
export function exportRecord(run) {
  const r = run.result && typeof run.result === 'object' ? run.result : {};
  const out = {
    config: structuredClone(run.config),
    status: run.status,
    message: run.message ?? '',
    backend: run.backend ?? r.backend ?? null,
    params: run.params ?? r.params ?? 0,
    epochs: structuredClone(run.epochs ?? []),
    steps: run.steps instanceof StepLog ? run.steps.toArray() : structuredClone(run.steps ?? []),
    steps_done: r.steps_done ?? run.step ?? (run.steps?.last?.()?.step ?? 0),
    test_loss: r.test_loss ?? null,
    test_accuracy: run.testAccuracy ?? r.test_accuracy ?? null,
    best_val_accuracy: run.bestVal ?? r.best_val_accuracy ?? null,
    final_val_accuracy: run.finalVal ?? r.final_val_accuracy ?? null,
    per_class_accuracy: structuredClone(r.per_class_accuracy ?? []),
    confusion_matrix: structuredClone(r.confusion_matrix ?? []),
    test_predictions: structuredClone(r.test_predictions ?? []),
    wall_seconds: run.elapsed ?? r.wall_seconds ?? 0,
    img_per_s: run.imgPerS ?? r.img_per_s ?? 0,
    label: run.label,
    group: run.group ? structuredClone(run.group) : null,
    dataset_label: run.dataLabel ?? null,
    layer_std: run.layerStd ? structuredClone(run.layerStd) : null,
  };
  return out;
}

/** The file "Export JSON" writes: an array of exportRecord()s. */
export function exportRuns(runs) {
  return runs.map(exportRecord);
}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const numOrNull = (v) => v === null || v === undefined || isNum(v);

/** 10000000 → "10,000,000", the same in every locale. */
const grouped = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

/** Number of code points in s (a surrogate pair counts once). */
function codePointCount(s) {
  let n = s.length;
  for (let i = 0; i + 1 < s.length; i++) {
    if (isHigh(s.charCodeAt(i)) && isLow(s.charCodeAt(i + 1))) {
      n--;
      i++;
    }
  }
  return n;
}

/**
 * The first `max` code points of s, walking only as far as the cut: a label
 * of megabytes is not spread into an array to find its first 200 characters.
 */
function firstCodePoints(s, max) {
  let i = 0;
  for (let n = 0; n < max && i < s.length; n++) {
    i += isHigh(s.charCodeAt(i)) && i + 1 < s.length && isLow(s.charCodeAt(i + 1)) ? 2 : 1;
  }
  return s.slice(0, i);
}

/** s cut to TEXT_LIMITS[field], pushing a note when it was longer; non-strings pass. */
function cutText(s, field, where, notes) {
  const max = TEXT_LIMITS[field];
  // Code points never outnumber code units, so a short string needs no walk.
  if (typeof s !== 'string' || s.length <= max) return s;
  const kept = firstCodePoints(s, max);
  if (kept.length === s.length) return s;
  notes.push(`${where} cut from ${grouped(codePointCount(s))} to ${grouped(max)} characters`);
  return kept;
}

/**
 * Applies TEXT_LIMITS to a record (exportRecord's shape): to every imported
 * entry, and to records read back from IndexedDB, which may predate the
 * limits. Returns {record, notes}: `record` is the input itself when nothing
 * was cut, otherwise a copy sharing the unchanged parts (curves, matrices);
 * `notes` has one line per cut, e.g. "label cut from 10,000,000 to 200 characters"
 * or "layer_std[3].name cut from 512 to 200 characters". Lists are not bounded
 * here: parseImport refuses an entry with an overlong list.
 */
export function boundRecord(rec) {
  const notes = [];
  if (!isObj(rec)) return { record: rec, notes };
  let out = rec;
  const put = (k, v) => {
    if (v === rec[k]) return;
    if (out === rec) out = { ...rec };
    out[k] = v;
  };
  for (const k of ['label', 'message', 'dataset_label', 'backend']) put(k, cutText(rec[k], k, k, notes));
  if (isObj(rec.group)) {
    let group = rec.group;
    for (const k of ['kind', 'id', 'name', 'budget', 'scale']) {
      const v = cutText(rec.group[k], `group.${k}`, `group.${k}`, notes);
      if (v === rec.group[k]) continue;
      if (group === rec.group) group = { ...rec.group };
      group[k] = v;
    }
    put('group', group);
  }
  if (Array.isArray(rec.layer_std)) {
    let layers = rec.layer_std;
    rec.layer_std.forEach((l, j) => {
      if (!isObj(l)) return;
      const name = cutText(l.name, 'layer_std.name', `layer_std[${j}].name`, notes);
      if (name === l.name) return;
      if (layers === rec.layer_std) layers = rec.layer_std.slice();
      layers[j] = { ...l, name };
    });
    put('layer_std', layers);
  }
  return { record: out, notes };
}

/**
 * Checks an imported file's text. Returns {records, errors, notes}: every
 * entry that is well-formed becomes a record (same shape as exportRecord,
 * text cut by boundRecord), every other entry an error naming it; `notes` has
 * one line per cut, naming the entry ("run 3: label cut from 10,000,000 to
 * 200 characters"). Nothing is evaluated; unknown keys and lists longer than
 * LIST_LIMITS are refused.
 */
export function parseImport(text, { modelIds } = {}) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { records: [], errors: [`not a JSON file (${err.message})`], notes: [] };
  }
  let list;
  if (Array.isArray(data)) list = data;
  else if (isObj(data) && Array.isArray(data.runs)) list = data.runs;
  else if (isObj(data) && isObj(data.config)) list = [data];
  else return { records: [], errors: ['expected a run result (an object with "config") or a list of them'], notes: [] };
  if (list.length > MAX_IMPORT_RUNS) {
    return { records: [], errors: [`${grouped(list.length)} runs is more than the ${grouped(MAX_IMPORT_RUNS)} one import takes`], notes: [] };
  }
  const records = [];
  const errors = [];
  const notes = [];
  list.forEach((entry, i) => {
    const where = `run ${i + 1}`;
    const problem = checkEntry(entry, { modelIds });
    if (problem) {
      errors.push(`${where}: ${problem}`);
      return;
    }
    const bounded = boundRecord(normaliseEntry(entry));
    records.push(bounded.record);
    for (const note of bounded.notes) notes.push(`${where}: ${note}`);
  });
  return { records, errors, notes };
}

function checkEntry(e, { modelIds }) {
  if (!isObj(e)) return 'not an object';
  for (const k of Object.keys(e)) {
    if (!RESULT_KEYS.includes(k) && !PAGE_KEYS.includes(k)) return `unknown key "${String(k).slice(0, 40)}"`;
  }
  if (!isObj(e.config)) return '"config" is missing or not an object';
  for (const k of Object.keys(e.config)) {
    if (!Object.prototype.hasOwnProperty.call(FIELDS, k)) return `config: unknown field "${String(k).slice(0, 40)}"`;
  }
  const bad = checkConfig(e.config, { modelIds });
  if (bad.length) return `config: ${bad.map((b) => b.message).join('; ')}`;
  if (typeof e.status !== 'string' || !ALL_STATUSES.has(e.status)) return `"status" must be one of ${[...ALL_STATUSES].join(', ')}`;
  if (e.message !== undefined && typeof e.message !== 'string') return '"message" must be a string';
  if (e.label !== undefined && e.label !== null && typeof e.label !== 'string') return '"label" must be a string';
  if (e.dataset_label !== undefined && e.dataset_label !== null && typeof e.dataset_label !== 'string') return '"dataset_label" must be a string';
  if (e.backend !== undefined && e.backend !== null && typeof e.backend !== 'string') return '"backend" must be a string';
  for (const k of ['params', 'steps_done', 'wall_seconds', 'img_per_s']) {
    if (e[k] !== undefined && e[k] !== null && !(isNum(e[k]) && e[k] >= 0)) return `"${k}" must be a number ≥ 0`;
  }
  for (const k of ['test_loss', 'test_accuracy', 'best_val_accuracy', 'final_val_accuracy']) {
    if (!numOrNull(e[k])) return `"${k}" must be a number or null`;
  }
  for (const k of ['test_accuracy', 'best_val_accuracy', 'final_val_accuracy']) {
    if (isNum(e[k]) && (e[k] < 0 || e[k] > 1)) return `"${k}" must be a fraction from 0 to 1`;
  }
  // Lengths first, so an oversized list is refused before it is walked.
  for (const [k, limit] of Object.entries(LIST_LIMITS)) {
    const unit = k === 'steps' ? 'points' : k === 'confusion_matrix' ? 'rows' : 'entries';
    if (Array.isArray(e[k]) && e[k].length > limit) return `"${k}" has ${grouped(e[k].length)} ${unit}, more than the ${grouped(limit)} a run may have`;
  }
  if (Array.isArray(e.confusion_matrix) && e.confusion_matrix.some((row) => Array.isArray(row) && row.length > MAX_CLASSES)) {
    return `"confusion_matrix" has a row longer than ${grouped(MAX_CLASSES)} entries (at most ${grouped(MAX_CLASSES)} × ${grouped(MAX_CLASSES)})`;
  }
  if (e.epochs !== undefined) {
    if (!Array.isArray(e.epochs)) return '"epochs" must be a list';
    for (const [j, ep] of e.epochs.entries()) {
      if (!isObj(ep)) return `epochs[${j}] is not an object`;
      for (const [k, v] of Object.entries(ep)) {
        if (!['epoch', 'train_loss', 'train_accuracy', 'val_loss', 'val_accuracy', 'elapsed'].includes(k)) return `epochs[${j}]: unknown key "${String(k).slice(0, 40)}"`;
        if (!numOrNull(v)) return `epochs[${j}].${k} must be a number or null`;
      }
    }
  }
  if (e.steps !== undefined) {
    if (!Array.isArray(e.steps)) return '"steps" must be a list';
    for (const [j, p] of e.steps.entries()) {
      if (!isObj(p) || !isNum(p.step) || !numOrNull(p.loss) || Object.keys(p).some((k) => k !== 'step' && k !== 'loss')) {
        return `steps[${j}] must be {"step": number, "loss": number}`;
      }
    }
  }
  for (const k of ['per_class_accuracy', 'test_predictions']) {
    if (e[k] !== undefined && !(Array.isArray(e[k]) && e[k].every(numOrNull))) return `"${k}" must be a list of numbers`;
  }
  if (e.confusion_matrix !== undefined &&
    !(Array.isArray(e.confusion_matrix) && e.confusion_matrix.every((row) => Array.isArray(row) && row.every(isNum)))) {
    return '"confusion_matrix" must be a list of lists of numbers';
  }
  if (e.group !== undefined && e.group !== null) {
    if (!isObj(e.group)) return '"group" must be an object';
    for (const [k, v] of Object.entries(e.group)) {
      if (!['kind', 'id', 'name', 'budget', 'scale'].includes(k)) return `group: unknown key "${String(k).slice(0, 40)}"`;
      if (!(typeof v === 'string' || isNum(v))) return `group.${k} must be text or a number`;
    }
  }
  if (e.layer_std !== undefined && e.layer_std !== null) {
    if (!Array.isArray(e.layer_std) || !e.layer_std.every((l) => isObj(l) && typeof l.name === 'string' && isNum(l.index) && isNum(l.std))) {
      return '"layer_std" must be a list of {name, index, std}';
    }
  }
  return null;
}

/** Fills optional keys so an imported entry has exactly exportRecord's shape. */
function normaliseEntry(e) {
  const out = {};
  const defaults = {
    message: '', backend: null, params: 0, epochs: [], steps: [], steps_done: 0, test_loss: null,
    test_accuracy: null, best_val_accuracy: null, final_val_accuracy: null, per_class_accuracy: [],
    confusion_matrix: [], test_predictions: [], wall_seconds: 0, img_per_s: 0,
    label: null, group: null, dataset_label: null, layer_std: null,
  };
  for (const k of [...RESULT_KEYS, ...PAGE_KEYS]) out[k] = structuredClone(e[k] !== undefined ? e[k] : defaults[k] ?? null);
  return out;
}

// ---------------------------------------------------------------- table

/** Config fields shown as columns: those that differ between the runs (model at least). */
export function configColumns(runs) {
  const fields = differingFields(runs.map((r) => r.config));
  if (!fields.includes('model')) fields.unshift('model');
  return fields;
}

export function formatConfigValue(key, value) {
  if (value === null || value === undefined) return key === 'augment' ? 'auto' : '—';
  return formatField(key, value) || '—';
}

/** Sort key of a run for a column id. */
export function sortValue(run, col) {
  switch (col) {
    case 'id': return run.id;
    case 'label': return run.label ?? '';
    case 'status': return run.status ?? '';
    case 'best_val': return run.bestVal ?? -1;
    case 'final_val': return run.finalVal ?? -1;
    case 'test': return run.testAccuracy ?? -1;
    case 'time': return run.elapsed ?? 0;
    case 'speed': return run.imgPerS ?? 0;
    case 'backend': return run.backend ?? '';
    default: {
      if (col.startsWith('cfg:')) {
        const v = run.config?.[col.slice(4)];
        return typeof v === 'number' ? v : JSON.stringify(v ?? null);
      }
      return 0;
    }
  }
}

export function sortRuns(runs, col, dir) {
  const sign = dir === 'asc' ? 1 : -1;
  return runs.slice().sort((a, b) => {
    const x = sortValue(a, col);
    const y = sortValue(b, col);
    if (x < y) return -sign;
    if (x > y) return sign;
    return a.id - b.id;
  });
}

/**
 * A cell a spreadsheet could read as a formula: one starting with = + - @, tab
 * or carriage return. Whitespace before = + - @ counts too: an importer that
 * trims spaces (LibreOffice's "Trim spaces" option) sees the sign first once
 * they are gone, and the escape costs such a label one character. Full-width
 * signs (＝ ＋ － ＠) are left alone: no spreadsheet is known to evaluate them
 * when it opens a file, and escaping them would put a stray ' before labels
 * that merely start with one.
 */
const FORMULA_START = /^(?:[\t\r]|\s*[=+\-@])/;
/**
 * A plain number in full, as String(number) and formatNumber write them
 * (-0.25, 1e-5, -12): kept as is so numeric columns stay numbers. Only a
 * minus may lead; "+3" can only be typed text here and stays text.
 */
const PLAIN_NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

function csvCell(v) {
  const s = v === null || v === undefined ? '' : String(v);
  // The leading ' makes the spreadsheet show the text instead of evaluating it.
  const safe = FORMULA_START.test(s) && !PLAIN_NUMBER.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The results table as CSV: fixed columns plus the differing config fields. */
export function toCsv(runs) {
  const fields = configColumns(runs);
  const head = ['run', 'label', ...fields, 'status', 'best_val_accuracy', 'final_val_accuracy', 'test_accuracy',
    'wall_seconds', 'img_per_s', 'backend', 'message'];
  const lines = [head.map(csvCell).join(',')];
  for (const r of runs) {
    lines.push([
      r.id, r.label, ...fields.map((f) => formatConfigValue(f, r.config?.[f])), r.status,
      r.bestVal ?? '', r.finalVal ?? '', r.testAccuracy ?? '', r.elapsed ?? '', r.imgPerS ?? '', r.backend ?? '', r.message ?? '',
    ].map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Reference entries of a preset that match a run's config. */
export function referencesFor(preset, config) {
  if (!preset || !Array.isArray(preset.reference)) return [];
  return preset.reference.filter((ref) => isObj(ref.match) &&
    Object.entries(ref.match).every(([k, v]) => JSON.stringify(config?.[k]) === JSON.stringify(v)));
}

/** The page's run object for a stored or imported record (the inverse of exportRecord). */
export function runFromRecord(rec, { id, color, datasetKey = null, createdAt = Date.now() }) {
  const r = structuredClone(rec);
  const steps = new StepLog(Array.isArray(r.steps) ? r.steps : []);
  delete r.steps; // kept once, in the StepLog
  const epochs = Array.isArray(r.epochs) ? r.epochs : [];
  return {
    id,
    config: r.config,
    label: r.label ?? `${r.config?.model ?? 'run'}`,
    color,
    datasetKey,
    dataLabel: r.dataset_label ?? null,
    group: r.group ?? null,
    initModel: null,
    status: r.status,
    done: true,
    totalSteps: r.steps_done ?? null,
    step: r.steps_done ?? (steps.last()?.step ?? 0),
    epoch: epochs.length ? epochs[epochs.length - 1].epoch : 0,
    epochsPlanned: null,
    lastLoss: steps.last()?.loss ?? null,
    imgPerS: r.img_per_s,
    elapsed: r.wall_seconds,
    lr: null,
    params: r.params,
    epochs,
    steps,
    result: r,
    message: r.message ?? '',
    testAccuracy: r.test_accuracy,
    bestVal: r.best_val_accuracy,
    finalVal: r.final_val_accuracy,
    backend: r.backend,
    createdAt,
    modelInWorker: false,
    layerStd: r.layer_std ?? null,
  };
}
