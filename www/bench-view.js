// What the "Check this machine" page shows (www/bench.html): the machine and
// its adapter, the plan, progress, and the report's tables and JSON. Only
// rendering: the run itself is www/bench.js's. Every string from the browser,
// the adapter or the engine is written with textContent.

import { formatBytes, formatCount, formatDuration, formatPercent, formatSig } from './format.js';

const $ = (id) => document.getElementById(id);

/** The adapter limits the page shows (all of them are in the JSON). */
const KEY_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
];

/** The counters the GPU table shows, in its columns' order (see www/gpu-counters.js). */
const COUNT_COLUMNS = [
  ['compute_passes', formatCount],
  ['dispatches', formatCount],
  ['pipelines_created', formatCount],
  ['buffers_created', formatCount],
  ['buffer_bytes_created', bytes],
  ['bytes_written', bytes],
  ['readbacks', formatCount],
  ['bytes_read', bytes],
  ['submits', formatCount],
];

function bytes(n) {
  return Number.isFinite(n) ? formatBytes(Math.round(n)) : '—';
}

const fixed = (v, d) => (Number.isFinite(v) ? v.toFixed(d) : '—');

/** A table row of cells: text, or [text, className]. */
function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const [text, cls] = Array.isArray(c) ? c : [c, ''];
    const td = document.createElement('td');
    td.textContent = text ?? '—';
    if (cls) td.className = cls;
    tr.append(td);
  }
  return tr;
}

/** A heading row: a label cell, then a value cell. */
function fact(label, value) {
  const tr = document.createElement('tr');
  const th = document.createElement('th');
  th.scope = 'row';
  th.textContent = label;
  const td = document.createElement('td');
  td.textContent = value === null || value === undefined || value === '' ? '—' : String(value);
  tr.append(th, td);
  return tr;
}

/** The machine, the browser and the WebGPU adapter. */
export function renderMachine(report) {
  const b = report.browser ?? {};
  const isolated = b.cross_origin_isolated
    ? `yes${b.isolated_by === 'service-worker' ? ' (headers from the service worker)' : b.isolated_by === 'server' ? " (the server's headers)" : ''}`
    : `no${b.not_isolated_because ? `: ${b.not_isolated_because}` : ''}`;
  $('machine').replaceChildren(
    fact('Browser', b.user_agent),
    fact('Brands', b.user_agent_data ? `${b.user_agent_data.brands.join(', ')} · ${b.user_agent_data.platform}${b.user_agent_data.mobile ? ' · mobile' : ''}` : null),
    fact('Cores', b.cores),
    fact('Device memory', Number.isFinite(b.device_memory_gb) ? `${b.device_memory_gb} GB (as the browser rounds it)` : 'not reported'),
    fact('Cross-origin isolated', isolated),
    fact('CPU threads for training', b.threads_available > 0 ? b.threads_available : 'one (no shared memory)'),
  );
  const g = report.webgpu;
  if (!g) {
    $('adapter').replaceChildren(fact('WebGPU', 'asking the browser…'));
    return;
  }
  if (!g.ok) {
    $('adapter').replaceChildren(fact('WebGPU', `not available: ${g.why}`));
    $('limits').replaceChildren();
    return;
  }
  $('adapter').replaceChildren(
    fact('Vendor', g.info.vendor),
    fact('Architecture', g.info.architecture),
    fact('Device', g.info.device),
    fact('Description', g.info.description),
    fact('Software or fallback', g.software ? `yes: ${g.software}${g.fallback ? ' (fallback adapter)' : ''}` : g.fallback ? 'fallback adapter' : 'no (hardware)'),
    fact('Kernels used', g.kernels === 'software' ? 'software (written for a CPU-backed adapter)' : "default (Burn's, the hardware path)"),
    fact('Features', g.features.length ? g.features.join(', ') : 'none'),
  );
  $('limits').replaceChildren(...KEY_LIMITS.filter((k) => k in g.limits).map((k) => fact(k, formatCount(g.limits[k]))));
}

/** What pressing Run will do, and the URL's options that were refused. */
export function renderPlan(options, warnings, avail, units) {
  const parts = avail.map((a) => (a.ok ? a.backend : `${a.backend} (not here: ${a.why})`));
  const each = `${options.models.join(', ')} × batch ${options.batches.join(', ')}`;
  const train = options.train_steps > 0 ? `; a ${options.train_steps}-step training run` : '';
  $('plan').textContent = `Run measures ${parts.join('; ')}: ${each}, up to ${options.budget} s each${train}. ` +
    `${units} parts in all; the slowest machines take up to about ${formatDuration(units * options.budget * 1.2)}.`;
  const warn = $('options-warning');
  warn.hidden = warnings.length === 0;
  warn.textContent = warnings.length ? `URL options: ${warnings.join('; ')}.` : '';
}

