// The static server: MIME types, security headers, .gz served as bytes,
// path traversal refused. Needs no engine build.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseDataOrigin, startServer } from '../../scripts/serve.mjs';

/** Raw GET (no URL normalisation by the client). */
function get(port, path, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('scripts/serve.mjs', () => {
  let dir;
  let outside;
  let srv;
  const gz = gzipSync(Buffer.from('hello sample'));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reslab-serve-'));
    outside = mkdtempSync(join(tmpdir(), 'reslab-outside-'));
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    mkdirSync(join(dir, 'www'));
    mkdirSync(join(dir, 'pkg'));
    mkdirSync(join(dir, 'assets', 'sample', 'mnist'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(dir, 'www', 'app.js'), 'export {};');
    writeFileSync(join(dir, 'pkg', 'reslab_bg.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    writeFileSync(join(dir, 'assets', 'sample', 'mnist', 'train-images-idx3-ubyte.gz'), gz);
    symlinkSync(outside, join(dir, 'escape'));
    srv = await startServer({ port: 0, root: dir });
  });

  after(async () => {
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  test('port 0 gives a real port', () => {
    assert.ok(srv.port > 0);
  });

  test('index.html with isolation and CSP headers', async () => {
    const r = await get(srv.port, '/');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/html/);
    assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.equal(r.headers['cache-control'], 'no-cache');
    const csp = r.headers['content-security-policy'];
    for (const part of ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self';", "img-src 'self';", "connect-src 'self';", "worker-src 'self'"]) {
      assert.ok(csp.includes(part), `CSP lacks ${part}: ${csp}`);
    }
  });

  test('MIME types for js and wasm', async () => {
    const js = await get(srv.port, '/www/app.js');
    assert.match(js.headers['content-type'], /^text\/javascript/);
    const wasm = await get(srv.port, '/pkg/reslab_bg.wasm');
    assert.equal(wasm.headers['content-type'], 'application/wasm');
    assert.equal(wasm.body.length, 8);
  });

  test('.gz is served as raw bytes without Content-Encoding', async () => {
    const r = await get(srv.port, '/assets/sample/mnist/train-images-idx3-ubyte.gz');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/gzip');
    assert.equal(r.headers['content-encoding'], undefined);
    assert.deepEqual(r.body, gz);
  });

  test('HEAD has headers and no body', async () => {
    const r = await get(srv.port, '/www/app.js', 'HEAD');
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers['content-length'], String('export {};'.length));
  });

  test('missing files are 404, other methods 405', async () => {
    assert.equal((await get(srv.port, '/nope.js')).status, 404);
    assert.equal((await get(srv.port, '/www/app.js', 'POST')).status, 405);
  });

  test('path traversal is refused', async () => {
    for (const p of ['/../etc/passwd', '/www/../../etc/passwd', '/%2e%2e/etc/passwd', '/www/%2e%2e%2f%2e%2e%2fetc/passwd', '/..%5c..%5cetc/passwd', '/escape/secret.txt']) {
      const r = await get(srv.port, p);
      assert.ok(r.status === 403 || r.status === 400 || r.status === 404, `${p} → ${r.status}`);
      assert.ok(!r.body.toString().includes('root:') && !r.body.toString().includes('secret'), `${p} leaked`);
    }
  });
});

describe('--allow-data-from', () => {
  test('adds exactly the given origins to connect-src, on every response', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reslab-serve-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    const srv = await startServer({ port: 0, root: dir, allowDataFrom: ['https://data.example.org/', 'http://127.0.0.1:9000'] });
    try {
      for (const path of ['/', '/missing.bin']) {
        const csp = (await get(srv.port, path)).headers['content-security-policy'];
        assert.ok(csp.includes("connect-src 'self' https://data.example.org http://127.0.0.1:9000;"), csp);
        assert.ok(csp.includes("script-src 'self' 'wasm-unsafe-eval';"), csp);
      }
    } finally {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses anything that is not an origin (it could widen the policy)', () => {
    assert.equal(parseDataOrigin('https:'), 'https:');
    for (const bad of ['*', 'ftp://x.org', 'https://x.org/data', "https://x.org 'unsafe-eval'", 'https://x.org; script-src *', '']) {
      assert.throws(() => parseDataOrigin(bad), /not an origin/, bad);
    }
  });
});
