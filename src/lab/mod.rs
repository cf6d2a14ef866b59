//! The ablation lab: a grid of experiments as one JSON document, and the
//! paper's ablations as ready-made grids ([`presets`]).
//!
//! A grid is used by the CLI (`reslab train --grid FILE.json`), by the page
//! and inside the page's URLs:
//!
//! ```json
//! { "name": "optional title",
//!   "base": { "dataset": "cifar10", "max_steps": 500 },
//!   "runs": [ {}, { "shortcut": "b" } ],
//!   "grid": { "model": ["plain20", "resnet20"], "optimizer": ["momentum", "adam"] } }
//! ```
//!
//! Expansion: for each entry of `runs` (in order; default `[{}]`), for each
//! combination of the `grid` axes (cartesian, the LAST axis varying fastest,
//! axes in the order written), the run's config is
//! `ExperimentConfig::default() ⊕ base ⊕ run ⊕ combination`, a merge of JSON
//! objects where later wins. Configs are flat, so the merge is one level deep.
//! The axes' order is read from the text itself ([`Ordered`]): serde_json's
//! maps are sorted unless its `preserve_order` feature is on, and turning that
//! on would rebuild Burn and all its dependencies for one small map.
//! Every expanded config is then deserialised (unknown fields are errors) and
//! validated, so a grid that expands at all only holds runnable configs.

mod claims;
mod presets;

pub use claims::{Checked, Claim, Measure, Relation, Summary, Verdict, check, check_all};
pub use presets::{Budget, Preset, Reference, TableKind, expand_preset, preset, presets};

use serde::{Deserialize, Serialize};

use serde_json::{Map, Value};

use crate::config::ExperimentConfig;

/// Most runs one grid may expand to: a queue the page and a classroom can
/// still follow (and a typo like a 9x9 grid is caught before hours of work).
pub const MAX_RUNS: usize = 64;

/// A grid as written. Its parts stay JSON objects until expansion, so that
/// every error can name the key it comes from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grid {
    pub name: Option<String>,
    pub base: Map<String, Value>,
    /// Absent means one run, `[{}]`.
    pub runs: Option<Vec<Map<String, Value>>>,
    /// Axes in the order written: (config field, the values it takes).
    pub grid: Vec<(String, Vec<Value>)>,
}

/// A JSON object's entries in the order they are written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ordered(pub Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    entries.push((k, v));
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(V)
    }
}

/// Only to read the `grid` object of a grid document in order.
#[derive(Deserialize)]
struct GridAxesInOrder {
    #[serde(default)]
    grid: Option<Ordered>,
}

/// One expanded run: serialises as `{"label": "...", "config": {...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// The values of the fields that differ between the grid's runs, joined
    /// with " · " (e.g. "plain20 · momentum"); the model id for a single run.
    pub label: String,
    pub config: ExperimentConfig,
}

/// The default config as a JSON object: the list of known fields, in the
/// struct's order, and the bottom layer of every merge.
fn default_object() -> Map<String, Value> {
    match serde_json::to_value(ExperimentConfig::default()) {
        Ok(Value::Object(m)) => m,
        _ => unreachable!("the config serialises to an object"),
    }
}

/// The config's field names in the struct's order (the form's order).
pub(crate) fn config_fields() -> Vec<String> {
    let text = serde_json::to_string(&ExperimentConfig::default()).expect("the config serialises");
    let fields: Ordered = serde_json::from_str(&text).expect("the config is a JSON object");
    fields.0.into_iter().map(|(k, _)| k).collect()
}

/// Checks that every key of a partial config is a config field; `place`
/// prefixes the error ("base", "runs[2]", "overrides").
pub(crate) fn check_fields(place: &str, partial: &Map<String, Value>) -> Result<(), String> {
    let known = default_object();
    match partial.keys().find(|k| !known.contains_key(*k)) {
        Some(k) => Err(format!("{place}.{k}: unknown config field")),
        None => Ok(()),
    }
}

/// Parses a partial config given as JSON text ("" counts as `{}`).
pub fn parse_partial(place: &str, text: &str) -> Result<Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => {
            check_fields(place, &m)?;
            Ok(m)
        }
        Ok(_) => Err(format!("{place}: must be a JSON object of config fields")),
        Err(e) => Err(format!("{place}: invalid JSON: {e}")),
    }
}

