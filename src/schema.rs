//! The config's schema, made from the Rust types: every field of
//! [`ExperimentConfig`] with its type, default, range, choices (with labels),
//! group, help text and whether it changes the net. One source for the page
//! (its controls, `<option>`s and URL keys: `www/schema.js` is this, written
//! by `reslab schema --js`), the worker (`config_schema()`) and the CLI (a
//! flag per field, named as the field).
//!
//! Types and defaults come from serde (what `ExperimentConfig`'s parser
//! takes), choices from the enums' `ALL` lists, help from the fields' doc
//! comments. Labels, groups and ranges are declared here, once; a test checks
//! each range against `ExperimentConfig::validate`, the authority.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::config::{ExperimentConfig, ImageFit, OptimizerKind, Schedule, Shortcut, Stem};
use crate::data::DatasetKind;
use crate::data::images;
use crate::model::{MODEL_IDS, ModelId};

/// One field as the page, the worker and the CLI see it.
#[derive(Clone, Debug, Serialize)]
pub struct Field {
    /// The field's name in the config JSON; also its URL key and its CLI flag
    /// (`batch_size` → `--batch-size`).
    pub name: &'static str,
    /// `enum` | `number` | `int` | `bool` | `intlist` | `string`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `null` is a value (shown as empty / "auto" / "none").
    pub nullable: bool,
    pub default: Value,
    pub label: &'static str,
    /// The field's doc comment in `src/config.rs`.
    pub help: String,
    /// One of [`GROUPS`]' ids.
    pub group: &'static str,
    /// Allowed values of an enum field, with their labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Choice>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// `min` itself is not allowed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub min_exclusive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub max_exclusive: bool,
    /// The only values a number field takes, where they are a few
    /// (`image_size`: 32, 64, 96, 128, 224); `ExperimentConfig::validate`
    /// refuses the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<f64>>,
    /// Changing it builds another net (another architecture or input shape).
    pub changes_net: bool,
    /// Older CLI spellings, still accepted.
    pub aliases: &'static [&'static str],
}

#[derive(Clone, Debug, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub id: &'static str,
    pub title: &'static str,
}

/// A model id offered in the page's list, with the list's group.
#[derive(Clone, Debug, Serialize)]
pub struct ModelChoice {
    pub id: &'static str,
    pub label: String,
    pub group: &'static str,
    pub residual: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Schema {
    pub fields: Vec<Field>,
    pub groups: Vec<Group>,
    pub models: Vec<ModelChoice>,
}

/// Field groups, in display order (the CLI's `--help` sections).
pub const GROUPS: &[(&str, &str)] = &[
    ("data", "Data"),
    ("model", "Model"),
    ("optimizer", "Optimizer"),
    ("schedule", "Learning-rate schedule"),
    ("run", "Run length and logging"),
];

/// What this file declares per field: label, group, range, whether it
/// changes the net, CLI aliases. Every field of `ExperimentConfig` must be
/// here (a test checks), in the order the page and `--help` show them.
struct Decl {
    name: &'static str,
    label: &'static str,
    group: &'static str,
    range: Range,
    changes_net: bool,
    aliases: &'static [&'static str],
}

#[derive(Clone, Copy)]
struct Range {
    min: Option<f64>,
    min_exclusive: bool,
    max: Option<f64>,
    max_exclusive: bool,
}

const ANY: Range = Range { min: None, min_exclusive: false, max: None, max_exclusive: false };
const fn at_least(min: f64) -> Range {
    Range { min: Some(min), ..ANY }
}
const fn above(min: f64) -> Range {
    Range { min: Some(min), min_exclusive: true, ..ANY }
}
const fn between(min: f64, min_exclusive: bool, max: f64, max_exclusive: bool) -> Range {
    Range { min: Some(min), min_exclusive, max: Some(max), max_exclusive }
}

const fn d(name: &'static str, label: &'static str, group: &'static str, range: Range) -> Decl {
    Decl { name, label, group, range, changes_net: false, aliases: &[] }
}

const fn net(mut decl: Decl) -> Decl {
    decl.changes_net = true;
    decl
}

