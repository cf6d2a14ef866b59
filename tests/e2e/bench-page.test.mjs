// "Check this machine" (www/bench.html) in headless Chromium with SwiftShader
// (WebGPU, software) and the CPU on one thread, with small settings: Run
// goes to the end, and the JSON report a user would paste into an issue has
// every part: the schema, the adapter (software on SwiftShader), per-backend
// speeds, what a WebGPU step asks of the GPU (first step and later steps),
// the self-check with every op, and a short training run above chance on
// both backends. No timing is asserted: only that times were measured.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE, openApp, requireBuild } from './helpers.mjs';

/** Every layer kind the GPU self-check compares (src/selfcheck.rs). */
const SELF_CHECK_OPS = ['avg_pool', 'batch_norm', 'conv3x3', 'conv3x3/2', 'cross_entropy', 'matmul', 'max_pool', 'relu'];
const TRAIN_STEPS = 60;

test('the bench page measures WebGPU and the CPU and reports it all as JSON', { timeout: 20 * MINUTE }, async (t) => {
  requireBuild();
  const query = `www/bench.html?models=mnist-cnn&batches=8&budget=20&train_steps=${TRAIN_STEPS}&backends=webgpu,cpu`;
  const app = await openApp({ query, webgpu: true });
  t.after(() => app.close());
  const { page } = app;

  const run = page.getByRole('button', { name: 'Run', exact: true });
  await page.waitForFunction(() => !document.getElementById('run').disabled, null, { timeout: 5 * MINUTE, polling: 250 });
  assert.match(await page.locator('#plan').textContent(), /webgpu; cpu: mnist-cnn × batch 8/);
  await run.click();
  await page.waitForFunction(() => window.benchDone === true, null, { timeout: 15 * MINUTE, polling: 1000 });
  const status = await page.locator('#status').getAttribute('data-state');
  const report = JSON.parse(await page.locator('#report').textContent());
  const brief = JSON.stringify({ ...report, results: report.results.map(({ step_ms, ...r }) => r) }, null, 1).slice(0, 6000);
  assert.equal(status, 'done', `status ${status}: ${await page.locator('#status').textContent()}\n${brief}\n${app.log.slice(-20).join('\n')}`);
  assert.deepEqual(report, await page.evaluate(() => window.benchReport), 'window.benchReport is the report shown');
  assert.equal(await page.evaluate(() => window.benchError), null);

  assert.equal(report.schema, 'reslab-machine-report/1');
  assert.equal(report.finished, true);
  assert.equal(report.stopped, false);
  assert.deepEqual(report.options.backends, ['webgpu', 'cpu']);
  assert.ok(report.browser.user_agent.length > 0);
  assert.ok(report.browser.cores >= 1);
  assert.equal(report.browser.cross_origin_isolated, true, 'the test server sends COOP/COEP');

  // The adapter: SwiftShader, software, so the software kernels by default.
  const g = report.webgpu;
  assert.equal(g.ok, true, brief);
  assert.ok(g.info.vendor || g.info.description, `adapter info: ${JSON.stringify(g.info)}`);
  assert.ok(g.software, `SwiftShader is software: ${JSON.stringify(g)}`);
  assert.equal(g.kernels, 'software');
  assert.ok(g.limits.maxBufferSize > 0 && g.limits.maxStorageBufferBindingSize > 0, 'limits reported');

  for (const b of ['webgpu', 'cpu']) {
    assert.equal(report.backends[b].status, 'ok', `${b}: ${JSON.stringify(report.backends[b])}`);
    const r = report.results.find((x) => x.backend === b && x.model === 'mnist-cnn' && x.batch === 8);
    assert.ok(r, `${b}: no result`);
    assert.ok(['ok', 'partial'].includes(r.status), `${b}: ${r.status}`);
    for (const k of ['ms_per_step', 'img_per_s', 'first_step_ms', 'first_step_warm_ms']) assert.ok(r[k] > 0, `${b}: ${k} = ${r[k]}`);
    if (b === 'cpu') assert.equal(r.gpu_counts, undefined, 'no GPU counts on the CPU');
  }
  assert.equal(report.backends.webgpu.kernels, 'software');
  assert.equal(report.backends.cpu.threads, 1);
  assert.deepEqual(report.backends.webgpu.gpu_errors, []);

  // What a step asks of the GPU.
  const c = report.results.find((x) => x.backend === 'webgpu').gpu_counts;
  assert.ok(c, 'GPU counts for WebGPU');
  assert.ok(c.first_step.dispatches > 0 && c.first_step.compute_passes > 0 && c.first_step.submits > 0, JSON.stringify(c.first_step));
  assert.ok(c.first_step.pipelines_created > 0, 'the first step compiles pipelines');
  assert.ok(c.first_step.buffers_created > 0 && c.first_step.buffer_bytes_created > 0, 'the first step allocates');
  assert.ok(c.first_step.bytes_written > 0, 'the batch and the weights are uploaded');
  assert.ok(c.later_steps >= 1, `later steps: ${c.later_steps}`);
  const m = c.later_steps_median;
  assert.ok(m.dispatches > 0 && m.submits > 0, `later steps: ${JSON.stringify(m)}`);
  assert.ok(m.readbacks >= 1 && m.bytes_read > 0, 'every step reads its loss back');
  for (const k of ['pipelines', 'buffers', 'buffer_bytes']) assert.ok(Number.isInteger(c.later_steps_created[k]) && c.later_steps_created[k] >= 0, `${k}: ${c.later_steps_created[k]}`);
  // Step by step, and summing to the total.
  assert.equal(c.created_by_step.length, c.later_steps);
  assert.equal(c.created_by_step.reduce((n, x) => n + x.pipelines, 0), c.later_steps_created.pipelines);
  // … each step's new pipelines named by kernel.
  for (const s of c.created_by_step) assert.equal(Object.values(s.kernels).reduce((n, k) => n + k, 0), s.pipelines, JSON.stringify(s));
  // Kernels are compiled in the first two steps and never again (the optimizer's state and BN's running
  // statistics take the same operations from the first step on): a step that compiled anew each time, say for
  // a shape that changes, would show here.
  assert.ok(c.created_by_step.length >= 3, `later steps: ${c.created_by_step.length}`);
  assert.deepEqual(c.created_by_step.slice(1).map((s) => s.pipelines).filter((n) => n > 0), [], JSON.stringify(c.created_by_step));
  assert.ok(c.warm_first_step.dispatches > 0, "a fresh model's first step is counted too");
  // The last step's dispatches by kernel: every one labelled by the kernel CubeCL compiled for it.
  const byKernel = Object.entries(c.last_step_by_kernel ?? {});
  assert.ok(byKernel.length > 1 && byKernel.every(([, n]) => Number.isInteger(n) && n > 0), JSON.stringify(c.last_step_by_kernel));
  assert.ok(!byKernel.some(([k]) => k === '(unlabelled)'), `unlabelled dispatches: ${JSON.stringify(c.last_step_by_kernel)}`);
  // Burn's fusion is in the engine (Cargo feature "fusion"): element-wise chains run as fused kernels. A build
  // or a Burn upgrade that drops it would double a ResNet's dispatches without a failure anywhere else.
  assert.ok(byKernel.some(([k]) => k.startsWith('elemwise_fuse')), `no fused kernels: ${JSON.stringify(c.last_step_by_kernel)}`);

  // The self-check: passed, every op compared.
  const sc = report.self_check;
  assert.equal(sc.ok, true, `self-check: ${sc.failure}`);
  assert.deepEqual([...new Set(sc.compared.map((x) => x.op))].sort(), SELF_CHECK_OPS);
  for (const x of sc.compared) assert.ok(x.ok && Number.isFinite(x.max_abs_diff), JSON.stringify(x));
  // What it asked of the GPU: its kernels compiled, and all 21 results read back in one transfer.
  assert.ok(sc.gpu_counts.pipelines_created > 0 && sc.gpu_counts.dispatches > 0, JSON.stringify(sc.gpu_counts));
  assert.equal(sc.gpu_counts.readbacks, 1, `self-check read-backs: ${sc.gpu_counts.readbacks}`);
  assert.ok(Object.keys(sc.by_kernel).length > 1, JSON.stringify(sc.by_kernel));

  // The training run, on WebGPU and on the CPU: above chance.
  for (const b of ['webgpu', 'cpu']) {
    const tr = report.training.find((x) => x.backend === b);
    assert.ok(tr, `${b}: no training run`);
    assert.equal(tr.status, 'finished', `${b}: ${JSON.stringify(tr)}`);
    assert.equal(tr.steps_done, TRAIN_STEPS);
    assert.ok(tr.seconds > 0);
    assert.ok(tr.test_accuracy > 0.5, `${b}: test accuracy ${tr.test_accuracy} after ${TRAIN_STEPS} steps`);
  }
  // A training run (Adam, losses read every 10 steps) compiles its kernels in its first 10 steps, never after.
  const created = report.training.find((x) => x.backend === 'webgpu').pipelines_created_by_log;
  assert.equal(created.length, TRAIN_STEPS / 10, JSON.stringify(created));
  assert.deepEqual(created.slice(1).filter((c) => c.pipelines > 0), [], JSON.stringify(created));

  // The page's tables show the same.
  assert.equal(await page.locator('#speed tr').count(), 2);
  assert.equal(await page.locator('#counts tr').count(), 3);
  assert.equal(await page.locator('#check tr').count(), sc.compared.length);
  assert.equal(await page.locator('#train tr').count(), 2);
  assert.match(await page.locator('#adapter').textContent(), /Software or fallback\s*yes/);

  // Copy puts the report on the clipboard.
  await app.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByRole('button', { name: 'Copy', exact: true }).click();
  await page.waitForFunction(() => document.getElementById('copied').textContent.length > 0);
  assert.deepEqual(JSON.parse(await page.evaluate(() => navigator.clipboard.readText())), report);

  await app.screenshot('bench-page.png');
  assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
});

