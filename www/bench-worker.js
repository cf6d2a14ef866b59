// The "Check this machine" page's worker (www/bench.js starts one per
// backend, so a backend that fails or traps leaves the others' results, and
// Stop is terminating it): the engine on one backend, put through
//
// - the benchmark protocol of scripts/bench.mjs (the TF.js/PyTorch reference
//   harnesses' protocol: one synthetic seeded batch, SGD with momentum, 3
//   warm-up steps, the median of 10 timed steps each awaiting its loss, a
//   time budget per combination; a batch over budget skips the larger ones;
//   then the first step of a second, fresh model: kernels already compiled);
// - on WebGPU, with the counters of www/gpu-counters.js installed before the
//   engine's first GPU call, what each step asked of the GPU (a snapshot
//   after every step, through bench()'s afterStep), and the GPU self-check;
// - a short real training run (cnn on the built-in MNIST sample).
//
// Messages out: {type:'backend', info}, {type:'progress', text, step, steps},
// {type:'result', result}, {type:'self-check', check}, {type:'training',
// training}, {type:'gpu-error', message}, {type:'done'}, {type:'error', message}.

import { installGpuCounters, diff, kernelsDiff, medianCounts, sumCounts } from './gpu-counters.js';
import { ENGINE_URL, THREADED_ENGINE_URL, threadPlan, startPool } from './threads.js';

const MNIST = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const SAMPLE_DIR = new URL('../assets/sample/mnist/', import.meta.url);
/** The training run's batch size. */
const TRAIN_BATCH = 32;

const post = (m) => self.postMessage(m);
const messageOf = (err) => String(err?.message ?? err);
const ms = (t0) => Math.round(performance.now() - t0);

// The GPU device the engine asks for, watched: an error it reports on its own
// (a kernel it cannot compile, out of memory) or its loss belongs in the report.
function watchDevice() {
  const proto = self.GPUAdapter?.prototype;
  if (!proto?.requestDevice || proto.requestDevice.reslabWatched) return;
  const requestDevice = proto.requestDevice;
  proto.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    device.lost?.then((info) => {
      if (info?.reason !== 'destroyed') post({ type: 'gpu-error', message: `device lost: ${[info?.reason, info?.message].filter(Boolean).join(': ')}` });
    });
    device.addEventListener?.('uncapturederror', (ev) => {
      post({ type: 'gpu-error', message: `${ev.error?.constructor?.name ?? 'GPUError'}: ${String(ev.error?.message ?? '').split('\n')[0].slice(0, 300)}` });
    });
    return device;
  };
  proto.requestDevice.reslabWatched = true;
}

/** Loads the engine for `job.backend` and starts that backend; resolves to {rl, info}. */
async function startEngine(job) {
  const threaded = job.backend === 'cpu-threads';
  const rl = await import((threaded ? THREADED_ENGINE_URL : ENGINE_URL).href);
  await rl.default();
  if (threaded) {
    const plan = threadPlan(self);
    if (plan.threads === 0) throw new Error(`no threads: ${plan.why}`);
    await startPool(rl, job.threads > 0 ? job.threads : plan.threads);
  }
  const kind = job.backend === 'webgpu' ? 'webgpu' : 'cpu';
  const started = JSON.parse(await rl.init_backend(kind, kind === 'webgpu' ? job.kernels : undefined));
  const info = { backend: job.backend, engine: threaded ? 'threads' : 'full', threads: Number(started.threads) || 1 };
  if (kind === 'webgpu') info.kernels = job.kernels;
  return { rl, info };
}

/**
 * The GPU self-check: each layer kind forward and backward on WebGPU and on
 * the CPU, compared; with counters, what it asked of the GPU (its pipelines
 * are compiled here, so the first step that follows may not need them again).
 */