impl Grid {
    pub fn from_json(text: &str) -> Result<Grid, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid grid JSON: {e}"))?;
        let Value::Object(top) = v else {
            return Err("grid: must be a JSON object with \"base\", \"runs\" and/or \"grid\"".into());
        };
        if let Some(k) = top.keys().find(|k| !["name", "base", "runs", "grid"].contains(&k.as_str())) {
            return Err(format!("{k}: unknown grid key (expected name, base, runs, grid)"));
        }
        // The parts' types, checked here so that the error names the part.
        let mut grid = Grid::default();
        for (k, v) in top {
            let want = match (k.as_str(), v) {
                ("name", Value::String(s)) => {
                    grid.name = Some(s);
                    continue;
                }
                ("name", Value::Null) => continue,
                ("name", _) => "a string",
                ("base", Value::Object(m)) => {
                    grid.base = m;
                    continue;
                }
                ("runs", Value::Array(a)) if a.iter().all(Value::is_object) => {
                    grid.runs = Some(a.into_iter().filter_map(|r| if let Value::Object(m) = r { Some(m) } else { None }).collect());
                    continue;
                }
                ("runs", _) => "an array of objects (partial configs)",
                ("grid", Value::Object(_)) => continue, // read in order below
                ("grid", _) => "an object mapping config fields to arrays of values",
                _ => "an object (a partial config)",
            };
            return Err(format!("{k}: must be {want}"));
        }
        let axes: GridAxesInOrder = serde_json::from_str(text).map_err(|e| format!("grid: {e}"))?;
        let fields = config_fields();
        for (k, v) in axes.grid.unwrap_or_default().0 {
            if !fields.contains(&k) {
                return Err(format!("grid.{k}: unknown config field"));
            }
            match v {
                Value::Array(a) if !a.is_empty() => grid.grid.push((k, a)),
                _ => return Err(format!("grid.{k}: must be a non-empty array")),
            }
        }
        grid.check()?;
        Ok(grid)
    }

    /// Field names everywhere; every axis a non-empty array.
    fn check(&self) -> Result<(), String> {
        check_fields("base", &self.base)?;
        for (i, r) in self.runs.iter().flatten().enumerate() {
            check_fields(&format!("runs[{i}]"), r)?;
        }
        if matches!(&self.runs, Some(r) if r.is_empty()) {
            return Err("runs: must hold at least one run (leave it out for one run)".into());
        }
        let fields = config_fields();
        for (k, values) in &self.grid {
            if !fields.contains(k) {
                return Err(format!("grid.{k}: unknown config field"));
            }
            if values.is_empty() {
                return Err(format!("grid.{k}: must be a non-empty array"));
            }
        }
        Ok(())
    }

    /// How many runs the grid expands to (without expanding it).
    pub fn len(&self) -> usize {
        let runs = self.runs.as_ref().map_or(1, |r| r.len());
        self.grid.iter().fold(runs, |n, (_, v)| n.saturating_mul(v.len()))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn expand(&self) -> Result<Vec<PlannedRun>, String> {
        self.expand_with(|_| {})
    }

    /// Expands, letting `last` adjust every merged config (as JSON) before it
    /// is deserialised: how presets apply budgets and overrides.
    pub(crate) fn expand_with(&self, last: impl Fn(&mut Map<String, Value>)) -> Result<Vec<PlannedRun>, String> {
        self.check()?;
        let n = self.len();
        if n > MAX_RUNS {
            return Err(format!("this grid expands to {n} runs; at most {MAX_RUNS} are allowed"));
        }
        let default = default_object();
        let single = vec![Map::new()];
        let runs = self.runs.as_ref().unwrap_or(&single);
        let axes = &self.grid;

        // Merged JSON configs, in order: runs, then combinations (last axis fastest).
        let mut merged: Vec<Map<String, Value>> = Vec::with_capacity(n);
        for run in runs {
            let mut pick = vec![0usize; axes.len()];
            loop {
                let mut m = default.clone();
                m.extend(self.base.clone());
                m.extend(run.clone());
                for ((k, values), &i) in axes.iter().zip(&pick) {
                    m.insert(k.clone(), values[i].clone());
                }
                last(&mut m);
                merged.push(m);
                // Odometer increment, rightmost axis first.
                let mut a = axes.len();
                loop {
                    if a == 0 {
                        break;
                    }
                    a -= 1;
                    pick[a] += 1;
                    if pick[a] < axes[a].1.len() {
                        break;
                    }
                    pick[a] = 0;
                }
                if pick.iter().all(|&i| i == 0) {
                    break;
                }
            }
        }

        let labels = labels(&merged, axes);
        let mut planned = Vec::with_capacity(n);
        for (i, (m, label)) in merged.into_iter().zip(labels).enumerate() {
            let config: ExperimentConfig = serde_json::from_value(Value::Object(m))
                .map_err(|e| format!("run {} ({label}): {e}", i + 1))?;
            let problems = config.validate();
            if !problems.is_empty() {
                let msgs: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                return Err(format!("run {} ({label}): {}", i + 1, msgs.join("; ")));
            }
            planned.push(PlannedRun { label, config });
        }
        Ok(planned)
    }
}

