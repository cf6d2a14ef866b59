// The study panel: presets (one click: a set of runs reproducing a figure or
// table of the paper), a grid over any settings, and the queue.
//
// The engine defines the presets and expands presets and grids into runs
// (the CLI's `--preset` / `--grid` do the same); this module only draws them
// and hands the planned runs to the page's queue. Text from the engine or the
// URL is written with textContent only.

import { FIELDS, formatField, parseField } from './state.js';
import { DATASET_NAMES } from './format.js';

const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

/** Fields a grid axis can vary (everything but the dataset choice, which follows the data). */
const AXIS_FIELDS = Object.keys(FIELDS).filter((k) => k !== 'dataset');

export class LabPanel {
  /**
   * @param {object} o
   * @param {(req:object)=>Promise<Array<{label:string, config:object}>>} o.expand  asks the engine
   * @param {(runs:Array, group:object)=>void} o.queue  hands runs to the page's queue
   * @param {()=>object} o.baseConfig  the current settings (a grid's base)
   * @param {(query:string)=>string} o.linkFor  absolute link for a study query
   * @param {()=>string[]} o.modelIds
   * @param {(kind:string)=>boolean} o.hasFullData  whether the user's own files of that kind are loaded
   * @param {()=>boolean} [o.canQueue]  false while another tab owns the queue
   * @param {(configs:object[], progress:(text:string)=>void)=>Promise<string>} [o.duration]
   *   how long these runs take on this machine (measured), as a sentence
   */
  constructor(o) {
    this.o = o;
    this.presets = [];
    this.selected = null; // preset id
    this.budget = 'classroom';
    this.scale = 1;
    this.plan = null; // {key, runs} of the shown preset/grid
    this.planSeq = 0;
    this.axes = [{ field: 'model', values: 'plain20, resnet20' }];
    this.gridName = '';
    this.durationSeq = {};
    this.bind();
  }

  bind() {
    $('preset-budget').addEventListener('change', () => {
      this.budget = $('preset-budget').value;
      this.refreshPlan();
    });
    $('preset-scale').addEventListener('change', () => {
      this.scale = Number($('preset-scale').value) || 1;
      this.refreshPlan();
    });
    $('preset-queue').addEventListener('click', () => this.queuePlan('preset'));
    $('preset-link').addEventListener('click', () => this.copyLink('preset'));
    $('grid-add-axis').addEventListener('click', () => {
      this.axes.push({ field: AXIS_FIELDS.find((f) => !this.axes.some((a) => a.field === f)) ?? 'lr', values: '' });
      this.renderAxes();
      this.refreshGrid();
    });
    $('grid-queue').addEventListener('click', () => this.queuePlan('grid'));
    $('grid-link').addEventListener('click', () => this.copyLink('grid'));
    this.renderAxes();
  }

  setPresets(list) {
    this.presets = Array.isArray(list) ? list.filter((p) => p && typeof p.id === 'string') : [];
    const box = $('preset-list');
    box.replaceChildren();
    for (const p of this.presets) {
      const b = h('button', {
        type: 'button',
        class: 'preset-button',
        'data-preset': p.id,
        'aria-pressed': 'false',
        onclick: () => this.selectPreset(p.id),
      }, h('strong', { text: String(p.title ?? p.id) }), h('span', { text: String(p.summary ?? '') }));
      box.append(b);
    }
    if (this.selected) this.selectPreset(this.selected, { budget: this.budget, scale: this.scale });
  }

  presetById(id) {
    return this.presets.find((p) => p.id === id) ?? null;
  }

