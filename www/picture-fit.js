// A picture fitted to a net's square input, as training saw it: the centre
// square (crop) or the whole picture on black (pad), resized by the browser
// with its best smoothing, returned as channel-major RGB bytes (all red, then
// green, then blue: the engine's layout). Used by the pictures' import
// (picture-worker.js) and by "Use the net" (use-net.js), so a dropped photo
// is prepared exactly as the training photos were. Works on a worker's and
// on the page's thread (OffscreenCanvas).

let canvas = null;
let ctx = null;

/**
 * `source` (an ImageBitmap, canvas or video frame of `width`×`height`)
 * fitted to size×size: channel-major RGB, 3·size·size bytes.
 */
export function fitPicture(source, size, how, width = source.width, height = source.height) {
  if (!canvas || canvas.width !== size) {
    canvas = new OffscreenCanvas(size, size);
    ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.imageSmoothingQuality = 'high';
  }
  const [w, h] = [width, height];
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, size, size);
  if (how === 'pad') {
    const scale = size / Math.max(w, h);
    const dw = Math.max(1, Math.round(w * scale));
    const dh = Math.max(1, Math.round(h * scale));
    ctx.drawImage(source, 0, 0, w, h, Math.floor((size - dw) / 2), Math.floor((size - dh) / 2), dw, dh);
  } else {
    const side = Math.min(w, h);
    ctx.drawImage(source, Math.floor((w - side) / 2), Math.floor((h - side) / 2), side, side, 0, 0, size, size);
  }
  return planar(ctx.getImageData(0, 0, size, size).data, size * size);
}

/** RGBA pixels → channel-major RGB bytes. */
export function planar(rgba, plane) {
  const out = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    out[p] = rgba[4 * p];
    out[plane + p] = rgba[4 * p + 1];
    out[2 * plane + p] = rgba[4 * p + 2];
  }
  return out;
}

/** Channel-major RGB → one grey channel (ITU-R 601 luma, as MNIST-style inputs are grey). */
export function toGrey(rgb) {
  const plane = rgb.length / 3;
  const out = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) out[p] = Math.round(0.299 * rgb[p] + 0.587 * rgb[plane + p] + 0.114 * rgb[2 * plane + p]);
  return out;
}
