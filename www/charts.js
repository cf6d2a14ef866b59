// Live training charts (uPlot): loss per step (raw + smoothed), loss per
// epoch and accuracy per epoch. Every run keeps its curves and gets its own
// colour; new data is appended to shared, aligned tables and the charts are
// redrawn at most once per animation frame.

import uPlot from './vendor/uPlot.esm.js';

/** Colour-blind-friendly colours with good contrast on a white background. */
export const PALETTE = [
  '#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00',
  '#6A3D9A', '#1F9BD7', '#8C564B', '#222222', '#B8860B',
];

export function colorFor(index) {
  return PALETTE[index % PALETTE.length];
}

function withAlpha(hex, alpha) {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/**
 * A table of series sharing one sorted x array (uPlot's aligned data).
 * Appending past the end is O(series); an x already present is O(1); only a
 * new x inside the range triggers one merge for the whole batch.
 */
const NO_VALUES = new Float64Array(0);

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
      const n = this.xs.length;
      if (n === 0 || x > this.xs[n - 1]) {
        this.appendRow(x, new Map([[si, y]]));
        continue;
      }
      const i = this.find(x);
      if (i < 0) (pending ??= []).push([x, y]);
      else ys[i] = y;
    }
    if (pending) this.merge(si, pending);
  }

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

/** Whole-number tick steps for the step and epoch axes. */
const INT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000, 1e5, 2e5, 2.5e5, 5e5, 1e6, 2e6, 5e6, 1e7];

const AXIS_FONT = '15px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const LABEL_FONT = 'bold 15px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

function axis(label, extra = {}) {
  return {
    label,
    stroke: '#1b1f24',
    font: AXIS_FONT,
    labelFont: LABEL_FONT,
    labelSize: 26,
    grid: { stroke: 'rgba(0,0,0,0.09)', width: 1 },
    ticks: { stroke: 'rgba(0,0,0,0.25)', width: 1 },
    ...extra,
  };
}

function fmtValue(v, digits = 4) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

/**
 * One uPlot chart over an AlignedTable. The chart is re-created when its
 * series list or scale type changes (rare); data changes only call setData.
 */
class Chart {
  constructor(el, { xLabel, yLabel, logToggle = false, percent = false, readout }) {
    this.el = el;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
    this.logToggle = logToggle;
    this.percent = percent;
    this.readout = readout;
    this.log = false;
    this.table = new AlignedTable();
    this.seriesOpts = []; // uPlot series options, parallel to table.series
    this.seriesRun = []; // run id per series
    this.hidden = new Set(); // run ids hidden from view
    this.plot = null;
    this.build();
    this.resizeObserver = new ResizeObserver(() => this.fit());
    this.resizeObserver.observe(el);
  }

  size() {
    const w = Math.max(240, Math.floor(this.el.clientWidth || 600));
    const h = Math.max(180, Math.min(340, Math.round(w * 0.5)));
    return { width: w, height: h };
  }

  fit() {
    if (!this.plot) return;
    const { width, height } = this.size();
    if (width !== this.plot.width || height !== this.plot.height) this.plot.setSize({ width, height });
  }

