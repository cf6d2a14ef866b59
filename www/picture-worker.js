// Decodes the user's pictures off the page's thread: each file is checked by
// its first bytes (as the engine's native import does: src/data/images.rs),
// decoded by the browser (createImageBitmap: JPEG, PNG, WebP, GIF's first
// frame, BMP), fitted to the net's square input (centre crop, or the whole
// picture padded with black; picture-fit.js, which Use the net shares), and sent back as
// channel-major RGB bytes. One file at a time: the originals are read,
// decoded and dropped, so memory holds one photo plus the small results.
// A .zip of the folder tree is read here too (fflate): its entries' names
// first, then the entries to decode, a batch at a time.
//
// In:  {type: 'decode', files: [{index, file: File}], size, fit: 'crop' | 'pad'}
//      {type: 'list-zip', file: File}        → {type: 'zip-names', names} | {type: 'zip-error', message}
//      {type: 'decode-zip', entries: [{index, name}], size, fit}   (the zip listed last)
// Out: {type: 'picture', index, pixels: ArrayBuffer (3·size·size)} (transferred)
//      {type: 'skipped', index, reason}
//      {type: 'done'}
// The page stops an import by terminating this worker.

import { unzipSync } from './vendor/fflate.js';
import { fitPicture } from './picture-fit.js';

const MAX_PICTURE_BYTES = 64 << 20;

/** The picture format by signature, whatever the name says (src/data/images.rs, picture_format). */
function pictureFormat(b) {
  const at = (i, s) => [...s].every((c, k) => b[i + k] === c.charCodeAt(0));
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b[0] === 0x89 && at(1, 'PNG\r\n\x1a\n')) return 'png';
  if (at(0, 'GIF87a') || at(0, 'GIF89a')) return 'gif';
  if (b.length >= 12 && at(0, 'RIFF') && at(8, 'WEBP')) return 'webp';
  if (b.length >= 26 && at(0, 'BM') && b[6] === 0 && b[7] === 0 && b[8] === 0 && b[9] === 0) return 'bmp';
  return null;
}

/**
 * Whether a JPEG runs to its end-of-image marker (src/data/images.rs,
 * jpeg_complete): browsers decode a JPEG cut short with its missing part in
 * grey, and the net would learn from that.
 */
function jpegComplete(b) {
  if (b[0] !== 0xff || b[1] !== 0xd8) return false;
  const nextFF = (i) => {
    const p = b.indexOf(0xff, i);
    return p < 0 ? -1 : p;
  };
  let i = 2;
  for (;;) {
    i = nextFF(i);
    if (i < 0) return false;
    while (b[i] === 0xff) i++;
    if (i >= b.length) return false;
    const marker = b[i++];
    if (marker === 0xd9) return true;
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue;
    if (i + 2 > b.length) return false;
    const len = (b[i] << 8) | b[i + 1];
    if (len < 2 || i + len > b.length) return false;
    i += len;
    if (marker === 0xda) {
      // Entropy-coded data: FF 00 is a stuffed FF, FF D0…D7 a restart marker; any other FF xx ends it.
      for (;;) {
        i = nextFF(i);
        if (i < 0) return false;
        let j = i + 1;
        while (b[j] === 0xff) j++;
        if (j >= b.length) return false;
        if (b[j] === 0x00 || (b[j] >= 0xd0 && b[j] <= 0xd7)) i = j + 1;
        else break;
      }
    }
  }
}

/** Reads a File's bytes, then decodes them. */
async function decodeFile(file, size, how) {
  if (file.size === 0) return { reason: 'empty file (0 bytes)' };
  if (file.size > MAX_PICTURE_BYTES) return { reason: `larger than ${MAX_PICTURE_BYTES >> 20} MiB` };
  let bytes;
  try {
    bytes = new Uint8Array(await file.arrayBuffer());
  } catch (err) {
    return { reason: `cannot be read: ${err?.message ?? err}` };
  }
  return decodeBytes(bytes, size, how);
}

async function decodeBytes(bytes, size, how) {
  if (bytes.length === 0) return { reason: 'empty file (0 bytes)' };
  const format = pictureFormat(bytes);
  if (!format) return { reason: 'not an image (JPEG, PNG, WebP, GIF or BMP)' };
  if (format === 'jpeg' && !jpegComplete(bytes)) {
    return { reason: 'truncated: the JPEG ends before its end-of-image marker (was the download cut short?)' };
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes]));
  } catch (err) {
    return { reason: `cannot be decoded: ${err?.message ?? err}` };
  }
  try {
    return { pixels: fitPicture(bitmap, size, how) };
  } finally {
    bitmap.close();
  }
}

function send(index, r) {
  if (r.pixels) self.postMessage({ type: 'picture', index, pixels: r.pixels.buffer }, [r.pixels.buffer]);
  else self.postMessage({ type: 'skipped', index, reason: r.reason });
}

/** The zip listed last: its bytes and each entry's uncompressed size by name. */
let zip = null;
/** Entries inflated at once: a batch of photos, not the whole archive. */
const ZIP_BATCH = 32;

function listZip(bytes) {
  const sizes = new Map();
  // The filter sees every entry (name, sizes) and inflates none.
  unzipSync(bytes, {
    filter: (f) => {
      if (!f.name.endsWith('/')) sizes.set(f.name, f.originalSize);
      return false;
    },
  });
  return sizes;
}

async function decodeZip(entries, size, how) {
  for (let start = 0; start < entries.length; start += ZIP_BATCH) {
    const batch = entries.slice(start, start + ZIP_BATCH);
    const want = new Set();
    for (const { index, name } of batch) {
      const n = zip.sizes.get(name);
      if (n === undefined) send(index, { reason: 'not in the archive' });
      else if (n > MAX_PICTURE_BYTES) send(index, { reason: `larger than ${MAX_PICTURE_BYTES >> 20} MiB` });
      else want.add(name);
    }
    let files = {};
    let failure = null;
    try {
      files = unzipSync(zip.bytes, { filter: (f) => want.has(f.name) });
    } catch (err) {
      failure = err;
    }
    for (const { index, name } of batch) {
      if (!want.has(name)) continue;
      if (files[name]) send(index, await decodeBytes(files[name], size, how));
      else {
        // One damaged entry spoils the batch's call: read the batch one entry at a time.
        let one = null;
        try {
          one = unzipSync(zip.bytes, { filter: (f) => f.name === name })[name];
        } catch (err) {
          failure = err;
        }
        send(index, one ? await decodeBytes(one, size, how) : { reason: `cannot be read from the archive: ${failure?.message ?? 'damaged entry'}` });
      }
    }
  }
}

self.onmessage = async (ev) => {
  const msg = ev.data;
  const size = Number(msg?.size);
  const how = msg?.fit === 'pad' ? 'pad' : 'crop';
  if (msg?.type === 'decode') {
    for (const { index, file } of msg.files) send(index, await decodeFile(file, size, how));
    self.postMessage({ type: 'done' });
  } else if (msg?.type === 'list-zip') {
    try {
      const bytes = new Uint8Array(await msg.file.arrayBuffer());
      const sizes = listZip(bytes);
      zip = { bytes, sizes };
      self.postMessage({ type: 'zip-names', names: [...sizes.keys()] });
    } catch (err) {
      self.postMessage({ type: 'zip-error', message: `${msg.file?.name ?? 'the archive'}: not a readable zip archive (${err?.message ?? err})` });
    }
  } else if (msg?.type === 'decode-zip') {
    if (!zip) throw new Error('decode-zip before list-zip');
    await decodeZip(msg.entries, size, how);
    self.postMessage({ type: 'done' });
  }
};
