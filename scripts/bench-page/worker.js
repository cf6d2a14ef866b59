// One backend, every combination in turn: the peers' protocol (synthetic
// seeded batch, 3 warm-up steps, median of 10 timed steps, each awaited).
import init, * as rl from '../../pkg/reslab.js';

self.onmessage = async ({ data: spec }) => {
  try {
    await init();
    const info = JSON.parse(await rl.init_backend(spec.backend));
    for (const model of spec.models) {
      let overBudget = false;
      for (const batch of spec.batches) {
        // As the peers do: a batch that ran over budget skips the larger ones.
        if (overBudget) {
          self.postMessage({ type: 'result', result: { model, backend: `browser-${info.backend}`, batch, status: 'skipped', ms_per_step: null, img_per_s: null, first_step_ms: null } });
          continue;
        }
        const r = JSON.parse(await rl.bench(JSON.stringify({ model, optimizer: 'sgdm', batch, warmup: 3, steps: 10, budget: spec.budget })));
        r.backend = `browser-${info.backend}`;
        if (r.status !== 'ok') overBudget = true;
        self.postMessage({ type: 'result', result: r });
      }
    }
    self.postMessage({ type: 'done' });
  } catch (err) {
    self.postMessage({ type: 'error', message: String(err?.message ?? err) });
  }
};