/// Labels from the fields whose values differ between the runs: the grid's
/// axes first, in the order written, then the other fields in the config's
/// order. String values stand alone ("resnet20", "adam"); numbers and the
/// rest get their field name ("lr 0.001"), since a bare "0.1" could be any of
/// several fields.
fn labels(merged: &[Map<String, Value>], axes: &[(String, Vec<Value>)]) -> Vec<String> {
    let Some(first) = merged.first() else { return vec![] };
    if merged.len() == 1 {
        return vec![first.get("model").and_then(Value::as_str).unwrap_or("run").to_string()];
    }
    let mut order: Vec<String> = axes.iter().map(|(k, _)| k.clone()).collect();
    for k in config_fields() {
        if !order.contains(&k) {
            order.push(k);
        }
    }
    let differing: Vec<&String> = order.iter().filter(|k| merged.iter().any(|m| m.get(*k) != first.get(*k))).collect();
    merged
        .iter()
        .map(|m| {
            let parts: Vec<String> = differing.iter().map(|k| label_part(k, m.get(*k).unwrap_or(&Value::Null))).collect();
            parts.join(" · ")
        })
        .collect()
}

fn label_part(field: &str, v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => format!("{field} none"),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(|x| x.to_string()).collect();
            format!("{field} {}", items.join(","))
        }
        other => format!("{field} {other}"),
    }
}

/// File-name form of a label: "plain20 · lr 0.1" → "plain20-lr-0-1".
pub fn slug(label: &str) -> String {
    let mut s = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() { "run".into() } else { s }
}

/// The name of run `index`'s result file (`index` 0-based, in the grid's
/// order): "03-resnet20.json" for the third run. It depends only on the
/// run's place in the whole grid, never on a shard, so the files of several
/// shards can be copied into one folder.
pub fn run_file_name(index: usize, label: &str) -> String {
    format!("{:02}-{}.json", index + 1, slug(label))
}

