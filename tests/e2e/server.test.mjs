// The static server: MIME types, security headers, .gz served as bytes,
// path traversal refused; only the app published (never the rest of the
// repository or a dot-name), only local host names answered, long shared
// links accepted. Needs no engine build.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseAllowedHost, parseDataOrigin, parseExtraPath, startServer } from '../../scripts/serve.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Raw GET (no URL normalisation by the client); `headers` may set Host. */
function get(port, path, method = 'GET', headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An HTTP/1.0 request with no Host header (Node's client always sends one). */
function getWithoutHost(port, path) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(`GET ${path} HTTP/1.0\r\n\r\n`));
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      resolve({ status: Number(/^HTTP\/1\.\d (\d{3})/.exec(text)?.[1]), text });
    });
    socket.on('error', reject);
  });
}

/** Asserts that `path` is a 404 whose body holds nothing of `content`. */
async function assertHidden(port, path, content = '') {
  const r = await get(port, path);
  assert.equal(r.status, 404, `${path} → ${r.status}`);
  const snippet = content.trim().slice(0, 40);
  if (snippet) assert.ok(!r.body.toString().includes(snippet), `${path} leaked its content`);
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
    symlinkSync(outside, join(dir, 'www', 'escape'));
    // Inside the root but not published: a link in www/ must not reach it.
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'lib.rs'), 'fn private_source() {}');
    symlinkSync(join('..', 'src'), join(dir, 'www', 'src-link'));
    // Dot-names in published folders.
    writeFileSync(join(dir, 'www', '.secret'), 'dot secret');
    mkdirSync(join(dir, 'www', '.hidden'));
    writeFileSync(join(dir, 'www', '.hidden', 'x.js'), 'hidden module');
    writeFileSync(join(dir, 'pkg', '.env'), 'TOKEN=dot-env');
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
    for (const p of ['/../etc/passwd', '/www/../../etc/passwd', '/%2e%2e/etc/passwd', '/www/%2e%2e%2f%2e%2e%2fetc/passwd', '/..%5c..%5cetc/passwd', '/www/escape/secret.txt']) {
      const r = await get(srv.port, p);
      assert.ok(r.status === 403 || r.status === 400 || r.status === 404, `${p} → ${r.status}`);
      assert.ok(!r.body.toString().includes('root:') && !r.body.toString().includes('secret'), `${p} leaked`);
    }
  });

  test('a symlink in a published folder does not publish what it points to inside the root', async () => {
    assert.equal((await get(srv.port, '/www/app.js')).status, 200);
    await assertHidden(srv.port, '/www/src-link/lib.rs', 'fn private_source');
    await assertHidden(srv.port, '/src/lib.rs', 'fn private_source');
  });

  test('dot-files and dot-folders are 404 in every published folder, however the dot is spelt', async () => {
    for (const [p, content] of [['/www/.secret', 'dot secret'], ['/www/%2esecret', 'dot secret'], ['/www/.hidden/x.js', 'hidden module'], ['/pkg/.env', 'TOKEN=dot-env']]) {
      await assertHidden(srv.port, p, content);
    }
  });

  test('answers only to local host names; another name gets 421 saying how to allow it', async () => {
    for (const host of ['localhost', `localhost:${srv.port}`, `127.0.0.1:${srv.port}`, `[::1]:${srv.port}`, `LOCALHOST:${srv.port}`]) {
      assert.equal((await get(srv.port, '/', 'GET', { Host: host })).status, 200, host);
    }
    for (const host of ['evil.example', `evil.example:${srv.port}`, `localhost.evil.example:${srv.port}`, `localhost@evil.example:${srv.port}`, `evil.example/localhost`]) {
      const r = await get(srv.port, '/', 'GET', { Host: host });
      assert.equal(r.status, 421, `Host: ${host} → ${r.status}`);
      assert.ok(!r.body.toString().includes('<!doctype'), `Host: ${host} got the page`);
    }
    const body = (await get(srv.port, '/www/app.js', 'GET', { Host: `evil.example:${srv.port}` })).body.toString();
    assert.match(body, /"evil\.example:\d+"/);
    assert.match(body, /--allow-host evil\.example\./);
    assert.ok(!body.includes('export {}'), body);
    const bare = await getWithoutHost(srv.port, '/');
    assert.equal(bare.status, 421, bare.text);
    assert.ok(!bare.text.includes('<!doctype'), bare.text);
  });

  test('a shared-study link of up to 100,000 characters in ?grid= opens (no 431)', async () => {
    for (const n of [40_000, 100_000]) {
      const r = await get(srv.port, `/?grid=${'A'.repeat(n)}`);
      assert.equal(r.status, 200, `${n} characters → ${r.status}`);
      assert.match(r.headers['content-type'], /^text\/html/);
    }
  });
});

