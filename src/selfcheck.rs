//! The GPU self-check: before a run trains on a GPU device, a forward and
//! backward pass of each kind of layer the zoo uses (convolution at stride 1
//! and 2, batch norm in training, ReLU, max-pool, average-pool, matmul,
//! cross-entropy) runs on the GPU and on the CPU backend from the same
//! seeded inputs, and every output and gradient is compared.
//!
//! Why: a driver or an adapter can drop work silently (a shader using a
//! feature the adapter lacks makes WebGPU drop the whole command buffer; the
//! step then "runs" and computes nothing), so a run would train on garbage
//! without an error. The caller falls back to the CPU engine and says which
//! op differed, by how much, on which adapter.
//!
//! Shapes are small (the check costs well under a second of compute; most of
//! its time is the kernels' first compilation, which the run needs anyway)
//! but large enough to take the same kernels as a real net: 3x3 convolutions
//! with 8→16 channels (Winograd's and the direct kernel on software
//! adapters), 16-channel batch norm over 4×8×8.

use burn::nn::BatchNormConfig;
use burn::nn::loss::CrossEntropyLoss;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::module::{adaptive_avg_pool2d, max_pool2d};
// The ops as the nets call them: on a software adapter, ResLab's kernels.
use reslab_kernels::{conv2d, matmul, relu};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use serde::Serialize;

use crate::rng::Rng;

/// Largest difference allowed, relative to the largest CPU value of that
/// output (at least 1): f32 sums taken in other orders (tiled GEMM,
/// Winograd's transforms) differ by ~1e-5 of it; a dropped or wrong kernel
/// by far more.
pub const TOLERANCE: f64 = 2e-3;

/// One compared output or gradient.
#[derive(Clone, Debug, Serialize)]
pub struct Compared {
    /// `conv3x3`, `conv3x3/2`, `batch_norm`, `relu`, `max_pool`, `avg_pool`, `matmul`, `cross_entropy`.
    pub op: &'static str,
    /// `output`, `grad input`, `grad weight`, `grad gamma`, `grad beta`, `loss`, `grad logits`.
    pub part: &'static str,
    pub max_abs_diff: f64,
    /// The largest |value| on the CPU (the scale the tolerance is relative to).
    pub scale: f64,
    pub ok: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub ok: bool,
    /// The first mismatch, in words: "relu grad input differs from the CPU by 0.91 (largest value 2.3)".
    pub failure: Option<String>,
    pub compared: Vec<Compared>,
}

/// Inputs shared by both devices, drawn once from a fixed seed.
struct Inputs {
    x: TensorData,      // [4, 8, 12, 12]
    w: TensorData,      // [16, 8, 3, 3]
    w2: TensorData,     // [16, 16, 3, 3]
    fc: TensorData,     // [16, 10]
    labels: TensorData, // [4]
}

fn uniform(rng: &mut Rng, shape: Vec<usize>, scale: f32) -> TensorData {
    let n = shape.iter().product();
    // Some exact zeros and negatives: ReLU's and max-pool's ties are where kernels differ.
    let v: Vec<f32> = (0..n).map(|i| if i % 17 == 0 { 0.0 } else { (rng.next_f32() * 2.0 - 1.0) * scale }).collect();
    TensorData::new(v, shape)
}

fn inputs() -> Inputs {
    let mut rng = Rng::new(0x5E1F_C4EC);
    Inputs {
        x: uniform(&mut rng, vec![4, 8, 12, 12], 1.0),
        w: uniform(&mut rng, vec![16, 8, 3, 3], 0.3),
        w2: uniform(&mut rng, vec![16, 16, 3, 3], 0.2),
        fc: uniform(&mut rng, vec![16, 10], 0.5),
        labels: TensorData::new((0..4).map(|i| (i * 3 % 10) as i64).collect::<Vec<_>>(), [4]),
    }
}

