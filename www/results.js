// Runs as data: the record kept in IndexedDB and exported (the CLI's result
// JSON, one object per run, plus the page's keys), and the page's run object
// made from one. The loss curve is held compactly (StepLog) while the page runs.
//
// This module is the results' public face; the parts:
//   results-bounds.js  limits on what a record may carry, and cutting text to them
//   results-import.js  checking an imported JSON file, entry by entry
//   results-table.js   the results table's columns, sorting and reference numbers
//   results-csv.js     the table as CSV, with formula cells escaped
//
// No DOM here: this module also runs under node for tests.

export { LIST_LIMITS, TEXT_LIMITS, boundRecord } from './results-bounds.js';
export { END_STATUSES, PAGE_STATUSES, parseImport } from './results-import.js';
export { configColumns, formatConfigValue, referencesFor, sortRuns, sortValue } from './results-table.js';
export { toCsv } from './results-csv.js';

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

  /** Appends a point, doubling both arrays when full; a null loss is kept as missing. */
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

  /** The last point as {step, loss}, or null when there is none. */
  last() {
    return this.n ? { step: this.step[this.n - 1], loss: this.lossAt(this.n - 1) } : null;
  }

  /** The i-th loss, null where it was missing. */
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
