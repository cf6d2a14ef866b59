//! The `reslab` binary, as a user runs it.
#![cfg(not(target_family = "wasm"))] // native only: `wasm-pack test` builds every test target for wasm

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
    assert_eq!(ids, ["degradation", "depth", "optimizers", "learning-rate", "batchnorm", "resnet34-vs-50", "own-images"]);
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

/// A run killed mid-way and continued with `--resume` from the checkpoint it
/// wrote ends with the result of a run never interrupted.
#[test]
fn a_killed_run_resumes_from_its_checkpoint_to_the_same_result() {
    let dir = temp_dir("resume");
    std::fs::create_dir_all(&dir).unwrap();
    let (ck, whole, resumed) = (dir.join("run.ckpt"), dir.join("whole.json"), dir.join("resumed.json"));
    let run = ["train", "--model", "cnn", "--optimizer", "momentum", "--lr", "0.05", "--schedule", "cosine", "--epochs", "6",
        "--train-limit", "512", "--batch-size", "16", "--test-limit", "100", "--quiet"];
    let (ok, _, err) = reslab(&[&run[..], &["--out", whole.to_str().unwrap()]].concat());
    assert!(ok, "{err}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_reslab"))
        .args(run)
        .args(["--checkpoint", ck.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !ck.exists() && t0.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    let (ok, _, err) = reslab(&["train", "--resume", ck.to_str().unwrap(), "--quiet", "--out", resumed.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.contains("resuming from") && err.contains("epoch "), "{err}");
    let (a, b) = (read_json(&whole), read_json(&resumed));
    assert_eq!(a["steps_done"], b["steps_done"]);
    assert_eq!(a["test_accuracy"], b["test_accuracy"]);
    let losses = |v: &serde_json::Value| v["steps"].as_array().unwrap().iter().map(|p| p["loss"].as_f64().unwrap()).collect::<Vec<_>>();
    let (la, lb) = (losses(&a), losses(&b));
    assert_eq!(la.len(), lb.len());
    assert!(la.iter().zip(&lb).all(|(x, y)| (x - y).abs() <= 1e-4 * x.abs().max(1.0)), "the curves differ");

    // The checkpoint is that run's: a flag that changes the run is refused, and so is a model file.
    let (ok, _, err) = reslab(&["train", "--resume", ck.to_str().unwrap(), "--lr", "0.5", "--quiet"]);
    assert!(!ok && err.contains("lr differs"), "{err}");
    let (ok, _, err) = reslab(&["train", "--resume", whole.to_str().unwrap(), "--quiet"]);
    assert!(!ok && err.contains("not a ResLab checkpoint"), "{err}");
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
            assert!(m["wasm_bytes"].is_null() && m["heap_bytes"].is_null() && m["device_bytes_in_use"].is_null(), "{m}");
        }
    }
    // Without --memory-steps: no samples, and only warm-up + timed steps run.
    let (ok, _, err) = reslab(&["bench", "--models", "mlp", "--batches", "2", "--warmup", "1", "--steps", "2", "--json", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    let last: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&out).unwrap().lines().last().unwrap()).unwrap();
    assert!(last.get("memory").is_none(), "{last}");
    assert_eq!(last["step_ms"].as_array().unwrap().len(), 2);
}

/// Like `reslab`, with the exit code (2: clap refused the arguments).
fn reslab_code(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_reslab")).args(args).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// Five tiny runs of the CNN on the built-in MNIST sample, one per learning rate.
const FIVE_RUNS: &str = r#"{"name": "five", "base": {"model": "cnn", "max_steps": 1, "batch_size": 8, "train_limit": 64,
    "val_size": 16, "test_limit": 16}, "grid": {"lr": [0.001, 0.002, 0.003, 0.004, 0.005]}}"#;
const FIVE_FILES: [&str; 5] = ["01-lr-0-001.json", "02-lr-0-002.json", "03-lr-0-003.json", "04-lr-0-004.json", "05-lr-0-005.json"];

fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    files
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A CSV table's cells (no quoted commas in these tables), without the columns named in `drop`.
fn csv_cells(text: &str, drop: &[&str]) -> Vec<Vec<String>> {
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    let keep: Vec<bool> = rows[0].iter().map(|h| !drop.contains(h)).collect();
    rows.iter().map(|r| r.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| c.to_string()).collect()).collect()
}

/// A Markdown table's cells (header and rows; not the alignment line or the
/// notes below), trimmed, without the columns named in `drop`.
fn markdown_cells(text: &str, drop: &[&str]) -> Vec<Vec<String>> {
    let rows: Vec<Vec<String>> = text
        .lines()
        .take_while(|l| l.starts_with('|'))
        .filter(|l| !l.starts_with("| --") && !l.starts_with("| :-"))
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect())
        .collect();
    let keep: Vec<bool> = rows[0].iter().map(|h| !drop.contains(&h.as_str())).collect();
    rows.iter().map(|r| r.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| c.clone()).collect()).collect()
}

#[test]
fn shards_run_every_run_once_and_their_report_is_the_unsharded_one() {
    let dir = temp_dir("shards");
    std::fs::create_dir_all(&dir).unwrap();
    let grid = dir.join("five.json");
    std::fs::write(&grid, FIVE_RUNS).unwrap();
    let (whole, shard0, shard1, merged) = (dir.join("whole"), dir.join("shard0"), dir.join("shard1"), dir.join("merged"));
    let train = |out: &std::path::Path, shard: Option<&str>| {
        let mut args = vec!["train", "--grid", grid.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()];
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let (ok, _, err) = reslab(&args);
        assert!(ok, "{shard:?}: {err}");
        err
    };
    train(&whole, None);
    let err0 = train(&shard0, Some("0/2"));
    let err1 = train(&shard1, Some("1/2"));
    assert!(err0.contains("shard 0/2: runs 1, 3, 5 of 5") && err0.contains("[3/5] lr 0.003"), "{err0}");
    assert!(err1.contains("shard 1/2: runs 2, 4 of 5"), "{err1}");

    // Every run exactly once across the shards, under the unsharded run's file name.
    assert_eq!(file_names(&whole), FIVE_FILES);
    assert_eq!(file_names(&shard0), [FIVE_FILES[0], FIVE_FILES[2], FIVE_FILES[4]]);
    assert_eq!(file_names(&shard1), [FIVE_FILES[1], FIVE_FILES[3]]);
    std::fs::create_dir_all(&merged).unwrap();
    for d in [&shard0, &shard1] {
        for f in file_names(d) {
            let (a, b) = (read_json(&whole.join(&f)), read_json(&d.join(&f)));
            assert_eq!((&a["config"], &a["label"], &a["group"]), (&b["config"], &b["label"], &b["group"]), "{f}");
            assert_eq!(b["group"], serde_json::json!({"kind": "grid", "name": "five"}));
            std::fs::copy(d.join(&f), merged.join(&f)).unwrap();
        }
    }
    assert_eq!(file_names(&merged), FIVE_FILES);

    // The tables agree on everything but timing: runs are seeded, and two
    // runs of one config on the CPU backend give identical accuracies.
    let report = |args: &[&str]| {
        let (ok, out, err) = reslab(&[&["report"], args].concat());
        assert!(ok, "{args:?}: {err}");
        out
    };
    let (w, s) = (whole.to_str().unwrap(), [shard1.to_str().unwrap(), shard0.to_str().unwrap()]);
    let csv = report(&[w, "--csv"]);
    assert_eq!(
        csv.lines().next().unwrap(),
        "run,label,model,lr,status,best_val_accuracy,final_val_accuracy,test_accuracy,wall_seconds,img_per_s,backend,message"
    );
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(csv.lines().nth(3).unwrap().starts_with("03-lr-0-003,lr 0.003,cnn,0.003,finished,"), "{csv}");
    let timing = ["wall_seconds", "img_per_s"];
    // Shards' folders in any order, or copied into one.
    for other in [report(&[s[0], s[1], "--csv"]), report(&[merged.to_str().unwrap(), "--csv"])] {
        assert_eq!(csv_cells(&other, &timing), csv_cells(&csv, &timing));
    }
    let md = report(&[w]);
    let timing = ["time", "img/s"];
    assert_eq!(markdown_cells(&md, &timing)[0], ["run", "label", "model", "lr", "status", "best val", "final val", "test acc", "backend"]);
    assert_eq!(markdown_cells(&md, &timing).len(), 6, "{md}");
    assert_eq!(markdown_cells(&report(&[s[0], s[1]]), &timing), markdown_cells(&md, &timing));
    // Files given one by one (as a shell expands runs/*.json) make the same table.
    let files: Vec<String> = FIVE_FILES.iter().rev().map(|f| merged.join(f).to_str().unwrap().to_string()).collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    assert_eq!(markdown_cells(&report(&files), &timing), markdown_cells(&md, &timing));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_shard_lists_its_runs_and_bad_shards_are_refused_before_anything_runs() {
    let dir = temp_dir("shardargs");
    std::fs::create_dir_all(&dir).unwrap();
    let grid = dir.join("five.json");
    std::fs::write(&grid, FIVE_RUNS).unwrap();
    let (g, out) = (grid.to_str().unwrap(), dir.join("runs"));
    let o = out.to_str().unwrap();

    let (ok, stdout, err) = reslab(&["train", "--grid", g, "--shard", "1/2", "--dry-run", "--out", o]);
    assert!(ok, "{err}");
    assert_eq!(stdout, "02-lr-0-002.json  lr 0.002\n04-lr-0-004.json  lr 0.004\n");
    let (ok, stdout, _) = reslab(&["train", "--grid", g, "--shard", "2/7", "--dry-run"]);
    assert!(ok && stdout == "03-lr-0-003.json  lr 0.003\n", "{stdout}");
    let (ok, stdout, _) = reslab(&["train", "--grid", g, "--dry-run"]);
    assert!(ok && stdout.lines().count() == 5, "{stdout}");
    let (ok, stdout, _) = reslab(&["train", "--preset", "degradation", "--budget", "smoke", "--shard", "1/4", "--dry-run"]);
    assert!(ok && stdout == "02-plain56.json  plain56\n", "{stdout}");
    assert!(!out.exists(), "a dry run writes nothing");

    // More shards than runs: the extra ones have nothing to do, and say so.
    let (ok, stdout, err) = reslab(&["train", "--grid", g, "--shard", "5/7", "--quiet", "--out", o]);
    assert!(ok, "{err}");
    assert!(err.contains("shard 5/7: no runs, there are only 5") && stdout.is_empty(), "{err}");
    assert!(!out.exists());

    for (shard, want) in [
        ("5/3", "I must be below N: shards are counted from 0 (0/3 to 2/3)"),
        ("3/3", "--array=0-2"),
        ("0/0", "N must be at least 1"),
        ("-1/2", "I and N must be whole numbers"),
        ("a/b", "I and N must be whole numbers"),
        ("3", "expected I/N"),
        ("/10", "I is missing (is $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX set?)"),
    ] {
        let (code, _, err) = reslab_code(&["train", "--grid", g, "--shard", shard, "--quiet", "--out", o]);
        assert_eq!(code, Some(2), "{shard}: {err}");
        assert!(err.contains(&format!("invalid value '{shard}' for '--shard <I/N>'")) && err.contains(want), "{shard}: {err}");
        assert!(!out.exists(), "{shard}: nothing runs");
    }
    let (code, _, err) = reslab_code(&["train", "--model", "cnn", "--shard", "0/2", "--out", o]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--preset") && err.contains("--grid"), "{err}");
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_paper_recipe_lies_under_a_grid_and_grid_files_carry_label_and_group() {
    let dir = temp_dir("papergrid");
    std::fs::create_dir_all(&dir).unwrap();
    let grid = dir.join("g.json");
    std::fs::write(&grid, r#"{"base": {"batch_size": 8, "train_limit": 64, "val_size": 16, "test_limit": 16}, "grid": {"model": ["cnn"]}}"#).unwrap();
    let out = dir.join("runs");
    let (ok, _, err) = reslab(&["train", "--grid", grid.to_str().unwrap(), "--paper", "--max-steps", "1", "--quiet", "--out", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    let v = read_json(&out.join("01-cnn.json"));
    let c = &v["config"];
    assert_eq!((c["dataset"].as_str(), c["optimizer"].as_str(), c["lr"].as_f64(), c["weight_decay"].as_f64()), (Some("cifar10"), Some("momentum"), Some(0.1), Some(1e-4)));
    assert_eq!(c["milestones"], serde_json::json!([32000, 48000]), "the recipe");
    assert_eq!((c["batch_size"].as_u64(), c["val_size"].as_u64(), c["max_steps"].as_u64()), (Some(8), Some(16), Some(1)), "the grid's base, then the flags");
    assert_eq!((v["label"].as_str(), &v["group"]), (Some("cnn"), &serde_json::json!({"kind": "grid", "name": "g"})));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A result JSON as the CLI writes it, with only the keys the table reads.
fn result_json(model: &str, test_accuracy: f64, extra: &str) -> String {
    format!(
        r#"{{"config": {{"model": "{model}", "dataset": "cifar10"}}, "status": "finished", "message": "finished after 1 steps",
        "backend": "cpu", "test_accuracy": {test_accuracy}, "best_val_accuracy": null, "final_val_accuracy": null,
        "wall_seconds": 2.5, "img_per_s": 1500.0{extra}}}"#
    )
}

#[test]
fn report_names_what_is_not_a_result_and_tables_the_rest() {
    let dir = temp_dir("reportbad");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("01-cnn.json"), result_json("cnn", 0.5, "")).unwrap();
    std::fs::write(dir.join("notes.json"), r#"{"hello": 1}"#).unwrap();
    std::fs::write(dir.join("broken.json"), "{").unwrap();
    std::fs::write(dir.join("slurm-7_3.out"), "a log, not a result").unwrap();
    let d = dir.to_str().unwrap();
    let (code, out, err) = reslab_code(&["report", d]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("notes.json: not a run result (expected an object with \"config\""), "{err}");
    assert!(err.contains("broken.json: not a JSON file"), "{err}");
    assert!(!err.contains("slurm-7_3.out"), "a folder's non-JSON files are not read: {err}");
    assert!(err.contains("2 left out (named above); the table has the other 1 run"), "{err}");
    let rows = markdown_cells(&out, &[]);
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(rows[1], ["01-cnn", "cnn", "cnn", "finished", "—", "—", "50.00%", "3 s", "1,500", "cpu"]);

    let (code, out, err) = reslab_code(&["report", dir.join("01-cnn.json").to_str().unwrap()]);
    assert_eq!((code, out.lines().count()), (Some(0), 3), "{err}");
    let (code, _, err) = reslab_code(&["report", dir.join("notes.json").to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("notes.json: not a run result") && err.contains("no run results to report"), "{err}");
    let missing = dir.join("nope.json");
    let (code, _, err) = reslab_code(&["report", missing.to_str().unwrap(), dir.join("01-cnn.json").to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("nope.json"), "{err}");
    let (code, _, err) = reslab_code(&["report"]);
    assert_eq!(code, Some(2), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_reads_the_pages_export_and_escapes_what_a_spreadsheet_would_evaluate() {
    let dir = temp_dir("reportpage");
    std::fs::create_dir_all(&dir).unwrap();
    let page = |label: &str, model: &str, status: &str| {
        format!(
            r#"{{"config": {{"model": "{model}", "lr": 0.01}}, "status": "{status}", "message": "", "label": {label},
            "group": null, "dataset_label": "MNIST (built-in sample)", "layer_std": null, "test_accuracy": 0.25}}"#
        )
    };
    let export = format!("[{}, {}, {}]", page(r#""-1+1|cmd""#, "cnn", "finished"), page(r#""=HYPERLINK(\"x\")""#, "mlp", "interrupted"), page(r#""-12""#, "cnn", "finished"));
    let file = dir.join("reslab-runs.json");
    std::fs::write(&file, export).unwrap();
    let f = file.to_str().unwrap();

    let (ok, csv, err) = reslab(&["report", f, "--csv"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "run,label,model,status,best_val_accuracy,final_val_accuracy,test_accuracy,wall_seconds,img_per_s,backend,message");
    assert_eq!(lines[1], "reslab-runs#1,'-1+1|cmd,cnn,finished,,,0.25,0,0,,");
    assert_eq!(lines[2], r#"reslab-runs#2,"'=HYPERLINK(""x"")",mlp,interrupted,,,0.25,0,0,,"#);
    assert_eq!(lines[3], "reslab-runs#3,-12,cnn,finished,,,0.25,0,0,,", "a plain number stays a number");

    let (ok, md, _) = reslab(&["report", f]);
    assert!(ok);
    assert!(md.contains("| -1+1\\|cmd "), "a pipe would end the cell: {md}");
    // --json: one list in the page's Export JSON format, every key kept.
    let (ok, json, _) = reslab(&["report", f, dir.to_str().unwrap(), "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let labels: Vec<&str> = v.as_array().unwrap().iter().map(|r| r["label"].as_str().unwrap()).collect();
    // The file given twice (by name and in its folder): rows in run order, the copies side by side.
    assert_eq!(labels, ["-1+1|cmd", "-1+1|cmd", "=HYPERLINK(\"x\")", "=HYPERLINK(\"x\")", "-12", "-12"]);
    assert_eq!(v[0]["dataset_label"], "MNIST (built-in sample)");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_puts_the_papers_numbers_beside_a_presets_runs() {
    let dir = temp_dir("reportpaper");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("01-resnet20.json"), result_json("resnet20", 0.5, "")).unwrap();
    std::fs::write(dir.join("02-resnet56.json"), result_json("resnet56", 0.625, "")).unwrap();
    std::fs::write(dir.join("03-cnn.json"), result_json("cnn", 0.75, "")).unwrap();
    let d = dir.to_str().unwrap();
    let (ok, md, err) = reslab(&["report", d, "--preset", "depth"]);
    assert!(ok, "{err}");
    let rows = markdown_cells(&md, &["label", "status", "best val", "final val", "time", "img/s", "backend"]);
    assert_eq!(rows, [["run", "model", "test acc", "paper"], ["01-resnet20", "resnet20", "50.00%", "91.25%"], ["02-resnet56", "resnet56", "62.50%", "93.03%"], ["03-cnn", "cnn", "75.00%", ""]]);
    assert!(md.contains("- resnet20 (paper Table 6): 8.75% test error, so 91.25% accuracy; full 64k-step recipe"), "{md}");
    // Under the table, the study's claims judged on these runs: these results have no loss curve, and
    // their test accuracies are 12.5 points apart where the study says "within 3".
    assert!(md.contains("The study's claims (depth), checked on these runs:"), "{md}");
    assert!(md.contains("| **not run** | no finished run of resnet20 |"), "{md}");
    assert!(md.contains("| **does not show at this budget** | resnet56 62.5% vs resnet20 50.0% (test accuracy; shows within 3.0%) |"), "{md}");
    std::fs::write(dir.join("02-resnet56.json"), result_json("resnet56", 0.52, "")).unwrap();
    let (_, md, _) = reslab(&["report", d, "--preset", "depth"]);
    assert!(md.contains("| **shows** | resnet56 52.0% vs resnet20 50.0% (test accuracy; shows within 3.0%) |"), "{md}");
    std::fs::write(dir.join("02-resnet56.json"), result_json("resnet56", 0.625, "")).unwrap();
    let (ok, csv, _) = reslab(&["report", d, "--preset", "depth", "--csv"]);
    assert!(ok);
    let last: Vec<&str> = csv.lines().map(|l| l.rsplit(',').next().unwrap()).collect();
    assert_eq!(last, ["paper_test_accuracy", "0.9125", "0.9303", ""]);
    // Without --preset: a preset's runs are compared with their own preset's numbers.
    std::fs::write(dir.join("01-resnet20.json"), result_json("resnet20", 0.5, r#", "group": {"kind": "preset", "id": "depth"}"#)).unwrap();
    let (ok, md, _) = reslab(&["report", d]);
    assert!(ok);
    let rows = markdown_cells(&md, &[]);
    assert_eq!((rows[0][7].as_str(), rows[1][7].as_str(), rows[2][7].as_str()), ("paper", "91.25%", ""), "{md}");
    let (ok, _, err) = reslab(&["report", d, "--preset", "nope"]);
    assert!(!ok && err.contains("unknown preset 'nope'"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_cluster_guides_grid_is_table_6_and_its_train_commands_parse() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/CLUSTER.md")).unwrap();
    let start = doc.find("```json\n").expect("the grid's JSON block") + "```json\n".len();
    let grid = &doc[start..start + doc[start..].find("```").unwrap()];
    let dir = temp_dir("clusterdoc");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("table6.json");
    std::fs::write(&path, grid).unwrap();

    // The ten runs of Table 6, with the paper's recipe under them.
    let runs = reslab::lab::Grid::from_json(grid).unwrap().expand().unwrap();
    let models: Vec<&str> = runs.iter().map(|r| r.config.model.as_str()).collect();
    assert_eq!(models, ["plain20", "plain32", "plain44", "plain56", "plain110", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]);
    for r in &runs {
        let warmup = if r.config.model.ends_with("110") { 400 } else { 0 };
        assert_eq!((r.config.warmup_steps, r.config.warmup_lr, r.config.shortcut), (warmup, 0.01, reslab::config::Shortcut::A), "{}", r.label);
    }

    // Every `reslab train` line of the guide, as a scheduler would run it for
    // index 3, parses and picks run 4 (a dry run: no data read, no GPU).
    let mut checked = 0;
    for line in doc.lines().filter(|l| l.contains("reslab train --grid")) {
        let cmd = &line[line.find("reslab train").unwrap() + "reslab ".len()..];
        // The shell's part ends the command: a redirection, or the quote around it (GNU parallel).
        let cmd = cmd.split(" >").next().unwrap().split('\'').next().unwrap();
        let mut args: Vec<String> = cmd
            .split_whitespace()
            .map(|a| a.replace('"', "").replace("$SLURM_ARRAY_TASK_ID", "3").replace("$JOB_COMPLETION_INDEX", "3").replace("{}", "3"))
            .map(|a| if a.ends_with("table6.json") { path.to_str().unwrap().to_string() } else { a })
            .collect();
        if !args.iter().any(|a| a == "--dry-run") {
            args.push("--dry-run".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out, err) = reslab(&args);
        assert!(ok, "{line}\n{err}");
        let want = if args.contains(&"--shard") { 1 } else { 10 };
        assert_eq!(out.lines().count(), want, "{line}\n{out}");
        if want == 1 {
            assert_eq!(out, "04-plain56-warmup-steps-0.json  plain56 · warmup_steps 0\n", "{line}");
        }
        checked += 1;
    }
    assert_eq!(checked, 4, "the dry run, Slurm, Kubernetes and GNU parallel");
    for part in ["#SBATCH --array=0-9", "#SBATCH --gres=gpu:1", "completionMode: Indexed", "completions: 10", "nvidia.com/gpu: 1", "reslab report runs/ --preset depth"] {
        assert!(doc.contains(part), "{part}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The config's field names, from the struct itself (a field added later is in this list).
fn config_fields() -> Vec<String> {
    let serde_json::Value::Object(m) = serde_json::to_value(reslab::config::ExperimentConfig::default()).unwrap() else {
        panic!("the config is a JSON object")
    };
    m.keys().cloned().collect()
}

#[test]
fn train_help_has_a_flag_for_every_config_field() {
    let (ok, help, err) = reslab(&["train", "--help"]);
    assert!(ok, "{err}");
    let fields = config_fields();
    assert!(fields.len() >= 29 && fields.contains(&"warmup_lr".to_string()), "{fields:?}");
    let missing: Vec<String> = fields
        .iter()
        .map(|f| format!("--{} <", f.replace('_', "-")))
        .filter(|flag| !help.lines().any(|l| l.trim_start().starts_with(flag.as_str())))
        .collect();
    assert!(missing.is_empty(), "no flag for {missing:?} in:\n{help}");
    // The old spelling, --set, the field's doc comment as its help, and the enums' values.
    let line = |flag: &str| help.lines().find(|l| l.trim_start().starts_with(flag)).unwrap_or_else(|| panic!("{flag}:\n{help}"));
    assert!(line("--batch-size <").contains("[alias: --batch]"), "{help}");
    assert!(line("--set <FIELD=VALUE>").contains("JSON"), "{help}");
    assert!(line("--bn-momentum <").contains("Weight of the NEW batch in the running statistics"), "{help}");
    assert!(line("--warmup-steps <").contains("Steps of warm-up at the start"), "{help}");
    assert!(line("--schedule <").contains("[possible values: constant, multistep, cosine]"), "{help}");
    assert!(line("--dataset <").contains("[possible values: mnist, fashion-mnist, cifar10, cifar100, cifar100-coarse, images]"), "{help}");
}

/// `train --dry-run` with these arguments: the config it prints.
fn dry_run_config(args: &[&str]) -> serde_json::Value {
    let (ok, out, err) = reslab(&[&["train", "--dry-run"], args].concat());
    assert!(ok, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[test]
fn flags_set_and_config_files_agree() {
    let c = dry_run_config(&["--warmup-steps", "7", "--set", "warmup_lr=0.003", "--batch", "32"]);
    assert_eq!((c["warmup_steps"].as_u64(), c["warmup_lr"].as_f64(), c["batch_size"].as_u64()), (Some(7), Some(0.003), Some(32)), "{c}");
    assert_eq!(c["model"], "cnn", "the rest is the defaults: {c}");

    // Every field away from its default, given as a config file, as flags and as --set: one config.
    let want = serde_json::json!({
        "dataset": "cifar10", "image_size": 32, "image_fit": "pad", "test_fraction": 0.3, "classes": 10, "model": "resnet32", "shortcut": "b", "stem": "small", "bn_momentum": 0.01, "bn_epsilon": 0.001,
        "optimizer": "nesterov", "lr": 0.05, "momentum": 0.8, "weight_decay": 0.0005, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-7,
        "schedule": "multistep", "milestones": [100, 200], "gamma": 0.2, "warmup_steps": 7, "warmup_lr": 0.003, "batch_size": 32,
        "epochs": 3, "max_steps": 300, "val_size": 100, "augment": false, "mean_subtraction": false, "patience": 2, "seed": 9,
        "train_limit": 1000, "test_limit": 500, "log_every": 5
    });
    let fields = want.as_object().unwrap();
    assert_eq!(fields.keys().cloned().collect::<Vec<_>>(), config_fields(), "every field");
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let dir = temp_dir("agree");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.json");
    std::fs::write(&file, want.to_string()).unwrap();
    assert_eq!(dry_run_config(&["--config", file.to_str().unwrap()]), want);
    let flags: Vec<String> = fields.iter().flat_map(|(k, v)| [format!("--{}", k.replace('_', "-")), text(v)]).collect();
    assert_eq!(dry_run_config(&flags.iter().map(String::as_str).collect::<Vec<_>>()), want, "{flags:?}");
    let sets: Vec<String> = fields.iter().flat_map(|(k, v)| ["--set".to_string(), format!("{k}={}", text(v))]).collect();
    assert_eq!(dry_run_config(&sets.iter().map(String::as_str).collect::<Vec<_>>()), want, "{sets:?}");

    // Flags and --set override the file; lists as JSON or comma-separated; null; a dataset's other spellings.
    let c = dry_run_config(&["--config", file.to_str().unwrap(), "--seed", "4", "--set", "max_steps=null", "--milestones", "50,60", "--set", "model=resnet20"]);
    assert_eq!((c["seed"].as_u64(), &c["max_steps"], &c["milestones"], c["model"].as_str()), (Some(4), &serde_json::Value::Null, &serde_json::json!([50, 60]), Some("resnet20")));
    assert_eq!(c["lr"], want["lr"], "the file's other fields stay");
    let c = dry_run_config(&["--set", "milestones=[100,200]", "--dataset", "cifar", "--lr", ".1"]);
    assert_eq!((&c["milestones"], c["dataset"].as_str(), c["lr"].as_f64()), (&serde_json::json!([100, 200]), Some("cifar10"), Some(0.1)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_enum_values_and_unknown_fields_are_refused_naming_them() {
    // Refused when the arguments are read (exit code 2), with the values allowed.
    for (args, want) in [
        (&["--shortcut", "c"][..], "invalid value 'c' for '--shortcut <SHORTCUT>'"),
        (&["--set", "shortcut=c"], "shortcut: invalid value 'c' [possible values: a, b]"),
        (&["--stem", "big"], "[possible values: auto, imagenet, small]"),
        (&["--schedule", "cosin"], "[possible values: constant, multistep, cosine]"),
        (&["--set", "schedule=step"], "schedule: invalid value 'step' [possible values: constant, multistep, cosine]"),
        (&["--optimizer", "adamm"], "[possible values: sgd, momentum, nesterov, adam, adamw, adagrad, rmsprop]"),
        (&["--dataset", "cifar1000"], "[possible values: mnist, fashion-mnist, cifar10, cifar100, cifar100-coarse, images]"),
        (&["--backend", "tpu"], "[possible values: cpu, wgpu, ndarray]"),
        (&["--set", "nonsense=1"], "unknown config field 'nonsense'"),
        (&["--set", "lr"], "expected FIELD=VALUE"),
        (&["--lr", "fast"], "invalid value 'fast' for '--lr <X>': invalid type: string \"fast\", expected f64"),
        (&["--set", "epochs=1.5"], "epochs: invalid type: floating point `1.5`, expected usize"),
        (&["--batch", "32", "--set", "batch_size=64"], "batch_size is given twice"),
    ] {
        let (code, out, err) = reslab_code(&[&["train", "--dry-run"], args].concat());
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
    }
    // The same for every run of a preset, and for describe's flags.
    let (code, _, err) = reslab_code(&["train", "--preset", "degradation", "--budget", "smoke", "--set", "nonsense=1", "--dry-run"]);
    assert!(code == Some(2) && err.contains("unknown config field 'nonsense'"), "{err}");
    let (code, _, err) = reslab_code(&["describe", "resnet20", "--shortcut", "c"]);
    assert!(code == Some(2) && err.contains("[possible values: a, b]"), "{err}");
    // Values of the right type but out of range: the config's own checks, every problem at once.
    let (code, _, err) = reslab_code(&["train", "--dry-run", "--set", "gamma=2", "--warmup-steps", "5", "--warmup-lr", "0"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("gamma: gamma must be in (0, 1]") && err.contains("warmup_lr: warm-up learning rate must be positive"), "{err}");
    // The old spelling still works.
    assert_eq!(dry_run_config(&["--batch", "16"])["batch_size"], 16);
}
