// The drawing pad of "Use the net", and the MNIST-style preparation of what
// is drawn: white strokes on black, the ink's bounding box scaled to fit a
// 20×20 box (of 28) keeping its aspect ratio, smoothed, then placed so its
// centre of mass sits at the centre, as LeCun et al. prepared the MNIST
// digits. A net trained on MNIST sees a drawn digit as it saw its training
// digits; the same preparation serves a photo of a digit on paper (inverted
// first when its background is light).

/** The pad: pointer strokes (mouse, pen, finger) on `canvas`; `onChange` after each piece of stroke. */
export function drawPad(canvas, onChange) {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let last = null;
  const at = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [((ev.clientX - r.left) * canvas.width) / r.width, ((ev.clientY - r.top) * canvas.height) / r.height];
  };
  const stroke = (from, to) => {
    // A digit drawn across most of the pad, scaled into MNIST's 20-pixel box, gets MNIST's 2-3 pixel strokes.
    ctx.lineWidth = canvas.width * 0.06;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.strokeStyle = '#fff';
    ctx.beginPath();
    ctx.moveTo(...from);
    ctx.lineTo(...to);
    ctx.stroke();
  };
  canvas.addEventListener('pointerdown', (ev) => {
    ev.preventDefault();
    canvas.setPointerCapture?.(ev.pointerId);
    last = at(ev);
    stroke(last, last);
    onChange();
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (!last) return;
    const p = at(ev);
    stroke(last, p);
    last = p;
    onChange();
  });
  const end = () => {
    last = null;
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  return {
    clear,
    /** Whether anything is drawn. */
    blank: () => inkBox(greyOf(ctx.getImageData(0, 0, canvas.width, canvas.height).data), canvas.width, canvas.height) === null,
  };
}

/** RGBA → luma bytes. */
export function greyOf(rgba) {
  const out = new Uint8Array(rgba.length / 4);
  for (let p = 0; p < out.length; p++) out[p] = Math.round(0.299 * rgba[4 * p] + 0.587 * rgba[4 * p + 1] + 0.114 * rgba[4 * p + 2]);
  return out;
}

/** The bounding box [x0, y0, x1, y1) of the pixels brighter than `level`, or null. */
function inkBox(grey, w, h, level = 24) {
  let [x0, y0, x1, y1] = [w, h, -1, -1];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (grey[y * w + x] > level) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : [x0, y0, x1 + 1, y1 + 1];
}

/** Whether a grey picture is dark ink on a light ground: its border is mostly light. */
export function lightBackground(grey, w, h) {
  let sum = 0;
  let n = 0;
  for (let x = 0; x < w; x++) {
    sum += grey[x] + grey[(h - 1) * w + x];
    n += 2;
  }
  for (let y = 1; y < h - 1; y++) {
    sum += grey[y * w] + grey[y * w + w - 1];
    n += 2;
  }
  return sum / n > 127;
}

/** A w×h grey image as an OffscreenCanvas (white on black). */
function canvasOf(grey, w, h) {
  const c = new OffscreenCanvas(w, h);
  const cx = c.getContext('2d');
  const img = cx.createImageData(w, h);
  for (let p = 0; p < grey.length; p++) {
    img.data[4 * p] = img.data[4 * p + 1] = img.data[4 * p + 2] = grey[p];
    img.data[4 * p + 3] = 255;
  }
  cx.putImageData(img, 0, 0);
  return c;
}

/**
 * The MNIST-style input of `side`×`side` grey bytes for a w×h grey picture
 * of white ink on black, or null when nothing is drawn.
 */
export function prepareDigit(grey, w, h, side) {
  const box = inkBox(grey, w, h);
  if (!box) return null;
  const [x0, y0, x1, y1] = box;
  const [bw, bh] = [x1 - x0, y1 - y0];
  const fit = (20 / 28) * side;
  const scale = fit / Math.max(bw, bh);
  const dw = Math.max(1, Math.round(bw * scale));
  const dh = Math.max(1, Math.round(bh * scale));
  // Halve step by step, then the last step: a one-step 12× reduction would skip pixels, not average them.
  let src = canvasOf(grey, w, h);
  let [sx, sy, sw, sh] = [x0, y0, bw, bh];
  while (sw > 2 * dw && sh > 2 * dh) {
    const [nw, nh] = [Math.ceil(sw / 2), Math.ceil(sh / 2)];
    const half = new OffscreenCanvas(nw, nh);
    const hc = half.getContext('2d');
    hc.imageSmoothingQuality = 'high';
    hc.drawImage(src, sx, sy, sw, sh, 0, 0, nw, nh);
    [src, sx, sy, sw, sh] = [half, 0, 0, nw, nh];
  }
  const small = new OffscreenCanvas(dw, dh);
  const sc = small.getContext('2d', { willReadFrequently: true });
  sc.imageSmoothingQuality = 'high';
  sc.drawImage(src, sx, sy, sw, sh, 0, 0, dw, dh);
  const g = greyOf(sc.getImageData(0, 0, dw, dh).data);
  // Centre of mass in pixel indices, placed on pixel (side/2, side/2): (14, 14) of 28, where MNIST's digits have it.
  let [m, mx, my] = [0, 0, 0];
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      const v = g[y * dw + x];
      m += v;
      mx += v * x;
      my += v * y;
    }
  }
  const [cx, cy] = m > 0 ? [mx / m, my / m] : [(dw - 1) / 2, (dh - 1) / 2];
  const ox = Math.round(side / 2 - cx);
  const oy = Math.round(side / 2 - cy);
  const out = new Uint8Array(side * side);
  for (let y = 0; y < dh; y++) {
    const ty = y + oy;
    if (ty < 0 || ty >= side) continue;
    for (let x = 0; x < dw; x++) {
      const tx = x + ox;
      if (tx >= 0 && tx < side) out[ty * side + tx] = g[y * dw + x];
    }
  }
  return out;
}
