// One thread of the threaded CPU engine's pool (see www/threads.js and
// src/threads.rs). It instantiates the engine on the training worker's shared
// memory, says so, then becomes one of rayon's threads for good: Flex's
// parallel loops run here, and the worker never returns to its event loop.

self.addEventListener('message', async ({ data }) => {
  if (data?.type !== 'pool-init') return;
  let engine;
  try {
    engine = await import(data.engineUrl);
    await engine.default({ module_or_path: data.module, memory: data.memory });
  } catch (err) {
    self.postMessage({ type: 'pool-error', message: String(err?.message ?? err) });
    return;
  }
  self.postMessage({ type: 'pool-ready' });
  try {
    engine.pool_worker_run();
  } catch (err) {
    // Only if the pool is never built (the training worker gave up on it).
    self.postMessage({ type: 'pool-error', message: String(err?.message ?? err) });
  }
}, { once: true });
