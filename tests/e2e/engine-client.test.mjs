// The page's one request/reply mechanism (www/engine-client.js), against a
// stand-in worker under node: a reply settles the request with its id; an
// error reply rejects it (and is told to the error subscribers as answered);
// a restart or a failed engine rejects every request still waiting with the
// reason, so nothing waits for ever; unasked messages go to their
// subscribers; a reply to a request given up is dropped.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError, engineClient } from '../../www/engine-client.js';

/** A stand-in for the module worker: keeps what is posted, answers when told. */
class FakeWorker {
  static all = [];
  constructor(url, options) {
    this.url = String(url);
    this.options = options;
    this.posted = [];
    this.terminated = false;
    FakeWorker.all.push(this);
  }
  postMessage(msg) {
    this.posted.push(msg);
  }
  terminate() {
    this.terminated = true;
  }
  /** The worker says `data`. */
  say(data) {
    this.onmessage?.({ data });
  }
}

function client() {
  globalThis.Worker = FakeWorker;
  FakeWorker.all = [];
  const engine = engineClient({ url: 'worker.js', name: 'test' });
  engine.start();
  return { engine, worker: () => FakeWorker.all.at(-1) };
}

test('a reply settles the request with its id, whatever the order of the answers', async () => {
  const { engine, worker } = client();
  const a = engine.request('describe', { config: { model: 'cnn' } });
  const b = engine.request('validate', { config: {} });
  const [ma, mb] = worker().posted;
  assert.equal(ma.type, 'describe');
  assert.deepEqual(ma.config, { model: 'cnn' });
  assert.notEqual(ma.id, mb.id);
  worker().say({ type: 'reply', id: mb.id, value: ['b'] });
  worker().say({ type: 'reply', id: ma.id, value: 'a' });
  assert.equal(await a, 'a');
  assert.deepEqual(await b, ['b']);
  assert.equal(engine.waiting, 0);
  assert.deepEqual(FakeWorker.all[0].options, { type: 'module', name: 'test' });
});

test('an error reply rejects with its message, context and fatality, and the error subscribers hear it as answered', async () => {
  const { engine, worker } = client();
  const heard = [];
  engine.on('error', (m) => heard.push(m));
  const p = engine.request('train', { runId: 1 });
  worker().say({ type: 'error', id: worker().posted[0].id, context: 'train', message: 'boom', fatal: true });
  await assert.rejects(p, (err) => err instanceof EngineError && err.message === 'boom' && err.context === 'train' && err.fatal && !err.gone);
  assert.equal(heard.length, 1);
  assert.equal(heard[0].answered, true);
});

test('a restart or a failed engine rejects every request still waiting with the reason', async () => {
  const { engine, worker } = client();
  const first = worker();
  const waits = [engine.request('load-model', { key: 'k' }), engine.request('measure', { configs: [] })];
  engine.stop('The training engine crashed.');
  assert.equal(first.terminated, true);
  for (const w of waits) {
    await assert.rejects(w, (err) => err instanceof EngineError && err.gone && err.message === 'The training engine crashed.');
  }
  // No worker: a request fails at once instead of waiting.
  await assert.rejects(engine.request('expand', {}), (err) => err.gone);
  engine.start();
  const again = engine.request('presets');
  engine.abandon('The training engine failed to load.');
  await assert.rejects(again, (err) => err.gone && /failed to load/.test(err.message));
  assert.equal(engine.waiting, 0);
});

test('unasked messages go to their subscribers; a reply nobody waits for, or from a replaced worker, is dropped', async () => {
  const { engine, worker } = client();
  const events = [];
  const errors = [];
  const off = engine.on('event', (m) => events.push(m.event.type));
  engine.on('error', (m) => errors.push(m));
  const old = worker();
  old.say({ type: 'event', runId: 1, event: { type: 'start' } });
  old.say({ type: 'error', context: 'worker', message: 'refused' });
  old.say({ type: 'reply', id: 999, value: 'late' });
  assert.deepEqual(events, ['start']);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].answered, false);
  off();
  old.say({ type: 'event', runId: 1, event: { type: 'steps' } });
  assert.deepEqual(events, ['start']);
  engine.stop('restart');
  engine.start();
  engine.on('event', (m) => events.push(m.event.type));
  old.say({ type: 'event', runId: 1, event: { type: 'epoch' } });
  worker().say({ type: 'event', runId: 2, event: { type: 'finished' } });
  assert.deepEqual(events, ['start', 'finished']);
});

test('a command has no answer and nothing waits for it', () => {
  const { engine, worker } = client();
  assert.equal(engine.post('pause'), true);
  assert.deepEqual(worker().posted, [{ type: 'pause' }]);
  assert.equal(engine.waiting, 0);
  engine.stop('gone');
  assert.equal(engine.post('stop'), false);
});
