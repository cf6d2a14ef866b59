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
    use burn::tensor::{Distribution, Tensor, ops::ConvOptions};
    // The ops as the nets call them (reslab-kernels): ResLab's kernels on a
    // device marked as a software adapter, Burn's own otherwise.
    use reslab_kernels::{calls, conv2d};
    let gpu = reslab::backend::wgpu_device().await.expect("WebGPU (Chromium needs --enable-unsafe-webgpu)");
    let cpu = reslab::backend::cpu_device();
    async fn copy_to<const D: usize>(t: &Tensor<D>, gpu: &Device) -> Tensor<D> {
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
    // ResLab's kernels ran (`calls` moved) exactly when the device is marked.
    let ran = |before: u64, software_kernel: bool, what: &str| {
        assert_eq!(calls() > before, software_kernel, "{what}: ResLab's kernels ran: {}, want {software_kernel}", calls() > before);
    };
    for cpu_routine in [true, false] {
        reslab::backend::set_software_kernels(&gpu, cpu_routine);
        assert_eq!(reslab::backend::software_kernels(&gpu), cpu_routine);
        assert!(!reslab::backend::software_kernels(&cpu), "a setting of the GPU device only");
        for [m, k, n] in [[32, 1600, 128], [32, 128, 10], [1600, 32, 128], [32, 128, 1600], [1, 1600, 128], [32, 64, 10], [7, 5, 3], [100, 70, 33]] {
            for layout in ["plain", "lhs transposed", "rhs transposed"] {
                // Stored as the layout says, then (on both devices) a transposed view.
                let (lt, rt) = (layout == "lhs transposed", layout == "rhs transposed");
                let sa = Tensor::<2>::random(if lt { [k, m] } else { [m, k] }, Distribution::Default, &cpu);
                let sb = Tensor::<2>::random(if rt { [n, k] } else { [k, n] }, Distribution::Default, &cpu);
                let view = |t: Tensor<2>, transposed: bool| if transposed { t.transpose() } else { t };
                let (ga, gb) = (view(copy_to(&sa, &gpu).await, lt), view(copy_to(&sb, &gpu).await, rt));
                let (a, b) = (view(sa, lt), view(sb, rt));
                let before = calls();
                let got = values(reslab_kernels::matmul(ga, gb)).await;
                let routine = if cpu_routine { "CPU routine" } else { "GPU routine" };
                ran(before, cpu_routine, &format!("matmul {m}x{k}x{n}, {layout}"));
                close(&format!("matmul {m}x{k}x{n}, {layout}, {routine}"), &values(a.matmul(b)).await, &got, k);
            }
        }
    }
    // …and convolutions, forward (with a bias) and all three gradients, with the kernels written
    // for software adapters (direct, and Winograd's for 3x3 at stride 1
    // from 8 channels) and with Burn's: the CNN's (valid padding, one
    // input channel), ResNet's (padding 1 at stride 1 and 2, the 1x1
    // stride-2 shortcut, the 3-channel stem), and odd sizes (channel counts
    // that fill no vector, padding 2, a 5x5 kernel, widths that leave a
    // partial block of positions or a partial 4x4 tile, a batch in uneven
    // chunks).
    let (cpu_ad, gpu_ad) = (cpu.clone().autodiff(), gpu.clone().autodiff());
    // y = conv(x, w) + bias, then dL/dx, dL/dw and dL/dbias for L = sum(y * dy).
    async fn conv_passes(x: Tensor<4>, w: Tensor<4>, bias: Tensor<1>, dy: Tensor<4>, options: ConvOptions<2>) -> [Vec<f32>; 4] {
        let (x, w, bias) = (x.require_grad(), w.require_grad(), bias.require_grad());
        let y = conv2d(x.clone(), w.clone(), Some(bias.clone()), options);
        let forward = values(y.clone().inner()).await;
        let grads = (y * dy).sum().backward();
        [forward, values(x.grad(&grads).unwrap()).await, values(w.grad(&grads).unwrap()).await, values(bias.grad(&grads).unwrap()).await]
    }
    for software_kernel in [true, false] {
        reslab::backend::set_software_kernels(&gpu, software_kernel);
        let kernel = if software_kernel { "software kernel" } else { "GPU kernel" };
        for (cin, cout, size, k, pad, stride, batch) in [
            (1, 32, 28, 3, 0, 1, 2),
            (32, 64, 13, 3, 0, 1, 3),
            (16, 16, 8, 3, 1, 1, 2),
            (3, 16, 9, 3, 1, 1, 2),
            (16, 32, 9, 3, 1, 2, 2),
            (16, 32, 8, 1, 0, 2, 2),
            (5, 6, 7, 3, 2, 1, 1),
            (8, 10, 6, 5, 1, 1, 2),
            // 16 -> 16 channels with a batch of 10.
            (16, 16, 8, 3, 1, 1, 10),
            // Winograd's path (3x3, stride 1, 8 channels and more): an odd
            // number of 4x4 tiles, channel counts that fill no vector,
            // padding 2 (0 for the input gradient, whose width 6 leaves half
            // a tile), and 81 tiles, which the weight gradient sums in
            // chunks of 64 and 17.
            (16, 16, 9, 3, 1, 1, 1),
            (10, 9, 7, 3, 1, 1, 2),
            (8, 12, 6, 3, 2, 1, 3),
            (16, 16, 9, 3, 1, 1, 9),
        ] {
            let out = (size + 2 * pad - k) / stride + 1;
            let x = Tensor::<4>::random([batch, cin, size, size], Distribution::Uniform(-1.0, 1.0), &cpu);
            let w = Tensor::<4>::random([cout, cin, k, k], Distribution::Uniform(-1.0, 1.0), &cpu);
            let dy = Tensor::<4>::random([batch, cout, out, out], Distribution::Uniform(-1.0, 1.0), &cpu);
            let bias = Tensor::<1>::random([cout], Distribution::Uniform(-1.0, 1.0), &cpu);
            let options = ConvOptions::new([stride, stride], [pad, pad], [1, 1], 1);
            let on = async |device: &Device| {
                let (x, w, bias, dy) = (copy_to(&x, device).await, copy_to(&w, device).await, copy_to(&bias, device).await, copy_to(&dy, device).await);
                conv_passes(x, w, bias, dy, options.clone()).await
            };
            let want = on(&cpu_ad).await;
            let before = calls();
            let got = on(&gpu_ad).await;
            let what = format!("conv2d {cin}->{cout} on {size}x{size}, {k}x{k}, padding {pad}, stride {stride}, {kernel}");
            ran(before, software_kernel, &what);
            // Terms summed: per output, per input-gradient and per weight-gradient element.
            for ((pass, terms), (want, got)) in [("forward", cin * k * k), ("input gradient", cout * k * k), ("weight gradient", batch * out * out), ("bias gradient", batch * out * out)].into_iter().zip(want.iter().zip(&got)) {
                close(&format!("{what}: {pass}"), want, got, terms);
            }
        }
    }
    // …and batch normalisation in training (output, batch mean and variance;
    // gradients of input, gamma and beta), with the kernels written for
    // software adapters and with Burn's default composition: on a
    // convolution's channels-last output seen as [n, c, h, w] and on a plain
    // one; the ResNet's shapes and odd ones (channels that fill no vector,
    // widths under and over a group of rows). The input has an offset and a
    // spread, as a layer's activations do, which a careless variance loses.
    for software_kernel in [true, false] {
        reslab::backend::set_software_kernels(&gpu, software_kernel);
        let kernel = if software_kernel { "software kernels" } else { "Burn's composition" };
        for ([n, c, h, w], channels_last) in [([8, 16, 8, 8], true), ([2, 16, 8, 8], false), ([3, 5, 7, 6], true), ([2, 3, 5, 300], false), ([1, 2, 1, 3], true)] {
            let x = if channels_last {
                Tensor::<4>::random([n, h, w, c], Distribution::Uniform(-1.0, 1.0), &cpu).permute([0, 3, 1, 2])
            } else {
                Tensor::<4>::random([n, c, h, w], Distribution::Uniform(-1.0, 1.0), &cpu)
            } * 3.0 + 5.0;
            let gamma = Tensor::<1>::random([c], Distribution::Uniform(0.5, 1.5), &cpu);
            let beta = Tensor::<1>::random([c], Distribution::Uniform(-1.0, 1.0), &cpu);
            let dy = Tensor::<4>::random([n, c, h, w], Distribution::Uniform(-1.0, 1.0), &cpu);
            let on = async |device: &Device| {
                let copy = async |t: &Tensor<4>| {
                    let t = copy_to(t, device).await;
                    if channels_last { copy_to(&t.permute([0, 2, 3, 1]), device).await.permute([0, 3, 1, 2]) } else { t }
                };
                let (x, dy) = (copy(&x).await.require_grad(), copy_to(&dy, device).await);
                let (gamma, beta) = (copy_to(&gamma, device).await.require_grad(), copy_to(&beta, device).await.require_grad());
                let (output, mean, variance) = reslab_kernels::batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5);
                let (y, mean, var) = (values(output.clone().inner()).await, values(mean).await, values(variance).await);
                let grads = (output * dy).sum().backward();
                [y, mean, var, values(x.grad(&grads).unwrap()).await, values(gamma.grad(&grads).unwrap()).await, values(beta.grad(&grads).unwrap()).await]
            };
            let want = on(&cpu_ad).await;
            let before = calls();
            let got = on(&gpu_ad).await;
            ran(before, software_kernel, &format!("batch norm [{n}, {c}, {h}, {w}]"));
            let m = n * h * w;
            // x̂ = (x − mean) / std loses about |x| / std of float precision
            // in the subtraction: with few values per channel the spread
            // can be small next to the offset (on [1, 2, 1, 3] a draw put
            // the two backends 4e-6 apart on an output of 1.16).
            let cond = want[1].iter().zip(&want[2]).map(|(mean, var)| (mean.abs() + 3.0) / (var + 1e-5).sqrt()).fold(1.0f32, f32::max).ceil() as usize;
            for ((pass, terms), (want, got)) in [("output", m * cond), ("mean", m), ("variance", m * 10), ("input gradient", m * 10 * cond), ("gamma gradient", m * 10 * cond), ("beta gradient", m)].into_iter().zip(want.iter().zip(&got)) {
                close(&format!("batch norm [{n}, {c}, {h}, {w}]{}, {kernel}: {pass}", if channels_last { " channels-last" } else { "" }), want, got, terms);
            }
        }
    }
    // …and ReLU, forward and gradient, on inputs with exact zeros (whose
    // gradient is 0, as Burn's default has it), channels-last and plain.
    for software_kernel in [true, false] {
        reslab::backend::set_software_kernels(&gpu, software_kernel);
        for channels_last in [true, false] {
            let x = (Tensor::<4>::random([2, 6, 5, 7], Distribution::Uniform(-1.0, 1.0), &cpu) * 4.0).round();
            let x = if channels_last { x.permute([0, 2, 3, 1]) } else { x };
            let dy = Tensor::<4>::random([2, 6, 5, 7], Distribution::Uniform(-1.0, 1.0), &cpu);
            let on = async |device: &Device| {
                let x = copy_to(&x, device).await;
                let x = if channels_last { x.permute([0, 3, 1, 2]) } else { x }.require_grad();
                let y = reslab_kernels::relu(x.clone());
                let grads = (y.clone() * copy_to(&dy, device).await).sum().backward();
                [values(y.inner()).await, values(x.grad(&grads).unwrap()).await]
            };
            let want = on(&cpu_ad).await;
            let before = calls();
            let got = on(&gpu_ad).await;
            ran(before, software_kernel, "relu");
            assert!(want[1].iter().filter(|g| **g == 0.0).count() > 100, "the input has zeros and negatives");
            for (pass, (want, got)) in ["output", "gradient"].into_iter().zip(want.iter().zip(&got)) {
                close(&format!("relu {pass}, software kernel {software_kernel}, channels-last {channels_last}"), want, got, 1);
            }
        }
    }
    // The self-check the page runs when its WebGPU engine starts: every
    // layer kind's output and gradients agree with the CPU's, with either
    // set of kernels; an op made wrong is caught and named.
    for software_kernel in [true, false] {
        reslab::backend::set_software_kernels(&gpu, software_kernel);
        let r = reslab::selfcheck::run(&gpu, None).await.unwrap();
        assert!(r.ok, "self-check, software kernel {software_kernel}: {:?}", r.failure);
    }
    let r = reslab::selfcheck::run(&gpu, Some("max_pool")).await.unwrap();
    assert!(!r.ok && r.failure.as_deref().unwrap_or("").starts_with("max_pool output differs from the CPU"), "{:?}", r.failure);
    // A training step of ResNet-8 on the GPU runs ResLab's kernel for every
    // convolution (forward and both gradients: the input requires one here),
    // batch norm and ReLU both ways, and the dense layer's three matmuls, when
    // the device is marked as a software adapter; none when it is not. So a
    // Burn upgrade or a model change that routed the step around them fails
    // here, not only in a benchmark.
    for marked in [true, false] {
        reslab::backend::set_software_kernels(&gpu, marked);
        let cfg = ExperimentConfig { model: "resnet8".into(), dataset: DatasetKind::Cifar10, ..Default::default() };
        let net = cfg.build_net(&gpu_ad).unwrap();
        let x = Tensor::<4>::random([2, 3, 32, 32], Distribution::Normal(0.0, 1.0), &gpu_ad).require_grad();
        let before = calls();
        let grads = net.forward(x.clone()).sum().backward();
        values(x.grad(&grads).unwrap().reshape([2 * 3 * 32 * 32])).await; // runs the step's queued kernels
        let (convs, bns, relus, matmuls) = (7, 7, 7, 3);
        let want = if marked { 3 * convs + 2 * bns + 2 * relus + matmuls } else { 0 };
        assert_eq!(calls() - before, want, "ResLab's kernels in a ResNet-8 step on WebGPU, device marked: {marked}");
    }
    reslab::backend::set_software_kernels(&gpu, software.is_some());
    few_steps(gpu, "webgpu", 3, 8).await;
}