// With Burn's own kernels (what a hardware GPU runs) the first step compiles
// every kernel of training, the optimizer's update included: the parameters
// and its state start laid out as their gradients come (src/model/layout.rs),
// and each step's update runs within that step. ResNet-20 also covers its
// strided convolutions and projection shortcuts, whose gradients come in
// other layouts than the stride-1 ones.
test("on Burn's own GPU kernels nothing is compiled after the first step", { timeout: 10 * MINUTE }, async (t) => {
  requireBuild();
  const app = await openApp({ query: 'www/bench.html?models=mnist-cnn,resnet20&batches=8&budget=100&train_steps=0&backends=webgpu&kernels=default&selfcheck=0', webgpu: true });
  t.after(() => app.close());
  const { page } = app;
  await page.waitForFunction(() => !document.getElementById('run').disabled, null, { timeout: 5 * MINUTE, polling: 250 });
  await page.click('#run');
  await page.waitForFunction(() => window.benchDone === true, null, { timeout: 8 * MINUTE, polling: 1000 });
  const report = JSON.parse(await page.locator('#report').textContent());
  assert.equal(report.backends.webgpu.status, 'ok', JSON.stringify(report.backends.webgpu));
  assert.equal(report.backends.webgpu.kernels, 'default');
  for (const model of ['mnist-cnn', 'resnet20']) {
    const r = report.results.find((x) => x.model === model);
    assert.ok(r?.gpu_counts, `${model}: no GPU counts`);
    const c = r.gpu_counts;
    assert.ok(c.first_step.pipelines_created > 0, `${model}: the first step compiles`);
    assert.ok(c.created_by_step.length >= 2, `${model}: later steps: ${c.created_by_step.length}`);
    assert.deepEqual(c.created_by_step.map((s) => s.pipelines), c.created_by_step.map(() => 0), `${model}: ${JSON.stringify(c.created_by_step)}`);
  }
  assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
});

