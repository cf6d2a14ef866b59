// "Check this machine" (www/bench.html): how ResLab runs in this browser, as
// a report anyone can paste into an issue, and the one benchmark protocol the
// maintainers' script drives (scripts/bench.mjs).
//
// The page runs, on each backend this browser has (WebGPU, the threaded CPU
// engine, the CPU on one thread), one worker (www/bench-worker.js): the
// speed benchmark, on WebGPU what a step asks of the GPU and the self-check,
// and a short training run (on WebGPU and on the fastest CPU engine). The
// page itself only shows progress and the report (www/bench-view.js).
//
// URL options (for scripts and tests; a user just presses Run):
//   models=resnet20,plain20,mnist-cnn   batches=32,128   budget=120 (seconds per combination)
//   backends=webgpu,cpu-threads,cpu     kernels=auto|default|software (WebGPU; `default` forces Burn's
//   kernels on a software adapter: what a hardware GPU is asked to do)    train_steps=100 (0: none)
//   threads=N (the threaded engine's pool; 0: one per core)   memory_steps=N (see scripts/bench.mjs)
//   selfcheck=0 (skip the GPU self-check)
//
// For drivers: window.benchReport (the report so far), window.benchDone
// (true once it ended: finished, stopped or failed), window.benchError (a
// failure of the page itself; a backend's failure is in the report).

import { probeWebGpu } from './gpu-adapter.js';
import { threadPlan } from './threads.js';
import { settleIsolation } from './isolation.js';
import { messageOf } from './format.js';
import { renderMachine, renderReport, renderProgress, renderStatus, renderPlan } from './bench-view.js';

export const SCHEMA = 'reslab-machine-report/1';
const BACKENDS = ['webgpu', 'cpu-threads', 'cpu'];
const WORKER_URL = new URL('./bench-worker.js', import.meta.url);
/** How long a first visit waits for the service worker to finish saving the app (so it does not compete with the timing). */
const SW_WAIT_MS = 60_000;
/** How long the page waits for a WebGPU adapter before reporting none. */
const PROBE_WAIT_MS = 30_000;

const $ = (id) => document.getElementById(id);

/** The URL's options, checked: {options, warnings}. A bad value is reported and its default used. */
export function parseOptions(search) {
  const q = new URLSearchParams(search);
  const warnings = [];
  const list = (name, def, ok) => {
    const raw = q.get(name);
    if (raw === null || raw.trim() === '') return def;
    const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = items.filter((s) => !ok(s));
    if (bad.length) warnings.push(`${name}: ignored ${bad.join(', ')}`);
    const good = [...new Set(items.filter(ok))];
    return good.length ? good : def;
  };
  const int = (name, def, min, max) => {
    const raw = q.get(name);
    if (raw === null || raw.trim() === '') return def;
    const n = Number(raw);
    if (Number.isFinite(n) && n >= min && n <= max) return n;
    warnings.push(`${name}: '${raw}' is not a number from ${min} to ${max}; using ${def}`);
    return def;
  };
  const models = list('models', ['resnet20', 'plain20', 'mnist-cnn'], (s) => /^[a-z][a-z0-9-]{0,40}$/.test(s));
  const batches = list('batches', ['32', '128'], (s) => /^\d{1,4}$/.test(s) && Number(s) >= 1 && Number(s) <= 4096).map(Number);
  const wanted = list('backends', BACKENDS, (s) => BACKENDS.includes(s));
  const kernelsRaw = q.get('kernels') ?? 'auto';
  const kernels = ['auto', 'default', 'software'].includes(kernelsRaw) ? kernelsRaw : 'auto';
  if (kernels !== kernelsRaw) warnings.push(`kernels: '${kernelsRaw}' is not auto, default or software; using auto`);
  const options = {
    models,
    batches,
    budget: int('budget', 120, 1, 24 * 3600),
    backends: BACKENDS.filter((b) => wanted.includes(b)),
    kernels,
    train_steps: Math.round(int('train_steps', 100, 0, 100_000)),
    threads: Math.round(int('threads', 0, 0, 256)),
    memory_steps: Math.round(int('memory_steps', 0, 0, 1_000_000)),
    self_check: q.get('selfcheck') !== '0',
  };
  return { options, warnings };
}

const { options, warnings } = parseOptions(location.search);

/** The report: everything the page shows, as the JSON a user copies. */
const report = {
  schema: SCHEMA,
  created: null,
  finished: false,
  stopped: false,
  options,
  browser: null,
  webgpu: null,
  backends: {},
  results: [],
  self_check: null,
  training: [],
};
window.benchReport = report;
window.benchDone = false;
window.benchError = null;

let isolation = { by: null, why: null };
let current = null; // the running worker and how to end its wait: {worker, finish}
// The last worker that finished, kept until the next starts (a profiler attached
// to it, scripts/profile.mjs, reads its profile after the end).
let finished = null;
let stopping = false;

