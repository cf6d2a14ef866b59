// The wasm engine itself in headless Chromium, without the page: parsing the
// real sample files in wasm, a corrupted file's message, config validation,
// and a few training steps on the CPU backend and on WebGPU (SwiftShader).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';
import { CHROMIUM, MINUTE, ROOT, requireBuild } from './helpers.mjs';

async function check(backend) {
  requireBuild();
  // The check page is not part of the app: the server publishes it only when asked.
  const server = await startServer({ port: 0, root: ROOT, extraPaths: ['tests/e2e/engine/'] });
  const profile = mkdtempSync(join(tmpdir(), 'reslab-engine-'));
  const args = ['--headless=new', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  if (backend === 'webgpu') args.push('--enable-unsafe-webgpu');
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: false, args });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(new URL('tests/e2e/engine/index.html', server.url).href);
    // (waitForFunction polls with eval, which the page's CSP forbids.)
    for (let i = 0; i < 100 && !(await page.evaluate(() => typeof window.engineCheck === 'function')); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const report = await page.evaluate((b) => window.engineCheck(b), backend);
    assert.equal(report.error, undefined, report.error);
    assert.deepEqual(errors, []);
    return report;
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

function common(r, backend) {
  assert.equal(r.backend.backend, backend);
  assert.equal(r.mnist.train, 10000);
  assert.equal(r.mnist.test, 2000);
  assert.equal(r.cifar.kind, 'cifar10');
  assert.equal(r.cifar.train, 2000);
  assert.equal(r.cifar.test, 500);
  assert.match(r.corrupt, /train-images-idx3-ubyte\.gz/);
  const fields = r.bad_config.map((p) => p.field).sort();
  assert.deepEqual(fields, ['lr', 'model']);
  assert.equal(r.result.status, 'finished', r.result.message);
  assert.ok(r.result.losses.every(Number.isFinite), `losses ${r.result.losses}`);
  for (const t of ['start', 'steps', 'epoch', 'finished']) assert.ok(r.event_types.includes(t), `no ${t} event`);
}

test('CPU backend in wasm: parsing, validation, loss falls over 12 steps', { timeout: 10 * MINUTE }, async () => {
  const r = await check('cpu');
  common(r, 'cpu');
  const l = r.result.losses;
  assert.equal(l.length, 12);
  const head = (l[0] + l[1] + l[2]) / 3;
  const tail = (l[9] + l[10] + l[11]) / 3;
  assert.ok(tail < head, `loss did not fall: ${l.map((x) => x.toFixed(3)).join(' ')}`);
});

test('WebGPU (SwiftShader here): a few steps train with finite loss', { timeout: 30 * MINUTE }, async () => {
  const r = await check('webgpu');
  common(r, 'webgpu');
  assert.equal(r.result.losses.length, 3);
});
