// The results table as CSV, for spreadsheets. A label comes from whoever
// named the run (or from an imported file), so a cell a spreadsheet would
// read as a formula is escaped: opening the CSV must never run anything.
//
// No DOM here: this module also runs under node for tests.

import { configColumns, formatConfigValue } from './results-table.js';

/**
 * A cell a spreadsheet could read as a formula: one starting with = + - @, tab
 * or carriage return. Whitespace before = + - @ counts too: an importer that
 * trims spaces (LibreOffice's "Trim spaces" option) sees the sign first once
 * they are gone, and the escape costs such a label one character. Full-width
 * signs (＝ ＋ － ＠) are left alone: no spreadsheet is known to evaluate them
 * when it opens a file, and escaping them would put a stray ' before labels
 * that merely start with one.
 */
const FORMULA_START = /^(?:[\t\r]|\s*[=+\-@])/;
/**
 * A plain number in full, as String(number) and formatNumber write them
 * (-0.25, 1e-5, -12): kept as is so numeric columns stay numbers. Only a
 * minus may lead; "+3" can only be typed text here and stays text.
 */
const PLAIN_NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/** One CSV cell: formula-escaped, then quoted when it holds a quote, comma or line break. */
function csvCell(v) {
  const s = v === null || v === undefined ? '' : String(v);
  // The leading ' makes the spreadsheet show the text instead of evaluating it.
  const safe = FORMULA_START.test(s) && !PLAIN_NUMBER.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The results table as CSV: fixed columns plus the differing config fields. */
export function toCsv(runs) {
  const fields = configColumns(runs);
  const head = ['run', 'label', ...fields, 'status', 'best_val_accuracy', 'final_val_accuracy', 'test_accuracy',
    'wall_seconds', 'img_per_s', 'backend', 'message'];
  const lines = [head.map(csvCell).join(',')];
  for (const r of runs) {
    lines.push([
      r.id, r.label, ...fields.map((f) => formatConfigValue(f, r.config?.[f])), r.status,
      r.bestVal ?? '', r.finalVal ?? '', r.testAccuracy ?? '', r.elapsed ?? '', r.imgPerS ?? '', r.backend ?? '', r.message ?? '',
    ].map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}
