// The charts' data, without any drawing: the aligned tables uPlot plots (one
// sorted x array shared by every series of a chart) and the exponential
// moving average that smooths the loss-per-step curve. No uPlot and no DOM
// here, so the maths can be checked on its own.

/** Source of the empty series arrays: see AlignedTable.addSeries. */
const NO_VALUES = new Float64Array(0);

/**
 * A table of series sharing one sorted x array (uPlot's aligned data).
 * Appending past the end is O(series); an x already present is O(1); only a
 * new x inside the range triggers one merge for the whole batch.
 */
export class AlignedTable {
  constructor() {
    this.xs = [];
    this.series = [];
  }

  addSeries() {
    // An array that starts (and stays) all-number keeps its doubles unboxed.
    // Array.from, not a [] literal: V8 remembers per literal site that some
    // array once held null (the epoch charts' gaps) and boxes all later ones.
    this.series.push(this.xs.length ? new Array(this.xs.length).fill(null) : Array.from(NO_VALUES));
    return this.series.length - 1;
  }

  get data() {
    return [this.xs, ...this.series];
  }

  /** Whether x lies past the last row (or the table is empty): the cheap appendRow case. */
  pastEnd(x) {
    const n = this.xs.length;
    return n === 0 || x > this.xs[n - 1];
  }

  /** Index of x in the sorted xs, or -1. Binary search: no per-point index to keep. */
  find(x) {
    let lo = 0;
    let hi = this.xs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.xs[mid];
      if (v === x) return mid;
      if (v < x) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * Appends one row past the end: `values` maps series index → y, the other
   * series get a gap. Writing the values directly (not null first) keeps
   * all-number arrays unboxed in V8: 8 bytes a point.
   */
  appendRow(x, values) {
    this.xs.push(x);
    for (let k = 0; k < this.series.length; k++) this.series[k].push(values.has(k) ? values.get(k) : null);
  }

  /** Sets many (x, y) pairs of one series; pairs need not be sorted. */
  setMany(si, pairs) {
    const ys = this.series[si];
    let pending = null;
    for (const [x, y] of pairs) {
      if (this.pastEnd(x)) {
        this.appendRow(x, new Map([[si, y]]));
        continue;
      }
      const i = this.find(x);
      if (i < 0) (pending ??= []).push([x, y]);
      else ys[i] = y;
    }
    if (pending) this.merge(si, pending);
  }

  /**
   * Inserts the x values of `pairs` that are not yet in the table (every
   * series gets a gap there) and then sets series si's y at each pair's x.
   * One rebuild of all series for the whole batch.
   */
  merge(si, pairs) {
    const newXs = [...new Set(pairs.map((p) => p[0]))].filter((x) => this.find(x) < 0).sort((a, b) => a - b);
    const xs = [];
    const map = []; // old index -> new index
    let i = 0;
    let j = 0;
    while (i < this.xs.length || j < newXs.length) {
      if (j >= newXs.length || (i < this.xs.length && this.xs[i] < newXs[j])) {
        map[i] = xs.length;
        xs.push(this.xs[i++]);
      } else {
        xs.push(newXs[j++]);
      }
    }
    this.series = this.series.map((old) => {
      const s = new Array(xs.length).fill(null);
      for (let k = 0; k < old.length; k++) s[map[k]] = old[k];
      return s;
    });
    this.xs = xs;
    const ys = this.series[si];
    for (const [x, y] of pairs) ys[this.find(x)] = y;
  }

  clear() {
    this.xs = [];
    this.series = [];
  }

  /** Number of non-null values in the given series (all when omitted). */
  count(indices) {
    let c = 0;
    const list = indices ?? this.series.map((_, k) => k);
    for (const k of list) for (const v of this.series[k]) if (v !== null) c++;
    return c;
  }
}

/**
 * Debiased exponential moving average, as in TensorBoard's smoothing: without
 * the debias the first points would be pulled towards 0.
 */
export class Ema {
  constructor(weight) {
    this.weight = weight;
    this.value = 0;
    this.n = 0;
  }

  /** Takes the next y and returns the smoothed value at it. */
  push(y) {
    this.n++;
    this.value = this.value * this.weight + (1 - this.weight) * y;
    const debias = this.weight === 0 ? 1 : 1 - Math.pow(this.weight, this.n);
    return this.value / debias;
  }
}
