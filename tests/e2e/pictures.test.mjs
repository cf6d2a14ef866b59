// Your own pictures in the page: a folder of class folders picked with the
// folder picker, decoded in the picture worker, previewed per class, the
// unusable files listed, trained on, and the results naming the classes;
// then the same tree as a .zip, picked and by URL, giving the same dataset;
// Cancel; the folder dropped (as the browser delivers a dropped folder, through
// the DevTools protocol's drag and drop); the trained net used on one photo
// (Use the net: its classes by name), and the study that follows the data
// planned on these pictures.
//
// The pictures are the cats vs dogs sample (RESLAB_DATA, default
// ../shared/data: cats_vs_dogs_sample/, 200 real photos) with a broken JPEG,
// a text file and an empty file added; on a clone without that folder, a
// generated set of two classes of BMP pictures (and the same three bad files),
// said in the test's output. RESLAB_REQUIRE_FULL_DATA=1 makes a missing
// sample folder an error.

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { zipSync } from 'fflate';
import { MINUTE, REPO, canvasInk, control, diagnostics, openAdvanced, openApp, pressTrain, requireBuild, until, waitForBackend, waitForRunEnd } from './helpers.mjs';

requireBuild();

const DATA = process.env.RESLAB_DATA ? resolve(process.env.RESLAB_DATA) : resolve(REPO, '..', 'shared', 'data');
const SAMPLE = join(DATA, 'cats_vs_dogs_sample');
const REQUIRED = !!process.env.RESLAB_REQUIRE_FULL_DATA && process.env.RESLAB_REQUIRE_FULL_DATA !== '0';

/** A 24-bit BMP of w×h pixels from rgb(x, y) → [r, g, b]. */
function bmp(w, h, rgb) {
  const row = Math.ceil((w * 3) / 4) * 4;
  const buf = Buffer.alloc(54 + row * h);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(w, 18);
  buf.writeInt32LE(h, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(24, 28);
  buf.writeUInt32LE(row * h, 34);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = rgb(x, h - 1 - y);
      const o = 54 + y * row + x * 3;
      buf[o] = b;
      buf[o + 1] = g;
      buf[o + 2] = r;
    }
  }
  return buf;
}

/** The picture folder the test imports: {dir, source, classes}. */
function pictureFolder(tmp) {
  const dir = join(tmp, 'pets');
  if (existsSync(SAMPLE)) {
    cpSync(SAMPLE, dir, { recursive: true });
    console.log(`data: ${SAMPLE} (real photos) with three bad files added`);
  } else {
    if (REQUIRED) throw new Error(`${SAMPLE} is missing and RESLAB_REQUIRE_FULL_DATA is set`);
    console.log(`data: generated pictures (${SAMPLE} not found) with three bad files added`);
    // Two classes a small net can tell apart: warm stripes and cool blobs, sizes varied.
    for (let i = 0; i < 40; i++) {
      mkdirSync(join(dir, 'cat'), { recursive: true });
      mkdirSync(join(dir, 'dog'), { recursive: true });
      const w = 40 + (i % 7) * 6;
      const h = 36 + (i % 5) * 8;
      writeFileSync(join(dir, 'cat', `cat.${i}.bmp`), bmp(w, h, (x, y) => ((x + i) % 8 < 4 ? [220, 120 + (y % 30), 40] : [90, 40, 20])));
      writeFileSync(join(dir, 'dog', `dog.${i}.bmp`), bmp(w, h, (x, y) => ((x - w / 2) ** 2 + (y - h / 2) ** 2 < (w * h) / 10 ? [30, 90, 220] : [20, 40 + i, 90])));
    }
  }
  // The three files the import must skip and list.
  const aJpeg = readdirSync(join(dir, 'cat')).find((f) => f.endsWith('.jpg'));
  const jpegBytes = aJpeg ? readFileSync(join(dir, 'cat', aJpeg)) : Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xdb, 0, 67]);
  writeFileSync(join(dir, 'cat', 'broken.jpg'), jpegBytes.subarray(0, Math.floor(jpegBytes.length / 2)));
  writeFileSync(join(dir, 'dog', 'notes.txt'), 'photos from the shelter, spring\n');
  writeFileSync(join(dir, 'dog', 'empty.jpg'), '');
  return dir;
}

