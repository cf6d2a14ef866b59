// The analysis of the selected run: its confusion matrix and per-class
// accuracy (or, beyond 30 classes, its worst classes and most confused
// pairs), a grid of its test images with what it predicted, and the paper's
// Fig. 7 (the standard deviation of each layer's responses) for the runs
// added to it. A confusion cell or pair shows the test images behind it;
// Fig. 7 shows the images it was measured on; a test image clicked goes to
// "Use the net".

import { $ } from './dom.js';
import { engine } from './engine-control.js';
import { formatPercent, messageOf, num } from './format.js';
import { SAMPLE_KIND } from './state.js';
import { session } from './session.js';
import { datasetKeyFor, ensureDataset } from './data.js';
import { persistRun } from './kept-runs.js';
import { renderUseNet, useTestImage } from './use-net.js';
import { drawInput } from './inside-view.js';

/** Test images by dataset key: {pixels, meta} once they arrived, {waiting: true} while asked for. */
const imageCache = new Map();
const IMAGE_COUNT = 2000;
const GRID_SIZE = 60;
/** Classes up to which the whole confusion matrix is drawn; beyond, the worst classes and pairs. */
const MATRIX_UP_TO = 30;
/** The Fig. 7 measurement's images (the first test images, as the engine takes them). */
const FIG7_IMAGES = 100;
let fig7Chart = null;
/** Which test images the grid shows: null (the first ones), {truth, pred} (a confusion cell) or {first: n} (Fig. 7's). */
let gridFilter = null;

/** Shows the test images of one confusion cell (or Fig. 7's) in the grid, scrolled to. */
function showImages(filter) {
  gridFilter = filter;
  renderImageGrid();
  $('image-grid-box').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}

/** Per-class accuracy and confusion matrix of the selected run (and its test images). */
export function renderRunDetails() {
  const box = $('run-details');
  const run = session.runs.get(session.selectedRunId);
  box.replaceChildren();
  if (gridFilter && gridFilter.runId !== run?.id) gridFilter = null;
  renderUseNet();
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
  if (matrix.length > MATRIX_UP_TO) {
    box.append(confusionSummary(run, matrix, names, result));
    return;
  }
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
      if (v > 0) cellLink(td, run, i, j, names);
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

/** A confusion cell that shows its test images when clicked (or Enter). */
function cellLink(el, run, truth, pred, names) {
  el.classList.add('link-cell');
  el.tabIndex = 0;
  el.title = `Show the test images of class ${names[truth]} predicted as ${names[pred]}`;
  el.setAttribute('data-testid', 'confusion-cell');
  const go = () => showImages({ runId: run.id, truth, pred });
  el.addEventListener('click', go);
  el.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') go();
  });
}

/** Beyond MATRIX_UP_TO classes: the 15 worst classes and the 15 most confused pairs (each a link to its images). */
function confusionSummary(run, matrix, names, result) {
  const div = document.createElement('div');
  div.className = 'confusion-summary';
  const acc = Array.isArray(result.per_class_accuracy) ? result.per_class_accuracy.map(num) : [];
  const worst = names.map((_, i) => i).filter((i) => acc[i] !== null && acc[i] !== undefined).sort((a, b) => acc[a] - acc[b]).slice(0, 15);
  const pairs = [];
  matrix.forEach((row, i) => (Array.isArray(row) ? row : []).forEach((v, j) => {
    if (i !== j && Number(v) > 0) pairs.push([Number(v), i, j]);
  }));
  pairs.sort((a, b) => b[0] - a[0]);
  const list = (title, items) => {
    const h = document.createElement('h4');
    h.textContent = title;
    const ol = document.createElement('ol');
    ol.append(...items);
    div.append(h, ol);
  };
  list(`Worst classes (of ${names.length})`, worst.map((i) => {
    const li = document.createElement('li');
    li.textContent = `${names[i]}: ${formatPercent(acc[i])}`;
    return li;
  }));
  list('Most confused pairs (true → predicted, test images)', pairs.slice(0, 15).map(([v, i, j]) => {
    const li = document.createElement('li');
    li.textContent = `${names[i]} → ${names[j]}: ${v}`;
    cellLink(li, run, i, j, names);
    return li;
  }));
  return div;
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
  const names = Array.isArray(meta.classes) ? meta.classes.map(String) : [];
  const f = gridFilter;
  const wanted = f?.first
    ? (i) => i < f.first
    : f ? (i) => meta.labels[i] === f.truth && preds[i] === f.pred : (i) => !wrongOnly || preds[i] !== meta.labels[i];
  const limit = f?.first ?? GRID_SIZE;
  const picks = [];
  for (let i = 0; i < n && picks.length < limit; i++) {
    if (wanted(i)) picks.push(i);
  }
  grid.replaceChildren();
  const shown = $('image-filter');
  shown.hidden = !f;
  if (f) {
    shown.querySelector('span').textContent = f.first
      ? `The first ${f.first} test images, on which Fig. 7 is measured.`
      : `True ${names[f.truth] ?? f.truth}, predicted ${names[f.pred] ?? f.pred}: ${picks.length} of the first ${n} test images` +
        (picks.length === limit ? ` (the first ${limit} shown).` : '.');
  }
  for (const i of picks) {
    const fig = document.createElement('figure');
    const wrong = preds[i] !== meta.labels[i];
    fig.className = wrong ? 'wrong' : 'right';
    fig.setAttribute('data-testid', wrong ? 'image-wrong' : 'image-right');
    const canvas = document.createElement('canvas');
    const base = i * c * hh * ww;
    const image = pixels.subarray(base, base + c * hh * ww);
    drawInput(canvas, image, c, hh, ww);
    const cap = document.createElement('figcaption');
    const pred = names[preds[i]] ?? String(preds[i]);
    const truth = names[meta.labels[i]] ?? String(meta.labels[i]);
    cap.textContent = wrong ? `${pred} ✗ (${truth})` : pred;
    fig.title = `Test image ${i}: predicted ${pred}, true ${truth}. Click to use it in "Use the net".`;
    fig.tabIndex = 0;
    const use = () => useTestImage(image.slice(), c, hh, ww, `Test image ${i} (true class ${truth}).`);
    fig.addEventListener('click', use);
    fig.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') use();
    });
    fig.append(canvas, cap);
    grid.append(fig);
  }
  if (!picks.length) {
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = f ? `None among the first ${n} test images.` : wrongOnly ? `No wrong predictions among the first ${n} test images.` : 'No test images.';
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
    () => engine.request('layer-stats', { key: run.modelKey ?? String(run.id), datasetKey: key, n: FIG7_IMAGES }).then(
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

/** Fig. 7's images: the first test images of the selected run, in the grid. */
export function showFig7Images() {
  const run = session.runs.get(session.selectedRunId);
  if (run) showImages({ runId: run.id, first: FIG7_IMAGES });
}

/** Back to the first test images (or the wrong ones). */
export function showAllImages() {
  gridFilter = null;
  renderImageGrid();
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
