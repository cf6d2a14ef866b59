// How long runs take on this machine: seconds per training step, measured by
// the engine before a study (a few steps of each net) or seen in a run as it
// trains, and the plans' and the queue's durations worked out from them
// (durations.js does the arithmetic).

import { planSeconds, formatSpan, speedKey } from './durations.js';
import { engine } from './engine-control.js';
import { formatSig } from './format.js';
import { readOnly, session } from './session.js';
import { datasetKeyFor, ensureDataset } from './data.js';

/** Seconds per training step by speedKey(config, backend): measured before a study, or a run's own once it trains. */
const speeds = new Map();
/** Measurements under way, by speed key, so a plan shown twice does not time its nets twice. */
const measuring = new Map();
/** The most nets one plan has measured before it is shown: the others are said to be not yet timed. */
const MEASURE_NETS = 6;

/** A run's own speed, seen as it trains: the best measure for the runs like it still to come. */
export function noteSpeed(config, backend, secondsPerStep) {
  speeds.set(speedKey(config, backend), secondsPerStep);
}

/** {train, test} image counts of the dataset a config trains on, once it is loaded. */
function countsFor(config) {
  const info = session.datasets.get(datasetKeyFor(config));
  return info && Number.isFinite(info.train) && Number.isFinite(info.test) ? { train: info.train, test: info.test } : null;
}

/**
 * How long `configs` take on this machine, {text, seconds}: the nets not yet
 * timed on this backend are measured first (a few steps each), the datasets
 * they train on are loaded to count their images.
 */
export async function describeDuration(configs, progress) {
  const backendInfo = session.backendInfo;
  const backend = backendInfo?.backend;
  if (!session.engineReady || !backend) return '';
  for (const key of new Set(configs.map((c) => datasetKeyFor(c)))) {
    if (key !== 'user' && !session.datasets.has(key)) await ensureDataset(key).catch(() => {});
  }
  // One measurement per net (at the first batch size it is planned with), at most MEASURE_NETS of
  // them: a big grid must not hold the engine for minutes. A read-only tab measures nothing: its
  // cores are training in the other tab.
  const todo = new Map();
  const nets = new Set();
  for (const c of configs) {
    const k = speedKey(c, backend);
    const net = netOf(k);
    if (readOnly() || speedOf(c, backend) !== undefined || measuring.has(k) || nets.has(net) || nets.size >= MEASURE_NETS) continue;
    nets.add(net);
    todo.set(k, c);
  }
  if (todo.size) {
    const names = [...new Set([...todo.values()].map((c) => c.model))].join(', ');
    const current = session.current;
    progress(`Measuring this machine's speed on ${names}${current && !current.done ? ' (once the current run ends)' : ''}…`);
    const keys = [...todo.keys()];
    const job = engine.request('measure', { configs: [...todo.values()] }).then((results) => {
      (Array.isArray(results) ? results : []).forEach((r, i) => {
        if (Number.isFinite(r?.seconds_per_step) && r.seconds_per_step > 0) speeds.set(keys[i], r.seconds_per_step);
      });
    });
    for (const k of keys) measuring.set(k, job);
    try {
      await job;
    } finally {
      for (const k of keys) measuring.delete(k);
    }
  }
  await Promise.all(configs.map((c) => measuring.get(speedKey(c, backend))).filter(Boolean));
  const { seconds, atMost, unknown } = planSeconds(configs, (c) => speedOf(c, backend), countsFor);
  const where = backend === 'cpu'
    ? `on the CPU backend${backendInfo?.threads ? ` with ${backendInfo.threads} thread${backendInfo.threads === 1 ? '' : 's'}` : ''}`
    : 'on WebGPU';
  const perNet = new Map();
  const manyDatasets = new Set(configs.map((c) => c.dataset)).size > 1;
  for (const [k, s] of speeds) {
    const [, dataset, model] = k.split('|');
    if (configs.some((c) => speedKey(c, backend) === k)) perNet.set(`${model}${manyDatasets ? ` on ${dataset}` : ''} at batch ${k.split('|').pop()}`, s);
  }
  const measured = [...perNet].map(([what, s]) => `${what} ${formatSig(s)} s a step`).join(', ');
  if (unknown === configs.length) {
    return readOnly()
      ? ''
      : 'How long these runs take here is not known yet: load their dataset first.';
  }
  const text = `${atMost ? 'At most' : 'About'} ${formatSpan(seconds)} here, ${where}` +
    (measured ? ` (measured on this machine: ${measured})` : '') +
    (unknown ? `, plus ${unknown} run${unknown === 1 ? '' : 's'} whose dataset is not loaded yet` : '') + '.';
  return { text, seconds };
}

/** A speed key without its batch size: the net on its input, on a backend. */
function netOf(key) {
  return key.slice(0, key.lastIndexOf('|'));
}

/**
 * Seconds per step of `config` here: measured (or seen) at its batch size, else
 * scaled from the same net at another batch size (a step's work grows about
 * linearly with the batch); undefined when the net has not been timed.
 */
function speedOf(config, backend) {
  const key = speedKey(config, backend);
  if (speeds.has(key)) return speeds.get(key);
  const net = netOf(key);
  for (const [k, s] of speeds) {
    if (netOf(k) === net) return (s * config.batch_size) / Number(k.slice(k.lastIndexOf('|') + 1));
  }
  return undefined;
}

/** " · whole queue 12 min" after the current run's ETA: the queued runs at their measured speeds. */
export function queueEtaSuffix(remaining) {
  const backend = session.backendInfo?.backend;
  if (!session.queue.length || !backend) return '';
  const { seconds, unknown } = planSeconds(session.queue.map((q) => q.config), (c) => speedOf(c, backend), countsFor);
  const tail = unknown ? ` + ${unknown} run${unknown === 1 ? '' : 's'} not yet timed` : '';
  return ` · whole queue ${formatSpan(remaining + seconds)}${tail}`;
}
