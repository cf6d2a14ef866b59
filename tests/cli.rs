//! The `reslab` binary, as a user runs it.

mod common;

use reslab::data::DatasetKind;
use std::process::Command;

fn reslab(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_reslab")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn describe_prints_the_table_ending_with_params() {
    let (ok, out, _) = reslab(&["describe", "resnet20"]);
    assert!(ok);
    assert_eq!(out.trim_end().lines().last().unwrap(), "params: 269722");
    assert!(out.contains("stage3.block3.conv2"));
    let (ok, out, _) = reslab(&["describe", "plain20", "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["params"], 269722);
    assert_eq!(v["edges"].as_array().unwrap().len(), 0);
}

#[test]
fn bad_flags_and_models_are_reported_on_stderr() {
    let (ok, _, err) = reslab(&["describe", "resnet21"]);
    assert!(!ok);
    assert!(err.contains("6n+2"), "{err}");
    let (ok, _, err) = reslab(&["train", "--lr=-1", "--batch", "0"]);
    assert!(!ok);
    assert!(err.contains("lr:") && err.contains("batch_size:"), "{err}");
    let (ok, _, err) = reslab(&["train", "--data", "/nonexistent/file.gz"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/file.gz"), "{err}");
}

#[test]
fn train_writes_a_result_json() {
    let out = std::env::temp_dir().join(format!("reslab-cli-{}.json", std::process::id()));
    let (ok, _, err) = reslab(&[
        "train", "--model", "cnn", "--max-steps", "5", "--batch", "16", "--test-limit", "64", "--quiet", "--out", out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["status"], "finished");
    assert_eq!(v["steps"].as_array().unwrap().len(), 5);
    assert_eq!(v["config"]["model"], "cnn");
    let _ = std::fs::remove_file(out);
}

#[test]
fn quiet_prints_one_line_per_epoch() {
    // Two epochs of 64 images: the lines a log file keeps, where no progress bar is drawn.
    let (ok, _, err) = reslab(&[
        "train", "--model", "cnn", "--epochs", "2", "--train-limit", "64", "--batch", "16", "--test-limit", "32", "--quiet",
    ]);
    assert!(ok, "{err}");
    assert!(err.contains(" parameters, 8 steps"), "no start line: {err}");
    for e in ["epoch 1: train loss ", "epoch 2: train loss "] {
        assert!(err.contains(e), "no '{e}' line with --quiet: {err}");
    }
}

#[test]
fn data_can_be_a_folder_of_official_files() {
    // The full MNIST's folder, or the sample's own folder of official files.
    let used = common::Data::resolve(DatasetKind::Mnist);
    used.announce();
    let dir = used.dir();
    let sizes = if used.is_full() { "60000 train / 10000 test" } else { "10000 train / 2000 test" };
    let (ok, _, err) = reslab(&["train", "--data", dir.to_str().unwrap(), "--max-steps", "2", "--batch", "8", "--test-limit", "32", "--quiet"]);
    assert!(ok, "{used}: {err}");
    assert!(err.contains(sizes), "{used}: {err}");
    // A file that is no dataset is named in the error.
    let junk = std::env::temp_dir().join(format!("reslab-junk-{}.bin", std::process::id()));
    std::fs::write(&junk, b"not a dataset").unwrap();
    let (ok, _, err) = reslab(&["train", "--data", junk.to_str().unwrap(), "--quiet"]);
    let _ = std::fs::remove_file(&junk);
    assert!(!ok);
    assert!(err.contains("reslab-junk-"), "{err}");
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("reslab-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn presets_are_listed() {
    let (ok, out, _) = reslab(&["presets"]);
    assert!(ok);
    let ids: Vec<&str> = out.lines().map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(ids, ["degradation", "depth", "optimizers", "learning-rate", "batchnorm", "resnet34-vs-50"]);
    let (ok, out, _) = reslab(&["presets", "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["reference"][1]["test_error"], 6.97);
}

#[test]
fn a_grid_runs_every_run_and_writes_one_result_each() {
    let dir = temp_dir("grid");
    let grid = dir.with_extension("json");
    std::fs::write(&grid, r#"{"name": "tiny", "base": {"max_steps": 2, "batch_size": 8, "train_limit": 64, "test_limit": 32},
        "grid": {"model": ["cnn", "mlp"]}}"#).unwrap();
    let (ok, out, err) = reslab(&["train", "--grid", grid.to_str().unwrap(), "--quiet", "--out", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    let mut files: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files, ["01-cnn.json", "02-mlp.json"]);
    for (f, model) in files.iter().zip(["cnn", "mlp"]) {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap();
        assert_eq!(v["status"], "finished");
        assert_eq!(v["config"]["model"], model);
        assert_eq!(v["steps"].as_array().unwrap().len(), 2);
        assert_eq!(v["test_predictions"].as_array().unwrap().len(), 32);
    }
    // The summary table: a header and one row per run.
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(rows[1].starts_with("cnn") && rows[1].contains("finished"), "{out}");

    // Flags apply to every run: --max-steps 1 overrides the grid's 2.
    let (ok, _, err) = reslab(&["train", "--grid", grid.to_str().unwrap(), "--max-steps", "1", "--quiet", "--out", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("02-mlp.json")).unwrap()).unwrap();
    assert_eq!(v["steps"].as_array().unwrap().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&grid);
}

#[test]
fn an_invalid_grid_is_refused_before_anything_runs() {
    let dir = temp_dir("badgrid");
    let grid = dir.with_extension("json");
    for (text, want) in [
        (r#"{"grid": {"optimzer": ["adam"]}}"#, "grid.optimzer: unknown config field"),
        (r#"{"runs": [{"lr": 0.1}, {"lr": -1}]}"#, "run 2 (lr -1): lr: learning rate must be a positive number (got -1)"),
    ] {
        std::fs::write(&grid, text).unwrap();
        let (ok, _, err) = reslab(&["train", "--grid", grid.to_str().unwrap(), "--quiet", "--out", dir.to_str().unwrap()]);
        assert!(!ok);
        assert!(err.contains(want), "{err}");
        assert!(!dir.exists(), "nothing is written");
    }
    let (ok, _, err) = reslab(&["train", "--preset", "nope", "--out", dir.to_str().unwrap()]);
    assert!(!ok && err.contains("unknown preset 'nope'"), "{err}");
    let _ = std::fs::remove_file(&grid);
}

#[test]
fn a_preset_runs_with_flags_applied_and_invalid_flags_stop_it_up_front() {
    let dir = temp_dir("preset");
    // The smoke budget's train_limit is 64: --val-size 70 makes every run invalid.
    let (ok, _, err) = reslab(&["train", "--preset", "degradation", "--budget", "smoke", "--val-size", "70", "--quiet", "--out", dir.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("run 1 (plain20): val_size: val_size (70) must be smaller than train_limit (64)"), "{err}");
    assert!(!dir.exists());
    let (ok, out, err) = reslab(&[
        "train", "--preset", "batchnorm", "--budget", "smoke", "--max-steps", "1", "--quiet", "--out", dir.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let mut files: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files, ["01-bn-momentum-0-1-bn-epsilon-0-00001.json", "02-bn-momentum-0-01-bn-epsilon-0-001.json"]);
    assert!(out.contains("bn_momentum 0.01 · bn_epsilon 0.001"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(&files[1])).unwrap()).unwrap();
    assert_eq!((v["config"]["bn_momentum"].as_f64(), v["steps"].as_array().unwrap().len()), (Some(0.01), 1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_run_is_reported_and_the_queue_goes_on() {
    let dir = temp_dir("queue");
    let grid = dir.with_extension("json");
    // There is no built-in Fashion-MNIST sample: that run fails, MNIST's runs.
    std::fs::write(&grid, r#"{"base": {"max_steps": 1, "batch_size": 8, "train_limit": 64, "test_limit": 16},
        "grid": {"dataset": ["fashion-mnist", "mnist"]}}"#).unwrap();
    let (ok, out, err) = reslab(&["train", "--grid", grid.to_str().unwrap(), "--quiet", "--out", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.contains("no built-in sample for fashion-mnist"), "{err}");
    let failed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("01-fashion-mnist.json")).unwrap()).unwrap();
    let finished: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("02-mnist.json")).unwrap()).unwrap();
    assert_eq!((failed["status"].as_str(), finished["status"].as_str()), (Some("failed"), Some("finished")));
    assert!(out.lines().nth(1).unwrap().contains("failed"), "{out}");
    // When every run fails, the exit code says so.
    std::fs::write(&grid, r#"{"base": {"dataset": "fashion-mnist", "max_steps": 1}}"#).unwrap();
    let (ok, _, err) = reslab(&["train", "--grid", grid.to_str().unwrap(), "--quiet"]);
    assert!(!ok && err.contains("all 1 runs failed"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&grid);
}

#[test]
fn a_saved_model_evaluates_to_the_runs_test_accuracy() {
    let dir = temp_dir("model");
    std::fs::create_dir_all(&dir).unwrap();
    let (model, result) = (dir.join("m.reslab"), dir.join("run.json"));
    let (ok, _, err) = reslab(&[
        "train", "--model", "cnn", "--max-steps", "20", "--batch", "16", "--test-limit", "200", "--quiet",
        "--out", result.to_str().unwrap(), "--save-model", model.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap();
    let (ok, out, err) = reslab(&["eval", "--model", model.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let ev: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ev["test_accuracy"], run["test_accuracy"]);
    assert_eq!(ev["test_predictions"], run["test_predictions"]);
    let (ok, out, _) = reslab(&["eval", "--model", model.to_str().unwrap()]);
    assert!(ok && out.contains("test accuracy") && out.contains("200 test images"), "{out}");
    // Not a model file.
    let (ok, _, err) = reslab(&["eval", "--model", result.to_str().unwrap()]);
    assert!(!ok && err.contains("not a ResLab model file"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_reslab"))
        .args(["describe", "resnet1202"]) // ~150 KB: more than a pipe buffer holds
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one byte, then close our end, as `| head -c 1` would.
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bench_writes_json_lines_with_the_protocols_fields_and_memory_samples() {
    let dir = temp_dir("bench");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("bench.jsonl");
    let (ok, stdout, err) = reslab(&[
        "bench", "--models", "mnist-cnn,mlp", "--batches", "2", "--warmup", "1", "--steps", "3", "--memory-steps", "120",
        "--json", out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(stdout.contains("after step 120: process RSS"), "{stdout}");
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    for (r, model) in lines.iter().zip(["mnist-cnn", "mlp"]) {
        assert_eq!(r["model"], model);
        assert_eq!(r["backend"], "native-cpu");
        assert_eq!(r["status"], "ok", "{r}");
        // The median of exactly the timed steps, not of the memory run's extra ones.
        assert_eq!(r["step_ms"].as_array().unwrap().len(), 3, "{r}");
        assert!(r["ms_per_step"].as_f64().unwrap() > 0.0 && r["img_per_s"].as_f64().unwrap() > 0.0, "{r}");
        let memory = r["memory"].as_array().unwrap();
        let steps: Vec<u64> = memory.iter().map(|m| m["step"].as_u64().unwrap()).collect();
        assert_eq!(steps, [100, 120], "{r}");
        for m in memory {
            assert!(m["process_rss_bytes"].as_u64().unwrap() > 1_000_000, "{m}");
            assert!(m["wasm_bytes"].is_null() && m["device_bytes_in_use"].is_null(), "{m}");
        }
    }
    // Without --memory-steps: no samples, and only warm-up + timed steps run.
    let (ok, _, err) = reslab(&["bench", "--models", "mlp", "--batches", "2", "--warmup", "1", "--steps", "2", "--json", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    let last: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&out).unwrap().lines().last().unwrap()).unwrap();
    assert!(last.get("memory").is_none(), "{last}");
    assert_eq!(last["step_ms"].as_array().unwrap().len(), 2);
}
