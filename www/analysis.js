// The analysis of the selected run: its confusion matrix and per-class
// accuracy, a grid of its test images with what it predicted, and the
// paper's Fig. 7 (the standard deviation of each layer's responses) for the
// runs added to it.

import { $ } from './dom.js';
import { engine } from './engine-control.js';
import { formatPercent, messageOf, num } from './format.js';
import { SAMPLE_KIND } from './state.js';
import { session } from './session.js';
import { datasetKeyFor, ensureDataset } from './data.js';
import { persistRun } from './kept-runs.js';

/** Test images by dataset key: {pixels, meta} once they arrived, {waiting: true} while asked for. */
const imageCache = new Map();
const IMAGE_COUNT = 2000;
const GRID_SIZE = 60;
let fig7Chart = null;

/** Per-class accuracy and confusion matrix of the selected run (and its test images). */
export function renderRunDetails() {
  const box = $('run-details');
  const run = session.runs.get(session.selectedRunId);
  box.replaceChildren();
  const result = run?.result;
  const matrix = Array.isArray(result?.confusion_matrix) ? result.confusion_matrix : null;
  $('fig7-compute').disabled = !run || !run.done;
  $('fig7-compute').textContent = run ? `Add run #${run.id}` : 'Add the selected run';
  $('analysis-empty').hidden = !!run;
  renderImageGrid();
  if (!run || !result || !matrix || !matrix.length) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const h = document.createElement('h3');
  h.textContent = `Run #${run.id} (${run.label}): test set`;
  box.append(h);
  const info = session.datasets.get(run.datasetKey) ?? session.datasets.get(datasetKeyFor(run.config));
  const names = Array.isArray(info?.class_names) && info.class_names.length === matrix.length
    ? info.class_names.map(String)
    : matrix.map((_, i) => String(i));
  const wrap = document.createElement('div');
  wrap.className = 'table-wrap';
  const table = document.createElement('table');
  table.className = 'confusion';
  const cap = document.createElement('caption');
  cap.textContent = 'Confusion matrix (rows: true class, columns: predicted) and per-class accuracy';
  table.append(cap);
  const head = table.createTHead().insertRow();
  const corner = document.createElement('th');
  corner.textContent = 'true \\ pred.';
  head.append(corner);
  for (const n of names) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = n;
    head.append(th);
  }
  const accTh = document.createElement('th');
  accTh.scope = 'col';
  accTh.textContent = 'accuracy';
  head.append(accTh);
  const body = table.createTBody();
  matrix.forEach((row, i) => {
    const tr = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = names[i];
    tr.append(th);
    const cells = Array.isArray(row) ? row.map(Number) : [];
    const sum = cells.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0) || 1;
    cells.forEach((v, j) => {
      const td = tr.insertCell();
      td.className = 'num';
      td.textContent = Number.isFinite(v) ? String(v) : '';
      const frac = Number.isFinite(v) ? v / sum : 0;
      if (frac > 0) {
        td.style.background = i === j ? `rgba(0, 114, 178, ${0.12 + 0.6 * frac})` : `rgba(213, 94, 0, ${Math.min(0.75, 0.1 + 1.5 * frac)})`;
        if ((i === j && frac > 0.6) || (i !== j && frac > 0.4)) td.style.color = '#fff';
      }
    });
    const acc = tr.insertCell();
    acc.className = 'num';
    const pc = Array.isArray(result.per_class_accuracy) ? num(result.per_class_accuracy[i]) : null;
    acc.textContent = pc !== null ? formatPercent(pc) : '';
  });
  wrap.append(table);
  box.append(wrap);
}

// ---------------------------------------------------------------- test images

/** The engine went away: the images it sent are asked for again when shown. */
export function forgetImages() {
  imageCache.clear();
}

/** Asks the engine for the first test images of dataset `key`; the grid is drawn when they arrive. */
function requestImages(key) {
  const waiting = { waiting: true };
  imageCache.set(key, waiting);
  engine.request('images', { datasetKey: key, count: IMAGE_COUNT }).then(
    (answer) => {
      if (imageCache.get(key) !== waiting) return;
      const meta = answer?.meta ?? {};
      const ok = answer?.pixels instanceof Uint8Array && Array.isArray(meta.labels) && [meta.channels, meta.height, meta.width].every(Number.isInteger);
      if (!ok) {
        imageCache.delete(key);
        return;
      }
      imageCache.set(key, { pixels: answer.pixels, meta });
      renderImageGrid();
    },
    () => {
      if (imageCache.get(key) === waiting) imageCache.delete(key);
    },
  );
}

