// Architecture strip: every layer of the network as a bar (colour = kind,
// height = role), shortcut connections as arcs over the layers they skip,
// and the stages with their output shapes underneath. Plain and residual
// nets of the same depth differ exactly by the arcs.
//
// Built with DOM APIs only (names come from the engine, never as markup).

const SVG = 'http://www.w3.org/2000/svg';

const KIND_STYLE = {
  conv: { color: '#0072B2', h: 1 },
  fc: { color: '#D55E00', h: 1 },
  linear: { color: '#D55E00', h: 1 },
  pool: { color: '#009E73', h: 0.7 },
  maxpool: { color: '#009E73', h: 0.7 },
  avgpool: { color: '#009E73', h: 0.7 },
  add: { color: '#222222', h: 0.35 },
  flatten: { color: '#98a2b3', h: 0.3 },
  relu: { color: '#98a2b3', h: 0.3 },
  bn: { color: '#6A3D9A', h: 0.5 },
};
const EDGE_STYLE = {
  identity: { color: '#667085', width: 1.5, dash: null, label: 'identity shortcut' },
  'zero-pad': { color: '#E69F00', width: 2, dash: '4 3', label: 'zero-padded shortcut (A)' },
  projection: { color: '#CC79A7', width: 2.5, dash: null, label: 'projection shortcut (B)' },
};

function el(name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function styleOf(kind) {
  const k = String(kind ?? '').toLowerCase();
  return KIND_STYLE[k] ?? { color: '#98a2b3', h: 0.5 };
}

function shapeText(shape) {
  return Array.isArray(shape) ? shape.join('×') : '';
}

/** Draws `description` into `container` (replacing its content) at the container's width. */
export function renderDiagram(container, description) {
  container.replaceChildren();
  const layers = Array.isArray(description?.layers) ? description.layers : [];
  if (!layers.length) return;
  const edges = Array.isArray(description?.edges) ? description.edges : [];
  const width = Math.max(320, Math.floor(container.clientWidth || 800));
  const margin = 12;
  const n = layers.length;
  const step = (width - 2 * margin) / n;
  const barW = Math.max(1, Math.min(18, step * 0.72));
  const arcSpace = edges.length ? 56 : 8;
  const barMax = 46;
  const top = arcSpace + 4;
  const base = top + barMax;
  const height = base + 46;
  const x = (i) => margin + (i + 0.5) * step;

  const svg = el('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `${description.model ?? 'network'}: ${n} layers, ${edges.length} shortcut connections`,
    class: 'diagram-svg',
  });

  // Shortcut arcs, longest first so short ones stay on top.
  const sorted = edges
    .filter((e) => Number.isInteger(e?.from) && Number.isInteger(e?.to))
    .sort((a, b) => (b.to - b.from) - (a.to - a.from));
  for (const e of sorted) {
    const from = Math.max(0, Math.min(n - 1, e.from));
    const to = Math.max(0, Math.min(n - 1, e.to));
    const st = EDGE_STYLE[String(e.kind)] ?? EDGE_STYLE.identity;
    const span = Math.abs(x(to) - x(from));
    const lift = Math.min(arcSpace - 6, 12 + span * 0.35);
    const y0 = top + barMax * 0.1;
    const path = el('path', {
      d: `M ${x(from)} ${y0} C ${x(from)} ${y0 - lift}, ${x(to)} ${y0 - lift}, ${x(to)} ${y0}`,
      fill: 'none',
      stroke: st.color,
      'stroke-width': st.width,
      'stroke-dasharray': st.dash,
    });
    const title = el('title', {}, `${st.label}: ${layers[from]?.name ?? from} → ${layers[to]?.name ?? to}` +
      (e.params ? ` (${Number(e.params).toLocaleString('en-US')} parameters)` : ''));
    path.append(title);
    svg.append(path);
  }

  // Layers.
  layers.forEach((layer, i) => {
    const st = styleOf(layer?.kind);
    const h = Math.max(4, barMax * st.h);
    const rect = el('rect', {
      x: x(i) - barW / 2,
      y: base - h,
      width: barW,
      height: h,
      rx: Math.min(2, barW / 3),
      fill: st.color,
    });
    const params = Number.isFinite(layer?.params) && layer.params > 0 ? `, ${layer.params.toLocaleString('en-US')} parameters` : '';
    rect.append(el('title', {}, `${layer?.name ?? ''} (${layer?.kind ?? ''}) → ${shapeText(layer?.shape)}${params}`));
    svg.append(rect);
  });

  // Stages: a bracket under each run of layers with the same stage number.
  const groups = [];
  layers.forEach((layer, i) => {
    const s = Number.isInteger(layer?.stage) ? layer.stage : 0;
    const g = groups[groups.length - 1];
    if (g && g.stage === s) g.end = i;
    else groups.push({ stage: s, start: i, end: i });
  });
  for (const g of groups) {
    if (!g.stage) continue;
    const x0 = x(g.start) - step / 2 + 1;
    const x1 = x(g.end) + step / 2 - 1;
    svg.append(el('path', { d: `M ${x0} ${base + 6} V ${base + 10} H ${x1} V ${base + 6}`, fill: 'none', stroke: '#667085', 'stroke-width': 1 }));
    const last = layers[g.end];
    const label = x1 - x0 > 70 ? `stage ${g.stage} · ${shapeText(last?.shape)}` : `${g.stage}`;
    svg.append(el('text', { x: (x0 + x1) / 2, y: base + 26, 'text-anchor': 'middle', class: 'diagram-label' }, label));
  }
  container.append(svg);

  // Key.
  const key = document.createElement('p');
  key.className = 'diagram-key';
  const kinds = [...new Set(layers.map((l) => String(l?.kind ?? '').toLowerCase()))].filter(Boolean);
  const item = (color, text, line, dashed) => {
    const span = document.createElement('span');
    span.className = 'key-item';
    const sw = document.createElement('span');
    sw.className = line ? `key-line${dashed ? ' dashed' : ''}` : 'key-swatch';
    sw.style.background = line ? 'none' : color;
    sw.style.borderColor = color;
    span.append(sw, document.createTextNode(text));
    key.append(span);
  };
  for (const k of kinds) item(styleOf(k).color, k);
  const edgeKinds = [...new Set(edges.map((e) => String(e?.kind)))];
  for (const k of edgeKinds) {
    const st = EDGE_STYLE[k] ?? EDGE_STYLE.identity;
    item(st.color, st.label, true, !!st.dash);
  }
  if (!edges.length) {
    const note = document.createElement('span');
    note.className = 'key-item';
    note.textContent = 'no shortcuts (plain network)';
    key.append(note);
  }
  container.append(key);
}
