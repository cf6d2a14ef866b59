// ResLab page state: the experiment config, the dataset choice and the backend,
// with a typed schema used to parse, check and serialise every field.
//
// URL state is parsed field by field against this schema, never evaluated.
// The config's fields, types, ranges and choices come from the engine's Rust
// types (schema.js, generated from src/schema.rs); only the page's own keys
// (dataset choice, backend, a shared study) are declared here.
// This module has no DOM dependency, so it also runs under node for tests.

import { SCHEMA } from './schema.js';

/** Model ids the page offers (the engine takes any 6n+2 depth besides). */
export const FALLBACK_MODEL_IDS = SCHEMA.models.map((m) => m.id);

/** Dataset choices offered by the page (slot keys in the engine). */
export const DATA_CHOICES = ['sample-mnist', 'sample-cifar10', 'user'];
/** Which config.dataset a built-in sample implies. */
export const SAMPLE_KIND = { 'sample-mnist': 'mnist', 'sample-cifar10': 'cifar10' };
export const BACKENDS = ['auto', 'webgpu', 'cpu'];

/** The config's defaults (`ExperimentConfig::default()`, via the schema). */
export const FALLBACK_CONFIG = Object.freeze(Object.fromEntries(SCHEMA.fields.map((f) => [f.name, f.default])));

/**
 * Field schema, from the engine's (src/schema.rs, generated into schema.js).
 * type: enum | number | int | bool | intlist. nullable: empty / "null" /
 * "auto" / "none" means null. min/max (and their exclusive flags) are the
 * ranges `ExperimentConfig::validate` enforces, so the page can mark a bad
 * value as it is typed; the engine's validate_config stays the authority.
 * `dataset` has no URL key of its own: the page's dataset choice (`data`)
 * sets it.
 */
export const FIELDS = Object.freeze(Object.fromEntries(SCHEMA.fields.map((f) => [f.name, Object.freeze({
  type: f.type,
  label: f.label,
  help: f.help,
  group: f.group,
  changesNet: f.changes_net,
  nullable: f.nullable || undefined,
  values: f.values?.map((c) => c.value),
  labels: f.values ? Object.fromEntries(f.values.map((c) => [c.value, c.label])) : undefined,
  min: f.min ?? undefined,
  minExclusive: f.min_exclusive || undefined,
  max: f.max ?? undefined,
  maxExclusive: f.max_exclusive || undefined,
  url: f.name === 'dataset' ? false : undefined,
})])));

/** The model list's groups and labels, in the engine's order. */
export const MODEL_CHOICES = SCHEMA.models;

/** Page-level (non-config) URL keys. */
export const PAGE_FIELDS = {
  data: { type: 'enum', values: ['sample-mnist', 'sample-cifar10'], label: 'Dataset' },
  backend: { type: 'enum', values: BACKENDS, label: 'Backend' },
};

/** URL keys of a shared study (a preset or a grid), read by labFromQuery. */
export const LAB_KEYS = ['preset', 'budget', 'scale', 'grid'];
export const BUDGETS = ['smoke', 'classroom', 'paper'];
const PRESET_ID_RE = /^[a-z0-9][a-z0-9-]{0,40}$/;

const NUMBER_RE = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const NULL_WORDS = new Set(['', 'null', 'none', 'auto']);

const own = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);

function schemaFor(key, value) {
  if (own(FIELDS, key)) return FIELDS[key];
  if (own(PAGE_FIELDS, key)) return PAGE_FIELDS[key];
  // A field the engine knows but this page does not: infer from its default.
  if (typeof value === 'boolean') return { type: 'bool', label: key };
  if (typeof value === 'number') return { type: 'number', label: key };
  if (Array.isArray(value)) return { type: 'intlist', label: key };
  if (value === null) return { type: 'number', nullable: true, label: key };
  if (typeof value === 'string') return { type: 'string', label: key };
  return null;
}

