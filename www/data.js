// The data panel: which dataset trains (a built-in sample or the user's
// files), loading it into the engine (samples on demand, files dropped or
// picked, URLs), the load's progress bar and what the loaded data is.

import { $ } from './dom.js';
import { engine } from './engine-control.js';
import { DATASET_NAMES, SAMPLE_LABELS, formatBytes, formatCount, messageOf } from './format.js';
import { SAMPLE_KIND } from './state.js';
import { session } from './session.js';
import { scheduleValidate, writeUrl } from './controls.js';
import { scheduleDescribe } from './model-view.js';
import { updateButtons } from './progress.js';
import { fetchBytes, fileName } from './fetch-bytes.js';
import { cancelPictures, filesOfEntries, filesOfPicker, importPictureZip, importPictures, pictureDrop } from './pictures.js';

/** Loads in flight: key → the promise of its info (one sample load at a time per key; the latest of the user's). */
const loading = new Map();

/** The dataset slot a config trains on: the user's files if they are of its kind, else the built-in sample. */
export function datasetKeyFor(config, preferred) {
  const { state, datasets } = session;
  if (preferred === 'user' && state.userKind === config.dataset) return 'user';
  if (preferred && SAMPLE_KIND[preferred] === config.dataset) return preferred;
  if (state.data === 'user' && state.userKind === config.dataset && datasets.has('user')) return 'user';
  return Object.keys(SAMPLE_KIND).find((k) => SAMPLE_KIND[k] === config.dataset) ?? 'user';
}

export function onDataChoice(value) {
  hideDataError();
  session.state.set('data', value);
  $('loader').hidden = value !== 'user';
  writeUrl();
  updateDataInfo();
  scheduleValidate();
  scheduleDescribe();
  updateButtons();
  if (SAMPLE_KIND[value] && session.engineReady) ensureDataset(value).catch(() => {});
  if (value === 'user' && !session.datasets.has('user')) $('drop-zone').focus();
}

/** Resolves once the dataset `key` is loaded in the engine (loading samples on demand). */
export function ensureDataset(key) {
  if (session.datasets.has(key)) return Promise.resolve(session.datasets.get(key));
  if (loading.has(key)) return loading.get(key);
  if (!SAMPLE_KIND[key]) return Promise.reject(new Error('Load your dataset files first, or pick a built-in sample.'));
  hideDataError();
  showLoadProgress(`${SAMPLE_LABELS[key]}`, 0, 0);
  return track(key, engine.request('load-sample', { dataset: SAMPLE_KIND[key] }));
}

/**
 * Follows a load request for slot `key`: its answer ({key, info}) is the
 * loaded dataset; its error is shown in the data panel (unless the engine went
 * away: the restart notice says that). Resolves to the dataset's info.
 */
function track(key, request) {
  const load = request.then(
    (answer) => {
      if (loading.get(key) === load) loading.delete(key);
      onDataset(typeof answer?.key === 'string' ? answer.key : key, answer?.info);
      return answer?.info;
    },
    (err) => {
      if (loading.get(key) === load) loading.delete(key);
      if (!err?.gone) {
        hideLoadProgress();
        showDataError(messageOf(err));
      }
      throw err;
    },
  );
  load.catch(() => {});
  loading.set(key, load);
  return load;
}

function onDataset(key, info) {
  const { state } = session;
  session.datasets.set(key, info ?? {});
  hideLoadProgress();
  if (key === 'user') {
    hideDataError();
    state.userKind = typeof info?.kind === 'string' ? info.kind : null;
    // Pictures: the net's class count and input size are the data's.
    state.userClasses = state.userKind === 'images' && Number.isInteger(info?.num_classes) ? info.num_classes : null;
    if (state.data !== 'user') {
      state.set('data', 'user');
      $('data').value = 'user';
      $('loader').hidden = false;
    }
    state.syncDatasetKind();
    // How many loads the user's slot has had (tests wait for the next one).
    const status = $('user-data-status');
    status.dataset.loads = String(Number(status.dataset.loads ?? 0) + 1);
    updateUserDataStatus();
    scheduleDescribe();
  }
  // The sizes can be checked now (e.g. a validation split as large as the training set).
  if (key === state.datasetKey) scheduleValidate();
  updateDataInfo();
  updateButtons();
}

/** The engine went away: it holds no dataset now. */
export function forgetDatasets() {
  session.datasets.clear();
  session.state.userKind = null;
  updateUserDataStatus();
  updateDataInfo();
}