/// One of `count` slices of a grid's runs (`reslab train --shard I/N`), for
/// spreading a study over machines: a Slurm job array, a Kubernetes Indexed
/// Job or GNU parallel runs the same command with I = 0, 1, …, N-1.
///
/// Shards are numbered from 0 because Kubernetes' `JOB_COMPLETION_INDEX` is
/// and a Slurm array can be (`--array=0-9`). Runs are dealt out in turn
/// (run k goes to shard k mod N) rather than in contiguous blocks: grids
/// list their runs axis by axis, so a block would hand one machine all the
/// deepest nets while another finishes early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 0-based, below `count`.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parses "I/N" (whole numbers, 0 <= I < N). The errors do not repeat
    /// the text: the caller shows it (clap: "invalid value '5/3' for '--shard <I/N>': …").
    pub fn parse(text: &str) -> Result<Shard, String> {
        let form = "slice I of N, counted from 0: 0/4, 1/4, 2/4 and 3/4 are the four slices of a grid";
        let Some((i, n)) = text.split_once('/') else {
            return Err(format!("expected I/N, {form}"));
        };
        // An unset variable in `--shard $SLURM_ARRAY_TASK_ID/10` leaves "/10".
        if i.is_empty() || n.is_empty() {
            let part = if i.is_empty() { "I" } else { "N" };
            return Err(format!("{part} is missing (is $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX set?); expected I/N, {form}"));
        }
        // Digits only: `usize::from_str` would also take "+1".
        let whole = |s: &str| if s.bytes().all(|b| b.is_ascii_digit()) { s.parse::<usize>().ok() } else { None };
        let (Some(index), Some(count)) = (whole(i), whole(n)) else {
            return Err(format!("I and N must be whole numbers; expected I/N, {form}"));
        };
        if count == 0 {
            return Err("N must be at least 1".into());
        }
        if index >= count {
            let last = count - 1;
            return Err(format!(
                "I must be below N: shards are counted from 0 (0/{count} to {last}/{count}), so a Slurm array for {count} shards is --array=0-{last}"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether run `k` (0-based, in the grid's order) is this shard's.
    pub fn holds(&self, k: usize) -> bool {
        k % self.count == self.index
    }

    /// This shard's runs out of `runs`, each with its 0-based place in the
    /// whole grid (which names its result file).
    pub fn select<T>(&self, runs: Vec<T>) -> Vec<(usize, T)> {
        runs.into_iter().enumerate().filter(|(k, _)| self.holds(*k)).collect()
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(text: &str) -> Result<Vec<PlannedRun>, String> {
        Grid::from_json(text)?.expand()
    }

    #[test]
    fn axes_keep_their_written_order() {
        let runs = expand(r#"{"grid": {"optimizer": ["sgd", "adam"], "model": ["resnet20", "plain20"]}}"#).unwrap();
        let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["sgd · resnet20", "sgd · plain20", "adam · resnet20", "adam · plain20"]);
    }

    #[test]
    fn last_axis_varies_fastest_and_labels_name_the_differences() {
        let runs = expand(r#"{"base": {"dataset": "cifar10"}, "grid": {"model": ["plain20", "resnet20"], "optimizer": ["momentum", "adam"]}}"#).unwrap();
        let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["plain20 · momentum", "plain20 · adam", "resnet20 · momentum", "resnet20 · adam"]);
        assert!(runs.iter().all(|r| r.config.dataset == crate::data::DatasetKind::Cifar10));
        assert_eq!(runs[1].config.optimizer, crate::config::OptimizerKind::Adam);
    }

    #[test]
    fn runs_come_before_axes_and_later_layers_win() {
        let runs = expand(r#"{"base": {"lr": 0.5, "model": "resnet20"}, "runs": [{"lr": 0.1}, {"lr": 0.01, "seed": 3}], "grid": {"seed": [7, 8]}}"#).unwrap();
        let got: Vec<(f64, u64)> = runs.iter().map(|r| (r.config.lr, r.config.seed)).collect();
        assert_eq!(got, [(0.1, 7), (0.1, 8), (0.01, 7), (0.01, 8)]);
        assert_eq!(runs[0].label, "seed 7 · lr 0.1");
    }

    #[test]
    fn one_run_is_labelled_by_its_model() {
        let runs = expand(r#"{"base": {"model": "vgg11"}}"#).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].label, "vgg11");
        assert_eq!(expand("{}").unwrap()[0].config, ExperimentConfig::default());
    }

    #[test]
    fn errors_name_where() {
        assert_eq!(expand(r#"{"grid": {"optimzer": ["adam"]}}"#).unwrap_err(), "grid.optimzer: unknown config field");
        assert_eq!(expand(r#"{"grid": {"model": []}}"#).unwrap_err(), "grid.model: must be a non-empty array");
        assert_eq!(expand(r#"{"grid": {"model": "resnet20"}}"#).unwrap_err(), "grid.model: must be a non-empty array");
        assert_eq!(expand(r#"{"grid": [1]}"#).unwrap_err(), "grid: must be an object mapping config fields to arrays of values");
        assert_eq!(expand(r#"{"runs": {}}"#).unwrap_err(), "runs: must be an array of objects (partial configs)");
        assert_eq!(expand(r#"{"base": {"lrr": 1}}"#).unwrap_err(), "base.lrr: unknown config field");
        assert_eq!(expand(r#"{"runs": [{}, {"x": 1}]}"#).unwrap_err(), "runs[1].x: unknown config field");
        assert!(expand(r#"{"grids": {}}"#).unwrap_err().starts_with("grids: unknown grid key"));
        let e = expand(r#"{"runs": [{"lr": 0.1}, {"lr": 0.1}, {"lr": -1}], "grid": {"model": ["resnet20", "plain20"]}}"#).unwrap_err();
        assert_eq!(e, "run 5 (resnet20 · lr -1): lr: learning rate must be a positive number (got -1)");
        let e = expand(r#"{"runs": [{"lr": 0.1}, {"lr": 0.01, "batch_size": 0, "momentum": 2}]}"#).unwrap_err();
        assert!(e.starts_with("run 2 (lr 0.01 · momentum 2 · batch_size 0): ") && e.contains("momentum:") && e.contains("batch_size:"), "{e}");
        let e = expand(r#"{"grid": {"optimizer": ["adam", "adamm"]}}"#).unwrap_err();
        assert!(e.starts_with("run 2 (adamm): unknown variant `adamm`"), "{e}");
    }

    #[test]
    fn at_most_64_runs() {
        let e = expand(r#"{"grid": {"seed": [1,2,3,4,5,6,7,8,9], "lr": [1,2,3,4,5,6,7,8,9]}}"#).unwrap_err();
        assert_eq!(e, "this grid expands to 81 runs; at most 64 are allowed");
        assert_eq!(expand(r#"{"grid": {"seed": [1,2,3,4,5,6,7,8], "lr": [1,0.5,0.3,0.2,0.1,0.05,0.03,0.02]}}"#).unwrap().len(), 64);
    }

    #[test]
    fn planned_runs_serialise_as_label_and_config() {
        let runs = expand(r#"{"grid": {"model": ["cnn", "mlp"]}}"#).unwrap();
        let v = serde_json::to_value(&runs).unwrap();
        assert_eq!(v[1]["label"], "mlp");
        assert_eq!(v[1]["config"]["model"], "mlp");
        assert_eq!(v[1].as_object().unwrap().len(), 2);
    }

    #[test]
    fn shards_deal_runs_out_in_turn_and_cover_each_once() {
        for n in 1..=7 {
            let mut seen = vec![0; 10];
            for i in 0..n {
                let shard = Shard::parse(&format!("{i}/{n}")).unwrap();
                assert_eq!(shard.to_string(), format!("{i}/{n}"));
                for (k, run) in shard.select((0..10).collect()) {
                    assert_eq!(k, run, "the place in the whole grid is kept");
                    assert_eq!(k % n, i);
                    seen[k] += 1;
                }
            }
            assert_eq!(seen, [1; 10], "{n} shards");
        }
        assert_eq!(Shard::parse("2/7").unwrap().select(vec!['a', 'b', 'c', 'd', 'e']), [(2, 'c')]);
        assert!(Shard::parse("5/7").unwrap().select(vec!['a', 'b', 'c', 'd', 'e']).is_empty());
    }

    #[test]
    fn bad_shards_say_what_is_expected() {
        let e = |s: &str| Shard::parse(s).unwrap_err();
        assert_eq!(e("5/3"), "I must be below N: shards are counted from 0 (0/3 to 2/3), so a Slurm array for 3 shards is --array=0-2");
        assert!(e("10/10").contains("--array=0-9"), "{}", e("10/10"));
        assert_eq!(e("0/0"), "N must be at least 1");
        for s in ["-1/2", "a/b", "+1/2", "1/2.0", " 1/2", "1/2/3", "99999999999999999999999/2"] {
            assert!(e(s).contains("must be whole numbers"), "{s}: {}", e(s));
        }
        assert!(e("3").contains("expected I/N"), "{}", e("3"));
        assert!(e("/10").contains("I is missing") && e("/10").contains("SLURM_ARRAY_TASK_ID"), "{}", e("/10"));
        assert!(e("1/").contains("N is missing"), "{}", e("1/"));
        assert_eq!(Shard::parse("0/1").unwrap(), Shard { index: 0, count: 1 });
        assert_eq!(Shard::parse("09/10").unwrap(), Shard { index: 9, count: 10 });
    }

    #[test]
    fn run_file_names_number_runs_from_1() {
        assert_eq!(run_file_name(0, "plain20 · lr 0.1"), "01-plain20-lr-0-1.json");
        assert_eq!(run_file_name(99, "resnet110"), "100-resnet110.json");
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("plain20 · lr 0.1"), "plain20-lr-0-1");
        assert_eq!(slug(" · "), "run");
    }
}