function checkRange(schema, n) {
  if (schema.min !== undefined) {
    if (schema.minExclusive ? !(n > schema.min) : !(n >= schema.min)) {
      return schema.minExclusive ? `must be greater than ${schema.min}` : `must be at least ${schema.min}`;
    }
  }
  if (schema.max !== undefined) {
    if (schema.maxExclusive ? !(n < schema.max) : !(n <= schema.max)) {
      return schema.maxExclusive ? `must be less than ${schema.max}` : `must be at most ${schema.max}`;
    }
  }
  return null;
}

/**
 * Why a whole number is refused when a schema's own range lets it through:
 * past Number.MAX_SAFE_INTEGER the page (and the URL round trip) would carry
 * a neighbouring number instead of the one typed.
 */
function unsafeInteger(n) {
  return n > 0
    ? `is too large (at most ${Number.MAX_SAFE_INTEGER})`
    : `is too small (at least ${Number.MIN_SAFE_INTEGER})`;
}

/**
 * Parses the text of one field (from a control or the URL).
 * Returns {ok:true, value} or {ok:false, error}.
 * `defaultValue` is only used to infer the type of fields outside the schema.
 */
export function parseField(key, text, { modelIds, defaultValue } = {}) {
  const schema = schemaFor(key, defaultValue);
  if (!schema) return { ok: false, error: `unknown setting "${key}"` };
  const raw = String(text ?? '').trim();
  const lower = raw.toLowerCase();
  if (schema.nullable && NULL_WORDS.has(lower)) return { ok: true, value: null };
  switch (schema.type) {
    case 'enum': {
      const values = key === 'model' && modelIds?.length ? modelIds : schema.values;
      if (values.includes(lower)) return { ok: true, value: lower };
      return { ok: false, error: `must be one of ${values.join(', ')}` };
    }
    case 'string':
      return { ok: true, value: raw };
    case 'number':
    case 'int': {
      if (!NUMBER_RE.test(raw)) return { ok: false, error: raw === '' ? 'is required' : 'must be a number' };
      const n = Number(raw);
      if (!Number.isFinite(n)) return { ok: false, error: 'must be a finite number' };
      if (schema.type === 'int' && !Number.isInteger(n)) return { ok: false, error: 'must be a whole number' };
      if (schema.type === 'int' && !Number.isSafeInteger(n)) return { ok: false, error: checkRange(schema, n) ?? unsafeInteger(n) };
      const bad = checkRange(schema, n);
      if (bad) return { ok: false, error: bad };
      return { ok: true, value: n };
    }
    case 'bool': {
      if (['true', '1', 'on', 'yes'].includes(lower)) return { ok: true, value: true };
      if (['false', '0', 'off', 'no'].includes(lower)) return { ok: true, value: false };
      return { ok: false, error: schema.nullable ? 'must be auto, on or off' : 'must be on or off' };
    }
    case 'intlist': {
      if (raw === '') return { ok: true, value: [] };
      const parts = raw.split(/[\s,;]+/).filter(Boolean);
      const out = [];
      for (const p of parts) {
        if (!/^\d+$/.test(p)) return { ok: false, error: 'must be whole numbers separated by commas' };
        const n = Number(p);
        const bad = checkRange(schema, n) ?? (Number.isSafeInteger(n) ? null : unsafeInteger(n));
        if (bad) return { ok: false, error: `each entry ${bad}` };
        out.push(n);
      }
      for (let i = 1; i < out.length; i++) {
        if (out[i] <= out[i - 1]) return { ok: false, error: 'must be increasing' };
      }
      return { ok: true, value: out };
    }
    default:
      return { ok: false, error: 'unsupported setting' };
  }
}

/** Formats a value for a text control or the URL. */
export function formatField(key, value) {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return formatNumber(value);
  return String(value);
}

/** Short, exact number formatting: 0.001, 1e-5, 128. */
export function formatNumber(n) {
  if (!Number.isFinite(n)) return String(n);
  if (n !== 0 && (Math.abs(n) < 1e-3 || Math.abs(n) >= 1e7)) {
    // exponent form, without trailing zeros: 1e-5, 2.5e-4
    return n.toExponential().replace(/\.?0+e/, 'e').replace('e+', 'e');
  }
  return String(n);
}