test('the main page links to it', { timeout: 5 * MINUTE }, async (t) => {
  requireBuild();
  const app = await openApp();
  t.after(() => app.close());
  const link = app.page.getByRole('link', { name: 'Check this machine' });
  assert.equal(await link.getAttribute('href'), 'www/bench.html');
  await link.click();
  await app.page.waitForURL(/\/www\/bench\.html$/);
  await app.page.waitForFunction(() => !document.getElementById('run').disabled, null, { timeout: 2 * MINUTE, polling: 250 });
  assert.match(await app.page.locator('#plan').textContent(), /resnet20, plain20, mnist-cnn × batch 32, 128, up to 120 s each/);
});

test('Stop ends the run at once and keeps what was measured', { timeout: 5 * MINUTE }, async (t) => {
  requireBuild();
  const app = await openApp({ query: 'www/bench.html?models=mnist-cnn,resnet20&batches=8&budget=60&train_steps=0&backends=cpu' });
  t.after(() => app.close());
  const { page } = app;
  await page.waitForFunction(() => !document.getElementById('run').disabled, null, { timeout: 2 * MINUTE, polling: 250 });
  await page.click('#run');
  // Stop once the first combination is in and the second has started.
  await page.waitForFunction(() => window.benchReport.results.length === 1 && /resnet20/.test(document.getElementById('progress-text').textContent), null, { timeout: 2 * MINUTE, polling: 100 });
  await page.click('#stop');
  await page.waitForFunction(() => window.benchDone === true, null, { timeout: 30_000, polling: 100 });
  const report = JSON.parse(await page.locator('#report').textContent());
  assert.equal(await page.locator('#status').getAttribute('data-state'), 'stopped');
  assert.equal(report.stopped, true);
  assert.equal(report.finished, false);
  assert.equal(report.backends.cpu.status, 'stopped');
  assert.deepEqual(report.results.map((r) => r.model), ['mnist-cnn']);
  assert.equal(await page.locator('#run').isEnabled(), true, 'Run can be pressed again');
  assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
});
