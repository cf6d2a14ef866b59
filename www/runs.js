// A run's life: Train queues the settings; a queued run is prepared (its
// dataset loaded, its settings checked against it), trained by the engine
// (one 'train' request, answered with the result; its live events on the
// way), paused, stopped, and ended, after which the queue goes on.

import { $ } from './dom.js';
import { engine, applyPendingBackend, restartEngine } from './engine-control.js';
import { STATUS_TEXT, SAMPLE_LABELS, messageOf, normalizePoints, num } from './format.js';
import { notice } from './notices.js';
import { StepLog } from './results.js';
import { charts, colorFor } from './run-charts.js';
import { runLabel } from './state.js';
import { session } from './session.js';
import * as store from './store.js';
import { requestCheckpoint } from './checkpoints.js';
import { focusFirstError, localErrors, renderErrors, requestValidation } from './controls.js';
import { ensureDataset, showDataError } from './data.js';
import { persistRun } from './kept-runs.js';
import { flashStatus, resetProgressPanel, scheduleProgress, setRunState, updateButtons } from './progress.js';
import { pendingTwin, pumpQueue, queueRuns } from './queue.js';
import { renderRunDetails } from './analysis.js';
import { renderResults } from './run-table.js';
import { renderLoadedModel } from './saved-models.js';
import { noteSpeed } from './speeds.js';
import { refuseReadOnly } from './tab-role.js';

/** The Train button: queue the current settings as one run. */
export function startRun() {
  const { state } = session;
  if (!session.engineReady) {
    flashStatus(session.engineFailed ? 'The training engine is not available.' : 'The training engine is still starting…');
    return;
  }
  if (localErrors.size) {
    renderErrors();
    focusFirstError();
    return;
  }
  const key = state.datasetKey;
  if (key === 'user' && !session.datasets.has('user')) {
    showDataError('Load your dataset files first, or pick a built-in sample.');
    $('drop-zone').focus();
    return;
  }
  if (refuseReadOnly('Training')) return;
  const config = state.configForEngine();
  const twin = pendingTwin(config, key, session.pendingInitModel);
  if (twin) {
    // Twenty quick clicks on Train must not queue twenty copies; a repeat on purpose is still one answer away.
    const again = confirm(`An identical run (${twin.label}) is already ${twin.where}. Queue it again anyway?\n\n` +
      'To repeat a run on purpose, another seed makes it a run of its own.');
    if (!again) {
      trainNote(`Already ${twin.where}: ${twin.label} with exactly these settings; not queued again.`);
      return;
    }
  }
  queueRuns([{ config, label: runLabel(config), datasetKey: key, initModel: session.pendingInitModel }]);
  trainNote('');
  session.pendingInitModel = null;
  renderLoadedModel();
}

/** The line under the Train button: why a press did nothing, or empty. */
export function trainNote(text) {
  const p = $('train-note');
  p.textContent = text;
  p.hidden = !text;
}

/** A new run record for a queued item (not yet among the session's runs). */
export function newRun(item) {
  const config = item.config;
  const id = ++session.runSeq;
  return {
    id,
    config,
    label: item.label,
    color: colorFor(id - 1),
    datasetKey: item.datasetKey,
    dataLabel: SAMPLE_LABELS[item.datasetKey] ?? item.datasetKey,
    group: item.group ?? null,
    initModel: item.initModel ?? null,
    resume: item.resume ?? null,
    status: 'preparing',
    done: false,
    totalSteps: null,
    stepsPerEpoch: null,
    epochsPlanned: null,
    step: 0,
    epoch: 0,
    lastLoss: null,
    imgPerS: null,
    elapsed: 0,
    lr: null,
    params: null,
    epochs: [],
    steps: new StepLog(),
    result: null,
    message: '',
    testAccuracy: null,
    bestVal: null,
    finalVal: null,
    backend: session.backendInfo?.backend ?? null,
    createdAt: Date.now(),
    modelInWorker: false,
    layerStd: null,
  };
}

/** Prepares and trains the queued `item`; the run ends through finishRun whatever happens. */
export async function startQueued(item) {
  const run = newRun(item);
  const key = run.datasetKey;
  session.current = run;
  // Stored before the first wait: if this tab closes now, the tab that takes over sees it (as interrupted).
  persistRun(run);
  setRunState('preparing', `Preparing ${run.label}…`);
  resetProgressPanel();
  updateButtons();
  let errors = [];
  try {
    await ensureDataset(key);
    errors = await requestValidation(run.config, key);
  } catch (err) {
    errors = [{ field: 'dataset', message: messageOf(err) }];
  }
  // The engine restarted or failed meanwhile: the run has already ended.
  if (session.current !== run) return;
  session.runs.set(run.id, run);
  charts.addRun({ id: run.id, label: run.label, color: run.color });
  if (errors.length) {
    // The run is kept, marked failed with the reason; the queue goes on.
    const message = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    finishRun(run, { status: 'failed', message: `Not started: ${message}` });
    return;
  }
  charts.setRunStatus(run.id, 'starting');
  run.status = 'running';
  renderResults();
  persistRun(run);
  setRunState('running', 'Starting…');
  engine.request('train', { runId: run.id, config: run.config, datasetKey: key, initModel: run.initModel, resume: run.resume?.key }).then(
    (result) => onRunResult(run.id, result),
    (err) => {
      // A crash, a restart or a failed engine has already ended the run, with its reason.
      if (!run.done) finishRun(run, { status: 'failed', message: messageOf(err) });
      else if (!err.gone && !err.fatal) notice(messageOf(err));
    },
  );
  updateButtons();
}

