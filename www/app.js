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
  gridFromConfigs,
  labFromQuery,
  formatNumber,
  parseField,
  queryFromState,
  runLabel,
  stateFromQuery,
  urlWithStudy,
} from './state.js';
import { claimQueue, tabChannel } from './tabs.js';
import { formatSpan, planSeconds, speedKey } from './durations.js';
import { renderDiagram } from './diagram.js';
import * as store from './store.js';
import { LabPanel, copyLink } from './lab.js';
import { settleIsolation } from './isolation.js';
import {
  boundRecord,
  configColumns,
  exportRecord,
  exportRuns,
  formatConfigValue,
  parseImport,
  referencesFor,
  runFromRecord,
  sortRuns,
  StepLog,
  toCsv,
} from './results.js';

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

// ---------------------------------------------------------------- test mode

/**
 * `?test=1` opens the page in test mode: `window.__reslab` gets the debug
 * hooks (crash the engine, lose the GPU device, inject a GPU error) and the
 * engine's worker accepts the matching test-only messages. The flag is not a
 * setting: it stays in this tab's address bar (a reload stays in test mode)
 * but never goes into a link the page hands out (study, grid and queue links).
 */
const TEST_MODE = new URLSearchParams(location.search).get('test') === '1';

/** The query the settings are read from: the page's, without the test-mode flag. */
function settingsQuery() {
  if (!TEST_MODE) return location.search;
  const params = new URLSearchParams(location.search);
  params.delete('test');
  const s = params.toString();
  return s ? `?${s}` : '';
}

// ---------------------------------------------------------------- state

const initial = stateFromQuery(settingsQuery(), { defaults: FALLBACK_CONFIG });
const initialLab = labFromQuery(location.search, location.hash);
/** What was wrong with the study a link asked for: kept among the notices until dismissed. */
const linkNotices = [...initialLab.messages];
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
/** How the page is cross-origin isolated, or why not (www/isolation.js): told to the engine, which says it with its threads. */
let pageIsolation = null;

function startWorker() {
  engineReady = false;
  try {
    // Test mode travels in the worker's URL: fixed when the worker starts, no later message can turn it on.
    worker = new Worker(new URL(TEST_MODE ? './worker.js?test=1' : './worker.js', import.meta.url), { type: 'module', name: 'reslab-engine' });
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
  const thisWorker = worker;
  worker.onerror = (ev) => {
    ev.preventDefault?.();
    // A worker already replaced (after a GPU error, say) may still report its trap: old news.
    if (thisWorker !== worker) return;
    if (!engineReady) {
      const msg = ev.message || 'the worker script could not be started';
      engineFailure(`The training engine failed to load: ${msg}`);
    } else {
      // Wasm traps arrive as 'error' messages flagged fatal; anything else is reported.
      notice(`The training engine reported an error: ${ev.message || 'unknown error'}`);
    }
  };
  worker.onmessageerror = () => notice('A message from the training engine could not be read.');
  // The device's memory (rounded, at most 8 GB as browsers report it) bounds what a run may use.
  worker.postMessage({ type: 'init', ...backendRequest(state.backend), deviceMemory: Number(navigator.deviceMemory) || null, isolation: pageIsolation });
}

/**
 * Why WebGPU is not used this session, after the GPU reported an error: the
 * same kernels would fail again on the same GPU, so fresh engines use the
 * CPU until the page is reloaded or the user picks a backend again.
 */
let gpuFault = null;

/** The backend an engine is asked for: the settings', unless the GPU failed. */
function backendRequest(backend) {
  if (gpuFault && backend !== 'cpu') return { backend: 'cpu', why: `${gpuFault} WebGPU is not used until the page is reloaded` };
  return { backend };
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
  rejectWaits(reason);
  imageCache.clear();
  for (const r of runs.values()) r.modelInWorker = false;
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
  rejectWaits(message);
  hideLoadProgress();
  if (current) finishRun(current, { status: 'failed', message });
  updateButtons();
}

/** The engine is gone: every plan expansion, speed measurement and claim check waiting on it fails with the reason. */
function rejectWaits(reason) {
  for (const waits of [expandWaits, measureWaits, resumeWaits, claimsWaits]) {
    for (const [, w] of waits) w.reject(new Error(reason));
    waits.clear();
  }
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
    case 'validation':
      settle(pending, msg.id, (w) => w.resolve(Array.isArray(msg.errors) ? msg.errors : []));
      break;
    case 'event':
      onRunEvent(msg.runId, msg.event);
      break;
    case 'result':
      onRunResult(msg.runId, msg.result);
      break;
    case 'presets':
      lab?.setPresets(msg.presets);
      openLinkedStudy();
      renderResults();
      break;
    case 'measured':
      settle(measureWaits, msg.id, (w) => w.resolve(Array.isArray(msg.results) ? msg.results : []));
      break;
    case 'expanded':
      settle(expandWaits, msg.id, (w) => w.resolve(Array.isArray(msg.runs) ? msg.runs : []));
      break;
    case 'claims':
      settle(claimsWaits, msg.id, (w) => w.resolve(Array.isArray(msg.claims) ? msg.claims : []));
      break;
    case 'model-file':
      onModelFile(msg);
      break;
    case 'checkpoint':
      onCheckpoint(msg);
      break;
    case 'model-loaded':
      onModelLoaded(msg);
      break;
    case 'evaluation':
      onEvaluation(msg);
      break;
    case 'layer-stats':
      onLayerStats(msg);
      break;
    case 'images':
      onImages(msg);
      break;
    case 'device-lost':
      // The run ends failed with its curves so far (kept); a fresh engine takes the next run.
      onGpuFailure(msg.runId, String(msg.message ?? 'The GPU device was lost.'), '');
      break;
    case 'gpu-error': {
      // As a lost device, but the fresh engine trains on the CPU (see gpuFault).
      const what = String(msg.message ?? 'The GPU reported an error.');
      gpuFault = what.replace(/\.$/, ';');
      onGpuFailure(msg.runId, what, ' Training goes on on the CPU until the page is reloaded.');
      break;
    }
    case 'error':
      onWorkerError(msg);
      break;
    default:
      break;
  }
}

/** Hands the worker's answer to the request `id` was waiting in `waits` ({resolve, reject}); false if none was. */
function settle(waits, id, answer) {
  const w = waits.get(id);
  if (!w) return false;
  waits.delete(id);
  answer(w);
  return true;
}

