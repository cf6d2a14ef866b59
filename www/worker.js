// ResLab training worker (module worker): the entry point and its protocol.
//
// Owns the wasm engine, the compute device, the datasets and the training
// loop, so the page's main thread only draws. The work is done by
// worker-backend.js (the engine, the backend, the GPU device),
// worker-data.js (datasets) and worker-train.js (training, measuring).
//
// Requests (page → worker, each with an `id`): {type, id, ...payload}. The
// worker answers each exactly once, echoing the id:
//   {type:'reply', id, value}
//   {type:'error', id, context, message, fatal}   fatal: a wasm trap (the page restarts the worker);
//                                                context 'engine': the engine failed to load
// type and payload → value:
//   init           {backend:'auto'|'webgpu'|'cpu', why?, deviceMemory?, isolation?, corruptGpuOp?}
//                                          → {backend, adapter, reason, threads?, selfCheck?}
//                  WebGPU starts only if its self-check (each layer kind against the CPU) passes;
//                  corruptGpuOp (test mode only) makes the check find that op wrong
//                  why: the CPU backend's reason, if not the settings; isolation: {by, why}, how the
//                  page is cross-origin isolated or why not (www/isolation.js); both kept for later inits
//   load-sample    {dataset:'mnist'|'cifar10'}                        → {key, info}
//   load-files     {files:[{name, bytes:ArrayBuffer}], hint}           → {key:'user', info}
//   load-url       {url, hint}   (url may hold several URLs separated by spaces) → {key:'user', info}
//   describe       {config}                                           → description
//   validate       {config, datasetKey?}   datasetKey: also check sizes against that loaded dataset → [{field, message}]
//   train          {runId, config, datasetKey, initModel?, resume?}   the model and each epoch's checkpoint are
//                  kept under String(runId); resume: a load-checkpoint key, the run it continues → result
//   presets        {}                                                 → [preset]
//   expand         {preset?, budget?, scale?, overrides?, grid?}      → [{label, config}]
//   measure        {configs:[config]}   a few training steps of each on this backend → [{seconds_per_step, steps_timed}]
//   claims         {preset, records:[record]}   a preset's claims judged on result records (Export JSON's format)
//                                                                     → [{claim, verdict, evidence}]
//   checkpoint     {runId, epoch, step}   the running run's latest epoch, saved at once
//                                         → {epoch, step, bytes, optimizer_state}
//   load-checkpoint {key, bytes:ArrayBuffer}   kept under key for a train's resume → {key, config, epoch, step, optimizer_state}
//   save-model     {key}   a kept model (a run's id, or a loaded model's key) → bytes (Uint8Array)
//   load-model     {key, name, bytes:ArrayBuffer}                     → {key, name, config}
//   evaluate-model {key, datasetKey}                                  → result
//   layer-stats    {key, datasetKey, n}                               → [{name, index, std}]
//   images         {datasetKey, count}                                → {pixels:Uint8Array, meta:{labels, classes, channels, height, width}}
//   model-info     {key}                                  → {class_names, input:[c,h,w], fit, model, dataset}
//   look-inside    {key, pixels:Uint8Array (one input, c·h·w), maps}
//                  → {probabilities:Float32Array, maps:[{name, channels, height, width}], pixels:Uint8Array}
//                  the feature maps of every convolution stage when maps (src/model/inside.rs)
//   first-filters  {key}                                  → {filters:{name, count, total, channels, height, width}, pixels}
// The backend's choice, loads, trainings, measurements and the model jobs
// wait their turn in one queue (the engine does one at a time); the others
// are answered at once, even during a run.
//
// Commands (page → worker, no id, no answer): {type:'pause'|'resume'|'stop'};
// and, for tests, {type:'debug-lose-device'} (destroys the GPU device),
// {type:'debug-gpu-error'} (an invalid call on the GPU device),
// {type:'debug-crash'} (a wasm trap, as out-of-memory would give). The three
// debug-* messages are obeyed only by a worker started in test mode (its URL
// is worker.js?test=1, as the page opened with ?test=1 starts it); otherwise
// each is refused with {type:'error', context:'worker', refused, message}.
//
// Events (worker → page, unasked):
//   {type:'ready', defaults, models, schema}   engine loaded; its default config, model ids and config schema
//   {type:'progress', what, loaded, total}  a dataset being fetched or decoded
//   {type:'event', runId, event}           a training event: start, steps, epoch, paused, resumed, finished
//   {type:'device-lost', runId, message}   the page restarts the worker
//   {type:'gpu-error', runId, message}     the page restarts the worker on the CPU backend
//   {type:'error', context, message, fatal?, refused?}   an error no request waits for

import { gpuDevice, initBackend, loadEngine, rl } from './worker-backend.js';
import { loadFiles, loadPictures, loadSample, loadUrl, placePictures } from './worker-data.js';
import { control, measure, train } from './worker-train.js';
import { Transfer, describeError, parseJson, post, reportError } from './worker-util.js';