  build() {
    if (this.plot) this.plot.destroy();
    const { width, height } = this.size();
    const readout = this.readout;
    const opts = {
      width,
      height,
      pxAlign: 0,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { size: 7 } },
      scales: {
        x: { time: false },
        y: this.log ? { distr: 3, log: 10 } : { auto: true },
      },
      axes: [
        axis(this.xLabel, { incrs: INT_INCRS, values: (u, ticks) => ticks.map((t) => t.toLocaleString('en-US')) }),
        axis(this.yLabel, { size: 70, values: this.percent ? (u, ticks) => ticks.map((t) => `${fmtValue(t, 3)}%`) : undefined }),
      ],
      series: [{ label: this.xLabel }, ...this.seriesOpts.map((s, k) => ({ ...s, show: !this.hidden.has(this.seriesRun[k]) }))],
      hooks: {
        setCursor: [
          (u) => {
            if (!readout) return;
            const idx = u.cursor.idx;
            if (idx === null || idx === undefined) {
              readout.textContent = '\u00a0';
              return;
            }
            const x = u.data[0][idx];
            const parts = [];
            for (let k = 1; k < u.series.length; k++) {
              const s = u.series[k];
              const v = u.data[k]?.[idx];
              if (!s.show || v === null || v === undefined || s.readout === false) continue;
              parts.push(`${s.label}: ${fmtValue(v)}${this.percent ? '%' : ''}`);
            }
            readout.textContent = `${this.xLabel} ${fmtValue(x, 6)}${parts.length ? ' — ' + parts.join(' · ') : ''}`;
          },
        ],
      },
    };
    this.el.replaceChildren();
    this.plot = new uPlot(opts, this.table.data, this.el);
    this.dirty = false;
  }

  addSeries(runId, opts) {
    const si = this.table.addSeries();
    this.seriesOpts.push({ spanGaps: true, ...opts });
    this.seriesRun.push(runId);
    this.structureChanged = true;
    return si;
  }

  setLog(on) {
    if (!this.logToggle || this.log === on) return;
    this.log = on;
    this.structureChanged = true;
  }

  setHidden(runId, hidden) {
    if (hidden) this.hidden.add(runId);
    else this.hidden.delete(runId);
    if (!this.plot) return;
    this.seriesRun.forEach((id, k) => {
      if (id === runId) this.plot.setSeries(k + 1, { show: !hidden });
    });
  }

  clear() {
    this.table.clear();
    this.seriesOpts = [];
    this.seriesRun = [];
    this.hidden.clear();
    this.structureChanged = true;
  }

  /** Applies pending changes; called once per animation frame. */
  flush() {
    if (this.structureChanged) {
      this.structureChanged = false;
      this.build();
    } else if (this.dirty) {
      this.dirty = false;
      this.plot.setData(this.table.data);
    }
  }
}

/** Debiased exponential moving average, as in TensorBoard's smoothing. */
class Ema {
  constructor(weight) {
    this.weight = weight;
    this.value = 0;
    this.n = 0;
  }
  push(y) {
    this.n++;
    this.value = this.value * this.weight + (1 - this.weight) * y;
    const debias = this.weight === 0 ? 1 : 1 - Math.pow(this.weight, this.n);
    return this.value / debias;
  }
}

/**
 * The three live charts plus the run legend.
 * els: {steps, epochLoss, epochAcc, legend, readouts:{steps, epochLoss, epochAcc}}
 */
export class RunCharts {
  constructor(els, { onToggleRun } = {}) {
    this.els = els;
    this.onToggleRun = onToggleRun;
    this.smoothing = 0.9;
    this.runs = new Map(); // id -> {id, label, color, si:{raw, ema, trainLoss, valLoss, trainAcc, valAcc}, steps:[[x,y]], ema, legendItem}
    this.steps = new Chart(els.steps, { xLabel: 'step', yLabel: 'loss', logToggle: true, readout: els.readouts?.steps });
    this.epochLoss = new Chart(els.epochLoss, { xLabel: 'epoch', yLabel: 'loss', logToggle: true, readout: els.readouts?.epochLoss });
    this.epochAcc = new Chart(els.epochAcc, { xLabel: 'epoch', yLabel: 'accuracy', percent: true, readout: els.readouts?.epochAcc });
    this.charts = [this.steps, this.epochLoss, this.epochAcc];
    this.frame = 0;
    this.timer = 0;
    this.lastFlush = 0;
    this.minInterval = 100;
    this.updateCounts();
  }