function sameValue(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i]);
  }
  return a === b;
}

/** The page's state: the one object the controls, the URL and the worker agree on. */
export class AppState {
  constructor(defaults = FALLBACK_CONFIG) {
    /** Built-in sample or user files: 'sample-mnist' | 'sample-cifar10' | 'user'. */
    this.data = 'sample-mnist';
    /** Requested backend: 'auto' | 'webgpu' | 'cpu'. */
    this.backend = 'auto';
    /** Defaults the config falls back to (the engine's, once known). */
    this.defaults = structuredClone({ ...defaults });
    /** The experiment config, flat, as the engine expects it. */
    this.config = structuredClone({ ...defaults });
    /** Fields the user (or the URL) set explicitly; they survive new defaults. */
    this.touched = new Set();
    /** Kind of the user-loaded dataset, if any (mnist | fashion-mnist | cifar10). */
    this.userKind = null;
    /** Classes of the user's pictures, once imported. */
    this.userClasses = null;
  }

  /** Replaces the defaults (e.g. with the engine's) keeping explicitly set fields. */
  setDefaults(defaults) {
    const next = structuredClone({ ...defaults });
    for (const key of this.touched) {
      if (key in this.config) next[key] = this.config[key];
    }
    this.defaults = structuredClone({ ...defaults });
    this.config = next;
    this.syncDatasetKind();
  }

  set(key, value) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') return;
    if (key === 'data' || key === 'backend') {
      this[key] = value;
      if (key === 'data') this.syncDatasetKind();
      return;
    }
    this.config[key] = value;
    this.touched.add(key);
  }

  reset() {
    this.config = structuredClone(this.defaults);
    this.touched.clear();
    this.syncDatasetKind();
  }

  /** config.dataset follows the dataset choice. */
  syncDatasetKind() {
    if (SAMPLE_KIND[this.data]) this.config.dataset = SAMPLE_KIND[this.data];
    else if (this.data === 'user' && this.userKind) {
      this.config.dataset = this.userKind;
      // Pictures: the class count comes from their folders.
      if (this.userKind === 'images' && this.userClasses) this.config.classes = this.userClasses;
    }
  }

  /** The slot name the engine stores the chosen dataset under. */
  get datasetKey() {
    return this.data;
  }

  /** A deep copy of the config to send to the engine (only the fields it knows). */
  configForEngine() {
    this.syncDatasetKind();
    const out = {};
    for (const key of Object.keys(this.defaults)) out[key] = structuredClone(this.config[key]);
    return out;
  }
}

/**
 * Reads the URL query into a state. Never evaluates anything: each key is
 * looked up in the schema and parsed as text. Invalid or unknown entries
 * produce a message and leave the default in place.
 * Returns {state, messages}.
 */
export function stateFromQuery(search, { defaults = FALLBACK_CONFIG, modelIds } = {}) {
  const state = new AppState(defaults);
  const messages = [];
  const params = new URLSearchParams(search);
  const seen = new Set();
  for (const [key, text] of params) {
    if (seen.has(key)) {
      messages.push(`URL parameter "${key}" is given more than once; the first value is used.`);
      continue;
    }
    seen.add(key);
    if (key === 'dataset') {
      // Convenience: ?dataset=cifar10 picks the built-in CIFAR-10 sample.
      const kind = String(text).trim().toLowerCase();
      const choice = Object.keys(SAMPLE_KIND).find((k) => SAMPLE_KIND[k] === kind);
      if (choice && !params.has('data')) state.set('data', choice);
      else if (!choice) {
        messages.push(`URL value dataset=${truncate(text)} has no built-in sample (use mnist or cifar10, or load your files); using the MNIST sample.`);
      }
      continue;
    }
    if (LAB_KEYS.includes(key)) continue; // read by labFromQuery
    const known = own(PAGE_FIELDS, key) || (own(FIELDS, key) && FIELDS[key].url !== false) ||
      (!own(FIELDS, key) && own(defaults, key));
    if (!known) {
      messages.push(`Unknown URL parameter "${truncate(key)}" was ignored.`);
      continue;
    }
    const parsed = parseField(key, text, { modelIds, defaultValue: defaults[key] });
    if (!parsed.ok) {
      const label = schemaFor(key, defaults[key])?.label ?? key;
      const fallback = own(PAGE_FIELDS, key) ? state[key] : formatField(key, defaults[key]) || 'none';
      messages.push(`URL value ${key}=${truncate(text)} is invalid (${label} ${parsed.error}); using the default ${fallback}.`);
      continue;
    }
    state.set(key, parsed.value);
  }
  state.syncDatasetKind();
  return { state, messages };
}

