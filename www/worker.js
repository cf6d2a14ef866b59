// ResLab training worker (module worker).
//
// Owns the wasm engine, the compute device, the datasets and the training
// loop, so the page's main thread only draws.
//
// Page → worker:
//   {type:'init', backend:'auto'|'webgpu'|'cpu', why?}   why: the CPU backend's reason, if not the settings
//     isolation?: {by, why}   how the page is cross-origin isolated or why not (www/isolation.js); kept for later inits
//   {type:'load-sample', dataset:'mnist'|'cifar10'}
//   {type:'load-files', files:[{name, bytes:ArrayBuffer}], hint}
//   {type:'load-url', url, hint}            (url may hold several URLs separated by spaces)
//   {type:'describe', config, id?}
//   {type:'validate', config, id, datasetKey?}   datasetKey: also check sizes against that loaded dataset
//   {type:'train', runId, config, datasetKey, initModel?}   the model is kept under String(runId)
//   {type:'pause'|'resume'|'stop'}
//   {type:'presets'}
//   {type:'expand', id, preset?, budget?, scale?, overrides?, grid?}
//   {type:'save-model', runId}
//   {type:'checkpoint', runId, epoch, step}   the running run's latest epoch, saved at once
//   {type:'load-model', key, name, bytes:ArrayBuffer}
//   {type:'evaluate-model', key, datasetKey, id}
//   {type:'layer-stats', runId, datasetKey, n}
//   {type:'images', datasetKey, count}
//   {type:'measure', id, configs:[config]}   times a few training steps of each config on this backend
//   {type:'claims', id, preset, records:[record]}   a preset's claims judged on result records (Export JSON's format)
//   {type:'debug-lose-device'}              tests only: destroys the GPU device
//   {type:'debug-gpu-error'}                tests only: an invalid call on the GPU device
//   {type:'debug-crash'}                    tests only: a wasm trap, as out-of-memory would give
//   The three debug-* messages are obeyed only by a worker started in test mode
//   (its URL is worker.js?test=1, as the page opened with ?test=1 starts it);
//   otherwise each is refused with {type:'error', context:'worker', refused}.
// Worker → page:
//   {type:'ready', defaults, models}       engine loaded; its default config and model ids
//   {type:'backend', backend, adapter, reason}
//   {type:'progress', what, loaded, total}
//   {type:'dataset', key, info}
//   {type:'model', id, config, description}
//   {type:'validation', id, errors}
//   {type:'event', runId, event}
//   {type:'result', runId, result}
//   {type:'presets', presets}
//   {type:'expanded', id, runs:[{label, config}]}
//   {type:'model-file', runId, bytes}
//   {type:'checkpoint', runId, epoch, step, bytes}
//   {type:'model-loaded', key, name, config}
//   {type:'evaluation', id, key, result}
//   {type:'layer-stats', runId, stats:[{name, index, std}]}
//   {type:'images', datasetKey, pixels:Uint8Array, meta:{labels, classes, channels, height, width}}
//   {type:'measured', id, backend, results:[{seconds_per_step, steps_timed}]}   one per config, in order
//   {type:'claims', id, claims:[{claim, verdict, evidence}]}   verdict: shows|partly|does_not_show|not_run
//   {type:'device-lost', runId, message}  the page restarts the worker
//   {type:'gpu-error', runId, message}    the page restarts the worker on the CPU backend
//   {type:'error', context, message, runId?, fatal?, id?, key?, refused?}   refused: a test-only message's type, outside test mode

import { ENGINE_URL, THREADED_ENGINE_URL, threadPlan, startPool } from './threads.js';

const SITE_ROOT = new URL('../', import.meta.url);

/** Started in test mode (worker.js?test=1): only then are the test-only messages obeyed. */
const TEST_MODE = new URL(import.meta.url).searchParams.get('test') === '1';
/** Messages that exist only for the end-to-end tests: they crash the engine or break its device. */
const TEST_ONLY = new Set(['debug-crash', 'debug-lose-device', 'debug-gpu-error']);

const SAMPLES = {
  mnist: {
    key: 'sample-mnist',
    hint: 'mnist',
    files: [
      'assets/sample/mnist/train-images-idx3-ubyte.gz',
      'assets/sample/mnist/train-labels-idx1-ubyte.gz',
      'assets/sample/mnist/t10k-images-idx3-ubyte.gz',
      'assets/sample/mnist/t10k-labels-idx1-ubyte.gz',
    ],
  },
  cifar10: {
    key: 'sample-cifar10',
    hint: 'cifar10',
    files: ['assets/sample/cifar10/cifar-10-sample-binary.tar.gz'],
  },
};