/** Started in test mode (worker.js?test=1): only then are the test-only messages obeyed. */
const TEST_MODE = new URL(import.meta.url).searchParams.get('test') === '1';
/** Messages that exist only for the end-to-end tests: they crash the engine or break its device. */
const TEST_ONLY = new Set(['debug-crash', 'debug-lose-device', 'debug-gpu-error']);

/** Serialises loads and trainings: the engine handles one at a time. */
let queue = Promise.resolve();

/** Runs `fn` after every job queued before it; resolves or rejects as it does. */
function enqueue(fn) {
  const job = queue.then(fn);
  queue = job.then(() => undefined, () => undefined);
  return job;
}

/** With the engine loaded (the backend chosen). */
const engine = (fn) => (msg) => loadEngine().then(() => fn(msg));

/**
 * The requests: type → {context, queued?, run(msg)}. `context` names what
 * failed in an error answer; `queued` jobs wait their turn; `run` resolves to
 * the answer (a Transfer to move its buffers).
 */
const REQUESTS = {
  // corruptGpuOp (the op the GPU self-check is to find wrong) is obeyed in test mode only.
  init: { context: 'backend', run: (msg) => initBackend(msg, enqueue, TEST_MODE) },
  'load-sample': { context: 'dataset', queued: true, run: (msg) => loadSample(msg.dataset) },
  'load-files': { context: 'dataset', queued: true, run: (msg) => loadFiles(msg.files, msg.hint) },
  'load-url': { context: 'dataset', queued: true, run: (msg) => loadUrl(msg.url ?? msg.urls, msg.hint) },
  // Pictures: where each path goes (answered at once), then the decoded pixels as a dataset.
  'place-pictures': { context: 'dataset', run: (msg) => placePictures(msg.names) },
  'load-pictures': { context: 'dataset', queued: true, run: (msg) => loadPictures(msg) },
  describe: {
    context: 'describe',
    run: engine((msg) => parseJson(rl.describe_model(JSON.stringify(msg.config)), 'describe_model')),
  },
  validate: {
    context: 'validate',
    run: engine((msg) => {
      const key = typeof msg.datasetKey === 'string' ? msg.datasetKey : undefined;
      const errors = parseJson(rl.validate_config(JSON.stringify(msg.config), key), 'validate_config');
      return Array.isArray(errors) ? errors : [];
    }),
  },
  // Queued like a run: a measurement taken while a run trains would time both.
  measure: { context: 'measure', queued: true, run: (msg) => measure(msg.configs) },
  // Runs wait their turn in the queue (the page sends one at a time).
  train: { context: 'train', queued: true, run: (msg) => train(msg.runId, msg.config, msg.datasetKey, msg.initModel, msg.resume) },
  presets: { context: 'presets', run: engine(() => parseJson(rl.presets(), 'presets')) },
  expand: {
    context: 'expand',
    run: engine((msg) => {
      const text = msg.grid
        ? rl.expand_grid(JSON.stringify(msg.grid))
        : rl.expand_preset(String(msg.preset ?? ''), String(msg.budget ?? 'classroom'), Number(msg.scale ?? 1),
          JSON.stringify(msg.overrides ?? {}));
      return parseJson(text, 'expand');
    }),
  },
  // Reads only the records it is sent: answered at once, even during a run.
  claims: {
    context: 'claims',
    run: engine((msg) => {
      const records = Array.isArray(msg.records) ? msg.records : [];
      const claims = parseJson(rl.check_claims(String(msg.preset ?? ''), JSON.stringify(records)), 'check_claims');
      return Array.isArray(claims) ? claims : [];
    }),
  },
  // Not queued: it runs between two training steps of the run it saves.
  checkpoint: {
    context: 'checkpoint',
    run: engine(async (msg) => {
      // Weights, optimizer state, step and curves (RESLABCKPT1); on WebGPU the weights only.
      const { bytes, optimizer_state } = await rl.save_checkpoint(String(msg.runId));
      return new Transfer({ epoch: msg.epoch, step: msg.step, bytes, optimizer_state }, [bytes.buffer]);
    }),
  },
  'load-checkpoint': {
    context: 'load-checkpoint',
    queued: true,
    run: engine((msg) => {
      const bytes = msg.bytes instanceof ArrayBuffer ? new Uint8Array(msg.bytes) : new Uint8Array(0);
      const info = parseJson(rl.load_checkpoint(String(msg.key), bytes), 'load_checkpoint');
      return { key: msg.key, ...info };
    }),
  },
  'save-model': {
    context: 'save-model',
    queued: true,
    run: engine(async (msg) => {
      // A promise on devices whose read-back is async (WebGPU), bytes otherwise.
      const bytes = await rl.save_model(String(msg.key ?? msg.runId));
      return new Transfer(bytes, [bytes.buffer]);
    }),
  },
  'load-model': {
    context: 'load-model',
    queued: true,
    run: engine((msg) => {
      const bytes = msg.bytes instanceof ArrayBuffer ? new Uint8Array(msg.bytes) : new Uint8Array(0);
      const config = parseJson(rl.load_model(String(msg.key), bytes), 'load_model');
      return { key: msg.key, name: msg.name, config };
    }),
  },
  'evaluate-model': {
    context: 'evaluate',
    queued: true,
    run: engine(async (msg) => parseJson(await rl.evaluate_model(String(msg.key), String(msg.datasetKey)), 'evaluate_model')),
  },
  'layer-stats': {
    context: 'layer-stats',
    queued: true,
    run: engine(async (msg) => parseJson(await rl.layer_stats(String(msg.key ?? msg.runId), String(msg.datasetKey), Number(msg.n ?? 100)), 'layer_stats')),
  },
  // Use the net: not queued, so a drawing is answered between the steps of a run in progress.
  'model-info': { context: 'model', run: engine((msg) => parseJson(rl.model_info(String(msg.key)), 'model_info')) },
  'look-inside': {
    context: 'model',
    run: engine(async (msg) => {
      const pixels = msg.pixels instanceof Uint8Array ? msg.pixels : new Uint8Array(0);
      const a = await rl.look_inside(String(msg.key), pixels, Boolean(msg.maps));
      const value = { probabilities: a.probabilities, maps: parseJson(a.maps, 'look_inside'), pixels: a.pixels };
      return new Transfer(value, [a.probabilities.buffer, a.pixels.buffer]);
    }),
  },
  'first-filters': {
    context: 'model',
    run: engine(async (msg) => {
      const a = await rl.first_filters(String(msg.key));
      return new Transfer({ filters: parseJson(a.filters, 'first_filters'), pixels: a.pixels }, [a.pixels.buffer]);
    }),
  },
  // Host memory only (no device): answered at once, even during a run.
  images: {
    context: 'images',
    run: engine((msg) => {
      const meta = parseJson(rl.dataset_labels(String(msg.datasetKey)), 'dataset_labels');
      const pixels = rl.dataset_images(String(msg.datasetKey), 0, Math.max(0, Math.min(4000, Number(msg.count) || 0)));
      return new Transfer({ pixels, meta }, [pixels.buffer]);
    }),
  },
};

