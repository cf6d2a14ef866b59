// Keeping runs across reloads: each run's record (config, curves, results)
// is stored in IndexedDB (store.js) as it changes, and the runs and the queue
// of earlier visits come back when the page opens (or when this tab takes
// over the queue from another).

import { notice } from './notices.js';
import { boundRecord, exportRecord, runFromRecord } from './results.js';
import { charts, colorFor } from './run-charts.js';
import { runLabel } from './state.js';
import { readOnly, session } from './session.js';
import * as store from './store.js';
import { queueRuns, renderQueue } from './queue.js';
import { renderResults } from './run-table.js';
import { announceRunSaved } from './tab-role.js';

let storageWarned = false;

/** Saves a run's record (config, curves, results) in IndexedDB. */
export function persistRun(run) {
  if (readOnly()) return;
  const rec = {
    id: run.id,
    color: run.color,
    datasetKey: run.datasetKey,
    createdAt: run.createdAt,
    checkpoint: run.checkpoint ?? null,
    // The same limits as an import: a label from a shared link cannot grow the store without bound.
    record: boundRecord(exportRecord(run)).record,
  };
  store.putRun(rec).then(() => {
    announceRunSaved(run.id);
    const problem = store.storageProblem();
    if (problem && !storageWarned) {
      storageWarned = true;
      notice(problem);
    }
  });
}

/**
 * Brings back the runs of earlier visits (and, in a tab that takes over the
 * queue, those the other tab kept). In the tab that owns the queue a run cut
 * off by a reload or by its tab closing is marked interrupted and the stored
 * queue waits for the user's go; a read-only tab shows both as they are.
 */
export async function restoreRuns(cause = 'by a page reload') {
  const stored = await store.allRuns();
  const { current } = session;
  for (const rec of stored) {
    const run = runFromStored(rec);
    if (!run) continue;
    if (!readOnly() && (run.status === 'running' || run.status === 'preparing') && !(current && current.id === run.id)) {
      run.status = 'interrupted';
      run.message = `Interrupted ${cause} after step ${run.step || 0}.` +
        (run.checkpoint ? ` It can be resumed from its checkpoint at epoch ${run.checkpoint.epoch}.` : '');
      persistRun(run);
    } else if (!readOnly() && run.cutOnLoad) {
      persistRun(run); // stored again, cut to size
    }
    if (!(current && current.id === run.id)) upsertRun(run);
  }
  const saved = await store.getMeta('queue');
  const items = Array.isArray(saved) ? saved.filter((q) => q && typeof q === 'object' && q.config && typeof q.config === 'object') : [];
  if (readOnly()) {
    session.followerQueue = items.map((q) => ({ label: String(q.label ?? runLabel(q.config)), group: q.group?.name ?? null }));
    renderQueue();
  } else if (items.length && !session.queue.length) {
    queueRuns(items, { hold: true });
    notice(`${items.length} queued run${items.length === 1 ? '' : 's'} ${items.length === 1 ? 'is' : 'are'} waiting from before: press “Run queue” to go on.`);
  }
  if (stored.length) renderResults();
  if (store.storageProblem()) notice(store.storageProblem());
}

/** The page's run for a stored record, or null for a record that is not one. */
export function runFromStored(rec) {
  if (!rec || !Number.isSafeInteger(rec.id) || !rec.record?.config) return null;
  // Records stored before the import limits existed are cut to them on the way in.
  const { record, notes } = boundRecord(rec.record);
  if (notes.length) console.warn(`ResLab: run #${rec.id}: ${notes.join('; ')}`);
  const run = runFromRecord(record, { id: rec.id, color: rec.color ?? colorFor(rec.id - 1), datasetKey: rec.datasetKey ?? null, createdAt: rec.createdAt });
  if (rec.checkpoint && Number.isFinite(rec.checkpoint.epoch)) run.checkpoint = rec.checkpoint;
  run.cutOnLoad = notes.length > 0;
  return run;
}

/** Adds a run, or replaces the one with its id (charts included). */
export function upsertRun(run) {
  if (session.runs.has(run.id)) charts.removeRun?.(run.id);
  addRestoredRun(run);
}

/** Adds a run that is already complete (restored, imported) with its curves. */
export function addRestoredRun(run) {
  session.runSeq = Math.max(session.runSeq, run.id);
  session.runs.set(run.id, run);
  charts.addRun({ id: run.id, label: run.label, color: run.color });
  if (run.steps.length) charts.appendSteps(run.id, run.steps.toPairs());
  for (const e of run.epochs) charts.addEpoch(run.id, e);
  charts.setRunStatus(run.id, run.status);
}
