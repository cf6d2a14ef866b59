// Your own pictures: a folder of class folders (cat/…, dog/…, optionally
// train/<class>/… and test/<class>/…), dropped on the page or picked with
// the folder picker, or a .zip of it (dropped, picked or by URL). The engine says from the paths which file belongs to
// which class (place_pictures, the same rules as the CLI's import); the
// files are decoded and fitted to the chosen input size in picture-worker.js,
// off the page's thread, with a progress bar and a Cancel button; a preview
// shows a few pictures per class, the skipped files are listed with why, and
// the engine assembles the dataset from the pixels (load_pictures).

import { $ } from './dom.js';
import { engine } from './engine-control.js';
import { messageOf } from './format.js';
import { session } from './session.js';

/** Pictures shown per class in the preview. */
const PREVIEW_PER_CLASS = 6;
/** The most pixel bytes the engine takes in one dataset (MAX_UNPACKED_BYTES in src/data/mod.rs). */
const MAX_PIXEL_BYTES = 512 * 2 ** 20;
/** Names that end like a picture: a drop of such files (without folders) is taken as pictures. */
const PICTURE_NAME = /\.(jpe?g|jpe|jfif|png|webp|gif|bmp|dib)$/i;

let worker = null;
let cancelled = false;
/** Rejects the decoding in progress (Cancel). */
let stopDecoding = null;

/**
 * What a drop holds, read while the drop event lasts (its items are gone
 * afterwards): the directory entries, or null when it is not a drop of
 * folders or pictures (dataset files then load as before).
 */
export function pictureDrop(dataTransfer) {
  const items = [...(dataTransfer?.items ?? [])].filter((i) => i.kind === 'file');
  const entries = items.map((i) => (typeof i.webkitGetAsEntry === 'function' ? i.webkitGetAsEntry() : null));
  if (entries.some((e) => e?.isDirectory)) return entries.filter(Boolean);
  const files = [...(dataTransfer?.files ?? [])];
  if (files.length > 1 && files.every((f) => PICTURE_NAME.test(f.name))) return entries.filter(Boolean);
  return null;
}

/** Every file under the dropped entries: [{path, file}], path relative to the drop. */
export async function filesOfEntries(entries) {
  const out = [];
  const walk = async (entry) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ path: entry.fullPath.replace(/^\/+/, ''), file });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      // readEntries answers in batches (100 in Chrome) until an empty one.
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const e of batch) await walk(e);
      }
    }
  };
  for (const e of entries) await walk(e);
  return out;
}

/** The folder picker's files: [{path, file}], path from the picked folder. */
export function filesOfPicker(fileList) {
  return [...fileList].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}

/** Stops an import in progress (its worker is terminated; nothing is loaded). */
export function cancelPictures() {
  cancelled = true;
  worker?.terminate();
  worker = null;
  stopDecoding?.(new Error('cancelled'));
}

/**
 * Imports `list` ([{path, file}], a folder's files) as the user's dataset.
 * `ui` is the data panel's: {track(request), showCount(what, done, total),
 * showError, hideProgress}.
 */
export function importPictures(list, ui) {
  if (!list.length) return failed(ui, new Error('the folder is empty'));
  return runImport(ui, list.map((e) => e.path), null, (w, todo, size, fit) =>
    w.postMessage({ type: 'decode', size, fit, files: todo.map((index) => ({ index, file: list[index].file })) }),
  );
}

/** Imports a .zip of the folder tree (a File or Blob with a name). */
export function importPictureZip(file, ui) {
  return runImport(
    ui,
    null,
    (w) =>
      new Promise((resolve, reject) => {
        w.onmessage = ({ data }) => {
          if (data.type === 'zip-names') resolve(data.names);
          else if (data.type === 'zip-error') reject(new Error(data.message));
        };
        w.postMessage({ type: 'list-zip', file });
      }),
    (w, todo, size, fit, names) => w.postMessage({ type: 'decode-zip', size, fit, entries: todo.map((index) => ({ index, name: names[index] })) }),
  );
}

function failed(ui, err) {
  ui.showError(messageOf(err));
  return Promise.reject(err);
}

/**
 * The import: the names (given, or listed by the worker: `list(worker)`),
 * placed by the engine, the placed files decoded by the worker
 * (`decode(worker, indices, size, fit, names)`), previewed, and handed to the
 * engine as one buffer of pixels.
 */