/** The GPU failed (`what`): names it in the run it cut short and restarts the engine. */
function onGpuFailure(runId, what, next) {
  const run = runs.get(runId);
  if (run?.done && run.status === 'failed' && !run.message.startsWith(what)) {
    // It may already have ended on the failed read-back the failure caused.
    run.message = `${what} ${run.message}`.trim();
    renderResults();
    persistRun(run);
    scheduleProgress(run);
  }
  restartWorker(`${what} The run in progress was stopped; its curves so far are kept.${next}`);
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
    case 'measure':
    case 'expand':
    case 'claims':
      settle({ measure: measureWaits, expand: expandWaits, claims: claimsWaits }[msg.context], msg.id, (w) => w.reject(new Error(message)));
      break;
    case 'save-model':
      notice(`The model of run #${msg.runId} could not be saved: ${message}`);
      break;
    case 'checkpoint':
      console.warn(`ResLab: no checkpoint for run #${msg.runId}: ${message}`);
      break;
    case 'load-model': {
      const resume = resumeWaits.get(msg.key);
      if (resume) {
        // A checkpoint that does not load: the resume says so instead of waiting for ever.
        resumeWaits.delete(msg.key);
        resume.reject(new Error(message));
        break;
      }
      const box = $('loaded-model');
      box.hidden = false;
      box.className = 'loaded-model error';
      box.setAttribute('data-testid', 'loaded-model');
      box.textContent = `The model file could not be loaded: ${message}`;
      break;
    }
    case 'evaluate':
      notice(`The loaded model could not be evaluated: ${message}`);
      break;
    case 'layer-stats':
      $('fig7-status').textContent = `Layer responses of run #${msg.runId} could not be measured: ${message}`;
      break;
    case 'images':
      imageCache.delete(msg.datasetKey);
      break;
    case 'presets':
      notice(`The studies could not be loaded: ${message}`);
      break;
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
    const { state: next, messages } = stateFromQuery(settingsQuery(), { defaults, modelIds });
    next.userKind = state.userKind;
    if (state.data === 'user') next.data = 'user';
    next.syncDatasetKind();
    state = next;
    if (!readyBefore) setNotices([...messages, ...linkNotices]);
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
  send({ type: 'presets' });
  // Checks that failed with the engine before it (re)started are asked again once the presets arrive.
  for (const [id, c] of claimChecks) if (c.error) claimChecks.delete(id);
  // Fetch the chosen built-in sample in the background so Train starts at once.
  if (SAMPLE_KIND[state.data]) ensureDataset(state.data).catch(() => {});
  pumpQueue();
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
  let q = queryFromState(state);
  // A tab opened in test mode stays in it across reloads (links handed out never carry the flag).
  if (TEST_MODE) q = `${q ? `${q}&` : '?'}test=1`;
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
    // A backend picked after a GPU error is the user's call: WebGPU may be tried again.
    gpuFault = null;
    if (engineReady && !current) {
      setBackendLine('Backend: switching…', '');
      send({ type: 'init', ...backendRequest(v) });
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

/** The engine's problems with `config`; with a loaded dataset's key, also against that dataset's sizes. */
function requestValidation(config, datasetKey = state.datasetKey) {
  const id = `v${++requestSeq}`;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    if (!send({ type: 'validate', id, config, datasetKey: datasets.has(datasetKey) ? datasetKey : undefined })) {
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
    scheduleDescribe();
  }
  // The sizes can be checked now (e.g. a validation split as large as the training set).
  if (key === state.datasetKey) scheduleValidate();
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
    // Plain http only from this site or this machine (loopback counts as a
    // secure origin in browsers): anything else could be altered in transit.
    const loopback = parsed.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
    if (parsed.protocol !== 'https:' && parsed.origin !== location.origin && !loopback) {
      showDataError(`${u}: only https URLs, files on this site or http on this machine (localhost) can be loaded`);
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

/** The Train button: queue the current settings as one run. */
function startRun() {
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
  if (refuseReadOnly('Training')) return;
  const config = state.configForEngine();
  const twin = pendingTwin(config, key, pendingInitModel);
  if (twin) {
    // Twenty quick clicks on Train must not queue twenty copies; a repeat on purpose is still one answer away.
    const again = confirm(`An identical run (${twin.label}) is already ${twin.where}. Queue it again anyway?\n\n` +
      'To repeat a run on purpose, another seed makes it a run of its own.');
    if (!again) {
      trainNote(`Already ${twin.where}: ${twin.label} with exactly these settings; not queued again.`);
      return;
    }
  }
  queueRuns([{ config, label: runLabel(config), datasetKey: key, initModel: pendingInitModel }]);
  trainNote('');
  pendingInitModel = null;
  renderLoadedModel();
}

/** A run with exactly these settings that is training or waiting: {label, where}, or null. */
function pendingTwin(config, datasetKey, initModel) {
  const same = (item) => item.datasetKey === datasetKeyFor(config, datasetKey) && (item.initModel ?? null) === (initModel ?? null) &&
    canonicalJson(item.config) === canonicalJson(config);
  if (current && !current.done && same(current)) return { label: current.label, where: 'training' };
  const queued = queue.find(same);
  return queued ? { label: queued.label, where: 'queued' } : null;
}

/** JSON with sorted keys, so two configs compare equal whatever order their keys were set in. */
function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The line under the Train button: why a press did nothing, or empty. */
function trainNote(text) {
  const p = $('train-note');
  p.textContent = text;
  p.hidden = !text;
}

// ---------------------------------------------------------------- tabs

/**
 * This tab's part (see tabs.js): 'owner' trains the queue; a 'follower' shows
 * the owner's queue and results read-only until it takes over; 'alone' where
 * the browser cannot elect one tab.
 */
let tabRole = 'pending';
const tabs = tabChannel();
/** The owner's queue as a follower sees it: [{label, group}]. */
let followerQueue = [];
let nowTimer = 0;
/** Whether the part came from a Web Lock (else from asking the other tabs). */
let lockedRoles = true;
let heardOwner = false;

function readOnly() {
  return tabRole === 'follower' || tabRole === 'pending';
}

/** Whether this tab trains the queue ('alone': no other tab answered and the browser cannot lock). */
function owns() {
  return tabRole === 'owner' || tabRole === 'alone';
}

/** In a read-only tab: says why `what` does nothing here, and returns true. */
function refuseReadOnly(what) {
  if (!readOnly()) return false;
  const text = `${what} happens in the other ResLab tab, which owns the queue; this tab is read-only until that tab closes.`;
  trainNote(text);
  notice(text);
  return true;
}

/** Owner → other tabs: the queue as it now is. */
function announceQueue() {
  if (!owns()) return;
  tabs.post({ type: 'queue', items: queue.map((q) => ({ label: q.label, group: q.group?.name ?? null })), held: queueHeld });
}

/** Owner → other tabs: one line on the run in progress, at most once a second. */
function announceNow() {
  if (!owns() || nowTimer) return;
  nowTimer = setTimeout(() => {
    nowTimer = 0;
    if (!owns()) return;
    const run = current;
    let text = 'Nothing is training.';
    if (run && !run.done) {
      const steps = run.totalSteps ? `step ${formatCount(run.step)} of ${formatCount(run.totalSteps)}` : `step ${formatCount(run.step)}`;
      text = `Training now: #${run.id} ${run.label}, ${run.status === 'preparing' ? 'preparing' : steps}.`;
    }
    tabs.post({ type: 'now', text });
  }, 1000);
}

function onTabMessage(msg) {
  if (owns()) {
    // A tab that just opened asks what it should show (and, without Web Locks, whether it may train).
    if (msg.type === 'hello') {
      tabs.post({ type: 'here' });
      announceQueue();
      announceNow();
    }
    return;
  }
  if (msg.type === 'here') heardOwner = true;
  if (tabRole !== 'follower') return;
  switch (msg.type) {
    case 'bye':
      // Without Web Locks the owner says when it goes; with them the lock is handed over instead.
      if (!lockedRoles) takeOver().catch((err) => notice(`Taking over the queue failed: ${messageOf(err)}`));
      break;
    case 'queue':
      followerQueue = Array.isArray(msg.items) ? msg.items.map((q) => ({ label: String(q?.label ?? ''), group: q?.group ? String(q.group) : null })) : [];
      renderQueue();
      break;
    case 'now':
      $('other-tab-now').textContent = String(msg.text ?? '');
      break;
    case 'run-saved':
      if (Number.isSafeInteger(msg.id)) {
        store.getRun(msg.id).then((rec) => {
          const run = rec && runFromStored(rec);
          if (!run || !readOnly()) return;
          upsertRun(run);
          renderResults();
          renderFig7();
        });
      }
      break;
    case 'runs-deleted':
      for (const id of Array.isArray(msg.ids) ? msg.ids : []) {
        if (!runs.has(id)) continue;
        runs.delete(id);
        charts.removeRun?.(id);
      }
      renderResults();
      break;
    default:
      break;
  }
}

/** Decides this tab's part before anything is read from storage. */
async function settleTabRole() {
  tabs.onMessage(onTabMessage);
  const role = await claimQueue({ onTakeOver: () => takeOver().catch((err) => notice(`Taking over the queue failed: ${messageOf(err)}`)) });
  lockedRoles = role !== 'alone';
  if (role === 'alone') {
    // No Web Locks (a page not served over HTTPS or from localhost): ask the other tabs instead,
    // staying 'pending' (neither answering nor training) until they had time to say they own it.
    // A tab that crashes cannot say goodbye; then a reload of this one is needed.
    tabs.post({ type: 'hello' });
    await new Promise((r) => setTimeout(r, 400));
    tabRole = heardOwner ? 'follower' : 'alone';
  } else {
    tabRole = role;
  }
  if (owns()) addEventListener('pagehide', () => tabs.post({ type: 'bye' }));
  if (tabRole === 'follower') {
    $('other-tab-text').textContent = 'Training happens in another ResLab tab: this tab shows its queue and results read-only. ' +
      'It takes over when that tab closes.';
    $('other-tab').hidden = false;
    tabs.post({ type: 'hello' });
  }
  updateButtons();
}

/** The tab that owned the queue closed: this one picks up its queue and runs. */
async function takeOver() {
  tabRole = lockedRoles ? 'owner' : 'alone';
  addEventListener('pagehide', () => tabs.post({ type: 'bye' }));
  followerQueue = [];
  $('other-tab').hidden = true;
  $('other-tab-now').textContent = '';
  trainNote('');
  await restoreRuns('when the tab training it closed');
  notice('The tab that was training has closed: this tab now owns the queue.');
  renderQueue();
  lab?.refreshButtons?.();
  updateButtons();
}

// ---------------------------------------------------------------- durations

/** Seconds per training step by speedKey(config, backend): measured before a study, or a run's own once it trains. */
const speeds = new Map();
/** Measurements under way, by speed key, so a plan shown twice does not time its nets twice. */
const measuring = new Map();
const measureWaits = new Map();
let measureSeq = 0;
/** The most nets one plan has measured before it is shown: the others are said to be not yet timed. */
const MEASURE_NETS = 6;

function requestMeasure(configs) {
  const id = `m${++measureSeq}`;
  return new Promise((resolve, reject) => {
    measureWaits.set(id, { resolve, reject });
    if (!send({ type: 'measure', id, configs })) {
      measureWaits.delete(id);
      reject(new Error('the training engine is not running'));
    }
  });
}

/** {train, test} image counts of the dataset a config trains on, once it is loaded. */
function countsFor(config) {
  const info = datasets.get(datasetKeyFor(config));
  return info && Number.isFinite(info.train) && Number.isFinite(info.test) ? { train: info.train, test: info.test } : null;
}

/**
 * How long `configs` take on this machine, {text, seconds}: the nets not yet
 * timed on this backend are measured first (a few steps each), the datasets
 * they train on are loaded to count their images.
 */
async function describeDuration(configs, progress) {
  const backend = backendInfo?.backend;
  if (!engineReady || !backend) return '';
  for (const key of new Set(configs.map((c) => datasetKeyFor(c)))) {
    if (key !== 'user' && !datasets.has(key)) await ensureDataset(key).catch(() => {});
  }
  // One measurement per net (at the first batch size it is planned with), at most MEASURE_NETS of
  // them: a big grid must not hold the engine for minutes. A read-only tab measures nothing: its
  // cores are training in the other tab.
  const todo = new Map();
  const nets = new Set();
  for (const c of configs) {
    const k = speedKey(c, backend);
    const net = netOf(k);
    if (readOnly() || speedOf(c, backend) !== undefined || measuring.has(k) || nets.has(net) || nets.size >= MEASURE_NETS) continue;
    nets.add(net);
    todo.set(k, c);
  }
  if (todo.size) {
    const nets = [...new Set([...todo.values()].map((c) => c.model))].join(', ');
    progress(`Measuring this machine's speed on ${nets}${current && !current.done ? ' (once the current run ends)' : ''}…`);
    const keys = [...todo.keys()];
    const job = requestMeasure([...todo.values()]).then((results) => {
      results.forEach((r, i) => {
        if (Number.isFinite(r?.seconds_per_step) && r.seconds_per_step > 0) speeds.set(keys[i], r.seconds_per_step);
      });
    });
    for (const k of keys) measuring.set(k, job);
    try {
      await job;
    } finally {
      for (const k of keys) measuring.delete(k);
    }
  }
  await Promise.all(configs.map((c) => measuring.get(speedKey(c, backend))).filter(Boolean));
  const { seconds, atMost, unknown } = planSeconds(configs, (c) => speedOf(c, backend), countsFor);
  const where = backend === 'cpu'
    ? `on the CPU backend${backendInfo?.threads ? ` with ${backendInfo.threads} thread${backendInfo.threads === 1 ? '' : 's'}` : ''}`
    : 'on WebGPU';
  const perNet = new Map();
  const manyDatasets = new Set(configs.map((c) => c.dataset)).size > 1;
  for (const [k, s] of speeds) {
    const [, dataset, model] = k.split('|');
    if (configs.some((c) => speedKey(c, backend) === k)) perNet.set(`${model}${manyDatasets ? ` on ${dataset}` : ''} at batch ${k.split('|').pop()}`, s);
  }
  const measured = [...perNet].map(([what, s]) => `${what} ${formatSig(s)} s a step`).join(', ');
  if (unknown === configs.length) {
    return readOnly()
      ? ''
      : 'How long these runs take here is not known yet: load their dataset first.';
  }
  const text = `${atMost ? 'At most' : 'About'} ${formatSpan(seconds)} here, ${where}` +
    (measured ? ` (measured on this machine: ${measured})` : '') +
    (unknown ? `, plus ${unknown} run${unknown === 1 ? '' : 's'} whose dataset is not loaded yet` : '') + '.';
  return { text, seconds };
}

/** A speed key without its batch size: the net on its input, on a backend. */
function netOf(key) {
  return key.slice(0, key.lastIndexOf('|'));
}

/**
 * Seconds per step of `config` here: measured (or seen) at its batch size, else
 * scaled from the same net at another batch size (a step's work grows about
 * linearly with the batch); undefined when the net has not been timed.
 */
function speedOf(config, backend) {
  const key = speedKey(config, backend);
  if (speeds.has(key)) return speeds.get(key);
  const net = netOf(key);
  for (const [k, s] of speeds) {
    if (netOf(k) === net) return (s * config.batch_size) / Number(k.slice(k.lastIndexOf('|') + 1));
  }
  return undefined;
}

/** " · whole queue 12 min" after the current run's ETA: the queued runs at their measured speeds. */
function queueEtaSuffix(remaining) {
  if (!queue.length || !backendInfo?.backend) return '';
  const { seconds, unknown } = planSeconds(queue.map((q) => q.config), (c) => speedOf(c, backendInfo.backend), countsFor);
  const tail = unknown ? ` + ${unknown} run${unknown === 1 ? '' : 's'} not yet timed` : '';
  return ` · whole queue ${formatSpan(remaining + seconds)}${tail}`;
}

// ---------------------------------------------------------------- queue

/** Runs waiting their turn: {qid, config, label, datasetKey, group?, initModel?}. */
let queue = [];
let queueSeq = 0;
/** After a reload the restored queue waits for the user's go. */
let queueHeld = false;
/** A loaded model the next Train continues from (its key in the worker). */
let pendingInitModel = null;

/** The dataset slot a config trains on: the user's files if they are of its kind, else the built-in sample. */
function datasetKeyFor(config, preferred) {
  if (preferred === 'user' && state.userKind === config.dataset) return 'user';
  if (preferred && SAMPLE_KIND[preferred] === config.dataset) return preferred;
  if (state.data === 'user' && state.userKind === config.dataset && datasets.has('user')) return 'user';
  return Object.keys(SAMPLE_KIND).find((k) => SAMPLE_KIND[k] === config.dataset) ?? 'user';
}

function queueRuns(items, { hold = false } = {}) {
  if (refuseReadOnly('Queueing runs')) return;
  for (const item of items) {
    queue.push({
      qid: ++queueSeq,
      config: structuredClone(item.config),
      label: String(item.label ?? runLabel(item.config)),
      datasetKey: datasetKeyFor(item.config, item.datasetKey),
      group: item.group ?? null,
      initModel: item.initModel ?? null,
    });
  }
  // A queue held after a reload or a take-over stays held until "Run queue": new runs wait behind it.
  queueHeld = queueHeld || hold;
  if (queueHeld && !hold) trainNote(`Queued behind runs waiting from before: press “Run queue” to start.`);
  saveQueue();
  renderQueue();
  pumpQueue();
}

function saveQueue() {
  if (readOnly()) return;
  store.setMeta('queue', queue.map(({ qid, ...rest }) => structuredClone(rest)));
  announceQueue();
}

function cancelQueued(qid) {
  queue = queue.filter((q) => q.qid !== qid);
  saveQueue();
  renderQueue();
}

function clearQueue() {
  queue = [];
  queueHeld = false;
  saveQueue();
  renderQueue();
}

/** Starts the next queued run when the engine is free. */
function pumpQueue() {
  if (current || queueHeld || !engineReady || !queue.length || readOnly()) {
    updateButtons();
    return;
  }
  const item = queue.shift();
  saveQueue();
  renderQueue();
  startQueued(item);
}

function newRun(item) {
  const config = item.config;
  const id = ++runSeq;
  return {
    id,
    config,
    label: item.label,
    color: colorFor(id - 1),
    datasetKey: item.datasetKey,
    dataLabel: SAMPLE_LABELS[item.datasetKey] ?? item.datasetKey,
    group: item.group ?? null,
    initModel: item.initModel ?? null,
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
    steps: new StepLog(),
    result: null,
    message: '',
    testAccuracy: null,
    bestVal: null,
    finalVal: null,
    backend: backendInfo?.backend ?? null,
    createdAt: Date.now(),
    modelInWorker: false,
    layerStd: null,
  };
}

async function startQueued(item) {
  const run = newRun(item);
  const key = run.datasetKey;
  current = run;
  // Stored before the first wait: if this tab closes now, the tab that takes over sees it (as interrupted).
  persistRun(run);
  setRunState('preparing', `Preparing ${run.label}…`);
  resetProgressPanel();
  updateButtons();
  let errors = [];
  try {
    await ensureDataset(key);
    errors = await requestValidation(run.config, key);
  } catch (err) {
    errors = [{ field: 'dataset', message: messageOf(err) }];
  }
  if (current !== run) return;
  runs.set(run.id, run);
  charts.addRun({ id: run.id, label: run.label, color: run.color });
  if (errors.length) {
    // The run is kept, marked failed with the reason; the queue goes on.
    const message = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    finishRun(run, { status: 'failed', message: `Not started: ${message}` });
    return;
  }
  charts.setRunStatus(run.id, 'starting');
  run.status = 'running';
  renderResults();
  persistRun(run);
  setRunState('running', 'Starting…');
  send({ type: 'train', runId: run.id, config: run.config, datasetKey: key, initModel: run.initModel });
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
      for (const [step, loss] of pts) run.steps.push(step, loss);
      run.points = (run.points ?? 0) + pts.length;
      const last = pts[pts.length - 1];
      if (Array.isArray(last)) {
        run.step = num(last[0]) ?? run.step;
        run.lastLoss = num(last[1]);
      }
      run.epoch = num(event.epoch) ?? run.epoch;
      run.imgPerS = num(event.img_per_s) ?? run.imgPerS;
      run.elapsed = num(event.elapsed) ?? run.elapsed;
      // A run's own speed is the best measure for the runs like it still to come.
      if (run.imgPerS > 0 && run.step >= 10 && run.backend) {
        speeds.set(speedKey(run.config, run.backend), run.config.batch_size / run.imgPerS);
      }
      run.lr = num(event.lr) ?? run.lr;
      if (event.memory && typeof event.memory === 'object') {
        // The page's own JS heap beside it (Chromium only).
        run.memory = { wasm: num(event.memory.wasm), js: num(performance.memory?.usedJSHeapSize) };
        // A bounded history (for the soak test and the docs' memory figures).
        run.memoryLog ??= [];
        if (run.memoryLog.length < 1000) run.memoryLog.push([run.step, run.memory.wasm, run.memory.js]);
      }
      break;
    }
    case 'epoch': {
      const { type, ...rec } = event;
      run.epochs.push(rec);
      run.epoch = num(event.epoch) ?? run.epoch;
      run.elapsed = num(event.elapsed) ?? run.elapsed;
      charts.addEpoch(run.id, event);
      updateValAccuracy(run);
      renderResults();
      persistRun(run); // curves so far survive a reload
      requestCheckpoint(run, num(event.epoch), run.step);
      break;
    }
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
  } else {
    if (num(result.test_accuracy) !== null) run.testAccuracy = num(result.test_accuracy);
    // The result's message is the final word (e.g. a lost GPU named after the fact).
    if (typeof result.message === 'string' && result.message) run.message = result.message;
  }
  if (result.backend) run.backend = String(result.backend);
  if (num(result.wall_seconds) !== null) run.elapsed = num(result.wall_seconds);
  if (num(result.img_per_s) !== null) run.imgPerS = num(result.img_per_s);
  if (num(result.params) !== null) run.params = num(result.params);
  // The engine keeps the trained model of its last runs (save / Fig. 7).
  run.modelInWorker = Number(result.steps_done) > 0;
  // Curves the live events may have missed (e.g. a very short run).
  if (run.epochs.length === 0 && Array.isArray(result.epochs)) {
    for (const e of result.epochs) {
      run.epochs.push(e);
      charts.addEpoch(run.id, e);
    }
  }
  if (!run.steps.length && Array.isArray(result.steps) && result.steps.length) {
    run.steps = new StepLog(result.steps);
    charts.appendSteps(run.id, run.steps.toPairs());
  }
  delete result.steps; // the run's StepLog holds them
  updateValAccuracy(run);
  renderResults();
  persistRun(run);
  scheduleProgress(run);
  selectedRunId = run.id;
  renderRunDetails();
}

function updateValAccuracy(run) {
  const vals = run.epochs.map((e) => num(e.val_accuracy)).filter((v) => v !== null);
  run.bestVal = vals.length ? Math.max(...vals) : null;
  run.finalVal = vals.length ? vals[vals.length - 1] : null;
}

const STATUS_TEXT = {
  finished: 'Finished',
  stopped: 'Stopped',
  diverged: 'Diverged',
  failed: 'Failed',
  interrupted: 'Interrupted',
  evaluated: 'Evaluated',
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
  if (run.checkpoint) {
    run.checkpoint = null;
    store.deleteCheckpoint(run.id);
  }
  renderResults();
  persistRun(run);
  if (current === run) {
    current = null;
    lastShownRunId = run.id;
    setRunState(run.status, STATUS_TEXT[run.status]);
    if (pendingBackend) {
      send({ type: 'init', ...backendRequest(pendingBackend) });
      pendingBackend = null;
    }
  }
  scheduleProgress(run);
  updateButtons();
  // The next queued run starts once this one's result has been delivered.
  setTimeout(pumpQueue, 0);
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

/** Renders the progress panel on an animation frame, at most twice a second. */
function scheduleProgress(run) {
  progressRun = run;
  announceNow();
  if (progressFrame || progressTimer) return;
  // Twice a second: readable, and few distinct strings for the browser to lay out.
  const wait = 500 - (performance.now() - progressLast);
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
  for (const id of ['run-step', 'run-epoch', 'run-speed', 'run-eta', 'run-lr', 'run-loss', 'run-params', 'run-memory']) $(id).textContent = '—';
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
  $('run-memory').textContent = Number.isFinite(run.memory?.wasm) ? formatBytes(run.memory.wasm) : '—';
  if (!run.done && total && run.step > 0 && run.elapsed > 0) {
    const remaining = (run.elapsed * (total - run.step)) / run.step;
    $('run-eta').textContent = formatDuration(remaining) + queueEtaSuffix(remaining);
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
  train.disabled = !engineReady || hasErrors() || readOnly();
  // While a run trains, Train queues the current settings behind it.
  train.textContent = running || queue.length ? 'Add to queue' : 'Train';
  train.title = readOnly()
    ? 'Training happens in the other ResLab tab'
    : !engineReady
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
  for (const id of ['import-runs', 'clear-results', 'queue-clear', 'queue-resume']) $(id).disabled = readOnly();
  lab?.refreshButtons?.();
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

let sortCol = 'id';
let sortDir = 'desc';
let resultsFrame = 0;

/** Redraws the results table on the next frame (cheap to call often). */
function renderResults() {
  if (resultsFrame) return;
  resultsFrame = requestAnimationFrame(() => {
    resultsFrame = 0;
    drawResults();
    renderStudyTables();
  });
}

const RESULT_COLUMNS = [
  { id: 'status', label: 'Status' },
  { id: 'best_val', label: 'Best val.', num: true },
  { id: 'final_val', label: 'Final val.', num: true },
  { id: 'test', label: 'Test acc.', num: true },
  { id: 'reference', label: 'Paper', num: true, sortable: false },
  { id: 'time', label: 'Time', num: true },
  { id: 'speed', label: 'img/s', num: true },
  { id: 'backend', label: 'Backend' },
];

function drawResults() {
  const list = [...runs.values()];
  $('results-empty').hidden = list.length > 0;
  $('results-tools').hidden = list.length === 0;
  const fields = configColumns(list);
  const hasRefs = list.some((r) => referencesFor(presetById(r.group?.id), r.config).length);
  const cols = [
    { id: 'id', label: 'Run' },
    { id: 'label', label: 'Label' },
    ...fields.map((f) => ({ id: `cfg:${f}`, label: FIELDS[f]?.label ?? f, num: typeof list[0]?.config?.[f] === 'number' })),
    ...RESULT_COLUMNS.filter((c) => c.id !== 'reference' || hasRefs),
    { id: 'actions', label: '', sortable: false },
  ];
  const head = $('results-head');
  head.replaceChildren();
  const hr = head.insertRow();
  for (const c of cols) {
    const th = document.createElement('th');
    th.scope = 'col';
    if (c.num) th.className = 'num';
    if (c.sortable === false || c.id === 'actions') {
      th.textContent = c.label;
      if (c.id === 'actions') {
        const span = document.createElement('span');
        span.className = 'visually-hidden';
        span.textContent = 'Actions';
        th.append(span);
      }
    } else {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'sort';
      b.textContent = c.label + (sortCol === c.id ? (sortDir === 'asc' ? ' ▲' : ' ▼') : '');
      th.setAttribute('aria-sort', sortCol === c.id ? (sortDir === 'asc' ? 'ascending' : 'descending') : 'none');
      b.addEventListener('click', () => {
        if (sortCol === c.id) sortDir = sortDir === 'asc' ? 'desc' : 'asc';
        else {
          sortCol = c.id;
          sortDir = c.num || c.id === 'id' ? 'desc' : 'asc';
        }
        drawResults();
      });
      th.append(b);
    }
    hr.append(th);
  }
  const body = $('results-body');
  body.replaceChildren();
  for (const run of sortRuns(list, sortCol, sortDir)) {
    const tr = body.insertRow();
    tr.dataset.runId = String(run.id);
    tr.dataset.status = run.status;
    tr.setAttribute('data-testid', 'result-row');
    tr.tabIndex = 0;
    tr.classList.toggle('selected', run.id === selectedRunId);
    tr.addEventListener('click', (ev) => {
      if (ev.target.closest('button, a, input')) return;
      selectRun(run.id);
    });
    tr.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && ev.target === tr) selectRun(run.id);
    });
    for (const c of cols) {
      const td = tr.insertCell();
      if (c.num) td.className = 'num';
      fillResultCell(td, c.id, run);
    }
  }
}

function fillResultCell(td, col, run) {
  const pct = (v) => (v !== null && v !== undefined && Number.isFinite(v) ? formatPercent(v) : '—');
  switch (col) {
    case 'id': {
      td.className = 'run-id';
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = run.color;
      td.append(swatch, document.createTextNode(`#${run.id}`));
      break;
    }
    case 'label':
      td.textContent = run.label;
      if (run.group?.name) td.title = `${run.group.name}`;
      break;
    case 'status': {
      const text = run.done ? STATUS_TEXT[run.status] ?? run.status : run.paused ? 'Paused' : run.status === 'preparing' ? 'Preparing' : 'Running';
      td.textContent = text;
      td.className = `status status-${run.status}`;
      td.setAttribute('data-testid', 'result-status');
      if (run.message) td.title = run.message;
      break;
    }
    case 'best_val': td.textContent = pct(run.bestVal); break;
    case 'final_val': td.textContent = pct(run.finalVal); break;
    case 'test':
      td.textContent = pct(run.testAccuracy);
      td.setAttribute('data-testid', 'result-test');
      break;
    case 'reference': {
      const refs = referencesFor(presetById(run.group?.id), run.config);
      const withNumber = refs.find((r) => Number.isFinite(r.test_error));
      if (withNumber) {
        td.textContent = formatPercent(1 - withNumber.test_error / 100);
        td.title = `${withNumber.label}: ${withNumber.test_error}% test error${withNumber.note ? ` (${withNumber.note})` : ''}`;
      } else {
        td.textContent = refs.length ? 'see note' : '';
        if (refs.length) td.title = refs.map((r) => `${r.label}: ${r.note ?? ''}`).join('\n');
      }
      break;
    }
    case 'time': td.textContent = run.elapsed ? formatDuration(run.elapsed) : '—'; break;
    case 'speed': td.textContent = run.imgPerS ? formatSig(run.imgPerS) : '—'; break;
    case 'backend': td.textContent = run.backend ? String(run.backend) : '—'; break;
    case 'actions': {
      const btn = (text, label, fn) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'small secondary';
        b.textContent = text;
        b.setAttribute('aria-label', label);
        b.addEventListener('click', fn);
        td.append(b);
        return b;
      };
      if (run.done) {
        btn('JSON', `Download the result of run ${run.id} as JSON`, () =>
          downloadJson(`reslab-run-${run.id}-${slug(run.label)}.json`, exportRecord(run)));
      }
      if (run.modelInWorker) {
        btn('Model', `Download the trained model of run ${run.id}`, () => saveModel(run)).setAttribute('data-testid', 'save-model');
      }
      if (run.status === 'interrupted' && run.checkpoint) {
        btn('Resume', `Resume run ${run.id} from its checkpoint at epoch ${run.checkpoint.epoch}`, () => resumeRun(run))
          .setAttribute('data-testid', 'resume');
      }
      if (run.done) {
        btn('✕', `Delete run ${run.id}`, () => deleteRunAsked(run)).classList.add('danger-text');
      }
      break;
    }
    default: {
      if (col.startsWith('cfg:')) {
        const f = col.slice(4);
        td.textContent = f === 'dataset' ? DATASET_NAMES[run.config?.dataset] ?? String(run.config?.dataset) : formatConfigValue(f, run.config?.[f]);
      }
    }
  }
}

function slug(text) {
  return String(text ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'run';
}

function selectRun(id) {
  selectedRunId = id;
  for (const tr of $('results-body').rows) tr.classList.toggle('selected', Number(tr.dataset.runId) === id);
  renderRunDetails();
}

function deleteRunAsked(run) {
  if (refuseReadOnly('Deleting runs')) return;
  if (!confirm(`Delete run #${run.id} (${run.label})? Its curves and results will be gone; export it first to keep a copy.`)) return;
  runs.delete(run.id);
  store.deleteRun(run.id);
  store.deleteCheckpoint(run.id);
  tabs.post({ type: 'runs-deleted', ids: [run.id] });
  charts.removeRun?.(run.id);
  if (selectedRunId === run.id) selectedRunId = null;
  renderResults();
  renderRunDetails();
  renderFig7();
}

function downloadBlob(name, blob) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function downloadJson(name, value) {
  downloadBlob(name, new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }));
}

