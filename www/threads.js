// Choosing and starting the training engine's CPU threads.
//
// Two engines are built (scripts/build-web.sh): pkg/ has WebGPU and runs the
// CPU backend on one thread; pkg/threads/ is CPU-only and spreads Flex's work
// (a batch's images, large GEMMs) over a pool of Web Workers sharing its
// memory. Shared memory needs a cross-origin isolated page (COOP/COEP headers,
// from the server or else from the service worker: www/isolation.js, sw.js),
// so the threaded engine is used only when the page is
// isolated, the machine has more than one core, and the run is on the CPU.

export const ENGINE_URL = new URL('../pkg/reslab.js', import.meta.url);
export const THREADED_ENGINE_URL = new URL('../pkg/threads/reslab.js', import.meta.url);
const POOL_WORKER_URL = new URL('./pool-worker.js', import.meta.url);

/** More threads than this rarely pay for a small net's layers (and each holds a copy of the module's stack). */
const MAX_THREADS = 16;
/** A pool worker that has not started within this long is given up on. */
const START_TIMEOUT_MS = 30_000;
/** The pool's workers, kept reachable so that no browser collects a worker that only shares memory. */
let poolWorkers = [];

/**
 * How many pool threads the threaded engine would get here, or why it cannot
 * be used: {threads, why, how}. `threads` is 0 when it cannot, and `why` says
 * why; `how` says what lets it share memory. `isolation` is what the page
 * found out about its isolation (www/isolation.js): {by, why}, `by` being
 * 'server' or 'service-worker' (the headers' source), `why` why it is not.
 */
export function threadPlan(scope = self, isolation = null) {
  if (!scope.crossOriginIsolated) {
    return { threads: 0, why: isolation?.why || 'the page is not cross-origin isolated (the server sends no COOP/COEP headers), so shared memory is off' };
  }
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') {
    return { threads: 0, why: 'this browser has no shared memory' };
  }
  const cores = Number(scope.navigator?.hardwareConcurrency) || 1;
  if (cores < 2) return { threads: 0, why: 'this machine reports one core' };
  const how = isolation?.by === 'service-worker'
    ? 'the page is cross-origin isolated by COOP/COEP headers the service worker adds'
    : isolation?.by === 'server'
    ? "the page is cross-origin isolated by the server's COOP/COEP headers"
    : 'the page is cross-origin isolated';
  return { threads: Math.min(cores, MAX_THREADS), why: null, how };
}

/**
 * Starts `n` pool workers on the threaded engine `engine` (already
 * initialised in this worker) and builds its thread pool. Resolves to the
 * pool's size; rejects with a readable message (after stopping the workers
 * it made) if a worker cannot start. The workers live as long as this one.
 */
export async function startPool(engine, n) {
  engine.pool_prepare();
  const init = {
    type: 'pool-init',
    engineUrl: THREADED_ENGINE_URL.href,
    module: engine.pool_module(),
    memory: engine.pool_memory(),
  };
  const workers = [];
  const started = Array.from({ length: n }, (_, i) => new Promise((resolve, reject) => {
    const w = new Worker(POOL_WORKER_URL, { type: 'module', name: `reslab-pool-${i}` });
    workers.push(w);
    const timer = setTimeout(() => reject(new Error(`pool worker ${i} did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    w.addEventListener('message', ({ data }) => {
      clearTimeout(timer);
      if (data?.type === 'pool-ready') resolve(w);
      else reject(new Error(`pool worker ${i}: ${data?.message ?? 'failed to start'}`));
    }, { once: true });
    w.addEventListener('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`pool worker ${i}: ${e.message || 'failed to load'}`));
    }, { once: true });
    w.postMessage(init);
  }));
  try {
    await Promise.all(started);
  } catch (err) {
    for (const w of workers) w.terminate();
    throw err;
  }
  poolWorkers = workers;
  return engine.pool_build(n);
}
