// The results of this session's runs: the sortable table (one row per run,
// the settings that differ, the accuracies, the paper's number beside them),
// picking a run for the analysis, deleting runs, and the table's files
// (CSV and JSON export, JSON import).

import { $, downloadBlob, downloadJson } from './dom.js';
import { DATASET_NAMES, STATUS_TEXT, formatBytes, formatDuration, formatPercent, formatSig, messageOf, slug } from './format.js';
import { configColumns, exportRecord, exportRuns, formatConfigValue, parseImport, referencesFor, runFromRecord, sortRuns, toCsv } from './results.js';
import { charts, colorFor } from './run-charts.js';
import { FIELDS } from './state.js';
import { session } from './session.js';
import * as store from './store.js';
import { renderFig7, renderRunDetails } from './analysis.js';
import { renderStudyTables } from './claims.js';
import { resumeRun } from './checkpoints.js';
import { requestValidation } from './controls.js';
import { addRestoredRun, persistRun } from './kept-runs.js';
import { saveModel } from './saved-models.js';
import { presetById } from './studies.js';
import { announceRunsDeleted, refuseReadOnly } from './tab-role.js';

let sortCol = 'id';
let sortDir = 'desc';
let resultsFrame = 0;

/** Redraws the results table (and the studies' summaries) on the next frame: cheap to call often. */
export function renderResults() {
  if (resultsFrame) return;
  resultsFrame = requestAnimationFrame(() => {
    resultsFrame = 0;
    drawResults();
    renderStudyTables();
  });
}

const RESULT_COLUMNS = [
  { id: 'status', label: 'Status' },
  { id: 'best_val', label: 'Best val.', num: true },
  { id: 'final_val', label: 'Final val.', num: true },
  { id: 'test', label: 'Test acc.', num: true },
  { id: 'reference', label: 'Paper', num: true, sortable: false },
  { id: 'time', label: 'Time', num: true },
  { id: 'speed', label: 'img/s', num: true },
  { id: 'backend', label: 'Backend' },
];

function drawResults() {
  const list = [...session.runs.values()];
  $('results-empty').hidden = list.length > 0;
  $('results-tools').hidden = list.length === 0;
  const fields = configColumns(list);
  const hasRefs = list.some((r) => referencesFor(presetById(r.group?.id), r.config).length);
  const cols = [
    { id: 'id', label: 'Run' },
    { id: 'label', label: 'Label' },
    ...fields.map((f) => ({ id: `cfg:${f}`, label: FIELDS[f]?.label ?? f, num: typeof list[0]?.config?.[f] === 'number' })),
    ...RESULT_COLUMNS.filter((c) => c.id !== 'reference' || hasRefs),
    { id: 'actions', label: '', sortable: false },
  ];
  const head = $('results-head');
  head.replaceChildren();
  const hr = head.insertRow();
  for (const c of cols) {
    const th = document.createElement('th');
    th.scope = 'col';
    if (c.num) th.className = 'num';
    if (c.sortable === false || c.id === 'actions') {
      th.textContent = c.label;
      if (c.id === 'actions') {
        const span = document.createElement('span');
        span.className = 'visually-hidden';
        span.textContent = 'Actions';
        th.append(span);
      }
    } else {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'sort';
      b.textContent = c.label + (sortCol === c.id ? (sortDir === 'asc' ? ' ▲' : ' ▼') : '');
      th.setAttribute('aria-sort', sortCol === c.id ? (sortDir === 'asc' ? 'ascending' : 'descending') : 'none');
      b.addEventListener('click', () => {
        if (sortCol === c.id) sortDir = sortDir === 'asc' ? 'desc' : 'asc';
        else {
          sortCol = c.id;
          sortDir = c.num || c.id === 'id' ? 'desc' : 'asc';
        }
        drawResults();
      });
      th.append(b);
    }
    hr.append(th);
  }
  const body = $('results-body');
  body.replaceChildren();
  for (const run of sortRuns(list, sortCol, sortDir)) {
    const tr = body.insertRow();
    tr.dataset.runId = String(run.id);
    tr.dataset.status = run.status;
    tr.setAttribute('data-testid', 'result-row');
    tr.tabIndex = 0;
    tr.classList.toggle('selected', run.id === session.selectedRunId);
    tr.addEventListener('click', (ev) => {
      if (ev.target.closest('button, a, input')) return;
      selectRun(run.id);
    });
    tr.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && ev.target === tr) selectRun(run.id);
    });
    for (const c of cols) {
      const td = tr.insertCell();
      if (c.num) td.className = 'num';
      fillResultCell(td, c.id, run);
    }
  }
}

