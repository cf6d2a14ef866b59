// Architecture diagram: the network as a graph drawn top to bottom from the
// engine's description (layers with output shapes and parameter counts, and
// shortcut edges). Residual blocks are boxes; a shortcut is an arc on the
// right from a block's input to its addition, coloured by kind (identity,
// zero-padded option A, projection option B). A plain net is the same boxes
// without arcs. Stages can be collapsed; deep stages start collapsed.
//
// Built with DOM APIs only (names come from the engine, never as markup).

const SVG = 'http://www.w3.org/2000/svg';

const EDGE_STYLE = {
  identity: { color: '#667085', dash: null, label: 'identity shortcut' },
  'zero-pad': { color: '#E69F00', dash: '5 3', label: 'zero-padded shortcut (option A)' },
  projection: { color: '#CC79A7', dash: null, label: 'projection shortcut (option B)' },
};
const KIND_COLOR = {
  conv: '#0072B2',
  pool: '#009E73',
  fc: '#D55E00',
  other: '#98a2b3',
};

const ROW_H = 30;
const GAP = 8;
const STAGE_H = 26;
/** Stages with more blocks than this start collapsed. */
const AUTO_COLLAPSE = 6;

/** Collapse state per model and stage, kept while the page lives. */
const collapsed = new Map();

function svgEl(name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function kindColor(kind) {
  const k = String(kind ?? '');
  if (k.startsWith('conv')) return KIND_COLOR.conv;
  if (k.includes('pool')) return KIND_COLOR.pool;
  if (k === 'fc' || k === 'linear') return KIND_COLOR.fc;
  return KIND_COLOR.other;
}

const fmt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '');
const shapeText = (s) => (Array.isArray(s) ? s.join('×') : '');

/**
 * Groups layers into nodes: a block (stageS.blockB.*) is one node, any other
 * layer is its own node. Each node knows its layer index range.
 */
export function graphOf(description) {
  const layers = Array.isArray(description?.layers) ? description.layers : [];
  const edges = Array.isArray(description?.edges) ? description.edges : [];
  const nodes = [];
  const nodeOfLayer = [];
  for (const [i, layer] of layers.entries()) {
    const name = String(layer?.name ?? '');
    const m = /^(stage(\d+)\.block(\d+))\./.exec(name);
    const key = m ? m[1] : `layer${i}`;
    let node = nodes[nodes.length - 1];
    if (!node || node.key !== key || !m) {
      node = {
        key,
        name: m ? m[1] : name,
        stage: m ? Number(m[2]) : 0,
        block: !!m,
        layers: [],
        first: i,
        shortcut: null,
      };
      nodes.push(node);
    }
    node.layers.push(layer);
    node.last = i;
    nodeOfLayer[i] = nodes.length - 1;
  }
  for (const e of edges) {
    const n = nodes[nodeOfLayer[e?.to]];
    if (n) n.shortcut = { kind: String(e.kind ?? 'identity'), params: Number(e.params) || 0 };
  }
  for (const n of nodes) {
    const out = n.layers[n.layers.length - 1];
    n.shape = out?.shape;
    n.params = n.layers.reduce((a, l) => a + (Number(l?.params) || 0), 0) + (n.shortcut?.params ?? 0);
    const kinds = n.layers.map((l) => String(l?.kind ?? '')).filter((k) => k !== 'add' && k !== 'relu');
    n.summary = n.block ? kinds.join(' → ') : kinds[0] ?? '';
    n.kind = n.block ? 'conv' : kinds[0] ?? '';
  }
  return { nodes, edges: edges.length };
}

