#!/usr/bin/env node
// ResLab static server (node standard library only).
//
//   node scripts/serve.mjs [--port 8080] [--root .] [--host 127.0.0.1] [--allow-host NAME]...
//                          [--allow-data-from ORIGIN]... [--data-dir DIR]
//
// Publishes the app and nothing else of the repository (APP_PATHS: the page,
// www/, pkg/, the built-in samples), with the headers the app needs:
// cross-origin isolation (COOP/COEP), a strict Content-Security-Policy that
// still allows WebAssembly compilation, correct MIME types (.wasm as
// application/wasm, .gz as raw bytes without Content-Encoding) and no-cache.
// It answers only to local host names unless told others (--allow-host), so a
// web page on another site cannot read it through DNS rebinding.
// --port 0 picks a free port; the real one is printed.

import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import { open, stat, realpath } from 'node:fs/promises';
import { isIP } from 'node:net';
import { extname, join, relative, resolve, sep } from 'node:path';
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

/**
 * What the server publishes from its root: the page and what it loads, and
 * nothing else of the repository (sources, .git, docs, crates/, build
 * output). An entry ending in '/' publishes everything beneath that folder;
 * any other entry is one file. A URL ending in '/' stands for the folder's
 * index.html, so '/' is the page.
 */
export const APP_PATHS = Object.freeze(['/index.html', '/sw.js', '/www/', '/pkg/', '/assets/sample/']);

/** Where --data-dir's folder appears (the page's "Dataset URL" resolves data/… against the site root). */
export const DATA_PREFIX = '/data/';

/** The names every server answers to: this machine's own. */
export const LOCAL_HOSTS = Object.freeze(['localhost', '127.0.0.1', '::1']);

// Node's default of 16 KiB refuses (431) a shared-study link: the page accepts
// up to 100,000 characters of ?grid=.
const MAX_HEADER_SIZE = 256 * 1024;

const HOST_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;

/** A name for --allow-host: a host name or IP address, lower case, IPv6 without brackets; no port, no wildcard. */
export function parseAllowedHost(text) {
  const t = String(text ?? '').trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (!HOST_NAME.test(t) && isIP(t) !== 6) {
    throw new Error(`--allow-host: '${text}' is not a host name or IP address (e.g. reslab.school.lan or 192.168.1.20, without a port)`);
  }
  return t;
}

/** The host name in a Host header (lower case, IPv6 without brackets, no port), or null if it is missing or malformed. */
export function requestHost(header) {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/i.exec(header ?? '');
  return m ? (m[1] ?? m[2]).toLowerCase() : null;
}

/**
 * An entry for extraPaths, relative to the root: a folder with its trailing
 * slash ('tests/e2e/engine/') or one file. Never the root itself or a
 * dot-name: either would publish what APP_PATHS keeps back.
 */
export function parseExtraPath(text) {
  const t = '/' + String(text ?? '').trim().replace(/^\.?\/+/, '');
  if (t === '/' || t.includes('\\') || t.includes('\0') || t.includes('//') || hasDotSegment(t)) {
    throw new Error(`extraPaths: '${text}' is not a file or folder inside the root (e.g. tests/e2e/engine/)`);
  }
  return t;
}

/** Whether a '/'-separated path has a segment that is a dot-name (.git, .env, an editor's .swp). */
function hasDotSegment(path) {
  return path.split('/').some((s) => s.startsWith('.'));
}

