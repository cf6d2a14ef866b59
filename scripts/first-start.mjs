#!/usr/bin/env node
// Measures `./scripts/serve` as a stranger meets it: the time from the command
// to a page that has trained, on a machine that has built nothing yet, and
// the time of the next start.
//
//   node scripts/first-start.mjs [--keep] [--commit REV] [WORKDIR]
//
// "Nothing yet" is simulated without touching this machine's own caches: a
// fresh clone of REV (default HEAD) in WORKDIR (default a new temporary
// folder), an empty HOME, and in it an empty CARGO_HOME, so the crates are
// downloaded, wasm-bindgen-cli is compiled, npm installs from its registry and
// ResLab's build cache (~/.cache/reslab) starts empty. The Rust toolchain
// (rustup's, with the wasm target and rust-src) is the one prerequisite the
// README asks for, so RUSTUP_HOME is kept. Chromium is Debian's.
//
// First start: `./scripts/serve` until it prints its address, then Chromium
// opens that address, trains the built-in MNIST sample (the small CNN, 60
// steps) and the run must finish. Second start: `./scripts/serve` again
// in the same clone and HOME, until the address, then the same training.
// Prints both times and each build stage's, as the build printed them.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const commitAt = args.indexOf('--commit');
const commit = commitAt >= 0 ? args[commitAt + 1] : 'HEAD';
const workArg = args.filter((a, i) => !a.startsWith('--') && i !== commitAt + 1)[0];
const work = workArg ? resolve(workArg) : mkdtempSync(join(tmpdir(), 'reslab-first-start-'));
const QUERY = '?backend=cpu&data=sample-mnist&model=cnn&optimizer=adam&lr=0.001&batch_size=32&max_steps=60&test_limit=500';

const say = (s) => console.error(`[first-start] ${s}`);
const mmss = (ms) => {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
};

function prepare() {
  if (existsSync(join(work, 'reslab'))) throw new Error(`${work}/reslab exists: give an empty or new folder`);
  mkdirSync(join(work, 'home'), { recursive: true });
  mkdirSync(join(work, 'bin'), { recursive: true });
  execFileSync('git', ['clone', '-q', REPO, join(work, 'reslab')]);
  execFileSync('git', ['-C', join(work, 'reslab'), 'checkout', '-q', commit]);
  // rustup's proxies only: cargo-installed tools of this machine stay out of PATH.
  const rustupBin = process.env.CARGO_HOME ? join(process.env.CARGO_HOME, 'bin') : join(homedir(), '.cargo', 'bin');
  for (const t of ['cargo', 'rustc', 'rustup', 'rustdoc']) symlinkSync(join(rustupBin, t), join(work, 'bin', t));
}

function env() {
  const home = join(work, 'home');
  return {
    HOME: home,
    CARGO_HOME: join(home, '.cargo'),
    RUSTUP_HOME: process.env.RUSTUP_HOME || join(homedir(), '.rustup'),
    PATH: [join(home, '.cargo', 'bin'), join(work, 'bin'), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    PORT: '0',
    TERM: 'dumb',
    LANG: 'C.UTF-8',
  };
}

/** Runs ./scripts/serve until it prints its address: {url, ms, proc, log}. */
function serve(name) {
  const t0 = Date.now();
  const proc = spawn('./scripts/serve', [], { cwd: join(work, 'reslab'), env: env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = [];
  const lines = (d) => {
    for (const raw of String(d).split('\n')) {
      const l = raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/.*\r/, ''); // no colours, the last state of a progress line
      if (!l.trim()) continue;
      const stamped = `${mmss(Date.now() - t0).padStart(12)}  ${l}`;
      log.push(stamped);
      if (/^\[(build-web|setup)\]|^ResLab on|^error/.test(l)) say(`${name}: ${stamped.trim()}`);
    }
  };
  return new Promise((res, rej) => {
    proc.stderr.on('data', lines);
    proc.stdout.on('data', (d) => {
      lines(d);
      const m = /ResLab on (http:\/\/\S+)/.exec(log.join('\n'));
      if (m) res({ url: m[1], ms: Date.now() - t0, proc, log });
    });
    proc.once('exit', (code) => rej(new Error(`${name}: ./scripts/serve exited with ${code}\n${log.slice(-40).join('\n')}`)));
  });
}

/**
 * Opens the page, trains, waits for the run to end; the page's own text on
 * failure. Playwright comes from the clone being measured (its `npm ci`), not
 * from this checkout, so the launch is written here rather than taken from
 * scripts/chromium.mjs.
 */
async function trains(url) {
  const require = createRequire(join(work, 'reslab', 'package.json'));
  const { chromium } = require('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'reslab-first-start-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: false,
    args: ['--headless=new', '--no-sandbox', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await page.goto(url + '/' + QUERY);
    await page.waitForFunction(() => !document.getElementById('train')?.disabled, null, { timeout: 180_000 });
    await page.click('#train');
    await page.waitForFunction(
      () => ['finished', 'stopped', 'diverged', 'failed'].includes(document.getElementById('run-status')?.dataset.status),
      null,
      { timeout: 600_000, polling: 500 },
    );
    const status = await page.locator('#run-status').getAttribute('data-status');
    if (status === 'finished') await page.getByTestId('test-accuracy').waitFor({ state: 'visible', timeout: 60_000 });
    const acc = status === 'finished' ? (await page.getByTestId('test-accuracy').textContent()).trim() : '';
    if (status !== 'finished') throw new Error(`the run ended ${status}: ${(await page.locator('#run-message').textContent()).trim()}`);
    return acc;
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function stop(proc) {
  if (proc.exitCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  process.kill(-proc.pid, 'SIGINT'); // the whole group: a background wasm-opt too
  await gone;
}

const report = { commit: execFileSync('git', ['-C', REPO, 'rev-parse', '--short', commit]).toString().trim(), cores: cpus().length };
try {
  prepare();
  say(`fresh clone of ${report.commit} in ${work}, empty HOME; ${report.cores} cores`);
  for (const name of ['first', 'second']) {
    const t0 = Date.now();
    const s = await serve(name);
    const listening = Date.now() - t0;
    const acc = await trains(s.url);
    const trained = Date.now() - t0;
    report[name] = { to_address: mmss(listening), to_trained_page: mmss(trained), test_accuracy: acc };
    say(`${name} start: address after ${mmss(listening)}, a page that trained after ${mmss(trained)} (${acc})`);
    // A deferred wasm-opt finishes before the next start, as it would for a user who keeps the server open.
    if (name === 'first') {
      const until = Date.now() + 20 * 60_000;
      while (s.log.some((l) => /optimising them in the background/.test(l)) && !s.log.some((l) => /optimised modules in pkg/.test(l))) {
        if (Date.now() > until) throw new Error('the background wasm-opt did not finish within 20 min');
        await new Promise((r) => setTimeout(r, 2000));
      }
      if (s.log.some((l) => /optimised modules in pkg/.test(l))) report.first.background_wasm_opt_done = mmss(Date.now() - t0);
    }
    writeFileSync(join(work, `${name}-start.log`), s.log.join('\n') + '\n');
    await stop(s.proc);
  }
  console.log(JSON.stringify(report, null, 2));
} finally {
  if (!keep && !workArg) rmSync(work, { recursive: true, force: true });
}