// ---------------------------------------------------------------- keeping runs

/** Saves a run's record (config, curves, results) in IndexedDB. */
function persistRun(run) {
  if (readOnly()) return;
  const rec = {
    id: run.id,
    color: run.color,
    datasetKey: run.datasetKey,
    createdAt: run.createdAt,
    checkpoint: run.checkpoint ?? null,
    // The same limits as an import: a label from a shared link cannot grow the store without bound.
    record: boundRecord(exportRecord(run)).record,
  };
  store.putRun(rec).then(() => {
    tabs.post({ type: 'run-saved', id: run.id });
    const problem = store.storageProblem();
    if (problem && !storageWarned) {
      storageWarned = true;
      notice(problem);
    }
  });
}
let storageWarned = false;

/**
 * Brings back the runs of earlier visits (and, in a tab that takes over the
 * queue, those the other tab kept). In the tab that owns the queue a run cut
 * off by a reload or by its tab closing is marked interrupted and the stored
 * queue waits for the user's go; a read-only tab shows both as they are.
 */
async function restoreRuns(cause = 'by a page reload') {
  const stored = await store.allRuns();
  for (const rec of stored) {
    const run = runFromStored(rec);
    if (!run) continue;
    if (!readOnly() && (run.status === 'running' || run.status === 'preparing') && !(current && current.id === run.id)) {
      run.status = 'interrupted';
      run.message = `Interrupted ${cause} after step ${run.step || 0}.` +
        (run.checkpoint ? ` It can be resumed from its checkpoint at epoch ${run.checkpoint.epoch}.` : '');
      persistRun(run);
    } else if (!readOnly() && run.cutOnLoad) {
      persistRun(run); // stored again, cut to size
    }
    if (!(current && current.id === run.id)) upsertRun(run);
  }
  const saved = await store.getMeta('queue');
  const items = Array.isArray(saved) ? saved.filter((q) => q && typeof q === 'object' && q.config && typeof q.config === 'object') : [];
  if (readOnly()) {
    followerQueue = items.map((q) => ({ label: String(q.label ?? runLabel(q.config)), group: q.group?.name ?? null }));
    renderQueue();
  } else if (items.length && !queue.length) {
    queueRuns(items, { hold: true });
    notice(`${items.length} queued run${items.length === 1 ? '' : 's'} ${items.length === 1 ? 'is' : 'are'} waiting from before: press “Run queue” to go on.`);
  }
  if (stored.length) renderResults();
  if (store.storageProblem()) notice(store.storageProblem());
}

