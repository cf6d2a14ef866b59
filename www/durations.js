// How long runs will take on this machine, from measured speed.
//
// A guess such as "10-20 minutes on a laptop GPU" is wrong for most
// classrooms. Instead the page times a few training steps of each net a study
// uses, on the backend that will train it, and multiplies by the steps the
// plan asks for. A run's own speed, once it trains, replaces the measurement.
//
// No DOM here: this module also runs under node for tests.

/**
 * What a step's speed depends on: the backend, the net and its input, the batch.
 * (The optimizer's update is a small share of a step: it is left out.)
 */
export function speedKey(config, backend) {
  return [backend ?? '?', config.dataset, config.model, config.shortcut, config.stem, config.batch_size].join('|');
}

/** Training images a run sees: the dataset's, cut to train_limit, less the validation split. */
function trainImages(config, counts) {
  const n = Math.min(counts.train, config.train_limit ?? Infinity);
  return Math.max(0, n - (config.val_size ?? 0));
}

/** The training steps a run will take at most (early stopping may end it sooner). */
export function plannedSteps(config, counts) {
  if (config.max_steps) return config.max_steps;
  const perEpoch = Math.ceil(trainImages(config, counts) / config.batch_size);
  return perEpoch * (config.epochs ?? 1);
}

/**
 * Seconds a run takes at `secondsPerStep`: its training steps, plus the
 * forward passes of validation (each epoch) and of the test set (once),
 * counted at a third of a training step per batch (forward only, no
 * backward pass or update).
 */
export function runSeconds(config, counts, secondsPerStep) {
  const steps = plannedSteps(config, counts);
  const perEpoch = Math.max(1, Math.ceil(trainImages(config, counts) / config.batch_size));
  const epochs = Math.ceil(steps / perEpoch);
  const test = Math.min(counts.test, config.test_limit ?? Infinity);
  const evalBatches = Math.ceil(test / config.batch_size) + epochs * Math.ceil((config.val_size ?? 0) / config.batch_size);
  return secondsPerStep * (steps + evalBatches / 3);
}

/**
 * The whole plan's time: {seconds, atMost, unknown}. `speedOf(config)` gives
 * seconds per step or null; `countsOf(config)` gives {train, test} or null.
 * `unknown` counts the runs without one or the other; `atMost` says early
 * stopping may end some runs sooner.
 */
export function planSeconds(configs, speedOf, countsOf) {
  let seconds = 0;
  let unknown = 0;
  let atMost = false;
  for (const c of configs) {
    const s = speedOf(c);
    const counts = countsOf(c);
    if (!Number.isFinite(s) || !counts) {
      unknown++;
      continue;
    }
    seconds += runSeconds(c, counts, s);
    if (c.patience) atMost = true;
  }
  return { seconds, atMost, unknown };
}

/** "40 s", "12 min", "2 h 5 min": rounded as a person would say it. */
export function formatSpan(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const min = Math.round(seconds / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  return `${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
}
