// Headless Debian Chromium with a fresh profile, for the scripts that drive
// the app or its bench page, www/bench.html (bench.mjs, profile.mjs).
// `close()` also removes the profile directory (`profile`, e.g. to find the
// browser's processes by it). CHROMIUM_EXTRA: more flags,
// space-separated (e.g. `--enable-logging=stderr
// --enable-dawn-features=dump_shaders` with DEBUG=pw:browser, to see the
// shaders a GPU process crash follows).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export async function launchChromium({ webgpu = false } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'reslab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: false,
    args: ['--headless=new', '--no-sandbox', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...(webgpu ? ['--enable-unsafe-webgpu'] : []), ...(process.env.CHROMIUM_EXTRA ? process.env.CHROMIUM_EXTRA.split(' ') : [])],
  });
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close, profile };
}
