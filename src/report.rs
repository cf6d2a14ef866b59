//! Result JSONs merged into one results table (`reslab report`): the columns
//! of the page's results table and of its *Export CSV* (`toCsv` in
//! www/results.js), as Markdown or CSV.
//!
//! A table of runs from several machines is only trustworthy if it is the
//! table one machine would have made, so the columns follow the page's
//! rules: the config fields that differ between the runs (the model always),
//! then status, accuracies, time, speed and backend. No file system here:
//! the caller reads the files and names them.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::ExperimentConfig;
use crate::lab::{self, Reference};

/// Statuses a result may have: the CLI's, and the page's own (an export can
/// hold runs that were interrupted, evaluated, or still going).
const STATUSES: [&str; 8] = ["finished", "stopped", "diverged", "failed", "interrupted", "evaluated", "running", "preparing"];

/// One run of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Where it comes from: the file's name without `.json` ("03-resnet20"),
    /// with `#k` for the k-th run of a file that holds a list.
    pub run: String,
    /// The result's `label` (grid/preset runs, the page's runs), else the model id.
    pub label: String,
    pub config: ExperimentConfig,
    pub status: String,
    pub message: String,
    pub backend: Option<String>,
    pub best_val_accuracy: Option<f64>,
    pub final_val_accuracy: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub wall_seconds: f64,
    pub img_per_s: f64,
    /// The preset it was run for (`group` of a preset's run), whose paper
    /// numbers it is compared with.
    pub preset: Option<String>,
    /// The result JSON as read, all of it.
    pub record: Value,
}

/// The part of a result JSON the table needs. Other keys (curves, confusion
/// matrix, the page's `layer_std`, …) are ignored.
#[derive(Deserialize)]
struct Raw {
    config: ExperimentConfig,
    status: String,
    message: Option<String>,
    backend: Option<String>,
    label: Option<String>,
    group: Option<Map<String, Value>>,
    best_val_accuracy: Option<f64>,
    final_val_accuracy: Option<f64>,
    test_accuracy: Option<f64>,
    wall_seconds: Option<f64>,
    img_per_s: Option<f64>,
}

/// The runs of one file's text: a result JSON (the CLI's `train --out`), or
/// a list of them (the page's *Export JSON*, also as `{"runs": [...]}`).
/// `run` names the file's runs. Returns the runs read and one message per
/// run (or file) that is not a result.
pub fn read_results(run: &str, text: &str) -> (Vec<Entry>, Vec<String>) {
    let data: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return (vec![], vec![format!("not a JSON file ({e})")]),
    };
    let list = match data {
        Value::Object(ref m) if m.contains_key("config") => return one(run, data),
        Value::Array(list) => list,
        Value::Object(mut m) if matches!(m.get("runs"), Some(Value::Array(_))) => match m.remove("runs") {
            Some(Value::Array(list)) => list,
            _ => unreachable!("checked above"),
        },
        _ => return (vec![], vec!["not a run result (expected an object with \"config\", or a list of them)".into()]),
    };
    let (mut entries, mut errors) = (vec![], vec![]);
    for (k, item) in list.into_iter().enumerate() {
        let (e, errs) = one(&format!("{run}#{}", k + 1), item);
        entries.extend(e);
        errors.extend(errs.into_iter().map(|m| format!("run {}: {m}", k + 1)));
    }
    (entries, errors)
}

fn one(run: &str, v: Value) -> (Vec<Entry>, Vec<String>) {
    match entry(run, v) {
        Ok(e) => (vec![e], vec![]),
        Err(m) => (vec![], vec![m]),
    }
}

