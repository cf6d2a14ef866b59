// How the page writes numbers, sizes, durations and names, and how it reads
// loose numbers from the engine. Pure functions: no DOM, no state.

import { SCHEMA } from './schema.js';

/** Dataset kinds' names, from the engine's schema (mnist → MNIST, cifar100-coarse → CIFAR-100 (20 superclasses), …). */
export const DATASET_NAMES = Object.fromEntries(SCHEMA.fields.find((f) => f.name === 'dataset').values.map((c) => [c.value, c.label]));

/** The dataset choices, as the page shows them. */
export const SAMPLE_LABELS = { 'sample-mnist': 'Built-in MNIST sample', 'sample-cifar10': 'Built-in CIFAR-10 sample', user: 'Your files' };

/** How a run that has ended reads in the status line and the results. */
export const STATUS_TEXT = {
  finished: 'Finished',
  stopped: 'Stopped',
  diverged: 'Diverged',
  failed: 'Failed',
  interrupted: 'Interrupted',
  evaluated: 'Evaluated',
};

/** A finite number, or null (for values from the engine, a file or storage). */
export function num(v) {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** An error's message, or the thrown value as text. */
export function messageOf(err) {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Loss points as [step, loss] pairs, from [[step, loss]] or [{step, loss}]. */
export function normalizePoints(points) {
  if (!Array.isArray(points)) return [];
  const out = [];
  for (const p of points) {
    if (Array.isArray(p)) out.push([p[0], p[1]]);
    else if (p && typeof p === 'object') out.push([p.step, p.loss]);
  }
  return out;
}

export function formatCount(n) {
  if (!Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

/** Three significant digits (whole numbers from 1000 up, exponents below 0.001). */
export function formatSig(n) {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString('en-US');
  if (a !== 0 && a < 1e-3) return n.toExponential(2);
  return Number(n.toPrecision(3)).toString();
}

export function formatPercent(x) {
  if (!Number.isFinite(x)) return '—';
  return `${(x * 100).toFixed(1)}%`;
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatDuration(s) {
  if (!Number.isFinite(s) || s < 0) return '—';
  if (s < 1) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** A label as part of a file name: lower case, dashes, at most 60 characters. */
export function slug(text) {
  return String(text ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'run';
}

/** JSON with sorted keys, so two configs compare equal whatever order their keys were set in. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
