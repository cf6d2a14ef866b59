#!/usr/bin/env node
// Measures importing a folder of pictures in the page, as a user does it
// with the folder picker: photos decoded and resized per second, and the
// browser's peak memory (the resident memory of all Chromium processes,
// sampled every 100 ms from /proc: the page, the engine's worker, the
// picture worker and the browser itself).
//
//   node scripts/measure-picture-import.mjs DIR [--size 64] [--fit crop]
//
// DIR is a folder of class folders (e.g. one made by
// scripts/make-picture-set.py). Serves this checkout (pkg/ must be built),
// opens the page on the CPU engine, picks DIR, waits for the dataset and
// prints one JSON line.

import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium } from './chromium.mjs';
import { startServer } from './serve.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const dir = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!dir) {
  console.error('usage: node scripts/measure-picture-import.mjs DIR [--size 64] [--fit crop]');
  process.exit(2);
}
const size = Number(opt('size', '64'));
const fit = opt('fit', 'crop');
const root = resolve(new URL('..', import.meta.url).pathname);

/** Resident memory of every process whose command line names this profile, in bytes. */
function chromiumRss(profile) {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(profile)) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

let files = 0;
let bytes = 0;
const count = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) count(join(d, e.name));
    else {
      files++;
      bytes += readFileSync(join(d, e.name)).length;
    }
  }
};
count(resolve(dir));

const server = await startServer({ port: 0, root });
const { context, close, profile } = await launchChromium();
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${server.url}?backend=cpu&image_size=${size}&image_fit=${fit}`);
  await page.waitForFunction(() => ['cpu', 'webgpu'].includes(document.getElementById('backend-line')?.dataset.backend), null, { timeout: 180_000 });
  await page.locator('#data').selectOption('user');
  const idle = chromiumRss(profile);
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, chromiumRss(profile));
  }, 100);
  const t0 = Date.now();
  await page.locator('#data-folder').setInputFiles(resolve(dir));
  await page.waitForFunction(
    () => Number(document.getElementById('user-data-status').dataset.loads ?? 0) > 0 || !document.getElementById('data-error').hidden,
    null,
    { timeout: 3_600_000, polling: 500 },
  );
  const seconds = (Date.now() - t0) / 1000;
  clearInterval(sampler);
  const error = await page.locator('#data-error').isVisible() ? await page.locator('#data-error').textContent() : null;
  const info = await page.getByTestId('dataset-info').textContent();
  const skipped = await page.locator('#picture-skipped li').count();
  console.log(JSON.stringify({
    files,
    megabytes: +(bytes / 2 ** 20).toFixed(1),
    size,
    fit,
    seconds: +seconds.toFixed(1),
    photos_per_second: +(files / seconds).toFixed(1),
    peak_rss_mib: Math.round(peak / 2 ** 20),
    idle_rss_mib: Math.round(idle / 2 ** 20),
    skipped,
    info: info.trim(),
    error,
  }));
} finally {
  await close();
  await server.close();
}
