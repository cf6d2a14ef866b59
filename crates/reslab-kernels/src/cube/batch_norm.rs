//! Batch normalisation in training, forward and backward, for software
//! adapters (SwiftShader, llvmpipe), on `[n, c, h, w]` f32 tensors.
//!
//! Burn's default `batch_norm_train` and `batch_norm_train_backward` (in
//! `burn-backend`) are built from tensor operations: a `swap_dims(0, 1)` and
//! reshape before each per-channel mean (a full transposing copy, since the
//! convolutions leave their outputs channels-last), then one kernel per
//! elementwise step. That is about eight full passes over the activation
//! forward and a dozen backward, each its own kernel launch. On a software
//! adapter every pass is the CPU streaming the tensor through its caches.
//! Here the same maths takes three kernels each way:
//!
//!   forward   1. per (group of rows, channel): the group's mean and sum of
//!                squared deviations (two passes over a few KB, in cache)
//!             2. per channel: the groups combined (Chan et al.'s pairwise
//!                formula, as numerically safe as a two-pass variance),
//!                mean, biased variance and 1 / √(var + ε)
//!             3. y = (x − mean_c) · γ_c / √(var_c + ε) + β_c
//!   backward  1. per (group of rows, channel): Σ dy and Σ dy · (x − mean_c)
//!             2. per channel: dβ_c = Σ dy, dγ_c = Σ dy · x̂, and the three
//!                coefficients of
//!             3. dx = γ_c / √(var_c + ε) · (dy − dβ_c / M − x̂ · dγ_c / M),
//!                M = n · h · w
//!
//! Inputs may have any strides (a convolution's output is a channels-last
//! buffer seen as `[n, c, h, w]`); outputs are written channels-last, the
//! layout the next convolution reads, and returned as `[n, c, h, w]` views.
//! Neighbouring invocations work on neighbouring channels, so on a
//! channels-last buffer the lanes of one SIMD register read neighbouring
//! addresses.

use super::{address_type, empty, launch_dims};
use burn::backend::DType;
use burn::tensor::Shape;
use burn_backend::cubecl::dtype_to_storage_type;
use burn_cubecl::{ops::permute, tensor::CubeTensor};
use cubecl::prelude::*;

#[derive(CubeLaunch, CubeType)]
struct BnArgs {
    /// Rows (an `(n, y)` pair: `w` values) per group.
    rows_per_group: u32,
    epsilon: f32,
}

/// The rows `[r0, r1)` of group `g`.
#[cube]
fn group_rows(g: u32, rows_per_group: u32, rows: u32) -> (u32, u32) {
    let r0 = g * rows_per_group;
    let mut r1 = r0 + rows_per_group;
    if r1 > rows {
        r1 = rows;
    }
    (r0, r1)
}

/// Offset of `(n, c, y, 0)` for row `r = n * h + y`.
#[cube]
fn row_offset<E: Float>(t: &Tensor<E>, r: u32, c: u32, height: u32) -> usize {
    (r / height) as usize * t.stride(0) + c as usize * t.stride(1) + (r % height) as usize * t.stride(2)
}

/// x `[n, c, h, w]` → partials `[groups, c, 2]`: each group's mean and sum
/// of squared deviations from it.
#[cube(launch_unchecked, address_type = "dynamic")]
fn moments_kernel<E: Float>(
    x: &Tensor<E>,
    partials: &mut Tensor<E>,
    args: BnArgs,
    #[define(E)] _dtype: ElemType,
) {
    let channels = x.shape(1) as u32;
    let height = x.shape(2) as u32;
    let width = x.shape(3) as u32;
    let pos = ABSOLUTE_POS as u32;
    let c = pos % channels;
    let g = pos / channels;
    if g >= partials.shape(0) as u32 {
        terminate!();
    }
    let (r0, r1) = group_rows(g, args.rows_per_group, x.shape(0) as u32 * height);
    let sw = x.stride(3);
    let mut sum = E::from_int(0);
    for r in r0..r1 {
        let base = row_offset(x, r, c, height);
        for i in 0..width {
            sum += x[base + i as usize * sw];
        }
    }
    let mean = sum / E::cast_from((r1 - r0) * width);
    let mut m2 = E::from_int(0);
    for r in r0..r1 {
        let base = row_offset(x, r, c, height);
        for i in 0..width {
            let d = x[base + i as usize * sw] - mean;
            m2 += d * d;
        }
    }
    let out = ((g * channels + c) * 2) as usize;
    partials[out] = mean;
    partials[out + 1] = m2;
}