/** The commands: type → what it does (no answer; a failure is reported unasked). */
const COMMANDS = {
  pause: () => control('pause'),
  resume: () => control('resume'),
  stop: () => control('stop'),
  // For tests: what a wasm trap (out of memory, a bug) does to the engine.
  'debug-crash': () =>
    enqueue(() => {
      throw new WebAssembly.RuntimeError('unreachable (provoked by a test)');
    }).catch((err) => reportError('train', err)),
  // For tests: provoke a device loss as a driver reset would.
  'debug-lose-device': () => gpuDevice?.destroy(),
  // For tests: a call the device rejects, reported as an uncaptured validation error.
  'debug-gpu-error': () => gpuDevice?.createBuffer({ size: 4, usage: 0 }),
};

/** Answers request `msg` with what `job` resolves or rejects to. */
function answer(msg, context, job) {
  job.then(
    (value) => {
      if (value instanceof Transfer) post({ type: 'reply', id: msg.id, value: value.value }, value.list);
      else post({ type: 'reply', id: msg.id, value });
    },
    (err) => post({ type: 'error', id: msg.id, ...describeError(context, err) }),
  );
}

self.onmessage = (ev) => {
  const msg = ev.data ?? {};
  const hasId = msg.id !== undefined && msg.id !== null;
  if (TEST_ONLY.has(msg.type) && !TEST_MODE) {
    post({
      type: 'error',
      ...(hasId ? { id: msg.id } : {}),
      context: 'worker',
      refused: msg.type,
      message: `The training engine refused the test-only message "${msg.type}": it is accepted only when the page is opened in test mode (?test=1).`,
    });
    return;
  }
  const request = REQUESTS[msg.type];
  if (request && hasId) {
    answer(msg, request.context, request.queued ? enqueue(() => request.run(msg)) : Promise.resolve().then(() => request.run(msg)));
    return;
  }
  const command = COMMANDS[msg.type];
  if (command) {
    try {
      command(msg);
    } catch (err) {
      reportError('control', err);
    }
    return;
  }
  const problem = request ? `the request "${String(msg.type)}" came without an id` : `unknown message "${String(msg.type)}"`;
  post({ type: 'error', ...(hasId ? { id: msg.id } : {}), context: 'worker', message: problem });
};

// Errors escaping a promise chain still reach the page as messages.
self.addEventListener('unhandledrejection', (ev) => {
  ev.preventDefault();
  reportError('worker', ev.reason);
});
