#!/usr/bin/env node
// Copies the browser libraries ResLab uses (uPlot, fflate) from node_modules into www/vendor/
// (git-ignored), so the page never loads anything from a CDN.
//
//   node scripts/vendor.mjs        (also run by `npm install` as postinstall)

import { copyFile, mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'www', 'vendor');

const files = [
  // [source inside node_modules, destination inside www/vendor]
  ['uplot/dist/uPlot.esm.js', 'uPlot.esm.js'],
  ['uplot/dist/uPlot.min.css', 'uPlot.min.css'],
  ['uplot/LICENSE', 'uPlot.LICENSE.txt'],
  // Reading a .zip of pictures in the page (www/picture-worker.js).
  ['fflate/esm/browser.js', 'fflate.js'],
  ['fflate/LICENSE', 'fflate.LICENSE.txt'],
];

async function exists(p) {
  try { await access(p); return true; } catch { return false; }
}

async function main() {
  await mkdir(outDir, { recursive: true });
  const versions = {};
  for (const [src, dst] of files) {
    const from = join(root, 'node_modules', src);
    if (!(await exists(from))) {
      console.error(`vendor: missing ${from} — run "npm install" first`);
      process.exitCode = 1;
      return;
    }
    await copyFile(from, join(outDir, dst));
  }
  const pkg = JSON.parse(await readFile(join(root, 'node_modules', 'uplot', 'package.json'), 'utf8'));
  versions.uplot = pkg.version;
  versions.fflate = JSON.parse(await readFile(join(root, 'node_modules', 'fflate', 'package.json'), 'utf8')).version;
  await writeFile(join(outDir, 'VERSIONS.json'), JSON.stringify(versions, null, 2) + '\n');
  console.log(`vendor: copied ${files.length} files to ${outDir} (uPlot ${pkg.version}, fflate ${versions.fflate})`);
}

main().catch((err) => {
  console.error('vendor:', err);
  process.exitCode = 1;
});