/// partials `[groups, c, 2]` → per channel: mean, biased variance, 1 / √(var + ε).
#[cube(launch_unchecked, address_type = "dynamic")]
fn statistics_kernel<E: Float>(
    partials: &Tensor<E>,
    mean: &mut Tensor<E>,
    variance: &mut Tensor<E>,
    inv_std: &mut Tensor<E>,
    args: BnArgs,
    rows: u32,
    width: u32,
    #[define(E)] _dtype: ElemType,
) {
    let channels = mean.shape(0) as u32;
    let c = ABSOLUTE_POS as u32;
    if c >= channels {
        terminate!();
    }
    let mut n = E::from_int(0);
    let mut m = E::from_int(0);
    let mut m2 = E::from_int(0);
    for g in 0..partials.shape(0) as u32 {
        let (r0, r1) = group_rows(g, args.rows_per_group, rows);
        let nb = E::cast_from((r1 - r0) * width);
        let at = ((g * channels + c) * 2) as usize;
        let delta = partials[at] - m;
        let nab = n + nb;
        m += delta * nb / nab;
        m2 += partials[at + 1] + delta * delta * n * nb / nab;
        n = nab;
    }
    let var = m2 / n;
    mean[c as usize] = m;
    variance[c as usize] = var;
    inv_std[c as usize] = E::recip(E::sqrt(var + E::cast_from(args.epsilon)));
}

/// y `[n, h, w, c]` contiguous = (x − mean_c) · γ_c / √(var_c + ε) + β_c.
///
/// An invocation per (group of rows, channel), as in `moments_kernel`,
/// rather than one per value: on a software adapter every read is a
/// per-lane gather, the tensors' shapes and strides included, and every
/// integer division a per-lane `idiv`, so a value's own invocation paid
/// about fifteen reads and eight divisions to find its channel and fetch
/// that channel's parameters (BENCHMARKS.md). Here that is paid once per
/// channel and group, and a value costs one read and one write.
#[cube(launch_unchecked, address_type = "dynamic")]
fn normalize_kernel<E: Float>(
    x: &Tensor<E>,
    mean: &Tensor<E>,
    inv_std: &Tensor<E>,
    gamma: &Tensor<E>,
    beta: &Tensor<E>,
    output: &mut Tensor<E>,
    args: BnArgs,
    #[define(E)] _dtype: ElemType,
) {
    let channels = x.shape(1) as u32;
    let height = x.shape(2) as u32;
    let width = x.shape(3) as u32;
    let rows = x.shape(0) as u32 * height;
    let pos = ABSOLUTE_POS as u32;
    let c = pos % channels;
    let g = pos / channels;
    if g * args.rows_per_group >= rows {
        terminate!();
    }
    let (r0, r1) = group_rows(g, args.rows_per_group, rows);
    let ci = c as usize;
    let m = mean[ci];
    let scale = gamma[ci * gamma.stride(0)] * inv_std[ci];
    let shift = beta[ci * beta.stride(0)];
    let (sx, cs) = (x.stride(3), channels as usize);
    for r in r0..r1 {
        let bx = row_offset(x, r, c, height);
        let out = (r * width) as usize * cs + ci;
        for i in 0..width {
            output[out + i as usize * cs] = (x[bx + i as usize * sx] - m) * scale + shift;
        }
    }
}

/// dx `[n, h, w, c]` contiguous = scale_c · (dy − b_c − (x − mean_c) · k_c),
/// coefficients `[4, c]`: mean, scale, b, k. An invocation per (group of
/// rows, channel), for the reason given at `normalize_kernel`.
#[cube(launch_unchecked, address_type = "dynamic")]
fn input_grad_kernel<E: Float>(
    x: &Tensor<E>,
    dy: &Tensor<E>,
    coefficients: &Tensor<E>,
    output: &mut Tensor<E>,
    args: BnArgs,
    #[define(E)] _dtype: ElemType,
) {
    let channels = x.shape(1) as u32;
    let height = x.shape(2) as u32;
    let width = x.shape(3) as u32;
    let rows = x.shape(0) as u32 * height;
    let pos = ABSOLUTE_POS as u32;
    let c = pos % channels;
    let g = pos / channels;
    if g * args.rows_per_group >= rows {
        terminate!();
    }
    let (r0, r1) = group_rows(g, args.rows_per_group, rows);
    let (ci, cs) = (c as usize, channels as usize);
    let m = coefficients[ci];
    let scale = coefficients[cs + ci];
    let b = coefficients[2 * cs + ci];
    let k = coefficients[3 * cs + ci];
    let (sx, sd) = (x.stride(3), dy.stride(3));
    for r in r0..r1 {
        let bx = row_offset(x, r, c, height);
        let bd = row_offset(dy, r, c, height);
        let out = (r * width) as usize * cs + ci;
        for i in 0..width {
            let centred = x[bx + i as usize * sx] - m;
            let g = dy[bd + i as usize * sd];
            output[out + i as usize * cs] = scale * (g - b - centred * k);
        }
    }
}

