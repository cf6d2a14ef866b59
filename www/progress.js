// The run panel: the status line, the progress of the run in progress (or
// the one shown last), and which of the panel's and the form's buttons can be
// used now.

import { $ } from './dom.js';
import { formatBytes, formatCount, formatDuration, formatPercent, formatSig } from './format.js';
import { formatNumber } from './state.js';
import { readOnly, session } from './session.js';
import { hasErrors } from './controls.js';
import { queueEtaSuffix } from './speeds.js';
import { lab } from './studies.js';
import { announceNow } from './tab-role.js';

let progressFrame = 0;
let progressRun = null;
let progressTimer = 0;
let progressLast = 0;

/** Renders the progress panel on an animation frame, at most twice a second. */
export function scheduleProgress(run) {
  progressRun = run;
  announceNow();
  if (progressFrame || progressTimer) return;
  // Twice a second: readable, and few distinct strings for the browser to lay out.
  const wait = 500 - (performance.now() - progressLast);
  if (wait > 0 && !run.done) {
    progressTimer = setTimeout(() => {
      progressTimer = 0;
      scheduleProgress(progressRun);
    }, wait);
    return;
  }
  progressFrame = requestAnimationFrame(() => {
    progressFrame = 0;
    progressLast = performance.now();
    renderProgress(progressRun);
  });
}

export function resetProgressPanel() {
  for (const id of ['run-step', 'run-epoch', 'run-speed', 'run-eta', 'run-lr', 'run-loss', 'run-params', 'run-memory']) $(id).textContent = '—';
  $('run-progress').value = 0;
  $('run-message').hidden = true;
  $('test-accuracy').hidden = true;
  $('test-accuracy').textContent = '';
}

function renderProgress(run) {
  if (!run) return;
  const total = run.totalSteps;
  $('run-step').textContent = total ? `${formatCount(run.step)} / ${formatCount(total)}` : formatCount(run.step);
  const ep = run.epochsPlanned ? `${run.epoch} / ${run.epochsPlanned}` : String(run.epoch || '—');
  $('run-epoch').textContent = ep;
  $('run-speed').textContent = run.imgPerS ? `${formatSig(run.imgPerS)} img/s` : '—';
  $('run-lr').textContent = run.lr !== null && run.lr !== undefined ? formatNumber(Number(run.lr.toPrecision(4))) : '—';
  $('run-loss').textContent = run.lastLoss !== null && run.lastLoss !== undefined ? formatSig(run.lastLoss) : '—';
  $('run-params').textContent = run.params ? formatCount(run.params) : '—';
  $('run-memory').textContent = Number.isFinite(run.memory?.wasm) ? formatBytes(run.memory.wasm) : '—';
  if (!run.done && total && run.step > 0 && run.elapsed > 0) {
    const remaining = (run.elapsed * (total - run.step)) / run.step;
    $('run-eta').textContent = formatDuration(remaining) + queueEtaSuffix(remaining);
  } else {
    $('run-eta').textContent = '—';
  }
  const bar = $('run-progress');
  if (total) {
    bar.max = total;
    bar.value = run.done && run.status === 'finished' ? total : Math.min(run.step, total);
  }
  const msg = $('run-message');
  if (run.done && run.message) {
    msg.textContent = run.message;
    msg.hidden = false;
    msg.className = `run-message ${run.status === 'finished' ? '' : 'bad'}`;
  } else if (!run.done) {
    msg.hidden = true;
  }
  const acc = $('test-accuracy');
  if (run.done && run.testAccuracy !== null && run.testAccuracy !== undefined) {
    acc.textContent = `Test accuracy: ${formatPercent(run.testAccuracy)}`;
    acc.dataset.value = String(run.testAccuracy);
    acc.classList.toggle('bad', run.status !== 'finished');
    acc.hidden = false;
  } else {
    acc.hidden = true;
  }
}

/** The status line ('idle', 'preparing', 'running', …, or a run's end status) and the page's `data-run-state`. */
export function setRunState(stateName, text) {
  document.body.dataset.runState = stateName;
  const s = $('run-status');
  s.dataset.status = stateName;
  s.textContent = text;
  updateButtons();
}

/** A word in the status line that does not change the state (e.g. why Train did nothing). */
export function flashStatus(text) {
  $('run-status').textContent = text;
}

export function updateButtons() {
  const { current, engineReady, engineFailed } = session;
  const running = !!current;
  const train = $('train');
  train.disabled = !engineReady || hasErrors() || readOnly();
  // While a run trains, Train queues the current settings behind it.
  train.textContent = running || session.queue.length ? 'Add to queue' : 'Train';
  train.title = readOnly()
    ? 'Training happens in the other ResLab tab'
    : !engineReady
    ? engineFailed ? 'The training engine is not available' : 'The training engine is starting'
    : hasErrors() ? 'Fix the highlighted settings first' : '';
  const pause = $('pause');
  pause.disabled = !running || !current || current.status !== 'running' || current.done;
  const paused = !!current?.paused;
  pause.textContent = paused ? 'Resume' : 'Pause';
  pause.setAttribute('aria-pressed', paused ? 'true' : 'false');
  $('stop').disabled = !running || current.status === 'preparing';
  $('data').disabled = running;
  $('backend').disabled = false;
  $('fs-data').classList.toggle('busy', running);
  for (const id of ['data-files', 'load-url', 'data-url']) $(id).disabled = running || !engineReady;
  for (const id of ['import-runs', 'clear-results', 'queue-clear', 'queue-resume']) $(id).disabled = readOnly();
  lab?.refreshButtons?.();
}