/** The progress bar, the current part and the estimate of the time left. */
export function renderProgress(p, step, steps, left, ended = false) {
  $('progress-box').hidden = ended;
  const bar = $('progress');
  bar.max = Math.max(1, p.total);
  bar.value = Math.min(p.total, p.done + p.partial);
  $('progress-text').textContent = p.text ? `${p.text}${step != null && steps ? `: step ${step} of ${steps}` : ''} (part ${Math.min(p.done + 1, p.total)} of ${p.total})` : '';
  $('eta').textContent = left === null ? 'Estimating the time left…' : `About ${formatDuration(left)} left (estimated from the parts done so far).`;
}

/** The status line: state 'idle' | 'running' | 'done' | 'failed' | 'stopped'. */
export function renderStatus(state, text) {
  const el = $('status');
  el.dataset.state = state;
  el.textContent = text;
}

function backendLabel(r, report) {
  const e = report.backends[r.backend] ?? {};
  if (r.backend === 'webgpu') return `WebGPU (${e.kernels ?? r.kernels ?? '?'} kernels)`;
  if (r.backend === 'cpu-threads') return `CPU, ${r.threads ?? e.threads ?? '?'} threads`;
  return 'CPU, 1 thread';
}

function renderSpeed(report) {
  const rows = report.results.map((r) => row([
    backendLabel(r, report),
    r.model,
    [String(r.batch), 'num'],
    [fixed(r.ms_per_step, 1), 'num'],
    [fixed(r.img_per_s, 1), 'num'],
    [fixed(r.first_step_ms, 0), 'num'],
    [fixed(r.first_step_warm_ms, 0), 'num'],
    r.error ? `${r.status}: ${r.error}` : r.status,
  ]));
  for (const [b, e] of Object.entries(report.backends)) {
    if (e.status !== 'ok' && e.status !== 'running') rows.push(row([b, '', '', '', '', '', '', `${e.status}${e.why ? `: ${e.why}` : ''}`]));
  }
  $('speed').replaceChildren(...rows);
}

function renderCounts(report) {
  const rows = [];
  for (const r of report.results) {
    const c = r.gpu_counts;
    if (!c) continue;
    const line = (what, counts) => row([r.model, [String(r.batch), 'num'], what, ...COUNT_COLUMNS.map(([k, f]) => [counts ? f(counts[k]) : '—', 'num'])]);
    rows.push(line('first step', c.first_step));
    rows.push(line(`later steps (median of ${c.later_steps})`, c.later_steps_median));
    if (c.warm_first_step) rows.push(line("a fresh model's first step", c.warm_first_step));
  }
  if (!rows.length) rows.push(row([report.backends.webgpu ? 'none yet' : 'WebGPU was not measured']));
  $('counts').replaceChildren(...rows);
}

/** The last step's dispatches by kernel, per net and batch (the first 25 kernels of each). */
function renderKernels(report) {
  const rows = [];
  for (const r of report.results) {
    const k = r.gpu_counts?.last_step_by_kernel;
    if (!k) continue;
    const list = Object.entries(k);
    for (const [name, n] of list.slice(0, 25)) rows.push(row([r.model, [String(r.batch), 'num'], name, [String(n), 'num']]));
    if (list.length > 25) {
      const rest = list.slice(25).reduce((s, [, n]) => s + n, 0);
      rows.push(row([r.model, [String(r.batch), 'num'], `${list.length - 25} other kernels`, [String(rest), 'num']]));
    }
  }
  if (!rows.length) rows.push(row([report.backends.webgpu ? 'none yet' : 'WebGPU was not measured']));
  $('kernels').replaceChildren(...rows);
}

function renderCheck(report) {
  const c = report.self_check;
  const summary = $('check-summary');
  if (!c) {
    summary.textContent = report.webgpu?.ok ? 'Not run yet.' : 'Not run: no WebGPU here.';
    $('check').replaceChildren();
    return;
  }
  summary.textContent = c.ok
    ? `Passed: ${c.compared.length} comparisons agree (${formatDuration((c.ms ?? 0) / 1000)}).`
    : `FAILED: ${c.failure ?? 'no reason given'}`;
  summary.className = c.ok ? 'pass' : 'fail';
  $('check').replaceChildren(...c.compared.map((x) => row([
    x.op,
    x.part,
    [formatSig(x.max_abs_diff), 'num'],
    [formatSig(x.scale), 'num'],
    x.ok ? ['pass', 'pass'] : ['FAIL', 'fail'],
  ])));
}

function renderTraining(report) {
  const rows = report.training.map((t) => row([
    backendLabel(t, report),
    [formatCount(t.steps_done ?? t.steps), 'num'],
    [Number.isFinite(t.test_accuracy) ? formatPercent(t.test_accuracy) : '—', 'num'],
    [fixed(t.final_loss, 3), 'num'],
    [fixed(t.seconds, 1), 'num'],
    t.message ? `${t.status}: ${t.message}` : t.status,
  ]));
  if (!rows.length) rows.push(row([report.options.train_steps > 0 ? 'none yet' : 'not asked for (train_steps=0)']));
  $('train').replaceChildren(...rows);
}

/** Every table, and the JSON a user copies. */
export function renderReport(report) {
  renderMachine(report);
  renderSpeed(report);
  renderCounts(report);
  renderKernels(report);
  renderCheck(report);
  renderTraining(report);
  $('report').textContent = JSON.stringify(report, null, 2);
}
