// The engine's worker: the engine itself (the wasm module, loaded once per
// kind: the full engine for WebGPU and one CPU thread, the threaded engine
// for the CPU backend on a cross-origin isolated page), the backend it trains
// on and how it was chosen, and the GPU device it uses, watched for loss and
// errors.

import { probeWebGpu } from './gpu-adapter.js';
import { ENGINE_URL, THREADED_ENGINE_URL, threadPlan, startPool } from './threads.js';
import { engineLoadError, isFatal, messageOf, parseJson, post, reportError } from './worker-util.js';

/** @type {any} the active engine's module namespace (see `activate`) */
export let rl = null;
/** The engines loaded in this worker, by URL: {mod, memory}. */
const engines = new Map();
/** The active engine's linear memory, for the memory figures sent with each progress event. */
let wasmMemory = null;
/** Why the engine could not be loaded (then every request fails with it). */
let engineError = null;
/**
 * What each dataset slot was loaded from, so that a change of engine (WebGPU
 * ↔ threaded CPU) can load it into the other engine too: key → {load(engine
 * module)}.
 */
export const datasetInputs = new Map();
/** Resolves once a backend has been initialised (or chosen). */
let backendPromise = null;
/** The backend in use: {backend, adapter, reason, threads?}. */
export let backendInfo = null;
/** How the page is cross-origin isolated, or why not ({by, why}, from the page's 'init'): said with the CPU backend's threads. */
let pageIsolation = null;
/** navigator.deviceMemory as the page reported it (GB, rounded; browsers cap it at 8). */
export let deviceMemoryGb = null;
/** The run in progress (or the latest): a GPU failure noticed just after a run's end is still its cause. */
let runNow = null;
let lastRunId = null;

/** Training run `runId` starts (null: the run ended). */
export function noteRun(runId) {
  runNow = runId;
  if (runId !== null) lastRunId = runId;
}

/**
 * The engine's memory: `wasm`, the bytes of its linear memory (it only grows:
 * the allocator's high-water mark, reached whenever fragmentation says), and
 * `heap`, the bytes its allocator has handed out and not had back (where a
 * leak shows, step by step).
 */
