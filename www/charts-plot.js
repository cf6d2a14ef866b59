// One uPlot chart: draws an AlignedTable (charts-series.js) with the lab's
// axes, an optional log scale and a readout line that names the values under
// the cursor, and keeps the drawing in step with its element's size. The only module that touches the
// vendored uPlot, so a missing vendor/ fails the dynamic import of charts.js
// (which the page catches) rather than anything else.

import uPlot from './vendor/uPlot.esm.js';
import { AlignedTable } from './charts-series.js';

/** Whole-number tick steps for the step and epoch axes. */
const INT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000, 1e5, 2e5, 2.5e5, 5e5, 1e6, 2e6, 5e6, 1e7];

const FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const AXIS_FONT = `15px ${FONT_FAMILY}`;
const LABEL_FONT = `bold 15px ${FONT_FAMILY}`;

/** uPlot axis options in the lab's style; `extra` overrides or adds. */
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

/** A number for the axes and the readout: `digits` significant digits, exponent form when tiny or huge, '—' when missing. */
function fmtValue(v, digits = 4) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

/**
 * One uPlot chart over an AlignedTable. The chart is re-created when its
 * series list or scale type changes (rare); data changes only call setData.
 * Options: axis labels, whether the y axis may go logarithmic (logToggle),
 * whether y is a percentage, and the element that shows the cursor's values.
 * Callers mark `dirty` after changing the table and call flush() once a frame.
 */
export class Chart {
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

  /** Plot size for the element's width: half as tall as wide, within bounds. */
  size() {
    const w = Math.max(240, Math.floor(this.el.clientWidth || 600));
    const h = Math.max(180, Math.min(340, Math.round(w * 0.5)));
    return { width: w, height: h };
  }

  /** Follows the element's size (the ResizeObserver calls this). */
  fit() {
    if (!this.plot) return;
    const { width, height } = this.size();
    if (width !== this.plot.width || height !== this.plot.height) this.plot.setSize({ width, height });
  }

  /** (Re)creates the uPlot instance from the current series, scale and table. */
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
          // The readout: x and every visible series' value at the cursor.
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

  /** Adds a series (uPlot options) belonging to a run; returns its table index. */
  addSeries(runId, opts) {
    const si = this.table.addSeries();
    this.seriesOpts.push({ spanGaps: true, ...opts });
    this.seriesRun.push(runId);
    this.structureChanged = true;
    return si;
  }

  /** Switches the y axis between linear and log; takes effect at the next flush. */
  setLog(on) {
    if (!this.logToggle || this.log === on) return;
    this.log = on;
    this.structureChanged = true;
  }

  /** Shows or hides every series of a run, without rebuilding the chart. */
  setHidden(runId, hidden) {
    if (hidden) this.hidden.add(runId);
    else this.hidden.delete(runId);
    if (!this.plot) return;
    this.seriesRun.forEach((id, k) => {
      if (id === runId) this.plot.setSeries(k + 1, { show: !hidden });
    });
  }

  /** Drops every series and point; the empty chart is drawn at the next flush. */
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
