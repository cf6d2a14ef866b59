// Cross-origin isolation, which the threaded CPU engine's shared memory needs
// (www/threads.js), on any host.
//
// A server that sends COOP/COEP (scripts/serve.mjs) isolates the page itself.
// A static host that cannot (GitHub Pages, most university web space) gets the
// headers from the service worker (sw.js), which adds them to every response
// it serves, but only to pages it controls: the first visit loads without it.
// So a page that is not isolated registers the worker, waits until it is
// active, and reloads once; a sessionStorage flag set before that reload
// (and cleared by the next load) keeps a page the worker still cannot isolate
// from reloading again. A page already isolated never reloads.

/** Set just before the one reload; read and cleared by the load that follows. */
const RELOADED = 'reslab-isolation-reload';
/** The header the service worker sets on responses whose isolation headers it added. */
const MARK = 'x-reslab-isolation';
/** How long a first visit waits for the service worker (it caches the app, engines included, as it installs). */
export const READY_TIMEOUT_MS = 60_000;
/** How long asking who isolated the page may take (a HEAD of the page, through the service worker). */
const PROBE_TIMEOUT_MS = 5_000;

const messageOf = (err) => String(err?.message ?? err);

/**
 * Registers the service worker (offline use everywhere; the isolation headers
 * where the host sends none) and makes the page cross-origin isolated if that
 * can be done. Never rejects. Resolves to:
 *   {reload: true}      the page is reloading: start nothing;
 *   {by, why: null}     isolated; `by`: 'server', 'service-worker', or null if it could not be told;
 *   {by: null, why}     not isolated; `why` says why (for "one thread because …").
 * `onWait(text)` is called when a first visit waits for the service worker before its reload.
 */
export async function settleIsolation(options = {}) {
  try {
    return await settle(options);
  } catch (err) {
    // Whatever went wrong here, the lab still starts (on one thread if the page is not isolated).
    console.warn('ResLab: cross-origin isolation:', messageOf(err));
    return { by: null, why: null };
  }
}

async function settle({ swUrl, scope, onWait = () => {}, timeoutMs = READY_TIMEOUT_MS }) {
  let reloaded = false;
  try {
    reloaded = sessionStorage.getItem(RELOADED) !== null;
    sessionStorage.removeItem(RELOADED);
  } catch {
    // No session storage (storage blocked): no reload either, see below.
  }
  // (Some browsers leave navigator.serviceWorker undefined, e.g. in private windows.)
  const container = self.isSecureContext ? navigator.serviceWorker ?? null : null;
  const registering = (async () => {
    if (!container) throw new Error(self.isSecureContext ? 'this browser offers none here' : 'the page is not served over HTTPS');
    const reg = await container.register(swUrl, { scope });
    if (!reg) throw new Error('the browser refused to register it');
    return reg;
  })();
  registering.catch((err) => console.warn('ResLab: offline use is not available:', messageOf(err)));

  if (self.crossOriginIsolated) return { by: await isolatedBy(container), why: null };

  if (!self.isSecureContext) {
    return { by: null, why: 'the page is not served over HTTPS (or from this machine), so it cannot be cross-origin isolated and shared memory is off' };
  }
  const notIsolated = (how) => ({ by: null, why: `this host does not send COOP/COEP and ${how}, so the page is not cross-origin isolated and shared memory is off` });
  let reg;
  try {
    reg = await registering;
  } catch (err) {
    return notIsolated(`service workers are unavailable (${messageOf(err)})`);
  }
  if (reloaded) return notIsolated('the page was still not isolated after the service worker that adds them reloaded it');
  onWait('setting up the service worker that makes this page cross-origin isolated (the first visit also saves the app for offline use)…');
  const ready = await activated(reg, timeoutMs);
  if (ready !== true) return notIsolated(`the service worker that adds them ${ready} (reload the page to use every core)`);
  try {
    sessionStorage.setItem(RELOADED, '1');
  } catch {
    return notIsolated('the page has no session storage to guard its one reload under the service worker that adds them');
  }
  onWait('reloading the page under the service worker that makes it cross-origin isolated…');
  location.reload();
  return { reload: true };
}

/** Resolves to true once the registration's newest worker is active, or to what went wrong. */
function activated(reg, timeoutMs) {
  const worker = reg.installing ?? reg.waiting ?? reg.active;
  if (!worker) return Promise.resolve('did not start');
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(`was not ready within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    const check = () => {
      if (worker.state === 'activated') done(true);
      else if (worker.state === 'redundant') done('failed to install');
    };
    function done(result) {
      clearTimeout(timer);
      worker.removeEventListener('statechange', check);
      resolve(result);
    }
    worker.addEventListener('statechange', check);
    check();
  });
}

/**
 * Who isolated this (isolated) page: a page no service worker controls was
 * isolated by its server; otherwise the worker says, on a HEAD of the page,
 * whether it added the headers (offline it answers from its cache, alike).
 */
async function isolatedBy(container) {
  if (!container?.controller) return 'server';
  try {
    const res = await fetch(location.href, { method: 'HEAD', cache: 'no-store', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return res.headers.get(MARK) === 'service-worker' ? 'service-worker' : 'server';
  } catch {
    return null;
  }
}
