// The engine's worker: training. A run is checked (its settings against its
// dataset, its memory against what this device allows) and trained, its
// events told to the page as they come; the engine's speed on a config is
// measured on request.

import { backendInfo, deviceLostMessage, deviceMemoryGb, gpuDevice, loadEngine, memoryNow, noteRun, rl } from './worker-backend.js';
import { parseJson, post } from './worker-util.js';

/** The running training: {runId, ctl} */
let running = null;

const GB = 1024 ** 3;
/** Wasm32 addresses 4 GB; the datasets and the engine need some of it. */
const WASM_BUDGET = 3 * GB;

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
export async function measure(configs) {
  await loadEngine();
  const out = [];
  for (const config of Array.isArray(configs) ? configs : []) {
    const r = parseJson(await rl.measure_config(JSON.stringify(config), 1, 2, 20), 'measure_config');
    out.push({ seconds_per_step: Number.isFinite(r?.ms_per_step) ? r.ms_per_step / 1000 : null, steps_timed: r?.step_ms?.length ?? 0 });
  }
  return out;
}

/**
 * Trains run `runId`; its events go to the page as they come. Resolves to the
 * run's result. `initModel`: a kept model's key, whose weights it starts from;
 * `resume`: a loaded checkpoint's key (load-checkpoint), whose run it continues.
 */
export async function train(runId, config, datasetKey, initModel, resume) {
  if (running) throw new Error('a run is already in progress');
  await loadEngine(); // the backend chosen, its engine active
  const json = typeof config === 'string' ? config : JSON.stringify(config);
  const errors = parseJson(rl.validate_config(json, datasetKey), 'validate_config');
  if (Array.isArray(errors) && errors.length) throw new Error(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  checkMemory(json, config);
  const ctl = new rl.Control();
  running = { runId, ctl };
  noteRun(runId);
  let finished = false;
  try {
    const init = typeof initModel === 'string' && initModel ? initModel : undefined;
    const from = typeof resume === 'string' && resume ? resume : undefined;
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
    }, String(runId), init, from);
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
    return result;
  } finally {
    running = null;
    noteRun(null);
  }
}

/** Pause, resume or stop (`what`) the run in progress; nothing if none runs. */
export function control(what) {
  running?.ctl?.[what]();
}
