// The page's shared state, in one place: the settings, what the engine is
// and holds, this session's runs, the queue and this tab's part. Every module
// reads and writes these fields here (`session.current = run`); what only one
// module needs (its timers, its caches) stays in that module.
//
// Also the test-mode flag, fixed when the page loads.

import { FALLBACK_CONFIG, FALLBACK_MODEL_IDS, labFromQuery, stateFromQuery } from './state.js';

/**
 * `?test=1` opens the page in test mode: `window.__reslab` gets the debug
 * hooks (crash the engine, lose the GPU device, inject a GPU error) and the
 * engine's worker accepts the matching test-only messages. The flag is not a
 * setting: it stays in this tab's address bar (a reload stays in test mode)
 * but never goes into a link the page hands out (study, grid and queue links).
 */
export const TEST_MODE = new URLSearchParams(location.search).get('test') === '1';

/**
 * Test mode's own URL keys: `test`, and `gpu_corrupt=OP`, which makes the
 * GPU self-check find op OP wrong (to see the fallback to the CPU).
 */
const TEST_KEYS = ['test', 'gpu_corrupt'];
/** The op the GPU self-check is to find wrong (test mode only), or null. */
export const GPU_CORRUPT = TEST_MODE ? new URLSearchParams(location.search).get('gpu_corrupt') : null;

/** The query the settings are read from: the page's, without the test-mode keys. */
export function settingsQuery() {
  if (!TEST_MODE) return location.search;
  const params = new URLSearchParams(location.search);
  for (const k of TEST_KEYS) params.delete(k);
  const s = params.toString();
  return s ? `?${s}` : '';
}

const initial = stateFromQuery(settingsQuery(), { defaults: FALLBACK_CONFIG });

/** The study the page's address asks for: {lab, messages, asked} (see state.js labFromQuery). */
export const initialLab = labFromQuery(location.search, location.hash);

export const session = {
  /** The settings (state.js AppState); replaced once the engine's defaults are known. */
  state: initial.state,
  /** What was wrong with the settings in the address, read against the fallback defaults. */
  urlMessages: initial.messages,
  /** What was wrong with the study a link asked for: kept among the notices until dismissed. */
  linkNotices: [...initialLab.messages],
  /** The engine's model ids (a fallback list until it says). */
  modelIds: FALLBACK_MODEL_IDS.slice(),

  /** The engine has started and answers requests. */
  engineReady: false,
  /** The engine's config schema is the page's (schema.js); null until it starts. */
  schemaMatches: null,
  /** The engine could not be started (or kept crashing): the banner says why. */
  engineFailed: false,
  /** The backend the engine trains on: {backend, adapter, reason, threads?}. */
  backendInfo: null,
  /**
   * Why WebGPU is not used this session, after the GPU reported an error: the
   * same kernels would fail again on the same GPU, so fresh engines use the
   * CPU until the page is reloaded or the user picks a backend again.
   */
  gpuFault: null,
  /** A backend picked while a run trains: the engine switches once it ends. */
  pendingBackend: null,
  /** How the page is cross-origin isolated, or why not (www/isolation.js): told to the engine, which says it with its threads. */
  pageIsolation: null,

  /** Datasets the engine holds: key ('sample-mnist', 'sample-cifar10', 'user') → info. */
  datasets: new Map(),

  /** Runs of this session: id → run record (see runs.js newRun). */
  runs: new Map(),
  /** The highest run id given out (runs restored from storage count). */
  runSeq: 0,
  /** The run in progress (or being prepared), or null. */
  current: null,
  /** The run whose details (confusion matrix, test images) are shown. */
  selectedRunId: null,
  /** The run the progress panel showed last, once none trains. */
  lastShownRunId: null,

  /** Runs waiting their turn: {qid, config, label, datasetKey, group?, initModel?}. */
  queue: [],
  /** After a reload the restored queue waits for the user's go ("Run queue"). */
  queueHeld: false,
  /** A loaded model the next Train continues from (its key in the engine). */
  pendingInitModel: null,

  /**
   * This tab's part (see tab-role.js): 'owner' trains the queue; a 'follower'
   * shows the owner's queue and results read-only until it takes over;
   * 'alone' where the browser cannot elect one tab; 'pending' until decided.
   */
  tabRole: 'pending',
  /** The owner's queue as a follower sees it: [{label, group}]. */
  followerQueue: [],
};

/** Whether this tab only shows what another tab trains (or has not yet been told its part). */
export function readOnly() {
  return session.tabRole === 'follower' || session.tabRole === 'pending';
}

/** Whether this tab trains the queue ('alone': no other tab answered and the browser cannot lock). */
export function owns() {
  return session.tabRole === 'owner' || session.tabRole === 'alone';
}
