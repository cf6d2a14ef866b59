// One tab trains at a time.
//
// The queue and the runs live in IndexedDB, which every tab of the lab on
// this origin shares. Were two tabs to work through the queue, a queued run
// could start twice and its results be written twice. So one tab owns the
// queue: it holds a Web Lock for as long as it is open. The other tabs show
// the queue and the results read-only, fed by the owner over a
// BroadcastChannel, and wait for the lock; the browser grants it to one of
// them as soon as the owner closes (or crashes), and that tab takes over.
//
// Where Web Locks are missing (a page not served from a secure origin, an old
// browser) there is no reliable way to elect one tab, and the tab works alone
// as before; the caller is told so it can say it.

const LOCK_NAME = 'reslab-queue-owner';
const CHANNEL_NAME = 'reslab-tabs';

/**
 * Claims the queue for this tab.
 * Resolves to 'owner' or 'follower' (or 'alone' without Web Locks) as soon as
 * that is known; a follower's `onTakeOver` is called later, when it becomes
 * the owner.
 */
export function claimQueue({ onTakeOver }) {
  const locks = globalThis.navigator?.locks;
  if (!locks?.request) return Promise.resolve('alone');
  // The lock is held until the tab goes away: its callback never settles.
  const holdForever = () => new Promise(() => {});
  return new Promise((resolve) => {
    locks
      .request(LOCK_NAME, { ifAvailable: true }, (lock) => {
        if (lock) {
          resolve('owner');
          return holdForever();
        }
        resolve('follower');
        locks.request(LOCK_NAME, () => {
          onTakeOver();
          return holdForever();
        });
        return undefined;
      })
      .catch(() => resolve('alone'));
  });
}

/**
 * The tabs' channel: `post(msg)` to the other tabs, `onMessage(fn)`.
 * A no-op pair where BroadcastChannel is missing.
 */
export function tabChannel() {
  if (typeof BroadcastChannel !== 'function') return { post() {}, onMessage() {} };
  const ch = new BroadcastChannel(CHANNEL_NAME);
  return {
    post(msg) {
      try {
        ch.postMessage(msg);
      } catch {
        // A message that cannot be cloned is a bug on this side; the other tab just misses an update.
      }
    },
    onMessage(fn) {
      ch.addEventListener('message', (ev) => {
        if (ev.data && typeof ev.data === 'object') fn(ev.data);
      });
    },
  };
}
