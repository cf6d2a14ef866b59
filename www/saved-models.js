// Saved models: a trained run's model downloaded as a .reslab file, and such a
// file loaded back into the engine, to be evaluated on the test set (a new
// row in the results) or trained further (the next Train starts from it).

import { $, downloadBlob } from './dom.js';
import { engine } from './engine-control.js';
import { DATASET_NAMES, formatBytes, messageOf, num, slug } from './format.js';
import { notice } from './notices.js';
import { colorFor } from './run-charts.js';
import { SAMPLE_KIND } from './state.js';
import { session } from './session.js';
import { settingsReplaced } from './controls.js';
import { datasetKeyFor, ensureDataset } from './data.js';
import { persistRun } from './kept-runs.js';
import { newRun } from './runs.js';
import { renderResults, selectRun } from './run-table.js';
import { refuseReadOnly } from './tab-role.js';

let modelSeq = 0;
/** The model file loaded last: {key, name, config, datasetKey?}. */
let loadedModel = null;

/** A fresh key to hold a model under in the engine. */
export function nextModelKey(prefix) {
  return `${prefix}-${++modelSeq}`;
}

/** Downloads run `run`'s trained model (the engine keeps those of its last runs). */
export function saveModel(run) {
  engine.request('save-model', { key: run.modelKey ?? String(run.id) }).then(
    (bytes) => {
      if (!(bytes instanceof Uint8Array)) return;
      downloadBlob(`reslab-run-${run.id}-${slug(run.label)}.reslab`, new Blob([bytes], { type: 'application/octet-stream' }));
    },
    (err) => notice(`The model of run #${run.id} could not be saved: ${messageOf(err)}`),
  );
}

/** Reads a .reslab file and loads it into the engine. */
export async function loadModelFile(file) {
  const box = $('loaded-model');
  box.hidden = false;
  box.className = 'loaded-model hint';
  box.textContent = `Reading ${file.name}…`;
  if (file.size > 1024 * 1024 * 1024) {
    box.className = 'loaded-model error';
    box.textContent = `${file.name}: ${formatBytes(file.size)} is too large for a model file.`;
    return;
  }
  let buf;
  try {
    buf = await file.arrayBuffer();
  } catch (err) {
    box.className = 'loaded-model error';
    box.textContent = `${file.name}: could not be read (${messageOf(err)}).`;
    return;
  }
  const key = nextModelKey('loaded');
  let answer;
  try {
    answer = await engine.request('load-model', { key, name: file.name, bytes: buf }, [buf]);
  } catch (err) {
    box.hidden = false;
    box.className = 'loaded-model error';
    box.setAttribute('data-testid', 'loaded-model');
    box.textContent = `The model file could not be loaded: ${messageOf(err)}`;
    return;
  }
  loadedModel = { key, name: String(answer?.name ?? file.name ?? 'model'), config: answer?.config };
  renderLoadedModel();
}

/** The loaded model's box: what it is, and its two buttons. */
export function renderLoadedModel() {
  const box = $('loaded-model');
  if (!loadedModel) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.className = 'loaded-model';
  box.replaceChildren();
  const c = loadedModel.config ?? {};
  const p = document.createElement('p');
  p.textContent = `Loaded ${loadedModel.name}: ${c.model} for ${DATASET_NAMES[c.dataset] ?? c.dataset}.` +
    (session.pendingInitModel === loadedModel.key ? ' The next Train continues from it.' : '');
  const evalBtn = document.createElement('button');
  evalBtn.type = 'button';
  evalBtn.className = 'small';
  evalBtn.textContent = 'Evaluate on the test set';
  evalBtn.setAttribute('data-testid', 'evaluate-model');
  evalBtn.addEventListener('click', () => evaluateLoaded());
  const contBtn = document.createElement('button');
  contBtn.type = 'button';
  contBtn.className = 'small secondary';
  contBtn.textContent = 'Continue training from it';
  contBtn.addEventListener('click', () => {
    // Its settings become the current ones; Train then starts from its weights.
    applyConfig(loadedModel.config);
    session.pendingInitModel = loadedModel.key;
    renderLoadedModel();
  });
  box.append(p, evalBtn, contBtn);
}

/** Makes a model's config the current settings (the dataset follows: the user's files if of its kind, else the sample). */
function applyConfig(config) {
  const { state } = session;
  for (const [k, v] of Object.entries(config ?? {})) {
    if (k in state.defaults && k !== 'dataset') state.set(k, structuredClone(v));
  }
  const sample = Object.keys(SAMPLE_KIND).find((k) => SAMPLE_KIND[k] === config?.dataset);
  if (!(state.data === 'user' && state.userKind === config?.dataset) && sample) {
    state.set('data', sample);
    $('data').value = sample;
    $('loader').hidden = true;
  }
  settingsReplaced();
}

/** Evaluates the loaded model on its dataset's test set: a new 'evaluated' row in the results. */
async function evaluateLoaded() {
  if (!loadedModel || refuseReadOnly('Evaluating a model')) return;
  const src = loadedModel;
  const datasetKey = datasetKeyFor(src.config);
  try {
    await ensureDataset(datasetKey);
  } catch (err) {
    notice(messageOf(err));
    return;
  }
  src.datasetKey = datasetKey;
  let result;
  try {
    result = await engine.request('evaluate-model', { key: src.key, datasetKey });
  } catch (err) {
    notice(`The loaded model could not be evaluated: ${messageOf(err)}`);
    return;
  }
  // A model loaded since replaces this one: its evaluation is not shown.
  if (loadedModel !== src || !src.config) return;
  addEvaluation(src, result ?? {});
}

function addEvaluation(src, r) {
  const config = src.config;
  const run = newRun({ config, label: `${config.model} (evaluated: ${src.name})`, datasetKey: src.datasetKey ?? datasetKeyFor(config) });
  const id = run.id;
  run.color = colorFor(id - 1);
  run.status = 'evaluated';
  run.done = true;
  run.message = `Evaluated the saved model ${src.name} on the test set.`;
  run.result = r;
  run.testAccuracy = num(r.test_accuracy);
  // Its model is the loaded one: saved, measured (Fig. 7) and used (Use the net) under that key.
  run.modelInWorker = true;
  run.modelKey = src.key;
  run.backend = session.backendInfo?.backend ?? null;
  session.runs.set(id, run);
  renderResults();
  persistRun(run);
  selectRun(id);
}