describe('the real repository as the root', () => {
  let srv;
  before(async () => {
    srv = await startServer({ port: 0, root: REPO });
  });
  after(() => srv?.close());

  test('the app is served and nothing else of the repository: sources, manifests, the kernels crate, test pages', async () => {
    for (const p of ['/', '/index.html', '/www/app.js', '/sw.js']) {
      assert.equal((await get(srv.port, p)).status, 200, p);
    }
    const files = ['Cargo.toml', 'src/lib.rs', '.gitignore', 'README.md', 'package.json', 'scripts/serve.mjs', 'tests/e2e/engine/index.html', firstFile(join(REPO, 'crates'))];
    for (const f of files) {
      // Each file exists, so a 404 means refused, not missing.
      assert.ok(statSync(join(REPO, f)).isFile(), `${f} is missing: the check would pass vacuously`);
      await assertHidden(srv.port, `/${f}`, readFileSync(join(REPO, f), 'utf8'));
    }
  });

  test('.git is not served (from a fixture when this tree has no .git/config)', async (t) => {
    const config = join(REPO, '.git', 'config');
    if (existsSync(config) && statSync(config).isFile()) {
      await assertHidden(srv.port, '/.git/config', readFileSync(config, 'utf8'));
      await assertHidden(srv.port, '/.git/HEAD', readFileSync(join(REPO, '.git', 'HEAD'), 'utf8'));
      return;
    }
    // A worktree (.git is a file) or an exported tree: the same layout, made here.
    const dir = mkdtempSync(join(tmpdir(), 'reslab-git-'));
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(dir, '.git', 'config'), '[remote "origin"]\n\turl = https://token@example.org/x.git\n');
    const fixture = await startServer({ port: 0, root: dir });
    t.after(async () => {
      await fixture.close();
      rmSync(dir, { recursive: true, force: true });
    });
    assert.equal((await get(fixture.port, '/')).status, 200);
    await assertHidden(fixture.port, '/.git/config', '[remote "origin"]');
  });

  test('test pages are served only when the caller asks (extraPaths)', async () => {
    const page = readFileSync(join(REPO, 'tests/e2e/engine/index.html'), 'utf8');
    await assertHidden(srv.port, '/tests/e2e/engine/index.html', page);
    const withPages = await startServer({ port: 0, root: REPO, extraPaths: ['tests/e2e/engine/'] });
    try {
      for (const p of ['/tests/e2e/engine/index.html', '/tests/e2e/engine/', '/tests/e2e/engine/worker.js', '/www/app.js', '/www/bench.html']) {
        assert.equal((await get(withPages.port, p)).status, 200, p);
      }
      assert.equal((await get(withPages.port, '/tests/e2e/engine/')).body.toString(), page);
      // Only those folders: their neighbours stay unpublished.
      await assertHidden(withPages.port, '/tests/e2e/engine.test.mjs');
      await assertHidden(withPages.port, '/scripts/serve.mjs');
    } finally {
      await withPages.close();
    }
    for (const bad of ['/', '', '.', '.git/', 'www/.hidden/', '../outside/', 'a//b']) {
      assert.throws(() => parseExtraPath(bad), /not a file or folder inside the root/, bad);
    }
  });
});

