//! batch normalisation as direct per-channel loops (f32).
//!
//! Why: upstream Flex 0.22.1 uses Burn's default `batch_norm_train` and
//! `batch_norm_train_backward`, built from generic tensor ops: a
//! `swap_dims(0, 1)` + reshape (a full NCHW transpose copy) before each
//! per-channel mean, and five to eight full-size temporaries. On ResNet-20 at
//! batch 128 that was ~25 % of a training step. Here the statistics take one
//! read of `x` per pass, and the output one write, with no temporaries:
//!
//!   forward   mean_c, var_c (biased, two-pass) over [n, *] of channel c
//!             y = (x − mean_c) · γ_c / √(var_c + ε) + β_c
//!   backward  x̂ = (x − mean_c) / √(var_c + ε)
//!             dβ_c = Σ dy,  dγ_c = Σ dy · x̂
//!             dx = γ_c / √(var_c + ε) · (dy − dβ_c / M − x̂ · dγ_c / M),  M = n · |*|
//!
//! The maths is Burn's default, unchanged; only the evaluation order differs.
//! Sums are taken in f32 over one plane (8 lanes, so they vectorise) and in
//! f64 across planes.

use burn::backend::{Bytes, DType, Shape};
use burn_flex::{FlexTensor, Layout};

/// Whether the direct path handles these tensors (f32, rank ≥ 2).
pub(crate) fn applicable(tensors: &[&FlexTensor]) -> bool {
    tensors.iter().all(|t| t.dtype() == DType::F32) && tensors[0].layout().shape().num_dims() >= 2
}

/// `[n, c, *]` → (n, c, plane size).
fn dims(x: &FlexTensor) -> (usize, usize, usize) {
    let s = x.layout().shape();
    let (n, c) = (s[0], s[1]);
    (n, c, s.num_elements() / (n * c).max(1))
}

fn tensor(data: Vec<f32>, dims: Vec<usize>) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(data), Layout::contiguous(Shape::from(dims)), DType::F32)
}

/// Σ f(i) over one plane, 8 lanes wide.
#[inline(always)]
fn lane_sum(len: usize, f: impl Fn(usize) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let full = len / 8 * 8;
    let mut i = 0;
    while i < full {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += f(i + l);
        }
        i += 8;
    }
    let mut s: f32 = acc.iter().sum();
    for j in full..len {
        s += f(j);
    }
    s
}

/// Runs `f(channel)` for every channel, in parallel when the work is large.
fn per_channel<T: Send>(c: usize, work: usize, f: impl Fn(usize) -> T + Send + Sync) -> Vec<T> {
    #[cfg(feature = "rayon")]
    if work >= 1 << 16 {
        use rayon::prelude::*;
        return (0..c).into_par_iter().map(f).collect();
    }
    let _ = work;
    (0..c).map(f).collect()
}

/// Runs `f(plane index, plane)` over `out` split into planes of `plane` elements.
fn per_plane(out: &mut [f32], plane: usize, f: impl Fn(usize, &mut [f32]) + Send + Sync) {
    if plane == 0 {
        return;
    }
    #[cfg(feature = "rayon")]
    if out.len() >= 1 << 16 {
        use rayon::prelude::*;
        let min = (4096 / plane).max(1);
        out.par_chunks_mut(plane).with_min_len(min).enumerate().for_each(|(i, o)| f(i, o));
        return;
    }
    for (i, o) in out.chunks_mut(plane).enumerate() {
        f(i, o);
    }
}