/** The page's run for a stored record, or null for a record that is not one. */
function runFromStored(rec) {
  if (!rec || !Number.isSafeInteger(rec.id) || !rec.record?.config) return null;
  // Records stored before the import limits existed are cut to them on the way in.
  const { record, notes } = boundRecord(rec.record);
  if (notes.length) console.warn(`ResLab: run #${rec.id}: ${notes.join('; ')}`);
  const run = runFromRecord(record, { id: rec.id, color: rec.color ?? colorFor(rec.id - 1), datasetKey: rec.datasetKey ?? null, createdAt: rec.createdAt });
  if (rec.checkpoint && Number.isFinite(rec.checkpoint.epoch)) run.checkpoint = rec.checkpoint;
  run.cutOnLoad = notes.length > 0;
  return run;
}

/** Adds a run, or replaces the one with its id (charts included). */
function upsertRun(run) {
  if (runs.has(run.id)) charts.removeRun?.(run.id);
  addRestoredRun(run);
}

function addRestoredRun(run) {
  runSeq = Math.max(runSeq, run.id);
  runs.set(run.id, run);
  charts.addRun({ id: run.id, label: run.label, color: run.color });
  if (run.steps.length) charts.appendSteps(run.id, run.steps.toPairs());
  for (const e of run.epochs) charts.addEpoch(run.id, e);
  charts.setRunStatus(run.id, run.status);
}