export function renderImageGrid() {
  const box = $('image-grid-box');
  const grid = $('image-grid');
  const run = session.runs.get(session.selectedRunId);
  const preds = run?.result?.test_predictions;
  if (!run || !Array.isArray(preds) || !preds.length) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const key = run.datasetKey ?? datasetKeyFor(run.config);
  const cached = imageCache.get(key);
  if (!cached || cached.waiting) {
    grid.replaceChildren();
    const p = document.createElement('p');
    p.className = 'hint';
    if (!session.datasets.has(key)) {
      p.textContent = run.datasetKey === 'user' || !SAMPLE_KIND[key]
        ? 'Load the dataset this run used to see its test images.'
        : 'Loading the test images…';
      if (SAMPLE_KIND[key] && session.engineReady) ensureDataset(key).then(() => renderImageGrid()).catch(() => {});
    } else {
      p.textContent = 'Loading the test images…';
      if (!cached) requestImages(key);
    }
    grid.append(p);
    return;
  }
  const { pixels, meta } = cached;
  const { channels: c, height: hh, width: ww } = meta;
  const n = Math.min(preds.length, meta.labels.length, Math.floor(pixels.length / (c * hh * ww)));
  const wrongOnly = $('wrong-only').checked;
  const picks = [];
  for (let i = 0; i < n && picks.length < GRID_SIZE; i++) {
    if (!wrongOnly || preds[i] !== meta.labels[i]) picks.push(i);
  }
  grid.replaceChildren();
  const names = Array.isArray(meta.classes) ? meta.classes.map(String) : [];
  for (const i of picks) {
    const fig = document.createElement('figure');
    const wrong = preds[i] !== meta.labels[i];
    fig.className = wrong ? 'wrong' : 'right';
    fig.setAttribute('data-testid', wrong ? 'image-wrong' : 'image-right');
    const canvas = document.createElement('canvas');
    canvas.width = ww;
    canvas.height = hh;
    const ctx = canvas.getContext('2d');
    const img = ctx.createImageData(ww, hh);
    const base = i * c * hh * ww;
    for (let y = 0; y < hh; y++) {
      for (let x = 0; x < ww; x++) {
        const o = (y * ww + x) * 4;
        const at = (ch) => pixels[base + ch * hh * ww + y * ww + x];
        img.data[o] = at(0);
        img.data[o + 1] = c === 3 ? at(1) : at(0);
        img.data[o + 2] = c === 3 ? at(2) : at(0);
        img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    const cap = document.createElement('figcaption');
    const pred = names[preds[i]] ?? String(preds[i]);
    const truth = names[meta.labels[i]] ?? String(meta.labels[i]);
    cap.textContent = wrong ? `${pred} ✗ (${truth})` : pred;
    fig.title = `Test image ${i}: predicted ${pred}, true ${truth}`;
    fig.append(canvas, cap);
    grid.append(fig);
  }
  if (!picks.length) {
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = wrongOnly ? `No wrong predictions among the first ${n} test images.` : 'No test images.';
    grid.append(p);
  }
}

// ---------------------------------------------------------------- Fig. 7

/** "Add run #n": measures the std of each layer's responses of the selected run's model. */
export function requestLayerStats() {
  const run = session.runs.get(session.selectedRunId);
  if (!run || !run.done) return;
  const status = $('fig7-status');
  if (run.layerStd) {
    status.textContent = `Run #${run.id} is already in the figure.`;
    return;
  }
  if (!run.modelInWorker) {
    status.textContent = `The trained model of run #${run.id} is no longer in memory (the engine keeps the last few runs of this visit); ` +
      'load its saved model file to add it.';
    return;
  }
  status.textContent = session.current ? `Measuring run #${run.id} after the current run…` : `Measuring run #${run.id}…`;
  const key = run.datasetKey ?? datasetKeyFor(run.config);
  ensureDataset(key).then(
    () => engine.request('layer-stats', { runId: run.id, datasetKey: key, n: 100 }).then(
      (stats) => onLayerStats(run, stats),
      (err) => {
        status.textContent = `Layer responses of run #${run.id} could not be measured: ${messageOf(err)}`;
      },
    ),
    (err) => {
      status.textContent = messageOf(err);
    },
  );
}

function onLayerStats(run, stats) {
  if (session.runs.get(run.id) !== run || !Array.isArray(stats)) return;
  run.layerStd = stats.filter((l) => l && Number.isFinite(l.std)).map((l) => ({ name: String(l.name), index: Number(l.index), std: Number(l.std) }));
  persistRun(run);
  $('fig7-status').textContent = `Added run #${run.id} (${run.layerStd.length} layers).`;
  renderFig7();
}

/** Draws Fig. 7 for every run with layer statistics (plain nets dashed). */
export async function renderFig7() {
  const box = $('fig7-chart');
  const withStats = [...session.runs.values()].filter((r) => Array.isArray(r.layerStd) && r.layerStd.length);
  box.dataset.series = String(withStats.length);
  if (fig7Chart) {
    fig7Chart.destroy();
    fig7Chart = null;
  }
  box.replaceChildren();
  if (!withStats.length) return;
  let uPlot;
  try {
    uPlot = (await import('./vendor/uPlot.esm.js')).default;
  } catch {
    box.textContent = 'The chart library is missing.';
    return;
  }
  const maxLayers = Math.max(...withStats.map((r) => r.layerStd.length));
  const xs = Array.from({ length: maxLayers }, (_, i) => i + 1);
  const data = [xs, ...withStats.map((r) => xs.map((x) => r.layerStd[x - 1]?.std ?? null))];
  const series = [{ label: 'layer' }, ...withStats.map((r) => ({
    label: `#${r.id} ${r.label}`,
    stroke: r.color,
    width: 2,
    dash: /plain/.test(r.config.model) ? [6, 4] : undefined,
    points: { show: true, size: 4 },
  }))];
  const width = Math.max(300, box.clientWidth || 600);
  fig7Chart = new uPlot({
    width,
    height: 260,
    series,
    axes: [{ label: 'layer index (original order)' }, { label: 'std' }],
    scales: { x: { time: false } },
    legend: { show: true },
  }, data, box);
}
