// Runs worker.js (the wasm engine in a module worker, as the app does) and
// exposes its report to the test as window.engineCheck(backend).
window.engineCheck = (backend) =>
  new Promise((resolve) => {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (e) => {
      resolve(e.data);
      worker.terminate();
    };
    worker.onerror = (e) => resolve({ error: `worker error: ${e.message}` });
    worker.postMessage({ backend });
  });
document.getElementById('status').textContent = 'ready';