async function importRunsFromFile(file) {
  if (refuseReadOnly('Importing runs')) return;
  const box = $('import-status');
  box.hidden = false;
  box.className = 'hint';
  if (file.size > 200 * 1024 * 1024) {
    box.className = 'error';
    box.textContent = `${file.name}: ${formatBytes(file.size)} is too large to import (at most 200 MB).`;
    return;
  }
  let text;
  try {
    text = await file.text();
  } catch (err) {
    box.className = 'error';
    box.textContent = `${file.name}: could not be read (${messageOf(err)}).`;
    return;
  }
  const { records, errors, notes } = parseImport(text, { modelIds });
  // The engine has the last word on every config.
  const accepted = [];
  for (const [i, rec] of records.entries()) {
    let problems = [];
    if (engineReady) {
      try {
        problems = await requestValidation(rec.config, null);
      } catch (err) {
        problems = [{ field: 'config', message: messageOf(err) }];
      }
    }
    if (problems.length) errors.push(`${rec.label ?? `run ${i + 1}`}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    else accepted.push(rec);
  }
  for (const rec of accepted) {
    const id = ++runSeq;
    const run = runFromRecord(rec, { id, color: colorFor(id - 1) });
    addRestoredRun(run);
    persistRun(run);
  }
  renderResults();
  renderFig7();
  const parts = [`${file.name}: imported ${accepted.length} run${accepted.length === 1 ? '' : 's'}`];
  if (errors.length) parts.push(`${errors.length} skipped — ${errors.slice(0, 5).join(' · ')}${errors.length > 5 ? ' …' : ''}`);
  if (notes?.length) parts.push(`${notes.length} field${notes.length === 1 ? '' : 's'} cut to size — ${notes.slice(0, 5).join(' · ')}${notes.length > 5 ? ' …' : ''}`);
  box.textContent = `${parts.join('; ')}.`;
  box.className = errors.length ? 'error' : 'hint';
  box.setAttribute('data-testid', 'import-status');
}

function exportAll(kind) {
  const list = sortRuns([...runs.values()].filter((r) => r.done), 'id', 'asc');
  if (!list.length) return;
  if (kind === 'csv') downloadBlob('reslab-results.csv', new Blob([toCsv(list)], { type: 'text/csv' }));
  else downloadJson('reslab-runs.json', exportRuns(list));
}

async function clearAllRuns() {
  if (refuseReadOnly('Deleting runs')) return;
  const done = [...runs.values()].filter((r) => r.done);
  if (!done.length) return;
  if (!confirm(`Delete all ${done.length} finished runs? Export them first to keep a copy.`)) return;
  for (const r of done) {
    runs.delete(r.id);
    charts.removeRun?.(r.id);
  }
  await store.clearRuns();
  await store.clearCheckpoints();
  tabs.post({ type: 'runs-deleted', ids: done.map((r) => r.id) });
  for (const r of runs.values()) persistRun(r);
  selectedRunId = null;
  renderResults();
  renderRunDetails();
  renderFig7();
}

/** Per-class accuracy and confusion matrix of the selected run. */
function renderRunDetails() {
  const box = $('run-details');
  const run = runs.get(selectedRunId);
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
  const info = datasets.get(run.datasetKey) ?? datasets.get(datasetKeyFor(run.config));
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

// ---------------------------------------------------------------- studies and queue

let lab = null;
const expandWaits = new Map();
let expandSeq = 0;

/** Asks the engine to expand a preset or grid into runs. */
function requestExpand(req) {
  if (!engineReady) return Promise.reject(new Error('the training engine is still starting'));
  const id = `x${++expandSeq}`;
  return new Promise((resolve, reject) => {
    expandWaits.set(id, { resolve, reject });
    send({ type: 'expand', id, ...req });
  });
}

function presetById(id) {
  return id ? lab?.presetById(id) ?? null : null;
}

function setupLab() {
  lab = new LabPanel({
    expand: requestExpand,
    queue: (planned, group) => {
      const items = planned.map((r) => ({ config: r.config, label: r.label, group, datasetKey: state.datasetKey }));
      queueRuns(items);
      $('run-panel').scrollIntoView?.({ block: 'nearest' });
    },
    baseConfig: () => state.configForEngine(),
    linkFor: (l) => studyLink(l),
    addressFor: (l) => urlWithStudy(location.href, l),
    modelIds: () => modelIds,
    hasFullData: (kind) => state.userKind === kind && datasets.has('user'),
    canQueue: () => !readOnly(),
    duration: (configs, progress) => describeDuration(configs, progress),
  });
  $('queue-clear').addEventListener('click', () => {
    if (queue.length > 1 && !confirm(`Remove the ${queue.length} runs waiting in the queue?`)) return;
    clearQueue();
  });
  $('queue-resume').addEventListener('click', () => {
    queueHeld = false;
    renderQueue();
    pumpQueue();
  });
  $('queue-link').addEventListener('click', async () => {
    const configs = [...(current && !current.done ? [current.config] : []), ...queue.map((q) => q.config)];
    if (!configs.length) return;
    const grid = gridFromConfigs(configs, state.defaults, 'Shared queue');
    const status = $('queue-link-status');
    // A link is handed out only if the engine that will open it accepts it (e.g. not more runs than a grid may have).
    try {
      await requestExpand({ grid });
    } catch (err) {
      status.textContent = `This queue cannot be shared as one link: ${messageOf(err)}. Share its studies one by one instead.`;
      status.hidden = false;
      return;
    }
    await copyLink(studyLink({ grid }), status);
  });
  window.addEventListener('hashchange', () => {
    // A grid link pasted into this tab's address bar changes only the fragment: no reload.
    const linked = labFromQuery('', location.hash);
    for (const m of linked.messages) notice(m);
    if (linked.lab && !engineReady) {
      // Opened when the engine's studies arrive, like a link the page was loaded with.
      initialLab.lab = linked.lab;
      linkedStudyOpened = false;
    } else if (linked.lab) openLinkedStudy(linked.lab);
    else if (linked.asked) dropStudyFromUrl();
  });
}

/** The link that opens a study on this page (a preset in the query, a grid in the fragment). */
function studyLink(study) {
  return urlWithStudy(`${location.origin}${location.pathname}`, study);
}

/** Removes a study the page could not open from the address bar, so a reload or a copy does not repeat it. */
function dropStudyFromUrl() {
  history.replaceState(null, '', urlWithStudy(location.href, null));
}

let linkedStudyOpened = false;

/**
 * A study named in the URL (?preset=… or #grid=…) is shown, ready to run with
 * one click; one the page cannot open gets a notice saying why, and leaves the URL.
 */
async function openLinkedStudy(linked = initialLab.lab) {
  if (!linked) {
    if (initialLab.asked && !linkedStudyOpened) dropStudyFromUrl();
    linkedStudyOpened = true;
    return;
  }
  if (linked === initialLab.lab) {
    // The presets arrive again after an engine restart: the link is opened once.
    if (linkedStudyOpened) return;
    linkedStudyOpened = true;
  }
  if (linked.preset) {
    if (!presetById(linked.preset)) {
      const ids = (lab?.presets ?? []).map((p) => p.id).join(', ');
      notice(`This link asks for the study “${linked.preset}”, which ResLab does not have${ids ? ` (its studies: ${ids})` : ''}; nothing was loaded.`);
      dropStudyFromUrl();
      return;
    }
    lab.selectPreset(linked.preset, linked);
    $('lab-panel').scrollIntoView?.({ block: 'start' });
    if (linked === initialLab.lab && initialLab.messages.length) history.replaceState(null, '', urlWithStudy(location.href, linked));
  } else if (linked.grid) {
    $('lab-panel').scrollIntoView?.({ block: 'start' });
    const why = await lab.showGrid(linked.grid);
    if (why) {
      notice(`This link's grid cannot be run: ${why}; nothing was loaded.`);
      dropStudyFromUrl();
      window.scrollTo?.(0, 0); // where the notice is
    }
  }
}

