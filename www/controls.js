// The settings form: controls ↔ state ↔ URL, and the checks on what is typed
// (first parsed here, then the engine's own validation, shown next to each
// control).

import { $ } from './dom.js';
import { engine, switchBackend } from './engine-control.js';
import { notice, setNotices } from './notices.js';
import { SCHEMA } from './schema.js';
import { FIELDS, MODEL_CHOICES, checkConfig, formatField, parseField, queryFromState, stateFromQuery } from './state.js';
import { TEST_MODE, session, settingsQuery } from './session.js';
import { updateDataInfo, onDataChoice } from './data.js';
import { scheduleDescribe } from './model-view.js';
import { updateButtons } from './progress.js';

/**
 * Config fields with a control on the page, by element id (= field name):
 * every field of the engine's schema but `dataset`, which the dataset choice
 * (`#data`) sets. index.html holds the layout; a field it lacks has no
 * control (tests/e2e/schema.test.mjs checks that none is missing).
 */
export const CONTROL_FIELDS = Object.keys(FIELDS).filter((f) => FIELDS[f].url !== false);
/** Fields that change the network or its description (the diagram is redrawn). */
const MODEL_FIELDS = new Set(Object.keys(FIELDS).filter((f) => FIELDS[f].changesNet || FIELDS[f].group === 'model'));
/** Whether a field's control sits in the collapsed "Advanced" section. */
const isAdvanced = (field) => Boolean($(field)?.closest('#advanced'));

/** Field → message from local parsing (what the user typed is not a valid value). */
export const localErrors = new Map();
/** The engine's validate_config problems with the settings: [{field, message}]. */
let engineErrors = [];

/** The errors shown in the form, for tests: {local, engine}. */
export function formErrors() {
  return { local: Object.fromEntries(localErrors), engine: engineErrors.slice() };
}

// ---------------------------------------------------------------- controls

/**
 * The model list: the schema's models in its groups, then any other id this
 * engine reports (under "Other"), with their labels.
 */
export function populateModels() {
  const select = $('model');
  const value = session.state.config.model;
  select.replaceChildren();
  const offered = new Set(session.modelIds);
  const groups = new Map();
  for (const m of MODEL_CHOICES.filter((c) => offered.has(c.id))) {
    if (!groups.has(m.group)) groups.set(m.group, []);
    groups.get(m.group).push({ id: m.id, label: m.label });
  }
  const known = new Set(MODEL_CHOICES.map((m) => m.id));
  const others = session.modelIds.filter((id) => !known.has(id)).map((id) => ({ id, label: id }));
  if (others.length) groups.set('Other', others);
  for (const [title, models] of groups) {
    const group = document.createElement('optgroup');
    group.label = title;
    for (const m of models) {
      const opt = document.createElement('option');
      opt.value = m.id;
      opt.textContent = m.label;
      group.append(opt);
    }
    select.append(group);
  }
  if (offered.has(value)) select.value = value;
}

/** The other enum fields' <option>s, with the schema's values and labels. */
export function populateChoices() {
  for (const field of CONTROL_FIELDS) {
    const f = FIELDS[field];
    const select = $(field);
    if (field === 'model' || f.type !== 'enum' || select?.tagName !== 'SELECT') continue;
    select.replaceChildren(...f.values.map((v) => {
      const opt = document.createElement('option');
      opt.value = v;
      opt.textContent = f.labels?.[v] ?? v;
      return opt;
    }));
  }
}