export function memoryNow() {
  const heap = Number(rl?.heap_in_use?.());
  return { wasm: wasmMemory?.buffer?.byteLength ?? null, heap: Number.isFinite(heap) && heap > 0 ? heap : null };
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
async function activate(engine, kind, kernels) {
  const info = parseJson(await engine.mod.init_backend(kind, kernels), 'init_backend');
  const old = rl;
  if (old && old !== engine.mod) {
    // Copy everything first: if a copy fails, the old engine stays active with all it had.
    for (const input of datasetInputs.values()) input.load(engine.mod);
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
    const schema = parseJson(rl.config_schema(), 'config_schema');
    post({ type: 'ready', defaults, models, schema });
  }
  return info;
}

/** The active engine, once the backend has been chosen (by the page's 'init', else 'auto'). */
export async function loadEngine() {
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
/** The GPU device the engine uses (tests destroy it, or make it report an error). */
export let gpuDevice = null;
let deviceLostReported = false;
/** How the device was lost, once it was: a run that failed on it says so. */
export let deviceLostMessage = null;
let gpuErrorReported = false;
/** The last error the GPU device reported, in words. */
let gpuErrorMessage = null;
/** The self-check is running (a GPU error then fails the check rather than a run). */
let checking = false;
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
      post({ type: 'device-lost', runId: runNow ?? lastRunId, message: deviceLostMessage });
    });
    // Registered before the engine's own handler, so the page hears it first.
    device.addEventListener?.('uncapturederror', (ev) => {
      if (gpuDevice !== device || gpuErrorReported || deviceLostReported) return;
      gpuErrorMessage = describeGpuError(ev.error);
      // During the self-check no run is at stake: the check fails and says so.
      if (runNow === null && checking) return;
      gpuErrorReported = true;
      post({ type: 'gpu-error', runId: runNow ?? lastRunId, message: gpuErrorMessage });
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

/** Set by the page in test mode ('init'): the op the GPU self-check is to find wrong. */
let corruptOp = null;

/**
 * Starts WebGPU (with the kernels for a software adapter if it is one) and
 * checks it: the self-check (src/selfcheck.rs) runs each layer kind forward
 * and backward on the GPU and on the CPU and compares. A GPU that computes
 * wrong (a driver bug, a dropped command buffer) or reports an error meanwhile
 * is not trained on: this throws a SelfCheckError and the caller starts the
 * CPU backend, saying why.
 */
async function initWebGpu(name, software) {
  const info = await activate(await fullEngine(), 'webgpu', software ? 'software' : 'default');
  const adapter = describeAdapter(info?.adapter, name);
  const t0 = performance.now();
  const errorsBefore = gpuErrorMessage;
  let check;
  try {
    checking = true;
    check = parseJson(await rl.gpu_self_check(corruptOp ?? undefined), 'gpu_self_check');
  } catch (err) {
    if (isFatal(err)) throw err;
    throw new SelfCheckError(`the GPU self-check could not run on ${adapter} (${messageOf(err)})`);
  } finally {
    checking = false;
  }
  if (gpuErrorMessage !== errorsBefore) throw new SelfCheckError(`the GPU self-check on ${adapter} made the GPU report an error: ${gpuErrorMessage}`);
  if (!check?.ok) throw new SelfCheckError(`the GPU self-check failed on ${adapter}: ${check?.failure ?? 'no answer'}`);
  selfCheck = { ok: true, ms: Math.round(performance.now() - t0), compared: check.compared.length };
  const reason = software
    ? `WebGPU: ${adapter} (software rendering, ${software}: slow)`
    : `WebGPU: ${adapter}`;
  backendInfo = { backend: info?.backend === 'cpu' ? 'cpu' : 'webgpu', adapter, reason, selfCheck };
  return backendInfo;
}

class SelfCheckError extends Error {}
/** The last self-check's outcome: {ok, ms, compared} or {ok:false, why}. */
let selfCheck = null;

/** A failed self-check: the CPU backend trains instead, and the page says exactly why. */
function afterSelfCheck(err) {
  selfCheck = { ok: false, why: err.message };
  post({ type: 'error', context: 'backend', message: `${err.message[0].toUpperCase()}${err.message.slice(1)}; training on the CPU backend instead.` });
  return initCpu(`WebGPU not used: ${err.message}`);
}

/** Chooses backend `requested` ('auto' | 'webgpu' | 'cpu'; `why`: the CPU's reason, if not the settings). Resolves to the backend's info. */
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
      if (err instanceof SelfCheckError) return afterSelfCheck(err);
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
    if (err instanceof SelfCheckError) return afterSelfCheck(err);
    return initCpu(`WebGPU failed to start: ${messageOf(err)}`);
  }
}

/**
 * The page's 'init': what it says of the device and the page is kept, and
 * the backend is chosen, as a job of the worker's queue (`enqueue`: after
 * what was asked before). Requests that need the engine wait for it.
 * Resolves to the backend's info.
 */
export function initBackend(msg, enqueue, testMode = false) {
  if (typeof msg.corruptGpuOp === 'string' && msg.corruptGpuOp) {
    if (testMode) corruptOp = msg.corruptGpuOp;
    else console.warn('ResLab: corruptGpuOp is obeyed in test mode only (worker.js?test=1); ignored.');
  }
  if (Number.isFinite(msg.deviceMemory) && msg.deviceMemory > 0) deviceMemoryGb = msg.deviceMemory;
  if (msg.isolation && typeof msg.isolation === 'object') {
    const text = (v) => (typeof v === 'string' && v ? v : null);
    pageIsolation = { by: text(msg.isolation.by), why: text(msg.isolation.why) };
  }
  const job = enqueue(() => chooseBackend(msg.backend, msg.why));
  backendPromise = job.catch(() => {});
  return job;
}
