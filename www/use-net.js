// Use the net: the selected run's trained model on an input of the user's —
// drawn on a pad, a picture dropped, picked or pasted, a photo from the
// camera (only when asked for), or a test image clicked in the analysis —
// with its class probabilities, and "look inside": the feature maps of every
// convolution stage for that input and the first layer's filters. The model
// runs in the engine's worker on the backend that trained it; the page only
// prepares the input (as training prepared its images) and draws.

import { $ } from './dom.js';
import { engine } from './engine-control.js';
import { formatPercent, messageOf } from './format.js';
import { session } from './session.js';
import { drawPad, greyOf, lightBackground, prepareDigit } from './draw-pad.js';
import { fitPicture, toGrey } from './picture-fit.js';
import { drawInput, renderFeatureMaps, renderFilters } from './inside-view.js';

/** Classes shown with their bars: all of them up to this many, else the top 5. */
const ALL_CLASSES_UP_TO = 10;
const TOP = 5;
/** Side at which a picture of a digit is looked at before the MNIST-style preparation. */
const DIGIT_WORK_SIDE = 112;

/** Model key → promise of its info {class_names, input: [c, h, w], fit, model, dataset}. */
const infos = new Map();
/** What the panel shows: {key, info, runId} once the model's info arrived. */
let shown = null;
/** The input source: 'draw' | 'picture' | 'camera' | 'test'. */
let source = 'draw';
/** The last picture (an ImageBitmap) from a file, the clipboard or the camera, and its name. */
let picture = null;
/** A test image chosen in the analysis: {pixels, c, h, w, caption, key}. */
let testImage = null;
let pad = null;
let stream = null;
/** One look-inside request at a time; a newer input waits for it and replaces any other waiting. */
let busy = false;
let again = false;

/** The model key of a run whose model the engine holds, else null. */
export function modelKeyOf(run) {
  return run?.modelInWorker ? (run.modelKey ?? String(run.id)) : null;
}

/** The engine restarted: the models it held are gone. */
export function forgetModels() {
  infos.clear();
  shown = null;
  renderUseNet();
}

function infoFor(key) {
  if (!infos.has(key)) {
    const p = engine.request('model-info', { key });
    infos.set(key, p);
    p.catch(() => infos.delete(key));
  }
  return infos.get(key);
}

/** Shows the selected run's model (or why there is none). Called when the selection or the runs change. */
export function renderUseNet() {
  const run = session.runs.get(session.selectedRunId);
  const key = modelKeyOf(run);
  const line = $('use-model');
  if (!key) {
    shown = null;
    $('use-body').hidden = true;
    $('inside').hidden = true;
    stopCamera();
    line.textContent = !run
      ? 'Select a finished run in the results table to try its trained net on your own input.'
      : run.done
        ? `The trained model of run #${run.id} is not in memory (the engine keeps the last few trained or loaded models ` +
          'of this visit): load its saved model file and evaluate it to use it here.'
        : `Run #${run.id} has not finished.`;
    return;
  }
  if (shown?.key === key) return;
  shown = { key, runId: run.id, info: null };
  line.textContent = `Loading the model of run #${run.id}…`;
  infoFor(key).then(
    (info) => {
      if (shown?.key !== key) return;
      shown.info = info;
      const [c, h, w] = info.input;
      const names = info.class_names.map(String);
      const list = names.length <= 12 ? names.join(', ') : `${names.slice(0, 10).join(', ')}, … (${names.length} classes)`;
      line.textContent = `Run #${run.id}: ${info.model}, input ${w}×${h} ${c === 3 ? 'colour' : 'grey'}, classes ${list}.`;
      $('use-body').hidden = false;
      $('inside').hidden = false;
      if (testImage && testImage.key !== key) testImage = null;
      if (source === 'test' && !testImage) setSource('draw');
      if ($('inside').open) loadFilters();
      refresh();
    },
    (err) => {
      if (shown?.key !== key) return;
      line.textContent = `The model of run #${run.id} cannot be used: ${messageOf(err)}`;
    },
  );
}

// ------------------------------------------------------------------ inputs