  /**
   * Redraws on the next animation frame, at most every `minInterval` ms:
   * curves do not need 60 fps, and the CPU is better spent on training.
   */
  schedule() {
    if (this.frame || this.timer) return;
    const wait = this.minInterval - (performance.now() - this.lastFlush);
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = 0;
        this.schedule();
      }, wait);
      return;
    }
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.lastFlush = performance.now();
      for (const c of this.charts) c.flush();
      this.updateCounts();
    });
  }

  /** Adds a run: its series in every chart and its legend entry. */
  addRun({ id, label, color }) {
    if (this.runs.has(id)) return this.runs.get(id);
    const short = `#${id}`;
    const run = {
      id,
      label,
      color,
      ema: new Ema(this.smoothing),
      si: {
        raw: this.steps.addSeries(id, { label: `${short} raw`, stroke: withAlpha(color, 0.3), width: 1, points: { show: false }, readout: false }),
        ema: this.steps.addSeries(id, { label: `${short} loss`, stroke: color, width: 2.5, points: { show: false } }),
        trainLoss: this.epochLoss.addSeries(id, { label: `${short} train`, stroke: color, width: 2.5, points: { show: true, size: 7, fill: color } }),
        valLoss: this.epochLoss.addSeries(id, { label: `${short} val`, stroke: color, width: 2, dash: [8, 5], points: { show: true, size: 7, fill: '#fff' } }),
        trainAcc: this.epochAcc.addSeries(id, { label: `${short} train`, stroke: color, width: 2.5, points: { show: true, size: 7, fill: color } }),
        valAcc: this.epochAcc.addSeries(id, { label: `${short} val`, stroke: color, width: 2, dash: [8, 5], points: { show: true, size: 7, fill: '#fff' } }),
      },
    };
    this.runs.set(id, run);
    run.legendItem = this.legendItem(run);
    this.els.legend.append(run.legendItem.li);
    this.schedule();
    return run;
  }

  legendItem(run) {
    const li = document.createElement('li');
    li.className = 'legend-entry';
    li.dataset.testid = 'legend-entry';
    li.setAttribute('data-testid', 'legend-entry');
    li.dataset.runId = String(run.id);
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = true;
    box.setAttribute('aria-label', `Show run ${run.id}: ${run.label}`);
    box.addEventListener('change', () => {
      for (const c of this.charts) c.setHidden(run.id, !box.checked);
      li.classList.toggle('hidden-run', !box.checked);
      this.onToggleRun?.(run.id, box.checked);
    });
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = run.color;
    const name = document.createElement('span');
    name.className = 'legend-label';
    name.textContent = `#${run.id} ${run.label}`;
    const status = document.createElement('span');
    status.className = 'legend-status';
    label.append(box, swatch, name);
    li.append(label, status);
    return { li, status };
  }

  setRunStatus(id, text) {
    const run = this.runs.get(id);
    if (run) run.legendItem.status.textContent = text ? ` ${text}` : '';
  }

  /** points: [[step, loss], ...] */
  appendSteps(id, points) {
    const run = this.runs.get(id);
    if (!run || !Array.isArray(points) || points.length === 0) return;
    const table = this.steps.table;
    const raw = [];
    const smooth = [];
    for (const p of points) {
      if (!Array.isArray(p) || p.length < 2) continue;
      const x = Number(p[0]);
      const y = p[1] === null ? NaN : Number(p[1]);
      if (!Number.isFinite(x)) continue;
      const yr = Number.isFinite(y) ? y : null;
      const ye = Number.isFinite(y) ? run.ema.push(y) : null;
      const n = table.xs.length;
      if (n === 0 || x > table.xs[n - 1]) {
        // The usual case: a new step past the end, both series in one row.
        table.appendRow(x, new Map([[run.si.raw, yr], [run.si.ema, ye]]));
      } else {
        raw.push([x, yr]);
        smooth.push([x, ye]);
      }
    }
    if (raw.length) {
      table.setMany(run.si.raw, raw);
      table.setMany(run.si.ema, smooth);
    }
    this.steps.dirty = true;
    this.schedule();
  }

  /** rec: {epoch, train_loss, train_accuracy, val_loss, val_accuracy} */
  addEpoch(id, rec) {
    const run = this.runs.get(id);
    if (!run || rec === null || typeof rec !== 'object') return;
    const x = Number(rec.epoch);
    if (!Number.isFinite(x)) return;
    const num = (v, scale = 1) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v) * scale);
    this.epochLoss.table.setMany(run.si.trainLoss, [[x, num(rec.train_loss)]]);
    this.epochLoss.table.setMany(run.si.valLoss, [[x, num(rec.val_loss)]]);
    this.epochAcc.table.setMany(run.si.trainAcc, [[x, num(rec.train_accuracy, 100)]]);
    this.epochAcc.table.setMany(run.si.valAcc, [[x, num(rec.val_accuracy, 100)]]);
    this.epochLoss.dirty = true;
    this.epochAcc.dirty = true;
    this.schedule();
  }

  setLogScale(on) {
    this.steps.setLog(on);
    this.epochLoss.setLog(on);
    this.schedule();
  }

  /** Changes the EMA weight (0 = no smoothing) and recomputes the smoothed curves. */
  setSmoothing(weight) {
    const w = Math.min(0.999, Math.max(0, Number(weight) || 0));
    this.smoothing = w;
    const table = this.steps.table;
    for (const run of this.runs.values()) {
      // Recomputed from the raw series in the table (no second copy of the points).
      run.ema = new Ema(w);
      const raw = table.series[run.si.raw];
      const ema = table.series[run.si.ema];
      for (let k = 0; k < raw.length; k++) ema[k] = raw[k] === null ? null : run.ema.push(raw[k]);
    }
    this.steps.dirty = true;
    this.schedule();
  }

  /** Takes one run off the charts (its data stays in the shared tables, hidden). */
  removeRun(id) {
    const run = this.runs.get(id);
    if (!run) return;
    for (const c of this.charts) c.setHidden(id, true);
    run.legendItem?.li?.remove();
    this.runs.delete(id);
    this.schedule();
  }

  /**
   * One chart as a PNG Blob: the plot on white, its title above and the
   * visible runs' colours and labels below. `which`: steps | epochLoss | epochAcc.
   */
  toPng(which, title) {
    const chart = this[which];
    const src = chart?.plot?.ctx?.canvas;
    if (!src) return Promise.resolve(null);
    const dpr = src.width / (chart.plot.width || src.width) || 1;
    const visible = [...this.runs.values()].filter((r) => !chart.hidden.has(r.id));
    const lineH = 18 * dpr;
    const out = document.createElement('canvas');
    out.width = src.width;
    out.height = src.height + (28 + 8) * dpr + Math.ceil(visible.length / 2) * lineH + 8 * dpr;
    const ctx = out.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.fillStyle = '#101828';
    ctx.font = `${14 * dpr}px system-ui, sans-serif`;
    ctx.fillText(title ?? '', 8 * dpr, 20 * dpr);
    ctx.drawImage(src, 0, 28 * dpr);
    ctx.font = `${12 * dpr}px system-ui, sans-serif`;
    visible.forEach((r, i) => {
      const x = (i % 2) * (out.width / 2) + 8 * dpr;
      const y = src.height + 28 * dpr + 8 * dpr + Math.floor(i / 2) * lineH;
      ctx.fillStyle = r.color;
      ctx.fillRect(x, y + 3 * dpr, 14 * dpr, 8 * dpr);
      ctx.fillStyle = '#101828';
      ctx.fillText(`#${r.id} ${r.label}`, x + 20 * dpr, y + 12 * dpr);
    });
    return new Promise((resolve) => out.toBlob(resolve, 'image/png'));
  }

  /** Removes every run. */
  clear() {
    this.runs.clear();
    for (const c of this.charts) c.clear();
    this.els.legend.replaceChildren();
    this.schedule();
  }

  /** Point counts per chart (for tests and the status line). */
  counts() {
    const stepsRaw = [...this.runs.values()].map((r) => r.si.raw);
    return {
      runs: this.runs.size,
      steps: this.steps.table.count(stepsRaw),
      epochLoss: this.epochLoss.table.count(),
      epochAcc: this.epochAcc.table.count(),
    };
  }

  updateCounts() {
    const c = this.counts();
    this.els.steps.dataset.points = String(c.steps);
    this.els.epochLoss.dataset.points = String(c.epochLoss);
    this.els.epochAcc.dataset.points = String(c.epochAcc);
    this.els.legend.dataset.runs = String(c.runs);
  }
}
