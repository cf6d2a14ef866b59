// The static site (scripts/dist.mjs; scripts/build-web.sh --dist DIR runs it
// after building) on a plain static server that sends no special headers, as
// GitHub Pages or university web space (python3 -m http.server, the site in a
// folder as a repository's GitHub Pages site is, https://OWNER.github.io/REPO/):
// - the folder holds the app and nothing else of the repository (no src/,
//   tests/, Cargo.toml, .git, dot-files), and writing it compiles nothing
//   (the engines are pkg/'s, byte for byte);
// - the page registers its service worker, reloads once, and is then
//   cross-origin isolated by the headers the worker adds (sw.js, www/isolation.js);
// - it says so: "CPU, N threads (…; N threads: the page is cross-origin
//   isolated by COOP/COEP headers the service worker adds)";
// - the threaded engine trains the built-in MNIST sample to a finished run
//   with a test accuracy well above chance, and the page never reloads again;
// - offline (the server stopped) a reload is isolated and threaded all the same.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MINUTE, REPO, ROOT, diagnostics, openApp, parseAccuracy, pressTrain, requireBuild, waitForRunEnd } from './helpers.mjs';

requireBuild();

const QUERY = '?backend=cpu&data=sample-mnist&model=cnn&optimizer=adam&lr=0.001&batch_size=32&max_steps=60&test_limit=500';

/** `python3 -m http.server` on a free port over `dir`: {url, close()}, `url` being that of `dir/path/`. */
async function pythonServer(dir, path) {
  const proc = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = [];
  proc.stderr.on('data', (d) => log.push(...String(d).trim().split('\n')) && log.splice(0, Math.max(0, log.length - 50)));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`python3 -m http.server did not start: ${out}`)), 15_000);
    proc.stdout.on('data', (d) => {
      out += d;
      // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
      const m = /port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => reject(new Error(`python3 -m http.server exited (${code}): ${out}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/${path}/`,
    log,
    close: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill();
      }),
  };
}

/** Every path under `dir`, relative, '/'-separated. */
function listFiles(dir, prefix = '') {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    return e.isDirectory() ? [`${rel}/`, ...listFiles(dir, rel)] : [rel];
  });
}

/** Polls `fn` in the page until it returns something truthy; survives the page's reloads. */
async function until(page, fn, what, timeout = 3 * MINUTE) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await page.evaluate(fn);
      if (last) return last;
    } catch (err) {
      last = String(err?.message ?? err); // the page was reloading
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeout / 1000} s (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('the --dist folder on a static server without COOP/COEP: isolated by the service worker after one reload, threaded, trains', { timeout: 15 * MINUTE }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'reslab-dist-'));
  // Under a folder, as GitHub Pages serves a repository's site (https://OWNER.github.io/REPO/).
  const site = join(tmp, 'reslab');
  let server;
  let app;
  try {
    // Writing the site copies; it compiles nothing (the engines are pkg/'s as they are).
    execFileSync(process.execPath, [join(REPO, 'scripts', 'dist.mjs'), site], { cwd: ROOT, stdio: 'pipe', timeout: MINUTE });
    const files = listFiles(site);
    assert.deepEqual(readdirSync(site).sort(), ['assets', 'index.html', 'pkg', 'sw.js', 'www'], files.join('\n'));
    for (const banned of ['src', 'tests', 'Cargo.toml', 'Cargo.lock', '.git', 'node_modules', 'target', 'scripts', 'docs']) {
      assert.ok(!existsSync(join(site, banned)), `${banned} must not be in the site`);
    }
    assert.deepEqual(files.filter((f) => f.split('/').some((s) => s.startsWith('.'))), [], 'no dot-files');
    assert.deepEqual(files.filter((f) => /\.(rs|toml|mjs|sh|py)$/.test(f) || /(^|\/)tests?\/|\.test\./.test(f)), [], 'no sources, scripts or tests');
    for (const f of ['index.html', 'sw.js', 'www/app.js', 'www/isolation.js', 'www/vendor/uPlot.esm.js', 'pkg/reslab.js', 'pkg/threads/reslab.js', 'assets/sample/mnist/train-images-idx3-ubyte.gz', 'assets/sample/cifar10/cifar-10-sample-binary.tar.gz']) {
      assert.ok(files.includes(f), `${f} is in the site`);
    }
    for (const wasm of ['pkg/reslab_bg.wasm', 'pkg/threads/reslab_bg.wasm']) {
      assert.ok(readFileSync(join(site, wasm)).equals(readFileSync(join(ROOT, wasm))), `${wasm} is pkg/'s, as built`);
    }

    server = await pythonServer(tmp, 'reslab');
    const res = await fetch(server.url);
    assert.equal(res.status, 200);
    for (const h of ['cross-origin-opener-policy', 'cross-origin-embedder-policy', 'cross-origin-resource-policy', 'content-security-policy']) {
      assert.equal(res.headers.get(h), null, `the static server sends no ${h}`);
    }

    let loads = 0;
    app = await openApp({
      server,
      query: QUERY,
      beforeOpen: (page) => page.on('load', () => loads++),
    });
    const { page } = app;
    // One reload under the service worker, then isolated, and the engine says how.
    await until(page, () => self.crossOriginIsolated && document.getElementById('backend-line')?.dataset.backend, 'isolated page with a backend');
    const line = (await page.locator('#backend-line').textContent()).trim();
    assert.equal(loads, 2, `the page loads twice: the first visit, and once under the service worker (${line})`);
    assert.ok(await page.evaluate(() => !!navigator.serviceWorker.controller), 'the service worker controls the page');
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    if (cores > 1) {
      const n = Math.min(cores, 16);
      assert.equal(line, `Backend: CPU, ${n} threads (chosen in settings; ${n} threads: the page is cross-origin isolated by COOP/COEP headers the service worker adds)`);
    } else {
      assert.match(line, /^Backend: CPU, 1 thread \(chosen in settings; one thread because this machine reports one core\)$/, line);
    }

    // The threaded engine trains the built-in sample.
    await pressTrain(page);
    assert.equal(await waitForRunEnd(page, 10 * MINUTE), 'finished', await diagnostics(app));
    // The status turns "finished" a moment before the test accuracy is written: wait for the number.
    const accEl = page.getByTestId('test-accuracy');
    await accEl.waitFor({ state: 'visible', timeout: MINUTE });
    await page.waitForFunction(() => /\d/.test(document.querySelector('[data-testid="test-accuracy"]')?.textContent ?? ''), null, { timeout: MINUTE });
    const accuracy = parseAccuracy(await accEl.textContent());
    assert.ok(accuracy > 0.5, `test accuracy ${accuracy} after 60 steps: well above chance (0.1)`);
    const run = (await page.evaluate(() => window.__reslab.runs)).at(-1);
    assert.ok(Math.abs(run.testAccuracy - accuracy) < 0.001, `the page shows the run's accuracy: ${JSON.stringify(run)}`);
    assert.equal(loads, 2, 'no further reload');
    await app.screenshot('static-site.png');

    // Offline (the server gone) the worker's cached copies get the headers too: the same engine, no extra reload.
    await server.close();
    await page.reload();
    await until(page, () => self.crossOriginIsolated && document.getElementById('backend-line')?.dataset.backend, 'offline: isolated page with a backend', MINUTE);
    assert.equal((await page.locator('#backend-line').textContent()).trim(), line, 'offline, the same engine for the same reason');
    assert.equal(loads, 3, 'offline: the one reload asked for, no other');
    assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
    assert.deepEqual(app.consoleErrors, [], 'console errors');
  } finally {
    if (app) await app.close();
    else await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
