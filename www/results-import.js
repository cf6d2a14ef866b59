// Importing runs: checks a JSON file (the CLI's result JSON, one object per
// run, or a list of them, as "Export JSON" writes) entry by entry and turns
// every well-formed entry into a record of exportRecord's shape. Nothing in
// the file is evaluated; unknown keys, wrong types and overlong lists are
// refused with a message naming the entry, overlong text is cut
// (results-bounds.js).
//
// No DOM here: this module also runs under node for tests.

import { FIELDS, checkConfig } from './state.js';
import { GROUP_KEYS, LIST_LIMITS, boundRecord, grouped, isNum, isObj, numOrNull } from './results-bounds.js';

/** Statuses a run can end with (the CLI's) plus the page's own. */
export const END_STATUSES = ['finished', 'stopped', 'diverged', 'failed'];
export const PAGE_STATUSES = ['interrupted', 'evaluated'];
const ALL_STATUSES = new Set([...END_STATUSES, ...PAGE_STATUSES, 'running', 'preparing']);

/** Result JSON keys in the CLI's order (src/train/events.rs RunResult). */
const RESULT_KEYS = [
  'config', 'status', 'message', 'backend', 'params', 'epochs', 'steps', 'steps_done', 'test_loss',
  'test_accuracy', 'best_val_accuracy', 'final_val_accuracy', 'per_class_accuracy', 'confusion_matrix',
  'test_predictions', 'wall_seconds', 'img_per_s',
];
/** Page-only keys an exported run carries besides the result. */
const PAGE_KEYS = ['label', 'group', 'dataset_label', 'layer_std'];

/** Runs one import takes. */
const MAX_IMPORT_RUNS = 1000;

/** A key from the file as an error message shows it: cut, so one message cannot carry megabytes. */
const shown = (k) => String(k).slice(0, 40);

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

/** What is wrong with one entry of an imported file, or null when nothing is. */
function checkEntry(e, { modelIds }) {
  if (!isObj(e)) return 'not an object';
  for (const k of Object.keys(e)) {
    if (!RESULT_KEYS.includes(k) && !PAGE_KEYS.includes(k)) return `unknown key "${shown(k)}"`;
  }
  if (!isObj(e.config)) return '"config" is missing or not an object';
  for (const k of Object.keys(e.config)) {
    if (!Object.prototype.hasOwnProperty.call(FIELDS, k)) return `config: unknown field "${shown(k)}"`;
  }
  const bad = checkConfig(e.config, { modelIds });
  if (bad.length) return `config: ${bad.map((b) => b.message).join('; ')}`;
  if (typeof e.status !== 'string' || !ALL_STATUSES.has(e.status)) return `"status" must be one of ${[...ALL_STATUSES].join(', ')}`;
  if (e.message !== undefined && typeof e.message !== 'string') return '"message" must be a string';
  for (const k of ['label', 'dataset_label', 'backend']) {
    if (e[k] !== undefined && e[k] !== null && typeof e[k] !== 'string') return `"${k}" must be a string`;
  }
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
  // The matrix is classes × classes: its rows are bounded like their number.
  const maxClasses = LIST_LIMITS.confusion_matrix;
  if (Array.isArray(e.confusion_matrix) && e.confusion_matrix.some((row) => Array.isArray(row) && row.length > maxClasses)) {
    return `"confusion_matrix" has a row longer than ${grouped(maxClasses)} entries (at most ${grouped(maxClasses)} × ${grouped(maxClasses)})`;
  }
  if (e.epochs !== undefined) {
    if (!Array.isArray(e.epochs)) return '"epochs" must be a list';
    for (const [j, ep] of e.epochs.entries()) {
      if (!isObj(ep)) return `epochs[${j}] is not an object`;
      for (const [k, v] of Object.entries(ep)) {
        if (!['epoch', 'train_loss', 'train_accuracy', 'val_loss', 'val_accuracy', 'elapsed'].includes(k)) return `epochs[${j}]: unknown key "${shown(k)}"`;
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
      if (!GROUP_KEYS.includes(k)) return `group: unknown key "${shown(k)}"`;
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
