// Run colours for the charts, the legend and the results table. No uPlot and
// no DOM here, so a page whose charts failed to load (uPlot not vendored) can
// still import the same palette and give each run the same colour.

/** Colour-blind-friendly colours with good contrast on a white background. */
export const PALETTE = [
  '#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00',
  '#6A3D9A', '#1F9BD7', '#8C564B', '#222222', '#B8860B',
];

/** The colour of the index-th run; the palette repeats after its last entry. */
export function colorFor(index) {
  return PALETTE[index % PALETTE.length];
}

/** A '#rrggbb' colour as rgba() with the given opacity; anything else is returned as is. */
export function withAlpha(hex, alpha) {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
