// ResLab's service worker: the lab works offline once it has been loaded.
//
// Network first, cache as the fallback: online, every request gets the
// current files (a rebuilt engine is never hidden behind an old copy) and
// refreshes the cache; offline, the cached copy answers. The app shell, the
// engine and the built-in samples are cached at install, so even a page that
// never trained before works offline after one visit. Only same-origin GETs
// are handled; dataset URLs on other sites go to the network as usual.

const CACHE = 'reslab-v1';
const SHELL = [
  './',
  './index.html',
  './www/app.js',
  './www/worker.js',
  './www/threads.js',
  './www/pool-worker.js',
  './www/state.js',
  './www/charts.js',
  './www/diagram.js',
  './www/lab.js',
  './www/results.js',
  './www/store.js',
  './www/tabs.js',
  './www/durations.js',
  './www/style.css',
  './www/favicon.svg',
  './www/vendor/uPlot.esm.js',
  './www/vendor/uPlot.min.css',
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

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const res = await fetch(req);
        if (res.ok && res.status === 200) cache.put(req, res.clone()).catch(() => {});
        return res;
      } catch (err) {
        // Offline: the cached copy (ignoring the query string, which only carries page state).
        const hit = (await cache.match(req)) ?? (await cache.match(req, { ignoreSearch: true }));
        if (hit) return hit;
        throw err;
      }
    })(),
  );
});