/// Every output and gradient of the layers on `device` (plain, not
/// autodiff), flattened, in a fixed order with its name. Each layer's input
/// is a leaf of its own (the previous layer's output, detached) and each
/// output is probed by a fixed random weighting added to the loss, so every
/// layer's backward pass gets its own upstream gradient and is compared on
/// its own.
fn forward_backward(inp: &Inputs, device: &Device) -> Vec<(&'static str, &'static str, Tensor<1>)> {
    let ad = device.clone().autodiff();
    let flat = |t: Tensor<4>| {
        let n = t.dims().iter().product::<usize>();
        t.reshape([n])
    };
    let leaf = |t: &Tensor<4>| t.clone().detach().require_grad();
    let mut probes = Rng::new(0x9B0B_E5);
    let mut probe = |t: &Tensor<4>| -> Tensor<1> {
        let g = Tensor::<4>::from_data(uniform(&mut probes, t.dims().to_vec(), 1.0), &ad);
        (t.clone() * g).sum()
    };
    let x = Tensor::<4>::from_data(inp.x.clone(), &ad).require_grad();
    let w = Tensor::<4>::from_data(inp.w.clone(), &ad).require_grad();
    let w2 = Tensor::<4>::from_data(inp.w2.clone(), &ad).require_grad();
    let fc = Tensor::<2>::from_data(inp.fc.clone(), &ad).require_grad();
    let y = Tensor::<1, Int>::from_data(inp.labels.clone(), &ad);
    // BN's gamma = 1 and beta = 0 at init on every device.
    let bn = BatchNormConfig::new(16).init(&ad);

    let c1 = conv2d(x.clone(), w.clone(), None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1)); // [4, 16, 12, 12]
    let c1in = leaf(&c1);
    let c2 = conv2d(c1in.clone(), w2.clone(), None, ConvOptions::new([2, 2], [1, 1], [1, 1], 1)); // [4, 16, 6, 6]
    let bin = leaf(&c2);
    let b = crate::model::layers::batch_norm(&bn, bin.clone()); // [4, 16, 6, 6]
    let rin = leaf(&b);
    let r = relu(rin.clone());
    let pin = leaf(&r);
    let p = max_pool2d(pin.clone(), MaxPoolOptions::new([2, 2])); // [4, 16, 3, 3]
    let ain = leaf(&p);
    let a = adaptive_avg_pool2d(ain.clone(), [1, 1]); // [4, 16, 1, 1]
    let min = a.clone().reshape([4, 16]).detach().require_grad();
    let logits = matmul(min.clone(), fc.clone()); // [4, 10]
    let lin = logits.clone().detach().require_grad();
    let loss = CrossEntropyLoss::new(None, &ad).forward(lin.clone(), y); // [1]
    let total = loss.clone() + probe(&c1) + probe(&c2) + probe(&b) + probe(&r) + probe(&p) + probe(&a)
        + probe(&logits.clone().reshape([4, 10, 1, 1]));
    let grads = total.backward();
    let g = |t: &Tensor<4>| flat(t.grad(&grads).expect("a gradient reached every layer"));
    let inner = |t: Tensor<4>| flat(t.inner());
    let mut out = vec![
        ("conv3x3", "output", inner(c1)),
        ("conv3x3", "grad input", g(&x)),
        ("conv3x3", "grad weight", g(&w)),
        ("conv3x3/2", "output", inner(c2)),
        ("conv3x3/2", "grad input", g(&c1in)),
        ("conv3x3/2", "grad weight", g(&w2)),
        ("batch_norm", "output", inner(b)),
        ("batch_norm", "grad input", g(&bin)),
        ("relu", "output", inner(r)),
        ("relu", "grad input", g(&rin)),
        ("max_pool", "output", inner(p)),
        ("max_pool", "grad input", g(&pin)),
        ("avg_pool", "output", inner(a)),
        ("avg_pool", "grad input", g(&ain)),
        ("matmul", "output", logits.inner().reshape([40])),
        ("matmul", "grad input", min.grad(&grads).expect("a gradient").reshape([64])),
        ("matmul", "grad weight", fc.grad(&grads).expect("a gradient").reshape([160])),
        ("cross_entropy", "loss", loss.inner()),
        ("cross_entropy", "grad logits", lin.grad(&grads).expect("a gradient").reshape([40])),
    ];
    let params = GradientsParams::from_grads(grads, &bn);
    out.insert(8, ("batch_norm", "grad gamma", params.get::<1>(bn.gamma.id).expect("gamma's gradient")));
    out.insert(9, ("batch_norm", "grad beta", params.get::<1>(bn.beta.id).expect("beta's gradient")));
    out
}

