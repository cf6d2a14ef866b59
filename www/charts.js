// Live training charts: loss per step (raw + smoothed), loss per epoch and
// accuracy per epoch, with the run legend. Every run keeps its curves and
// gets its own colour; new data is appended to shared, aligned tables and the
// charts are redrawn at most once per animation frame.
//
// This module is the charts' public face (the page loads it with a dynamic
// import, so that a missing uPlot leaves training working). The parts:
//   charts-colors.js  the run palette
//   charts-series.js  aligned tables and the smoothing (no drawing)
//   charts-plot.js    one uPlot chart over a table

import { withAlpha } from './charts-colors.js';
import { Ema } from './charts-series.js';
import { Chart } from './charts-plot.js';

export { PALETTE, colorFor } from './charts-colors.js';
export { AlignedTable } from './charts-series.js';

/**
 * The three live charts plus the run legend.
 * els: {steps, epochLoss, epochAcc, legend, readouts:{steps, epochLoss, epochAcc}}
 */
export class RunCharts {
  constructor(els, { onToggleRun } = {}) {
    this.els = els;
    this.onToggleRun = onToggleRun;
    this.smoothing = 0.9;
    this.runs = new Map(); // id -> {id, label, color, ema, si:{raw, ema, trainLoss, valLoss, trainAcc, valAcc}, legendItem}
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
    // Both epoch charts draw train solid with filled dots and val dashed with hollow ones.
    const train = { label: `${short} train`, stroke: color, width: 2.5, points: { show: true, size: 7, fill: color } };
    const val = { label: `${short} val`, stroke: color, width: 2, dash: [8, 5], points: { show: true, size: 7, fill: '#fff' } };
    const run = {
      id,
      label,
      color,
      ema: new Ema(this.smoothing),
      si: {
        raw: this.steps.addSeries(id, { label: `${short} raw`, stroke: withAlpha(color, 0.3), width: 1, points: { show: false }, readout: false }),
        ema: this.steps.addSeries(id, { label: `${short} loss`, stroke: color, width: 2.5, points: { show: false } }),
        trainLoss: this.epochLoss.addSeries(id, train),
        valLoss: this.epochLoss.addSeries(id, val),
        trainAcc: this.epochAcc.addSeries(id, train),
        valAcc: this.epochAcc.addSeries(id, val),
      },
    };
    this.runs.set(id, run);
    run.legendItem = this.legendItem(run);
    this.els.legend.append(run.legendItem.li);
    this.schedule();
    return run;
  }

  /** The run's legend entry: a show/hide checkbox, its colour, its name and a status slot. */
  legendItem(run) {
    const li = document.createElement('li');
    li.className = 'legend-entry';
    li.dataset.testid = 'legend-entry';
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

  /** Sets the text after a run's name in the legend ('' clears it). */
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
      if (table.pastEnd(x)) {
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

  /** Log or linear y on the two loss charts (accuracy stays linear). */
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

  /** Mirrors counts() into data- attributes, where tests and the status line read them. */
  updateCounts() {
    const c = this.counts();
    this.els.steps.dataset.points = String(c.steps);
    this.els.epochLoss.dataset.points = String(c.epochLoss);
    this.els.epochAcc.dataset.points = String(c.epochAcc);
    this.els.legend.dataset.runs = String(c.runs);
  }
}
