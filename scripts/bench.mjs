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
// The browser backends run on the app's "Check this machine" page
// (www/bench.html, the same page users send reports from), all in one
// headless Chromium: the script opens it with its URL options, presses Run
// and reads window.benchReport. On WebGPU the page also counts what each
// step asks of the GPU (www/gpu-counters.js: compute passes, dispatches,
// pipelines and buffers created, bytes written and read back, submits),
// printed after the table as "first step / median of the later steps" and
// kept in each JSON line's "gpu_counts"; the page's whole report (adapter,
// limits, self-check) is the last JSON line ({"kind":"machine-report"}).
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
//                          [--kernels default|software]   (WebGPU; default: those for the adapter, as the app;
//                                                          `default` on SwiftShader: what a hardware GPU is asked)
//                          [--train-steps N]   (also a short training run on the page; default 0: none)
//                          [--no-self-check]   (WebGPU: skip the GPU self-check, to see what it adds to the first step)
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
// WebGPU's kernels on the bench page: auto (software ones on a software adapter, as the app), or forced.
const kernels = arg('kernels', 'auto');
if (!['auto', 'default', 'software'].includes(kernels)) throw new Error(`--kernels: '${kernels}' (default, software or auto)`);
// A short real training run on the page after the benchmarks (cnn on the MNIST sample; 0: none).
const trainSteps = Number(arg('train-steps', '0'));
const selfCheck = !process.argv.includes('--no-self-check');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/reslab/target');
const results = [];

function record(r) {
  results.push(r);
  const f = (v, d = 1) => (v === null || v === undefined ? '—' : Number(v).toFixed(d));
  console.log(`${r.model.padEnd(10)} ${r.backend.padEnd(15)} ${String(r.batch).padStart(5)} ${f(r.ms_per_step).padStart(10)} ${f(r.img_per_s).padStart(8)} ${f(r.first_step_ms, 0).padStart(9)} ${f(r.first_step_warm_ms, 0).padStart(9)}  ${r.status}`);
  const mb = (v) => (v === null || v === undefined ? '—' : `${(v / 1e6).toFixed(2)} MB`);
  for (const m of r.memory ?? []) {
    const heap = m.wasm_bytes != null ? `engine heap in use ${mb(m.heap_bytes)}, wasm memory ${mb(m.wasm_bytes)}` : `process RSS ${mb(m.process_rss_bytes)}`;
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
  // The app's "Check this machine" page (www/bench.html) is the one browser protocol: the script sets its URL
  // options, presses Run and reads window.benchReport as it fills.
  const server = await startServer({ port: 0, root: REPO });
  const { context, close } = await launchChromium({ webgpu: browserBackends.includes('webgpu') });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const query = new URLSearchParams({
      backends: browserBackends.join(','),
      models,
      batches,
      budget: String(budget),
      threads: String(threads),
      memory_steps: String(memorySteps),
      kernels,
      train_steps: String(trainSteps),
      ...(selfCheck ? {} : { selfcheck: '0' }),
    });
    await page.goto(`${server.url}www/bench.html?${query}`);
    await page.waitForFunction(() => !document.getElementById('run')?.disabled || window.benchDone, null, { timeout: 5 * 60_000 });
    await page.click('#run');
    let seen = 0;
    const said = new Set();
    let report = null;
    for (;;) {
      await page.waitForTimeout(1000);
      const state = await page.evaluate(() => ({ done: window.benchDone, report: window.benchReport, error: window.benchError }));
      report = state.report;
      for (const r of report.results.slice(seen)) record(browserRecord(r));
      seen = report.results.length;
      for (const [b, e] of Object.entries(report.backends)) {
        const line = `browser ${b}: ${e.status}${e.why ? ` (${e.why})` : ''}`;
        if (!['ok', 'running'].includes(e.status) && !said.has(line)) {
          said.add(line);
          console.log(line);
        }
      }
      if (state.error) console.log(`bench page: ${state.error}`);
      if (state.done) break;
    }
    printGpuCounts(report);
    if (report.self_check) {
      const c = report.self_check;
      const g = c.gpu_counts;
      const asked = g ? `; ${g.pipelines_created} pipelines created, ${g.dispatches} dispatches, ${g.readbacks} read-backs` : '';
      console.log(`GPU self-check: ${c.ok ? `ok, ${c.compared.length} comparisons` : `FAILED: ${c.failure}`} (${c.ms} ms${asked})`);
    }
    for (const t of report.training) {
      console.log(`training run (cnn, MNIST sample, batch ${t.batch}, ${t.steps_done ?? 0} steps) on ${t.backend}: ${t.status}, test accuracy ${t.test_accuracy ?? '—'}, ${t.seconds ?? '—'} s`);
    }
    results.push({ kind: 'machine-report', report });
  } finally {
    await close();
    await server.close();
  }
}

/** A result of the bench page as the script's JSON line (backend named as before: browser-webgpu, browser-cpu-<n>t, browser-cpu). */
function browserRecord(r) {
  const backend = r.backend === 'cpu-threads' ? `browser-cpu-${r.threads}t` : `browser-${r.backend}`;
  return { ...r, backend, page_backend: r.backend };
}

/** What a step asked of the GPU, per net and batch: the first step / the median of the later steps. */
function printGpuCounts(report) {
  const rows = report.results.filter((r) => r.gpu_counts);
  if (!rows.length) return;
  const kernelsUsed = report.backends.webgpu?.kernels ?? '?';
  console.log(`WebGPU calls per step (${kernelsUsed} kernels; adapter: ${report.webgpu?.name ?? '?'}): first step / median of the later steps`);
  const cols = [['passes', 'compute_passes'], ['dispatches', 'dispatches'], ['pipelines', 'pipelines_created'], ['buffers', 'buffers_created'],
    ['buf KB', 'buffer_bytes_created', 1024], ['write KB', 'bytes_written', 1024], ['readbacks', 'readbacks'], ['read KB', 'bytes_read', 1024], ['submits', 'submits']];
  console.log(`${'model'.padEnd(10)} ${'batch'.padStart(5)} ${cols.map(([h]) => h.padStart(15)).join(' ')}`);
  for (const r of rows) {
    const c = r.gpu_counts;
    const cell = ([, k, unit = 1]) => {
      const f = (v) => (v == null ? '—' : String(Math.round(v / unit)));
      return `${f(c.first_step?.[k])} / ${f(c.later_steps_median?.[k])}`.padStart(15);
    };
    console.log(`${r.model.padEnd(10)} ${String(r.batch).padStart(5)} ${cols.map(cell).join(' ')}`);
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