/** Draws `description` into `container` (replacing its content). */
export function renderDiagram(container, description, { onToggle } = {}) {
  container.replaceChildren();
  const { nodes, edges } = graphOf(description);
  container.dataset.shortcuts = String(edges);
  if (!nodes.length) return;
  const model = String(description.model ?? '');
  const stages = [...new Set(nodes.filter((n) => n.stage).map((n) => n.stage))];
  const blocksIn = (s) => nodes.filter((n) => n.stage === s);
  const isCollapsed = (s) => {
    const k = `${model}:${s}`;
    if (!collapsed.has(k)) collapsed.set(k, blocksIn(s).length > AUTO_COLLAPSE);
    return collapsed.get(k);
  };

  // Rows: stage headers, blocks (or one summary row per collapsed stage), other layers.
  const rows = [];
  let lastStage = 0;
  for (const n of nodes) {
    if (n.stage && n.stage !== lastStage) {
      lastStage = n.stage;
      const list = blocksIn(n.stage);
      rows.push({ type: 'stage', stage: n.stage, list });
      if (isCollapsed(n.stage)) rows.push({ type: 'collapsed', stage: n.stage, list });
    }
    if (n.stage && isCollapsed(n.stage)) continue;
    rows.push({ type: 'node', node: n });
  }

  const width = Math.max(320, Math.floor(container.clientWidth || 640));
  const boxX = 24;
  const arcRoom = 56;
  const boxW = Math.min(560, width - boxX - arcRoom - 8);
  let y = 8;
  for (const r of rows) {
    r.y = y;
    r.h = r.type === 'stage' ? STAGE_H : ROW_H;
    y += r.h + (r.type === 'stage' ? 4 : GAP);
  }
  const height = y + 4;
  const svg = svgEl('svg', {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': `${model}: ${nodes.length} nodes, ${edges} shortcut connections, ${fmt(description.params)} parameters`,
  });
  const defs = svgEl('defs');
  const marker = svgEl('marker', { id: 'dg-arrow', viewBox: '0 0 8 8', refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svgEl('path', { d: 'M0,0 L8,4 L0,8 z', fill: '#667085' }));
  defs.append(marker);
  svg.append(defs);

  // The data flow: one line down the boxes' left side.
  const flowX = boxX - 12;
  svg.append(svgEl('line', { x1: flowX, y1: rows[0].y, x2: flowX, y2: height - 6, stroke: '#d0d5dd', 'stroke-width': 2 }));

  for (const r of rows) {
    const g = svgEl('g');
    if (r.type === 'stage') {
      const shape = shapeText(r.list[r.list.length - 1]?.shape);
      const params = r.list.reduce((a, n) => a + n.params, 0);
      const shortcuts = r.list.filter((n) => n.shortcut).length;
      const closed = isCollapsed(r.stage);
      g.setAttribute('class', 'dg-stage');
      g.setAttribute('role', 'button');
      g.setAttribute('tabindex', '0');
      g.setAttribute('aria-expanded', closed ? 'false' : 'true');
      g.setAttribute('data-testid', 'diagram-stage');
      const toggle = () => {
        collapsed.set(`${model}:${r.stage}`, !closed);
        renderDiagram(container, description, { onToggle });
        onToggle?.();
      };
      g.addEventListener('click', toggle);
      g.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') {
          ev.preventDefault();
          toggle();
        }
      });
      g.append(svgEl('rect', { x: boxX - 20, y: r.y, width: boxW + 20, height: r.h, rx: 4, fill: '#f2f4f7' }));
      g.append(svgEl('text', { x: boxX - 14, y: r.y + 17, class: 'dg-stage-text' },
        `${closed ? '▸' : '▾'} Stage ${r.stage} · ${r.list.length} block${r.list.length === 1 ? '' : 's'} · ${shape} · ${fmt(params)} params · ${shortcuts ? `${shortcuts} shortcut${shortcuts === 1 ? '' : 's'}` : 'no shortcuts'}`));
    } else if (r.type === 'collapsed') {
      g.append(svgEl('rect', { x: boxX, y: r.y, width: boxW, height: r.h, rx: 5, fill: '#fff', stroke: '#98a2b3', 'stroke-dasharray': '4 3' }));
      g.append(svgEl('text', { x: boxX + 10, y: r.y + 19, class: 'dg-text dg-muted' }, `${r.list.length} blocks collapsed — click the stage to expand`));
    } else {
      const n = r.node;
      g.setAttribute('data-testid', 'diagram-node');
      const color = kindColor(n.kind);
      g.append(svgEl('rect', { x: boxX, y: r.y, width: boxW, height: r.h, rx: 5, fill: '#fff', stroke: color, 'stroke-width': 1.5 }));
      g.append(svgEl('rect', { x: boxX, y: r.y, width: 5, height: r.h, rx: 2, fill: color }));
      const title = svgEl('title', {}, `${n.name}\n${n.layers.map((l) => `${l.name}: ${l.kind} → ${shapeText(l.shape)} (${fmt(l.params)} params)`).join('\n')}`);
      g.append(title);
      const label = n.block
        ? `${n.name.replace(/^stage(\d+)\.block(\d+)$/, 'block $1.$2')}  ${n.summary}`
        : n.summary && n.summary !== n.name ? `${n.name}  ${n.summary}` : n.name;
      g.append(svgEl('text', { x: boxX + 12, y: r.y + 19, class: 'dg-text' }, label));
      g.append(svgEl('text', { x: boxX + boxW - 8, y: r.y + 19, class: 'dg-text dg-right' },
        `${shapeText(n.shape)}${n.params ? ` · ${fmt(n.params)}` : ''}`));
      if (n.shortcut) {
        const st = EDGE_STYLE[n.shortcut.kind] ?? EDGE_STYLE.identity;
        const x0 = boxX + boxW;
        const top = r.y + 3;
        const bottom = r.y + r.h - 3;
        const path = svgEl('path', {
          d: `M${x0},${top} C${x0 + 40},${top} ${x0 + 40},${bottom} ${x0 + 2},${bottom}`,
          fill: 'none',
          stroke: st.color,
          'stroke-width': n.shortcut.kind === 'projection' ? 2.5 : 2,
          'stroke-dasharray': st.dash,
          'marker-end': 'url(#dg-arrow)',
          'data-testid': 'shortcut',
          'data-kind': n.shortcut.kind,
        });
        path.append(svgEl('title', {}, `${st.label}${n.shortcut.params ? ` (${fmt(n.shortcut.params)} params)` : ''}`));
        g.append(path);
        g.append(svgEl('text', { x: x0 + 30, y: r.y + 19, class: 'dg-plus' }, '+'));
      }
    }
    svg.append(g);
  }
  container.append(svg);

  const legend = document.createElement('p');
  legend.className = 'hint dg-legend';
  const kinds = [...new Set(nodes.filter((n) => n.shortcut).map((n) => n.shortcut.kind))];
  legend.textContent = `${fmt(description.params)} parameters in all · ` +
    (edges ? `${edges} shortcut${edges === 1 ? '' : 's'} (${kinds.map((k) => EDGE_STYLE[k]?.label ?? k).join(', ')})` : 'no shortcuts');
  container.append(legend);
}
