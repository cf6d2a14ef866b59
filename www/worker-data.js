// The engine's worker: datasets. The built-in samples and URLs are fetched
// (with progress told to the page), the user's files arrive as bytes; each is
// decoded by the engine into its slot ('sample-mnist', 'sample-cifar10',
// 'user').

import { threadPlan } from './threads.js';
import { datasetInputs, loadEngine, rl } from './worker-backend.js';
import { fetchBytes, fileName } from './fetch-bytes.js';
import { isFatal, messageOf, parseJson, post } from './worker-util.js';

const SITE_ROOT = new URL('../', import.meta.url);

const SAMPLES = {
  mnist: {
    key: 'sample-mnist',
    hint: 'mnist',
    files: [
      'assets/sample/mnist/train-images-idx3-ubyte.gz',
      'assets/sample/mnist/train-labels-idx1-ubyte.gz',
      'assets/sample/mnist/t10k-images-idx3-ubyte.gz',
      'assets/sample/mnist/t10k-labels-idx1-ubyte.gz',
    ],
  },
  cifar10: {
    key: 'sample-cifar10',
    hint: 'cifar10',
    files: ['assets/sample/cifar10/cifar-10-sample-binary.tar.gz'],
  },
};

const HINTS = new Set(['mnist', 'fashion-mnist', 'cifar10', 'cifar100', 'cifar100-coarse']);

/** Fetches several URLs, reporting combined progress as `what`. */
async function fetchAll(urls, what) {
  const loaded = new Array(urls.length).fill(0);
  const totals = new Array(urls.length).fill(0);
  const report = () => {
    const l = loaded.reduce((a, b) => a + b, 0);
    const t = totals.every((x) => x > 0) ? totals.reduce((a, b) => a + b, 0) : 0;
    post({ type: 'progress', what, loaded: l, total: t });
  };
  report();
  return Promise.all(
    urls.map((url, i) =>
      fetchBytes(url, (l, t) => {
        loaded[i] = l;
        totals[i] = t;
        report();
      }),
    ),
  );
}

/** Decodes the files into slot `key`; resolves to {key, info}, the page's answer. */
function loadIntoEngine(key, names, arrays, hint) {
  const h = HINTS.has(hint) ? hint : null;
  let infoText;
  try {
    infoText = rl.load_dataset(key, names, arrays, h);
  } catch (err) {
    if (isFatal(err)) throw err;
    // Make sure the message names the file(s) even if the engine did not.
    const msg = messageOf(err);
    if (!names.some((n) => msg.includes(n))) {
      throw new Error(`${names.join(', ')}: ${msg}`);
    }
    throw new Error(msg);
  }
  const info = parseJson(infoText, 'load_dataset');
  // Kept (as given: compressed files stay compressed) to move with a change of
  // engine, where one can happen: WebGPU and the threaded CPU engine both possible.
  if (self.navigator?.gpu && threadPlan().threads > 0) {
    datasetInputs.set(key, { load: (mod) => mod.load_dataset(key, names, arrays, h) });
  }
  return { key, info };
}

/** Where each of the user's files goes: {places: [{class, split} | {skip: reason} | {}], class_names}. */
export async function placePictures(names) {
  if (!Array.isArray(names) || names.length === 0) throw new Error('no files were given');
  await loadEngine();
  return parseJson(rl.place_pictures(JSON.stringify(names.map(String))), 'place_pictures');
}

/**
 * The user's pictures, decoded by the page (picture-worker.js): `names` are
 * every file given, `decoded` the indices of those whose pixels follow one
 * after the other in `pixels` (3 × size × size bytes each), `skipped` the
 * files the page left out, with why.
 */
export async function loadPictures({ names, decoded, pixels, size, fit, testFraction, seed, skipped }) {
  if (!(pixels instanceof ArrayBuffer)) throw new Error('the pictures arrived without their pixels');
  await loadEngine();
  post({ type: 'progress', what: 'Building the dataset', loaded: 0, total: 0 });
  const args = [JSON.stringify(names), JSON.stringify(decoded), new Uint8Array(pixels), Number(size), String(fit), Number(testFraction), BigInt(Math.max(0, Math.trunc(Number(seed) || 0))), JSON.stringify(skipped ?? [])];
  let infoText;
  try {
    infoText = rl.load_pictures('user', ...args);
  } catch (err) {
    if (isFatal(err)) throw err;
    throw new Error(messageOf(err));
  }
  const info = parseJson(infoText, 'load_pictures');
  if (self.navigator?.gpu && threadPlan().threads > 0) datasetInputs.set('user', { load: (mod) => mod.load_pictures('user', ...args) });
  return { key: 'user', info };
}

/** A built-in sample ('mnist' | 'cifar10'), fetched from this site. */
export async function loadSample(dataset) {
  const sample = SAMPLES[dataset];
  if (!sample) throw new Error(`unknown built-in sample "${dataset}"`);
  const urls = sample.files.map((f) => new URL(f, SITE_ROOT).href);
  const arrays = await fetchAll(urls, `Built-in ${dataset === 'mnist' ? 'MNIST' : 'CIFAR-10'} sample`);
  await loadEngine();
  post({ type: 'progress', what: 'Decoding dataset', loaded: 0, total: 0 });
  return loadIntoEngine(sample.key, urls.map(fileName), arrays, sample.hint);
}

/** The user's files, as bytes: [{name, bytes}]. */
export async function loadFiles(files, hint) {
  if (!Array.isArray(files) || files.length === 0) throw new Error('no files were given');
  const names = [];
  const arrays = [];
  for (const f of files) {
    const name = String(f?.name ?? 'file');
    const bytes = f?.bytes;
    if (!(bytes instanceof ArrayBuffer) && !ArrayBuffer.isView(bytes)) throw new Error(`${name}: could not be read`);
    names.push(name);
    arrays.push(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  await loadEngine();
  post({ type: 'progress', what: 'Decoding dataset', loaded: 0, total: 0 });
  return loadIntoEngine('user', names, arrays, hint);
}

/** The user's dataset from one or more URLs (separated by spaces). */
export async function loadUrl(url, hint) {
  const urls = (Array.isArray(url) ? url : String(url ?? '').split(/\s+/)).map((u) => String(u).trim()).filter(Boolean);
  if (urls.length === 0) throw new Error('no URL was given');
  for (const u of urls) {
    let parsed;
    try {
      parsed = new URL(u, SITE_ROOT);
    } catch {
      throw new Error(`${u}: not a valid URL`);
    }
    if (!['http:', 'https:'].includes(parsed.protocol)) throw new Error(`${u}: only http(s) URLs can be loaded`);
  }
  const abs = urls.map((u) => new URL(u, SITE_ROOT).href);
  const arrays = await fetchAll(abs, urls.length === 1 ? `Downloading ${fileName(abs[0])}` : `Downloading ${urls.length} files`);
  await loadEngine();
  post({ type: 'progress', what: 'Decoding dataset', loaded: 0, total: 0 });
  return loadIntoEngine('user', abs.map(fileName), arrays, hint);
}
