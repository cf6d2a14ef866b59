// ResLab page: controls ↔ state ↔ URL, the training worker, live charts,
// the progress panel and the results of this session.
//
// The main thread never trains: it forwards requests to the worker and draws.
// Strings that come from files, URLs or the engine are only ever written with
// textContent / DOM APIs.

import {
  AppState,
  FIELDS,
  FALLBACK_CONFIG,
  FALLBACK_MODEL_IDS,
  SAMPLE_KIND,
  checkConfig,
  formatField,
  formatNumber,
  parseField,
  queryFromState,
  runLabel,
  stateFromQuery,
} from './state.js';
import { renderDiagram } from './diagram.js';

// The charts come from the vendored uPlot; without them the lab still trains.
let RunCharts;
let colorFor;
let chartsError = null;
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

const $ = (id) => document.getElementById(id);

/** Config fields that have a control on the page, by element id (= field name). */
const CONTROL_FIELDS = [
  'model', 'shortcut', 'bn_momentum', 'bn_epsilon', 'optimizer', 'lr', 'momentum',
  'weight_decay', 'schedule', 'batch_size', 'epochs', 'augment', 'seed', 'stem',
  'milestones', 'gamma', 'warmup_steps', 'warmup_lr', 'max_steps', 'patience',
  'val_size', 'log_every', 'train_limit', 'test_limit', 'mean_subtraction',
  'beta1', 'beta2', 'epsilon',
];
const ADVANCED_FIELDS = new Set([
  'stem', 'milestones', 'gamma', 'warmup_steps', 'warmup_lr', 'max_steps', 'patience',
  'val_size', 'log_every', 'train_limit', 'test_limit', 'mean_subtraction',
  'beta1', 'beta2', 'epsilon',
]);
/** Fields that change the network (and so its description). */
const MODEL_FIELDS = new Set(['model', 'shortcut', 'stem', 'dataset', 'bn_momentum', 'bn_epsilon']);

const DATASET_NAMES = { mnist: 'MNIST', 'fashion-mnist': 'Fashion-MNIST', cifar10: 'CIFAR-10' };
const SAMPLE_LABELS = { 'sample-mnist': 'Built-in MNIST sample', 'sample-cifar10': 'Built-in CIFAR-10 sample', user: 'Your files' };

const MODEL_GROUPS = [
  ['ResNets for CIFAR (paper §4.2)', /^resnet(20|32|44|56|110|1202)$/],
  ['Plain nets for CIFAR', /^plain(20|32|44|56|110)$/],
  ['ResNets, ImageNet layout', /^resnet(18|34|50|101|152)$/],
  ['Plain nets, ImageNet layout', /^plain(18|34|50|101|152)$/],
  ['Baselines', /.*/],
];
const MODEL_NOTES = {
  mlp: 'multilayer perceptron',
  cnn: 'small convnet',
  vgg11: 'VGG-11',
  vgg16: 'VGG-16',
};

// ---------------------------------------------------------------- state

const initial = stateFromQuery(location.search, { defaults: FALLBACK_CONFIG });
let state = initial.state;
let modelIds = FALLBACK_MODEL_IDS.slice();
let engineReady = false;
let engineFailed = false;
let backendInfo = null;

/** Field → message from local parsing (what the user typed is not a valid value). */
const localErrors = new Map();
/** Field → message from the engine's validate_config. */
let engineErrors = [];

/** Datasets the worker holds: key → info. */
const datasets = new Map();
/** Dataset loads in flight: key → {promise, resolve, reject}. */
const datasetLoads = new Map();
/** Requests waiting for a reply: id → {resolve, reject}. */
const pending = new Map();
let requestSeq = 0;

/** Runs of this session: id → run record. */
const runs = new Map();
let runSeq = 0;
/** The run in progress (or being prepared). */
let current = null;
let selectedRunId = null;

// ---------------------------------------------------------------- worker

let worker = null;

function startWorker() {
  engineReady = false;
  try {
    worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'reslab-engine' });
  } catch (err) {
    engineFailure(`The training engine failed to load: ${messageOf(err)}`);
    return;
  }
  worker.onmessage = (ev) => {
    try {
      onWorkerMessage(ev.data);
    } catch (err) {
      console.warn('ResLab: could not handle a message from the engine', err);
    }
  };
  worker.onerror = (ev) => {
    ev.preventDefault?.();
    if (!engineReady) {
      const msg = ev.message || 'the worker script could not be started';
      engineFailure(`The training engine failed to load: ${msg}`);
    } else {
      // Wasm traps arrive as 'error' messages flagged fatal; anything else is reported.
      notice(`The training engine reported an error: ${ev.message || 'unknown error'}`);
    }
  };
  worker.onmessageerror = () => notice('A message from the training engine could not be read.');
  worker.postMessage({ type: 'init', backend: state.backend });
}

function send(msg, transfer) {
  if (!worker) return false;
  worker.postMessage(msg, transfer ?? []);
  return true;
}

const restarts = [];

/** Restarts the engine after a crash or an unresponsive stop. */
function restartWorker(reason) {
  const now = performance.now();
  restarts.push(now);
  while (restarts.length && now - restarts[0] > 60_000) restarts.shift();
  if (restarts.length > 3) {
    worker?.terminate();
    worker = null;
    engineFailure(`The training engine keeps crashing: ${reason}`);
    return;
  }
  worker?.terminate();
  worker = null;
  datasets.clear();
  for (const [key, load] of datasetLoads) load.reject(new Error(reason));
  datasetLoads.clear();
  for (const [, p] of pending) p.reject(new Error(reason));
  pending.clear();
  if (current) finishRun(current, { status: 'failed', message: reason });
  setBackendLine('Backend: restarting…', '');
  notice(`${reason} It was restarted; datasets will be loaded again when needed.`);
  state.userKind = null;
  updateUserDataStatus();
  updateDataInfo();
  startWorker();
}