/** Serialises the state to a query string: values set explicitly or differing from the defaults. */
export function queryFromState(state) {
  const params = new URLSearchParams();
  if (state.backend !== 'auto') params.set('backend', state.backend);
  if (state.data !== 'sample-mnist' && PAGE_FIELDS.data.values.includes(state.data)) params.set('data', state.data);
  for (const [key, value] of Object.entries(state.config)) {
    if (own(FIELDS, key) && FIELDS[key].url === false) continue;
    // Explicitly chosen values are kept even when they equal today's default,
    // so a link keeps meaning the same thing if the defaults change.
    if (!state.touched.has(key) && sameValue(value, state.defaults[key])) continue;
    params.set(key, Array.isArray(value) ? value.join(',') : formatField(key, value) || 'null');
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** Local checks of a whole config (types and obvious ranges). */
export function checkConfig(config, { modelIds } = {}) {
  const errors = [];
  for (const [key, schema] of Object.entries(FIELDS)) {
    if (!(key in config)) continue;
    const value = config[key];
    if (value === null) {
      if (!schema.nullable) errors.push({ field: key, message: `${schema.label} is required` });
      continue;
    }
    const parsed = parseField(key, formatField(key, value), { modelIds });
    if (!parsed.ok) errors.push({ field: key, message: `${schema.label} ${parsed.error}` });
  }
  return errors;
}

function truncate(s, n = 40) {
  const t = String(s);
  return t.length > n ? `${t.slice(0, n)}…` : t;
}

/** Human label of a run: "cnn · adam · lr 0.001". */
export function runLabel(config) {
  return `${config.model} · ${config.optimizer} · lr ${formatNumber(config.lr)}`;
}

// ---------------------------------------------------------------- shared studies

/** UTF-8 JSON → base64url (no padding): compact and safe in a query string. */
export function encodeJsonParam(value) {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The inverse of encodeJsonParam; throws an Error with a readable message. */
export function decodeJsonParam(text) {
  const t = String(text ?? '').trim();
  if (!/^[A-Za-z0-9_-]*$/.test(t) || t.length === 0) throw new Error('is not base64url-encoded JSON');
  if (t.length > 100_000) throw new Error('is too long');
  let bin;
  try {
    bin = atob(t.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (t.length % 4)) % 4));
  } catch {
    throw new Error('is not base64url-encoded JSON');
  }
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  let json;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error('is not UTF-8 text');
  }
  try {
    return JSON.parse(json);
  } catch (err) {
    throw new Error(`is not valid JSON (${err.message})`);
  }
}

/**
 * The study a link asks for: {preset, budget, scale} or {grid}, or null.
 * A preset travels in the query (`?preset=depth&budget=smoke`); a grid in the
 * fragment (`#grid=…`), which never reaches the server, so a long queue's
 * link is not cut off by a server's header limit (older links with `?grid=`
 * still open). `search` may hold a fragment too ("?a=1#grid=…").
 * Only the shape is checked here; the engine expands and validates it.
 * Returns {lab, messages, asked}: `asked` says the link named a study at all.
 */
