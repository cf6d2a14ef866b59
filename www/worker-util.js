// What the engine's worker modules share: posting to the page, reading
// errors (which are fatal, how they are said), the engine's JSON answers.

/** Posts a message to the page (transferring `transfer`). */
export const post = (msg, transfer) => self.postMessage(msg, transfer ?? []);

/** An answer that moves its buffers to the page instead of copying them. */
export class Transfer {
  constructor(value, list) {
    this.value = value;
    this.list = list;
  }
}

export function messageOf(err) {
  if (err === undefined || err === null) return 'unknown error';
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message || String(err);
  if (typeof err === 'object' && typeof err.message === 'string') return err.message;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/** A wasm trap leaves the module unusable: the page must restart the worker. */
export function isFatal(err) {
  return typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError;
}

/** The engine (wasm module) could not be loaded: every request fails with this. */
export function engineLoadError(err) {
  const e = new Error(`The training engine failed to load: ${messageOf(err)}`);
  e.engineLoad = true;
  return e;
}

/**
 * How an error is told to the page: {context, message, fatal}. A failed
 * engine load is told as context 'engine' (the page shows its banner); a wasm
 * trap is fatal (the page restarts the worker).
 */
export function describeError(context, err) {
  if (err?.engineLoad) return { context: 'engine', message: err.message, fatal: false };
  const fatal = isFatal(err);
  const message = messageOf(err);
  return { context, message: fatal ? `The training engine crashed (${message}).` : message, fatal };
}

let engineErrorReported = false;

/** Tells the page about an error no request waits for (a failed engine load only once). */
export function reportError(context, err, extra = {}) {
  if (err?.engineLoad) {
    if (engineErrorReported) return;
    engineErrorReported = true;
  }
  post({ type: 'error', ...describeError(context, err), ...extra });
}

export function parseJson(text, what) {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what}: the engine returned invalid JSON (${messageOf(err)})`);
  }
}
