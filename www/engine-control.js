// The training engine's life on the page: starting its worker with the
// backend to use, switching the backend, restarting the worker after a crash,
// a lost GPU device or an unresponsive Stop (and giving up after repeated
// crashes), and what the engine says unasked about itself (errors no request
// is waiting for, the backend's notices).
//
// What the rest of the page does when the engine becomes ready, restarts or
// fails is wired in app.js through `setEngineHooks`.

import { $ } from './dom.js';
import { engineClient } from './engine-client.js';
import { messageOf } from './format.js';
import { notice, setBackendLine } from './notices.js';
import { GPU_CORRUPT, TEST_MODE, session } from './session.js';

/** The page's engine (engine-client.js): `engine.request(...)`, `engine.on(...)`. */
export const engine = engineClient({
  // Test mode travels in the worker's URL: fixed when the worker starts, no later message can turn it on.
  url: new URL(TEST_MODE ? './worker.js?test=1' : './worker.js', import.meta.url),
  name: 'reslab-engine',
});

const hooks = {
  /** The engine started ({defaults, models} from its 'ready'). */
  ready: () => {},
  /** The worker was ended to be restarted: what it held is gone. */
  restarting: () => {},
  /** The engine cannot be used (the banner says why). */
  failed: () => {},
  /** The GPU failed during run `runId` (or just after it): `what` says how. */
  gpuFailed: () => {},
};

/** Sets what the page does on the engine's ready, restart, failure and GPU failure (see `hooks`). */
export function setEngineHooks(h) {
  Object.assign(hooks, h);
}

/** Starts the engine's worker and asks it for the settings' backend. */
export function startEngine() {
  session.engineReady = false;
  try {
    engine.start();
  } catch (err) {
    engineFailure(`The training engine failed to load: ${messageOf(err)}`);
    return;
  }
  // The device's memory (rounded, at most 8 GB as browsers report it) bounds what a run may use.
  initBackend(session.state.backend, { deviceMemory: Number(navigator.deviceMemory) || null, isolation: session.pageIsolation });
}

/** The backend an engine is asked for: the settings', unless the GPU failed. */
function backendRequest(backend) {
  if (session.gpuFault && backend !== 'cpu') {
    return { backend: 'cpu', why: `${session.gpuFault} WebGPU is not used until the page is reloaded` };
  }
  return GPU_CORRUPT ? { backend, corruptGpuOp: GPU_CORRUPT } : { backend };
}

/** Asks the engine for `backend`; the answer is the backend it chose, said in the backend line. */
function initBackend(backend, extra = {}) {
  engine.request('init', { ...backendRequest(backend), ...extra }).then(
    (info) => {
      if (!info || typeof info !== 'object') return;
      session.backendInfo = info;
      setBackendLine(`Backend: ${info.reason || info.backend}`, info.backend);
    },
    (err) => {
      // A crash or a failed engine is handled where every error is (see below); a restart asks again.
      if (err.gone || err.fatal || err.context === 'engine') return;
      backendNotice(err.message);
    },
  );
}

/** The engine's word on the backend (e.g. WebGPU missing, the CPU used instead); the line keeps the backend in use. */
function backendNotice(message) {
  notice(message);
  const info = session.backendInfo;
  if (info && $('backend-line').dataset.backend === '') setBackendLine(`Backend: ${info.reason || info.backend}`, info.backend);
}

/** The user picked a backend: the engine switches now, or once the run in progress ends. */
export function switchBackend(backend) {
  // A backend picked after a GPU error is the user's call: WebGPU may be tried again.
  session.gpuFault = null;
  if (session.engineReady && !session.current) {
    setBackendLine('Backend: switching…', '');
    initBackend(backend);
  } else if (session.current) {
    notice('The backend changes for the next run.');
    session.pendingBackend = backend;
  }
}

/** A run ended: a backend picked while it trained is switched to now. */
export function applyPendingBackend() {
  if (!session.pendingBackend) return;
  initBackend(session.pendingBackend);
  session.pendingBackend = null;
}

const restarts = [];

/** Restarts the engine after a crash or an unresponsive stop; gives up after four restarts in a minute. */
export function restartEngine(reason) {
  const now = performance.now();
  restarts.push(now);
  while (restarts.length && now - restarts[0] > 60_000) restarts.shift();
  // Every request still waiting rejects with the reason.
  engine.stop(reason);
  if (restarts.length > 3) {
    engineFailure(`The training engine keeps crashing: ${reason}`);
    return;
  }
  hooks.restarting(reason);
  setBackendLine('Backend: restarting…', '');
  notice(`${reason} It was restarted; datasets will be loaded again when needed.`);
  startEngine();
}

/** The engine cannot be used: the banner says why, and every request still waiting fails with it. */
export function engineFailure(message) {
  if (session.engineFailed) return;
  session.engineFailed = true;
  session.engineReady = false;
  const banner = $('engine-banner');
  banner.textContent = message;
  banner.hidden = false;
  setBackendLine('Backend: unavailable (the training engine did not load)', 'none');
  engine.abandon(message);
  hooks.failed(message);
}

/** The GPU failed (`what`): the run it cut short says so, and the engine restarts (`next`: on what). */
function gpuFailed(runId, what, next) {
  hooks.gpuFailed(runId, what);
  restartEngine(`${what} The run in progress was stopped; its curves so far are kept.${next}`);
}

/** Subscribes to what the engine says about itself. Called once, before the engine starts. */
export function watchEngine() {
  engine.on('ready', (msg) => {
    session.engineReady = true;
    session.engineFailed = false;
    $('engine-banner').hidden = true;
    hooks.ready(msg);
  });
  engine.on('device-lost', (msg) => {
    // The run ends failed with its curves so far (kept); a fresh engine takes the next run.
    gpuFailed(msg.runId, String(msg.message ?? 'The GPU device was lost.'), '');
  });
  engine.on('gpu-error', (msg) => {
    // As a lost device, but the fresh engine trains on the CPU (see session.gpuFault).
    const what = String(msg.message ?? 'The GPU reported an error.');
    session.gpuFault = what.replace(/\.$/, ';');
    gpuFailed(msg.runId, what, ' Training goes on on the CPU until the page is reloaded.');
  });
  engine.on('error', (msg) => {
    const message = String(msg.message ?? 'unknown error');
    if (msg.context === 'engine') engineFailure(message);
    // Wasm traps leave the engine unusable, whoever's request hit them.
    else if (msg.fatal) restartEngine(message);
    // An answered request's caller says what went wrong, where it matters.
    else if (msg.answered) return;
    else if (msg.context === 'backend') backendNotice(message);
    else notice(message);
  });
  engine.on('worker-error', (ev) => {
    if (!session.engineReady) {
      engineFailure(`The training engine failed to load: ${ev?.message || 'the worker script could not be started'}`);
    } else {
      // Wasm traps arrive as 'error' messages flagged fatal; anything else is reported.
      notice(`The training engine reported an error: ${ev?.message || 'unknown error'}`);
    }
  });
  engine.on('message-error', () => notice('A message from the training engine could not be read.'));
}