/** Every file under `dir`, by its path from `base`. */
function filesUnder(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), base) : [[relative(base, join(dir, e.name)), readFileSync(join(dir, e.name))]],
  );
}

let app;
let tmp;
let dir;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'reslab-pictures-'));
  dir = pictureFolder(tmp);
  // The same tree as a .zip, with the folder at its top as a zip tool writes it.
  writeFileSync(join(tmp, 'pets.zip'), zipSync(Object.fromEntries(filesUnder(dir, tmp).map(([p, b]) => [p, new Uint8Array(b)])), { level: 6 }));
  app = await openApp({
    query: '?backend=cpu&model=cnn&optimizer=adam&lr=0.001&batch_size=16&epochs=2&image_size=32&test_fraction=0.2',
    serverOptions: { dataDir: tmp },
  });
});

after(async () => {
  await app?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('a picked folder of class folders: previewed, bad files listed, trained, classes named', { timeout: 15 * MINUTE }, async () => {
  const { page } = app;
  await waitForBackend(page);
  await page.locator('#data').selectOption('user');
  await page.locator('#data-folder').setInputFiles(dir);

  await page.waitForFunction(() => document.getElementById('data-info')?.textContent.includes('classes cat, dog'), null, { timeout: 5 * MINUTE });
  const info = await page.getByTestId('dataset-info').textContent();
  assert.match(info, /3×32×32/, info);
  assert.match(info, /3 files skipped/, info);
  assert.equal(await page.getByTestId('data-error').isVisible(), false, await page.getByTestId('data-error').textContent());

  // The preview: a row per class, each with pictures that are not blank.
  const rows = await page.evaluate(() =>
    [...document.querySelectorAll('#picture-preview .preview-row')].map((r) => ({
      cls: r.dataset.class,
      shown: [...r.querySelectorAll('canvas')].map((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let min = 255;
        let max = 0;
        for (let i = 0; i < d.length; i += 4) {
          min = Math.min(min, d[i], d[i + 1], d[i + 2]);
          max = Math.max(max, d[i], d[i + 1], d[i + 2]);
        }
        return max - min;
      }),
    })),
  );
  assert.deepEqual(rows.map((r) => r.cls), ['cat', 'dog']);
  for (const r of rows) {
    assert.ok(r.shown.length >= 3, `${r.cls}: ${r.shown.length} pictures previewed`);
    assert.ok(r.shown.every((range) => range > 20), `${r.cls}: a blank preview (${r.shown})`);
  }

  // The skipped files, each by name with its reason.
  const skipped = await page.locator('#picture-skipped li').allTextContents();
  assert.equal(skipped.length, 3, skipped.join('\n'));
  assert.ok(skipped.some((s) => /cat\/broken\.jpg: truncated/.test(s)), skipped.join('\n'));
  assert.ok(skipped.some((s) => /dog\/notes\.txt: not an image/.test(s)), skipped.join('\n'));
  assert.ok(skipped.some((s) => /dog\/empty\.jpg: empty file/.test(s)), skipped.join('\n'));

  await pressTrain(page);
  assert.equal(await waitForRunEnd(page, 10 * MINUTE), 'finished', await diagnostics(app));
  // The results name the classes: the selected run's confusion matrix.
  const heads = await page.locator('table.confusion thead th').allTextContents();
  assert.deepEqual(heads.slice(1, 3), ['cat', 'dog'], heads.join(' | '));
});

test('the same tree as a .zip, picked and by URL: the same classes, split and skipped files', { timeout: 10 * MINUTE }, async () => {
  const { page } = app;
  const folderInfo = await page.getByTestId('dataset-info').textContent();
  const folderSkipped = await page.locator('#picture-skipped li').allTextContents();
  const loads = () => page.evaluate(() => Number(document.getElementById('user-data-status').dataset.loads ?? 0));
  const nextLoad = async (before) => {
    await page.waitForFunction((n) => Number(document.getElementById('user-data-status').dataset.loads ?? 0) > n, before, { timeout: 5 * MINUTE });
    assert.equal(await page.getByTestId('data-error').isVisible(), false, await page.getByTestId('data-error').textContent());
  };

  let before = await loads();
  await page.locator('#data-files').setInputFiles(join(tmp, 'pets.zip'));
  await nextLoad(before);
  assert.equal(await page.getByTestId('dataset-info').textContent(), folderInfo);
  assert.deepEqual(await page.locator('#picture-skipped li').allTextContents(), folderSkipped);
  assert.deepEqual(await page.locator('#picture-preview .preview-row').evaluateAll((rows) => rows.map((r) => r.dataset.class)), ['cat', 'dog']);

  before = await loads();
  await page.locator('#data-url').fill('/data/pets.zip');
  await page.locator('#load-url').click();
  await nextLoad(before);
  assert.equal(await page.getByTestId('dataset-info').textContent(), folderInfo);
  assert.deepEqual(await page.locator('#picture-skipped li').allTextContents(), folderSkipped);
});

test('Cancel during decoding stops the import and keeps the dataset already loaded', { timeout: 10 * MINUTE }, async () => {
  const { page } = app;
  const infoBefore = await page.getByTestId('dataset-info').textContent();
  // A larger tree (the folder's pictures ten times over), so that decoding lasts seconds.
  const big = join(tmp, 'many');
  for (const cls of ['cat', 'dog']) {
    mkdirSync(join(big, cls), { recursive: true });
    const pics = readdirSync(join(dir, cls)).filter((f) => /\.(jpg|bmp)$/.test(f) && !/broken|empty/.test(f));
    for (let k = 0; k < 10; k++) for (const f of pics) cpSync(join(dir, cls, f), join(big, cls, `${k}-${f}`));
  }
  await page.locator('#data-folder').setInputFiles(big);
  await page.waitForFunction(() => {
    const m = /Decoding pictures: ([\d,]+) of ([\d,]+)/.exec(document.getElementById('load-text')?.textContent ?? '');
    return m && Number(m[1].replace(/,/g, '')) < Number(m[2].replace(/,/g, ''));
  }, null, { timeout: 2 * MINUTE, polling: 50 });
  await page.locator('#load-cancel').click();
  await page.getByTestId('data-error').waitFor({ state: 'visible', timeout: MINUTE });
  assert.equal((await page.getByTestId('data-error').textContent()).trim(), 'Import cancelled: nothing was loaded.');
  assert.equal(await page.locator('#load-status').isVisible(), false, 'the progress bar is gone');
  assert.equal(await page.locator('#load-cancel').isVisible(), false, 'Cancel is gone');
  assert.equal(await page.getByTestId('dataset-info').textContent(), infoBefore, 'the dataset loaded before is still the one shown');
  // And the page can still import: the small folder again.
  await page.locator('#data-folder').setInputFiles(dir);
  await page.waitForFunction(() => document.getElementById('data-error').hidden, null, { timeout: 5 * MINUTE });
  await page.waitForFunction(() => document.getElementById('load-status').hidden, null, { timeout: 5 * MINUTE });
  assert.equal(await page.getByTestId('dataset-info').textContent(), infoBefore);
});

test('the trained net on one photo: its classes by name; the study on your own images plans on these pictures', { timeout: 5 * MINUTE }, async () => {
  const { page } = app;
  // The run of the first test (the only one), trained on these pictures at 32 px.
  await page.getByTestId('result-row').first().click();
  await until('the run\'s model in Use the net', async () => /Run #1: cnn, input 32×32 colour, classes cat, dog/.test(await page.getByTestId('use-model').textContent()), MINUTE, app);
  await page.locator('#use-tabs [data-source="picture"]').click();
  const photo = join(dir, 'cat', readdirSync(join(dir, 'cat')).find((f) => /\.(jpg|bmp)$/.test(f) && !/broken|empty/.test(f)));
  await page.locator('#use-file').setInputFiles(photo);
  const prediction = page.getByTestId('prediction');
  await until('a prediction for the photo', () => prediction.evaluate((ol) => ol.dataset.pending === undefined && ol.dataset.top !== undefined), MINUTE, app);
  const rows = await prediction.locator('li').evaluateAll((lis) => lis.map((li) => [li.dataset.class, Number(li.dataset.probability)]));
  assert.deepEqual(rows.map((r) => r[0]), ['cat', 'dog'], JSON.stringify(rows));
  assert.ok(Math.abs(rows[0][1] + rows[1][1] - 1) < 1e-3, JSON.stringify(rows));
  assert.ok((await canvasInk(page.getByTestId('use-seen'))).distinct > 50, 'the photo as the net sees it is drawn');
  assert.match(await page.getByTestId('use-status').textContent(), /centre-cropped to 32×32, as in training/);

  // The study that follows the data: at 32 px the paper's CIFAR nets, on these pictures.
  await page.locator('[data-preset="own-images"]').click();
  await until('the plan of the study on your own images', async () => /plain56/.test(await page.locator('#preset-plan').textContent()), MINUTE, app);
  const plan = await page.locator('#preset-plan').textContent();
  for (const m of ['plain20', 'plain56', 'resnet20', 'resnet56']) assert.match(plan, new RegExp(m), plan);
  assert.match(plan, /images/, plan);
  assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
});

test('a dropped folder imports as the picked one did', { timeout: 8 * MINUTE }, async () => {
  const { page } = app;
  const pickedInfo = await page.getByTestId('dataset-info').textContent();
  const loads = await page.evaluate(() => Number(document.getElementById('user-data-status').dataset.loads ?? 0));
  const zone = page.locator('#drop-zone');
  await zone.scrollIntoViewIfNeeded();
  const box = await zone.boundingBox();
  const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
  const hit = await page.evaluate(([px, py]) => document.elementFromPoint(px, py)?.outerHTML.slice(0, 120), [x, y]);
  assert.ok(/drop-zone|drop-hint/.test(hit ?? ''), `the drop lands on ${hit}`);
  // What the browser receives when a folder is dragged from the file manager.
  const cdp = await page.context().newCDPSession(page);
  const data = { items: [], files: [dir], dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop']) await cdp.send('Input.dispatchDragEvent', { type, x, y, data });
  await until('the dropped folder\'s import', () => page.evaluate((n) => Number(document.getElementById('user-data-status').dataset.loads ?? 0) > n, loads), 2 * MINUTE, app);
  assert.equal(await page.getByTestId('data-error').isVisible(), false, await page.getByTestId('data-error').textContent());
  assert.equal(await page.getByTestId('dataset-info').textContent(), pickedInfo);
  assert.equal((await page.locator('#picture-skipped li').allTextContents()).length, 3);
});

test('forty classes: trained, and the analysis lists the worst classes and the most confused pairs', { timeout: 8 * MINUTE }, async () => {
  const { page } = app;
  // 40 class folders of 3 small pictures each, one colour per class.
  const many = join(tmp, 'forty');
  for (let c = 0; c < 40; c++) {
    const name = `class${String(c).padStart(2, '0')}`;
    mkdirSync(join(many, name), { recursive: true });
    for (let k = 0; k < 3; k++) writeFileSync(join(many, name, `${k}.bmp`), bmp(12, 12, (x, y) => [(c * 53) % 256, (c * 97 + k * 9) % 256, ((x + y) * 20) % 256]));
  }
  await page.locator('#data-folder').setInputFiles(many);
  await page.waitForFunction(() => /40 classes|classes class00/.test(document.getElementById('data-info')?.textContent ?? ''), null, { timeout: 3 * MINUTE });
  await openAdvanced(page);
  await control(page, 'Max steps').fill('2');
  await pressTrain(page);
  assert.equal(await waitForRunEnd(page, 5 * MINUTE), 'finished', await diagnostics(app));
  const newest = await page.getByTestId('result-row').evaluateAll((rows) => Math.max(...rows.map((r) => Number(r.dataset.runId))));
  await page.locator(`[data-testid="result-row"][data-run-id="${newest}"]`).click();
  const details = page.getByTestId('run-details');
  await until('the summary of a 40-class confusion matrix', async () => /Worst classes \(of 40\)/.test(await details.textContent()), MINUTE, app);
  assert.equal(await page.locator('table.confusion').count(), 0, 'no 40×40 table');
  const pairs = details.locator('li[data-testid="confusion-cell"]');
  assert.ok((await pairs.count()) > 0, await details.textContent());
  // A pair shows its test images.
  await pairs.first().click();
  await page.getByTestId('image-filter').waitFor({ state: 'visible', timeout: MINUTE });
  assert.ok((await page.getByTestId('image-grid').locator('figure').count()) > 0);
  assert.deepEqual(app.pageErrors, [], 'uncaught page errors');
});
