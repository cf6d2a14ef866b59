// Measures main-thread long tasks (> 50 ms) in the page while the worker trains
// cnn for one epoch on the built-in MNIST sample (CPU backend). Needs a built pkg/.
//   node scripts/measure-responsiveness.mjs
import { control, openAdvanced, openApp, pressTrain, waitForBackend, waitForRunEnd, MINUTE } from '../tests/e2e/helpers.mjs';
const app = await openApp({ query: '?backend=cpu' });
const { page } = app;
await page.evaluate(() => {
  window.__long = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); }).observe({ type: 'longtask', buffered: true });
});
await waitForBackend(page);
await page.evaluate(() => { window.__long.length = 0; });
await control(page, 'Dataset').selectOption({ label: 'Built-in MNIST sample' });
await control(page, 'Model').selectOption('cnn');
await openAdvanced(page);
await control(page, 'Max steps').fill('');
const t0 = Date.now();
await pressTrain(page);
console.log('status', await waitForRunEnd(page, 12 * MINUTE), (Date.now() - t0) / 1000, 's');
const long = await page.evaluate(() => window.__long);
long.sort((a, b) => b - a);
console.log('long tasks (>50ms) during the run:', long.length, 'top:', long.slice(0, 8).map((x) => x.toFixed(0)).join(' '));
await app.close();