/** What this browser says about itself (low-entropy values only). */
function browserFacts() {
  const nav = navigator;
  const uaData = nav.userAgentData
    ? { brands: (nav.userAgentData.brands ?? []).map((b) => `${b.brand} ${b.version}`), platform: nav.userAgentData.platform ?? '', mobile: !!nav.userAgentData.mobile }
    : null;
  return {
    user_agent: nav.userAgent,
    user_agent_data: uaData,
    cores: Number(nav.hardwareConcurrency) || null,
    device_memory_gb: Number.isFinite(nav.deviceMemory) ? nav.deviceMemory : null,
    cross_origin_isolated: self.crossOriginIsolated === true,
    isolated_by: isolation.by,
    not_isolated_because: self.crossOriginIsolated ? null : isolation.why,
    threads_available: threadPlan(self, isolation).threads,
    secure_context: self.isSecureContext === true,
  };
}

/** The kernels WebGPU runs: the URL's choice, else those for the adapter (as the app chooses). */
function kernelsFor(probe) {
  if (options.kernels !== 'auto') return options.kernels;
  return probe?.software ? 'software' : 'default';
}

/** Whether backend `b` can run here, and if not why: {ok, why}. */
function availability(b) {
  if (b === 'webgpu') return report.webgpu?.ok ? { ok: true } : { ok: false, why: report.webgpu?.why ?? 'no WebGPU adapter' };
  if (b === 'cpu-threads') {
    const plan = threadPlan(self, isolation);
    return plan.threads > 0 ? { ok: true } : { ok: false, why: plan.why };
  }
  return { ok: true };
}

// ------------------------------------------------------------ progress

/** Units of work, for the progress bar and the estimate: one per combination, self-check and training run. */
const progress = { total: 0, done: 0, partial: 0, started: 0, text: '' };

function planUnits() {
  let units = 0;
  let trainCpu = false;
  for (const b of options.backends) {
    if (!availability(b).ok) continue;
    units += options.models.length * options.batches.length;
    if (b === 'webgpu' && options.self_check) units += 1;
    const trains = options.train_steps > 0 && (b === 'webgpu' || !trainCpu);
    if (trains) units += 1;
    if (b !== 'webgpu' && trains) trainCpu = true;
  }
  return units;
}

/** Seconds left, from the time the finished units took; null before any has. */
function estimateLeft() {
  const done = progress.done + progress.partial;
  if (done < 0.5) return null;
  const elapsed = (performance.now() - progress.started) / 1000;
  return (elapsed / done) * Math.max(0, progress.total - done);
}

function showProgress(text, step = null, steps = null) {
  progress.text = text;
  progress.partial = step != null && steps ? Math.min(step / steps, 0.99) : 0;
  renderProgress(progress, step, steps, estimateLeft());
}

function unitDone() {
  progress.done += 1;
  progress.partial = 0;
  renderProgress(progress, null, null, estimateLeft());
}

// ------------------------------------------------------------ the run

/** Runs backend `b`'s worker to its end (done, failed or stopped). */
function runBackend(b, train) {
  const entry = { status: 'running', engine: b === 'cpu-threads' ? 'threads' : 'full' };
  if (b === 'webgpu') entry.gpu_errors = [];
  report.backends[b] = entry;
  const t0 = performance.now();
  finished?.terminate();
  finished = null;
  const worker = new Worker(WORKER_URL, { type: 'module', name: `reslab-bench-${b}` });
  return new Promise((resolve) => {
    const finish = (status, why) => {
      if (current?.worker !== worker) return;
      current = null;
      if (status === 'ok') finished = worker;
      else worker.terminate();
      entry.status = status;
      if (why) entry.why = why;
      entry.seconds = Math.round(performance.now() - t0) / 1000;
      renderReport(report);
      resolve();
    };
    current = { worker, finish };
    worker.onmessage = ({ data: m }) => {
      if (m.type === 'progress') showProgress(m.text, m.step, m.steps);
      else if (m.type === 'backend') Object.assign(entry, m.info);
      else if (m.type === 'result') {
        report.results.push(m.result);
        unitDone();
      } else if (m.type === 'self-check') {
        report.self_check = m.check;
        unitDone();
      } else if (m.type === 'training') {
        report.training.push(m.training);
        unitDone();
      } else if (m.type === 'gpu-error') {
        if (entry.gpu_errors?.length < 20) entry.gpu_errors.push(m.message);
      } else if (m.type === 'done') {
        finish('ok');
      } else if (m.type === 'error') {
        finish('failed', m.message);
      }
      if (m.type !== 'progress') renderReport(report);
    };
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      finish('failed', ev.message || 'the worker failed to load');
    };
    worker.postMessage({
      type: 'run',
      backend: b,
      models: options.models,
      batches: options.batches,
      budget: options.budget,
      kernels: b === 'webgpu' ? kernelsFor(report.webgpu) : undefined,
      threads: options.threads,
      memorySteps: options.memory_steps,
      selfCheck: options.self_check,
      trainSteps: options.train_steps,
      train,
    });
  });
}