async function selfCheck(rl, counters) {
  post({ type: 'progress', text: 'GPU self-check' });
  const t0 = performance.now();
  const before = counters?.snapshot();
  const kernelsBefore = counters?.kernels();
  const asked = () => (counters ? { gpu_counts: diff(before, counters.snapshot()), by_kernel: kernelsDiff(kernelsBefore, counters.kernels()) } : {});
  try {
    const check = JSON.parse(await rl.gpu_self_check());
    return { ...check, ms: ms(t0), ...asked() };
  } catch (err) {
    return { ok: false, failure: `the self-check could not run: ${messageOf(err)}`, compared: [], ms: ms(t0), ...asked() };
  }
}

/**
 * What each step asked of the GPU: `before` is a snapshot taken before
 * bench() (so the first step includes building the model and uploading the
 * batch), `snaps[i]` the snapshot after step i.
 */
function stepCounts(before, snaps, kernels, created) {
  if (!snaps.length) return null;
  const later = snaps.slice(1).map((s, i) => diff(snaps[i], s));
  const total = sumCounts(later);
  const k = kernels.length;
  return {
    // The last step's dispatches by kernel (pipeline label), largest first: what to fuse first.
    last_step_by_kernel: k ? kernelsDiff(k > 1 ? kernels[k - 2] : kernels.before, kernels[k - 1]) : null,
    first_step: diff(before, snaps[0]),
    later_steps: later.length,
    later_steps_median: medianCounts(later),
    // Whatever the later steps still create: on a settled engine, none.
    later_steps_created: { pipelines: total.pipelines_created, buffers: total.buffers_created, buffer_bytes: total.buffer_bytes_created },
    // The same, step by step (steps 2, 3, …): which step still creates, which
    // kernels' pipelines, and whether it stops.
    created_by_step: later.map((c, i) => ({
      pipelines: c.pipelines_created,
      buffers: c.buffers_created,
      kernels: kernelsDiff(created[i], created[i + 1]),
    })),
  };
}

/** One bench() call; with counters, their per-step counts too. */
async function benchOnce(rl, spec, counters, label) {
  const steps = Math.max(spec.warmup + spec.steps, spec.memory_steps ?? 0);
  const before = counters?.snapshot();
  const snaps = [];
  const kernels = [];
  const created = [];
  kernels.before = counters?.kernels();
  const afterStep = (i) => {
    if (counters) {
      snaps[i] = counters.snapshot();
      kernels[i] = counters.kernels();
      created[i] = counters.created();
    }
    post({ type: 'progress', text: label, step: i + 1, steps });
  };
  post({ type: 'progress', text: label, step: 0, steps });
  const r = JSON.parse(await rl.bench(JSON.stringify(spec), afterStep));
  return { r, counts: counters ? stepCounts(before, snaps.filter(Boolean), kernels.filter(Boolean), created.filter(Boolean)) : null };
}

/** Every model × batch on this backend. */
async function benchmarks(rl, job, info, counters) {
  for (const model of job.models) {
    let overBudget = false;
    for (const batch of job.batches) {
      const base = { backend: job.backend, threads: info.threads, model, batch };
      if (info.kernels) base.kernels = info.kernels;
      // As the reference harnesses do: a batch that ran over budget skips the larger ones.
      if (overBudget) {
        post({ type: 'result', result: { ...base, status: 'skipped', ms_per_step: null, img_per_s: null, first_step_ms: null, first_step_warm_ms: null } });
        continue;
      }
      const label = `${job.backend} · ${model} · batch ${batch}`;
      const spec = { model, optimizer: 'sgdm', batch, warmup: 3, steps: 10, budget: job.budget, memory_steps: job.memorySteps };
      const t0 = performance.now();
      let result;
      try {
        const { r, counts } = await benchOnce(rl, spec, counters, label);
        result = { ...r, ...base, first_step_warm_ms: null };
        if (counts) result.gpu_counts = counts;
        if (r.status !== 'ok') overBudget = true;
        // The first step of a second, fresh model in the same engine: kernels
        // compiled and tuned (on WebGPU), weights and batch uploaded anew.
        if (r.status !== 'over budget') {
          const warm = await benchOnce(rl, { model, optimizer: 'sgdm', batch, warmup: 0, steps: 1, budget: job.budget }, counters, `${label} (fresh model)`);
          result.first_step_warm_ms = warm.r.first_step_ms;
          if (warm.counts) result.gpu_counts.warm_first_step = warm.counts.first_step;
        }
      } catch (err) {
        if (err instanceof WebAssembly.RuntimeError) throw err; // the module is unusable after a trap
        result = { ...base, status: 'failed', error: messageOf(err), ms_per_step: null, img_per_s: null, first_step_ms: null, first_step_warm_ms: null };
        overBudget = true;
      }
      result.seconds = ms(t0) / 1000;
      post({ type: 'result', result });
    }
  }
}