/**
 * A resumed run goes on from its checkpoint: the curves of the run it
 * continues, up to the checkpoint, become its own (the engine's result holds
 * them too), and it says so when the optimizer state had to restart.
 */
function continueCurves(run, event) {
  const [epoch, step] = event.resumed_at.map(Number);
  const from = session.runs.get(run.resume?.fromRun);
  if (from) {
    const pts = [];
    for (let i = 0; i < from.steps.length; i++) {
      if (from.steps.step[i] <= step) pts.push([from.steps.step[i], from.steps.lossAt(i)]);
    }
    charts.appendSteps(run.id, pts);
    for (const [s, l] of pts) run.steps.push(s, l);
    for (const e of from.epochs.filter((e) => Number(e.epoch) <= epoch)) {
      run.epochs.push(structuredClone(e));
      charts.addEpoch(run.id, e);
    }
  }
  run.step = step;
  run.epoch = epoch;
  if (event.optimizer_state === false) {
    run.resumeNote = 'Its checkpoint was saved on WebGPU, which keeps the weights only: momentum and Adam’s moments restarted at the resume.';
    notice(`${run.label}: ${run.resumeNote}`);
  }
}

/** A live event of run `runId`: its start, loss points, an epoch's results, pause and resume, its end. */
export function onRunEvent(runId, event) {
  const run = session.runs.get(runId);
  if (!run || !event || typeof event !== 'object') return;
  switch (event.type) {
    case 'start':
      run.totalSteps = num(event.total_steps);
      run.stepsPerEpoch = num(event.steps_per_epoch);
      run.epochsPlanned = num(event.epochs);
      run.params = num(event.params);
      run.split = { train: num(event.train), val: num(event.val), test: num(event.test) };
      if (Array.isArray(event.resumed_at)) continueCurves(run, event);
      if (run === session.current) setRunState('running', 'Training');
      charts.setRunStatus(run.id, 'running');
      break;
    case 'steps': {
      const pts = normalizePoints(event.points);
      charts.appendSteps(run.id, pts);
      for (const [step, loss] of pts) run.steps.push(step, loss);
      run.points = (run.points ?? 0) + pts.length;
      const last = pts[pts.length - 1];
      if (Array.isArray(last)) {
        run.step = num(last[0]) ?? run.step;
        run.lastLoss = num(last[1]);
      }
      run.epoch = num(event.epoch) ?? run.epoch;
      run.imgPerS = num(event.img_per_s) ?? run.imgPerS;
      run.elapsed = num(event.elapsed) ?? run.elapsed;
      // A run's own speed is the best measure for the runs like it still to come.
      if (run.imgPerS > 0 && run.step >= 10 && run.backend) noteSpeed(run.config, run.backend, run.config.batch_size / run.imgPerS);
      run.lr = num(event.lr) ?? run.lr;
      if (event.memory && typeof event.memory === 'object') {
        // The page's own JS heap beside it (Chromium only).
        run.memory = { wasm: num(event.memory.wasm), js: num(performance.memory?.usedJSHeapSize), heap: num(event.memory.heap) };
        // A bounded history (for the soak test and the docs' memory figures): [step, wasm, js, heap].
        run.memoryLog ??= [];
        if (run.memoryLog.length < 1000) run.memoryLog.push([run.step, run.memory.wasm, run.memory.js, run.memory.heap]);
      }
      break;
    }
    case 'epoch': {
      const { type, ...rec } = event;
      run.epochs.push(rec);
      run.epoch = num(event.epoch) ?? run.epoch;
      run.elapsed = num(event.elapsed) ?? run.elapsed;
      charts.addEpoch(run.id, event);
      updateValAccuracy(run);
      renderResults();
      persistRun(run); // curves so far survive a reload
      requestCheckpoint(run, num(event.epoch), run.step);
      break;
    }
    case 'paused':
      run.paused = true;
      if (run === session.current) setRunState('paused', 'Paused');
      charts.setRunStatus(run.id, 'paused');
      break;
    case 'resumed':
      run.paused = false;
      if (run === session.current) setRunState('running', 'Training');
      charts.setRunStatus(run.id, 'running');
      break;
    case 'finished':
      finishRun(run, {
        status: String(event.status ?? 'finished'),
        message: String(event.message ?? ''),
        testAccuracy: num(event.test_accuracy),
      });
      break;
    default:
      break;
  }
  if (run === session.current || run.id === session.lastShownRunId) scheduleProgress(run);
}