/// Every output and gradient in one read-back: concatenated on the device,
/// split again here. One round trip to the device instead of 21, each of
/// which waits for the queue to drain.
async fn read_all(parts: Vec<Tensor<1>>) -> Result<Vec<Vec<f32>>, String> {
    let lens: Vec<usize> = parts.iter().map(|t| t.dims()[0]).collect();
    let flat = crate::backend::read_f32(Tensor::cat(parts, 0)).await?;
    let mut rest = flat.as_slice();
    let mut out = Vec::with_capacity(lens.len());
    for n in lens {
        if rest.len() < n {
            return Err(format!("device read-back returned {} values, fewer than the {} asked for", flat.len(), out.len() + n));
        }
        let (head, tail) = rest.split_at(n);
        out.push(head.to_vec());
        rest = tail;
    }
    Ok(out)
}

/// Runs the check on `gpu` against the CPU backend. `corrupt` (tests only):
/// the name of an op whose GPU output is made wrong before the comparison,
/// as a broken kernel would make it.
pub async fn run(gpu: &Device, corrupt: Option<&str>) -> Result<Report, String> {
    let inp = inputs();
    let cpu = crate::backend::cpu_device();
    let (on_gpu, on_cpu) = (forward_backward(&inp, gpu), forward_backward(&inp, &cpu));
    let names: Vec<(&'static str, &'static str)> = on_gpu.iter().map(|(op, part, _)| (*op, *part)).collect();
    let gpu_values = read_all(on_gpu.into_iter().map(|(_, _, t)| t).collect()).await?;
    let cpu_values = read_all(on_cpu.into_iter().map(|(_, _, t)| t).collect()).await?;
    let mut compared = Vec::with_capacity(names.len());
    for (((op, part), mut g), c) in names.into_iter().zip(gpu_values).zip(cpu_values) {
        if corrupt == Some(op) && part == "output" {
            if let Some(v) = g.first_mut() {
                *v += 1.0;
            }
        }
        let scale = c.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
        let max_abs_diff = if g.len() != c.len() {
            f64::INFINITY
        } else {
            // A NaN on either side is a mismatch, not a pass.
            g.iter().zip(&c).map(|(a, b)| (a - b).abs() as f64).fold(0.0, |m, d| if d.is_nan() { f64::INFINITY } else { m.max(d) })
        };
        let ok = max_abs_diff <= TOLERANCE * scale.max(1.0);
        compared.push(Compared { op, part, max_abs_diff, scale, ok });
    }
    let failure = compared.iter().find(|c| !c.ok).map(|c| {
        format!("{} {} differs from the CPU by {:.3e} (largest value {:.3e}, tolerance {:.0e} of it)", c.op, c.part, c.max_abs_diff, c.scale, TOLERANCE)
    });
    Ok(Report { ok: failure.is_none(), failure, compared })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check itself: the CPU against itself passes every comparison; an
    /// op whose output is made wrong fails, named.
    #[test]
    fn a_wrong_op_is_caught_and_named() {
        let cpu = crate::backend::cpu_device();
        let r = pollster::block_on(run(&cpu, None)).unwrap();
        assert!(r.ok, "{:?}", r.failure);
        assert_eq!(r.compared.len(), 21);
        assert!(r.compared.iter().all(|c| c.scale > 0.0), "every output and gradient is non-zero");
        for op in ["relu", "conv3x3/2", "batch_norm"] {
            let r = pollster::block_on(run(&cpu, Some(op))).unwrap();
            assert!(!r.ok);
            assert!(r.failure.as_deref().unwrap().starts_with(&format!("{op} output differs from the CPU by 1.000e0")), "{:?}", r.failure);
        }
    }
}
