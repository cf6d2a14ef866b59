//! The config schema: one declaration per field, ranges that agree with
//! `ExperimentConfig::validate`, and the page's copy (`www/schema.js`) current.
#![cfg(not(target_family = "wasm"))] // native only: `wasm-pack test` builds every test target for wasm

use reslab::config::ExperimentConfig;
use reslab::schema::{self, Field};
use serde_json::{Value, json};

fn config_fields() -> Vec<String> {
    let Value::Object(m) = serde_json::to_value(ExperimentConfig::default()).unwrap() else { panic!("an object") };
    m.keys().cloned().collect()
}

#[test]
fn every_config_field_is_declared_once_with_a_type_label_and_help() {
    let s = schema::schema();
    let names: Vec<&str> = s.fields.iter().map(|f| f.name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "a field declared twice: {names:?}");
    let mut want = config_fields();
    want.sort();
    assert_eq!(sorted, want);
    // Flags (with aliases) and URL keys are the names: none may collide.
    let mut spellings: Vec<&str> = s.fields.iter().flat_map(|f| std::iter::once(f.name).chain(f.aliases.iter().copied())).collect();
    let n = spellings.len();
    spellings.sort();
    spellings.dedup();
    assert_eq!(spellings.len(), n, "an alias collides with a field");
    for f in &s.fields {
        assert!(!f.label.is_empty() && !f.help.is_empty(), "{}: label and help", f.name);
        assert!(s.groups.iter().any(|g| g.id == f.group), "{}: group {}", f.name, f.group);
        assert_eq!(f.default, serde_json::to_value(ExperimentConfig::default()).unwrap()[f.name], "{}", f.name);
        if f.kind == "enum" {
            let values = f.values.as_ref().unwrap();
            assert!(values.iter().any(|c| Value::String(c.value.clone()) == f.default), "{}: default among the values", f.name);
        }
    }
    let kind = |n: &str| s.fields.iter().find(|f| f.name == n).unwrap().kind;
    assert_eq!((kind("lr"), kind("batch_size"), kind("augment"), kind("milestones"), kind("optimizer")), ("number", "int", "bool", "intlist", "enum"));
    let changes: Vec<&str> = s.fields.iter().filter(|f| f.changes_net).map(|f| f.name).collect();
    assert_eq!(changes, ["dataset", "image_size", "classes", "model", "shortcut", "stem"]);
    assert_eq!(s.models.len(), reslab::model::MODEL_IDS.len());
}

/// `cfg` with `field` set to `v` (and what the field needs to be checked at
/// all: the warm-up rate only matters with warm-up steps).
fn with(field: &str, v: Value) -> Result<ExperimentConfig, String> {
    let mut m = serde_json::to_value(ExperimentConfig::default()).unwrap();
    m[field] = v;
    if field == "warmup_lr" {
        m["warmup_steps"] = json!(10);
    }
    if field == "patience" {
        m["val_size"] = json!(100);
    }
    if field == "classes" {
        // A class count of one's own is for pictures; the standard sets have theirs.
        m["dataset"] = json!("images");
    }
    ExperimentConfig::from_json(&m.to_string())
}

/// Whether the engine takes `v` for `field` (the parser and validate).
fn takes(field: &str, v: f64, int: bool) -> bool {
    let v = if int { json!(v as i64) } else { json!(v) };
    let v = if field == "milestones" { json!([v]) } else { v };
    match with(field, v) {
        Ok(cfg) => cfg.validate().iter().all(|e| e.field != field),
        Err(_) => false,
    }
}

#[test]
fn declared_ranges_are_the_ones_validate_enforces() {
    for f in schema::schema().fields.iter().filter(|f| f.min.is_some() || f.max.is_some()) {
        let Field { name, min, max, min_exclusive, max_exclusive, .. } = f;
        let int = f.kind == "int" || f.kind == "intlist";
        let step = if int { 1.0 } else { 1e-9 };
        if let Some(lo) = *min {
            assert_eq!(takes(name, lo, int), !min_exclusive, "{name} at its min {lo}");
            assert!(!takes(name, lo - step, int), "{name} below its min {lo}");
            assert!(takes(name, lo + step, int), "{name} just above its min {lo}");
        }
        if let Some(hi) = *max {
            assert_eq!(takes(name, hi, int), !max_exclusive, "{name} at its max {hi}");
            assert!(!takes(name, hi + step, int), "{name} above its max {hi}");
            assert!(takes(name, hi - step, int), "{name} just below its max {hi}");
        }
    }
}

#[test]
fn a_field_of_a_few_values_takes_those_and_no_other() {
    let s = schema::schema();
    let size = s.fields.iter().find(|f| f.name == "image_size").unwrap();
    let allowed = size.allowed.clone().expect("image_size lists its values");
    assert_eq!(allowed, [32.0, 64.0, 96.0, 128.0, 224.0]);
    for v in allowed {
        assert!(takes("image_size", v, true), "image_size {v}");
        for near in [v - 1.0, v + 1.0] {
            assert!(!takes("image_size", near, true), "image_size {near}");
        }
    }
    assert!(s.fields.iter().filter(|f| f.name != "image_size").all(|f| f.allowed.is_none()));
}

/// The page imports the schema before its engine has loaded; the copy it
/// imports is written by `reslab schema --js` and must be this one.
#[test]
fn the_pages_schema_module_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/schema.js");
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == schema::schema_module(),
        "www/schema.js is not the engine's schema: run `cargo run --release -- schema --js > www/schema.js`"
    );
}
