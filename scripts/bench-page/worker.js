// One backend, every combination in turn: the peers' protocol (synthetic
// seeded batch, 3 warm-up steps, median of 10 timed steps, each awaited).
// Backends: `cpu` (the full engine, one thread), `cpu-threads` (the threaded
// CPU engine on a pool of all cores, as the app uses when it can), `webgpu`.
import { ENGINE_URL, THREADED_ENGINE_URL, threadPlan, startPool } from '../../www/threads.js';

self.onmessage = async ({ data: spec }) => {
  try {
    const threaded = spec.backend === 'cpu-threads';
    const rl = await import((threaded ? THREADED_ENGINE_URL : ENGINE_URL).href);
    await rl.default();
    if (threaded) {
      const plan = threadPlan();
      if (plan.threads === 0) throw new Error(`no threads: ${plan.why}`);
      await startPool(rl, spec.threads > 0 ? spec.threads : plan.threads);
    }
    const info = JSON.parse(await rl.init_backend(threaded ? 'cpu' : spec.backend));
    const label = threaded ? `browser-cpu-${info.threads}t` : `browser-${info.backend}`;
    for (const model of spec.models) {
      let overBudget = false;
      for (const batch of spec.batches) {
        // As the peers do: a batch that ran over budget skips the larger ones.
        if (overBudget) {
          self.postMessage({ type: 'result', result: { model, backend: label, batch, status: 'skipped', ms_per_step: null, img_per_s: null, first_step_ms: null } });
          continue;
        }
        const r = JSON.parse(await rl.bench(JSON.stringify({ model, optimizer: 'sgdm', batch, warmup: 3, steps: 10, budget: spec.budget, memory_steps: spec.memory_steps })));
        r.backend = label;
        if (r.status !== 'ok') overBudget = true;
        // The first step of a second, fresh model in the same engine: kernels
        // compiled and tuned (on WebGPU), weights and batch uploaded anew.
        if (r.status !== 'over budget') {
          r.first_step_warm_ms = JSON.parse(await rl.bench(JSON.stringify({ model, optimizer: 'sgdm', batch, warmup: 0, steps: 1, budget: spec.budget }))).first_step_ms;
        }
        self.postMessage({ type: 'result', result: r });
      }
    }
    self.postMessage({ type: 'done' });
  } catch (err) {
    self.postMessage({ type: 'error', message: String(err?.message ?? err) });
  }
};
