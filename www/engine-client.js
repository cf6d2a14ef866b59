// The page's one line to the training engine, a module worker (worker.js):
// every request that expects an answer, and every message the engine sends
// unasked, goes through here.
//
// A request: `request(type, payload, transfer)` posts {...payload, type, id}
// and returns a promise. The worker answers each request exactly once,
// echoing its id:
//   {type:'reply', id, value}                        resolves it to `value`;
//   {type:'error', id, context, message, fatal}      rejects it with an EngineError.
// A request also settles when the engine goes away before it answers:
// `stop(reason)` (the worker is ended: a restart, a crash) and
// `abandon(reason)` (the engine failed; its worker is left as it is) reject
// every request still waiting with an EngineError whose message is the
// reason and whose `gone` is true. So nothing waits for ever. A caller that
// has asked again since (a newer description, say) ignores the answer to the
// superseded request itself.
//
// Commands that expect no answer (pause, resume, stop, the test-only debug-*)
// are posted with `post(type, payload)`.
//
// What the worker says unasked ({type:'ready'|'progress'|'event'|'device-lost'|
// 'gpu-error'|'error'}, an error without an id) goes to the functions
// subscribed with `on(type, fn)`, as do the worker's own failures:
// 'worker-error' (its script did not load, or an error escaped it) and
// 'message-error' (a message that could not be read). Error replies are told
// to the 'error' subscribers too, flagged `answered`, so that a crash or a
// failed engine is acted on whoever asked.

/** What a request rejects with when the engine says no, or goes away before it answers. */
export class EngineError extends Error {
  /**
   * @param {string} message
   * @param {{context?: string|null, fatal?: boolean, gone?: boolean}} [o]
   *   context: the engine's name for what failed ('dataset', 'train', 'engine', …);
   *   fatal: the engine crashed doing it (it is being restarted);
   *   gone: the engine was restarted, crashed or failed before it answered.
   */
  constructor(message, { context = null, fatal = false, gone = false } = {}) {
    super(message);
    this.name = 'EngineError';
    this.context = context;
    this.fatal = fatal;
    this.gone = gone;
  }
}

/**
 * A client for the engine's worker at `url` (started by `start()`).
 * Returns {start, stop, abandon, request, post, on, running}.
 */
export function engineClient({ url, name }) {
  let worker = null;
  let seq = 0;
  /** Requests waiting for their answer: id → {type, resolve, reject}. */
  const waiting = new Map();
  /** Subscribers: message type → set of functions. */
  const listeners = new Map();

  function emit(type, arg) {
    for (const fn of listeners.get(type) ?? []) {
      try {
        fn(arg);
      } catch (err) {
        console.warn(`ResLab: could not handle the engine's "${type}" message`, err);
      }
    }
  }

  function receive(msg) {
    if (!msg || typeof msg !== 'object') return;
    const hasId = msg.id !== undefined && msg.id !== null;
    if (msg.type === 'reply') {
      // A reply nobody waits for answers a request given up when the engine went away.
      const w = waiting.get(msg.id);
      if (w) {
        waiting.delete(msg.id);
        w.resolve(msg.value);
      }
      return;
    }
    if (msg.type === 'error' && hasId) {
      const w = waiting.get(msg.id);
      if (w) {
        waiting.delete(msg.id);
        w.reject(new EngineError(String(msg.message ?? 'unknown error'), { context: msg.context ?? null, fatal: msg.fatal === true }));
      }
      emit('error', { ...msg, answered: true });
      return;
    }
    emit(msg.type, msg.type === 'error' ? { ...msg, answered: false } : msg);
  }

  /** Rejects every request still waiting with `reason`. */
  function rejectAll(reason) {
    const all = [...waiting.values()];
    waiting.clear();
    for (const w of all) w.reject(new EngineError(String(reason), { gone: true }));
  }

  return {
    /** Starts the worker (throws if the browser refuses to). */
    start() {
      const w = new Worker(url, { type: 'module', name });
      worker = w;
      // Messages of a worker already replaced are old news.
      w.onmessage = (ev) => {
        if (worker === w) receive(ev.data);
      };
      w.onerror = (ev) => {
        ev.preventDefault?.();
        if (worker === w) emit('worker-error', ev);
      };
      w.onmessageerror = () => {
        if (worker === w) emit('message-error', null);
      };
    },

    /** Ends the worker; every request still waiting rejects with `reason`. */
    stop(reason) {
      worker?.terminate();
      worker = null;
      rejectAll(reason);
    },

    /** The engine cannot answer (it failed to start): every request still waiting rejects with `reason`. */
    abandon(reason) {
      rejectAll(reason);
    },

    /** Asks the engine; resolves to its answer, rejects with an EngineError. */
    request(type, payload = {}, transfer = []) {
      if (!worker) return Promise.reject(new EngineError('the training engine is not running', { gone: true }));
      const id = ++seq;
      const target = worker;
      return new Promise((resolve, reject) => {
        waiting.set(id, { type, resolve, reject });
        try {
          target.postMessage({ ...payload, type, id }, transfer);
        } catch (err) {
          waiting.delete(id);
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    },

    /** Tells the engine something that has no answer; false if no engine runs. */
    post(type, payload = {}, transfer = []) {
      if (!worker) return false;
      worker.postMessage({ ...payload, type }, transfer);
      return true;
    },

    /** Calls `fn(message)` for each unasked message of `type`; returns a function that unsubscribes. */
    on(type, fn) {
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type).add(fn);
      return () => listeners.get(type).delete(fn);
    },

    /** Whether a worker is running. */
    get running() {
      return worker !== null;
    },

    /** How many requests wait for an answer (for tests and debugging). */
    get waiting() {
      return waiting.size;
    },
  };
}
