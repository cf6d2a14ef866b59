// Where a browser training step spends its time: runs the "Check this
// machine" page (www/bench.html: the peers' protocol, one backend, model and
// batch; no self-check or training run) in headless Chromium with the
// DevTools CPU profiler on in every worker (the training worker and, for the
// threaded engine, each pool worker), then prints each worker's self time by
// function and, with --callers, who called the functions matching a pattern.
//
// Function names need a module with its name section: build without wasm-opt
// (which strips it; the code is otherwise the same LLVM output):
//
//   RESLAB_WASM_OPT=0 bash scripts/build-web.sh
//   node scripts/profile.mjs [--backend cpu-threads|cpu|webgpu] [--model resnet20] [--batch 128]
//                            [--threads N] [--top 25] [--callers 'alloc_zeroed|pack_lhs']
//
// The profile covers the whole bench (3 warm-up steps, 10 timed, one more
// step of a fresh model), so compare shares within a profile; this VM's
// speed moves too much between runs for absolute times. In a pool worker,
// `Condvar>::wait` is time spent idle, waiting for work.
//
// Workers are reached by auto-attaching with non-flattened sessions, nested
// for the pool workers the training worker starts (Playwright's CDP session
// talks to one target).

import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { startServer } from './serve.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const backend = arg('backend', 'cpu-threads');
const model = arg('model', 'resnet20');
const batch = arg('batch', '128');
const threads = arg('threads', '0');
const top = Number(arg('top', '25'));
const callers = arg('callers', null);

const server = await startServer({ port: 0, root: REPO });
const { context, close } = await launchChromium({ webgpu: backend === 'webgpu' });

try {
  const page = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(page);
  const workers = []; // {path: [sessionId…] from the page down, url}
  const replies = new Map();
  let nextId = 1;

  // A command to the target at the end of `path`, wrapped once per level.
  const send = (path, method, params = {}) => new Promise((resolve, reject) => {
    const id = nextId++;
    replies.set(id, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
    let message = JSON.stringify({ id, method, params });
    for (let i = path.length - 1; i >= 1; i--) {
      message = JSON.stringify({ id: nextId++, method: 'Target.sendMessageToTarget', params: { sessionId: path[i], message } });
    }
    cdp.send('Target.sendMessageToTarget', { sessionId: path[0], message }).catch(reject);
  });
  const attached = async (path, info) => {
    if (info.type === 'service_worker') return; // the offline cache, not the training
    workers.push({ path, url: info.url });
    await send(path, 'Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false }).catch(() => {});
    await send(path, 'Profiler.enable');
    await send(path, 'Profiler.setSamplingInterval', { interval: 200 });
    await send(path, 'Profiler.start');
  };
  const received = (path, m) => {
    if (m.method === 'Target.receivedMessageFromTarget') return received([...path, m.params.sessionId], JSON.parse(m.params.message));
    if (m.method === 'Target.attachedToTarget') return attached([...path, m.params.sessionId], m.params.targetInfo);
    if (m.id !== undefined && replies.has(m.id)) {
      replies.get(m.id)(m);
      replies.delete(m.id);
    }
  };
  cdp.on('Target.attachedToTarget', (e) => attached([e.sessionId], e.targetInfo));
  cdp.on('Target.receivedMessageFromTarget', (e) => received([e.sessionId], JSON.parse(e.message)));
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });

  await page.goto(`${server.url}www/bench.html?backends=${backend}&models=${model}&batches=${batch}&budget=600&threads=${threads}&train_steps=0&selfcheck=0`);
  await page.waitForFunction(() => !document.getElementById('run')?.disabled || window.benchDone, null, { timeout: 5 * 60_000 });
  await page.click('#run');
  for (;;) {
    if (await page.evaluate(() => window.benchDone)) break;
    await page.waitForTimeout(500);
  }
  const { report, error } = await page.evaluate(() => ({ report: window.benchReport, error: window.benchError }));
  if (error) throw new Error(error);
  const failed = report.backends[backend];
  if (failed && failed.status !== 'ok') throw new Error(`${backend}: ${failed.status}${failed.why ? ` (${failed.why})` : ''}`);
  const results = report.results;
  for (const r of results) console.log(`${r.model} ${r.backend} batch ${r.batch}: ${r.ms_per_step?.toFixed(1)} ms a step (median), warm first step ${r.first_step_warm_ms?.toFixed(0)} ms`);

  const short = (name) => name.replace(/\[[0-9a-f]{8,}\]/g, '');
  for (const { path, url } of workers) {
    const { profile } = await send(path, 'Profiler.stop');
    const node = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const self = new Map(); // node id → µs
    profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));
    const byName = new Map();
    let total = 0;
    for (const [id, us] of self) {
      const f = node.get(id).callFrame;
      const name = short(f.functionName || `(${f.url.split('/').pop()})`);
      byName.set(name, (byName.get(name) ?? 0) + us);
      total += us;
    }
    console.log(`\n== ${url.split('/').pop()}: ${(total / 1e3).toFixed(0)} ms sampled`);
    for (const [name, us] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${(us / 1e3).toFixed(0).padStart(8)} ms ${(100 * us / total).toFixed(1).padStart(5)} %  ${name.slice(0, 150)}`);
    }
    if (callers) {
      const re = new RegExp(callers);
      const chains = new Map();
      for (const [id, us] of self) {
        if (!re.test(node.get(id).callFrame.functionName)) continue;
        const chain = [];
        for (let p = parent.get(id); p !== undefined && chain.length < 3; p = parent.get(p)) chain.push(short(node.get(p).callFrame.functionName).slice(0, 90));
        const key = `${short(node.get(id).callFrame.functionName).slice(0, 60)} <- ${chain.join(' <- ')}`;
        chains.set(key, (chains.get(key) ?? 0) + us);
      }
      for (const [key, us] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
        console.log(`  called: ${(us / 1e3).toFixed(0).padStart(6)} ms  ${key}`);
      }
    }
  }
} finally {
  await close();
  await server.close();
}