/// x, dy `[n, c, h, w]` → partials `[groups, c, 2]`: Σ dy and Σ dy · (x − mean_c).
#[cube(launch_unchecked, address_type = "dynamic")]
fn grad_sums_kernel<E: Float>(
    x: &Tensor<E>,
    dy: &Tensor<E>,
    mean: &Tensor<E>,
    partials: &mut Tensor<E>,
    args: BnArgs,
    #[define(E)] _dtype: ElemType,
) {
    let channels = x.shape(1) as u32;
    let height = x.shape(2) as u32;
    let width = x.shape(3) as u32;
    let pos = ABSOLUTE_POS as u32;
    let c = pos % channels;
    let g = pos / channels;
    if g >= partials.shape(0) as u32 {
        terminate!();
    }
    let (r0, r1) = group_rows(g, args.rows_per_group, x.shape(0) as u32 * height);
    let m = mean[c as usize * mean.stride(0)];
    let (sx, sd) = (x.stride(3), dy.stride(3));
    let mut sum = E::from_int(0);
    let mut dot = E::from_int(0);
    for r in r0..r1 {
        let bx = row_offset(x, r, c, height);
        let bd = row_offset(dy, r, c, height);
        for i in 0..width {
            let d = dy[bd + i as usize * sd];
            sum += d;
            dot += d * (x[bx + i as usize * sx] - m);
        }
    }
    let out = ((g * channels + c) * 2) as usize;
    partials[out] = sum;
    partials[out + 1] = dot;
}

/// partials `[groups, c, 2]` → dγ, dβ and the coefficients `[4, c]` of the
/// input gradient: mean, γ / √(var + ε), dβ / M, dγ / (√(var + ε) · M).
#[cube(launch_unchecked, address_type = "dynamic")]
fn grad_statistics_kernel<E: Float>(
    partials: &Tensor<E>,
    gamma: &Tensor<E>,
    mean: &Tensor<E>,
    variance: &Tensor<E>,
    gamma_grad: &mut Tensor<E>,
    beta_grad: &mut Tensor<E>,
    coefficients: &mut Tensor<E>,
    args: BnArgs,
    count: u32,
    #[define(E)] _dtype: ElemType,
) {
    let channels = gamma_grad.shape(0) as u32;
    let c = ABSOLUTE_POS as u32;
    if c >= channels {
        terminate!();
    }
    let mut sum = E::from_int(0);
    let mut dot = E::from_int(0);
    for g in 0..partials.shape(0) as u32 {
        let at = ((g * channels + c) * 2) as usize;
        sum += partials[at];
        dot += partials[at + 1];
    }
    let ci = c as usize;
    let inv_std = E::recip(E::sqrt(variance[ci * variance.stride(0)] + E::cast_from(args.epsilon)));
    let m = E::cast_from(count);
    let dgamma = dot * inv_std;
    gamma_grad[ci] = dgamma;
    beta_grad[ci] = sum;
    let cs = channels as usize;
    coefficients[ci] = mean[ci * mean.stride(0)];
    coefficients[cs + ci] = gamma[ci * gamma.stride(0)] * inv_std;
    coefficients[2 * cs + ci] = sum / m;
    coefficients[3 * cs + ci] = dgamma * inv_std / m;
}

/// Whether the kernels here take this batch norm: 4-D f32.
pub(crate) fn applies(x: &CubeTensor) -> bool {
    x.meta.num_dims() == 4 && x.dtype == DType::F32
}

/// Rows per group: a group is at least 256 values of its channel.
fn rows_per_group(width: usize) -> usize {
    256usize.div_ceil(width.max(1))
}

/// A fresh channels-last `[n, h, w, c]` buffer for a result shaped like `x` `[n, c, h, w]`.
fn channels_last(x: &CubeTensor) -> CubeTensor {
    let [n, c, h, w] = x.meta.shape().dims();
    empty(x, Shape::new([n, h, w, c]))
}