fn entry(run: &str, v: Value) -> Result<Entry, String> {
    if !matches!(&v, Value::Object(m) if m.contains_key("config")) {
        return Err("not a run result (no \"config\")".into());
    }
    let r: Raw = Raw::deserialize(&v).map_err(|e| format!("not a run result: {e}"))?;
    if !STATUSES.contains(&r.status.as_str()) {
        return Err(format!("not a run result: status '{}' (expected one of {})", r.status, STATUSES.join(", ")));
    }
    for (k, a) in [("best_val_accuracy", r.best_val_accuracy), ("final_val_accuracy", r.final_val_accuracy), ("test_accuracy", r.test_accuracy)] {
        if a.is_some_and(|a| !(0.0..=1.0).contains(&a)) {
            return Err(format!("{k} must be a fraction from 0 to 1"));
        }
    }
    let preset = r.group.as_ref().filter(|g| g.get("kind") == Some(&Value::from("preset"))).and_then(|g| g.get("id")?.as_str().map(String::from));
    Ok(Entry {
        run: run.to_string(),
        label: r.label.unwrap_or_else(|| r.config.model.clone()),
        status: r.status,
        message: r.message.unwrap_or_default(),
        backend: r.backend,
        best_val_accuracy: r.best_val_accuracy,
        final_val_accuracy: r.final_val_accuracy,
        test_accuracy: r.test_accuracy,
        wall_seconds: r.wall_seconds.unwrap_or(0.0),
        img_per_s: r.img_per_s.unwrap_or(0.0),
        preset,
        config: r.config,
        record: v,
    })
}

/// The runs with their config columns and paper numbers, ready to print.
pub struct Table {
    entries: Vec<Entry>,
    /// Config as JSON, one per entry, serialised from the parsed config: so
    /// that `1` and `1.0` compare equal, as they do in the page's JS, and a
    /// hand-written config without some fields shows the defaults the run
    /// used (where the page, which keeps the config as given, shows "—").
    configs: Vec<Map<String, Value>>,
    fields: Vec<String>,
    /// The references matching each entry.
    refs: Vec<Vec<Reference>>,
    /// The preset whose claims are checked under the table: the one asked
    /// for, else the one every run was run for.
    preset: Option<lab::Preset>,
}

impl Table {
    /// Rows in run order: by `run`, numbers by value ("export#2" before
    /// "export#10"), so shards' folders read in any order give the
    /// unsharded table. `preset`: compare every run with this preset's
    /// paper numbers (else each run with those of the preset it was run
    /// for, if any).
    pub fn new(mut entries: Vec<Entry>, preset: Option<&str>) -> Result<Table, String> {
        let forced = preset.map(lab::preset).transpose()?;
        entries.sort_by(|a, b| natural_order(&a.run, &b.run));
        let configs: Vec<Map<String, Value>> = entries
            .iter()
            .map(|e| match serde_json::to_value(&e.config) {
                Ok(Value::Object(m)) => m,
                _ => unreachable!("the config serialises to an object"),
            })
            .collect();
        let refs = entries
            .iter()
            .zip(&configs)
            .map(|(e, c)| {
                let p = match &forced {
                    Some(p) => Some(p.clone()),
                    None => e.preset.as_deref().and_then(|id| lab::preset(id).ok()),
                };
                p.map(|p| p.reference.into_iter().filter(|r| r.matches.iter().all(|(k, v)| same(c.get(k), Some(v)))).collect())
                    .unwrap_or_default()
            })
            .collect();
        let fields = config_columns(&configs);
        let common = entries.first().and_then(|e| e.preset.clone()).filter(|id| entries.iter().all(|e| e.preset.as_ref() == Some(id)));
        let preset = match forced {
            Some(p) => Some(p),
            None => common.and_then(|id| lab::preset(&id).ok()),
        };
        Ok(Table { entries, configs, fields, refs, preset })
    }

    /// The preset's claims judged on these runs (empty without a preset).
    pub fn claims(&self) -> Vec<lab::Checked> {
        let records: Vec<Value> = self.entries.iter().zip(&self.configs).map(|(e, c)| {
            // The parsed config, so that runs written without some fields match on their defaults.
            let mut r = e.record.clone();
            r["config"] = Value::Object(c.clone());
            r
        }).collect();
        self.preset.as_ref().map(|p| p.claims.iter().map(|c| lab::check(c, &records)).collect()).unwrap_or_default()
    }

    fn has_refs(&self) -> bool {
        self.refs.iter().any(|r| !r.is_empty())
    }

    /// The paper's test accuracy (100% minus its test error) for entry `i`, if it gives one.
    fn paper_accuracy(&self, i: usize) -> Option<f64> {
        let err = self.refs[i].iter().find_map(|r| r.test_error)?;
        // Through hundredths of a percent, so 8.75 gives 0.9125, not 0.9125000000000001.
        Some(((100.0 - err) * 100.0).round() / 10_000.0)
    }