/** Whether `path` is an entry of `published` or lies beneath one of its folders. */
function isPublished(published, path) {
  // A published folder named without its slash passes, to be redirected to it.
  return published.some((e) => (e.endsWith('/') ? path.startsWith(e) || path + '/' === e : path === e));
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

/** 421 naming the refused host and, when it is a name that can be allowed, the flag that allows it. */
function refuseHost(res, header, hosts) {
  const what = header === undefined ? 'a request without a Host header' : `the host ${JSON.stringify(String(header).slice(0, 200))}`;
  let hint = '';
  try {
    hint = ` To use this name on purpose, start the server with --allow-host ${parseAllowedHost(requestHost(header))}.`;
  } catch {
    // Not a name the flag takes: nothing to suggest.
  }
  send(res, 421, `Misdirected request: this ResLab server answers to ${[...hosts].join(', ')}, not to ${what}.${hint}\n`);
}

/** Maps a decoded URL path to a file inside dir, or returns null if it escapes dir. */
function resolveInside(dir, path) {
  if (path.includes('\0') || path.includes('\\')) return null;
  if (path.split('/').some((s) => s === '..')) return null;
  const full = resolve(dir, '.' + (path.startsWith('/') ? path : '/' + path));
  if (full !== dir && !full.startsWith(dir + sep)) return null;
  return full;
}

/**
 * site: {hosts, mounts}; a mount is {prefix, dir, published}, the first
 * whose prefix the path starts with serves it.
 */
async function handle(site, req, res) {
  // DNS rebinding: a page on another site, its name re-pointed at 127.0.0.1,
  // reaches this server with its own name in Host.
  const host = requestHost(req.headers.host);
  if (!host || !site.hosts.has(host)) {
    refuseHost(res, req.headers.host, site.hosts);
    return;
  }
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
  let path;
  try {
    rawDecoded = decodeURIComponent(rawPath);
    path = decodeURIComponent(pathname);
  } catch {
    send(res, 400, 'Bad request\n');
    return;
  }
  if (rawDecoded.split(/[\\/]/).some((s) => s === '..' || s === '.')) {
    send(res, 403, 'Forbidden\n');
    return;
  }
  const mount = site.mounts.find((m) => path.startsWith(m.prefix) || path + '/' === m.prefix);
  const rel = path.slice(mount.prefix.length - 1);
  if (hasDotSegment(path) || !isPublished(mount.published, rel.endsWith('/') ? rel + 'index.html' : rel)) {
    send(res, 404, 'Not found\n');
    return;
  }
  let file = resolveInside(mount.dir, rel);
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
    // Refuse symlinks that lead outside the mounted folder…
    const real = await realpath(file);
    if (real !== mount.dir && !real.startsWith(mount.dir + sep)) {
      send(res, 403, 'Forbidden\n');
      return;
    }
    // …and those that lead inside it to what is not published (www/x → ../src).
    const realRel = '/' + relative(mount.dir, real).split(sep).join('/');
    if (hasDotSegment(realRel) || !isPublished(mount.published, realRel)) {
      send(res, 404, 'Not found\n');
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
  // The length and the bytes come from one open handle: a file replaced by a
  // rename meanwhile (the background wasm-opt swaps pkg/'s modules while the
  // page may be loading them) would otherwise be announced at the old size
  // and sent at the new one, and the browser would wait for bytes that never
  // come.
  let handle;
  try {
    handle = await open(file, 'r');
    info = await handle.stat();
  } catch {
    await handle?.close();
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
    await handle.close();
    res.end();
    return;
  }
  // pipeline destroys the read stream (closing the handle) when the client goes away too.
  pipeline(handle.createReadStream(), res, () => {});
}

async function dataFolder(dir) {
  try {
    const real = await realpath(resolve(dir));
    if ((await stat(real)).isDirectory()) return real;
  } catch {
    // Reported below, with the flag's name.
  }
  throw new Error(`--data-dir: ${dir} is not a folder`);
}

/**
 * Starts the server. Resolves to {server, port, url, root, hosts, close()}.
 * port 0 picks a free port.
 *
 * - allowHosts: names it answers to besides LOCAL_HOSTS and `host` (a
 *   classroom server bound to 0.0.0.0 needs the machine's name or address).
 * - extraPaths: more of the root to publish, for callers that need test
 *   pages (see parseExtraPath).
 * - dataDir: a folder published, read-only, under /data/.
 * - allowDataFrom: origins the page may fetch datasets from (see securityHeaders).
 */
export async function startServer({ port = 8080, root = '.', host = '127.0.0.1', allowHosts = [], extraPaths = [], dataDir = null, allowDataFrom = [] } = {}) {
  const absRoot = await realpath(resolve(root));
  const headers = securityHeaders(allowDataFrom.map(parseDataOrigin));
  const mounts = [{ prefix: '/', dir: absRoot, published: [...APP_PATHS, ...extraPaths.map(parseExtraPath)] }];
  if (dataDir) mounts.unshift({ prefix: DATA_PREFIX, dir: await dataFolder(dataDir), published: ['/'] });
  const hosts = new Set([...LOCAL_HOSTS, host.toLowerCase().replace(/^\[(.*)\]$/, '$1'), ...allowHosts.map(parseAllowedHost)]);
  const site = { hosts, mounts };
  const server = createServer({ maxHeaderSize: MAX_HEADER_SIZE }, (req, res) => {
    res.securityHeaders = headers;
    handle(site, req, res).catch((err) => {
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
    hosts: [...hosts],
    url: `http://${host.includes(':') ? `[${host}]` : host}:${realPort}/`,
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        server.closeAllConnections?.();
      }),
  };
}

const USAGE = 'usage: node scripts/serve.mjs [--port 8080] [--root .] [--host 127.0.0.1] [--allow-host NAME]... [--allow-data-from ORIGIN]... [--data-dir DIR]';

const HELP = `${USAGE}
  --port N                  listen on port N (0 picks a free one)
  --root DIR                the site's folder (default: the current one); only the app's files in it are served
  --host ADDR               the address to listen on (default 127.0.0.1; 0.0.0.0 for every network)
  --allow-host NAME         also answer requests addressed to NAME (a host name or IP address, e.g. the
                            machine's name for a classroom server bound with --host 0.0.0.0); repeatable.
                            Without it only localhost, 127.0.0.1, ::1 and the --host address are answered
  --allow-data-from ORIGIN  let the page load datasets from ORIGIN (e.g. https://example.org; https: for any HTTPS site)
  --data-dir DIR            serve DIR read-only under /data/, so the page's Dataset URL box loads data/FILE`;

function parseArgs(argv) {
  const opts = { port: 8080, root: '.', allowDataFrom: [], allowHosts: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [key, inline] = a.includes('=') ? a.split(/=(.*)/s, 2) : [a, undefined];
    const value = () => {
      const v = inline !== undefined ? inline : argv[++i];
      if (!v) throw new Error(`missing value for ${key}`);
      return v;
    };
    if (key === '--port' || key === '-p') {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`invalid --port`);
      opts.port = v;
    } else if (key === '--root' || key === '-r') {
      opts.root = value();
    } else if (key === '--allow-data-from') {
      opts.allowDataFrom.push(parseDataOrigin(value()));
    } else if (key === '--allow-host') {
      opts.allowHosts.push(parseAllowedHost(value()));
    } else if (key === '--data-dir') {
      opts.dataDir = value();
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
    console.error(`serve: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(HELP);
    process.exit(0);
  }
  let started;
  try {
    started = await startServer(opts);
  } catch (err) {
    console.error(`serve: ${err.message}`);
    process.exit(1);
  }
  console.log(`ResLab on http://localhost:${started.port}`);
  console.log(`answering to ${started.hosts.join(', ')} (more with --allow-host NAME)`);
  if (opts.dataDir) console.log(`serving ${resolve(opts.dataDir)} read-only under ${DATA_PREFIX}`);
}
