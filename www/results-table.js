// The results table's columns: which config fields are shown, how their
// values read, and how runs sort by a column. No DOM here: this module also
// runs under node for tests.

import { differingFields, formatField } from './state.js';
import { isObj } from './results-bounds.js';

/** Config fields shown as columns: those that differ between the runs (model at least). */
export function configColumns(runs) {
  const fields = differingFields(runs.map((r) => r.config));
  if (!fields.includes('model')) fields.unshift('model');
  return fields;
}

export function formatConfigValue(key, value) {
  if (value === null || value === undefined) return key === 'augment' ? 'auto' : '—';
  return formatField(key, value) || '—';
}

/** Sort key of a run for a column id. */
export function sortValue(run, col) {
  switch (col) {
    case 'id': return run.id;
    case 'label': return run.label ?? '';
    case 'status': return run.status ?? '';
    case 'best_val': return run.bestVal ?? -1;
    case 'final_val': return run.finalVal ?? -1;
    case 'test': return run.testAccuracy ?? -1;
    case 'time': return run.elapsed ?? 0;
    case 'speed': return run.imgPerS ?? 0;
    case 'backend': return run.backend ?? '';
    default: {
      if (col.startsWith('cfg:')) {
        const v = run.config?.[col.slice(4)];
        return typeof v === 'number' ? v : JSON.stringify(v ?? null);
      }
      return 0;
    }
  }
}

export function sortRuns(runs, col, dir) {
  const sign = dir === 'asc' ? 1 : -1;
  return runs.slice().sort((a, b) => {
    const x = sortValue(a, col);
    const y = sortValue(b, col);
    if (x < y) return -sign;
    if (x > y) return sign;
    return a.id - b.id;
  });
}

/** Reference entries of a preset that match a run's config. */
export function referencesFor(preset, config) {
  if (!preset || !Array.isArray(preset.reference)) return [];
  return preset.reference.filter((ref) => isObj(ref.match) &&
    Object.entries(ref.match).every(([k, v]) => JSON.stringify(config?.[k]) === JSON.stringify(v)));
}
