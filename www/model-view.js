// The network the settings describe: the engine's description of it, drawn
// as a block diagram (diagram.js) with a summary and a table of its layers.

import { renderDiagram } from './diagram.js';
import { $ } from './dom.js';
import { engine } from './engine-control.js';
import { formatCount, messageOf } from './format.js';
import { session } from './session.js';

let describeTimer = 0;
let describeSeq = 0;
/** The description drawn last (redrawn when the diagram's width changes). */
let lastDescription = null;
let diagramWidth = 0;

/** Asks the engine to describe the settings' network, once they have been still for a moment. */
export function scheduleDescribe() {
  clearTimeout(describeTimer);
  describeTimer = setTimeout(() => {
    if (!session.engineReady) return;
    const seq = ++describeSeq;
    engine.request('describe', { config: session.state.configForEngine() }).then(
      (description) => {
        // Only the answer to the latest settings is drawn.
        if (seq === describeSeq) renderModel(description);
      },
      (err) => {
        // A restarted engine is asked again once it is ready.
        if (seq === describeSeq && !err.gone) renderModelError(err.message);
      },
    );
  }, 200);
}

/** Redraws the diagram when its box changes width. */
export function watchDiagramWidth() {
  new ResizeObserver(() => {
    if (lastDescription && Math.abs($('diagram').clientWidth - diagramWidth) > 8) drawDiagram();
  }).observe($('diagram'));
}

function renderModelError(message) {
  lastDescription = null;
  $('diagram').replaceChildren();
  $('network-title').textContent = 'Network';
  const box = $('model-summary');
  box.replaceChildren();
  const p = document.createElement('p');
  p.className = 'error';
  p.textContent = `This network cannot be built: ${message}`;
  box.append(p);
}

function drawDiagram() {
  const box = $('diagram');
  diagramWidth = box.clientWidth;
  try {
    renderDiagram(box, lastDescription);
  } catch (err) {
    box.textContent = `The diagram could not be drawn: ${messageOf(err)}`;
  }
}

function renderModel(d) {
  const box = $('model-summary');
  box.replaceChildren();
  if (!d || typeof d !== 'object') return;
  const model = String(d.model ?? session.state.config.model);
  lastDescription = d;
  const edgeCount = Array.isArray(d.edges) ? d.edges.length : 0;
  $('network-title').textContent = `Network: ${model}` +
    (Number.isFinite(d.params) ? ` · ${formatCount(d.params)} parameters` : '') +
    (Array.isArray(d.layers) ? ` · ${d.layers.length} layers` : '') +
    ` · ${edgeCount} shortcut${edgeCount === 1 ? '' : 's'}`;
  drawDiagram();
  const head = document.createElement('p');
  head.className = 'model-head';
  const name = document.createElement('strong');
  name.textContent = model;
  head.append(name);
  const bits = [];
  if (Number.isFinite(d.params)) bits.push(`${formatCount(d.params)} parameters`);
  if (Array.isArray(d.input)) bits.push(`input ${d.input.join(' × ')}`);
  if (Array.isArray(d.layers)) bits.push(`${d.layers.length} layers`);
  if (Array.isArray(d.edges)) bits.push(d.edges.length ? `${d.edges.length} shortcuts` : 'no shortcuts');
  head.append(document.createTextNode(` · ${bits.join(' · ')}`));
  box.append(head);
  if (Array.isArray(d.layers) && d.layers.length) box.append(layerTable(d.layers));
}

/** The layers, in a table that opens on demand. */
function layerTable(layers) {
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = 'Layers';
  details.append(summary);
  const wrap = document.createElement('div');
  wrap.className = 'table-wrap layers-wrap';
  const table = document.createElement('table');
  table.className = 'layers';
  const thead = table.createTHead().insertRow();
  for (const h of ['Layer', 'Kind', 'Output', 'Params']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    thead.append(th);
  }
  const body = table.createTBody();
  for (const layer of layers) {
    const tr = body.insertRow();
    tr.insertCell().textContent = String(layer?.name ?? '');
    tr.insertCell().textContent = String(layer?.kind ?? '');
    tr.insertCell().textContent = Array.isArray(layer?.shape) ? layer.shape.join('×') : '';
    const p = tr.insertCell();
    p.className = 'num';
    p.textContent = Number.isFinite(layer?.params) ? formatCount(layer.params) : '';
  }
  wrap.append(table);
  details.append(wrap);
  return details;
}
