// The run queue: runs wait here for their turn (from Train, a study, a grid,
// a resume), are stored so a reload keeps them, and start one at a time.
//
// pumpQueue starts the next run whenever nothing holds the queue. What can
// hold it: a run in progress, a queue held after a reload ("Run queue"), an
// engine not (yet) ready, a tab that does not (yet) own the queue. Each place
// that clears one of these calls pumpQueue again: a run's end (runs.js), the
// "Run queue" button, the engine's ready (app.js), this tab's part settled or
// taken over (tab-role.js), and every change to the queue itself.

import { $ } from './dom.js';
import { canonicalJson } from './format.js';
import { runLabel } from './state.js';
import { readOnly, session } from './session.js';
import * as store from './store.js';
import { datasetKeyFor } from './data.js';
import { updateButtons } from './progress.js';
import { startQueued, trainNote } from './runs.js';
import { announceNow, announceQueue, refuseReadOnly } from './tab-role.js';

let queueSeq = 0;

/**
 * Adds runs ({config, label, datasetKey?, group?, initModel?, resume?}) to the
 * queue; `hold` keeps it waiting for "Run queue". `resume`: {key, fromRun,
 * epoch, step}, a loaded checkpoint the run continues from (checkpoints.js).
 */
export function queueRuns(items, { hold = false } = {}) {
  if (refuseReadOnly('Queueing runs')) return;
  for (const item of items) {
    session.queue.push({
      qid: ++queueSeq,
      config: structuredClone(item.config),
      label: String(item.label ?? runLabel(item.config)),
      datasetKey: datasetKeyFor(item.config, item.datasetKey),
      group: item.group ?? null,
      initModel: item.initModel ?? null,
      resume: item.resume ?? null,
    });
  }
  // A queue held after a reload or a take-over stays held until "Run queue": new runs wait behind it.
  session.queueHeld = session.queueHeld || hold;
  if (session.queueHeld && !hold) trainNote(`Queued behind runs waiting from before: press “Run queue” to start.`);
  saveQueue();
  renderQueue();
  pumpQueue();
}

function saveQueue() {
  if (readOnly()) return;
  store.setMeta('queue', session.queue.map(({ qid, ...rest }) => structuredClone(rest)));
  announceQueue();
}

function cancelQueued(qid) {
  session.queue = session.queue.filter((q) => q.qid !== qid);
  saveQueue();
  renderQueue();
}

/** Empties the queue (the queue's ✕ all). */
export function clearQueue() {
  session.queue = [];
  session.queueHeld = false;
  saveQueue();
  renderQueue();
}

/** "Run queue": a queue held since a reload goes on. */
export function resumeQueue() {
  session.queueHeld = false;
  renderQueue();
  pumpQueue();
}

/** Why the queue cannot start its next run now, or null if it can. */
function queueBlocked() {
  if (!session.queue.length) return 'empty';
  if (session.current) return 'a run is in progress';
  if (session.queueHeld) return 'held';
  if (!session.engineReady) return 'the engine is not ready';
  if (readOnly()) return 'another tab owns the queue';
  return null;
}

/** Starts the next queued run if nothing holds the queue. */
export function pumpQueue() {
  if (queueBlocked()) {
    updateButtons();
    return;
  }
  const item = session.queue.shift();
  saveQueue();
  renderQueue();
  startQueued(item);
}

/** A run with exactly these settings that is training or waiting: {label, where}, or null. */
export function pendingTwin(config, datasetKey, initModel) {
  const same = (item) => item.datasetKey === datasetKeyFor(config, datasetKey) && (item.initModel ?? null) === (initModel ?? null) &&
    canonicalJson(item.config) === canonicalJson(config);
  const current = session.current;
  if (current && !current.done && same(current)) return { label: current.label, where: 'training' };
  const queued = session.queue.find(same);
  return queued ? { label: queued.label, where: 'queued' } : null;
}

export function renderQueue() {
  const box = $('queue-box');
  const list = $('queue-list');
  list.replaceChildren();
  if (readOnly()) {
    box.hidden = session.followerQueue.length === 0;
    for (const id of ['queue-resume', 'queue-clear']) $(id).hidden = true;
    for (const item of session.followerQueue) {
      const li = document.createElement('li');
      li.setAttribute('data-testid', 'queued-run');
      li.textContent = `${item.label}${item.group ? ` (${item.group})` : ''}`;
      list.append(li);
    }
    updateButtons();
    return;
  }
  const { queue, queueHeld } = session;
  $('queue-clear').hidden = false;
  box.hidden = queue.length === 0;
  $('queue-resume').hidden = !queueHeld || queue.length === 0;
  queue.forEach((item, i) => {
    const li = document.createElement('li');
    li.setAttribute('data-testid', 'queued-run');
    const text = document.createElement('span');
    text.textContent = `${item.label}${item.group?.name ? ` (${item.group.name})` : ''}`;
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'small secondary';
    cancel.textContent = '✕';
    cancel.setAttribute('aria-label', `Remove ${item.label} from the queue`);
    cancel.addEventListener('click', () => cancelQueued(item.qid));
    li.append(text, cancel);
    if (i === 0 && queueHeld) li.classList.add('held');
    list.append(li);
  });
  updateButtons();
  announceNow();
}