/** The model input for the current source, or null (with what to do in the status line). */
async function currentInput() {
  const [c, side] = shown.info.input;
  const digitLike = c === 1;
  if (source === 'draw') {
    const canvas = $('draw-canvas');
    const grey = greyOf(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data);
    const digit = prepareDigit(grey, canvas.width, canvas.height, side);
    return digit && { pixels: channels(digit, c), note: 'Drawn, prepared as MNIST prepared its digits (centred in a 20-pixel box).' };
  }
  if (source === 'test') {
    return testImage && { pixels: testImage.pixels, note: testImage.caption };
  }
  if (!picture) return null;
  if (digitLike) {
    // A photo of a digit on paper: grey, inverted when the ground is light, then as a drawn digit.
    let grey = toGrey(fitPicture(picture.bitmap, DIGIT_WORK_SIDE, 'pad'));
    const inverted = lightBackground(grey, DIGIT_WORK_SIDE, DIGIT_WORK_SIDE);
    if (inverted) grey = grey.map((v) => 255 - v);
    const digit = prepareDigit(grey, DIGIT_WORK_SIDE, DIGIT_WORK_SIDE, side);
    return digit && { pixels: digit, note: `${picture.name}: grey${inverted ? ', inverted (light background)' : ''}, centred as MNIST digits are.` };
  }
  const fit = shown.info.fit === 'pad' ? 'pad' : 'crop';
  return { pixels: fitPicture(picture.bitmap, side, fit), note: `${picture.name}: ${fit === 'pad' ? 'padded' : 'centre-cropped'} to ${side}×${side}, as in training.` };
}

/** Grey bytes repeated into `c` channels. */
function channels(grey, c) {
  if (c === 1) return grey;
  const out = new Uint8Array(grey.length * c);
  for (let k = 0; k < c; k++) out.set(grey, k * grey.length);
  return out;
}

/** The input changed (or the model): predict again, one request at a time. */
async function refresh() {
  if (!shown?.info) return;
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  // For whoever waits on the answer to the latest input (the tests): set until it is shown.
  $('use-prediction').dataset.pending = '1';
  try {
    do {
      again = false;
      const key = shown?.key;
      if (!shown?.info) break;
      const input = await currentInput();
      if (!input) {
        $('use-prediction').replaceChildren();
        delete $('use-prediction').dataset.top;
        $('use-status').textContent = { draw: 'Draw in the box (a digit, for a net trained on MNIST).', picture: 'Drop, pick or paste a picture.',
          camera: 'Start the camera, then take a picture.', test: 'Click a test image in the analysis above.' }[source];
        continue;
      }
      const [c, h, w] = shown.info.input;
      drawInput($('use-seen'), input.pixels, c, h, w);
      const maps = $('inside').open;
      let answer;
      try {
        answer = await engine.request('look-inside', { key, pixels: input.pixels, maps });
      } catch (err) {
        $('use-status').textContent = `The net could not be run: ${messageOf(err)}`;
        continue;
      }
      if (shown?.key !== key || again) continue;
      renderPrediction(Array.from(answer.probabilities ?? []), shown.info.class_names.map(String));
      $('use-status').textContent = input.note;
      if (maps) renderFeatureMaps($('maps-box'), answer.maps ?? [], answer.pixels ?? new Uint8Array(0));
    } while (again);
  } finally {
    busy = false;
    delete $('use-prediction').dataset.pending;
  }
}

/** Bars for every class (up to ten, in their order, so they can be watched while drawing) or the top five. */
function renderPrediction(probs, names) {
  const list = $('use-prediction');
  const order = probs.map((_, i) => i);
  const best = order.reduce((a, b) => (probs[b] > probs[a] ? b : a), 0);
  const rows = probs.length <= ALL_CLASSES_UP_TO ? order : order.sort((a, b) => probs[b] - probs[a]).slice(0, TOP);
  list.dataset.top = names[best] ?? String(best);
  list.replaceChildren(...rows.map((i) => {
    const li = document.createElement('li');
    li.dataset.class = names[i] ?? String(i);
    li.dataset.probability = String(probs[i]);
    if (i === best) li.className = 'best';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = names[i] ?? String(i);
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.setProperty('--p', String(Math.max(0, Math.min(1, probs[i]))));
    const pct = document.createElement('span');
    pct.className = 'pct';
    pct.textContent = formatPercent(probs[i]);
    li.append(name, bar, pct);
    return li;
  }));
}

async function usePicture(blob, name) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    $('use-status').textContent = `${name}: not a picture this browser can decode (JPEG, PNG, WebP, GIF or BMP).`;
    return;
  }
  picture?.bitmap.close?.();
  picture = { bitmap, name };
  if (source !== 'camera') setSource('picture');
  refresh();
}

