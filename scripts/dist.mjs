#!/usr/bin/env node
// Writes ResLab as a static site: a folder any static host serves as the whole
// app (GitHub Pages, university web space, `python3 -m http.server`), with
// nothing to install.
//
//   node scripts/dist.mjs DIR        (scripts/build-web.sh --dist DIR builds first, then runs this)
//
// It copies what scripts/serve.mjs publishes (APP_PATHS: the page, sw.js,
// www/, both engines in pkg/, the built-in samples) and nothing else of the
// repository: no sources, tests, build files or dot-files. It compiles
// nothing: pkg/ must have been built (scripts/build-web.sh). Hosts that cannot
// send COOP/COEP still get the threaded CPU engine: sw.js adds the headers
// (www/isolation.js). Every module in www/ must be in sw.js's SHELL list (a
// module left out would not load offline): writing the site fails naming it.
// DIR is replaced if it holds an earlier copy; any other non-empty folder is
// refused.

import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_PATHS } from './serve.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What a built site's top level holds: the first segment of every APP_PATHS entry. */
const TOP = [...new Set(APP_PATHS.map((p) => p.split('/')[1]))];

/** The files the service worker caches at install (sw.js's SHELL): a missing one makes its install, and so the isolation, fail. */
export function shellFiles(swSource) {
  const list = /const SHELL = \[([\s\S]*?)\];/.exec(swSource);
  if (!list) throw new Error('sw.js: no SHELL list found');
  return [...list[1].matchAll(/'\.\/([^']*)'/g)].map((m) => m[1] || 'index.html');
}

const inside = (dir, path) => path === dir || path.startsWith(dir + sep);

/** Copies the app from `root` into `out`; returns {files, bytes}. */
export function writeSite(out, { root = REPO, log = console.log } = {}) {
  const shell = shellFiles(readFileSync(join(root, 'sw.js'), 'utf8'));
  // Every module of the page and its workers is cached at install: one left out would not load offline.
  const uncached = readdirSync(join(root, 'www')).filter((f) => f.endsWith('.js') && !shell.includes(`www/${f}`));
  if (uncached.length) throw new Error(`not in sw.js's SHELL list (the page would not load offline): ${uncached.map((f) => `www/${f}`).join(', ')}`);
  const missing = shell.filter((f) => !existsSync(join(root, f)));
  if (missing.length) {
    const hint = missing.some((f) => f.startsWith('pkg/'))
      ? 'build the engines first (bash scripts/build-web.sh)'
      : missing.some((f) => f.startsWith('www/vendor/'))
      ? 'run "npm install" (or "node scripts/vendor.mjs") first'
      : 'the repository is incomplete';
    throw new Error(`missing from ${root}: ${missing.join(', ')}: ${hint}`);
  }

  const target = resolve(out);
  const sources = APP_PATHS.map((p) => join(root, p));
  if (inside(target, root) || sources.some((s) => inside(s.replace(/[/\\]$/, ''), target))) {
    throw new Error(`${target}: the site cannot be written over the repository or inside the folders it copies`);
  }
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new Error(`${target} exists and is not a folder`);
    const foreign = readdirSync(target).filter((n) => !TOP.includes(n));
    if (foreign.length) {
      throw new Error(`${target} holds ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''}: not an earlier ResLab site, so it is not replaced (name an empty or new folder)`);
    }
    rmSync(target, { recursive: true, force: true });
  }
  mkdirSync(target, { recursive: true });

  let files = 0;
  let bytes = 0;
  const filter = (src) => {
    const rel = relative(root, src);
    if (rel.split(sep).some((s) => s.startsWith('.'))) return false; // dot-files: never published
    const info = lstatSync(src);
    if (info.isSymbolicLink()) {
      // A link is copied as what it points to, if that lies in the same published folder (as serve.mjs allows).
      const real = realpathSync(src);
      if (!sources.some((s) => s.endsWith('/') && inside(realpathSync(s), real) && inside(s.replace(/\/$/, ''), src))) {
        throw new Error(`${rel} is a link out of its folder (to ${real}): not published`);
      }
    }
    const kind = statSync(src);
    if (kind.isFile()) {
      files++;
      bytes += kind.size;
    }
    return true;
  };
  for (const p of APP_PATHS) {
    const rel = p.replace(/^\//, '').replace(/\/$/, '');
    cpSync(join(root, rel), join(target, rel), { recursive: true, dereference: true, filter });
  }
  const lost = shell.filter((f) => !existsSync(join(target, f)));
  if (lost.length) throw new Error(`not in the site after copying: ${lost.join(', ')}`);
  log(`[dist] ${target}: ${files} files, ${(bytes / 1048576).toFixed(1)} MiB (${TOP.join(', ')})`);
  return { files, bytes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args.length !== 1 || args[0].startsWith('-')) {
    console.error('usage: node scripts/dist.mjs DIR   (writes the static site into DIR; build pkg/ first with scripts/build-web.sh)');
    process.exit(args.includes('--help') || args.includes('-h') ? 0 : 2);
  }
  try {
    writeSite(args[0]);
  } catch (err) {
    console.error(`dist: ${err.message}`);
    process.exit(1);
  }
}
