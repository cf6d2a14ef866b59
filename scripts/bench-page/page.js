// Runs the engine's bench() in a Web Worker (as the app trains) for the
// combinations given in the URL, and exposes the results to the driver
// (scripts/bench.mjs) as window.benchResults / window.benchDone.
const q = new URLSearchParams(location.search);
const spec = {
  backend: q.get('backend') ?? 'cpu',
  models: (q.get('models') ?? 'resnet20,plain20,mnist-cnn').split(','),
  batches: (q.get('batches') ?? '32,128').split(',').map(Number),
  budget: Number(q.get('budget') ?? 120),
  threads: Number(q.get('threads') ?? 0), // cpu-threads: the pool's size (0: one per core)
  memory_steps: Number(q.get('memory_steps') ?? 0), // train on to this step, memory after step 100 and it
};
window.benchResults = [];
window.benchDone = false;
const out = document.getElementById('out');
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
worker.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === 'result') {
    window.benchResults.push(m.result);
    out.textContent += `\n${JSON.stringify(m.result)}`;
  } else if (m.type === 'done') {
    window.benchDone = true;
    out.textContent += '\ndone';
  } else if (m.type === 'error') {
    window.benchError = m.message;
    window.benchDone = true;
    out.textContent += `\nerror: ${m.message}`;
  }
};
worker.postMessage(spec);