/** A test image chosen in the analysis (at the model's input size), used as the input. */
export function useTestImage(pixels, c, h, w, caption) {
  if (!shown?.info) return;
  const [mc, mh, mw] = shown.info.input;
  if (mc !== c || mh !== h || mw !== w) return;
  testImage = { pixels, c, h, w, caption, key: shown.key };
  setSource('test');
  $('use-panel').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  refresh();
}

// ------------------------------------------------------------------ camera

async function startCamera() {
  if (stream) return;
  if (!navigator.mediaDevices?.getUserMedia) {
    $('use-status').textContent = 'This browser gives no access to a camera here (it needs a secure page: https or localhost).';
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (err) {
    $('use-status').textContent = `The camera could not be started: ${messageOf(err)}`;
    return;
  }
  if (source !== 'camera') {
    stopCamera();
    return;
  }
  $('use-video').srcObject = stream;
  await $('use-video').play().catch(() => {});
  $('camera-shot').disabled = false;
  $('camera-stop').disabled = false;
}

/** Stops the camera's stream (leaving the panel or the tab, another source, another run). */
export function stopCamera() {
  if (!stream) return;
  for (const t of stream.getTracks()) t.stop();
  stream = null;
  $('use-video').srcObject = null;
  $('camera-shot').disabled = true;
  $('camera-stop').disabled = true;
}

async function takePicture() {
  const video = $('use-video');
  if (!stream || !video.videoWidth) return;
  usePicture(await createImageBitmap(video), 'camera picture');
}

// ------------------------------------------------------------------ wiring

function setSource(s) {
  source = s;
  for (const tab of document.querySelectorAll('#use-tabs [data-source]')) {
    tab.setAttribute('aria-selected', String(tab.dataset.source === s));
    if (tab.dataset.source === 'test') tab.hidden = !testImage;
  }
  for (const pane of document.querySelectorAll('#use-body [data-pane]')) pane.hidden = pane.dataset.pane !== s;
  if (s !== 'camera') stopCamera();
}

async function loadFilters() {
  const key = shown?.key;
  if (!key || $('filters-box').dataset.key === key) return;
  $('filters-box').dataset.key = key;
  try {
    const answer = await engine.request('first-filters', { key });
    if (shown?.key !== key) return;
    renderFilters($('filters-box'), answer.filters, answer.pixels);
  } catch (err) {
    delete $('filters-box').dataset.key;
    $('filters-box').textContent = `The filters could not be read: ${messageOf(err)}`;
  }
}

export function bindUseNet() {
  pad = drawPad($('draw-canvas'), () => {
    if (source !== 'draw') setSource('draw');
    refresh();
  });
  $('draw-clear').addEventListener('click', () => {
    pad.clear();
    refresh();
  });
  for (const tab of document.querySelectorAll('#use-tabs [data-source]')) {
    tab.addEventListener('click', () => {
      setSource(tab.dataset.source);
      refresh();
    });
  }
  $('use-file').addEventListener('change', () => {
    const f = $('use-file').files?.[0];
    if (f) usePicture(f, f.name);
    $('use-file').value = '';
  });
  const drop = $('use-drop');
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('dragging');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('dragging');
    const f = [...(ev.dataTransfer?.files ?? [])][0];
    if (f) usePicture(f, f.name);
  });
  // A pasted picture, while the Picture source is shown (outside the settings' text fields).
  document.addEventListener('paste', (ev) => {
    if (source !== 'picture' || $('use-body').hidden || ev.target?.closest?.('input, textarea, select')) return;
    const f = [...(ev.clipboardData?.files ?? [])].find((x) => x.type.startsWith('image/'));
    if (!f) return;
    ev.preventDefault();
    usePicture(f, 'pasted picture');
  });
  $('camera-start').addEventListener('click', () => startCamera());
  $('camera-shot').addEventListener('click', () => takePicture());
  $('camera-stop').addEventListener('click', () => stopCamera());
  // The camera is on only while its panel is in view and the tab is visible.
  new IntersectionObserver((entries) => {
    if (entries.some((e) => !e.isIntersecting)) stopCamera();
  }).observe($('use-panel'));
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) stopCamera();
  });
  $('inside').addEventListener('toggle', () => {
    if (!$('inside').open) return;
    loadFilters();
    refresh();
  });
  setSource('draw');
}
