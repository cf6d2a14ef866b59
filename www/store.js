// Keeping runs across reloads: a small IndexedDB wrapper.
//
// Database "reslab", three object stores:
//   runs        (keyPath "id")  one record per run: config, curves, result, status
//   meta        (keyPath "key") the pending queue
//   checkpoints (keyPath "id")  the latest epoch's weights of a run in progress
//                               (a model file), to resume it after a reload
//
// Every call resolves, even when IndexedDB is unavailable (private windows,
// blocked storage): the page then works for the session and says so once.

const DB_NAME = 'reslab';
const DB_VERSION = 2;

let dbPromise = null;
let unavailable = null;

function open() {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve, reject) => {
    let req;
    try {
      req = indexedDB.open(DB_NAME, DB_VERSION);
    } catch (err) {
      reject(err);
      return;
    }
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('runs')) db.createObjectStore('runs', { keyPath: 'id' });
      if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta', { keyPath: 'key' });
      if (!db.objectStoreNames.contains('checkpoints')) db.createObjectStore('checkpoints', { keyPath: 'id' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB could not be opened'));
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of this page'));
  }).catch((err) => {
    unavailable = `Runs cannot be kept across reloads: ${err?.message ?? err}`;
    return null;
  });
  return dbPromise;
}

/** Why storage does not work, or null. */
export function storageProblem() {
  return unavailable;
}

function request(store, mode, fn) {
  return open().then(
    (db) =>
      db &&
      new Promise((resolve) => {
        let tx;
        try {
          tx = db.transaction(store, mode);
        } catch (err) {
          unavailable = `Saving runs failed: ${err?.message ?? err}`;
          resolve(null);
          return;
        }
        let result = null;
        const req = fn(tx.objectStore(store));
        if (req) req.onsuccess = () => (result = req.result);
        tx.oncomplete = () => resolve(result);
        tx.onerror = () => {
          // Quota exceeded and the like: the session goes on, the message says so.
          unavailable = `Saving runs failed: ${tx.error?.message ?? 'unknown error'}`;
          resolve(null);
        };
        tx.onabort = tx.onerror;
      }),
  );
}

/** Stores (or replaces) one run record. Records must be structured-cloneable. */
export function putRun(record) {
  return request('runs', 'readwrite', (s) => s.put(record));
}

/** One run record, or null. */
export function getRun(id) {
  return request('runs', 'readonly', (s) => s.get(id));
}

export function deleteRun(id) {
  return request('runs', 'readwrite', (s) => s.delete(id));
}

export function clearRuns() {
  return request('runs', 'readwrite', (s) => s.clear());
}

/** All run records, oldest first. */
export async function allRuns() {
  const list = (await request('runs', 'readonly', (s) => s.getAll())) ?? [];
  return list.sort((a, b) => a.id - b.id);
}

export async function getMeta(key) {
  const rec = await request('meta', 'readonly', (s) => s.get(key));
  return rec ? rec.value : null;
}

export function setMeta(key, value) {
  return request('meta', 'readwrite', (s) => s.put({ key, value }));
}

/** {id, epoch, step, bytes: Uint8Array}: replaces the run's previous checkpoint. */
export function putCheckpoint(rec) {
  return request('checkpoints', 'readwrite', (s) => s.put(rec));
}

export function getCheckpoint(id) {
  return request('checkpoints', 'readonly', (s) => s.get(id));
}

export function deleteCheckpoint(id) {
  return request('checkpoints', 'readwrite', (s) => s.delete(id));
}

export function clearCheckpoints() {
  return request('checkpoints', 'readwrite', (s) => s.clear());
}