    /// The runs' result JSONs as one list, in the table's order: the page's
    /// *Export JSON* format, which its *Import runs* (one file at a time) takes.
    pub fn json(&self) -> String {
        let records: Vec<&Value> = self.entries.iter().map(|e| &e.record).collect();
        serde_json::to_string_pretty(&records).expect("JSON values serialise") + "\n"
    }

    /// The page's *Export CSV* (`toCsv`), plus `paper_test_accuracy` at the
    /// end when a run has a paper reference (empty where it gives no number).
    pub fn csv(&self) -> String {
        let mut head: Vec<String> = vec!["run".into(), "label".into()];
        head.extend(self.fields.iter().cloned());
        for h in ["status", "best_val_accuracy", "final_val_accuracy", "test_accuracy", "wall_seconds", "img_per_s", "backend", "message"] {
            head.push(h.into());
        }
        let refs = self.has_refs();
        if refs {
            head.push("paper_test_accuracy".into());
        }
        let mut lines = vec![head.iter().map(|h| csv_cell(h)).collect::<Vec<_>>().join(",")];
        let num = |v: Option<f64>| v.map(js_number).unwrap_or_default();
        for (i, (e, c)) in self.entries.iter().zip(&self.configs).enumerate() {
            let mut row = vec![e.run.clone(), e.label.clone()];
            row.extend(self.fields.iter().map(|f| format_config_value(f, c.get(f))));
            row.push(e.status.clone());
            row.extend([num(e.best_val_accuracy), num(e.final_val_accuracy), num(e.test_accuracy)]);
            row.extend([js_number(e.wall_seconds), js_number(e.img_per_s)]);
            row.push(e.backend.clone().unwrap_or_default());
            row.push(e.message.clone());
            if refs {
                row.push(num(self.paper_accuracy(i)));
            }
            lines.push(row.iter().map(|s| csv_cell(s)).collect::<Vec<_>>().join(","));
        }
        lines.join("\n") + "\n"
    }

    /// The page's results table as Markdown (accuracies in percent with two
    /// decimals, where the page shows one: the paper's numbers have two),
    /// then notes: where the paper's numbers come from, and the message of
    /// every run that did not finish.
    pub fn markdown(&self) -> String {
        let refs = self.has_refs();
        let mut head: Vec<(String, bool)> = vec![("run".into(), false), ("label".into(), false)];
        for f in &self.fields {
            let numeric = self.configs.first().and_then(|c| c.get(f)).is_some_and(Value::is_number);
            head.push((f.clone(), numeric));
        }
        head.extend([("status".into(), false), ("best val".into(), true), ("final val".into(), true), ("test acc".into(), true)]);
        if refs {
            head.push(("paper".into(), true));
        }
        head.extend([("time".into(), true), ("img/s".into(), true), ("backend".into(), false)]);

        let pct = |v: Option<f64>| v.filter(|v| v.is_finite()).map_or("—".to_string(), |v| format!("{:.2}%", v * 100.0));
        let mut rows: Vec<Vec<String>> = Vec::new();
        for (i, (e, c)) in self.entries.iter().zip(&self.configs).enumerate() {
            let mut row = vec![e.run.clone(), e.label.clone()];
            row.extend(self.fields.iter().map(|f| format_config_value(f, c.get(f))));
            row.extend([e.status.clone(), pct(e.best_val_accuracy), pct(e.final_val_accuracy), pct(e.test_accuracy)]);
            if refs {
                row.push(match self.paper_accuracy(i) {
                    Some(a) => pct(Some(a)),
                    None if !self.refs[i].is_empty() => "see note".into(),
                    None => String::new(),
                });
            }
            row.push(if e.wall_seconds > 0.0 { format_duration(e.wall_seconds) } else { "—".into() });
            row.push(if e.img_per_s > 0.0 { format_sig(e.img_per_s) } else { "—".into() });
            row.push(e.backend.clone().unwrap_or_else(|| "—".into()));
            rows.push(row.iter().map(|s| md_cell(s)).collect());
        }

        let widths: Vec<usize> = (0..head.len())
            .map(|j| rows.iter().map(|r| r[j].chars().count()).chain([head[j].0.chars().count(), 3]).max().unwrap_or(3))
            .collect();
        let line = |cells: Vec<String>| format!("| {} |", cells.join(" | "));
        let pad = |s: &str, w: usize, right: bool| if right { format!("{s:>w$}") } else { format!("{s:<w$}") };
        let mut out = vec![line(head.iter().zip(&widths).map(|((h, r), &w)| pad(h, w, *r)).collect())];
        out.push(line(head.iter().zip(&widths).map(|((_, r), &w)| if *r { format!("{}:", "-".repeat(w - 1)) } else { "-".repeat(w) }).collect()));
        for row in &rows {
            out.push(line(row.iter().zip(head.iter().zip(&widths)).map(|(s, ((_, r), &w))| pad(s, w, *r)).collect()));
        }

        let mut notes = Vec::new();
        if refs {
            let mut seen: Vec<&Reference> = Vec::new();
            for r in self.refs.iter().flatten() {
                if !seen.contains(&r) {
                    seen.push(r);
                }
            }
            for r in seen {
                let what = r.matches.iter().map(|(_, v)| v.as_str().map_or(v.to_string(), String::from)).collect::<Vec<_>>().join(" · ");
                let number = r.test_error.map_or(String::new(), |e| format!("{e}% test error, so {:.2}% accuracy; ", 100.0 - e));
                notes.push(format!("- {what} ({}): {number}{}", r.label, r.note));
            }
        }
        for e in self.entries.iter().filter(|e| e.status != "finished" && !e.message.is_empty()) {
            notes.push(format!("- {}: {}: {}", e.run, e.status, e.message.replace(['\n', '\r'], " ")));
        }
        if !notes.is_empty() {
            out.push(String::new());
            out.extend(notes);
        }
        let checked = self.claims();
        if let (Some(p), false) = (&self.preset, checked.is_empty()) {
            out.push(String::new());
            out.push(format!("The study's claims ({}), checked on these runs:", p.id));
            out.push(String::new());
            out.push("| claim | verdict | numbers |".into());
            out.push("|---|---|---|".into());
            for c in checked {
                out.push(format!("| {} | **{}** | {} |", md_cell(&c.claim), c.verdict.words(), md_cell(&c.evidence)));
            }
        }
        out.join("\n") + "\n"
    }
}

