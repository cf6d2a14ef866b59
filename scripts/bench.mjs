// The speed benchmark: ResLab's training step with the TF.js/PyTorch reference
// harnesses' protocol (synthetic seeded batch, 3 warm-up steps, median of 10
// timed steps, each awaited; a time budget per combination), natively (CPU,
// and wgpu where a Vulkan driver exists) and in headless Chromium (CPU
// backend in wasm, and WebGPU), plus the wasm module's size. Prints a table
// and writes JSON lines {"model","backend","batch","ms_per_step","img_per_s",
// "first_step_ms", …} to bench-results/<time>.jsonl. In the browser each
// combination also gets "first_step_warm_ms": the first step of a second,
// fresh model in the same engine (GPU kernels already compiled and tuned).
//
// With the `page` backend it also times the app itself: page open to the
// first finished training step (cnn on the built-in MNIST sample, CPU
// backend), with a cold browser profile and again after a reload (warm:
// service-worker cache and compiled wasm).
//
//   node scripts/bench.mjs [--models resnet20,plain20,mnist-cnn] [--batches 32,128]
//                          [--backends native-cpu,native-wgpu,browser-cpu,browser-cpu-threads,browser-webgpu,page] [--budget 120]
//                          [--threads N]   (browser-cpu-threads' pool size; default one per core)
//                          [--memory-steps 2000]
//
// --memory-steps N trains each combination on to step N and reports memory
// after step 100 and step N ("memory" in its JSON line): the wasm module's
// linear memory (in the browser; natively the process's resident memory)
// and what the device's allocator holds (WebGPU/wgpu buffers). Give a
// --budget that fits N steps.
//
// browser-cpu is the full engine's CPU backend (one thread); browser-cpu-threads
// the threaded CPU engine on a pool of all cores (reported as browser-cpu-<n>t).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { launchChromium } from './chromium.mjs';
import { startServer } from './serve.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const models = arg('models', 'resnet20,plain20,mnist-cnn');
const batches = arg('batches', '32,128');
const backends = arg('backends', 'native-cpu,native-wgpu,browser-cpu,browser-cpu-threads,browser-webgpu,page').split(',');
const budget = Number(arg('budget', '120'));
// The threaded engine's pool size for browser-cpu-threads (default: one thread per core).
const threads = Number(arg('threads', '0'));
const memorySteps = Number(arg('memory-steps', '0'));
const targetDir = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/reslab/target');
const results = [];

function record(r) {
  results.push(r);
  const f = (v, d = 1) => (v === null || v === undefined ? '—' : Number(v).toFixed(d));
  console.log(`${r.model.padEnd(10)} ${r.backend.padEnd(15)} ${String(r.batch).padStart(5)} ${f(r.ms_per_step).padStart(10)} ${f(r.img_per_s).padStart(8)} ${f(r.first_step_ms, 0).padStart(9)} ${f(r.first_step_warm_ms, 0).padStart(9)}  ${r.status}`);
  const mb = (v) => (v === null || v === undefined ? '—' : `${(v / 1e6).toFixed(2)} MB`);
  for (const m of r.memory ?? []) {
    const heap = m.wasm_bytes != null ? `wasm memory ${mb(m.wasm_bytes)}` : `process RSS ${mb(m.process_rss_bytes)}`;
    console.log(`    after step ${m.step}: ${heap}, device in use ${mb(m.device_bytes_in_use)}, device reserved ${mb(m.device_bytes_reserved)}`);
  }
}

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}; load average ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
console.log(`${'model'.padEnd(10)} ${'backend'.padEnd(15)} ${'batch'.padStart(5)} ${'ms/step'.padStart(10)} ${'img/s'.padStart(8)} ${'first ms'.padStart(9)} ${'warm ms'.padStart(9)}  status`);

