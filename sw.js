// ResLab's service worker: the lab works offline once it has been loaded, and
// on hosts that cannot send headers it makes the page cross-origin isolated.
//
// Network first, cache as the fallback: online, every request gets the
// current files (a rebuilt engine is never hidden behind an old copy) and
// refreshes the cache; offline, the cached copy answers. The app shell, the
// engine and the built-in samples are cached at install, so even a page that
// never trained before works offline after one visit. Only same-origin GETs
// (and HEADs, uncached) are handled; dataset URLs on other sites go to the
// network as usual.
//
// Cross-origin isolation (the threaded CPU engine's shared memory needs it):
// a response that does not isolate by itself (no COOP `same-origin` with COEP
// `require-corp` or `credentialless`, as from GitHub Pages or most university
// web space) is served with COOP `same-origin`, COEP `require-corp` and CORP
// `cross-origin` added, and marked `X-ResLab-Isolation: service-worker` so the
// page can say where its isolation came from (www/isolation.js, which also
// reloads a page that loaded before this worker controlled it, once).
// Responses from a server that isolates (scripts/serve.mjs) pass unchanged.
// The cache keeps what the server sent; the headers are added on the way out.

const CACHE = 'reslab-v1';
const SHELL = [
  './',
  './index.html',
  './www/app.js',
  './www/worker.js',
  './www/threads.js',
  './www/isolation.js',
  './www/pool-worker.js',
  './www/state.js',
  './www/charts.js',
  './www/diagram.js',
  './www/lab.js',
  './www/results.js',
  './www/store.js',
  './www/tabs.js',
  './www/durations.js',
  './www/schema.js',
  './www/charts-colors.js',
  './www/charts-plot.js',
  './www/charts-series.js',
  './www/results-bounds.js',
  './www/results-csv.js',
  './www/results-import.js',
  './www/results-table.js',
  './www/session.js',
  './www/engine-client.js',
  './www/engine-control.js',
  './www/controls.js',
  './www/model-view.js',
  './www/data.js',
  './www/pictures.js',
  './www/picture-worker.js',
  './www/picture-fit.js',
  './www/use-net.js',
  './www/draw-pad.js',
  './www/inside-view.js',
  './www/tab-role.js',
  './www/speeds.js',
  './www/queue.js',
  './www/runs.js',
  './www/progress.js',
  './www/run-table.js',
  './www/kept-runs.js',
  './www/studies.js',
  './www/claims.js',
  './www/analysis.js',
  './www/checkpoints.js',
  './www/saved-models.js',
  './www/notices.js',
  './www/format.js',
  './www/dom.js',
  './www/run-charts.js',
  './www/test-hooks.js',
  './www/worker-backend.js',
  './www/gpu-adapter.js',
  './www/worker-data.js',
  './www/fetch-bytes.js',
  './www/worker-train.js',
  './www/worker-util.js',
  './www/gpu-counters.js',
  './www/bench.html',
  './www/bench.css',
  './www/bench.js',
  './www/bench-view.js',
  './www/bench-worker.js',
  './www/style.css',
  './www/favicon.svg',
  './www/vendor/uPlot.esm.js',
  './www/vendor/uPlot.min.css',
  './www/vendor/fflate.js',
  './pkg/reslab.js',
  './pkg/reslab_bg.wasm',
  './pkg/threads/reslab.js',
  './pkg/threads/reslab_bg.wasm',
  './assets/sample/mnist/train-images-idx3-ubyte.gz',
  './assets/sample/mnist/train-labels-idx1-ubyte.gz',
  './assets/sample/mnist/t10k-images-idx3-ubyte.gz',
  './assets/sample/mnist/t10k-labels-idx1-ubyte.gz',
  './assets/sample/cifar10/cifar-10-sample-binary.tar.gz',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

/** The headers that make a page cross-origin isolated, added where the server does not send them. */
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'cross-origin',
};
/** Set on a response whose isolation headers this worker added (read by www/isolation.js). */
const MARK = 'X-ResLab-Isolation';

const token = (headers, name) => (headers.get(name) ?? '').split(';')[0].trim().toLowerCase();

/** `res` as served to the page: with the isolation headers if it lacks them; with no body for a HEAD. */
function served(res, head) {
  // Redirects seen by a navigation ('manual') and errors cannot be rebuilt; nor need they be.
  if (res.type === 'opaqueredirect' || res.type === 'opaque' || res.status < 200) return res;
  const isolates =
    token(res.headers, 'cross-origin-opener-policy') === 'same-origin' &&
    ['require-corp', 'credentialless'].includes(token(res.headers, 'cross-origin-embedder-policy'));
  if (isolates && res.headers.has('cross-origin-resource-policy') && !head) return res;
  const headers = new Headers(res.headers);
  if (!isolates) {
    for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
    headers.set(MARK, 'service-worker');
  } else if (!headers.has('cross-origin-resource-policy')) {
    headers.set('Cross-Origin-Resource-Policy', ISOLATION['Cross-Origin-Resource-Policy']);
  }
  const bodyless = head || [204, 205, 304].includes(res.status);
  return new Response(bodyless ? null : res.body, { status: res.status, statusText: res.statusText, headers });
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if ((req.method !== 'GET' && req.method !== 'HEAD') || url.origin !== self.location.origin) return;
  // DevTools' 'only-if-cached' outside same-origin mode throws in fetch(): leave it to the browser.
  if (req.cache === 'only-if-cached' && req.mode !== 'same-origin') return;
  const head = req.method === 'HEAD';
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const res = await fetch(req);
        if (!head && res.ok && res.status === 200) cache.put(req, res.clone()).catch(() => {});
        return served(res, head);
      } catch (err) {
        // Offline: the cached copy (ignoring the query string, which only carries page state).
        const hit =
          (await cache.match(req, { ignoreMethod: head })) ??
          (await cache.match(req, { ignoreSearch: true, ignoreMethod: head }));
        if (hit) return served(hit, head);
        throw err;
      }
    })(),
  );
});