/// Training forward: returns (output, mean `[c]`, biased variance `[c]`).
pub(crate) fn train_forward(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (x, gamma, beta) = (x.to_contiguous(), gamma.to_contiguous(), beta.to_contiguous());
    let shape: Vec<usize> = x.layout().shape().to_vec();
    let (n, c, s) = dims(&x);
    let (xs, gs, bs): (&[f32], &[f32], &[f32]) = (x.storage(), gamma.storage(), beta.storage());
    let m = (n * s).max(1) as f64;
    let stats = per_channel(c, n * c * s, |ch| {
        let mut sum = 0.0f64;
        for b in 0..n {
            let p = &xs[(b * c + ch) * s..][..s];
            sum += lane_sum(s, |i| p[i]) as f64;
        }
        let mean = sum / m;
        let mf = mean as f32;
        let mut sq = 0.0f64;
        for b in 0..n {
            let p = &xs[(b * c + ch) * s..][..s];
            sq += lane_sum(s, |i| (p[i] - mf) * (p[i] - mf)) as f64;
        }
        (mean as f32, (sq / m) as f32)
    });
    let mut out = super::conv2d_gemm::zeroed(xs.len());
    per_plane(&mut out, s, |i, o| {
        let ch = i % c;
        let (mean, var) = stats[ch];
        let scale = gs[ch] / (var + epsilon as f32).sqrt();
        let shift = bs[ch] - mean * scale;
        for (y, x) in o.iter_mut().zip(&xs[i * s..(i + 1) * s]) {
            *y = x * scale + shift;
        }
    });
    let (means, vars): (Vec<f32>, Vec<f32>) = stats.into_iter().unzip();
    (tensor(out, shape), tensor(means, vec![c]), tensor(vars, vec![c]))
}

/// Inference: `y = (x − mean) · γ / √(var + ε) + β` with given statistics.
pub(crate) fn inference(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
) -> FlexTensor {
    let x = x.to_contiguous();
    let [gamma, beta, mean, variance] = [gamma, beta, mean, variance].map(|t| t.to_contiguous());
    let shape: Vec<usize> = x.layout().shape().to_vec();
    let (_, c, s) = dims(&x);
    let xs: &[f32] = x.storage();
    let (gs, bs, ms, vs): (&[f32], &[f32], &[f32], &[f32]) =
        (gamma.storage(), beta.storage(), mean.storage(), variance.storage());
    let mut out = super::conv2d_gemm::zeroed(xs.len());
    per_plane(&mut out, s, |i, o| {
        let ch = i % c;
        let scale = gs[ch] / (vs[ch] + epsilon as f32).sqrt();
        let shift = bs[ch] - ms[ch] * scale;
        for (y, x) in o.iter_mut().zip(&xs[i * s..(i + 1) * s]) {
            *y = x * scale + shift;
        }
    });
    tensor(out, shape)
}