function engineFailure(message) {
  if (engineFailed) return;
  engineFailed = true;
  engineReady = false;
  const banner = $('engine-banner');
  banner.textContent = message;
  banner.hidden = false;
  setBackendLine('Backend: unavailable (the training engine did not load)', 'none');
  for (const [, load] of datasetLoads) load.reject(new Error(message));
  datasetLoads.clear();
  for (const [, p] of pending) p.reject(new Error(message));
  pending.clear();
  hideLoadProgress();
  if (current) finishRun(current, { status: 'failed', message });
  updateButtons();
}

function onWorkerMessage(msg) {
  if (!msg || typeof msg !== 'object') return;
  switch (msg.type) {
    case 'ready':
      onEngineReady(msg);
      break;
    case 'backend':
      backendInfo = msg;
      setBackendLine(`Backend: ${msg.reason || msg.backend}`, msg.backend);
      break;
    case 'progress':
      showLoadProgress(msg.what, msg.loaded, msg.total);
      break;
    case 'dataset':
      onDataset(msg.key, msg.info);
      break;
    case 'model':
      onModelDescription(msg);
      break;
    case 'validation': {
      const p = pending.get(msg.id);
      if (p) {
        pending.delete(msg.id);
        p.resolve(Array.isArray(msg.errors) ? msg.errors : []);
      }
      break;
    }
    case 'event':
      onRunEvent(msg.runId, msg.event);
      break;
    case 'result':
      onRunResult(msg.runId, msg.result);
      break;
    case 'error':
      onWorkerError(msg);
      break;
    default:
      break;
  }
}

function onWorkerError(msg) {
  const message = String(msg.message ?? 'unknown error');
  if (msg.context === 'engine') {
    engineFailure(message);
    return;
  }
  if (msg.fatal) {
    restartWorker(message);
    return;
  }
  switch (msg.context) {
    case 'dataset': {
      hideLoadProgress();
      showDataError(message);
      const load = datasetLoads.get(msg.key);
      if (load) {
        datasetLoads.delete(msg.key);
        load.reject(new Error(message));
      }
      break;
    }
    case 'backend':
      notice(message);
      if (backendInfo && $('backend-line').dataset.backend === '') {
        setBackendLine(`Backend: ${backendInfo.reason || backendInfo.backend}`, backendInfo.backend);
      }
      break;
    case 'describe':
    case 'validate': {
      const p = pending.get(msg.id);
      if (p) {
        pending.delete(msg.id);
        p.reject(new Error(message));
      } else if (msg.context === 'describe' && msg.id === `d${describeSeq}`) {
        renderModelError(message);
      }
      break;
    }
    case 'train': {
      const run = runs.get(msg.runId) ?? current;
      if (run && !run.done) finishRun(run, { status: 'failed', message });
      else notice(message);
      break;
    }
    default:
      notice(message);
  }
}

let readyBefore = false;

function onEngineReady({ defaults, models }) {
  engineReady = true;
  engineFailed = false;
  $('engine-banner').hidden = true;
  if (Array.isArray(models) && models.length) modelIds = models.map(String);
  populateModels();
  if (defaults && typeof defaults === 'object') {
    // Re-read the URL against the engine's defaults and model list.
    const { state: next, messages } = stateFromQuery(location.search, { defaults, modelIds });
    next.userKind = state.userKind;
    if (state.data === 'user') next.data = 'user';
    next.syncDatasetKind();
    state = next;
    if (!readyBefore) setNotices(messages);
  }
  readyBefore = true;
  // Offer only the settings this engine knows.
  for (const field of CONTROL_FIELDS) {
    const box = el(field)?.closest('.field');
    if (box) box.hidden = !Object.prototype.hasOwnProperty.call(state.defaults, field);
  }
  writeControls();
  localErrors.clear();
  renderErrors();
  scheduleValidate();
  scheduleDescribe();
  updateButtons();
  // Fetch the chosen built-in sample in the background so Train starts at once.
  if (SAMPLE_KIND[state.data]) ensureDataset(state.data).catch(() => {});
}

// ---------------------------------------------------------------- controls

function el(field) {
  return $(field);
}

function populateModels() {
  const select = $('model');
  const value = state.config.model;
  select.replaceChildren();
  const used = new Set();
  for (const [title, re] of MODEL_GROUPS) {
    const ids = modelIds.filter((id) => !used.has(id) && re.test(id));
    if (!ids.length) continue;
    const group = document.createElement('optgroup');
    group.label = title;
    for (const id of ids) {
      used.add(id);
      const opt = document.createElement('option');
      opt.value = id;
      opt.textContent = MODEL_NOTES[id] ? `${id} (${MODEL_NOTES[id]})` : id;
      group.append(opt);
    }
    select.append(group);
  }
  if (modelIds.includes(value)) select.value = value;
}

function writeControl(field) {
  const e = el(field);
  if (!e) return;
  const value = state.config[field];
  if (e.type === 'checkbox') e.checked = value === true;
  else if (field === 'augment') e.value = value === null || value === undefined ? 'auto' : String(value);
  else e.value = formatField(field, value);
}

function writeControls() {
  $('data').value = state.data;
  $('backend').value = state.backend;
  for (const f of CONTROL_FIELDS) writeControl(f);
  $('loader').hidden = state.data !== 'user';
  updateDataInfo();
}

function readControl(field) {
  const e = el(field);
  if (e.type === 'checkbox') return { ok: true, value: e.checked };
  return parseField(field, e.value, { modelIds, defaultValue: state.defaults[field] });
}

