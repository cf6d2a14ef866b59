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

/// One test, because the WebGPU device can be set up once per worker.
#[wasm_bindgen_test]
async fn webgpu_backend_computes_like_the_cpu_and_trains_a_few_steps() {
    use burn::tensor::{Distribution, Tensor, module::conv2d, ops::ConvOptions};
    let gpu = reslab::backend::wgpu_device().await.expect("WebGPU (Chromium needs --enable-unsafe-webgpu)");
    let cpu = reslab::backend::cpu_device();
    async fn to_gpu<const D: usize>(t: &Tensor<D>, gpu: &Device) -> Tensor<D> {
        Tensor::from_data(t.clone().into_data_async().await.unwrap(), gpu)
    }
    async fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data_async().await.unwrap().convert::<f32>().try_into_vec::<f32>().unwrap()
    }
    // Sums of `terms` products of numbers in [0, 1) (or of their signed
    // versions): the two backends may differ by float rounding only.
    fn close(what: &str, want: &[f32], got: &[f32], terms: usize) {
        assert_eq!(want.len(), got.len(), "{what}");
        for (i, (w, g)) in want.iter().zip(got).enumerate() {
            assert!((w - g).abs() <= 1e-6 * terms as f32 * w.abs().max(1.0), "{what} at {i}: cpu {w}, webgpu {g}");
        }
    }
    // On a software adapter (SwiftShader here) matmuls run a routine written
    // for CPUs; on a GPU, Burn's default one. Both are checked, whichever
    // this adapter is, on the GPU kernels ResLab's nets run: the CNN's first
    // dense layer at batch 32 (forward, weight gradient, input gradient) and
    // 1, its second, a ResNet head, sizes that fit no tile; each with plain
    // operands and with a transposed view as the left or the right one, as
    // the backward pass passes them.
    let software = reslab::backend::software_adapter().await;
    assert_eq!(reslab::backend::software_kernels(), software.is_some(), "adapter: {software:?}");
    for cpu_routine in [true, false] {
        reslab::backend::set_software_kernels(cpu_routine);
        for [m, k, n] in [[32, 1600, 128], [32, 128, 10], [1600, 32, 128], [32, 128, 1600], [1, 1600, 128], [32, 64, 10], [7, 5, 3], [100, 70, 33]] {
            for layout in ["plain", "lhs transposed", "rhs transposed"] {
                // Stored as the layout says, then (on both devices) a transposed view.
                let (lt, rt) = (layout == "lhs transposed", layout == "rhs transposed");
                let sa = Tensor::<2>::random(if lt { [k, m] } else { [m, k] }, Distribution::Default, &cpu);
                let sb = Tensor::<2>::random(if rt { [n, k] } else { [k, n] }, Distribution::Default, &cpu);
                let view = |t: Tensor<2>, transposed: bool| if transposed { t.transpose() } else { t };
                let (ga, gb) = (view(to_gpu(&sa, &gpu).await, lt), view(to_gpu(&sb, &gpu).await, rt));
                let (a, b) = (view(sa, lt), view(sb, rt));
                let got = values(ga.matmul(gb)).await;
                let routine = if cpu_routine { "CPU routine" } else { "GPU routine" };
                close(&format!("matmul {m}x{k}x{n}, {layout}, {routine}"), &values(a.matmul(b)).await, &got, k);
            }
        }
    }
    reslab::backend::set_software_kernels(software.is_some());
    // …and 3x3 convolutions forward: the MNIST CNN's (valid padding) and a
    // ResNet's (padding 1, stride 1 and 2). Their backward kernels are only
    // exercised by the training steps below.
    for (cin, cout, size, pad, stride) in [(32, 64, 13, 0, 1), (16, 16, 32, 1, 1), (16, 32, 32, 1, 2)] {
        let x = Tensor::<4>::random([2, cin, size, size], Distribution::Uniform(-1.0, 1.0), &cpu);
        let w = Tensor::<4>::random([cout, cin, 3, 3], Distribution::Uniform(-1.0, 1.0), &cpu);
        let options = ConvOptions::new([stride, stride], [pad, pad], [1, 1], 1);
        let got = values(conv2d(to_gpu(&x, &gpu).await, to_gpu(&w, &gpu).await, None, options.clone())).await;
        close(&format!("conv2d {cin}->{cout} on {size}x{size}, padding {pad}, stride {stride}"), &values(conv2d(x, w, None, options)).await, &got, cin * 9);
    }
    few_steps(gpu, "webgpu", 3, 8).await;
}
