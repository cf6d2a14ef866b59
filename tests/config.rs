//! Experiment configs: JSON round trip and one clear message per kind of mistake.
#![cfg(not(target_family = "wasm"))] // native only: `wasm-pack test` builds every test target for wasm

use reslab::config::{ExperimentConfig, Schedule, Shortcut};
use reslab::data::DatasetKind;

fn problems(cfg: ExperimentConfig) -> Vec<(String, String)> {
    cfg.validate().into_iter().map(|e| (e.field.to_string(), e.message)).collect()
}

fn has(cfg: ExperimentConfig, field: &str, words: &str) {
    let p = problems(cfg);
    assert!(p.iter().any(|(f, m)| f == field && m.contains(words)), "expected {field}: …{words}… in {p:?}");
}

#[test]
fn json_round_trips() {
    let mut c = ExperimentConfig::paper_cifar("resnet110");
    c.shortcut = Shortcut::B;
    c.warmup_steps = 400;
    c.patience = Some(2);
    c.train_limit = Some(10_000);
    let back = ExperimentConfig::from_json(&c.to_json()).unwrap();
    assert_eq!(back, c);
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    assert!(ExperimentConfig::default().validate().is_empty());
}

#[test]
fn partial_json_takes_defaults_and_unknown_fields_are_rejected() {
    let c = ExperimentConfig::from_json(r#"{"model":"plain56","dataset":"cifar10","lr":0.1}"#).unwrap();
    assert_eq!(c.model, "plain56");
    assert_eq!(c.dataset, DatasetKind::Cifar10);
    assert_eq!(c.batch_size, ExperimentConfig::default().batch_size);
    let e = ExperimentConfig::from_json(r#"{"modle":"resnet20"}"#).unwrap_err();
    assert!(e.contains("modle"), "{e}");
    let e = ExperimentConfig::from_json(r#"{"optimizer":"adamax"}"#).unwrap_err();
    assert!(e.contains("adamax"), "{e}");
}

#[test]
fn each_mistake_has_its_message() {
    let d = ExperimentConfig::default;
    has(ExperimentConfig { model: "resnet21".into(), ..d() }, "model", "6n+2");
    has(ExperimentConfig { model: "lenet".into(), ..d() }, "model", "unknown model");
    has(ExperimentConfig { lr: -0.1, ..d() }, "lr", "positive");
    has(ExperimentConfig { lr: f64::NAN, ..d() }, "lr", "positive");
    has(ExperimentConfig { batch_size: 0, ..d() }, "batch_size", "at least 1");
    has(ExperimentConfig { batch_size: 100_000, ..d() }, "batch_size", "too large");
    has(ExperimentConfig { momentum: 1.5, ..d() }, "momentum", "[0, 1)");
    has(ExperimentConfig { bn_momentum: 0.0, ..d() }, "bn_momentum", "Keras");
    has(ExperimentConfig { bn_epsilon: 0.0, ..d() }, "bn_epsilon", "(0, 1)");
    has(ExperimentConfig { epochs: 0, ..d() }, "epochs", "at least 1");
    has(ExperimentConfig { max_steps: Some(0), ..d() }, "max_steps", "at least 1");
    has(ExperimentConfig { schedule: Schedule::Multistep, ..d() }, "milestones", "at least one");
    has(ExperimentConfig { schedule: Schedule::Multistep, milestones: vec![5, 3], ..d() }, "milestones", "increasing");
    has(ExperimentConfig { patience: Some(2), ..d() }, "patience", "validation split");
    has(ExperimentConfig { train_limit: Some(100), val_size: 100, ..d() }, "val_size", "smaller");
    has(ExperimentConfig { weight_decay: -1.0, ..d() }, "weight_decay", "≥ 0");
    has(ExperimentConfig { log_every: 0, ..d() }, "log_every", "at least 1");
    // Several mistakes are reported together.
    assert_eq!(problems(ExperimentConfig { lr: 0.0, batch_size: 0, ..d() }).len(), 2);
}

#[test]
fn channel_mismatch_is_caught_against_the_data() {
    let files = reslab::data::sample::builtin_files(DatasetKind::Mnist).unwrap();
    let mnist = reslab::data::load_files(&files, None).unwrap();
    let cfg = ExperimentConfig { dataset: DatasetKind::Cifar10, model: "resnet20".into(), ..Default::default() };
    let p = cfg.validate_against(&mnist);
    assert!(p.iter().any(|e| e.field == "dataset" && e.message.contains("1x28x28")), "{p:?}");
}