async function run() {
  $('run').disabled = true;
  $('stop').disabled = false;
  stopping = false;
  Object.assign(report, { created: new Date().toISOString(), finished: false, stopped: false, backends: {}, results: [], self_check: null, training: [] });
  report.browser = browserFacts();
  window.benchDone = false;
  window.benchError = null;
  Object.assign(progress, { total: planUnits(), done: 0, partial: 0, started: performance.now() });
  renderStatus('running', 'Running…');
  renderReport(report);
  try {
    let cpuTrained = false;
    for (const b of options.backends) {
      if (stopping) {
        report.backends[b] = { status: 'not run', why: 'stopped' };
        continue;
      }
      const can = availability(b);
      if (!can.ok) {
        report.backends[b] = { status: 'unavailable', why: can.why };
        renderReport(report);
        continue;
      }
      // The training run: on WebGPU, and on the fastest CPU engine that works (threads first).
      const train = options.train_steps > 0 && (b === 'webgpu' || !cpuTrained);
      await runBackend(b, train);
      if (b !== 'webgpu' && report.training.some((t) => t.backend === b && t.status === 'finished')) cpuTrained = true;
    }
    report.finished = !stopping;
    report.stopped = stopping;
    const failed = Object.entries(report.backends).filter(([, e]) => e.status === 'failed').map(([b]) => b);
    if (stopping) renderStatus('stopped', 'Stopped. The report holds what was measured until then.');
    else if (failed.length) renderStatus('failed', `Finished, but ${failed.join(' and ')} failed (see the report). Please send it anyway.`);
    else renderStatus('done', 'Finished. Press Copy and paste the report into an issue.');
  } catch (err) {
    window.benchError = messageOf(err);
    renderStatus('failed', `The page failed: ${window.benchError}`);
  } finally {
    renderProgress({ ...progress, text: '' }, null, null, null, true);
    renderReport(report);
    $('run').disabled = false;
    $('stop').disabled = true;
    window.benchDone = true;
  }
}

function stop() {
  stopping = true;
  $('stop').disabled = true;
  current?.finish('stopped', 'stopped by the user');
}

async function copyReport() {
  const text = $('report').textContent;
  const said = $('copied');
  try {
    await navigator.clipboard.writeText(text);
    said.textContent = 'Copied. Paste it into a new issue.';
  } catch {
    // No clipboard permission (or an insecure page): select the text for the user.
    const range = document.createRange();
    range.selectNodeContents($('report'));
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    said.textContent = 'The report is selected: copy it with Ctrl+C (⌘C), then paste it into a new issue.';
  }
}

/** A first visit on a static host: let the service worker finish saving the app before anything is timed. */
async function serviceWorkerSettled() {
  try {
    const reg = await navigator.serviceWorker?.getRegistration?.();
    if (!reg || reg.active) return;
    renderStatus('idle', 'Saving the app for offline use first…');
    await Promise.race([navigator.serviceWorker.ready, new Promise((r) => setTimeout(r, SW_WAIT_MS))]);
  } catch {
    // Without a service worker the page works as well; it just is not saved offline.
  }
}

async function main() {
  const settled = await settleIsolation({
    swUrl: new URL('../sw.js', import.meta.url),
    scope: new URL('../', import.meta.url).pathname,
    onWait: (text) => renderStatus('idle', `Please wait: ${text}`),
  });
  if (settled.reload) return;
  isolation = { by: settled.by ?? null, why: settled.why ?? null };
  await serviceWorkerSettled();
  report.browser = browserFacts();
  renderMachine(report);
  // A browser that never answers the adapter request must not keep Run disabled.
  const probe = await Promise.race([
    probeWebGpu(self),
    new Promise((r) => setTimeout(() => r({ ok: false, why: `the browser did not answer the adapter request within ${PROBE_WAIT_MS / 1000} s` }), PROBE_WAIT_MS)),
  ]);
  report.webgpu = probe.ok ? { ...probe, kernels: kernelsFor(probe) } : probe;
  renderMachine(report);
  renderPlan(options, warnings, options.backends.map((b) => ({ backend: b, ...availability(b) })), planUnits());
  renderReport(report);
  renderStatus('idle', 'Ready: press Run.');
  $('run').disabled = false;
  $('run').addEventListener('click', run);
  $('stop').addEventListener('click', stop);
  $('copy').addEventListener('click', copyReport);
}

main().catch((err) => {
  window.benchError = messageOf(err);
  window.benchDone = true;
  renderStatus('failed', `The page failed to start: ${window.benchError}`);
});
