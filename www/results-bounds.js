// What one run record may carry: the limits on its lists and its text, and
// boundRecord(), which cuts overlong text. A run comes from a file anyone can
// write (an import) or from IndexedDB; without bounds one entry could hold a
// label of megabytes that every table render, reload and CSV export pays for.
// Also the small value checks the importer and the results table share.
//
// No DOM here: this module also runs under node for tests.

/** A plain object (not null, not a list). */
export const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
/** A finite number. */
export const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
/** A finite number, null, or absent: the result JSON's optional numbers. */
export const numOrNull = (v) => v === null || v === undefined || isNum(v);

/** 10000000 → "10,000,000", the same in every locale. */
export const grouped = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** Loss-curve points ("steps"). */
const MAX_POINTS = 2_000_000;
/** Epoch entries ("epochs"). */
const MAX_EPOCHS = 10_000;
/** Classes: per_class_accuracy entries, and rows and columns of confusion_matrix. */
const MAX_CLASSES = 1_000;
/** Test-image predictions ("test_predictions"). */
const MAX_PREDICTIONS = 100_000;
/** Layers with a recorded output std ("layer_std"). */
const MAX_LAYERS = 2_000;

/** Lists longer than these are refused (cutting would misstate the run). */
export const LIST_LIMITS = Object.freeze({
  epochs: MAX_EPOCHS,
  steps: MAX_POINTS,
  per_class_accuracy: MAX_CLASSES,
  confusion_matrix: MAX_CLASSES,
  test_predictions: MAX_PREDICTIONS,
  layer_std: MAX_LAYERS,
});

/** The keys a run's "group" (the study it belongs to) may have. */
export const GROUP_KEYS = ['kind', 'id', 'name', 'budget', 'scale'];

/**
 * Longest text each field keeps, in characters (Unicode code points, so a cut
 * never leaves half a surrogate pair). Longer text is cut with a note rather
 * than refused: the rest of the run is still worth having.
 */
export const TEXT_LIMITS = Object.freeze({
  label: 200,
  message: 2_000,
  dataset_label: 200,
  backend: 100,
  'group.kind': 80,
  'group.id': 80,
  'group.name': 200,
  'group.budget': 80,
  'group.scale': 80,
  'layer_std.name': 200,
});

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

/** Number of code points in s (a surrogate pair counts once). */
function codePointCount(s) {
  let n = s.length;
  for (let i = 0; i + 1 < s.length; i++) {
    if (isHigh(s.charCodeAt(i)) && isLow(s.charCodeAt(i + 1))) {
      n--;
      i++;
    }
  }
  return n;
}

/**
 * The first `max` code points of s, walking only as far as the cut: a label
 * of megabytes is not spread into an array to find its first 200 characters.
 */
function firstCodePoints(s, max) {
  let i = 0;
  for (let n = 0; n < max && i < s.length; n++) {
    i += isHigh(s.charCodeAt(i)) && i + 1 < s.length && isLow(s.charCodeAt(i + 1)) ? 2 : 1;
  }
  return s.slice(0, i);
}

/** s cut to TEXT_LIMITS[field], pushing a note when it was longer; non-strings pass. */
function cutText(s, field, where, notes) {
  const max = TEXT_LIMITS[field];
  // Code points never outnumber code units, so a short string needs no walk.
  if (typeof s !== 'string' || s.length <= max) return s;
  const kept = firstCodePoints(s, max);
  if (kept.length === s.length) return s;
  notes.push(`${where} cut from ${grouped(codePointCount(s))} to ${grouped(max)} characters`);
  return kept;
}

/**
 * Applies TEXT_LIMITS to a record (exportRecord's shape): to every imported
 * entry, and to records read back from IndexedDB, which may predate the
 * limits. Returns {record, notes}: `record` is the input itself when nothing
 * was cut, otherwise a copy sharing the unchanged parts (curves, matrices);
 * `notes` has one line per cut, e.g. "label cut from 10,000,000 to 200 characters"
 * or "layer_std[3].name cut from 512 to 200 characters". Lists are not bounded
 * here: parseImport refuses an entry with an overlong list.
 */
export function boundRecord(rec) {
  const notes = [];
  if (!isObj(rec)) return { record: rec, notes };
  let out = rec;
  const put = (k, v) => {
    if (v === rec[k]) return;
    if (out === rec) out = { ...rec };
    out[k] = v;
  };
  for (const k of ['label', 'message', 'dataset_label', 'backend']) put(k, cutText(rec[k], k, k, notes));
  if (isObj(rec.group)) {
    let group = rec.group;
    for (const k of GROUP_KEYS) {
      const v = cutText(rec.group[k], `group.${k}`, `group.${k}`, notes);
      if (v === rec.group[k]) continue;
      if (group === rec.group) group = { ...rec.group };
      group[k] = v;
    }
    put('group', group);
  }
  if (Array.isArray(rec.layer_std)) {
    let layers = rec.layer_std;
    rec.layer_std.forEach((l, j) => {
      if (!isObj(l)) return;
      const name = cutText(l.name, 'layer_std.name', `layer_std[${j}].name`, notes);
      if (name === l.name) return;
      if (layers === rec.layer_std) layers = rec.layer_std.slice();
      layers[j] = { ...l, name };
    });
    put('layer_std', layers);
  }
  return { record: out, notes };
}