function renderQueue() {
  const box = $('queue-box');
  const list = $('queue-list');
  list.replaceChildren();
  if (readOnly()) {
    box.hidden = followerQueue.length === 0;
    for (const id of ['queue-resume', 'queue-clear']) $(id).hidden = true;
    for (const item of followerQueue) {
      const li = document.createElement('li');
      li.setAttribute('data-testid', 'queued-run');
      li.textContent = `${item.label}${item.group ? ` (${item.group})` : ''}`;
      list.append(li);
    }
    updateButtons();
    return;
  }
  $('queue-clear').hidden = false;
  box.hidden = queue.length === 0;
  $('queue-resume').hidden = !queueHeld || queue.length === 0;
  queue.forEach((item, i) => {
    const li = document.createElement('li');
    li.setAttribute('data-testid', 'queued-run');
    const text = document.createElement('span');
    text.textContent = `${item.label}${item.group?.name ? ` (${item.group.name})` : ''}`;
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'small secondary';
    cancel.textContent = '✕';
    cancel.setAttribute('aria-label', `Remove ${item.label} from the queue`);
    cancel.addEventListener('click', () => cancelQueued(item.qid));
    li.append(text, cancel);
    if (i === 0 && queueHeld) li.classList.add('held');
    list.append(li);
  });
  updateButtons();
  announceNow();
}

// ---------------------------------------------------------------- study claims

/**
 * A preset's claims judged on its runs, by preset id: {key, claims, error}.
 * `key` names the runs they were judged on (see claimsKey); `claims` is null
 * while the engine's answer is awaited.
 */
const claimChecks = new Map();
const claimsWaits = new Map();
let claimsSeq = 0;

/** Asks the engine to judge `preset`'s claims on result records (Export JSON's format). */
function requestClaims(preset, records) {
  const id = `c${++claimsSeq}`;
  return new Promise((resolve, reject) => {
    claimsWaits.set(id, { resolve, reject });
    if (!send({ type: 'claims', id, preset, records })) {
      claimsWaits.delete(id);
      reject(new Error('the training engine is not running'));
    }
  });
}

/**
 * What the verdicts of a preset's claims depend on: its ended runs, with the
 * numbers the claims read. It changes when a run ends, is imported or
 * deleted, not from one frame to the next.
 */
function claimsKey(id, ended) {
  const parts = ended.map((r) => [r.id, r.status, r.steps.length, r.epochs.length, r.testAccuracy ?? '', r.bestVal ?? ''].join(':')).sort();
  return `${id}|${parts.join(',')}`;
}

/** The verdicts of preset `id`'s claims on `ended` runs: the cached answer, or null while one is asked for. */
function claimsFor(id, ended) {
  const key = claimsKey(id, ended);
  const known = claimChecks.get(id);
  if (known?.key === key) return known;
  const entry = { key, claims: null, error: null };
  claimChecks.set(id, entry);
  requestClaims(id, ended.map(exportRecord))
    .then((claims) => {
      entry.claims = claims;
    })
    .catch((err) => {
      entry.error = messageOf(err);
    })
    .finally(() => {
      if (claimChecks.get(id) === entry) renderResults();
    });
  return entry;
}

const VERDICTS = {
  shows: 'shows',
  partly: 'partly',
  does_not_show: 'does not show at this budget',
  not_run: 'not run yet',
};