/** The two schemas hold the same fields, values and models (key order aside). */
function sameSchema(a, b) {
  const canon = (v) => (Array.isArray(v) ? v.map(canon)
    : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

let readyBefore = false;

/**
 * The engine started, with its default config and model ids: the address is
 * read again against them (its notices replace the first reading's, once),
 * the form offers only the settings this engine knows, and is checked again.
 */
export function adoptEngineSettings({ defaults, models, schema }) {
  // The page's schema (schema.js) is the engine's, written when both were
  // built; a page and an engine from different builds (a half-updated cache)
  // would disagree on what a setting means.
  session.schemaMatches = schema === undefined || sameSchema(schema, SCHEMA);
  if (!session.schemaMatches) {
    notice('This page and its engine come from different versions (their settings differ): reload the page to get one version of both.');
  }
  if (Array.isArray(models) && models.length) session.modelIds = models.map(String);
  populateModels();
  if (defaults && typeof defaults === 'object') {
    const { state } = session;
    const { state: next, messages } = stateFromQuery(settingsQuery(), { defaults, modelIds: session.modelIds });
    next.userKind = state.userKind;
    next.userClasses = state.userClasses;
    if (state.data === 'user') next.data = 'user';
    next.syncDatasetKind();
    session.state = next;
    if (!readyBefore) setNotices([...messages, ...session.linkNotices]);
  }
  readyBefore = true;
  for (const field of CONTROL_FIELDS) {
    const box = $(field)?.closest('.field');
    if (box) box.hidden = !Object.prototype.hasOwnProperty.call(session.state.defaults, field);
  }
  writeControls();
  localErrors.clear();
  renderErrors();
  scheduleValidate();
  scheduleDescribe();
  updateButtons();
}

function writeControl(field) {
  const e = $(field);
  if (!e) return;
  const value = session.state.config[field];
  if (e.type === 'checkbox') e.checked = value === true;
  else if (field === 'augment') e.value = value === null || value === undefined ? 'auto' : String(value);
  else e.value = formatField(field, value);
}

export function writeControls() {
  $('data').value = session.state.data;
  $('backend').value = session.state.backend;
  for (const f of CONTROL_FIELDS) writeControl(f);
  $('loader').hidden = session.state.data !== 'user';
  updateDataInfo();
}

function readControl(field) {
  const e = $(field);
  if (e.type === 'checkbox') return { ok: true, value: e.checked };
  return parseField(field, e.value, { modelIds: session.modelIds, defaultValue: session.state.defaults[field] });
}

function onControlChange(field) {
  const parsed = readControl(field);
  if (!parsed.ok) {
    localErrors.set(field, `${FIELDS[field]?.label ?? field} ${parsed.error}`);
  } else {
    localErrors.delete(field);
    session.state.set(field, parsed.value);
    writeUrl();
    if (MODEL_FIELDS.has(field)) scheduleDescribe();
  }
  renderErrors();
  scheduleValidate();
  updateButtons();
}

/** Writes the settings into the address bar (no reload, no history entry). */
export function writeUrl() {
  let q = queryFromState(session.state);
  // A tab opened in test mode stays in it across reloads (links handed out never carry the flag).
  if (TEST_MODE) q = `${q ? `${q}&` : '?'}test=1`;
  const url = `${location.pathname}${q}${location.hash}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(null, '', url);
}

/** The settings changed as a whole (a reset, a loaded model's config): the form, the URL and the checks follow. */
export function settingsReplaced() {
  writeControls();
  writeUrl();
  renderErrors();
  scheduleValidate();
  scheduleDescribe();
  updateButtons();
}

export function bindControls() {
  for (const field of CONTROL_FIELDS) {
    const e = $(field);
    if (!e) continue;
    const handler = () => onControlChange(field);
    e.addEventListener(e.tagName === 'SELECT' || e.type === 'checkbox' ? 'change' : 'input', handler);
    if (e.tagName !== 'SELECT' && e.type !== 'checkbox') {
      // Normalise the text once the user leaves the field.
      e.addEventListener('change', () => {
        if (!localErrors.has(field)) writeControl(field);
      });
    }
  }
  $('data').addEventListener('change', () => onDataChoice($('data').value));
  $('backend').addEventListener('change', () => {
    const v = $('backend').value;
    session.state.set('backend', v);
    writeUrl();
    switchBackend(v);
  });
  $('reset-settings').addEventListener('click', () => {
    session.state.reset();
    localErrors.clear();
    settingsReplaced();
  });
}

// ---------------------------------------------------------------- validation

let validateTimer = 0;
let validateSeq = 0;

export function scheduleValidate() {
  clearTimeout(validateTimer);
  validateTimer = setTimeout(runValidate, 150);
}

async function runValidate() {
  const seq = ++validateSeq;
  const config = session.state.configForEngine();
  const local = checkConfig(config, { modelIds: session.modelIds });
  if (!session.engineReady) {
    engineErrors = local;
    renderErrors();
    updateButtons();
    return;
  }
  let errors;
  try {
    errors = await requestValidation(config);
  } catch {
    return;
  }
  // An answer to settings changed since is superseded.
  if (seq !== validateSeq) return;
  engineErrors = errors;
  renderErrors();
  updateButtons();
}

/** The engine's problems with `config`; with a loaded dataset's key, also against that dataset's sizes. */
export async function requestValidation(config, datasetKey = session.state.datasetKey) {
  const errors = await engine.request('validate', { config, datasetKey: session.datasets.has(datasetKey) ? datasetKey : undefined });
  return Array.isArray(errors) ? errors : [];
}

/** Shows each message next to its control; the rest in the form's error box. */
export function renderErrors() {
  const byField = new Map();
  for (const [field, message] of localErrors) byField.set(field, [message]);
  const general = [];
  for (const e of engineErrors) {
    const field = typeof e?.field === 'string' ? e.field : '';
    const message = String(e?.message ?? e);
    if (localErrors.has(field)) continue;
    if (field && $(field) && CONTROL_FIELDS.includes(field)) {
      if (!byField.has(field)) byField.set(field, []);
      byField.get(field).push(message);
    } else {
      general.push(field ? `${FIELDS[field]?.label ?? field}: ${message}` : message);
    }
  }
  let openAdvanced = false;
  for (const field of CONTROL_FIELDS) {
    const box = $(`err-${field}`);
    const control = $(field);
    const msgs = byField.get(field);
    if (box) {
      box.textContent = msgs ? msgs.join(' ') : '';
      box.hidden = !msgs;
    }
    if (control) {
      if (msgs) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    }
    if (msgs && isAdvanced(field)) openAdvanced = true;
  }
  if (openAdvanced) $('advanced').open = true;
  const box = $('form-errors');
  box.replaceChildren();
  for (const m of general) {
    const p = document.createElement('p');
    p.textContent = m;
    box.append(p);
  }
  box.hidden = general.length === 0;
}

export function hasErrors() {
  return localErrors.size > 0 || engineErrors.length > 0;
}

export function focusFirstError() {
  for (const field of CONTROL_FIELDS) {
    if (!$(`err-${field}`)?.hidden) {
      if (isAdvanced(field)) $('advanced').open = true;
      $(field)?.focus();
      return;
    }
  }
}