/// Text with its digit runs compared as numbers: "run#2" < "run#10".
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, c) in s.char_indices().skip(1) {
            let prev = s[..i].chars().next_back().is_some_and(|p| p.is_ascii_digit());
            if prev != c.is_ascii_digit() {
                out.push((prev, &s[start..i]));
                start = i;
            }
        }
        if start < s.len() {
            out.push((s[start..].starts_with(|c: char| c.is_ascii_digit()), &s[start..]));
        }
        out
    }
    let (x, y) = (chunks(a), chunks(b));
    for (p, q) in x.iter().zip(&y) {
        let o = match (p, q) {
            ((true, m), (true, n)) => {
                let (m, n) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                m.len().cmp(&n.len()).then_with(|| m.cmp(n))
            }
            ((_, m), (_, n)) => m.cmp(n),
        };
        if o.is_ne() {
            return o;
        }
    }
    x.len().cmp(&y.len()).then_with(|| a.cmp(b))
}

/// JSON values compared as the page compares them (`JSON.stringify`): numbers by value.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a.unwrap_or(&Value::Null), b.unwrap_or(&Value::Null)) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(Some(x), Some(y))),
        (x, y) => x == y,
    }
}

/// The config fields that differ between the runs, in the config's order,
/// the model always (`configColumns` in www/results.js).
fn config_columns(configs: &[Map<String, Value>]) -> Vec<String> {
    let mut fields: Vec<String> = match configs.split_first() {
        Some((first, rest)) if !rest.is_empty() => lab::config_fields()
            .into_iter()
            .filter(|k| rest.iter().any(|c| !same(c.get(k), first.get(k))))
            .collect(),
        _ => vec![],
    };
    if !fields.iter().any(|f| f == "model") {
        fields.insert(0, "model".into());
    }
    fields
}