function onControlChange(field) {
  const parsed = readControl(field);
  if (!parsed.ok) {
    localErrors.set(field, `${FIELDS[field]?.label ?? field} ${parsed.error}`);
  } else {
    localErrors.delete(field);
    state.set(field, parsed.value);
    writeUrl();
    if (MODEL_FIELDS.has(field)) scheduleDescribe();
  }
  renderErrors();
  scheduleValidate();
  updateButtons();
}

function writeUrl() {
  const q = queryFromState(state);
  const url = `${location.pathname}${q}${location.hash}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(null, '', url);
}

function bindControls() {
  for (const field of CONTROL_FIELDS) {
    const e = el(field);
    if (!e) continue;
    const handler = () => onControlChange(field);
    e.addEventListener(e.tagName === 'SELECT' || e.type === 'checkbox' ? 'change' : 'input', handler);
    if (e.tagName !== 'SELECT' && e.type !== 'checkbox') {
      // Normalise the text once the user leaves the field.
      e.addEventListener('change', () => {
        if (!localErrors.has(field)) writeControl(field);
      });
    }
  }
  $('data').addEventListener('change', () => onDataChoice($('data').value));
  $('backend').addEventListener('change', () => {
    const v = $('backend').value;
    state.set('backend', v);
    writeUrl();
    if (engineReady && !current) {
      setBackendLine('Backend: switching…', '');
      send({ type: 'init', backend: v });
    } else if (current) {
      notice('The backend changes for the next run.');
      pendingBackend = v;
    }
  });
  $('reset-settings').addEventListener('click', () => {
    state.reset();
    localErrors.clear();
    writeControls();
    writeUrl();
    renderErrors();
    scheduleValidate();
    scheduleDescribe();
    updateButtons();
  });
}

let pendingBackend = null;

// ---------------------------------------------------------------- validation

let validateTimer = 0;
let validateSeq = 0;

function scheduleValidate() {
  clearTimeout(validateTimer);
  validateTimer = setTimeout(runValidate, 150);
}

async function runValidate() {
  const seq = ++validateSeq;
  const config = state.configForEngine();
  const local = checkConfig(config, { modelIds });
  if (!engineReady) {
    engineErrors = local;
    renderErrors();
    updateButtons();
    return local;
  }
  try {
    const errors = await requestValidation(config);
    if (seq === validateSeq) {
      engineErrors = errors;
      renderErrors();
      updateButtons();
    }
    return errors;
  } catch {
    return [];
  }
}

function requestValidation(config) {
  const id = `v${++requestSeq}`;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    if (!send({ type: 'validate', id, config })) {
      pending.delete(id);
      resolve([]);
    }
  });
}

/** Shows each message next to its control; the rest in the form's error box. */
function renderErrors() {
  const byField = new Map();
  for (const [field, message] of localErrors) byField.set(field, [message]);
  const general = [];
  for (const e of engineErrors) {
    const field = typeof e?.field === 'string' ? e.field : '';
    const message = String(e?.message ?? e);
    if (localErrors.has(field)) continue;
    if (field && el(field) && CONTROL_FIELDS.includes(field)) {
      if (!byField.has(field)) byField.set(field, []);
      byField.get(field).push(message);
    } else {
      general.push(field ? `${FIELDS[field]?.label ?? field}: ${message}` : message);
    }
  }
  let openAdvanced = false;
  for (const field of CONTROL_FIELDS) {
    const box = $(`err-${field}`);
    const control = el(field);
    const msgs = byField.get(field);
    if (box) {
      box.textContent = msgs ? msgs.join(' ') : '';
      box.hidden = !msgs;
    }
    if (control) {
      if (msgs) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    }
    if (msgs && ADVANCED_FIELDS.has(field)) openAdvanced = true;
  }
  if (openAdvanced) $('advanced').open = true;
  const box = $('form-errors');
  box.replaceChildren();
  for (const m of general) {
    const p = document.createElement('p');
    p.textContent = m;
    box.append(p);
  }
  box.hidden = general.length === 0;
}

function hasErrors() {
  return localErrors.size > 0 || engineErrors.length > 0;
}

// ---------------------------------------------------------------- model description

let describeTimer = 0;
let describeSeq = 0;

function scheduleDescribe() {
  clearTimeout(describeTimer);
  describeTimer = setTimeout(() => {
    if (!engineReady) return;
    const id = `d${++describeSeq}`;
    send({ type: 'describe', id, config: state.configForEngine() });
  }, 200);
}

function onModelDescription(msg) {
  if (msg.id !== `d${describeSeq}`) return;
  renderModel(msg.description);
}

function renderModelError(message) {
  lastDescription = null;
  $('diagram').replaceChildren();
  $('network-title').textContent = 'Network';
  const box = $('model-summary');
  box.replaceChildren();
  const p = document.createElement('p');
  p.className = 'error';
  p.textContent = `This network cannot be built: ${message}`;
  box.append(p);
}

let lastDescription = null;
let diagramWidth = 0;

function drawDiagram() {
  const box = $('diagram');
  diagramWidth = box.clientWidth;
  try {
    renderDiagram(box, lastDescription);
  } catch (err) {
    box.textContent = `The diagram could not be drawn: ${messageOf(err)}`;
  }
}

new ResizeObserver(() => {
  if (lastDescription && Math.abs($('diagram').clientWidth - diagramWidth) > 8) drawDiagram();
}).observe($('diagram'));

function renderModel(d) {
  const box = $('model-summary');
  box.replaceChildren();
  if (!d || typeof d !== 'object') return;
  lastDescription = d;
  const edgeCount = Array.isArray(d.edges) ? d.edges.length : 0;
  $('network-title').textContent = `Network: ${String(d.model ?? state.config.model)}` +
    (Number.isFinite(d.params) ? ` · ${formatCount(d.params)} parameters` : '') +
    (Array.isArray(d.layers) ? ` · ${d.layers.length} layers` : '') +
    ` · ${edgeCount} shortcut${edgeCount === 1 ? '' : 's'}`;
  drawDiagram();
  const head = document.createElement('p');
  head.className = 'model-head';
  const name = document.createElement('strong');
  name.textContent = String(d.model ?? state.config.model);
  head.append(name);
  const bits = [];
  if (Number.isFinite(d.params)) bits.push(`${formatCount(d.params)} parameters`);
  if (Array.isArray(d.input)) bits.push(`input ${d.input.join(' × ')}`);
  if (Array.isArray(d.layers)) bits.push(`${d.layers.length} layers`);
  if (Array.isArray(d.edges)) bits.push(d.edges.length ? `${d.edges.length} shortcuts` : 'no shortcuts');
  head.append(document.createTextNode(` · ${bits.join(' · ')}`));
  box.append(head);
  if (Array.isArray(d.layers) && d.layers.length) {
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'Layers';
    details.append(summary);
    const wrap = document.createElement('div');
    wrap.className = 'table-wrap layers-wrap';
    const table = document.createElement('table');
    table.className = 'layers';
    const thead = table.createTHead().insertRow();
    for (const h of ['Layer', 'Kind', 'Output', 'Params']) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = h;
      thead.append(th);
    }
    const body = table.createTBody();
    for (const layer of d.layers) {
      const tr = body.insertRow();
      tr.insertCell().textContent = String(layer?.name ?? '');
      tr.insertCell().textContent = String(layer?.kind ?? '');
      tr.insertCell().textContent = Array.isArray(layer?.shape) ? layer.shape.join('×') : '';
      const p = tr.insertCell();
      p.className = 'num';
      p.textContent = Number.isFinite(layer?.params) ? formatCount(layer.params) : '';
    }
    wrap.append(table);
    details.append(wrap);
    box.append(details);
  }
}

// ---------------------------------------------------------------- data

function onDataChoice(value) {
  hideDataError();
  state.set('data', value);
  $('loader').hidden = value !== 'user';
  writeUrl();
  updateDataInfo();
  scheduleValidate();
  scheduleDescribe();
  updateButtons();
  if (SAMPLE_KIND[value] && engineReady) ensureDataset(value).catch(() => {});
  if (value === 'user' && !datasets.has('user')) $('drop-zone').focus();
}

/** Resolves once the dataset `key` is loaded in the worker (loading samples on demand). */
function ensureDataset(key) {
  if (datasets.has(key)) return Promise.resolve(datasets.get(key));
  if (datasetLoads.has(key)) return datasetLoads.get(key).promise;
  if (!SAMPLE_KIND[key]) return Promise.reject(new Error('Load your dataset files first, or pick a built-in sample.'));
  const load = {};
  load.promise = new Promise((resolve, reject) => {
    load.resolve = resolve;
    load.reject = reject;
  });
  load.promise.catch(() => {});
  datasetLoads.set(key, load);
  hideDataError();
  showLoadProgress(`${SAMPLE_LABELS[key]}`, 0, 0);
  send({ type: 'load-sample', dataset: SAMPLE_KIND[key] });
  return load.promise;
}

function expectUserDataset() {
  const previous = datasetLoads.get('user');
  if (previous) previous.reject(new Error('superseded'));
  const load = {};
  load.promise = new Promise((resolve, reject) => {
    load.resolve = resolve;
    load.reject = reject;
  });
  load.promise.catch(() => {});
  datasetLoads.set('user', load);
  return load.promise;
}

function onDataset(key, info) {
  datasets.set(key, info ?? {});
  const load = datasetLoads.get(key);
  if (load) {
    datasetLoads.delete(key);
    load.resolve(info);
  }
  hideLoadProgress();
  if (key === 'user') {
    hideDataError();
    state.userKind = typeof info?.kind === 'string' ? info.kind : null;
    if (state.data !== 'user') {
      state.set('data', 'user');
      $('data').value = 'user';
      $('loader').hidden = false;
    }
    state.syncDatasetKind();
    updateUserDataStatus();
    scheduleValidate();
    scheduleDescribe();
  }
  updateDataInfo();
  updateButtons();
}

function describeInfo(info) {
  if (!info) return '';
  const kind = DATASET_NAMES[info.kind] ?? String(info.kind ?? 'dataset');
  const shape = [info.channels, info.height, info.width].every(Number.isFinite)
    ? `${info.channels}×${info.height}×${info.width}`
    : '';
  const classes = Array.isArray(info.class_names) ? `${info.class_names.length} classes` : '';
  const sizes = Number.isFinite(info.train) ? `${formatCount(info.train)} train / ${formatCount(info.test ?? 0)} test images` : '';
  return [kind, shape, sizes, classes].filter(Boolean).join(' · ');
}

function updateDataInfo() {
  const info = datasets.get(state.data);
  const p = $('data-info');
  if (info) p.textContent = describeInfo(info);
  else if (state.data === 'user') p.textContent = 'Load the official files below.';
  else if (datasetLoads.has(state.data)) p.textContent = 'Loading…';
  else p.textContent = '';
}

function updateUserDataStatus() {
  const info = datasets.get('user');
  const p = $('user-data-status');
  if (info) {
    const src = info.source ? ` from ${String(info.source)}` : '';
    p.textContent = `Loaded${src}: ${describeInfo(info)}.`;
  } else {
    p.textContent = 'No files loaded yet.';
  }
}

function showDataError(message) {
  const p = $('data-error');
  p.textContent = message;
  p.hidden = false;
}

function hideDataError() {
  $('data-error').hidden = true;
  $('data-error').textContent = '';
}

function showLoadProgress(what, loaded, total) {
  $('load-status').hidden = false;
  const bar = $('load-progress');
  const text = $('load-text');
  if (total > 0) {
    bar.max = total;
    bar.value = Math.min(loaded, total);
    text.textContent = `${what}: ${formatBytes(loaded)} of ${formatBytes(total)}`;
  } else {
    bar.removeAttribute('value');
    text.textContent = loaded > 0 ? `${what}: ${formatBytes(loaded)}` : `${what}…`;
  }
  updateDataInfo();
}

function hideLoadProgress() {
  $('load-status').hidden = true;
}

/** Reads File objects with progress, then hands the bytes to the worker. */
async function loadUserFiles(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  if (!engineReady) {
    showDataError(engineFailed ? 'The training engine is not available.' : 'The training engine is still starting; try again in a moment.');
    return;
  }
  if (current) {
    showDataError('Wait for the current run to finish (or stop it) before loading new data.');
    return;
  }
  hideDataError();
  const total = files.reduce((a, f) => a + f.size, 0);
  let done = 0;
  const out = [];
  try {
    for (const file of files) {
      const bytes = new Uint8Array(file.size);
      let offset = 0;
      const reader = file.stream().getReader();
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        if (offset + value.length > bytes.length) throw new Error('the file changed while it was read');
        bytes.set(value, offset);
        offset += value.length;
        done += value.length;
        showLoadProgress('Reading files', done, total);
      }
      out.push({ name: file.name, bytes: bytes.buffer });
    }
  } catch (err) {
    hideLoadProgress();
    showDataError(`${files.map((f) => f.name).join(', ')}: could not be read (${messageOf(err)})`);
    return;
  }
  const hint = $('data-hint').value || null;
  const promise = expectUserDataset();
  showLoadProgress('Decoding dataset', 0, 0);
  send({ type: 'load-files', files: out, hint }, out.map((f) => f.bytes));
  await promise.catch(() => {});
}

async function loadFromUrl() {
  const text = $('data-url').value.trim();
  if (!text) {
    showDataError('Enter the URL of a dataset file first.');
    return;
  }
  for (const u of text.split(/\s+/)) {
    let parsed;
    try {
      parsed = new URL(u, location.href);
    } catch {
      showDataError(`${u}: not a valid URL`);
      return;
    }
    if (parsed.protocol !== 'https:' && parsed.origin !== location.origin) {
      showDataError(`${u}: only https URLs (or files on this site) can be loaded`);
      return;
    }
  }
  if (!engineReady || current) {
    showDataError(current ? 'Wait for the current run to finish before loading new data.' : 'The training engine is not ready.');
    return;
  }
  hideDataError();
  const promise = expectUserDataset();
  showLoadProgress('Downloading', 0, 0);
  send({ type: 'load-url', url: text, hint: $('data-hint').value || null });
  await promise.catch(() => {});
}

function bindDataLoading() {
  const input = $('data-files');
  input.addEventListener('change', () => {
    const files = input.files;
    loadUserFiles(files).finally(() => {
      input.value = '';
    });
  });
  const zone = $('drop-zone');
  zone.addEventListener('click', () => input.click());
  zone.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      input.click();
    }
  });
  for (const type of ['dragenter', 'dragover']) {
    zone.addEventListener(type, (ev) => {
      ev.preventDefault();
      zone.classList.add('dragging');
    });
  }
  for (const type of ['dragleave', 'dragend']) zone.addEventListener(type, () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('dragging');
    if (ev.dataTransfer?.files?.length) loadUserFiles(ev.dataTransfer.files);
  });
  // A file dropped anywhere else must not navigate away from the page.
  window.addEventListener('dragover', (ev) => ev.preventDefault());
  window.addEventListener('drop', (ev) => {
    ev.preventDefault();
    if (ev.dataTransfer?.files?.length && !zone.contains(ev.target)) {
      $('data').value = 'user';
      onDataChoice('user');
      loadUserFiles(ev.dataTransfer.files);
    }
  });
  $('load-url').addEventListener('click', () => loadFromUrl());
  $('data-url').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      loadFromUrl();
    }
  });
}

// ---------------------------------------------------------------- runs

const charts = new RunCharts({
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

async function startRun() {
  if (current) return;
  if (!engineReady) {
    flashStatus(engineFailed ? 'The training engine is not available.' : 'The training engine is still starting…');
    return;
  }
  if (localErrors.size) {
    renderErrors();
    focusFirstError();
    return;
  }
  const key = state.datasetKey;
  if (key === 'user' && !datasets.has('user')) {
    showDataError('Load your dataset files first, or pick a built-in sample.');
    $('drop-zone').focus();
    return;
  }
  const config = state.configForEngine();
  const run = {
    id: ++runSeq,
    config,
    label: runLabel(config),
    color: colorFor(runSeq - 1),
    datasetKey: key,
    dataLabel: SAMPLE_LABELS[key] ?? key,
    status: 'preparing',
    done: false,
    totalSteps: null,
    stepsPerEpoch: null,
    epochsPlanned: null,
    step: 0,
    epoch: 0,
    lastLoss: null,
    imgPerS: null,
    elapsed: 0,
    lr: null,
    params: null,
    epochs: [],
    result: null,
    message: '',
    testAccuracy: null,
    backend: backendInfo?.backend ?? null,
    startedAt: performance.now(),
  };
  current = run;
  setRunState('preparing', 'Preparing…');
  resetProgressPanel();
  updateButtons();
  try {
    await ensureDataset(key);
    const errors = await requestValidation(config);
    engineErrors = errors;
    renderErrors();
    if (errors.length) {
      current = null;
      setRunState('idle', 'Fix the highlighted settings first');
      focusFirstError();
      updateButtons();
      return;
    }
  } catch (err) {
    current = null;
    setRunState('idle', 'Idle');
    if (!engineFailed) showDataError(messageOf(err));
    updateButtons();
    return;
  }
  if (current !== run) return;
  runs.set(run.id, run);
  charts.addRun({ id: run.id, label: run.label, color: run.color });
  charts.setRunStatus(run.id, 'starting');
  addResultRow(run);
  run.status = 'running';
  setRunState('running', 'Starting…');
  send({ type: 'train', runId: run.id, config, datasetKey: key });
  updateButtons();
}

function onRunEvent(runId, event) {
  const run = runs.get(runId);
  if (!run || !event || typeof event !== 'object') return;
  switch (event.type) {
    case 'start':
      run.totalSteps = num(event.total_steps);
      run.stepsPerEpoch = num(event.steps_per_epoch);
      run.epochsPlanned = num(event.epochs);
      run.params = num(event.params);
      run.split = { train: num(event.train), val: num(event.val), test: num(event.test) };
      if (run === current) setRunState('running', 'Training');
      charts.setRunStatus(run.id, 'running');
      break;
    case 'steps': {
      const pts = normalizePoints(event.points);
      charts.appendSteps(run.id, pts);
      run.points = (run.points ?? 0) + pts.length;
      const last = pts[pts.length - 1];
      if (Array.isArray(last)) {
        run.step = num(last[0]) ?? run.step;
        run.lastLoss = num(last[1]);
      }
      run.epoch = num(event.epoch) ?? run.epoch;
      run.imgPerS = num(event.img_per_s) ?? run.imgPerS;
      run.elapsed = num(event.elapsed) ?? run.elapsed;
      run.lr = num(event.lr) ?? run.lr;
      break;
    }
    case 'epoch':
      run.epochs.push(event);
      run.epoch = num(event.epoch) ?? run.epoch;
      run.elapsed = num(event.elapsed) ?? run.elapsed;
      charts.addEpoch(run.id, event);
      break;
    case 'paused':
      run.paused = true;
      if (run === current) setRunState('paused', 'Paused');
      charts.setRunStatus(run.id, 'paused');
      break;
    case 'resumed':
      run.paused = false;
      if (run === current) setRunState('running', 'Training');
      charts.setRunStatus(run.id, 'running');
      break;
    case 'finished':
      finishRun(run, {
        status: String(event.status ?? 'finished'),
        message: String(event.message ?? ''),
        testAccuracy: num(event.test_accuracy),
      });
      break;
    default:
      break;
  }
  if (run === current || run.id === lastShownRunId) scheduleProgress(run);
}

function onRunResult(runId, result) {
  const run = runs.get(runId);
  if (!run || !result || typeof result !== 'object') return;
  run.result = result;
  if (!run.done) {
    finishRun(run, {
      status: String(result.status ?? 'finished'),
      message: String(result.message ?? ''),
      testAccuracy: num(result.test_accuracy),
    });
  } else if (num(result.test_accuracy) !== null) {
    run.testAccuracy = num(result.test_accuracy);
  }
  if (result.backend) run.backend = String(result.backend);
  if (num(result.wall_seconds) !== null) run.elapsed = num(result.wall_seconds);
  if (num(result.img_per_s) !== null) run.imgPerS = num(result.img_per_s);
  if (num(result.params) !== null) run.params = num(result.params);
  // Curves the live events may have missed (e.g. a very short run).
  if (run.epochs.length === 0 && Array.isArray(result.epochs)) {
    for (const e of result.epochs) {
      run.epochs.push(e);
      charts.addEpoch(run.id, e);
    }
  }
  if (!run.points && Array.isArray(result.steps) && result.steps.length) {
    const pts = normalizePoints(result.steps);
    charts.appendSteps(run.id, pts);
    run.points = pts.length;
  }
  updateResultRow(run);
  scheduleProgress(run);
  selectedRunId = run.id;
  renderRunDetails();
}

const STATUS_TEXT = {
  finished: 'Finished',
  stopped: 'Stopped',
  diverged: 'Diverged',
  failed: 'Failed',
};

function finishRun(run, { status, message, testAccuracy }) {
  if (run.done) return;
  run.done = true;
  run.status = STATUS_TEXT[status] ? status : 'failed';
  run.message = message ?? '';
  if (testAccuracy !== undefined && testAccuracy !== null) run.testAccuracy = testAccuracy;
  run.paused = false;
  clearTimeout(stopWatchdog);
  charts.setRunStatus(run.id, run.status);
  if (!runs.has(run.id)) runs.set(run.id, run);
  updateResultRow(run);
  if (current === run) {
    current = null;
    lastShownRunId = run.id;
    setRunState(run.status, STATUS_TEXT[run.status]);
    if (pendingBackend) {
      send({ type: 'init', backend: pendingBackend });
      pendingBackend = null;
    }
  }
  scheduleProgress(run);
  updateButtons();
}

let stopWatchdog = 0;

function pauseOrResume() {
  if (!current || current.status !== 'running') return;
  if (current.paused) {
    send({ type: 'resume' });
  } else {
    send({ type: 'pause' });
    setRunState('pausing', 'Pausing…');
  }
}

function stopRun() {
  const run = current;
  if (!run) return;
  send({ type: 'stop' });
  setRunState('stopping', 'Stopping…');
  clearTimeout(stopWatchdog);
  // If the engine does not react (a long step on a slow device), restart it.
  stopWatchdog = setTimeout(() => {
    if (current === run && !run.done) {
      finishRun(run, { status: 'stopped', message: 'Stopped (the engine did not respond and was restarted).' });
      restartWorker('The training engine did not respond to Stop.');
    }
  }, 20000);
}

// ---------------------------------------------------------------- progress panel

let progressFrame = 0;
let progressRun = null;
let lastShownRunId = null;

let progressTimer = 0;
let progressLast = 0;

/** Renders the progress panel on an animation frame, at most ten times a second. */
function scheduleProgress(run) {
  progressRun = run;
  if (progressFrame || progressTimer) return;
  const wait = 100 - (performance.now() - progressLast);
  if (wait > 0 && !run.done) {
    progressTimer = setTimeout(() => {
      progressTimer = 0;
      scheduleProgress(progressRun);
    }, wait);
    return;
  }
  progressFrame = requestAnimationFrame(() => {
    progressFrame = 0;
    progressLast = performance.now();
    renderProgress(progressRun);
  });
}

function resetProgressPanel() {
  for (const id of ['run-step', 'run-epoch', 'run-speed', 'run-eta', 'run-lr', 'run-loss', 'run-params']) $(id).textContent = '—';
  $('run-progress').value = 0;
  $('run-message').hidden = true;
  $('test-accuracy').hidden = true;
  $('test-accuracy').textContent = '';
}

function renderProgress(run) {
  if (!run) return;
  const total = run.totalSteps;
  $('run-step').textContent = total ? `${formatCount(run.step)} / ${formatCount(total)}` : formatCount(run.step);
  const ep = run.epochsPlanned ? `${run.epoch} / ${run.epochsPlanned}` : String(run.epoch || '—');
  $('run-epoch').textContent = ep;
  $('run-speed').textContent = run.imgPerS ? `${formatSig(run.imgPerS)} img/s` : '—';
  $('run-lr').textContent = run.lr !== null && run.lr !== undefined ? formatNumber(Number(run.lr.toPrecision(4))) : '—';
  $('run-loss').textContent = run.lastLoss !== null && run.lastLoss !== undefined ? formatSig(run.lastLoss) : '—';
  $('run-params').textContent = run.params ? formatCount(run.params) : '—';
  if (!run.done && total && run.step > 0 && run.elapsed > 0) {
    const remaining = (run.elapsed * (total - run.step)) / run.step;
    $('run-eta').textContent = formatDuration(remaining);
  } else {
    $('run-eta').textContent = '—';
  }
  const bar = $('run-progress');
  if (total) {
    bar.max = total;
    bar.value = run.done && run.status === 'finished' ? total : Math.min(run.step, total);
  }
  const msg = $('run-message');
  if (run.done && run.message) {
    msg.textContent = run.message;
    msg.hidden = false;
    msg.className = `run-message ${run.status === 'finished' ? '' : 'bad'}`;
  } else if (!run.done) {
    msg.hidden = true;
  }
  const acc = $('test-accuracy');
  if (run.done && run.testAccuracy !== null && run.testAccuracy !== undefined) {
    acc.textContent = `Test accuracy: ${formatPercent(run.testAccuracy)}`;
    acc.dataset.value = String(run.testAccuracy);
    acc.classList.toggle('bad', run.status !== 'finished');
    acc.hidden = false;
  } else {
    acc.hidden = true;
  }
}

function setRunState(stateName, text) {
  document.body.dataset.runState = stateName;
  const s = $('run-status');
  s.dataset.status = stateName;
  s.textContent = text;
  updateButtons();
}

function flashStatus(text) {
  $('run-status').textContent = text;
}

function updateButtons() {
  const running = !!current;
  const train = $('train');
  train.disabled = running || !engineReady || hasErrors();
  train.title = !engineReady
    ? engineFailed ? 'The training engine is not available' : 'The training engine is starting'
    : hasErrors() ? 'Fix the highlighted settings first' : '';
  const pause = $('pause');
  pause.disabled = !running || !current || current.status !== 'running' || current.done;
  const paused = !!current?.paused;
  pause.textContent = paused ? 'Resume' : 'Pause';
  pause.setAttribute('aria-pressed', paused ? 'true' : 'false');
  $('stop').disabled = !running || current.status === 'preparing';
  $('data').disabled = running;
  $('backend').disabled = false;
  $('fs-data').classList.toggle('busy', running);
  for (const id of ['data-files', 'load-url', 'data-url']) $(id).disabled = running || !engineReady;
}

function focusFirstError() {
  for (const field of CONTROL_FIELDS) {
    if (!$(`err-${field}`)?.hidden) {
      if (ADVANCED_FIELDS.has(field)) $('advanced').open = true;
      el(field)?.focus();
      return;
    }
  }
}

// ---------------------------------------------------------------- results

function addResultRow(run) {
  const tr = document.createElement('tr');
  tr.dataset.runId = String(run.id);
  tr.setAttribute('data-testid', 'result-row');
  tr.tabIndex = 0;
  tr.addEventListener('click', (ev) => {
    if (ev.target.closest('button')) return;
    selectedRunId = run.id;
    renderRunDetails();
  });
  tr.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      selectedRunId = run.id;
      renderRunDetails();
    }
  });
  run.row = tr;
  $('results-body').prepend(tr);
  $('results-empty').hidden = true;
  updateResultRow(run);
}

function updateResultRow(run) {
  const tr = run.row;
  if (!tr) return;
  tr.replaceChildren();
  const cell = (text, cls) => {
    const td = tr.insertCell();
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  };
  const first = cell('', 'run-id');
  const swatch = document.createElement('span');
  swatch.className = 'swatch';
  swatch.style.background = run.color;
  first.append(swatch, document.createTextNode(`#${run.id}`));
  cell(run.config.model);
  cell(DATASET_NAMES[run.config.dataset] ?? run.config.dataset);
  cell(run.config.optimizer);
  cell(formatNumber(run.config.lr), 'num');
  cell(String(run.config.batch_size), 'num');
  const st = cell(run.done ? STATUS_TEXT[run.status] ?? run.status : run.paused ? 'paused' : 'running', `status status-${run.status}`);
  if (run.message) st.title = run.message;
  cell(run.testAccuracy !== null && run.testAccuracy !== undefined ? formatPercent(run.testAccuracy) : '—', 'num');
  cell(run.done && run.elapsed ? formatDuration(run.elapsed) : '—', 'num');
  cell(run.backend ? String(run.backend) : '—');
  const actions = tr.insertCell();
  if (run.result) {
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'small secondary';
    btn.textContent = 'JSON';
    btn.setAttribute('aria-label', `Download the result of run ${run.id} as JSON`);
    btn.addEventListener('click', () => downloadJson(`reslab-run-${run.id}-${run.config.model}.json`, run.result));
    actions.append(btn);
  }
  tr.classList.toggle('selected', run.id === selectedRunId);
}

