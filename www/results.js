// Runs as data: the record kept in IndexedDB, the export/import format (the
// CLI's result JSON, one object per run), the results table's columns and CSV.
//
// No DOM here: this module also runs under node for tests.

import { FIELDS, checkConfig, differingFields, formatField } from './state.js';

/** Statuses a run can end with (the CLI's) plus the page's own. */
export const END_STATUSES = ['finished', 'stopped', 'diverged', 'failed'];
export const PAGE_STATUSES = ['interrupted', 'evaluated'];
const ALL_STATUSES = new Set([...END_STATUSES, ...PAGE_STATUSES, 'running', 'preparing']);

const MAX_IMPORT_RUNS = 1000;
const MAX_POINTS = 2_000_000;

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

/**
 * Checks an imported file's text. Returns {records, errors}: every entry that
 * is well-formed becomes a record (same shape as exportRecord), every other
 * entry an error naming it. Nothing is evaluated; unknown keys are refused.
 */
export function parseImport(text, { modelIds } = {}) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { records: [], errors: [`not a JSON file (${err.message})`] };
  }
  let list;
  if (Array.isArray(data)) list = data;
  else if (isObj(data) && Array.isArray(data.runs)) list = data.runs;
  else if (isObj(data) && isObj(data.config)) list = [data];
  else return { records: [], errors: ['expected a run result (an object with "config") or a list of them'] };
  if (list.length > MAX_IMPORT_RUNS) return { records: [], errors: [`${list.length} runs is more than the ${MAX_IMPORT_RUNS} one import takes`] };
  const records = [];
  const errors = [];
  list.forEach((entry, i) => {
    const where = `run ${i + 1}`;
    const problem = checkEntry(entry, { modelIds });
    if (problem) errors.push(`${where}: ${problem}`);
    else records.push(normaliseEntry(entry));
  });
  return { records, errors };
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
    if (e.steps.length > MAX_POINTS) return `"steps" has more than ${MAX_POINTS} points`;
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

function csvCell(v) {
  const s = v === null || v === undefined ? '' : String(v);
  // Quote, and defuse spreadsheet formulas (a label could start with "=").
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
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