/** The engine's answer to a run's 'train' request: its result (test accuracy, confusion matrix, curves). */
function onRunResult(runId, result) {
  const run = session.runs.get(runId);
  if (!run || !result || typeof result !== 'object') return;
  run.result = result;
  if (!run.done) {
    finishRun(run, {
      status: String(result.status ?? 'finished'),
      message: String(result.message ?? ''),
      testAccuracy: num(result.test_accuracy),
    });
  } else {
    if (num(result.test_accuracy) !== null) run.testAccuracy = num(result.test_accuracy);
    // The result's message is the final word (e.g. a lost GPU named after the fact).
    if (typeof result.message === 'string' && result.message) run.message = result.message;
  }
  if (result.backend) run.backend = String(result.backend);
  if (num(result.wall_seconds) !== null) run.elapsed = num(result.wall_seconds);
  if (num(result.img_per_s) !== null) run.imgPerS = num(result.img_per_s);
  if (num(result.params) !== null) run.params = num(result.params);
  // The engine keeps the trained model of its last runs (save / Fig. 7).
  run.modelInWorker = Number(result.steps_done) > 0;
  // Curves the live events may have missed (e.g. a very short run).
  if (run.epochs.length === 0 && Array.isArray(result.epochs)) {
    for (const e of result.epochs) {
      run.epochs.push(e);
      charts.addEpoch(run.id, e);
    }
  }
  if (!run.steps.length && Array.isArray(result.steps) && result.steps.length) {
    run.steps = new StepLog(result.steps);
    charts.appendSteps(run.id, run.steps.toPairs());
  }
  delete result.steps; // the run's StepLog holds them
  updateValAccuracy(run);
  renderResults();
  persistRun(run);
  scheduleProgress(run);
  session.selectedRunId = run.id;
  renderRunDetails();
}

function updateValAccuracy(run) {
  const vals = run.epochs.map((e) => num(e.val_accuracy)).filter((v) => v !== null);
  run.bestVal = vals.length ? Math.max(...vals) : null;
  run.finalVal = vals.length ? vals[vals.length - 1] : null;
}

/** Ends a run (once): its status and message, stored; the queue goes on. */
export function finishRun(run, { status, message, testAccuracy }) {
  if (run.done) return;
  run.done = true;
  run.status = STATUS_TEXT[status] ? status : 'failed';
  run.message = message ?? '';
  if (testAccuracy !== undefined && testAccuracy !== null) run.testAccuracy = testAccuracy;
  run.paused = false;
  clearTimeout(stopWatchdog);
  charts.setRunStatus(run.id, run.status);
  if (!session.runs.has(run.id)) session.runs.set(run.id, run);
  if (run.checkpoint) {
    run.checkpoint = null;
    store.deleteCheckpoint(run.id);
  }
  renderResults();
  persistRun(run);
  if (session.current === run) {
    session.current = null;
    session.lastShownRunId = run.id;
    setRunState(run.status, STATUS_TEXT[run.status]);
    applyPendingBackend();
  }
  scheduleProgress(run);
  updateButtons();
  // The next queued run starts once this one's result has been delivered.
  setTimeout(pumpQueue, 0);
}

/** The engine went away: the run in progress ends failed with `reason`, and no run's model is in it now. */
export function runsLostEngine(reason) {
  for (const r of session.runs.values()) r.modelInWorker = false;
  if (session.current) finishRun(session.current, { status: 'failed', message: reason });
}

/** The GPU failed during run `runId` (`what`): a run that already ended failed on it names the cause. */
export function runCutShort(runId, what) {
  const run = session.runs.get(runId);
  if (run?.done && run.status === 'failed' && !run.message.startsWith(what)) {
    // It may already have ended on the failed read-back the failure caused.
    run.message = `${what} ${run.message}`.trim();
    renderResults();
    persistRun(run);
    scheduleProgress(run);
  }
}

let stopWatchdog = 0;

export function pauseOrResume() {
  const current = session.current;
  if (!current || current.status !== 'running') return;
  if (current.paused) {
    engine.post('resume');
  } else {
    engine.post('pause');
    setRunState('pausing', 'Pausing…');
  }
}

export function stopRun() {
  const run = session.current;
  if (!run) return;
  engine.post('stop');
  setRunState('stopping', 'Stopping…');
  clearTimeout(stopWatchdog);
  // If the engine does not react (a long step on a slow device), restart it.
  stopWatchdog = setTimeout(() => {
    if (session.current === run && !run.done) {
      finishRun(run, { status: 'stopped', message: 'Stopped (the engine did not respond and was restarted).' });
      restartEngine('The training engine did not respond to Stop.');
    }
  }, 20000);
}