/// A config value as the page shows it (`formatConfigValue`).
fn format_config_value(key: &str, v: Option<&Value>) -> String {
    let text = match v.unwrap_or(&Value::Null) {
        Value::Null => return if key == "augment" { "auto".into() } else { "—".into() },
        Value::Array(items) => items.iter().map(js_string).collect::<Vec<_>>().join(","),
        Value::Number(n) => n.as_f64().map(format_number).unwrap_or_default(),
        other => js_string(other),
    };
    if text.is_empty() { "—".into() } else { text }
}

/// `String(v)` in JS for a JSON value inside a list.
fn js_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map(js_number).unwrap_or_default(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// A number as JS's `String(n)` writes it: the shortest text that reads
/// back to it, in exponent form below 1e-6 and from 1e21.
pub fn js_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if n == 0.0 {
        return "0".into(); // also -0, as in JS
    }
    if n.abs() < 1e-6 || n.abs() >= 1e21 {
        exponent(n, true)
    } else {
        format!("{n}")
    }
}

/// Rust's shortest exponent form ("1.5e-7"); JS writes a plus sign on a
/// positive exponent ("1e+21").
fn exponent(n: f64, plus: bool) -> String {
    let s = format!("{n:e}");
    match s.split_once('e') {
        Some((m, e)) if plus && !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

/// `formatNumber` of the page: exponent form (without a plus) below 1e-3
/// and from 1e7, as a config value is shown (1e-5, 2.5e-4, 128).
fn format_number(n: f64) -> String {
    if n.is_finite() && n != 0.0 && (n.abs() < 1e-3 || n.abs() >= 1e7) { exponent(n, false) } else { js_number(n) }
}

/// The page's `formatDuration`.
fn format_duration(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "—".into();
    }
    if s < 1.0 {
        return format!("{s:.1} s");
    }
    if s < 60.0 {
        return format!("{} s", s.round());
    }
    if s < 3600.0 {
        return format!("{} min {} s", (s / 60.0).floor(), (s % 60.0).round());
    }
    format!("{} h {} min", (s / 3600.0).floor(), ((s % 3600.0) / 60.0).round())
}

/// The page's `formatSig`: whole numbers with thousands separators from
/// 1000, three significant digits below.
fn format_sig(n: f64) -> String {
    if !n.is_finite() {
        return js_number(n);
    }
    let a = n.abs();
    if a >= 1000.0 {
        let digits = format!("{}", a.round() as u64);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        return if n < 0.0 { format!("-{out}") } else { out };
    }
    if a != 0.0 && a < 1e-3 {
        return format!("{n:.2e}"); // toExponential(2): "1.00e-4"
    }
    js_number(format!("{n:.2e}").parse().unwrap_or(n))
}

/// A Markdown table cell: a pipe would end the cell, a line break the row.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// JS's `\s`: the characters a spreadsheet's "trim spaces" may drop before
/// it reads a sign.
fn js_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}'
        | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}')
}

/// A plain number in full as JS writes numbers (-0.25, 1e-5, -12): only a
/// minus may lead.
fn plain_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => (digits(int) && (frac.is_empty() || digits(frac))) || (int.is_empty() && digits(frac)),
        None => digits(mantissa),
    };
    let exp_ok = exp.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exp_ok
}