function downloadJson(name, value) {
  const blob = new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

/** Per-class accuracy and confusion matrix of the selected run. */
function renderRunDetails() {
  for (const r of runs.values()) r.row?.classList.toggle('selected', r.id === selectedRunId);
  const box = $('run-details');
  const run = runs.get(selectedRunId);
  box.replaceChildren();
  const result = run?.result;
  const matrix = Array.isArray(result?.confusion_matrix) ? result.confusion_matrix : null;
  if (!run || !result || !matrix || !matrix.length) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const h = document.createElement('h3');
  h.textContent = `Run #${run.id} (${run.label}): test set`;
  box.append(h);
  const info = datasets.get(run.datasetKey);
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

// ---------------------------------------------------------------- notices

function setNotices(messages) {
  const list = $('notice-list');
  list.replaceChildren();
  if (chartsError) messages = [chartsError, ...messages];
  for (const m of messages) {
    const li = document.createElement('li');
    li.textContent = m;
    list.append(li);
  }
  $('notices').hidden = messages.length === 0;
}

function notice(message) {
  const list = $('notice-list');
  const li = document.createElement('li');
  li.textContent = message;
  list.append(li);
  while (list.children.length > 6) list.firstElementChild.remove();
  $('notices').hidden = false;
}

function setBackendLine(text, backend) {
  const p = $('backend-line');
  p.textContent = text;
  p.dataset.backend = backend ?? '';
}

// ---------------------------------------------------------------- formatting

/** Loss points as [step, loss] pairs, from [[step, loss]] or [{step, loss}]. */
function normalizePoints(points) {
  if (!Array.isArray(points)) return [];
  const out = [];
  for (const p of points) {
    if (Array.isArray(p)) out.push([p[0], p[1]]);
    else if (p && typeof p === 'object') out.push([p.step, p.loss]);
  }
  return out;
}

function num(v) {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function messageOf(err) {
  if (err instanceof Error) return err.message;
  return String(err);
}

function formatCount(n) {
  if (!Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

function formatSig(n) {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString('en-US');
  if (a !== 0 && a < 1e-3) return n.toExponential(2);
  return Number(n.toPrecision(3)).toString();
}

function formatPercent(x) {
  if (!Number.isFinite(x)) return '—';
  return `${(x * 100).toFixed(1)}%`;
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

function formatDuration(s) {
  if (!Number.isFinite(s) || s < 0) return '—';
  if (s < 1) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

// ---------------------------------------------------------------- wiring

function bindRunControls() {
  $('train').addEventListener('click', () => startRun());
  $('pause').addEventListener('click', () => pauseOrResume());
  $('stop').addEventListener('click', () => stopRun());
  $('log-scale').addEventListener('change', () => charts.setLogScale($('log-scale').checked));
  const smoothing = $('smoothing');
  smoothing.value = String(charts.smoothing);
  $('smoothing-value').textContent = charts.smoothing.toFixed(2);
  smoothing.addEventListener('input', () => {
    const w = Number(smoothing.value);
    $('smoothing-value').textContent = w.toFixed(2);
    charts.setSmoothing(w);
  });
  $('clear-runs').addEventListener('click', () => {
    charts.clear();
    // The run in progress keeps drawing into fresh series.
    if (current && runs.has(current.id)) charts.addRun({ id: current.id, label: current.label, color: current.color });
  });
  $('dismiss-notices').addEventListener('click', () => {
    $('notices').hidden = true;
    $('notice-list').replaceChildren();
  });
}

function main() {
  populateModels();
  writeControls();
  bindControls();
  bindDataLoading();
  bindRunControls();
  setNotices(initial.messages);
  updateButtons();
  setRunState('idle', 'Idle');
  scheduleValidate();
  startWorker();
}

/** Read-only view of the page for debugging and end-to-end tests. */
window.__reslab = Object.freeze({
  get state() {
    return { data: state.data, backend: state.backend, config: structuredClone(state.config) };
  },
  get backend() {
    return backendInfo ? { ...backendInfo } : null;
  },
  get engineReady() {
    return engineReady;
  },
  get running() {
    return !!current;
  },
  get datasets() {
    return Object.fromEntries([...datasets].map(([k, v]) => [k, structuredClone(v)]));
  },
  get runs() {
    return [...runs.values()].map((r) => ({
      id: r.id,
      label: r.label,
      status: r.status,
      done: r.done,
      step: r.step,
      totalSteps: r.totalSteps,
      lastLoss: r.lastLoss,
      testAccuracy: r.testAccuracy,
      message: r.message,
      epochs: r.epochs.length,
    }));
  },
  get errors() {
    return { local: Object.fromEntries(localErrors), engine: engineErrors.slice() };
  },
  chartCounts: () => charts.counts(),
});

main();
