// ResLab page: the wiring. Each concern lives in its own module (see
// www/README.md for the map); this file connects them: the engine's events to
// the modules that handle them, the page's buttons to their actions, and the
// start-up order.
//
// The main thread never trains: it asks the engine's worker (engine-client.js)
// and draws. Strings that come from files, URLs or the engine are only ever
// written with textContent / DOM APIs.

import { $, downloadBlob } from './dom.js';
import { engine, setEngineHooks, startEngine, watchEngine } from './engine-control.js';
import { messageOf, slug } from './format.js';
import { settleIsolation } from './isolation.js';
import { dismissNotices, notice, setBackendLine, setNotices } from './notices.js';
import { charts } from './run-charts.js';
import { SAMPLE_KIND } from './state.js';
import { initialLab, session } from './session.js';
import { forgetImages, renderFig7, renderImageGrid, requestLayerStats, showAllImages, showFig7Images } from './analysis.js';
import { bindUseNet, forgetModels } from './use-net.js';
import { forgetFailedClaimChecks } from './claims.js';
import { adoptEngineSettings, bindControls, populateChoices, populateModels, scheduleValidate, writeControls } from './controls.js';
import { bindDataLoading, ensureDataset, forgetDatasets, hideLoadProgress, showLoadProgress } from './data.js';
import { restoreRuns } from './kept-runs.js';
import { watchDiagramWidth } from './model-view.js';
import { setRunState, updateButtons } from './progress.js';
import { pumpQueue } from './queue.js';
import { bindResults } from './run-table.js';
import { finishRun, onRunEvent, pauseOrResume, runCutShort, runsLostEngine, startRun, stopRun } from './runs.js';
import { loadModelFile } from './saved-models.js';
import { dropStudyFromUrl, loadPresets, setupLab } from './studies.js';
import { settleTabRole } from './tab-role.js';
import { exposeTestHooks } from './test-hooks.js';

/** The engine started (again): the settings are read against its defaults, and what waited for it goes on. */
function onEngineReady(msg) {
  adoptEngineSettings(msg);
  loadPresets();
  // Checks that failed with the engine before it (re)started are asked again once the presets arrive.
  forgetFailedClaimChecks();
  // Fetch the chosen built-in sample in the background so Train starts at once.
  if (SAMPLE_KIND[session.state.data]) ensureDataset(session.state.data).catch(() => {});
  pumpQueue();
}

/** What the engine's life means for the rest of the page. */
function wireEngine() {
  watchEngine();
  setEngineHooks({
    ready: onEngineReady,
    restarting: (reason) => {
      // The run in progress ends failed with its curves so far; the fresh engine holds no model, dataset or image.
      runsLostEngine(reason);
      forgetModels();
      forgetImages();
      forgetDatasets();
    },
    failed: (message) => {
      hideLoadProgress();
      if (session.current) finishRun(session.current, { status: 'failed', message });
      updateButtons();
    },
    gpuFailed: runCutShort,
  });
  engine.on('progress', (msg) => showLoadProgress(msg.what, msg.loaded, msg.total));
  engine.on('event', (msg) => onRunEvent(msg.runId, msg.event));
}

function bindRunControls() {
  $('train').addEventListener('click', () => startRun());
  $('pause').addEventListener('click', () => pauseOrResume());
  $('stop').addEventListener('click', () => stopRun());
  $('log-scale').addEventListener('change', () => charts.setLogScale($('log-scale').checked));
  const smoothing = $('smoothing');
  smoothing.value = String(charts.smoothing);
  $('smoothing-value').textContent = charts.smoothing.toFixed(2);
  smoothing.addEventListener('input', () => {
    const w = Number(smoothing.value);
    $('smoothing-value').textContent = w.toFixed(2);
    charts.setSmoothing(w);
  });
  $('clear-runs').addEventListener('click', () => {
    charts.clear();
    // The run in progress keeps drawing into fresh series.
    const { current } = session;
    if (current && session.runs.has(current.id)) charts.addRun({ id: current.id, label: current.label, color: current.color });
  });
  for (const b of document.querySelectorAll('button.png')) {
    b.addEventListener('click', async () => {
      const blob = await charts.toPng?.(b.dataset.chart, b.dataset.title);
      if (blob) downloadBlob(`reslab-${slug(b.dataset.title)}.png`, blob);
    });
  }
  $('load-model-file').addEventListener('change', (ev) => {
    const f = ev.target.files?.[0];
    ev.target.value = '';
    if (f) loadModelFile(f);
  });
  $('wrong-only').addEventListener('change', () => renderImageGrid());
  $('fig7-compute').addEventListener('click', () => requestLayerStats());
  $('fig7-images').addEventListener('click', () => showFig7Images());
  $('image-filter-clear').addEventListener('click', () => showAllImages());
  bindUseNet();
  $('dismiss-notices').addEventListener('click', () => dismissNotices());
}

/**
 * The service worker: offline use (it keeps the page, the engine and the
 * samples), and on hosts without COOP/COEP the headers that let the CPU
 * backend use every core, after one reload of the page (www/isolation.js).
 */
function registerServiceWorker() {
  return settleIsolation({
    swUrl: new URL('../sw.js', import.meta.url),
    scope: new URL('../', import.meta.url).pathname,
    onWait: (text) => setBackendLine(`Backend: ${text}`, ''),
  });
}

function main() {
  exposeTestHooks();
  const isolating = registerServiceWorker();
  wireEngine();
  watchDiagramWidth();
  populateChoices();
  populateModels();
  writeControls();
  bindControls();
  bindDataLoading();
  bindRunControls();
  bindResults();
  setupLab();
  setNotices([...session.urlMessages, ...session.linkNotices]);
  if (initialLab.asked && !initialLab.lab) dropStudyFromUrl();
  updateButtons();
  setRunState('idle', 'Idle');
  scheduleValidate();
  // Nothing starts before the page knows whether the service worker reloads it (to isolate it).
  isolating.then((isolation) => {
    if (isolation.reload) return;
    session.pageIsolation = isolation;
    // Which tab owns the queue is settled before storage is read: a read-only tab must not mark the owner's run interrupted.
    settleTabRole()
      .then(() => restoreRuns())
      .catch((err) => notice(`Earlier runs could not be restored: ${messageOf(err)}`))
      .finally(() => {
        renderFig7();
        startEngine();
      });
  });
}

main();