async function fetchBytes(name) {
  const res = await fetch(new URL(name, SAMPLE_DIR));
  if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** A short real run: cnn on the built-in MNIST sample, Adam at its defaults, then its test accuracy. */
async function training(rl, job, info, counters) {
  const out = { backend: job.backend, threads: info.threads, model: 'cnn', dataset: 'sample-mnist', batch: TRAIN_BATCH, steps: job.trainSteps };
  if (info.kernels) out.kernels = info.kernels;
  const t0 = performance.now();
  try {
    post({ type: 'progress', text: `${job.backend} · training: loading the MNIST sample` });
    const files = await Promise.all(MNIST.map(fetchBytes));
    const data = JSON.parse(rl.load_dataset('bench-mnist', MNIST, files, 'mnist'));
    out.train_images = data.train;
    out.test_images = data.test;
    out.load_seconds = ms(t0) / 1000;
    const cfg = { ...JSON.parse(rl.default_config()), dataset: 'mnist', model: 'cnn', batch_size: TRAIN_BATCH, max_steps: job.trainSteps, log_every: 10 };
    out.optimizer = cfg.optimizer;
    out.lr = cfg.lr;
    const label = `${job.backend} · training cnn on the MNIST sample`;
    // On WebGPU, the pipelines created between one logged step and the next: a training run reads its
    // losses back only every `log_every` steps, unlike the benchmark's steps, each awaited.
    let created = counters?.snapshot().pipelines_created;
    if (counters) out.pipelines_created_by_log = [];
    const onEvent = (text) => {
      const e = JSON.parse(text);
      const step = e.type === 'steps' ? e.points?.at(-1)?.step : null;
      if (step == null) return;
      post({ type: 'progress', text: label, step, steps: job.trainSteps });
      if (counters) {
        const now = counters.snapshot().pipelines_created;
        out.pipelines_created_by_log.push({ step, pipelines: now - created });
        created = now;
      }
    };
    const t1 = performance.now();
    const r = JSON.parse(await rl.train(JSON.stringify(cfg), 'bench-mnist', new rl.Control(), onEvent, 'bench-train'));
    out.seconds = ms(t1) / 1000;
    out.status = r.status;
    if (r.status !== 'finished') out.message = r.message;
    out.steps_done = r.steps_done;
    out.final_loss = r.steps?.at(-1)?.loss ?? null;
    out.test_accuracy = r.test_accuracy ?? null;
    rl.forget_model('bench-train');
    rl.forget_dataset('bench-mnist');
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) throw err;
    out.status = 'failed';
    out.message = messageOf(err);
  }
  return out;
}

self.onmessage = async ({ data: job }) => {
  if (job?.type !== 'run') return;
  try {
    let counters = null;
    if (job.backend === 'webgpu') {
      watchDevice();
      // Before the engine's first GPU call: every call is counted from here on.
      counters = installGpuCounters(self);
    }
    post({ type: 'progress', text: `${job.backend}: starting the engine` });
    const { rl, info } = await startEngine(job);
    post({ type: 'backend', info });
    if (job.backend === 'webgpu' && job.selfCheck) post({ type: 'self-check', check: await selfCheck(rl, counters) });
    await benchmarks(rl, job, info, counters);
    if (job.trainSteps > 0 && job.train) post({ type: 'training', training: await training(rl, job, info, counters) });
    post({ type: 'done' });
  } catch (err) {
    post({ type: 'error', message: messageOf(err) });
  }
};