function describeInfo(info) {
  if (!info) return '';
  const kind = DATASET_NAMES[info.kind] ?? String(info.kind ?? 'dataset');
  const shape = [info.channels, info.height, info.width].every(Number.isFinite)
    ? `${info.channels}×${info.height}×${info.width}`
    : '';
  const names = Array.isArray(info.class_names) ? info.class_names : null;
  const classes = !names ? '' : info.kind === 'images' && names.length <= 12 ? `classes ${names.join(', ')}` : `${names.length} classes`;
  const skipped = Array.isArray(info.skipped) && info.skipped.length ? `${info.skipped.length} files skipped` : '';
  const sizes = Number.isFinite(info.train) ? `${formatCount(info.train)} train / ${formatCount(info.test ?? 0)} test images` : '';
  return [kind, shape, sizes, classes, skipped].filter(Boolean).join(' · ');
}

export function updateDataInfo() {
  const { state } = session;
  const info = session.datasets.get(state.data);
  const p = $('data-info');
  if (info) p.textContent = describeInfo(info);
  else if (state.data === 'user') p.textContent = 'Load the official files below.';
  else if (loading.has(state.data)) p.textContent = 'Loading…';
  else p.textContent = '';
}

function updateUserDataStatus() {
  const info = session.datasets.get('user');
  const p = $('user-data-status');
  if (info) {
    const src = info.source ? ` from ${String(info.source)}` : '';
    p.textContent = `Loaded${src}: ${describeInfo(info)}.`;
  } else {
    p.textContent = 'No files loaded yet.';
  }
}

export function showDataError(message) {
  const p = $('data-error');
  p.textContent = message;
  p.hidden = false;
}

function hideDataError() {
  $('data-error').hidden = true;
  $('data-error').textContent = '';
}

/** The progress bar of a load: `what` with bytes so far (and of how many, when known). */
export function showLoadProgress(what, loaded, total) {
  $('load-status').hidden = false;
  const bar = $('load-progress');
  const text = $('load-text');
  if (total > 0) {
    bar.max = total;
    bar.value = Math.min(loaded, total);
    text.textContent = `${what}: ${formatBytes(loaded)} of ${formatBytes(total)}`;
  } else {
    bar.removeAttribute('value');
    text.textContent = loaded > 0 ? `${what}: ${formatBytes(loaded)}` : `${what}…`;
  }
  updateDataInfo();
}

/** The progress bar of a count (pictures decoded of how many; total 0: not known). */
export function showCountProgress(what, done, total) {
  $('load-status').hidden = false;
  const bar = $('load-progress');
  if (total > 0) {
    bar.max = total;
    bar.value = Math.min(done, total);
    $('load-text').textContent = `${what}: ${formatCount(done)} of ${formatCount(total)}`;
  } else {
    bar.removeAttribute('value');
    $('load-text').textContent = `${what}…`;
  }
}

export function hideLoadProgress() {
  $('load-status').hidden = true;
}

/** Reads File objects with progress, then hands the bytes to the engine. */
async function loadUserFiles(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  // A .zip is a folder tree of pictures (the official datasets come as .gz and .tar).
  if (files.length === 1 && /\.zip$/i.test(files[0].name)) {
    await loadPictureZip(files[0]);
    return;
  }
  if (!session.engineReady) {
    showDataError(session.engineFailed ? 'The training engine is not available.' : 'The training engine is still starting; try again in a moment.');
    return;
  }
  if (session.current) {
    showDataError('Wait for the current run to finish (or stop it) before loading new data.');
    return;
  }
  hideDataError();
  const total = files.reduce((a, f) => a + f.size, 0);
  let done = 0;
  const out = [];
  try {
    for (const file of files) {
      const bytes = new Uint8Array(file.size);
      let offset = 0;
      const reader = file.stream().getReader();
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        if (offset + value.length > bytes.length) throw new Error('the file changed while it was read');
        bytes.set(value, offset);
        offset += value.length;
        done += value.length;
        showLoadProgress('Reading files', done, total);
      }
      out.push({ name: file.name, bytes: bytes.buffer });
    }
  } catch (err) {
    hideLoadProgress();
    showDataError(`${files.map((f) => f.name).join(', ')}: could not be read (${messageOf(err)})`);
    return;
  }
  const hint = $('data-hint').value || null;
  showLoadProgress('Decoding dataset', 0, 0);
  await track('user', engine.request('load-files', { files: out, hint }, out.map((f) => f.bytes))).catch(() => {});
}

/** Whether new data may be loaded now; if not, says why in the data panel. */
function canLoad() {
  if (!session.engineReady) {
    showDataError(session.engineFailed ? 'The training engine is not available.' : 'The training engine is still starting; try again in a moment.');
    return false;
  }
  if (session.current) {
    showDataError('Wait for the current run to finish (or stop it) before loading new data.');
    return false;
  }
  return true;
}