/** The box under the results saying, claim by claim, whether these runs show what study `p` claims. */
function claimsBox(p, list) {
  const ended = list.filter((r) => r.done);
  const check = claimsFor(p.id, ended);
  const box = document.createElement('section');
  box.className = 'study-claims';
  box.setAttribute('data-testid', 'study-claims');
  box.setAttribute('data-preset', p.id);
  const title = document.createElement('h3');
  title.textContent = 'What this study claims, checked on these runs';
  const finished = ended.filter((r) => r.status === 'finished').length;
  const sub = document.createElement('p');
  sub.className = 'hint';
  sub.textContent = `${String(p.title ?? p.id)}: ${finished} finished run${finished === 1 ? '' : 's'}. ` +
    'A claim shows when the difference is at least what a class sees plainly on the charts; partly, when it goes the right way by less.';
  box.append(title, sub);
  if (check.error) {
    const err = document.createElement('p');
    err.className = 'error';
    err.textContent = `The claims could not be checked: ${check.error}`;
    box.append(err);
    return box;
  }
  // While the engine answers, the claims are listed as being checked.
  const items = check.claims ?? p.claims.map((c) => ({ claim: c.text, verdict: null, evidence: '' }));
  const ul = document.createElement('ul');
  ul.className = 'claim-list';
  for (const c of items) {
    const li = document.createElement('li');
    li.setAttribute('data-testid', 'claim');
    const known = Object.prototype.hasOwnProperty.call(VERDICTS, c?.verdict);
    const verdict = known ? c.verdict : check.claims ? 'unknown' : 'checking';
    const badge = document.createElement('span');
    badge.className = `verdict verdict-${verdict.replace(/_/g, '-')}`;
    badge.setAttribute('data-testid', 'claim-verdict');
    badge.setAttribute('data-verdict', verdict);
    badge.textContent = known ? VERDICTS[verdict] : check.claims ? String(c?.verdict ?? '?') : 'checking…';
    const text = document.createElement('span');
    text.className = 'claim-text';
    text.setAttribute('data-testid', 'claim-text');
    text.textContent = String(c?.claim ?? '');
    li.append(badge, text);
    if (c?.evidence) {
      const ev = document.createElement('span');
      ev.className = 'claim-evidence';
      ev.setAttribute('data-testid', 'claim-evidence');
      ev.textContent = String(c.evidence);
      li.append(ev);
    }
    ul.append(li);
  }
  box.append(ul);
  return box;
}