/// One CSV cell, by the page's rule (`csvCell` in www/results.js): a cell a
/// spreadsheet could read as a formula (starting with = + - @, tab or CR,
/// also after spaces a spreadsheet may trim) gets a leading apostrophe
/// unless it is a plain number; a cell with a quote, comma or line break is
/// quoted.
pub fn csv_cell(s: &str) -> String {
    let formula = s.starts_with(['\t', '\r']) || s.trim_start_matches(js_space).starts_with(['=', '+', '-', '@']);
    let safe = if formula && !plain_number(s) { format!("'{s}") } else { s.to_string() };
    if safe.contains(['"', ',', '\n', '\r']) { format!("\"{}\"", safe.replace('"', "\"\"")) } else { safe }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_follow_the_pages_rule() {
        assert_eq!(csv_cell("-1+1|cmd"), "'-1+1|cmd");
        assert_eq!(csv_cell("=SUM(A1:A2)"), "'=SUM(A1:A2)");
        assert_eq!(csv_cell("  @x"), "'  @x");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("\u{a0}+x"), "'\u{a0}+x");
        assert_eq!(csv_cell("+3"), "'+3", "a plus sign is only ever typed text");
        for n in ["-0.25", "1e-5", "-12", "-1.5E+3", "-.5", "-3."] {
            assert_eq!(csv_cell(n), n);
        }
        assert_eq!(csv_cell("-1-"), "'-1-");
        assert_eq!(csv_cell("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(csv_cell("-a,b"), "\"'-a,b\"");
        assert_eq!(csv_cell("plain20 · lr 0.1"), "plain20 · lr 0.1");
        assert_eq!(csv_cell("＝1"), "＝1", "full-width signs are left alone, as on the page");
    }

    #[test]
    fn numbers_are_written_as_js_writes_them() {
        assert_eq!(js_number(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(js_number(128.0), "128");
        assert_eq!(js_number(-0.0), "0");
        assert_eq!(js_number(1.5e-7), "1.5e-7");
        assert_eq!(js_number(1e21), "1e+21");
        assert_eq!(js_number(0.000001), "0.000001");
        assert_eq!(format_number(1e-5), "1e-5");
        assert_eq!(format_number(2.5e-4), "2.5e-4");
        assert_eq!(format_number(0.001), "0.001");
        assert_eq!(format_number(1e7), "1e7");
        assert_eq!(format_sig(1234.4), "1,234");
        assert_eq!(format_sig(123.456), "123");
        assert_eq!(format_sig(1.23456), "1.23");
        assert_eq!(format_duration(0.5), "0.5 s");
        assert_eq!(format_duration(75.0), "1 min 15 s");
        assert_eq!(format_duration(7300.0), "2 h 2 min");
    }

    #[test]
    fn runs_sort_with_numbers_by_value() {
        let mut names = vec!["export#10", "b/02-x", "export#2", "01-z", "100-a", "10-y", "export#1", "02-x"];
        names.sort_by(|a, b| natural_order(a, b));
        assert_eq!(names, ["01-z", "02-x", "10-y", "100-a", "b/02-x", "export#1", "export#2", "export#10"]);
    }

    #[test]
    fn config_values_are_shown_as_on_the_page() {
        assert_eq!(format_config_value("augment", Some(&Value::Null)), "auto");
        assert_eq!(format_config_value("max_steps", None), "—");
        assert_eq!(format_config_value("milestones", Some(&serde_json::json!([32000, 48000]))), "32000,48000");
        assert_eq!(format_config_value("milestones", Some(&serde_json::json!([]))), "—");
        assert_eq!(format_config_value("weight_decay", Some(&serde_json::json!(1e-4))), "1e-4");
        assert_eq!(format_config_value("augment", Some(&serde_json::json!(true))), "true");
    }

    #[test]
    fn results_are_read_and_non_results_are_named() {
        let ok = r#"{"config": {"model": "resnet20", "dataset": "cifar10"}, "status": "finished", "test_accuracy": 0.5}"#;
        let (e, errs) = read_results("01-resnet20", ok);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!((e[0].run.as_str(), e[0].label.as_str(), e[0].wall_seconds), ("01-resnet20", "resnet20", 0.0));
        let list = format!(r#"[{ok}, {{"config": {{"lrr": 1}}, "status": "finished"}}, {{"status": "finished"}}, {ok}]"#);
        let (e, errs) = read_results("export", &list);
        assert_eq!(e.iter().map(|e| e.run.as_str()).collect::<Vec<_>>(), ["export#1", "export#4"]);
        assert_eq!(errs.len(), 2);
        assert!(errs[0].starts_with("run 2: not a run result: unknown field `lrr`"), "{errs:?}");
        assert_eq!(errs[1], "run 3: not a run result (no \"config\")");
        let (_, errs) = read_results("x", r#"{"name": "a grid", "grid": {}}"#);
        assert_eq!(errs, ["not a run result (expected an object with \"config\", or a list of them)"]);
        let (_, errs) = read_results("x", r#"{"config": {}, "status": "done"}"#);
        assert!(errs[0].contains("status 'done'"), "{errs:?}");
        let (_, errs) = read_results("x", r#"{"config": {}, "status": "finished", "test_accuracy": 91.2}"#);
        assert_eq!(errs, ["test_accuracy must be a fraction from 0 to 1"]);
        let (_, errs) = read_results("x", "{");
        assert!(errs[0].starts_with("not a JSON file"), "{errs:?}");
    }
}