  /** Shows a preset and its planned runs; `opts` come from a shared link. */
  selectPreset(id, opts = {}) {
    this.selected = id;
    if (opts.budget) this.budget = opts.budget;
    if (opts.scale) this.scale = opts.scale;
    $('preset-budget').value = this.budget;
    const scaleSel = $('preset-scale');
    if (![...scaleSel.options].some((o) => Number(o.value) === this.scale)) {
      scaleSel.append(h('option', { value: String(this.scale), text: `×${this.scale}` }));
    }
    scaleSel.value = String([...scaleSel.options].find((o) => Number(o.value) === this.scale)?.value ?? '1');
    for (const b of $('preset-list').querySelectorAll('button')) {
      b.setAttribute('aria-pressed', b.dataset.preset === id ? 'true' : 'false');
    }
    const p = this.presetById(id);
    const box = $('preset-detail');
    if (!p) {
      this.plan = null;
      box.hidden = !this.presets.length ? true : false;
      $('preset-title').textContent = this.presets.length ? `No preset called “${id}”.` : '';
      $('preset-look').textContent = this.presets.length ? `Presets: ${this.presets.map((x) => x.id).join(', ')}` : '';
      $('preset-budget-note').textContent = '';
      $('preset-plan').replaceChildren();
      $('preset-queue').disabled = true;
      return;
    }
    box.hidden = false;
    $('preset-title').textContent = String(p.title ?? p.id);
    $('preset-look').textContent = String(p.look_for ?? '');
    $('preset-budget-note').textContent = String(p.budget_note ?? '');
    const refs = Array.isArray(p.reference) ? p.reference : [];
    const refBox = $('preset-refs');
    refBox.replaceChildren();
    for (const r of refs) {
      const what = Object.entries(r.match ?? {}).map(([k, v]) => formatField(k, v)).join(' · ');
      const num = Number.isFinite(r.test_error) ? `${r.test_error}% test error` : '';
      refBox.append(h('li', { text: `${what}: ${[num, r.label, r.note].filter(Boolean).join(' — ')}` }));
    }
    refBox.hidden = refs.length === 0;
    this.refreshPlan();
  }

  async refreshPlan() {
    const id = this.selected;
    if (!id || !this.presetById(id)) return;
    const seq = ++this.planSeq;
    // Until the new plan is in, nothing can be queued (nor an old plan's link copied).
    this.plan = null;
    $('preset-queue').disabled = true;
    $('preset-plan').replaceChildren(h('li', { class: 'hint', text: 'Planning…' }));
    try {
      const runs = await this.o.expand({ preset: id, budget: this.budget, scale: this.scale });
      if (seq !== this.planSeq) return;
      this.plan = { kind: 'preset', runs };
      this.showPlan($('preset-plan'), runs);
      this.showDuration('preset-duration', runs);
      // The paper's recipe holds out 5,000 validation images: the built-in samples are too small.
      const names = DATASET_NAMES;
      const missing = [...new Set(runs.map((r) => r.config?.dataset))].filter((k) => !this.o.hasFullData(k)).map((k) => names[k] ?? k);
      const warn = $('preset-warning');
      warn.hidden = !(this.budget === 'paper' && missing.length);
      warn.textContent = warn.hidden ? '' : `The paper's recipe needs the full ${missing.join(' and ')} dataset` +
        `${missing.length > 1 ? 's' : ''}: load ${missing.length > 1 ? 'them' : 'it'} with “Load files…” first. ` +
        'On the built-in samples these runs stop at once with a message.';
      $('preset-queue').disabled = runs.length === 0 || !this.canQueue();
      $('preset-queue').textContent = `Run these ${runs.length} runs`;
    } catch (err) {
      if (seq !== this.planSeq) return;
      $('preset-plan').replaceChildren(h('li', { class: 'error', text: String(err?.message ?? err) }));
    }
  }

  /** Says how long the planned runs take on this machine, measuring its speed first if need be. */
  async showDuration(id, runs) {
    const box = $(id);
    const seq = (this.durationSeq[id] = (this.durationSeq[id] ?? 0) + 1);
    // A sentence, or {text, seconds}: the seconds are kept on the element for tests and tools.
    const show = (said) => {
      if (seq !== this.durationSeq[id]) return;
      box.textContent = typeof said === 'string' ? said : said.text;
      box.dataset.seconds = typeof said === 'string' ? '' : String(Math.round(said.seconds));
    };
    show('');
    if (!this.o.duration || !runs.length) return;
    try {
      show(await this.o.duration(runs.map((r) => r.config), show));
    } catch (err) {
      show(`How long these runs take here could not be measured: ${err?.message ?? err}`);
    }
  }