/** Per-study summaries: what each study claims, checked on its runs; the optimizers study as an optimizer × dataset table. */
function renderStudyTables() {
  const box = $('study-tables');
  box.replaceChildren();
  const groups = new Map();
  for (const r of runs.values()) {
    if (r.group?.kind !== 'preset' || !r.group.id) continue;
    const key = `${r.group.id}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  for (const [id, list] of groups) {
    const p = presetById(id);
    if (Array.isArray(p?.claims) && p.claims.length && list.some((r) => r.done && r.status === 'finished')) box.append(claimsBox(p, list));
    if (p?.table !== 'optimizer-by-dataset') continue;
    const datasetsSeen = [...new Set(list.map((r) => r.config.dataset))];
    const opts = [...new Set(list.map((r) => r.config.optimizer))];
    const table = document.createElement('table');
    table.className = 'results study';
    table.setAttribute('data-testid', 'study-table');
    const cap = document.createElement('caption');
    cap.textContent = `${p.title}: test accuracy (latest run of each cell)`;
    table.append(cap);
    const hr = table.createTHead().insertRow();
    for (const t of ['Optimizer', ...datasetsSeen.map((d) => DATASET_NAMES[d] ?? d)]) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = t;
      hr.append(th);
    }
    const body = table.createTBody();
    for (const o of opts) {
      const tr = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = o;
      tr.append(th);
      for (const d of datasetsSeen) {
        const cell = tr.insertCell();
        cell.className = 'num';
        const hits = list.filter((r) => r.config.optimizer === o && r.config.dataset === d);
        const r = hits[hits.length - 1];
        cell.textContent = !r ? '' : r.testAccuracy !== null && r.testAccuracy !== undefined ? formatPercent(r.testAccuracy) : STATUS_TEXT[r.status] ?? r.status;
      }
    }
    const wrap = document.createElement('div');
    wrap.className = 'table-wrap';
    wrap.append(table);
    box.append(wrap);
  }
}

// ---------------------------------------------------------------- test images

const imageCache = new Map(); // datasetKey → {pixels, meta} | {waiting: true}
const IMAGE_COUNT = 2000;
const GRID_SIZE = 60;

function renderImageGrid() {
  const box = $('image-grid-box');
  const grid = $('image-grid');
  const run = runs.get(selectedRunId);
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
    if (!datasets.has(key)) {
      p.textContent = run.datasetKey === 'user' || !SAMPLE_KIND[key]
        ? 'Load the dataset this run used to see its test images.'
        : 'Loading the test images…';
      if (SAMPLE_KIND[key] && engineReady) ensureDataset(key).then(() => renderImageGrid()).catch(() => {});
    } else {
      p.textContent = 'Loading the test images…';
      if (!cached) {
        imageCache.set(key, { waiting: true });
        send({ type: 'images', datasetKey: key, count: IMAGE_COUNT });
      }
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

function onImages(msg) {
  const meta = msg.meta ?? {};
  const ok = msg.pixels instanceof Uint8Array && Array.isArray(meta.labels) && [meta.channels, meta.height, meta.width].every(Number.isInteger);
  if (!ok) {
    imageCache.delete(msg.datasetKey);
    return;
  }
  imageCache.set(msg.datasetKey, { pixels: msg.pixels, meta });
  renderImageGrid();
}

// ---------------------------------------------------------------- Fig. 7

let fig7Chart = null;

function requestLayerStats() {
  const run = runs.get(selectedRunId);
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
  status.textContent = current ? `Measuring run #${run.id} after the current run…` : `Measuring run #${run.id}…`;
  const key = run.datasetKey ?? datasetKeyFor(run.config);
  ensureDataset(key)
    .then(() => send({ type: 'layer-stats', runId: run.id, datasetKey: key, n: 100 }))
    .catch((err) => (status.textContent = messageOf(err)));
}

function onLayerStats(msg) {
  const run = runs.get(msg.runId);
  if (!run || !Array.isArray(msg.stats)) return;
  run.layerStd = msg.stats.filter((l) => l && Number.isFinite(l.std)).map((l) => ({ name: String(l.name), index: Number(l.index), std: Number(l.std) }));
  persistRun(run);
  $('fig7-status').textContent = `Added run #${run.id} (${run.layerStd.length} layers).`;
  renderFig7();
}

async function renderFig7() {
  const box = $('fig7-chart');
  const withStats = [...runs.values()].filter((r) => Array.isArray(r.layerStd) && r.layerStd.length);
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

// ---------------------------------------------------------------- checkpoints

/** At most one checkpoint a minute: saving a big net every epoch would cost more than it saves. */
const CHECKPOINT_EVERY_MS = 60_000;

function requestCheckpoint(run, epoch, step) {
  if (run !== current || run.done || !Number.isFinite(epoch)) return;
  const now = performance.now();
  if (run.lastCheckpointAt && now - run.lastCheckpointAt < CHECKPOINT_EVERY_MS) return;
  run.lastCheckpointAt = now;
  send({ type: 'checkpoint', runId: run.id, epoch, step });
}

function onCheckpoint(msg) {
  const run = runs.get(msg.runId);
  if (!run || !(msg.bytes instanceof Uint8Array)) return;
  // A run that has ended needs none (its model is saved with "Model").
  if (run.done && run.status !== 'interrupted') return;
  store.putCheckpoint({ id: run.id, epoch: msg.epoch, step: msg.step, bytes: msg.bytes }).then(() => {
    run.checkpoint = { epoch: msg.epoch, step: msg.step };
    persistRun(run);
  });
}

const resumeWaits = new Map();

/** Queues the rest of an interrupted run, starting from its checkpoint's weights. */
async function resumeRun(run) {
  if (refuseReadOnly('Resuming a run')) return;
  const ck = await store.getCheckpoint(run.id);
  if (!ck?.bytes) {
    notice(`The checkpoint of run #${run.id} is gone; queue its settings again to rerun it.`);
    return;
  }
  const key = `ckpt-${run.id}-${++loadedModelSeq}`;
  const loaded = new Promise((resolve, reject) => resumeWaits.set(key, { resolve, reject }));
  const bytes = ck.bytes.slice();
  send({ type: 'load-model', key, name: `checkpoint of run #${run.id}`, bytes: bytes.buffer }, [bytes.buffer]);
  try {
    await loaded;
  } catch (err) {
    notice(`Run #${run.id} cannot be resumed: its checkpoint did not load (${messageOf(err)}). Queue its settings again to rerun it.`);
    return;
  }
  const c = structuredClone(run.config);
  // What is left of the budget; the schedule's milestones move with it.
  if (c.max_steps) c.max_steps = Math.max(1, c.max_steps - ck.step);
  else c.epochs = Math.max(1, c.epochs - ck.epoch);
  c.milestones = (c.milestones ?? []).map((m) => m - ck.step).filter((m) => m > 0);
  if (c.schedule === 'multistep' && !c.milestones.length) c.schedule = 'constant';
  c.warmup_steps = Math.max(0, (c.warmup_steps ?? 0) - ck.step);
  queueRuns([{
    config: c,
    label: `${run.label} (resumed at epoch ${ck.epoch})`,
    datasetKey: run.datasetKey ?? undefined,
    group: run.group,
    initModel: key,
  }]);
}

// ---------------------------------------------------------------- saved models

let loadedModelSeq = 0;
let loadedModel = null; // {key, name, config}

function saveModel(run) {
  send({ type: 'save-model', runId: run.id });
}

function onModelFile(msg) {
  const run = runs.get(msg.runId);
  const bytes = msg.bytes;
  if (!(bytes instanceof Uint8Array)) return;
  downloadBlob(`reslab-${run ? `run-${run.id}-${slug(run.label)}` : 'model'}.reslab`, new Blob([bytes], { type: 'application/octet-stream' }));
}

async function loadModelFile(file) {
  const box = $('loaded-model');
  box.hidden = false;
  box.className = 'loaded-model hint';
  box.textContent = `Reading ${file.name}…`;
  if (file.size > 1024 * 1024 * 1024) {
    box.className = 'loaded-model error';
    box.textContent = `${file.name}: ${formatBytes(file.size)} is too large for a model file.`;
    return;
  }
  let buf;
  try {
    buf = await file.arrayBuffer();
  } catch (err) {
    box.className = 'loaded-model error';
    box.textContent = `${file.name}: could not be read (${messageOf(err)}).`;
    return;
  }
  const key = `loaded-${++loadedModelSeq}`;
  send({ type: 'load-model', key, name: file.name, bytes: buf }, [buf]);
}

function onModelLoaded(msg) {
  if (resumeWaits.has(msg.key)) {
    resumeWaits.get(msg.key).resolve(msg);
    resumeWaits.delete(msg.key);
    return;
  }
  loadedModel = { key: msg.key, name: String(msg.name ?? 'model'), config: msg.config };
  renderLoadedModel();
}

function renderLoadedModel() {
  const box = $('loaded-model');
  if (!loadedModel) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.className = 'loaded-model';
  box.replaceChildren();
  const c = loadedModel.config ?? {};
  const p = document.createElement('p');
  p.textContent = `Loaded ${loadedModel.name}: ${c.model} for ${DATASET_NAMES[c.dataset] ?? c.dataset}.` +
    (pendingInitModel === loadedModel.key ? ' The next Train continues from it.' : '');
  const evalBtn = document.createElement('button');
  evalBtn.type = 'button';
  evalBtn.className = 'small';
  evalBtn.textContent = 'Evaluate on the test set';
  evalBtn.setAttribute('data-testid', 'evaluate-model');
  evalBtn.addEventListener('click', () => evaluateLoaded());
  const contBtn = document.createElement('button');
  contBtn.type = 'button';
  contBtn.className = 'small secondary';
  contBtn.textContent = 'Continue training from it';
  contBtn.addEventListener('click', () => {
    // Its settings become the current ones; Train then starts from its weights.
    applyConfig(loadedModel.config);
    pendingInitModel = loadedModel.key;
    renderLoadedModel();
  });
  box.append(p, evalBtn, contBtn);
}

function applyConfig(config) {
  for (const [k, v] of Object.entries(config ?? {})) {
    if (k in state.defaults && k !== 'dataset') state.set(k, structuredClone(v));
  }
  const sample = Object.keys(SAMPLE_KIND).find((k) => SAMPLE_KIND[k] === config?.dataset);
  if (!(state.data === 'user' && state.userKind === config?.dataset) && sample) {
    state.set('data', sample);
    $('data').value = sample;
    $('loader').hidden = true;
  }
  writeControls();
  writeUrl();
  scheduleValidate();
  scheduleDescribe();
  updateDataInfo();
}

async function evaluateLoaded() {
  if (!loadedModel || refuseReadOnly('Evaluating a model')) return;
  const { key, name, config } = loadedModel;
  const datasetKey = datasetKeyFor(config);
  try {
    await ensureDataset(datasetKey);
  } catch (err) {
    notice(messageOf(err));
    return;
  }
  send({ type: 'evaluate-model', key, datasetKey, id: key });
  loadedModel.datasetKey = datasetKey;
  loadedModel.evalName = name;
}

function onEvaluation(msg) {
  const r = msg.result ?? {};
  const src = loadedModel?.key === msg.key ? loadedModel : null;
  const config = src?.config;
  if (!config) return;
  const id = ++runSeq;
  const run = newRun({ config, label: `${config.model} (evaluated: ${src.name})`, datasetKey: src.datasetKey ?? datasetKeyFor(config) });
  run.id = id;
  run.color = colorFor(id - 1);
  run.status = 'evaluated';
  run.done = true;
  run.message = `Evaluated the saved model ${src.name} on the test set.`;
  run.result = r;
  run.testAccuracy = num(r.test_accuracy);
  run.backend = backendInfo?.backend ?? null;
  runs.set(id, run);
  renderResults();
  persistRun(run);
  selectRun(id);
}

// ---------------------------------------------------------------- notices

/**
 * Sets the notices about the page's address (first, in order); other notices
 * stay. The address is read twice, the second time against the engine's own
 * defaults, and the second reading replaces the first.
 */
function setNotices(messages) {
  const list = $('notice-list');
  for (const li of list.querySelectorAll('li[data-from-url]')) li.remove();
  if (chartsError) messages = [chartsError, ...messages];
  const first = list.firstChild;
  for (const m of messages) {
    const li = document.createElement('li');
    li.textContent = m;
    li.dataset.fromUrl = '';
    list.insertBefore(li, first);
  }
  $('notices').hidden = list.children.length === 0;
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
  for (const b of document.querySelectorAll('button.png')) {
    b.addEventListener('click', async () => {
      const blob = await charts.toPng?.(b.dataset.chart, b.dataset.title);
      if (blob) downloadBlob(`reslab-${slug(b.dataset.title)}.png`, blob);
    });
  }
  $('export-csv').addEventListener('click', () => exportAll('csv'));
  $('export-json').addEventListener('click', () => exportAll('json'));
  $('clear-results').addEventListener('click', () => clearAllRuns());
  $('import-runs').addEventListener('change', (ev) => {
    const f = ev.target.files?.[0];
    ev.target.value = '';
    if (f) importRunsFromFile(f);
  });
  $('load-model-file').addEventListener('change', (ev) => {
    const f = ev.target.files?.[0];
    ev.target.value = '';
    if (f) loadModelFile(f);
  });
  $('wrong-only').addEventListener('change', () => renderImageGrid());
  $('fig7-compute').addEventListener('click', () => requestLayerStats());
  $('dismiss-notices').addEventListener('click', () => {
    $('notices').hidden = true;
    $('notice-list').replaceChildren();
  });
}

/**
 * The service worker: offline use (it keeps the page, the engine and the
 * samples), and on hosts without COOP/COEP the headers that let the CPU
 * backend use every core, after one reload of the page (www/isolation.js).
 */
function registerServiceWorker() {
  return settleIsolation({
    swUrl: new URL('../sw.js', import.meta.url),
    scope: new URL('../', import.meta.url).pathname,
    onWait: (text) => setBackendLine(`Backend: ${text}`, ''),
  });
}

function main() {
  const isolating = registerServiceWorker();
  populateModels();
  writeControls();
  bindControls();
  bindDataLoading();
  bindRunControls();
  setupLab();
  setNotices([...initial.messages, ...linkNotices]);
  if (initialLab.asked && !initialLab.lab) dropStudyFromUrl();
  updateButtons();
  setRunState('idle', 'Idle');
  scheduleValidate();
  // Nothing starts before the page knows whether the service worker reloads it (to isolate it).
  isolating.then((isolation) => {
    if (isolation.reload) return;
    pageIsolation = isolation;
    // Which tab owns the queue is settled before storage is read: a read-only tab must not mark the owner's run interrupted.
    settleTabRole()
      .then(() => restoreRuns())
      .catch((err) => notice(`Earlier runs could not be restored: ${messageOf(err)}`))
      .finally(() => {
        renderFig7();
        startWorker();
      });
  });
}

/** Read-only view of the page for debugging and end-to-end tests (the debug hooks only in test mode). */
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
      steps: r.steps.length,
      config: structuredClone(r.config),
      group: r.group ? { ...r.group } : null,
      memoryLog: r.memoryLog ? r.memoryLog.map((m) => m.slice()) : [],
      checkpoint: r.checkpoint ? { ...r.checkpoint } : null,
      firstLoss: r.steps.length ? r.steps.lossAt?.(0) ?? null : null,
    }));
  },
  get errors() {
    return { local: Object.fromEntries(localErrors), engine: engineErrors.slice() };
  },
  chartCounts: () => charts.counts(),
  get testMode() {
    return TEST_MODE;
  },
  ...(TEST_MODE
    ? {
        /** For tests: makes the engine's GPU device lost, as a driver reset would. */
        debugLoseDevice: () => send({ type: 'debug-lose-device' }),
        /** For tests: an error reported by the engine's GPU device, as a kernel it rejects gives. */
        debugGpuError: () => send({ type: 'debug-gpu-error' }),
        /** For tests: a wasm trap in the engine, as running out of memory gives. */
        debugCrash: () => send({ type: 'debug-crash' }),
      }
    : {}),
});

main();