const pictureUi = {
  track: (request) => track('user', request),
  showCount: showCountProgress,
  showError: showDataError,
  hideProgress: hideLoadProgress,
};

/** Switches the data choice to the user's files for an import of pictures; false if loading is not possible now. */
function startPictureImport() {
  if (!canLoad()) return false;
  hideDataError();
  $('data').value = 'user';
  if (session.state.data !== 'user') onDataChoice('user');
  return true;
}

/** A folder of class folders ([{path, file}]) as the user's dataset. */
async function loadPictureList(list) {
  if (startPictureImport()) await importPictures(list, pictureUi).catch(() => {});
}

/** A .zip of a folder of class folders as the user's dataset. */
async function loadPictureZip(file) {
  if (startPictureImport()) await importPictureZip(file, pictureUi).catch(() => {});
}

/** A .zip of pictures by URL: fetched here (with progress), then read as a dropped one. */
async function loadPictureZipUrl(url) {
  if (!startPictureImport()) return;
  const name = fileName(url);
  let file;
  try {
    file = new File([await fetchBytes(url, (loaded, total) => showLoadProgress(`Downloading ${name}`, loaded, total))], name);
  } catch (err) {
    hideLoadProgress();
    showDataError(messageOf(err));
    return;
  }
  await importPictureZip(file, pictureUi).catch(() => {});
}

async function loadFromUrl() {
  const text = $('data-url').value.trim();
  if (!text) {
    showDataError('Enter the URL of a dataset file first.');
    return;
  }
  for (const u of text.split(/\s+/)) {
    let parsed;
    try {
      parsed = new URL(u, location.href);
    } catch {
      showDataError(`${u}: not a valid URL`);
      return;
    }
    // Plain http only from this site or this machine (loopback counts as a
    // secure origin in browsers): anything else could be altered in transit.
    const loopback = parsed.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
    if (parsed.protocol !== 'https:' && parsed.origin !== location.origin && !loopback) {
      showDataError(`${u}: only https URLs, files on this site or http on this machine (localhost) can be loaded`);
      return;
    }
  }
  if (!session.engineReady || session.current) {
    showDataError(session.current ? 'Wait for the current run to finish before loading new data.' : 'The training engine is not ready.');
    return;
  }
  const urls = text.split(/\s+/);
  if (urls.length === 1 && /\.zip$/i.test(new URL(urls[0], location.href).pathname)) {
    await loadPictureZipUrl(new URL(urls[0], location.href).href);
    return;
  }
  hideDataError();
  showLoadProgress('Downloading', 0, 0);
  await track('user', engine.request('load-url', { url: text, hint: $('data-hint').value || null })).catch(() => {});
}

export function bindDataLoading() {
  const input = $('data-files');
  input.addEventListener('change', () => {
    const files = input.files;
    loadUserFiles(files).finally(() => {
      input.value = '';
    });
  });
  const zone = $('drop-zone');
  zone.addEventListener('click', () => input.click());
  zone.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      input.click();
    }
  });
  for (const type of ['dragenter', 'dragover']) {
    zone.addEventListener(type, (ev) => {
      ev.preventDefault();
      zone.classList.add('dragging');
    });
  }
  for (const type of ['dragleave', 'dragend']) zone.addEventListener(type, () => zone.classList.remove('dragging'));
  // A folder (or several pictures) is a dataset of pictures; other files are dataset files.
  const dropped = (dataTransfer) => {
    const entries = pictureDrop(dataTransfer);
    if (entries) {
      filesOfEntries(entries).then(loadPictureList, (err) => showDataError(`the dropped folder could not be read: ${messageOf(err)}`));
    } else if (dataTransfer?.files?.length) {
      loadUserFiles(dataTransfer.files);
    }
  };
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('dragging');
    dropped(ev.dataTransfer);
  });
  const folder = $('data-folder');
  folder.addEventListener('change', () => {
    const list = filesOfPicker(folder.files);
    loadPictureList(list).finally(() => {
      folder.value = '';
    });
  });
  $('load-cancel').addEventListener('click', () => cancelPictures());
  // A file dropped anywhere else must not navigate away from the page.
  window.addEventListener('dragover', (ev) => ev.preventDefault());
  window.addEventListener('drop', (ev) => {
    ev.preventDefault();
    if (ev.dataTransfer?.files?.length && !zone.contains(ev.target)) {
      $('data').value = 'user';
      onDataChoice('user');
      dropped(ev.dataTransfer);
    }
  });
  $('load-url').addEventListener('click', () => loadFromUrl());
  $('data-url').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      loadFromUrl();
    }
  });
}
