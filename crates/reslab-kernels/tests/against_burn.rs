//! ResLab's ops against Burn's own on the same backend: forward values and
//! every gradient, through `Autodiff<Flex>` as the model calls them, and
//! proof that ResLab's kernels (not Burn's) produced them.

use burn::backend::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor, Tolerance};

/// The kernel counter is process-wide: tests that read it run one at a time.
static COUNTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn device() -> Device {
    Device::flex().autodiff()
}

fn random<const D: usize>(shape: [usize; D], seed: u64) -> Tensor<D> {
    let device = device();
    device.seed(seed);
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), &device).require_grad()
}

fn close<const D: usize>(what: &str, a: Tensor<D>, b: Tensor<D>) {
    println!("{what}");
    a.into_data().assert_approx_eq::<f32>(&b.into_data(), Tolerance::absolute(2e-4).set_relative(2e-4));
}

#[test]
fn convolution_and_its_gradients_match_burns() {
    let _one_at_a_time = COUNTER.lock().unwrap();
    // Strided, padded, with and without bias; a 1x1 projection; groups.
    let cases: [([usize; 4], [usize; 4], usize, usize, usize, bool); 4] = [
        ([3, 4, 9, 9], [6, 4, 3, 3], 1, 1, 1, false),
        ([2, 4, 8, 7], [6, 4, 3, 3], 2, 1, 1, true),
        ([2, 8, 8, 8], [16, 8, 1, 1], 2, 0, 1, false),
        ([2, 4, 6, 6], [6, 2, 3, 3], 1, 2, 2, true),
    ];
    for (i, (xs, ws, stride, pad, groups, with_bias)) in cases.into_iter().enumerate() {
        let options = ConvOptions::new([stride; 2], [pad; 2], [1, 1], groups);
        let (x, w) = (random(xs, 10 + i as u64), random(ws, 20 + i as u64));
        let b = with_bias.then(|| random([ws[0]], 30 + i as u64));
        let before = reslab_kernels::calls();
        let ours = reslab_kernels::conv2d(x.clone(), w.clone(), b.clone(), options.clone());
        let theirs = burn::tensor::module::conv2d(x.clone(), w.clone(), b.clone(), options);
        close("forward", ours.clone(), theirs.clone());
        // A loss that weights every output differently, so each gradient is checked.
        let weights = random(ours.dims(), 40 + i as u64).detach();
        let g1 = (ours * weights.clone()).sum().backward();
        let g2 = (theirs * weights).sum().backward();
        close("dx", x.grad(&g1).unwrap(), x.grad(&g2).unwrap());
        close("dw", w.grad(&g1).unwrap(), w.grad(&g2).unwrap());
        if let Some(b) = b {
            close("db", b.grad(&g1).unwrap(), b.grad(&g2).unwrap());
        }
        // Forward, input and weight gradients (and bias), each a kernel of ours.
        assert_eq!(reslab_kernels::calls() - before, 3 + with_bias as u64, "case {i}");
    }
}

#[test]
fn batch_norm_and_relu_match_burns() {
    let _one_at_a_time = COUNTER.lock().unwrap();
    let x = random([4, 3, 5, 6], 1);
    let (gamma, beta) = (random([3], 2), random([3], 3));
    let before = reslab_kernels::calls();
    let (y, mean, var) = reslab_kernels::batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5);
    let y = reslab_kernels::relu(y);
    let r = burn::tensor::module::batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5);
    let theirs = burn::tensor::activation::relu(r.output);
    close("output", y.clone(), theirs.clone());
    close("mean", mean.clone(), r.mean);
    close("variance", var.clone(), r.variance);
    let weights = random([4, 3, 5, 6], 4).detach();
    let g1 = (y * weights.clone()).sum().backward();
    let g2 = (theirs * weights).sum().backward();
    close("dx", x.grad(&g1).unwrap(), x.grad(&g2).unwrap());
    close("dgamma", gamma.grad(&g1).unwrap(), gamma.grad(&g2).unwrap());
    close("dbeta", beta.grad(&g1).unwrap(), beta.grad(&g2).unwrap());
    // Evaluation with the batch's statistics gives the training output.
    let eval = reslab_kernels::batch_norm(x.clone().detach(), gamma.detach(), beta.detach(), mean, var, 1e-5);
    close("evaluation", eval, burn::tensor::module::batch_norm_train(x.detach(), random([3], 2).detach(), random([3], 3).detach(), 1e-5).output);
    // BN and ReLU forward, their two backward passes, the evaluation BN.
    assert_eq!(reslab_kernels::calls() - before, 5);
}

#[test]
fn other_backends_are_left_to_burn() {
    assert!(reslab_kernels::applies(&Device::flex()));
    assert!(reslab_kernels::applies(&Device::flex().autodiff()));
}