const HINTS = new Set(['mnist', 'fashion-mnist', 'cifar10']);

/** @type {any} the active engine's module namespace (see `activate`) */
let rl = null;
/** The engines loaded in this worker, by URL: {mod, memory}. */
const engines = new Map();
/** The active engine's linear memory, for the memory figures sent with each progress event. */
let wasmMemory = null;
/** Why the engine could not be loaded (then every request fails with it). */
let engineError = null;
/**
 * What each dataset slot was loaded from, so that a change of engine (WebGPU
 * ↔ threaded CPU) can load it into the other engine too.
 */
const datasetInputs = new Map();
/** Resolves once a backend has been initialised (or chosen). */
let backendPromise = null;
let backendInfo = null;
/** How the page is cross-origin isolated, or why not ({by, why}, from the page's 'init'): said with the CPU backend's threads. */
let pageIsolation = null;
/** The running training: {runId, ctl} */
let running = null;
/** Serialises loads and trainings: the engine handles one at a time. */
let queue = Promise.resolve();

const post = (msg, transfer) => self.postMessage(msg, transfer ?? []);

function messageOf(err) {
  if (err === undefined || err === null) return 'unknown error';
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message || String(err);
  if (typeof err === 'object' && typeof err.message === 'string') return err.message;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/** A wasm trap leaves the module unusable: the page must restart the worker. */
function isFatal(err) {
  return typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError;
}

let engineErrorReported = false;

function reportError(context, err, extra = {}) {
  if (err?.engineLoad) {
    // Report the load failure once, as such; later requests just fail quietly.
    if (engineErrorReported && context !== 'train') return;
    engineErrorReported = true;
    post({ type: 'error', context: 'engine', message: err.message, fatal: false, ...extra });
    return;
  }
  const fatal = isFatal(err);
  let message = messageOf(err);
  if (fatal) message = `The training engine crashed (${message}).`;
  post({ type: 'error', context, message, fatal, ...extra });
}

function parseJson(text, what) {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what}: the engine returned invalid JSON (${messageOf(err)})`);
  }
}

/** Bytes of the engine's wasm linear memory (it only grows, so a leak shows here). */
function memoryNow() {
  return { wasm: wasmMemory?.buffer?.byteLength ?? null };
}

/**
 * Loads (once) and instantiates the engine at `url`; for the threaded engine
 * also starts its pool of `threads` workers. Resolves to {mod, memory}.
 */
async function loadEngineAt(url, threads = 0) {
  let engine = engines.get(url.href);
  if (engine) return engine;
  const mod = await import(url.href);
  const memory = (await mod.default())?.memory ?? null;
  if (threads > 0) await startPool(mod, threads);
  engine = { mod, memory };
  engines.set(url.href, engine);
  return engine;
}

let readyPosted = false;

/**
 * Initialises backend `kind` ('cpu' or 'webgpu') on `engine` and makes it the
 * active engine. Models and datasets held by the previous engine move with it
 * (nothing the user trained or loaded is lost when the backend changes) and
 * are dropped from the old one. If the backend fails to start, the previous
 * engine stays active, untouched. Resolves to init_backend's info.
 */
async function activate(engine, kind) {
  const info = parseJson(await engine.mod.init_backend(kind), 'init_backend');
  const old = rl;
  if (old && old !== engine.mod) {
    // Copy everything first: if a copy fails, the old engine stays active with all it had.
    for (const [key, input] of datasetInputs) engine.mod.load_dataset(key, input.names, input.arrays, input.hint);
    const models = parseJson(old.model_keys(), 'model_keys');
    for (const key of models) engine.mod.load_model(key, await old.save_model(key));
    for (const key of datasetInputs.keys()) old.forget_dataset(key);
    for (const key of models) old.forget_model(key);
  }
  rl = engine.mod;
  wasmMemory = engine.memory;
  if (!readyPosted) {
    readyPosted = true;
    const defaults = parseJson(rl.default_config(), 'default_config');
    const models = parseJson(rl.model_ids(), 'model_ids');
    post({ type: 'ready', defaults, models });
  }
  return info;
}

function engineLoadError(err) {
  const e = new Error(`The training engine failed to load: ${messageOf(err)}`);
  e.engineLoad = true;
  return e;
}

/** The active engine, once the backend has been chosen (by the page's 'init', else 'auto'). */
async function loadEngine() {
  if (!backendPromise) backendPromise = chooseBackend('auto').catch((err) => reportError('backend', err));
  await backendPromise;
  if (!rl) throw engineError ?? engineLoadError('no engine was loaded');
  return rl;
}

/** The full engine (WebGPU, and the CPU on one thread). */
async function fullEngine() {
  try {
    return await loadEngineAt(ENGINE_URL);
  } catch (err) {
    throw (engineError = engineLoadError(err));
  }
}

/**
 * Starts the CPU backend on the best engine: the threaded one where the page
 * can share memory, else the full one. Resolves to {info, why, how}: `why`
 * says why there is only one thread, `how` what lets it have more.
 */
async function startCpu() {
  const plan = threadPlan(self, pageIsolation);
  if (plan.threads > 0) {
    try {
      return { info: await activate(await loadEngineAt(THREADED_ENGINE_URL, plan.threads), 'cpu'), why: null, how: plan.how };
    } catch (err) {
      if (isFatal(err)) throw err;
      // A failed thread pool must not cost the user their lab: one thread still trains.
      plan.why = `the threaded engine failed to start (${messageOf(err)})`;
      console.warn('ResLab:', plan.why);
    }
  }
  return { info: await activate(await fullEngine(), 'cpu'), why: plan.why };
}

// ---------------------------------------------------------------- backend

const SOFTWARE_RE = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i;

/** Inspects navigator.gpu without touching the engine. */
async function probeWebGpu() {
  const gpu = self.navigator?.gpu;
  if (!gpu) return { ok: false, why: 'this browser has no WebGPU' };
  let adapter = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { ok: false, why: `requesting a WebGPU adapter failed: ${messageOf(err)}` };
  }
  if (!adapter) return { ok: false, why: 'no WebGPU adapter' };
  let info = adapter.info;
  if (!info && typeof adapter.requestAdapterInfo === 'function') {
    try {
      info = await adapter.requestAdapterInfo();
    } catch {
      info = null;
    }
  }
  info = info ?? {};
  const parts = [info.vendor, info.architecture, info.device, info.description]
    .filter((s) => typeof s === 'string' && s.trim())
    .map((s) => s.trim());
  const name = [...new Set(parts)].join(' ') || 'unknown adapter';
  const fallback = adapter.isFallbackAdapter === true || info.isFallbackAdapter === true;
  const softMatch = parts.join(' ').match(SOFTWARE_RE);
  let software = null;
  if (softMatch) {
    const m = softMatch[0].toLowerCase();
    software = m === 'swiftshader' ? 'SwiftShader' : m === 'llvmpipe' ? 'llvmpipe' : m === 'lavapipe' ? 'lavapipe' : softMatch[0];
  } else if (fallback) {
    software = 'a fallback adapter';
  }
  return { ok: true, name, software };
}

function describeAdapter(fromEngine, fallbackName) {
  const a = typeof fromEngine === 'string' && fromEngine.trim() ? fromEngine.trim() : fallbackName;
  return a || 'unknown adapter';
}

/** `why`: why the CPU backend (shown in brackets, with why there is one thread if so). */
async function initCpu(why) {
  const { info, why: oneThread, how } = await startCpu();
  const threads = Number(info?.threads) || 1;
  const because = oneThread ? `; one thread because ${oneThread}` : threads > 1 && how ? `; ${threads} threads: ${how}` : '';
  const reason = `CPU, ${threads > 1 ? `${threads} threads` : '1 thread'} (${why}${because})`;
  backendInfo = { backend: 'cpu', adapter: info?.adapter ?? 'cpu', reason, threads };
  post({ type: 'backend', ...backendInfo });
  return backendInfo;
}

// The engine asks for its GPU device through the standard API; wrapping it
// lets the worker watch the device: when it is lost (driver reset, GPU
// removed, too much memory) the engine cannot go on, so the page is told,
// marks the run failed with its curves so far, and starts a fresh engine.
//
// An error the device reports on its own (a kernel this GPU will not compile,
// a buffer it has no memory for) is worse: WebGPU drops the failing commands
// and carries on, so training would go on computing with what it skipped.
// The engine's GPU layer also stops at such an error (a wasm trap), leaving
// the module unusable. The page is told first, and since the same kernels
// would fail again on this GPU, its fresh engine uses the CPU.
let gpuDevice = null;
let deviceLostReported = false;
let deviceLostMessage = null;
let gpuErrorReported = false;
/** The latest run's id: a loss noticed just after its end is still its cause. */
let lastRunId = null;
if (self.GPUAdapter?.prototype?.requestDevice) {
  const requestDevice = self.GPUAdapter.prototype.requestDevice;
  self.GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    gpuDevice = device;
    device.lost?.then((info) => {
      if (gpuDevice !== device || deviceLostReported) return;
      deviceLostReported = true;
      const why = [info?.reason, info?.message].filter((x) => typeof x === 'string' && x).join(': ') || 'unknown reason';
      deviceLostMessage = `The GPU device was lost (${why}).`;
      post({ type: 'device-lost', runId: running?.runId ?? lastRunId, message: deviceLostMessage });
    });
    // Registered before the engine's own handler, so the page hears it first.
    device.addEventListener?.('uncapturederror', (ev) => {
      if (gpuDevice !== device || gpuErrorReported || deviceLostReported) return;
      gpuErrorReported = true;
      post({ type: 'gpu-error', runId: running?.runId ?? lastRunId, message: describeGpuError(ev.error) });
    });
    return device;
  };
}

/** A GPUError as the user reads it: which kind, and the browser's own words. */
function describeGpuError(error) {
  const kinds = {
    GPUOutOfMemoryError: 'it ran out of memory',
    GPUValidationError: 'a validation error',
    GPUInternalError: 'an internal error',
  };
  const kind = kinds[error?.constructor?.name] ?? 'an error';
  const words = String(error?.message ?? '').trim().split('\n')[0].slice(0, 300).replace(/\.$/, '');
  return `The GPU reported ${kind}${words ? ` (${words})` : ''}.`;
}

async function initWebGpu(name, software) {
  const info = await activate(await fullEngine(), 'webgpu');
  const adapter = describeAdapter(info?.adapter, name);
  const reason = software
    ? `WebGPU: ${adapter} (software rendering, ${software}: slow)`
    : `WebGPU: ${adapter}`;
  backendInfo = { backend: info?.backend === 'cpu' ? 'cpu' : 'webgpu', adapter, reason };
  post({ type: 'backend', ...backendInfo });
  return backendInfo;
}

async function chooseBackend(requested, why) {
  const kind = ['auto', 'webgpu', 'cpu'].includes(requested) ? requested : 'auto';
  if (kind === 'cpu') return initCpu(typeof why === 'string' && why ? why : 'chosen in settings');

  const probe = await probeWebGpu();
  if (kind === 'webgpu') {
    if (!probe.ok) {
      post({ type: 'error', context: 'backend', message: `WebGPU is not available (${probe.why}); using the CPU backend instead.` });
      return initCpu(`WebGPU was requested but ${probe.why}`);
    }
    try {
      return await initWebGpu(probe.name, probe.software);
    } catch (err) {
      if (isFatal(err)) throw err;
      const why = messageOf(err);
      post({ type: 'error', context: 'backend', message: `WebGPU could not be started (${why}); using the CPU backend instead.` });
      return initCpu(`WebGPU failed: ${why}`);
    }
  }

  // auto: only a hardware adapter is worth it; software WebGPU is far slower than the CPU backend.
  if (!probe.ok) return initCpu(probe.why);
  if (probe.software) return initCpu(`no hardware WebGPU adapter: ${probe.software} is software`);
  try {
    return await initWebGpu(probe.name, null);
  } catch (err) {
    if (isFatal(err)) throw err;
    return initCpu(`WebGPU failed to start: ${messageOf(err)}`);
  }
}

// ---------------------------------------------------------------- data

/** Fetches one URL with progress; returns a Uint8Array. */
async function fetchBytes(url, onProgress) {
  let res;
  try {
    res = await fetch(url, { mode: 'cors', credentials: 'omit' });
  } catch (err) {
    const origin = new URL(url).origin;
    if (origin !== self.location.origin) {
      // The browser does not say why (CSP and CORS failures look alike); name both.
      throw new Error(`${fileName(url)}: could not be fetched from ${origin} (${messageOf(err)}). ` +
        `Either this server does not let the page load data from other sites (start it with --allow-data-from ${origin}), ` +
        'or that site does not allow it (CORS). Download the files and drop them on the page instead.');
    }
    throw new Error(`${fileName(url)}: could not be fetched (${messageOf(err)})`);
  }
  if (!res.ok) throw new Error(`${fileName(url)}: HTTP ${res.status} ${res.statusText}`.trim());
  const total = Number(res.headers.get('content-length')) || 0;
  if (!res.body) {
    const buf = new Uint8Array(await res.arrayBuffer());
    onProgress(buf.length, total || buf.length);
    return buf;
  }
  const reader = res.body.getReader();
  const chunks = [];
  let loaded = 0;
  let lastReport = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    const now = performance.now();
    if (now - lastReport > 50) {
      lastReport = now;
      onProgress(loaded, total);
    }
  }
  onProgress(loaded, total || loaded);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(loaded);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function fileName(url) {
  try {
    const u = new URL(url, SITE_ROOT);
    const last = u.pathname.split('/').filter(Boolean).pop();
    return decodeURIComponent(last || u.hostname);
  } catch {
    return String(url);
  }
}

/** Fetches several URLs, reporting combined progress as `what`. */
async function fetchAll(urls, what) {
  const loaded = new Array(urls.length).fill(0);
  const totals = new Array(urls.length).fill(0);
  const report = () => {
    const l = loaded.reduce((a, b) => a + b, 0);
    const t = totals.every((x) => x > 0) ? totals.reduce((a, b) => a + b, 0) : 0;
    post({ type: 'progress', what, loaded: l, total: t });
  };
  report();
  return Promise.all(
    urls.map((url, i) =>
      fetchBytes(url, (l, t) => {
        loaded[i] = l;
        totals[i] = t;
        report();
      }),
    ),
  );
}

function loadIntoEngine(key, names, arrays, hint) {
  const h = HINTS.has(hint) ? hint : null;
  let infoText;
  try {
    infoText = rl.load_dataset(key, names, arrays, h);
  } catch (err) {
    if (isFatal(err)) throw err;
    // Make sure the message names the file(s) even if the engine did not.
    const msg = messageOf(err);
    if (!names.some((n) => msg.includes(n))) {
      throw new Error(`${names.join(', ')}: ${msg}`);
    }
    throw new Error(msg);
  }
  const info = parseJson(infoText, 'load_dataset');
  // Kept (as given: compressed files stay compressed) to move with a change of
  // engine, where one can happen: WebGPU and the threaded CPU engine both possible.
  if (self.navigator?.gpu && threadPlan().threads > 0) datasetInputs.set(key, { names, arrays, hint: h });
  post({ type: 'dataset', key, info });
  return info;
}

async function loadSample(dataset) {
  const sample = SAMPLES[dataset];
  if (!sample) throw new Error(`unknown built-in sample "${dataset}"`);
  const urls = sample.files.map((f) => new URL(f, SITE_ROOT).href);
  const arrays = await fetchAll(urls, `Built-in ${dataset === 'mnist' ? 'MNIST' : 'CIFAR-10'} sample`);
  await loadEngine();
  post({ type: 'progress', what: 'Decoding dataset', loaded: 0, total: 0 });
  return loadIntoEngine(sample.key, urls.map(fileName), arrays, sample.hint);
}

async function loadFiles(files, hint) {
  if (!Array.isArray(files) || files.length === 0) throw new Error('no files were given');
  const names = [];
  const arrays = [];
  for (const f of files) {
    const name = String(f?.name ?? 'file');
    const bytes = f?.bytes;
    if (!(bytes instanceof ArrayBuffer) && !ArrayBuffer.isView(bytes)) throw new Error(`${name}: could not be read`);
    names.push(name);
    arrays.push(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  await loadEngine();
  post({ type: 'progress', what: 'Decoding dataset', loaded: 0, total: 0 });
  return loadIntoEngine('user', names, arrays, hint);
}

async function loadUrl(url, hint) {
  const urls = (Array.isArray(url) ? url : String(url ?? '').split(/\s+/)).map((u) => String(u).trim()).filter(Boolean);
  if (urls.length === 0) throw new Error('no URL was given');
  for (const u of urls) {
    let parsed;
    try {
      parsed = new URL(u, SITE_ROOT);
    } catch {
      throw new Error(`${u}: not a valid URL`);
    }
    if (!['http:', 'https:'].includes(parsed.protocol)) throw new Error(`${u}: only http(s) URLs can be loaded`);
  }
  const abs = urls.map((u) => new URL(u, SITE_ROOT).href);
  const arrays = await fetchAll(abs, urls.length === 1 ? `Downloading ${fileName(abs[0])}` : `Downloading ${urls.length} files`);
  await loadEngine();
  post({ type: 'progress', what: 'Decoding dataset', loaded: 0, total: 0 });
  return loadIntoEngine('user', abs.map(fileName), arrays, hint);
}

// ---------------------------------------------------------------- training

const GB = 1024 ** 3;
/** Wasm32 addresses 4 GB; the datasets and the engine need some of it. */
const WASM_BUDGET = 3 * GB;
/** navigator.deviceMemory as the page reported it (GB, rounded; browsers cap it at 8). */
let deviceMemoryGb = null;

/**
 * What one run may use: the wasm address space on the CPU backend, and on any
 * backend at most half of the device's memory (a phone or a small laptop shares
 * it with the system, the browser and, for an integrated GPU, the GPU).
 * Browsers report at most 8 GB, so 8 means "8 GB or more": no device limit then
 * (a desktop GPU may well hold more).
 */
function memoryBudget(backend) {
  const device = deviceMemoryGb && deviceMemoryGb < 8 ? (deviceMemoryGb * GB) / 2 : Infinity;
  if (backend === 'webgpu') return { bytes: device, why: 'device' };
  return device < WASM_BUDGET ? { bytes: device, why: 'device' } : { bytes: WASM_BUDGET, why: 'wasm' };
}

/**
 * A rough upper estimate of what training needs: the activations autodiff
 * keeps for the backward pass (about three tensors per layer: conv, BN and
 * ReLU outputs), plus weights, gradients and two optimizer moments. A run
 * that cannot fit is refused with a message instead of killing the tab.
 */
function trainingBytes(description, batch) {
  const layers = Array.isArray(description?.layers) ? description.layers : [];
  const size = (shape) => (Array.isArray(shape) ? shape.reduce((a, b) => a * b, 1) : 0);
  const activations = layers.reduce((a, l) => a + size(l.shape), 0) + size(description?.input);
  const largest = Math.max(0, ...layers.map((l) => size(l.shape)));
  const params = Number(description?.params) || 0;
  return { total: batch * activations * 4 * 3 + params * 4 * 4, largestBuffer: batch * largest * 4, perImage: activations * 4 * 3 };
}

function checkMemory(json, config) {
  let description;
  try {
    description = parseJson(rl.describe_model(json), 'describe_model');
  } catch {
    return; // the engine will report a bad model itself
  }
  const batch = Number(config?.batch_size) || 1;
  const need = trainingBytes(description, batch);
  const gb = (b) => `${(b / GB).toFixed(b < 10 * GB ? 1 : 0)} GB`;
  const model = description?.model ?? config?.model;
  const budget = memoryBudget(backendInfo?.backend);
  if (need.total > budget.bytes) {
    const fits = Math.max(0, Math.floor((budget.bytes - (need.total - batch * need.perImage)) / need.perImage));
    const where = budget.why === 'wasm'
      ? `the CPU backend in the browser can use at most ${gb(budget.bytes)}`
      : `this device reports ${deviceMemoryGb} GB of memory, of which a run may use about ${gb(budget.bytes)}`;
    throw new Error(`Not started: ${model} at batch ${batch} needs about ${gb(need.total)} of memory to train, and ${where}. ` +
      (fits >= 1 ? `Try a batch size of ${fits} or less.` : 'This network is too large for this device; use the command-line version on a bigger machine.'));
  }
  const limit = gpuDevice?.limits?.maxStorageBufferBindingSize;
  if (backendInfo?.backend === 'webgpu' && Number.isFinite(limit) && need.largestBuffer > limit) {
    const fits = Math.max(1, Math.floor((limit / need.largestBuffer) * batch));
    throw new Error(`Not started: at batch ${batch} one layer of ${model} needs a ${gb(need.largestBuffer)} buffer, ` +
      `more than this GPU allows (${gb(limit)}). Try a batch size of ${fits} or less.`);
  }
}

/**
 * Seconds per training step of each config on this backend: one warm-up step
 * (kernels compile, buffers are allocated), then the median of two timed
 * steps, on synthetic data of the config's shape.
 */
async function measure(configs) {
  await loadEngine();
  const out = [];
  for (const config of Array.isArray(configs) ? configs : []) {
    const r = parseJson(await rl.measure_config(JSON.stringify(config), 1, 2, 20), 'measure_config');
    out.push({ seconds_per_step: Number.isFinite(r?.ms_per_step) ? r.ms_per_step / 1000 : null, steps_timed: r?.step_ms?.length ?? 0 });
  }
  return out;
}

async function train(runId, config, datasetKey, initModel) {
  if (running) throw new Error('a run is already in progress');
  await loadEngine(); // the backend chosen, its engine active
  const json = typeof config === 'string' ? config : JSON.stringify(config);
  const errors = parseJson(rl.validate_config(json, datasetKey), 'validate_config');
  if (Array.isArray(errors) && errors.length) {
    post({ type: 'validation', id: `run-${runId}`, errors });
    throw new Error(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
  checkMemory(json, config);
  const ctl = new rl.Control();
  running = { runId, ctl };
  lastRunId = runId;
  let finished = false;
  try {
    const init = typeof initModel === 'string' && initModel ? initModel : undefined;
    const resultText = await rl.train(json, datasetKey, ctl, (eventJson) => {
      let event;
      try {
        event = typeof eventJson === 'string' ? JSON.parse(eventJson) : eventJson;
      } catch {
        return;
      }
      if (event?.type === 'finished') finished = true;
      if (event?.type === 'steps') event.memory = memoryNow();
      post({ type: 'event', runId, event });
    }, String(runId), init);
    const result = parseJson(resultText, 'train');
    // A lost device shows first as a failed read-back; say what really happened.
    if (result?.status === 'failed' && deviceLostMessage) result.message = `${deviceLostMessage} ${result.message ?? ''}`.trim();
    if (!finished && result && typeof result === 'object') {
      post({
        type: 'event',
        runId,
        event: {
          type: 'finished',
          status: result.status ?? 'finished',
          message: result.message ?? '',
          test_accuracy: result.test_accuracy ?? null,
          test_loss: result.test_loss ?? null,
        },
      });
    }
    post({ type: 'result', runId, result });
  } finally {
    running = null;
  }
}

// ---------------------------------------------------------------- messages

function enqueue(context, fn, extra = {}) {
  const job = queue.then(fn).catch((err) => reportError(context, err, extra));
  queue = job.then(() => undefined);
  return job;
}

self.onmessage = (ev) => {
  const msg = ev.data ?? {};
  if (TEST_ONLY.has(msg.type) && !TEST_MODE) {
    post({
      type: 'error',
      context: 'worker',
      refused: msg.type,
      message: `The training engine refused the test-only message "${msg.type}": it is accepted only when the page is opened in test mode (?test=1).`,
    });
    return;
  }
  switch (msg.type) {
    case 'init':
      if (Number.isFinite(msg.deviceMemory) && msg.deviceMemory > 0) deviceMemoryGb = msg.deviceMemory;
      if (msg.isolation && typeof msg.isolation === 'object') {
        const text = (v) => (typeof v === 'string' && v ? v : null);
        pageIsolation = { by: text(msg.isolation.by), why: text(msg.isolation.why) };
      }
      backendPromise = enqueue('backend', () => chooseBackend(msg.backend, msg.why));
      break;
    case 'load-sample':
      enqueue('dataset', () => loadSample(msg.dataset), { key: SAMPLES[msg.dataset]?.key });
      break;
    case 'load-files':
      enqueue('dataset', () => loadFiles(msg.files, msg.hint), { key: 'user' });
      break;
    case 'load-url':
      enqueue('dataset', () => loadUrl(msg.url ?? msg.urls, msg.hint), { key: 'user' });
      break;
    case 'describe':
      loadEngine()
        .then(() => {
          const description = parseJson(rl.describe_model(JSON.stringify(msg.config)), 'describe_model');
          post({ type: 'model', id: msg.id ?? null, config: msg.config, description });
        })
        .catch((err) => reportError('describe', err, { id: msg.id ?? null }));
      break;
    case 'validate':
      loadEngine()
        .then(() => {
          const errors = parseJson(rl.validate_config(JSON.stringify(msg.config), typeof msg.datasetKey === 'string' ? msg.datasetKey : undefined), 'validate_config');
          post({ type: 'validation', id: msg.id ?? null, errors: Array.isArray(errors) ? errors : [] });
        })
        .catch((err) => reportError('validate', err, { id: msg.id ?? null }));
      break;
    case 'measure':
      // Queued like a run: a measurement taken while a run trains would time both.
      enqueue('measure', () => measure(msg.configs), { id: msg.id ?? null }).then((results) => {
        if (results) post({ type: 'measured', id: msg.id ?? null, backend: backendInfo?.backend ?? null, results });
      });
      break;
    case 'train':
      // Runs wait their turn in the worker's queue (the page sends one at a time).
      enqueue('train', () => train(msg.runId, msg.config, msg.datasetKey, msg.initModel), { runId: msg.runId });
      break;
    case 'presets':
      loadEngine()
        .then(() => post({ type: 'presets', presets: parseJson(rl.presets(), 'presets') }))
        .catch((err) => reportError('presets', err));
      break;
    case 'expand':
      loadEngine()
        .then(() => {
          const text = msg.grid
            ? rl.expand_grid(JSON.stringify(msg.grid))
            : rl.expand_preset(String(msg.preset ?? ''), String(msg.budget ?? 'classroom'), Number(msg.scale ?? 1),
              JSON.stringify(msg.overrides ?? {}));
          post({ type: 'expanded', id: msg.id ?? null, runs: parseJson(text, 'expand') });
        })
        .catch((err) => reportError('expand', err, { id: msg.id ?? null }));
      break;
    case 'claims':
      // Reads only the records it is sent: answered at once, even during a run.
      loadEngine()
        .then(() => {
          const records = Array.isArray(msg.records) ? msg.records : [];
          const claims = parseJson(rl.check_claims(String(msg.preset ?? ''), JSON.stringify(records)), 'check_claims');
          post({ type: 'claims', id: msg.id ?? null, claims: Array.isArray(claims) ? claims : [] });
        })
        .catch((err) => reportError('claims', err, { id: msg.id ?? null }));
      break;
    case 'checkpoint':
      // Not queued: it runs between two training steps of the run it saves.
      loadEngine()
        .then(async () => {
          const bytes = await rl.save_model(String(msg.runId));
          post({ type: 'checkpoint', runId: msg.runId, epoch: msg.epoch, step: msg.step, bytes }, [bytes.buffer]);
        })
        .catch((err) => reportError('checkpoint', err, { runId: msg.runId }));
      break;
    case 'save-model':
      enqueue('save-model', async () => {
        // A promise on devices whose read-back is async (WebGPU), bytes otherwise.
        const bytes = await rl.save_model(String(msg.runId));
        post({ type: 'model-file', runId: msg.runId, bytes }, [bytes.buffer]);
      }, { runId: msg.runId });
      break;
    case 'load-model':
      enqueue('load-model', async () => {
        await loadEngine();
        const bytes = msg.bytes instanceof ArrayBuffer ? new Uint8Array(msg.bytes) : new Uint8Array(0);
        const config = parseJson(rl.load_model(String(msg.key), bytes), 'load_model');
        post({ type: 'model-loaded', key: msg.key, name: msg.name, config });
      }, { key: msg.key });
      break;
    case 'evaluate-model':
      enqueue('evaluate', async () => {
        const result = parseJson(await rl.evaluate_model(String(msg.key), String(msg.datasetKey)), 'evaluate_model');
        post({ type: 'evaluation', id: msg.id ?? null, key: msg.key, result });
      }, { id: msg.id ?? null, key: msg.key });
      break;
    case 'layer-stats':
      enqueue('layer-stats', async () => {
        const stats = parseJson(await rl.layer_stats(String(msg.runId), String(msg.datasetKey), Number(msg.n ?? 100)), 'layer_stats');
        post({ type: 'layer-stats', runId: msg.runId, stats });
      }, { runId: msg.runId });
      break;
    case 'images':
      // Host memory only (no device): answered at once, even during a run.
      loadEngine()
        .then(() => {
          const meta = parseJson(rl.dataset_labels(String(msg.datasetKey)), 'dataset_labels');
          const pixels = rl.dataset_images(String(msg.datasetKey), 0, Math.max(0, Math.min(4000, Number(msg.count) || 0)));
          post({ type: 'images', datasetKey: msg.datasetKey, pixels, meta }, [pixels.buffer]);
        })
        .catch((err) => reportError('images', err, { datasetKey: msg.datasetKey }));
      break;
    case 'debug-crash':
      // For tests: what a wasm trap (out of memory, a bug) does to the engine.
      enqueue('train', () => {
        throw new WebAssembly.RuntimeError('unreachable (provoked by a test)');
      });
      break;
    case 'debug-lose-device':
      // For tests: provoke a device loss as a driver reset would.
      gpuDevice?.destroy();
      break;
    case 'debug-gpu-error':
      // For tests: a call the device rejects, reported as an uncaptured validation error.
      gpuDevice?.createBuffer({ size: 4, usage: 0 });
      break;
    case 'pause':
    case 'resume':
    case 'stop':
      try {
        running?.ctl?.[msg.type]();
      } catch (err) {
        reportError('control', err);
      }
      break;
    default:
      post({ type: 'error', context: 'worker', message: `unknown message "${String(msg.type)}"` });
  }
};

// Errors escaping a promise chain still reach the page as messages.
self.addEventListener('unhandledrejection', (ev) => {
  ev.preventDefault();
  reportError('worker', ev.reason);
});
