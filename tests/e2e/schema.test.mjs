// One schema for page, engine and CLI: every config field of the engine's
// schema has a control on the page, a URL key and a CLI flag, each listed
// once; the page's <option>s are the schema's; the engine running in the
// page gives the same schema as the page's own copy (www/schema.js).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MINUTE, REPO, openApp, requireBuild, waitForBackend } from './helpers.mjs';
import { SCHEMA } from '../../www/schema.js';
import { AppState, FIELDS, queryFromState, stateFromQuery } from '../../www/state.js';

requireBuild();

const names = SCHEMA.fields.map((f) => f.name);

/** A valid value other than the field's default, for the URL round trip. */
function otherValue(f) {
  switch (f.type) {
    case 'enum': return f.values.map((c) => c.value).find((v) => v !== f.default);
    case 'bool': return f.default === true ? false : true;
    case 'intlist': return [7, 11];
    case 'int': return (f.default ?? f.min ?? 1) + 3;
    case 'number': return f.max !== undefined ? (f.min ?? 0) / 2 + f.max / 2 : (f.default ?? 1) * 3 || 0.5;
    default: throw new Error(`no test value for ${f.name} (${f.type})`);
  }
}

test('every schema field is declared once, and has a URL key the page reads back', () => {
  assert.equal(new Set(names).size, names.length, `a field listed twice: ${names}`);
  assert.deepEqual(Object.keys(FIELDS), names, 'the page parses exactly the schema fields');
  for (const f of SCHEMA.fields) {
    const value = otherValue(f);
    if (f.name === 'dataset') {
      // The dataset's URL key picks the built-in sample of that kind, which sets the field.
      const { state, messages } = stateFromQuery('?dataset=cifar10');
      assert.deepEqual(messages, []);
      assert.equal(state.configForEngine().dataset, 'cifar10');
      continue;
    }
    const s = new AppState();
    s.set(f.name, value);
    const query = queryFromState(s);
    assert.match(query, new RegExp(`[?&]${f.name}=`), `${f.name} has a URL key: ${query}`);
    const { state, messages } = stateFromQuery(query);
    assert.deepEqual(messages, [], `${f.name}: ${messages}`);
    assert.deepEqual(state.config[f.name], value, `${f.name} survives the URL`);
  }
});

test('every schema field has a CLI flag named after it, and no flag is listed twice', () => {
  const dir = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/reslab/target');
  const bin = [join(dir, 'release/reslab'), join(REPO, 'target/release/reslab')].find(existsSync);
  assert.ok(bin, `the reslab CLI is not built (cargo build --release, with CARGO_TARGET_DIR=${dir})`);
  const help = spawnSync(bin, ['train', '--help'], { encoding: 'utf8' }).stdout;
  const flags = [...help.matchAll(/^\s+--([a-z0-9-]+)/gm)].map((m) => m[1]);
  assert.equal(new Set(flags).size, flags.length, `a flag listed twice: ${flags}`);
  for (const f of SCHEMA.fields) assert.ok(flags.includes(f.name.replaceAll('_', '-')), `no --${f.name} in train --help`);
});

test('the page has a control for every field, its options from the schema, and the engine agrees', { timeout: 5 * MINUTE }, async () => {
  const app = await openApp({ query: '?backend=cpu' });
  try {
    await waitForBackend(app.page);
    const page = await app.page.evaluate(async (fields) => {
      const controls = {};
      for (const name of fields) {
        const el = document.getElementById(name === 'dataset' ? 'data' : name);
        controls[name] = el ? { tag: el.tagName, options: el.tagName === 'SELECT' ? [...el.querySelectorAll('option')].map((o) => [o.value, o.textContent]) : null } : null;
      }
      return { controls, matches: window.__reslab.schemaMatches };
    }, names);
    assert.equal(page.matches, true, "the engine's config_schema() is the page's schema.js");
    for (const f of SCHEMA.fields) {
      const c = page.controls[f.name];
      assert.ok(c, `no control for ${f.name}`);
      if (f.type === 'enum' && f.name !== 'dataset') {
        const want = f.name === 'model' ? SCHEMA.models.map((m) => [m.id, m.label]) : f.values.map((v) => [v.value, v.label]);
        assert.deepEqual(c.options, want, `${f.name}'s options`);
      }
    }
    assert.deepEqual(app.pageErrors, []);
  } finally {
    await app.close();
  }
});
