// Engine-level checks inside a Web Worker: dataset parsing in wasm (good and
// corrupted files), and a few training steps on the requested backend.
import init, * as rl from '../../../pkg/reslab.js';

const MNIST = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

async function fetchBytes(path) {
  const r = await fetch(new URL(path, self.location.origin));
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function run(backend) {
  const report = {};
  await init();
  report.backend = JSON.parse(await rl.init_backend(backend));

  const mnist = await Promise.all(MNIST.map((f) => fetchBytes(`/assets/sample/mnist/${f}`)));
  report.mnist = JSON.parse(rl.load_dataset('mnist', MNIST, mnist, 'mnist'));
  const cifar = await fetchBytes('/assets/sample/cifar10/cifar-10-sample-binary.tar.gz');
  report.cifar = JSON.parse(rl.load_dataset('cifar', ['cifar-10-sample-binary.tar.gz'], [cifar], null));

  // A truncated image file: the error names the file; the slot keeps its data.
  const broken = [...mnist];
  broken[0] = mnist[0].slice(0, 1000);
  try {
    rl.load_dataset('mnist', MNIST, broken, 'mnist');
    report.corrupt = 'no error';
  } catch (e) {
    report.corrupt = String(e.message);
  }
  report.bad_config = JSON.parse(rl.validate_config(JSON.stringify({ ...JSON.parse(rl.default_config()), lr: -1, model: 'resnet21' })));

  const steps = backend === 'webgpu' ? 3 : 12;
  const batch = backend === 'webgpu' ? 8 : 32;
  const cfg = { ...JSON.parse(rl.default_config()), model: 'cnn', batch_size: batch, max_steps: steps, log_every: 1, test_limit: 64 };
  const events = [];
  const result = JSON.parse(await rl.train(JSON.stringify(cfg), 'mnist', new rl.Control(), (e) => events.push(JSON.parse(e)), 'engine-test'));
  report.result = { status: result.status, message: result.message, losses: result.steps.map((p) => p.loss), test_accuracy: result.test_accuracy };
  report.event_types = [...new Set(events.map((e) => e.type))];
  return report;
}

self.onmessage = async (e) => {
  try {
    self.postMessage(await run(e.data.backend));
  } catch (err) {
    self.postMessage({ error: String(err && err.stack ? err.stack : err) });
  }
};