const DECLS: &[Decl] = &[
    net(d("dataset", "Dataset kind", "data", ANY)),
    net(d("image_size", "Image size", "data", ANY)),
    d("image_fit", "Fit to square", "data", ANY),
    d("test_fraction", "Test share", "data", between(0.0, true, 1.0, true)),
    net(d("classes", "Classes", "data", between(images::MIN_CLASSES as f64, false, images::MAX_CLASSES as f64, false))),
    d("train_limit", "Train subset", "data", at_least(1.0)),
    d("test_limit", "Test subset", "data", at_least(1.0)),
    d("val_size", "Validation images", "data", at_least(0.0)),
    d("augment", "Augmentation", "data", ANY),
    d("mean_subtraction", "Mean subtraction", "data", ANY),
    net(d("model", "Model", "model", ANY)),
    net(d("shortcut", "Shortcut", "model", ANY)),
    net(d("stem", "Stem", "model", ANY)),
    d("bn_momentum", "BN momentum", "model", between(0.0, true, 1.0, false)),
    d("bn_epsilon", "BN epsilon", "model", between(0.0, true, 1.0, true)),
    d("optimizer", "Optimizer", "optimizer", ANY),
    d("lr", "Learning rate", "optimizer", above(0.0)),
    d("momentum", "Momentum", "optimizer", between(0.0, false, 1.0, true)),
    d("weight_decay", "Weight decay", "optimizer", at_least(0.0)),
    d("beta1", "Adam beta1", "optimizer", between(0.0, false, 1.0, true)),
    d("beta2", "Adam beta2", "optimizer", between(0.0, false, 1.0, true)),
    d("epsilon", "Optimizer epsilon", "optimizer", between(0.0, true, 1.0, true)),
    d("schedule", "Schedule", "schedule", ANY),
    d("milestones", "Milestones", "schedule", at_least(1.0)),
    d("gamma", "Gamma", "schedule", between(0.0, true, 1.0, false)),
    d("warmup_steps", "Warm-up steps", "schedule", at_least(0.0)),
    d("warmup_lr", "Warm-up learning rate", "schedule", above(0.0)),
    Decl { aliases: &["batch"], ..d("batch_size", "Batch size", "run", between(1.0, false, 4096.0, false)) },
    d("epochs", "Epochs", "run", between(1.0, false, 10_000.0, false)),
    d("max_steps", "Max steps", "run", at_least(1.0)),
    d("patience", "Early-stop patience", "run", at_least(1.0)),
    d("seed", "Seed", "run", at_least(0.0)),
    d("log_every", "Log every", "run", at_least(1.0)),
];

/// Labels of the enum fields' values (as written in the config's JSON).
fn choices(field: &str) -> Option<Vec<Choice>> {
    fn of<T: Serialize + Copy>(all: &[T], label: impl Fn(T) -> &'static str) -> Vec<Choice> {
        let value = |v: &T| match serde_json::to_value(v) {
            Ok(Value::String(s)) => s,
            _ => unreachable!("the config's enums serialise to strings"),
        };
        all.iter().map(|v| Choice { value: value(v), label: label(*v).into() }).collect()
    }
    Some(match field {
        "dataset" => of(&DatasetKind::ALL, |d| d.display_name()),
        "shortcut" => of(&Shortcut::ALL, Shortcut::label),
        "stem" => of(&Stem::ALL, Stem::label),
        "image_fit" => of(&ImageFit::ALL, ImageFit::label),
        "optimizer" => of(&OptimizerKind::ALL, OptimizerKind::label),
        "schedule" => of(&Schedule::ALL, Schedule::label),
        // Any 6n+2 depth is a model too: the page and the CLI take ids beyond
        // this list, which is what they offer.
        "model" => MODEL_IDS
            .iter()
            .map(|id| Choice { value: (*id).into(), label: ModelId::parse(id).expect("the offered ids parse").list_label() })
            .collect(),
        _ => return None,
    })
}

/// The values a number field is limited to, if it is.
fn allowed(field: &str) -> Option<Vec<f64>> {
    match field {
        "image_size" => Some(images::SIZES.iter().map(|&s| s as f64).collect()),
        _ => None,
    }
}

/// Whether the config's parser takes `value` for `field`.
fn accepts(field: &str, value: Value) -> bool {
    let one = Map::from_iter([(field.to_string(), value)]);
    serde_json::from_value::<ExperimentConfig>(Value::Object(one)).is_ok()
}