function fillResultCell(td, col, run) {
  const pct = (v) => (v !== null && v !== undefined && Number.isFinite(v) ? formatPercent(v) : '—');
  switch (col) {
    case 'id': {
      td.className = 'run-id';
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = run.color;
      td.append(swatch, document.createTextNode(`#${run.id}`));
      break;
    }
    case 'label':
      td.textContent = run.label;
      if (run.group?.name) td.title = `${run.group.name}`;
      break;
    case 'status': {
      const text = run.done ? STATUS_TEXT[run.status] ?? run.status : run.paused ? 'Paused' : run.status === 'preparing' ? 'Preparing' : 'Running';
      td.textContent = text;
      td.className = `status status-${run.status}`;
      td.setAttribute('data-testid', 'result-status');
      if (run.message) td.title = run.message;
      break;
    }
    case 'best_val': td.textContent = pct(run.bestVal); break;
    case 'final_val': td.textContent = pct(run.finalVal); break;
    case 'test':
      td.textContent = pct(run.testAccuracy);
      td.setAttribute('data-testid', 'result-test');
      break;
    case 'reference': {
      const refs = referencesFor(presetById(run.group?.id), run.config);
      const withNumber = refs.find((r) => Number.isFinite(r.test_error));
      if (withNumber) {
        td.textContent = formatPercent(1 - withNumber.test_error / 100);
        td.title = `${withNumber.label}: ${withNumber.test_error}% test error${withNumber.note ? ` (${withNumber.note})` : ''}`;
      } else {
        td.textContent = refs.length ? 'see note' : '';
        if (refs.length) td.title = refs.map((r) => `${r.label}: ${r.note ?? ''}`).join('\n');
      }
      break;
    }
    case 'time': td.textContent = run.elapsed ? formatDuration(run.elapsed) : '—'; break;
    case 'speed': td.textContent = run.imgPerS ? formatSig(run.imgPerS) : '—'; break;
    case 'backend': td.textContent = run.backend ? String(run.backend) : '—'; break;
    case 'actions': {
      const btn = (text, label, fn) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'small secondary';
        b.textContent = text;
        b.setAttribute('aria-label', label);
        b.addEventListener('click', fn);
        td.append(b);
        return b;
      };
      if (run.done) {
        btn('JSON', `Download the result of run ${run.id} as JSON`, () =>
          downloadJson(`reslab-run-${run.id}-${slug(run.label)}.json`, exportRecord(run)));
      }
      if (run.modelInWorker) {
        btn('Model', `Download the trained model of run ${run.id}`, () => saveModel(run)).setAttribute('data-testid', 'save-model');
      }
      if (run.status === 'interrupted' && run.checkpoint) {
        btn('Resume', `Resume run ${run.id} from its checkpoint at epoch ${run.checkpoint.epoch}`, () => resumeRun(run))
          .setAttribute('data-testid', 'resume');
      }
      if (run.done) {
        btn('✕', `Delete run ${run.id}`, () => deleteRunAsked(run)).classList.add('danger-text');
      }
      break;
    }
    default: {
      if (col.startsWith('cfg:')) {
        const f = col.slice(4);
        td.textContent = f === 'dataset' ? DATASET_NAMES[run.config?.dataset] ?? String(run.config?.dataset) : formatConfigValue(f, run.config?.[f]);
      }
    }
  }
}

/** Picks the run whose details the analysis shows. */
export function selectRun(id) {
  session.selectedRunId = id;
  for (const tr of $('results-body').rows) tr.classList.toggle('selected', Number(tr.dataset.runId) === id);
  renderRunDetails();
}

