#!/usr/bin/env node
// ResLab static server (node standard library only).
//
//   node scripts/serve.mjs [--port 8080] [--root .] [--allow-data-from ORIGIN]...
//
// Serves index.html, www/, pkg/ and assets/ with the headers the app needs:
// cross-origin isolation (COOP/COEP), a strict Content-Security-Policy that
// still allows WebAssembly compilation, correct MIME types (.wasm as
// application/wasm, .gz as raw bytes without Content-Encoding) and no-cache.
// --port 0 picks a free port; the real one is printed.

import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat, realpath } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.gz': 'application/gzip',
  '.tgz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * The headers every response carries. The page may connect to its own origin
 * only, unless the operator lets it load datasets from other origins
 * (`--allow-data-from https://example.org`, or `https:` for any HTTPS site).
 */
export function securityHeaders(allowDataFrom = []) {
  const connect = ["'self'", ...allowDataFrom].join(' ');
  return {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Content-Security-Policy':
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
      `img-src 'self'; connect-src ${connect}; worker-src 'self'`,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  };
}
export const SECURITY_HEADERS = securityHeaders();

/** An origin for --allow-data-from: `https:` or `http(s)://host[:port]`, nothing that could widen the policy further. */
export function parseDataOrigin(text) {
  const t = String(text ?? '').trim();
  if (t === 'https:') return t;
  let u;
  try {
    u = new URL(t);
  } catch {
    throw new Error(`--allow-data-from: '${t}' is not an origin (e.g. https://example.org or https:)`);
  }
  if (!['http:', 'https:'].includes(u.protocol) || u.origin !== t.replace(/\/$/, '')) {
    throw new Error(`--allow-data-from: '${t}' is not an origin (e.g. https://example.org or https:)`);
  }
  return u.origin;
}

export function mimeType(path) {
  return MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

function send(res, status, body, extra = {}) {
  const text = typeof body === 'string' ? body : '';
  res.writeHead(status, {
    ...(res.securityHeaders ?? SECURITY_HEADERS),
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** Maps a URL path to a file inside root, or returns null if it escapes root. */
function resolveInside(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..')) return null;
  const full = resolve(root, '.' + (decoded.startsWith('/') ? decoded : '/' + decoded));
  if (full !== root && !full.startsWith(root + sep)) return null;
  return full;
}

async function handle(root, req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'Method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  let pathname;
  try {
    pathname = new URL(req.url, 'http://localhost').pathname;
  } catch {
    send(res, 400, 'Bad request\n');
    return;
  }
  // Refuse traversal outright (the URL parser would silently drop "..").
  const rawPath = req.url.split('?')[0].split('#')[0];
  let rawDecoded;
  try {
    rawDecoded = decodeURIComponent(rawPath);
  } catch {
    send(res, 400, 'Bad request\n');
    return;
  }
  if (rawDecoded.split(/[\\/]/).some((s) => s === '..' || s === '.')) {
    send(res, 403, 'Forbidden\n');
    return;
  }
  let file = resolveInside(root, pathname);
  if (!file) {
    send(res, 403, 'Forbidden\n');
    return;
  }
  let info;
  try {
    info = await stat(file);
    if (info.isDirectory()) {
      if (!pathname.endsWith('/')) {
        send(res, 301, 'Moved\n', { Location: pathname + '/' });
        return;
      }
      file = join(file, 'index.html');
      info = await stat(file);
    }
    // Refuse symlinks that lead outside the root.
    const real = await realpath(file);
    if (real !== root && !real.startsWith(root + sep)) {
      send(res, 403, 'Forbidden\n');
      return;
    }
  } catch {
    send(res, 404, 'Not found\n');
    return;
  }
  if (!info.isFile()) {
    send(res, 404, 'Not found\n');
    return;
  }
  res.writeHead(200, {
    ...(res.securityHeaders ?? SECURITY_HEADERS),
    'Content-Type': mimeType(file),
    'Content-Length': info.size,
    'Last-Modified': info.mtime.toUTCString(),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/**
 * Starts the server. Resolves to {server, port, url, close()}.
 * port 0 picks a free port.
 */
export async function startServer({ port = 8080, root = '.', host = '127.0.0.1', allowDataFrom = [] } = {}) {
  const absRoot = await realpath(resolve(root));
  const headers = securityHeaders(allowDataFrom.map(parseDataOrigin));
  const server = createServer((req, res) => {
    res.securityHeaders = headers;
    handle(absRoot, req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, 'Internal error\n');
      else res.destroy(err);
    });
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const realPort = server.address().port;
  return {
    server,
    port: realPort,
    root: absRoot,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${realPort}/`,
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        server.closeAllConnections?.();
      }),
  };
}

function parseArgs(argv) {
  const opts = { port: 8080, root: '.', allowDataFrom: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [key, inline] = a.includes('=') ? a.split(/=(.*)/s, 2) : [a, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    if (key === '--port' || key === '-p') {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`invalid --port`);
      opts.port = v;
    } else if (key === '--root' || key === '-r') {
      opts.root = value();
      if (!opts.root) throw new Error('missing value for --root');
    } else if (key === '--allow-data-from') {
      opts.allowDataFrom.push(parseDataOrigin(value()));
    } else if (key === '--host') {
      opts.host = value();
    } else if (key === '--help' || key === '-h') {
      opts.help = true;
    } else {
      throw new Error(`unknown argument ${a}`);
    }
  }
  return opts;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`serve: ${err.message}\nusage: node scripts/serve.mjs [--port 8080] [--root .]`);
    process.exit(2);
  }
  if (opts.help) {
    console.log('usage: node scripts/serve.mjs [--port 8080] [--root .] [--host 127.0.0.1] [--allow-data-from ORIGIN]...\n' +
      '  --allow-data-from ORIGIN  let the page load datasets from ORIGIN (e.g. https://example.org; https: for any HTTPS site)');
    process.exit(0);
  }
  const { port } = await startServer(opts);
  console.log(`ResLab on http://localhost:${port}`);
}