async function runImport(ui, givenNames, list, decode) {
  const cfg = session.state.config;
  const size = Number(cfg.image_size);
  const fit = cfg.image_fit === 'pad' ? 'pad' : 'crop';
  cancelled = false;
  $('load-cancel').hidden = false;
  try {
    worker = new Worker(new URL('./picture-worker.js', import.meta.url), { type: 'module' });
    const stopped = new Promise((_, reject) => {
      stopDecoding = reject;
      worker.onerror = (ev) => reject(new Error(`the picture decoder failed: ${ev.message ?? 'unknown error'}`));
    });
    stopped.catch(() => {});
    let names = givenNames;
    if (!names) {
      ui.showCount('Reading the archive', 0, 0);
      names = await Promise.race([list(worker), stopped]);
      if (!names.length) throw new Error('the archive holds no files');
    }
    ui.showCount('Sorting pictures into classes', 0, names.length);
    const placed = await Promise.race([engine.request('place-pictures', { names }), stopped]);
    const skipped = [];
    const todo = [];
    placed.places.forEach((p, i) => {
      if (p.skip) skipped.push({ name: names[i], reason: p.skip });
      else if (p.class !== undefined) todo.push(i);
    });
    if (!todo.length) throw new Error(`${names.length} files, none inside a class folder: give a folder holding one folder of pictures per class (cat/…, dog/…)`);
    const ppi = 3 * size * size;
    // Said before minutes of decoding, not after.
    if (todo.length * ppi > MAX_PIXEL_BYTES) {
      const fits = [224, 128, 96, 64, 32].find((s) => todo.length * 3 * s * s <= MAX_PIXEL_BYTES);
      throw new Error(
        `${todo.length.toLocaleString('en')} pictures of ${size}×${size} would take ${Math.round((todo.length * ppi) / 2 ** 20)} MiB, ` +
          `more than the ${MAX_PIXEL_BYTES / 2 ** 20} MiB the engine holds: ` +
          (fits ? `choose an image size of ${fits} px or less, or import fewer pictures` : 'import fewer pictures'),
      );
    }
    let pixels;
    try {
      pixels = new Uint8Array(todo.length * ppi);
    } catch {
      throw new Error(`${todo.length} pictures of ${size}×${size} need ${Math.round((todo.length * ppi) / 2 ** 20)} MiB, more than this browser gives the page: choose a smaller image size`);
    }
    const decoded = [];
    const previews = new Map(); // class name → [pixels]
    const done = new Promise((resolve) => {
      let seen = 0;
      let last = 0;
      worker.onmessage = ({ data }) => {
        if (data.type === 'picture') {
          const px = new Uint8Array(data.pixels);
          pixels.set(px, decoded.length * ppi);
          decoded.push(data.index);
          const cls = placed.places[data.index].class;
          const shown = previews.get(cls) ?? [];
          if (shown.length < PREVIEW_PER_CLASS) previews.set(cls, [...shown, px]);
        } else if (data.type === 'skipped') {
          skipped.push({ name: names[data.index], reason: data.reason });
        } else if (data.type === 'done') {
          resolve();
          return;
        }
        seen++;
        const now = performance.now();
        if (now - last > 100 || seen === todo.length) {
          last = now;
          ui.showCount('Decoding pictures', seen, todo.length);
        }
      };
    });
    decode(worker, todo, size, fit, names);
    await Promise.race([done, stopped]);
    worker.terminate();
    worker = null;
    renderPreview(placed.class_names, previews, size);
    renderSkipped(skipped);
    ui.showCount('Building the dataset', 0, 0);
    const used = pixels.buffer.byteLength === decoded.length * ppi ? pixels.buffer : pixels.slice(0, decoded.length * ppi).buffer;
    pixels = null;
    return await ui.track(
      engine.request(
        'load-pictures',
        { names, decoded, pixels: used, size, fit, testFraction: Number(cfg.test_fraction), seed: Number(cfg.seed), skipped },
        [used],
      ),
    );
  } catch (err) {
    worker?.terminate();
    worker = null;
    ui.hideProgress();
    if (cancelled) ui.showError('Import cancelled: nothing was loaded.');
    else if (!err?.gone) ui.showError(messageOf(err));
    throw err;
  } finally {
    stopDecoding = null;
    $('load-cancel').hidden = true;
  }
}

/** A few pictures of each class, as the net will see them. */
function renderPreview(classNames, previews, size) {
  const box = $('picture-preview');
  box.replaceChildren();
  for (const name of classNames) {
    const row = document.createElement('div');
    row.className = 'preview-row';
    row.dataset.class = name;
    const label = document.createElement('span');
    label.className = 'preview-class';
    label.textContent = name;
    row.append(label);
    for (const px of previews.get(name) ?? []) row.append(pictureCanvas(px, size));
    box.append(row);
  }
  box.hidden = classNames.length === 0;
}

/** A canvas showing one channel-major RGB picture. */
export function pictureCanvas(px, size) {
  const c = document.createElement('canvas');
  c.width = size;
  c.height = size;
  const img = new ImageData(size, size);
  const plane = size * size;
  for (let p = 0; p < plane; p++) {
    img.data[4 * p] = px[p];
    img.data[4 * p + 1] = px[plane + p];
    img.data[4 * p + 2] = px[2 * plane + p];
    img.data[4 * p + 3] = 255;
  }
  c.getContext('2d').putImageData(img, 0, 0);
  return c;
}

/** The files left out, by name with the reason (also in the dataset's info). */
function renderSkipped(skipped) {
  const box = $('picture-skipped');
  const list = box.querySelector('ul');
  list.replaceChildren(
    ...skipped.map(({ name, reason }) => {
      const li = document.createElement('li');
      li.textContent = `${name}: ${reason}`;
      return li;
    }),
  );
  box.querySelector('summary').textContent = `${skipped.length} file${skipped.length === 1 ? '' : 's'} skipped`;
  box.hidden = skipped.length === 0;
}