function deleteRunAsked(run) {
  if (refuseReadOnly('Deleting runs')) return;
  if (!confirm(`Delete run #${run.id} (${run.label})? Its curves and results will be gone; export it first to keep a copy.`)) return;
  session.runs.delete(run.id);
  store.deleteRun(run.id);
  store.deleteCheckpoint(run.id);
  announceRunsDeleted([run.id]);
  charts.removeRun?.(run.id);
  if (session.selectedRunId === run.id) session.selectedRunId = null;
  renderResults();
  renderRunDetails();
  renderFig7();
}

async function clearAllRuns() {
  if (refuseReadOnly('Deleting runs')) return;
  const done = [...session.runs.values()].filter((r) => r.done);
  if (!done.length) return;
  if (!confirm(`Delete all ${done.length} finished runs? Export them first to keep a copy.`)) return;
  for (const r of done) {
    session.runs.delete(r.id);
    charts.removeRun?.(r.id);
  }
  await store.clearRuns();
  await store.clearCheckpoints();
  announceRunsDeleted(done.map((r) => r.id));
  for (const r of session.runs.values()) persistRun(r);
  session.selectedRunId = null;
  renderResults();
  renderRunDetails();
  renderFig7();
}

function exportAll(kind) {
  const list = sortRuns([...session.runs.values()].filter((r) => r.done), 'id', 'asc');
  if (!list.length) return;
  if (kind === 'csv') downloadBlob('reslab-results.csv', new Blob([toCsv(list)], { type: 'text/csv' }));
  else downloadJson('reslab-runs.json', exportRuns(list));
}

async function importRunsFromFile(file) {
  if (refuseReadOnly('Importing runs')) return;
  const box = $('import-status');
  box.hidden = false;
  box.className = 'hint';
  if (file.size > 200 * 1024 * 1024) {
    box.className = 'error';
    box.textContent = `${file.name}: ${formatBytes(file.size)} is too large to import (at most 200 MB).`;
    return;
  }
  let text;
  try {
    text = await file.text();
  } catch (err) {
    box.className = 'error';
    box.textContent = `${file.name}: could not be read (${messageOf(err)}).`;
    return;
  }
  const { records, errors, notes } = parseImport(text, { modelIds: session.modelIds });
  // The engine has the last word on every config.
  const accepted = [];
  for (const [i, rec] of records.entries()) {
    let problems = [];
    if (session.engineReady) {
      try {
        problems = await requestValidation(rec.config, null);
      } catch (err) {
        problems = [{ field: 'config', message: messageOf(err) }];
      }
    }
    if (problems.length) errors.push(`${rec.label ?? `run ${i + 1}`}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    else accepted.push(rec);
  }
  for (const rec of accepted) {
    const id = ++session.runSeq;
    const run = runFromRecord(rec, { id, color: colorFor(id - 1) });
    addRestoredRun(run);
    persistRun(run);
  }
  renderResults();
  renderFig7();
  const parts = [`${file.name}: imported ${accepted.length} run${accepted.length === 1 ? '' : 's'}`];
  if (errors.length) parts.push(`${errors.length} skipped — ${errors.slice(0, 5).join(' · ')}${errors.length > 5 ? ' …' : ''}`);
  if (notes?.length) parts.push(`${notes.length} field${notes.length === 1 ? '' : 's'} cut to size — ${notes.slice(0, 5).join(' · ')}${notes.length > 5 ? ' …' : ''}`);
  box.textContent = `${parts.join('; ')}.`;
  box.className = errors.length ? 'error' : 'hint';
  box.setAttribute('data-testid', 'import-status');
}

/** The results' buttons: export, import, delete all. */
export function bindResults() {
  $('export-csv').addEventListener('click', () => exportAll('csv'));
  $('export-json').addEventListener('click', () => exportAll('json'));
  $('clear-results').addEventListener('click', () => clearAllRuns());
  $('import-runs').addEventListener('change', (ev) => {
    const f = ev.target.files?.[0];
    ev.target.value = '';
    if (f) importRunsFromFile(f);
  });
}