/** The first file (by name, no dot-names) under dir, relative to REPO. */
function firstFile(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true }).filter((e) => !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, e.name);
    if (e.isFile()) return full.slice(REPO.length + 1);
    if (e.isDirectory()) {
      const inner = firstFile(full);
      if (inner) return inner;
    }
  }
  return null;
}

describe('--allow-host', () => {
  test('adds exactly the names given; others are still refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reslab-serve-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    const srv = await startServer({ port: 0, root: dir, allowHosts: ['ResLab.School.lan', '192.168.1.20', '[fd00::1]'] });
    try {
      for (const host of [`reslab.school.lan:${srv.port}`, '192.168.1.20', `[fd00::1]:${srv.port}`, `127.0.0.1:${srv.port}`]) {
        assert.equal((await get(srv.port, '/', 'GET', { Host: host })).status, 200, host);
      }
      for (const host of [`other.school.lan:${srv.port}`, 'school.lan', '192.168.1.21']) {
        assert.equal((await get(srv.port, '/', 'GET', { Host: host })).status, 421, host);
      }
    } finally {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses what is not a host name or address', () => {
    assert.equal(parseAllowedHost('[FD00::1]'), 'fd00::1');
    for (const bad of ['', '*', '*.example.org', 'host:8080', 'a b', 'http://host', 'host/']) {
      assert.throws(() => parseAllowedHost(bad), /not a host name or IP address/, bad);
    }
  });
});

describe('--data-dir', () => {
  test('serves the folder read-only under /data/, with the same refusals', async () => {
    const root = mkdtempSync(join(tmpdir(), 'reslab-serve-'));
    const data = mkdtempSync(join(tmpdir(), 'reslab-data-'));
    const outside = mkdtempSync(join(tmpdir(), 'reslab-outside-'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(outside, 'secret.txt'), 'outside secret');
    mkdirSync(join(data, 'cifar'));
    writeFileSync(join(data, 'cifar', 'train.bin'), Buffer.from([1, 2, 3]));
    writeFileSync(join(data, '.hidden'), 'dot secret');
    symlinkSync(outside, join(data, 'escape'));
    const srv = await startServer({ port: 0, root, dataDir: data });
    try {
      const r = await get(srv.port, '/data/cifar/train.bin');
      assert.equal(r.status, 200);
      assert.deepEqual([...r.body], [1, 2, 3]);
      assert.equal((await get(srv.port, '/data')).status, 301);
      assert.equal((await get(srv.port, '/data/cifar/train.bin', 'PUT')).status, 405);
      assert.equal((await get(srv.port, '/')).status, 200);
      await assertHidden(srv.port, '/data/.hidden', 'dot secret');
      for (const p of ['/data/escape/secret.txt', '/data/../index.html', '/data/%2e%2e/index.html']) {
        const bad = await get(srv.port, p);
        assert.ok([400, 403, 404].includes(bad.status), `${p} → ${bad.status}`);
        assert.ok(!bad.body.toString().includes('secret'), `${p} leaked`);
      }
      await assert.rejects(startServer({ port: 0, root, dataDir: join(root, 'no-such-folder') }), /--data-dir: .* is not a folder/);
      await assert.rejects(startServer({ port: 0, root, dataDir: join(root, 'index.html') }), /--data-dir: .* is not a folder/);
    } finally {
      await srv.close();
      for (const d of [root, data, outside]) rmSync(d, { recursive: true, force: true });
    }
  });
});

test('--help and the usage line name the flags', () => {
  const help = execFileSync(process.execPath, [join(REPO, 'scripts/serve.mjs'), '--help'], { encoding: 'utf8' });
  for (const flag of ['--port', '--root', '--host', '--allow-host', '--allow-data-from', '--data-dir']) assert.ok(help.includes(flag), `--help lacks ${flag}`);
  let usage = '';
  try {
    execFileSync(process.execPath, [join(REPO, 'scripts/serve.mjs'), '--no-such-flag'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    assert.equal(err.status, 2);
    usage = err.stderr;
  }
  assert.match(usage, /unknown argument --no-such-flag/);
  for (const flag of ['--allow-host', '--data-dir']) assert.ok(usage.includes(flag), `usage lacks ${flag}: ${usage}`);
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
