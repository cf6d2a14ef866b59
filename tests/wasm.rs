//! The core compiled to wasm, run in headless Chromium by
//! `wasm-bindgen-test-runner` (see `webdriver.json` and `scripts/test`):
//! dataset parsing in wasm, and a few training steps on the CPU backend and
//! on WebGPU, inside a dedicated worker as in the app.
#![cfg(target_family = "wasm")]

use burn::tensor::Device;
use reslab::config::ExperimentConfig;
use reslab::data::{self, DatasetKind, Problem};
use reslab::train::{self, Control, Status};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn mnist_files() -> Vec<(String, Vec<u8>)> {
    macro_rules! f {
        ($n:literal) => {
            ($n.to_string(), include_bytes!(concat!("../assets/sample/mnist/", $n)).to_vec())
        };
    }
    vec![
        f!("train-images-idx3-ubyte.gz"),
        f!("train-labels-idx1-ubyte.gz"),
        f!("t10k-images-idx3-ubyte.gz"),
        f!("t10k-labels-idx1-ubyte.gz"),
    ]
}

#[wasm_bindgen_test]
fn parses_the_samples_and_names_a_bad_file() {
    let d = data::load_files(&mnist_files(), None).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (10_000, 2_000));
    let cifar = include_bytes!("../assets/sample/cifar10/cifar-10-sample-binary.tar.gz").to_vec();
    let c = data::load_files(&[("cifar-10-sample-binary.tar.gz".into(), cifar)], None).unwrap();
    assert_eq!((c.kind, c.train.len(), c.test.len()), (DatasetKind::Cifar10, 2_000, 500));

    let mut files = mnist_files();
    let raw = data::gunzip("x", &files[1].1, 1 << 20).unwrap();
    let mut bad = raw.clone();
    bad[8] = 42; // label 42
    files[1] = ("train-labels-idx1-ubyte".into(), bad);
    let e = data::load_files(&files, None).unwrap_err();
    assert_eq!(e.file, "train-labels-idx1-ubyte");
    assert!(matches!(e.problem, Problem::LabelOutOfRange { label: 42, .. }), "{e}");
}

async fn few_steps(device: Device, backend: &str, steps: usize, batch: usize) -> Vec<f32> {
    let d = data::load_files(&mnist_files(), None).unwrap();
    let cfg = ExperimentConfig { max_steps: Some(steps), batch_size: batch, log_every: 1, test_limit: Some(64), ..Default::default() };
    let r = train::train(&cfg, &d, &device, backend, &Control::new(), &mut |_| {}).await;
    assert_eq!(r.status, Status::Finished, "{}", r.message);
    let losses: Vec<f32> = r.steps.iter().map(|p| p.loss).collect();
    assert_eq!(losses.len(), steps);
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    losses
}

#[wasm_bindgen_test]
async fn cpu_backend_steps_lower_the_loss() {
    let l = few_steps(reslab::backend::cpu_device(), "cpu", 12, 32).await;
    let head = (l[0] + l[1] + l[2]) / 3.0;
    let tail = (l[9] + l[10] + l[11]) / 3.0;
    assert!(tail < head, "{l:?}");
}

#[wasm_bindgen_test]
async fn webgpu_backend_trains_a_few_steps() {
    let device = reslab::backend::wgpu_device().await.expect("WebGPU (Chromium needs --enable-unsafe-webgpu)");
    few_steps(device, "webgpu", 3, 8).await;
}
