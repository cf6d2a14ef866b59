// Checkpoints: the run in progress at its latest epoch end (weights,
// optimizer state, step, curves: the engine's RESLABCKPT1 file), stored in
// IndexedDB at most once a minute, so that a run cut off by a reload (or by
// its tab closing) can be resumed: queued again, it continues where it stopped.

import { engine } from './engine-control.js';
import { messageOf } from './format.js';
import { notice } from './notices.js';
import { session } from './session.js';
import * as store from './store.js';
import { persistRun } from './kept-runs.js';
import { queueRuns } from './queue.js';
import { nextModelKey } from './saved-models.js';
import { refuseReadOnly } from './tab-role.js';

/** At most one checkpoint a minute: saving a big net every epoch would cost more than it saves. */
const CHECKPOINT_EVERY_MS = 60_000;

/** After an epoch of the run in progress: its weights, stored if the last checkpoint is a minute old. */
export function requestCheckpoint(run, epoch, step) {
  if (run !== session.current || run.done || !Number.isFinite(epoch)) return;
  const now = performance.now();
  if (run.lastCheckpointAt && now - run.lastCheckpointAt < CHECKPOINT_EVERY_MS) return;
  run.lastCheckpointAt = now;
  engine.request('checkpoint', { runId: run.id, epoch, step }).then(
    (answer) => keepCheckpoint(run, answer),
    (err) => {
      if (!err.gone) console.warn(`ResLab: no checkpoint for run #${run.id}: ${messageOf(err)}`);
    },
  );
}

function keepCheckpoint(run, { epoch, step, bytes, optimizer_state: optimizerState } = {}) {
  if (!(bytes instanceof Uint8Array) || session.runs.get(run.id) !== run) return;
  // A run that has ended needs none (its model is saved with "Model").
  if (run.done && run.status !== 'interrupted') return;
  store.putCheckpoint({ id: run.id, epoch, step, bytes }).then(() => {
    run.checkpoint = { epoch, step, optimizerState: optimizerState !== false };
    persistRun(run);
  });
}

/**
 * Queues an interrupted run again, to continue from its checkpoint: the same
 * config, and the engine picks up at the checkpoint's step with its optimizer
 * state, batches and schedule (src/train/checkpoint.rs), so it ends as the
 * run would have without the interruption.
 */
export async function resumeRun(run) {
  if (refuseReadOnly('Resuming a run')) return;
  const ck = await store.getCheckpoint(run.id);
  if (!ck?.bytes) {
    notice(`The checkpoint of run #${run.id} is gone; queue its settings again to rerun it.`);
    return;
  }
  const key = nextModelKey(`ckpt-${run.id}`);
  const bytes = ck.bytes.slice();
  let info;
  try {
    // A checkpoint that does not load (or an engine that goes away meanwhile) says so instead of waiting for ever.
    info = await engine.request('load-checkpoint', { key, bytes: bytes.buffer }, [bytes.buffer]);
  } catch (err) {
    notice(`Run #${run.id} cannot be resumed: its checkpoint did not load (${messageOf(err)}). Queue its settings again to rerun it.`);
    return;
  }
  queueRuns([{
    config: structuredClone(run.config),
    label: `${run.label} (resumed at epoch ${info.epoch})`,
    datasetKey: run.datasetKey ?? undefined,
    group: run.group,
    resume: { key, fromRun: run.id, epoch: info.epoch, step: info.step },
  }]);
}