export function labFromQuery(search, hash = '') {
  let query = String(search ?? '');
  let fragment = String(hash ?? '');
  const cut = query.indexOf('#');
  if (cut >= 0) {
    if (!fragment) fragment = query.slice(cut);
    query = query.slice(0, cut);
  }
  const params = new URLSearchParams(query);
  const frag = new URLSearchParams(fragment.replace(/^#/, ''));
  const messages = [];
  let lab = null;
  const gridText = frag.has('grid') ? frag.get('grid') : params.has('grid') ? params.get('grid') : null;
  const asked = gridText !== null || LAB_KEYS.some((k) => params.has(k));
  if (gridText !== null) {
    try {
      const grid = decodeJsonParam(gridText);
      if (!grid || typeof grid !== 'object' || Array.isArray(grid)) throw new Error('must be a JSON object');
      lab = { grid };
    } catch (err) {
      messages.push(`This link's grid (grid=${truncate(gridText, 24)}) ${err.message}; no study was loaded.`);
    }
  } else if (params.has('preset')) {
    const id = String(params.get('preset')).trim().toLowerCase();
    if (!PRESET_ID_RE.test(id)) {
      messages.push(`URL value preset=${truncate(id)} is not a preset name; no study was loaded.`);
    } else {
      lab = { preset: id, budget: 'classroom', scale: 1 };
      if (params.has('budget')) {
        const b = String(params.get('budget')).trim().toLowerCase();
        if (BUDGETS.includes(b)) lab.budget = b;
        else messages.push(`URL value budget=${truncate(b)} must be one of ${BUDGETS.join(', ')}; using classroom.`);
      }
      if (params.has('scale')) {
        const parsed = Number(params.get('scale'));
        if (NUMBER_RE.test(String(params.get('scale')).trim()) && parsed >= 0.1 && parsed <= 100) lab.scale = parsed;
        else messages.push(`URL value scale=${truncate(params.get('scale'))} must be a number from 0.1 to 100; using 1.`);
      }
    }
  } else if (asked) {
    messages.push(`URL values ${LAB_KEYS.filter((k) => params.has(k)).join(', ')} need a preset=… to go with; no study was loaded.`);
  }
  return { lab, messages, asked };
}

/** The part of a link that names a study: "?preset=…" for a preset, "#grid=…" for a grid. */
export function queryForLab(lab) {
  if (lab?.grid) return `#grid=${encodeJsonParam(lab.grid)}`;
  const params = new URLSearchParams();
  if (lab?.preset) {
    params.set('preset', lab.preset);
    if (lab.budget && lab.budget !== 'classroom') params.set('budget', lab.budget);
    if (lab.scale && lab.scale !== 1) params.set('scale', formatNumber(lab.scale));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/**
 * `href` with its study replaced by `lab` (or removed, for null): the other
 * query values (the settings) are kept. Used to clean a link that named a
 * study the page could not open, and to build a study's link.
 */
export function urlWithStudy(href, lab) {
  const url = new URL(href);
  for (const k of LAB_KEYS) url.searchParams.delete(k);
  const frag = new URLSearchParams(url.hash.replace(/^#/, ''));
  if (frag.has('grid')) url.hash = '';
  if (lab?.grid) url.hash = queryForLab(lab);
  else if (lab?.preset) {
    for (const [k, v] of new URLSearchParams(queryForLab(lab).slice(1))) url.searchParams.set(k, v);
  }
  return url.href;
}

/** The config fields (besides seed-like bookkeeping) whose values differ between configs. */
export function differingFields(configs) {
  if (configs.length < 2) return [];
  const keys = new Set();
  for (const c of configs) for (const k of Object.keys(c ?? {})) keys.add(k);
  const out = [];
  for (const k of keys) {
    const first = JSON.stringify(configs[0]?.[k] ?? null);
    if (configs.some((c) => JSON.stringify(c?.[k] ?? null) !== first)) out.push(k);
  }
  const order = Object.keys(FIELDS);
  return out.sort((a, b) => (order.indexOf(a) + 1 || 999) - (order.indexOf(b) + 1 || 999));
}

/** A list of configs as a grid ({runs: [...]}) holding only what differs from `defaults`. */
export function gridFromConfigs(configs, defaults, name) {
  const runs = configs.map((c) => {
    const diff = {};
    for (const [k, v] of Object.entries(c)) {
      if (JSON.stringify(v) !== JSON.stringify(defaults?.[k])) diff[k] = structuredClone(v);
    }
    return diff;
  });
  return name ? { name, runs } : { runs };
}