for (const b of backends.filter((x) => x.startsWith('native-'))) {
  const backend = b.slice('native-'.length);
  const out = join(mkdtempSync(join(tmpdir(), 'reslab-bench-')), 'native.jsonl');
  const bin = join(targetDir, 'release', 'reslab');
  const run = spawnSync(bin, ['bench', '--backend', backend, '--models', models, '--batches', batches, '--budget', String(budget), '--memory-steps', String(memorySteps), '--json', out], { encoding: 'utf8' });
  if (run.status !== 0) {
    console.log(`native ${backend}: ${(run.stderr || run.error?.message || 'failed').trim().split('\n').pop()}`);
    continue;
  }
  for (const line of readFileSync(out, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line);
    record({ ...r, backend: `native-${backend}` });
  }
}

const browserBackends = backends.filter((x) => x.startsWith('browser-')).map((x) => x.slice('browser-'.length));
if (browserBackends.length) {
  // The bench page is not part of the app: the server publishes it only when asked.
  const server = await startServer({ port: 0, root: REPO, extraPaths: ['scripts/bench-page/'] });
  try {
    for (const backend of browserBackends) {
      const { context, close } = await launchChromium({ webgpu: backend === 'webgpu' });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        await page.goto(`${server.url}scripts/bench-page/?backend=${backend}&models=${models}&batches=${batches}&budget=${budget}&threads=${threads}&memory_steps=${memorySteps}`);
        let seen = 0;
        for (;;) {
          const { done, list, error } = await page.evaluate(() => ({ done: window.benchDone, list: window.benchResults, error: window.benchError }));
          for (const r of list.slice(seen)) record(r);
          seen = list.length;
          if (error) console.log(`browser ${backend}: ${error}`);
          if (done) break;
          await page.waitForTimeout(1000);
        }
      } finally {
        await close();
      }
    }
  } finally {
    await server.close();
  }
}

/** Milliseconds from navigation to the first finished step of a run started with Train. */
async function openToFirstStep(page, url) {
  const t0 = Date.now();
  await page.goto(url);
  const poll = async (fn, what) => {
    for (const until = Date.now() + 5 * 60_000; ; await page.waitForTimeout(20)) {
      if (await page.evaluate(fn).catch(() => false)) return;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    }
  };
  await poll(() => { const b = document.getElementById('train'); return b && !b.disabled; }, 'Train to be enabled');
  await page.click('#train');
  await poll(() => (window.__reslab?.runs?.at(-1)?.step ?? 0) >= 1, 'the first step');
  return Date.now() - t0;
}

if (backends.includes('page')) {
  const server = await startServer({ port: 0, root: REPO });
  const { context, close } = await launchChromium();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const url = `${server.url}?backend=cpu&data=sample-mnist&model=cnn&batch_size=32&max_steps=3`;
    const cold = await openToFirstStep(page, url);
    const warm = await openToFirstStep(page, url);
    console.log(`page open → first finished step (cnn, MNIST sample, CPU backend): cold ${cold} ms, warm ${warm} ms`);
    results.push({ kind: 'page-first-step', model: 'cnn', backend: 'browser-cpu', cold_ms: cold, warm_ms: warm });
  } catch (err) {
    console.log(`page: ${err.message}`);
  } finally {
    await close();
    await server.close();
  }
}

for (const [engine, path] of [['full', 'pkg/reslab_bg.wasm'], ['threads', 'pkg/threads/reslab_bg.wasm']]) {
  try {
    const wasm = readFileSync(join(REPO, path));
    const size = { raw: statSync(join(REPO, path)).size, gzip: gzipSync(wasm, { level: 9 }).length };
    console.log(`wasm (${path}): ${size.raw} B raw, ${size.gzip} B gzip`);
    results.push({ kind: 'wasm-size', engine, ...size });
  } catch {
    console.log(`wasm: ${path} not built`);
  }
}

mkdirSync(join(REPO, 'bench-results'), { recursive: true });
const file = join(REPO, 'bench-results', `${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
writeFileSync(file, results.map((r) => JSON.stringify(r)).join('\n') + '\n');
console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
console.log(`written: ${file}`);