/// A field's type, from the values serde takes for it.
fn kind(field: &str, default: &Value) -> &'static str {
    if choices(field).is_some() {
        "enum"
    } else if default.is_array() {
        "intlist"
    } else if accepts(field, json!(0.5)) {
        "number"
    } else if accepts(field, json!(1)) {
        "int"
    } else if accepts(field, json!(true)) {
        "bool"
    } else {
        "string"
    }
}

/// The doc comments of `ExperimentConfig`'s fields, read from src/config.rs
/// when this is compiled, so the page and `--help` say what the struct says.
fn field_docs() -> Vec<(&'static str, String)> {
    const SOURCE: &str = include_str!("config.rs");
    let Some(start) = SOURCE.find("pub struct ExperimentConfig {") else { return vec![] };
    let mut docs = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    for line in SOURCE[start..].lines().skip(1).map(str::trim) {
        if line == "}" {
            break;
        }
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim());
            continue;
        }
        if line.starts_with("#[") {
            continue;
        }
        if let Some((name, _)) = line.strip_prefix("pub ").and_then(|l| l.split_once(':')) {
            if !doc.is_empty() {
                // `None` is the JSON's (and the command line's) null.
                docs.push((name.trim(), doc.join(" ").replace("`None`", "null").replace('`', "")));
            }
        }
        doc.clear();
    }
    docs
}

/// The schema. Panics (caught by the tests) if a field of the config has no
/// declaration here or a declaration names no field.
pub fn schema() -> Schema {
    let Ok(Value::Object(defaults)) = serde_json::to_value(ExperimentConfig::default()) else {
        unreachable!("the config serialises to an object")
    };
    let docs = field_docs();
    let fields = DECLS
        .iter()
        .map(|decl| {
            let default = defaults.get(decl.name).unwrap_or_else(|| panic!("schema: no config field '{}'", decl.name)).clone();
            // Nullable: an Option field (its default may be Some, so ask serde).
            let nullable = accepts(decl.name, Value::Null);
            Field {
                name: decl.name,
                kind: kind(decl.name, &default),
                nullable,
                label: decl.label,
                help: docs.iter().find(|(f, _)| *f == decl.name).map(|(_, h)| h.clone()).unwrap_or_default(),
                group: decl.group,
                values: choices(decl.name),
                min: decl.range.min,
                min_exclusive: decl.range.min_exclusive,
                max: decl.range.max,
                max_exclusive: decl.range.max_exclusive,
                allowed: allowed(decl.name),
                changes_net: decl.changes_net,
                aliases: decl.aliases,
                default,
            }
        })
        .collect::<Vec<_>>();
    for name in defaults.keys() {
        assert!(fields.iter().any(|f| f.name == name), "schema: config field '{name}' is not declared in src/schema.rs");
    }
    let models = MODEL_IDS
        .iter()
        .map(|id| {
            let m = ModelId::parse(id).expect("the offered ids parse");
            ModelChoice { id, label: m.list_label(), group: m.list_group(), residual: m.is_residual() }
        })
        .collect();
    Schema { fields, groups: GROUPS.iter().map(|(id, title)| Group { id, title }).collect(), models }
}

/// The schema as JSON (what `config_schema()` gives the worker).
pub fn schema_json() -> String {
    serde_json::to_string(&schema()).expect("the schema serialises")
}

/// `www/schema.js`: the schema as a JS module the page imports before the
/// engine has loaded (`reslab schema --js > www/schema.js`), one line per
/// field, group and model.
pub fn schema_module() -> String {
    fn lines<T: Serialize>(items: &[T]) -> String {
        items.iter().map(|i| format!("    {},\n", serde_json::to_string(i).expect("the schema serialises"))).collect()
    }
    let s = schema();
    format!(
        "// The config schema, made from the engine's Rust types (src/schema.rs).\n\
         // Generated by `cargo run --release -- schema --js > www/schema.js`; do not edit:\n\
         // tests/schema.rs fails when it differs from what the engine gives.\n\
         export const SCHEMA = Object.freeze({{\n  fields: [\n{}  ],\n  groups: [\n{}  ],\n  models: [\n{}  ],\n}});\n",
        lines(&s.fields),
        lines(&s.groups),
        lines(&s.models)
    )
}
