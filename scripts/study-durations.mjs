// What the page says each study takes on this machine, before it runs: opens
// the page once per study (CPU backend, the threaded engine when the page is
// cross-origin isolated, as scripts/serve makes it) and prints the page's own
// measured duration and step times. For BENCHMARKS.md and docs/STUDIES.md.
//
//   node scripts/study-durations.mjs [study ...]
//
// Stop other heavy processes first: the page times a few steps of each net,
// and anything else running on the machine slows them.

import { MINUTE, openApp, waitForBackend } from '../tests/e2e/helpers.mjs';

const ids = process.argv.slice(2);
const all = ['degradation', 'depth', 'optimizers', 'learning-rate', 'batchnorm', 'resnet34-vs-50'];

for (const id of ids.length ? ids : all) {
  const app = await openApp({ query: `?preset=${encodeURIComponent(id)}&backend=cpu` });
  try {
    await waitForBackend(app.page);
    const until = Date.now() + 20 * MINUTE;
    let text = '';
    for (;;) {
      text = ((await app.page.getByTestId('study-duration').textContent()) ?? '').trim();
      if (/^(About|At most) .* here/.test(text)) break;
      if (Date.now() > until) throw new Error(`${id}: no measured duration; last text "${text}"`);
      await app.page.waitForTimeout(1000);
    }
    const seconds = Number(await app.page.getByTestId('study-duration').getAttribute('data-seconds'));
    console.log(JSON.stringify({ study: id, seconds, minutes: Math.round(seconds / 6) / 10, text }));
  } finally {
    await app.close();
  }
}
