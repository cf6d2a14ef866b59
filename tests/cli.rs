//! The `reslab` binary, as a user runs it.

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
fn data_can_be_a_folder_of_official_files() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/mnist");
    assert!(std::path::Path::new(dir).is_dir(), "{dir} is needed (real MNIST)");
    let (ok, _, err) = reslab(&["train", "--data", dir, "--max-steps", "2", "--batch", "8", "--test-limit", "32", "--quiet"]);
    assert!(ok, "{err}");
    assert!(err.contains("60000 train / 10000 test"), "{err}");
    // A file that is no dataset is named in the error.
    let junk = std::env::temp_dir().join(format!("reslab-junk-{}.bin", std::process::id()));
    std::fs::write(&junk, b"not a dataset").unwrap();
    let (ok, _, err) = reslab(&["train", "--data", junk.to_str().unwrap(), "--quiet"]);
    let _ = std::fs::remove_file(&junk);
    assert!(!ok);
    assert!(err.contains("reslab-junk-"), "{err}");
}
