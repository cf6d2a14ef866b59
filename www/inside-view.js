// "Look inside" of Use the net: the feature maps of every convolution stage
// for the current input (one tiled canvas per stage, each channel a tile,
// brighter where the channel responds) and the first layer's filters (each
// filter a tile: grey is zero, white positive, black negative weights). The
// engine sends them as 8-bit images (src/model/inside.rs says how they are
// scaled); this module only lays them out.

/** Tiles per row: square-ish grids, narrower for large maps. */
function columns(count, side) {
  const max = side >= 64 ? 8 : 16;
  return Math.max(1, Math.min(count, max, Math.ceil(Math.sqrt(count * 2))));
}

/**
 * One canvas holding `count` tiles of w×h: `pixel(t, c, i)` is tile t's
 * channel c at pixel i (channels: 1 grey or 3 RGB). Scaled up by CSS so a
 * tile is at least `minCss` pixels wide.
 */
function tiles(count, channels, w, h, pixel, minCss) {
  const cols = columns(count, w);
  const rows = Math.ceil(count / cols);
  const gap = 1;
  const canvas = document.createElement('canvas');
  canvas.width = cols * (w + gap) - gap;
  canvas.height = rows * (h + gap) - gap;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(canvas.width, canvas.height);
  // Gaps in a light blue no grey tile has, so black tiles stay tiles.
  for (let p = 0; p < img.data.length; p += 4) {
    [img.data[p], img.data[p + 1], img.data[p + 2], img.data[p + 3]] = [205, 220, 240, 255];
  }
  for (let t = 0; t < count; t++) {
    const [tx, ty] = [(t % cols) * (w + gap), Math.floor(t / cols) * (h + gap)];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        const o = 4 * ((ty + y) * canvas.width + tx + x);
        const r = pixel(t, 0, i);
        img.data[o] = r;
        img.data[o + 1] = channels === 3 ? pixel(t, 1, i) : r;
        img.data[o + 2] = channels === 3 ? pixel(t, 2, i) : r;
        img.data[o + 3] = 255;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  const scale = Math.max(1, Math.round(minCss / w));
  canvas.style.width = `${canvas.width * scale}px`;
  canvas.style.height = `${canvas.height * scale}px`;
  return canvas;
}

/**
 * The stages' feature maps into `box`: `layers` [{name, channels, height,
 * width}] in order, their bytes one after the other in `pixels`.
 */
export function renderFeatureMaps(box, layers, pixels) {
  box.replaceChildren();
  let offset = 0;
  for (const l of layers) {
    const plane = l.height * l.width;
    const base = offset;
    offset += l.channels * plane;
    if (offset > pixels.length) break;
    const fig = document.createElement('figure');
    fig.className = 'feature-maps';
    fig.setAttribute('data-testid', 'feature-map');
    fig.dataset.layer = l.name;
    const cap = document.createElement('figcaption');
    cap.textContent = `${l.name}: ${l.channels} channels of ${l.height}×${l.width}`;
    const wrap = document.createElement('div');
    wrap.className = 'tiles';
    wrap.append(tiles(l.channels, 1, l.width, l.height, (t, _c, i) => pixels[base + t * plane + i], 28));
    fig.append(cap, wrap);
    box.append(fig);
  }
  if (!layers.length) {
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = 'This net has no convolutions (the MLP): no feature maps. Its first layer\'s units are shown as filters above.';
    box.append(p);
  }
}

/** The first layer's filters into `box`: `f` {name, count, total, channels, height, width}. */
export function renderFilters(box, f, pixels) {
  box.replaceChildren();
  const per = f.channels * f.height * f.width;
  const plane = f.height * f.width;
  const colour = f.channels === 3;
  const fig = document.createElement('figure');
  fig.className = 'filters';
  const cap = document.createElement('figcaption');
  const which = f.name === 'fc1'
    ? `the input weights of the first ${f.count} of its ${f.total} hidden units, as ${f.height}×${f.width} pictures`
    : `${f.count} filters of ${f.height}×${f.width}${colour ? ' (RGB)' : ''}`;
  cap.textContent = `${f.name}: ${which}. Grey is 0, lighter positive, darker negative.`;
  const wrap = document.createElement('div');
  wrap.className = 'tiles';
  const canvas = tiles(f.count, colour ? 3 : 1, f.width, f.height, (t, c, i) => pixels[t * per + (colour ? c : 0) * plane + i], 36);
  canvas.setAttribute('data-testid', 'filters');
  wrap.append(canvas);
  fig.append(cap, wrap);
  box.append(fig);
}

/** A c×h×w channel-major image (1 or 3 channels) drawn on `canvas` at its own size. */
export function drawInput(canvas, pixels, c, h, w) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(w, h);
  const plane = h * w;
  for (let p = 0; p < plane; p++) {
    const r = pixels[p];
    img.data[4 * p] = r;
    img.data[4 * p + 1] = c === 3 ? pixels[plane + p] : r;
    img.data[4 * p + 2] = c === 3 ? pixels[2 * plane + p] : r;
    img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
