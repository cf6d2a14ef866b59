// window.__reslab: a read-only view of the page for debugging and the
// end-to-end tests, plus, in test mode only (?test=1), the hooks that break
// the engine on purpose (see tests/e2e/README.md).

import { formErrors } from './controls.js';
import { engine } from './engine-control.js';
import { charts } from './run-charts.js';
import { TEST_MODE, session } from './session.js';

/** Sets window.__reslab (frozen). */
export function exposeTestHooks() {
  window.__reslab = Object.freeze({
    get state() {
      const { state } = session;
      return { data: state.data, backend: state.backend, config: structuredClone(state.config) };
    },
    get backend() {
      return session.backendInfo ? { ...session.backendInfo } : null;
    },
    get schemaMatches() {
      return session.schemaMatches;
    },
    get engineReady() {
      return session.engineReady;
    },
    get running() {
      return !!session.current;
    },
    get datasets() {
      return Object.fromEntries([...session.datasets].map(([k, v]) => [k, structuredClone(v)]));
    },
    /** Run `id`'s logged losses, [[step, loss], …]. */
    curve(id) {
      const log = session.runs.get(id)?.steps;
      return log ? Array.from({ length: log.length }, (_, i) => [log.step[i], log.lossAt(i)]) : null;
    },
    get runs() {
      return [...session.runs.values()].map((r) => ({
        id: r.id,
        label: r.label,
        status: r.status,
        done: r.done,
        step: r.step,
        totalSteps: r.totalSteps,
        lastLoss: r.lastLoss,
        testAccuracy: r.testAccuracy,
        message: r.message,
        epochs: r.epochs.length,
        steps: r.steps.length,
        config: structuredClone(r.config),
        group: r.group ? { ...r.group } : null,
        memoryLog: r.memoryLog ? r.memoryLog.map((m) => m.slice()) : [],
        checkpoint: r.checkpoint ? { ...r.checkpoint } : null,
        firstLoss: r.steps.length ? r.steps.lossAt?.(0) ?? null : null,
        /** What it predicted for the first 500 test images (the results' test_predictions). */
        testPredictions: Array.isArray(r.result?.test_predictions) ? r.result.test_predictions.slice(0, 500) : null,
      }));
    },
    get errors() {
      return formErrors();
    },
    chartCounts: () => charts.counts(),
    get testMode() {
      return TEST_MODE;
    },
    ...(TEST_MODE
      ? {
          /** For tests: makes the engine's GPU device lost, as a driver reset would. */
          debugLoseDevice: () => engine.post('debug-lose-device'),
          /** For tests: an error reported by the engine's GPU device, as a kernel it rejects gives. */
          debugGpuError: () => engine.post('debug-gpu-error'),
          /** For tests: a wasm trap in the engine, as running out of memory gives. */
          debugCrash: () => engine.post('debug-crash'),
        }
      : {}),
  });
}
