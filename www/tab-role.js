// This tab's part among the lab's open tabs (tabs.js elects them): the owner
// trains the queue and tells the other tabs what it does; a follower shows the
// owner's queue and results read-only, and takes over when the owner closes.

import { $ } from './dom.js';
import { formatCount, messageOf } from './format.js';
import { notice } from './notices.js';
import { charts } from './run-charts.js';
import { owns, readOnly, session } from './session.js';
import * as store from './store.js';
import { claimQueue, tabChannel } from './tabs.js';
import { renderFig7 } from './analysis.js';
import { restoreRuns, runFromStored, upsertRun } from './kept-runs.js';
import { pumpQueue, renderQueue } from './queue.js';
import { renderResults } from './run-table.js';
import { trainNote } from './runs.js';
import { lab } from './studies.js';

/** The channel to the lab's other tabs. */
export const tabs = tabChannel();
let nowTimer = 0;
/** Whether the part came from a Web Lock (else from asking the other tabs). */
let lockedRoles = true;
let heardOwner = false;

/** In a read-only tab: says why `what` does nothing here, and returns true. */
export function refuseReadOnly(what) {
  if (!readOnly()) return false;
  const text = `${what} happens in the other ResLab tab, which owns the queue; this tab is read-only until that tab closes.`;
  trainNote(text);
  notice(text);
  return true;
}

/** Owner → other tabs: the queue as it now is. */
export function announceQueue() {
  if (!owns()) return;
  tabs.post({ type: 'queue', items: session.queue.map((q) => ({ label: q.label, group: q.group?.name ?? null })), held: session.queueHeld });
}

/** Owner → other tabs: one line on the run in progress, at most once a second. */
export function announceNow() {
  if (!owns() || nowTimer) return;
  nowTimer = setTimeout(() => {
    nowTimer = 0;
    if (!owns()) return;
    const run = session.current;
    let text = 'Nothing is training.';
    if (run && !run.done) {
      const steps = run.totalSteps ? `step ${formatCount(run.step)} of ${formatCount(run.totalSteps)}` : `step ${formatCount(run.step)}`;
      text = `Training now: #${run.id} ${run.label}, ${run.status === 'preparing' ? 'preparing' : steps}.`;
    }
    tabs.post({ type: 'now', text });
  }, 1000);
}

function onTabMessage(msg) {
  if (owns()) {
    // A tab that just opened asks what it should show (and, without Web Locks, whether it may train).
    if (msg.type === 'hello') {
      tabs.post({ type: 'here' });
      announceQueue();
      announceNow();
    }
    return;
  }
  if (msg.type === 'here') heardOwner = true;
  if (session.tabRole !== 'follower') return;
  switch (msg.type) {
    case 'bye':
      // Without Web Locks the owner says when it goes; with them the lock is handed over instead.
      if (!lockedRoles) takeOver().catch((err) => notice(`Taking over the queue failed: ${messageOf(err)}`));
      break;
    case 'queue':
      session.followerQueue = Array.isArray(msg.items)
        ? msg.items.map((q) => ({ label: String(q?.label ?? ''), group: q?.group ? String(q.group) : null }))
        : [];
      renderQueue();
      break;
    case 'now':
      $('other-tab-now').textContent = String(msg.text ?? '');
      break;
    case 'run-saved':
      if (Number.isSafeInteger(msg.id)) {
        store.getRun(msg.id).then((rec) => {
          const run = rec && runFromStored(rec);
          if (!run || !readOnly()) return;
          upsertRun(run);
          renderResults();
          renderFig7();
        });
      }
      break;
    case 'runs-deleted':
      for (const id of Array.isArray(msg.ids) ? msg.ids : []) {
        if (!session.runs.has(id)) continue;
        session.runs.delete(id);
        charts.removeRun?.(id);
      }
      renderResults();
      break;
    default:
      break;
  }
}

/** Decides this tab's part before anything is read from storage. */
export async function settleTabRole() {
  tabs.onMessage(onTabMessage);
  const role = await claimQueue({ onTakeOver: () => takeOver().catch((err) => notice(`Taking over the queue failed: ${messageOf(err)}`)) });
  lockedRoles = role !== 'alone';
  if (role === 'alone') {
    // No Web Locks (a page not served over HTTPS or from localhost): ask the other tabs instead,
    // staying 'pending' (neither answering nor training) until they had time to say they own it.
    // A tab that crashes cannot say goodbye; then a reload of this one is needed.
    tabs.post({ type: 'hello' });
    await new Promise((r) => setTimeout(r, 400));
    session.tabRole = heardOwner ? 'follower' : 'alone';
  } else {
    session.tabRole = role;
  }
  if (owns()) addEventListener('pagehide', () => tabs.post({ type: 'bye' }));
  if (session.tabRole === 'follower') {
    $('other-tab-text').textContent = 'Training happens in another ResLab tab: this tab shows its queue and results read-only. ' +
      'It takes over when that tab closes.';
    $('other-tab').hidden = false;
    tabs.post({ type: 'hello' });
  }
  lab?.refreshButtons?.();
  // A tab that may now train starts what waits (pumpQueue says why not, if something still holds it).
  pumpQueue();
}

/** The tab that owned the queue closed: this one picks up its queue and runs. */
async function takeOver() {
  session.tabRole = lockedRoles ? 'owner' : 'alone';
  addEventListener('pagehide', () => tabs.post({ type: 'bye' }));
  session.followerQueue = [];
  $('other-tab').hidden = true;
  $('other-tab-now').textContent = '';
  trainNote('');
  await restoreRuns('when the tab training it closed');
  notice('The tab that was training has closed: this tab now owns the queue.');
  renderQueue();
  lab?.refreshButtons?.();
  pumpQueue();
}

/** Tells the other tabs that run `id` was stored. */
export function announceRunSaved(id) {
  tabs.post({ type: 'run-saved', id });
}

/** Tells the other tabs that these runs were deleted. */
export function announceRunsDeleted(ids) {
  tabs.post({ type: 'runs-deleted', ids });
}