  showPlan(list, runs) {
    list.replaceChildren();
    for (const r of runs) {
      const c = r.config ?? {};
      const len = c.max_steps ? `${c.max_steps} steps` : `${c.epochs} epoch${c.epochs === 1 ? '' : 's'}`;
      list.append(h('li', { 'data-testid': 'planned-run' },
        h('strong', { text: String(r.label) }),
        h('span', { class: 'hint', text: ` — ${c.dataset}, ${c.optimizer} lr ${formatField('lr', c.lr)}, batch ${c.batch_size}, ${len}` })));
    }
  }

  // ------------------------------------------------------------ grid

  renderAxes() {
    const box = $('grid-axes');
    box.replaceChildren();
    this.axes.forEach((axis, i) => {
      const sel = h('select', { 'aria-label': `Setting varied by axis ${i + 1}` });
      for (const f of AXIS_FIELDS) sel.append(h('option', { value: f, text: FIELDS[f].label }));
      sel.value = axis.field;
      sel.addEventListener('change', () => {
        axis.field = sel.value;
        this.refreshGrid();
      });
      const input = h('input', {
        type: 'text',
        value: axis.values,
        'aria-label': `Values of ${FIELDS[axis.field]?.label ?? axis.field}, separated by commas`,
        placeholder: 'values, separated by commas',
      });
      input.addEventListener('input', () => {
        axis.values = input.value;
        clearTimeout(this.gridTimer);
        this.gridTimer = setTimeout(() => this.refreshGrid(), 300);
      });
      const del = h('button', {
        type: 'button',
        class: 'small secondary',
        'aria-label': `Remove axis ${i + 1}`,
        text: '✕',
        onclick: () => {
          this.axes.splice(i, 1);
          this.renderAxes();
          this.refreshGrid();
        },
      });
      box.append(h('div', { class: 'grid-axis' }, sel, input, del));
    });
  }

  /** The grid JSON of the builder, or {error}. Values are parsed with the settings' own schema. */
  gridSpec() {
    const grid = {};
    for (const axis of this.axes) {
      if (grid[axis.field]) return { error: `${FIELDS[axis.field].label} is varied twice` };
      const parts = FIELDS[axis.field].type === 'intlist'
        ? axis.values.split(/;/).map((t) => t.trim()).filter(Boolean)
        : axis.values.split(/,/).map((t) => t.trim()).filter(Boolean);
      if (!parts.length) return { error: `${FIELDS[axis.field].label}: give at least one value` };
      const values = [];
      for (const t of parts) {
        const parsed = parseField(axis.field, t, { modelIds: this.o.modelIds() });
        if (!parsed.ok) return { error: `${FIELDS[axis.field].label} “${t}” ${parsed.error}` };
        values.push(parsed.value);
      }
      grid[axis.field] = values;
    }
    const base = this.o.baseConfig();
    for (const k of Object.keys(grid)) delete base[k];
    return { spec: { name: this.gridName || 'Grid', base, grid } };
  }

  async refreshGrid() {
    const out = $('grid-plan');
    const { spec, error } = this.gridSpec();
    $('grid-queue').disabled = true;
    this.gridPlan = null;
    this.showDuration('grid-duration', []);
    if (error) {
      out.replaceChildren(h('li', { class: 'error', text: error }));
      return;
    }
    const seq = ++this.planSeq;
    try {
      const runs = await this.o.expand({ grid: spec });
      if (seq !== this.planSeq) return;
      this.gridPlan = { spec, runs };
      this.showPlan(out, runs);
      this.showDuration('grid-duration', runs);
      $('grid-queue').disabled = runs.length === 0 || !this.canQueue();
      $('grid-queue').textContent = `Run these ${runs.length} runs`;
    } catch (err) {
      if (seq !== this.planSeq) return;
      out.replaceChildren(h('li', { class: 'error', text: String(err?.message ?? err) }));
    }
  }

