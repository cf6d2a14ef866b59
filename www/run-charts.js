// The live charts of this page's runs (one RunCharts for the steps, epoch
// loss and epoch accuracy charts and their legend).
//
// The charts come from the vendored uPlot (charts.js); without it the lab
// still trains: a stand-in keeps the legend and says why in `chartsError`.

import { $ } from './dom.js';

let RunCharts;
/** A run's colour by its index (charts.js's palette). */
export let colorFor;
/** Why the charts did not load, or null. */
export let chartsError = null;

try {
  ({ RunCharts, colorFor } = await import('./charts.js'));
} catch (err) {
  chartsError = `The charts failed to load (${err instanceof Error ? err.message : String(err)}). ` +
    'Run "npm install" to vendor uPlot into www/vendor/. Training still works.';
  colorFor = (i) => ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00'][i % 5];
  RunCharts = class {
    constructor(els) {
      this.els = els;
      this.smoothing = 0.9;
      this.n = 0;
    }
    addRun({ id, label, color }) {
      const li = document.createElement('li');
      li.setAttribute('data-testid', 'legend-entry');
      li.className = 'legend-entry';
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = color;
      li.append(sw, document.createTextNode(`#${id} ${label}`));
      this.els.legend.append(li);
      this.n++;
    }
    setRunStatus() {}
    appendSteps() {}
    addEpoch() {}
    setLogScale() {}
    setSmoothing() {}
    clear() {
      this.els.legend.replaceChildren();
      this.n = 0;
    }
    counts() {
      return { runs: this.n, steps: 0, epochLoss: 0, epochAcc: 0 };
    }
  };
}

/** The page's charts. */
export const charts = new RunCharts({
  steps: $('chart-steps'),
  epochLoss: $('chart-epoch-loss'),
  epochAcc: $('chart-epoch-acc'),
  legend: $('legend'),
  readouts: {
    steps: $('readout-steps'),
    epochLoss: $('readout-epoch-loss'),
    epochAcc: $('readout-epoch-acc'),
  },
});
