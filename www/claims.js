// Study claims: under the results, each study that has finished runs says,
// claim by claim, whether its runs show what it claims (the engine judges
// them on the runs' records), and the optimizers study adds an optimizer ×
// dataset table.

import { $ } from './dom.js';
import { engine } from './engine-control.js';
import { DATASET_NAMES, STATUS_TEXT, formatPercent, messageOf } from './format.js';
import { exportRecord } from './results.js';
import { session } from './session.js';
import { renderResults } from './run-table.js';
import { presetById } from './studies.js';

/**
 * A preset's claims judged on its runs, by preset id: {key, claims, error}.
 * `key` names the runs they were judged on (see claimsKey); `claims` is null
 * while the engine's answer is awaited.
 */
const claimChecks = new Map();

/** Checks that failed with an engine that has (re)started since are asked again. */
export function forgetFailedClaimChecks() {
  for (const [id, c] of claimChecks) if (c.error) claimChecks.delete(id);
}

/**
 * What the verdicts of a preset's claims depend on: its ended runs, with the
 * numbers the claims read. It changes when a run ends, is imported or
 * deleted, not from one frame to the next.
 */
function claimsKey(id, ended) {
  const parts = ended.map((r) => [r.id, r.status, r.steps.length, r.epochs.length, r.testAccuracy ?? '', r.bestVal ?? ''].join(':')).sort();
  return `${id}|${parts.join(',')}`;
}

/** The verdicts of preset `id`'s claims on `ended` runs: the cached answer, or null while one is asked for. */
function claimsFor(id, ended) {
  const key = claimsKey(id, ended);
  const known = claimChecks.get(id);
  if (known?.key === key) return known;
  const entry = { key, claims: null, error: null };
  claimChecks.set(id, entry);
  // Reads only the records it is sent: the engine answers at once, even during a run.
  engine.request('claims', { preset: id, records: ended.map(exportRecord) })
    .then((claims) => {
      entry.claims = Array.isArray(claims) ? claims : [];
    })
    .catch((err) => {
      entry.error = messageOf(err);
    })
    .finally(() => {
      if (claimChecks.get(id) === entry) renderResults();
    });
  return entry;
}

const VERDICTS = {
  shows: 'shows',
  partly: 'partly',
  does_not_show: 'does not show at this budget',
  not_run: 'not run yet',
};

/** The box under the results saying, claim by claim, whether these runs show what study `p` claims. */
function claimsBox(p, list) {
  const ended = list.filter((r) => r.done);
  const check = claimsFor(p.id, ended);
  const box = document.createElement('section');
  box.className = 'study-claims';
  box.setAttribute('data-testid', 'study-claims');
  box.setAttribute('data-preset', p.id);
  const title = document.createElement('h3');
  title.textContent = 'What this study claims, checked on these runs';
  const finished = ended.filter((r) => r.status === 'finished').length;
  const sub = document.createElement('p');
  sub.className = 'hint';
  sub.textContent = `${String(p.title ?? p.id)}: ${finished} finished run${finished === 1 ? '' : 's'}. ` +
    'A claim shows when the difference is at least what a class sees plainly on the charts; partly, when it goes the right way by less.';
  box.append(title, sub);
  if (check.error) {
    const err = document.createElement('p');
    err.className = 'error';
    err.textContent = `The claims could not be checked: ${check.error}`;
    box.append(err);
    return box;
  }
  // While the engine answers, the claims are listed as being checked.
  const items = check.claims ?? p.claims.map((c) => ({ claim: c.text, verdict: null, evidence: '' }));
  const ul = document.createElement('ul');
  ul.className = 'claim-list';
  for (const c of items) {
    const li = document.createElement('li');
    li.setAttribute('data-testid', 'claim');
    const known = Object.prototype.hasOwnProperty.call(VERDICTS, c?.verdict);
    const verdict = known ? c.verdict : check.claims ? 'unknown' : 'checking';
    const badge = document.createElement('span');
    badge.className = `verdict verdict-${verdict.replace(/_/g, '-')}`;
    badge.setAttribute('data-testid', 'claim-verdict');
    badge.setAttribute('data-verdict', verdict);
    badge.textContent = known ? VERDICTS[verdict] : check.claims ? String(c?.verdict ?? '?') : 'checking…';
    const text = document.createElement('span');
    text.className = 'claim-text';
    text.setAttribute('data-testid', 'claim-text');
    text.textContent = String(c?.claim ?? '');
    li.append(badge, text);
    if (c?.evidence) {
      const ev = document.createElement('span');
      ev.className = 'claim-evidence';
      ev.setAttribute('data-testid', 'claim-evidence');
      ev.textContent = String(c.evidence);
      li.append(ev);
    }
    ul.append(li);
  }
  box.append(ul);
  return box;
}

/** The optimizers study's table: test accuracy of the latest run of each optimizer × dataset cell. */
function optimizerTable(p, list) {
  const datasetsSeen = [...new Set(list.map((r) => r.config.dataset))];
  const opts = [...new Set(list.map((r) => r.config.optimizer))];
  const table = document.createElement('table');
  table.className = 'results study';
  table.setAttribute('data-testid', 'study-table');
  const cap = document.createElement('caption');
  cap.textContent = `${p.title}: test accuracy (latest run of each cell)`;
  table.append(cap);
  const hr = table.createTHead().insertRow();
  for (const t of ['Optimizer', ...datasetsSeen.map((d) => DATASET_NAMES[d] ?? d)]) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = t;
    hr.append(th);
  }
  const body = table.createTBody();
  for (const o of opts) {
    const tr = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = o;
    tr.append(th);
    for (const d of datasetsSeen) {
      const cell = tr.insertCell();
      cell.className = 'num';
      const hits = list.filter((r) => r.config.optimizer === o && r.config.dataset === d);
      const r = hits[hits.length - 1];
      cell.textContent = !r ? '' : r.testAccuracy !== null && r.testAccuracy !== undefined ? formatPercent(r.testAccuracy) : STATUS_TEXT[r.status] ?? r.status;
    }
  }
  const wrap = document.createElement('div');
  wrap.className = 'table-wrap';
  wrap.append(table);
  return wrap;
}

/** Per-study summaries: what each study claims, checked on its runs; the optimizers study as an optimizer × dataset table. */
export function renderStudyTables() {
  const box = $('study-tables');
  box.replaceChildren();
  const groups = new Map();
  for (const r of session.runs.values()) {
    if (r.group?.kind !== 'preset' || !r.group.id) continue;
    const key = `${r.group.id}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  for (const [id, list] of groups) {
    const p = presetById(id);
    if (Array.isArray(p?.claims) && p.claims.length && list.some((r) => r.done && r.status === 'finished')) box.append(claimsBox(p, list));
    if (p?.table === 'optimizer-by-dataset') box.append(optimizerTable(p, list));
  }
}
