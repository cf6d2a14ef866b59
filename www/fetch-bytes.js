// Fetching a dataset file by URL with progress, for the engine's worker
// (worker-data.js) and the page (a .zip of pictures, data.js): one place for
// the messages that say why a fetch from another site failed.

import { messageOf } from './worker-util.js';

const SITE_ROOT = new URL('../', import.meta.url);

/** Fetches one URL with progress; returns a Uint8Array. */
export async function fetchBytes(url, onProgress) {
  let res;
  try {
    res = await fetch(url, { mode: 'cors', credentials: 'omit' });
  } catch (err) {
    const origin = new URL(url).origin;
    if (origin !== self.location.origin) {
      // The browser does not say why (CSP and CORS failures look alike); name both.
      throw new Error(`${fileName(url)}: could not be fetched from ${origin} (${messageOf(err)}). ` +
        `Either this server does not let the page load data from other sites (start it with --allow-data-from ${origin}), ` +
        'or that site does not allow it (CORS). Download the files and drop them on the page instead.');
    }
    throw new Error(`${fileName(url)}: could not be fetched (${messageOf(err)})`);
  }
  if (!res.ok) throw new Error(`${fileName(url)}: HTTP ${res.status} ${res.statusText}`.trim());
  const total = Number(res.headers.get('content-length')) || 0;
  if (!res.body) {
    const buf = new Uint8Array(await res.arrayBuffer());
    onProgress(buf.length, total || buf.length);
    return buf;
  }
  const reader = res.body.getReader();
  const chunks = [];
  let loaded = 0;
  let lastReport = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    const now = performance.now();
    if (now - lastReport > 50) {
      lastReport = now;
      onProgress(loaded, total);
    }
  }
  onProgress(loaded, total || loaded);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(loaded);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export function fileName(url) {
  try {
    const u = new URL(url, SITE_ROOT);
    const last = u.pathname.split('/').filter(Boolean).pop();
    return decodeURIComponent(last || u.hostname);
  } catch {
    return String(url);
  }
}