  canQueue() {
    return this.o.canQueue ? this.o.canQueue() : true;
  }

  /** Enables the Run buttons where a plan is shown and this tab may queue. */
  refreshButtons() {
    $('preset-queue').disabled = !this.plan?.runs?.length || !this.canQueue();
    $('grid-queue').disabled = !this.gridPlan?.runs?.length || !this.canQueue();
  }

  /**
   * Shows a grid from a shared link (its base replaces nothing on the page: it is used as is).
   * Resolves to null, or to why the engine cannot run it.
   */
  async showGrid(spec) {
    this.sharedGrid = spec;
    $('grid-builder').open = true;
    const out = $('grid-plan');
    const axes = spec && typeof spec.grid === 'object' && spec.grid && !Array.isArray(spec.grid) ? spec.grid : {};
    this.axes = Object.entries(axes).filter(([f]) => AXIS_FIELDS.includes(f)).map(([field, values]) => ({
      field,
      values: Array.isArray(values) ? values.map((v) => (Array.isArray(v) ? v.join(',') : formatField(field, v))).join(FIELDS[field].type === 'intlist' ? '; ' : ', ') : '',
    }));
    this.renderAxes();
    this.gridName = typeof spec?.name === 'string' ? spec.name.slice(0, 80) : '';
    // Until the new plan is in, nothing can be queued (as in refreshGrid): a click now would do nothing.
    this.gridPlan = null;
    $('grid-queue').disabled = true;
    try {
      const runs = await this.o.expand({ grid: spec });
      this.gridPlan = { spec, runs };
      this.showPlan(out, runs);
      this.showDuration('grid-duration', runs);
      $('grid-queue').disabled = runs.length === 0 || !this.canQueue();
      $('grid-queue').textContent = `Run these ${runs.length} runs`;
      return runs.length ? null : 'it has no runs';
    } catch (err) {
      const why = String(err?.message ?? err);
      out.replaceChildren(h('li', { class: 'error', text: `The shared grid cannot be run: ${why}` }));
      return why;
    }
  }

  queuePlan(kind) {
    if (kind === 'preset') {
      const p = this.presetById(this.selected);
      if (!p || !this.plan?.runs?.length) return;
      this.o.queue(this.plan.runs, { kind: 'preset', id: p.id, name: String(p.title ?? p.id), budget: this.budget, scale: this.scale });
    } else {
      if (!this.gridPlan?.runs?.length) return;
      this.o.queue(this.gridPlan.runs, { kind: 'grid', name: String(this.gridPlan.spec?.name ?? 'Grid') });
    }
  }

  async copyLink(kind) {
    const status = $(kind === 'preset' ? 'preset-link-status' : 'grid-link-status');
    let lab;
    if (kind === 'preset') lab = { preset: this.selected, budget: this.budget, scale: this.scale };
    else {
      const spec = this.gridPlan?.spec ?? this.gridSpec().spec;
      if (!spec) return;
      lab = { grid: spec };
      // A link is handed out only if the engine that will open it accepts it.
      try {
        await this.o.expand({ grid: spec });
      } catch (err) {
        status.textContent = `This grid cannot be shared as a link: ${err?.message ?? err}`;
        status.hidden = false;
        return;
      }
    }
    const link = this.o.linkFor(lab);
    await copyLink(link, status);
    // The address bar names the study too, and keeps this page's settings.
    history.replaceState(null, '', this.o.addressFor ? this.o.addressFor(lab) : link);
  }
}

/** Copies a link, or shows it where the clipboard is not allowed; `status` says which. */
export async function copyLink(link, status) {
  try {
    await navigator.clipboard.writeText(link);
    status.textContent = 'Link copied.';
  } catch {
    status.textContent = link;
  }
  status.hidden = false;
}