/// Batch statistics and the normalised output (see the module comment).
pub(crate) fn train_forward(x: CubeTensor, gamma: CubeTensor, beta: CubeTensor, epsilon: f64) -> (CubeTensor, CubeTensor, CubeTensor) {
    let [n, c, h, w] = x.meta.shape().dims();
    let rows_per_group = rows_per_group(w);
    let groups = (n * h).div_ceil(rows_per_group);
    let args = || BnArgsLaunch::new(rows_per_group as u32, epsilon as f32);
    let dtype = dtype_to_storage_type(x.dtype);
    let client = x.client.clone();

    let partials = empty(&x, Shape::new([groups, c, 2]));
    let (count, dim) = launch_dims(&x, groups * c);
    unsafe {
        moments_kernel::launch_unchecked(
            &client,
            count,
            dim,
            address_type!(x, partials),
            x.clone().into_tensor_arg(),
            partials.clone().into_tensor_arg(),
            args(),
            dtype,
        )
    };

    let [mean, variance, inv_std] = [(); 3].map(|_| empty(&x, Shape::new([c])));
    let (count, dim) = launch_dims(&x, c);
    unsafe {
        statistics_kernel::launch_unchecked(
            &client,
            count,
            dim,
            address_type!(partials),
            partials.into_tensor_arg(),
            mean.clone().into_tensor_arg(),
            variance.clone().into_tensor_arg(),
            inv_std.clone().into_tensor_arg(),
            args(),
            (n * h) as u32,
            w as u32,
            dtype,
        )
    };

    let output = channels_last(&x);
    let (count, dim) = launch_dims(&x, groups * c);
    unsafe {
        normalize_kernel::launch_unchecked(
            &client,
            count,
            dim,
            address_type!(x, output),
            x.into_tensor_arg(),
            mean.clone().into_tensor_arg(),
            inv_std.into_tensor_arg(),
            gamma.into_tensor_arg(),
            beta.into_tensor_arg(),
            output.clone().into_tensor_arg(),
            args(),
            dtype,
        )
    };
    let output = permute(output, &[0, 3, 1, 2]);
    (output, mean, variance)
}

/// dx, dγ and dβ given dy (see the module comment).
pub(crate) fn train_backward(
    x: CubeTensor,
    gamma: CubeTensor,
    mean: CubeTensor,
    variance: CubeTensor,
    epsilon: f64,
    output_grad: CubeTensor,
) -> (CubeTensor, CubeTensor, CubeTensor) {
    let [n, c, h, w] = x.meta.shape().dims();
    let rows_per_group = rows_per_group(w);
    let groups = (n * h).div_ceil(rows_per_group);
    let args = || BnArgsLaunch::new(rows_per_group as u32, epsilon as f32);
    let dtype = dtype_to_storage_type(x.dtype);
    let client = x.client.clone();

    let partials = empty(&x, Shape::new([groups, c, 2]));
    let (count, dim) = launch_dims(&x, groups * c);
    unsafe {
        grad_sums_kernel::launch_unchecked(
            &client,
            count,
            dim,
            address_type!(x, output_grad, partials),
            x.clone().into_tensor_arg(),
            output_grad.clone().into_tensor_arg(),
            mean.clone().into_tensor_arg(),
            partials.clone().into_tensor_arg(),
            args(),
            dtype,
        )
    };

    let [gamma_grad, beta_grad] = [(); 2].map(|_| empty(&x, Shape::new([c])));
    let coefficients = empty(&x, Shape::new([4 * c]));
    let (count, dim) = launch_dims(&x, c);
    unsafe {
        grad_statistics_kernel::launch_unchecked(
            &client,
            count,
            dim,
            address_type!(partials),
            partials.into_tensor_arg(),
            gamma.into_tensor_arg(),
            mean.into_tensor_arg(),
            variance.into_tensor_arg(),
            gamma_grad.clone().into_tensor_arg(),
            beta_grad.clone().into_tensor_arg(),
            coefficients.clone().into_tensor_arg(),
            args(),
            (n * h * w) as u32,
            dtype,
        )
    };
    let x_grad = channels_last(&x);
    let (count, dim) = launch_dims(&x, groups * c);
    unsafe {
        input_grad_kernel::launch_unchecked(
            &client,
            count,
            dim,
            address_type!(x, output_grad, x_grad),
            x.into_tensor_arg(),
            output_grad.into_tensor_arg(),
            coefficients.into_tensor_arg(),
            x_grad.clone().into_tensor_arg(),
            args(),
            dtype,
        )
    };
    let x_grad = permute(x_grad, &[0, 3, 1, 2]);
    (x_grad, gamma_grad, beta_grad)
}