/// Training backward: returns (dx, dγ `[c]`, dβ `[c]`).
pub(crate) fn train_backward(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    output_grad: FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (x, dy) = (x.to_contiguous(), output_grad.to_contiguous());
    let [gamma, mean, variance] = [gamma, mean, variance].map(|t| t.to_contiguous());
    let shape: Vec<usize> = x.layout().shape().to_vec();
    let (n, c, s) = dims(&x);
    let (xs, dys): (&[f32], &[f32]) = (x.storage(), dy.storage());
    let (gs, ms, vs): (&[f32], &[f32], &[f32]) = (gamma.storage(), mean.storage(), variance.storage());
    let inv_std: Vec<f32> = vs.iter().map(|v| 1.0 / (v + epsilon as f32).sqrt()).collect();
    // dβ_c = Σ dy, dγ_c = Σ dy · x̂
    let sums = per_channel(c, n * c * s, |ch| {
        let (mu, is) = (ms[ch], inv_std[ch]);
        let (mut db, mut dg) = (0.0f64, 0.0f64);
        for b in 0..n {
            let off = (b * c + ch) * s;
            let (xp, gp) = (&xs[off..off + s], &dys[off..off + s]);
            db += lane_sum(s, |i| gp[i]) as f64;
            dg += lane_sum(s, |i| gp[i] * (xp[i] - mu)) as f64 * is as f64;
        }
        (dg as f32, db as f32)
    });
    let m = (n * s).max(1) as f32;
    let mut dx = super::conv2d_gemm::zeroed(xs.len());
    per_plane(&mut dx, s, |i, o| {
        let ch = i % c;
        let (dg, db) = sums[ch];
        let (mu, is) = (ms[ch], inv_std[ch]);
        let k = gs[ch] * is;
        let (mean_dy, mean_dyxh) = (db / m, dg / m);
        let (xp, gp) = (&xs[i * s..(i + 1) * s], &dys[i * s..(i + 1) * s]);
        for ((d, x), g) in o.iter_mut().zip(xp).zip(gp) {
            let xhat = (x - mu) * is;
            *d = k * (g - mean_dy - xhat * mean_dyxh);
        }
    });
    let (dgs, dbs): (Vec<f32>, Vec<f32>) = sums.into_iter().unzip();
    (tensor(dx, shape), tensor(dgs, vec![c]), tensor(dbs, vec![c]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straightforward f64 reference for forward and backward.
    #[allow(clippy::type_complexity)]
    fn reference(
        x: &[f32],
        dy: &[f32],
        g: &[f32],
        b: &[f32],
        (n, c, s): (usize, usize, usize),
        eps: f64,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let m = (n * s) as f64;
        let idx = |bb: usize, ch: usize, i: usize| (bb * c + ch) * s + i;
        let (mut y, mut dx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        let (mut means, mut vars, mut dgs, mut dbs) = (vec![], vec![], vec![], vec![]);
        for ch in 0..c {
            let all: Vec<usize> = (0..n).flat_map(|bb| (0..s).map(move |i| idx(bb, ch, i))).collect();
            let mean = all.iter().map(|&k| x[k] as f64).sum::<f64>() / m;
            let var = all.iter().map(|&k| (x[k] as f64 - mean).powi(2)).sum::<f64>() / m;
            let is = 1.0 / (var + eps).sqrt();
            let db: f64 = all.iter().map(|&k| dy[k] as f64).sum();
            let dg: f64 = all.iter().map(|&k| dy[k] as f64 * (x[k] as f64 - mean) * is).sum();
            for &k in &all {
                let xh = (x[k] as f64 - mean) * is;
                y[k] = xh * g[ch] as f64 + b[ch] as f64;
                dx[k] = g[ch] as f64 * is * (dy[k] as f64 - db / m - xh * dg / m);
            }
            means.push(mean);
            vars.push(var);
            dgs.push(dg);
            dbs.push(db);
        }
        (y, means, vars, dx, dgs, dbs)
    }

    fn close(got: &[f32], want: &[f64], what: &str) {
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!((*a as f64 - b).abs() <= 1e-4 * (1.0 + b.abs()), "{what}[{i}]: {a} vs {b}");
        }
    }

    #[test]
    fn matches_the_definition() {
        let mut seed = 11u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        // Planes shorter and longer than the 8 lanes, rank 2 (s = 1) and rank 4,
        // and one large enough for the parallel paths.
        for &(ref shape, eps) in &[
            (vec![3usize, 2, 5], 1e-5),
            (vec![4, 3], 1e-3),
            (vec![2, 3, 4, 5], 1e-5),
            (vec![16, 8, 32, 32], 1e-5),
        ] {
            let (n, c) = (shape[0], shape[1]);
            let s = shape[2..].iter().product::<usize>();
            let len = n * c * s;
            let x: Vec<f32> = (0..len).map(|i| rnd() * 3.0 + (i % c) as f32).collect();
            let dy: Vec<f32> = (0..len).map(|_| rnd()).collect();
            let g: Vec<f32> = (0..c).map(|_| 1.0 + rnd()).collect();
            let b: Vec<f32> = (0..c).map(|_| rnd()).collect();
            let (y, means, vars, dx, dgs, dbs) = reference(&x, &dy, &g, &b, (n, c, s), eps);

            let t = |v: &[f32], d: Vec<usize>| tensor(v.to_vec(), d);
            let (yo, mo, vo) = train_forward(t(&x, shape.clone()), t(&g, vec![c]), t(&b, vec![c]), eps);
            close(yo.storage(), &y, "y");
            close(mo.storage(), &means, "mean");
            close(vo.storage(), &vars, "var");

            let yi = inference(t(&x, shape.clone()), t(&g, vec![c]), t(&b, vec![c]), mo.clone(), vo.clone(), eps);
            close(yi.storage(), &y, "inference y");

            let (dxo, dgo, dbo) =
                train_backward(t(&x, shape.clone()), t(&g, vec![c]), mo, vo, eps, t(&dy, shape.clone()));
            close(dxo.storage(), &dx, "dx");
            close(dgo.storage(), &dgs, "dgamma");
            close(dbo.storage(), &dbs, "dbeta");
        }
    }
}
