//! 3x3 convolutions at stride 1 by Winograd's minimal
//! filtering F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional
//! Neural Networks", 2015), for software adapters.
//!
//! On SwiftShader the blocked direct kernel (`software.rs`) costs about the
//! same per multiply-add whatever its blocking: every multiply-add of a
//! vector is a few instructions on values kept on the stack, and the reads
//! feeding it are per-lane gathers. F(4x4, 3x3) computes a 4x4 tile of
//! outputs from a 6x6 tile of inputs with 36 multiply-adds per channel pair
//! instead of 144, so the part that scales with in × out channels does 4
//! times fewer (F(2x2, 3x3), which this replaced, did 2.25 times fewer;
//! measured in BENCHMARKS.md). The price
//! is two transforms whose cost scales with in + out channels, which is why
//! this is used only from 8 channels each way (the 1- and 3-channel stems
//! keep the direct kernel).
//!
//! Four kernels, all arrays contiguous:
//!
//!   1. weights `g` `[out, 3, 3, in]` → U = G g Gᵀ         `[36, in, out]`
//!   2. input 6x6 tiles `d` (NHWC)     → V = Bᵀ d B         `[36, tiles, in]`
//!   3. 36 products, one per tile element ξ: M[ξ] = V[ξ] · U[ξ]  `[36, tiles, out]`
//!   4. M → the 4x4 output tiles Y = Aᵀ M A (+ bias), NHWC
//!
//! The same kernels give the input gradient of a stride-1 layer: the output
//! gradient convolved with the taps flipped and in/out swapped, padding
//! 2 − p (`transposed`). The weight gradient is F(3x3, 4x4), the same
//! trilinear form read the other way (below `conv2d_winograd`).
//!
//! Rounding: the interpolation points are 0, ±1, ±2 and ∞, the smallest
//! set for a 6x6 tile; its coefficients (up to 8 in A, 1/24 in G) cost a
//! few more float roundings than F(2x2, 3x3)'s 0, ±1 and ±½, still within
//! float sums' usual error (checked against the CPU backend in
//! `tests/wasm.rs`).
//!
//! SwiftShader's compiler: an input transform that walked a row of 6x6
//! tiles, carrying the shared columns in a local array from one tile to
//! the next, compiled for minutes and then crashed the GPU process (Chromium
//! 156); one invocation per tile, reading a row of d at a time, compiles
//! at once.

use super::{address_type, empty, launch_dims};
use burn_cubecl::tensor::CubeTensor;
use burn_backend::cubecl::dtype_to_storage_type;
use burn::backend::ops::ConvOptions;
use burn::tensor::Shape;
use cubecl::prelude::*;

/// Whether a convolution goes through here: 3x3, stride 1, no dilation,
/// symmetric padding of at most 2 (the transposed form's is 2 − p), and at
/// least 8 channels in and out (below that the transforms cost more than
/// they save).
pub(crate) fn winograd_applies<const N: usize>(in_c: usize, out_c: usize, kernel: [usize; 2], options: &ConvOptions<N>) -> bool {
    let pad = options.padding_begin();
    N == 2
        && kernel == [3, 3]
        && options.stride.iter().all(|&s| s == 1)
        && options.dilation.iter().all(|&d| d == 1)
        && pad[0] == pad[1]
        && pad[0] <= 2
        && in_c >= 8
        && out_c >= 8
}

/// V `[36, tiles, c]` of `input` NHWC over `[tiles_h, tiles_w]` tiles (see
/// `input_transform_kernel`); the forward pass and the weight gradient both take it.
fn input_transform(input: CubeTensor, tiles_hw: [usize; 2], padding: usize) -> CubeTensor {
    let [batch, _, _, c] = input.meta.shape().dims();
    let [tiles_h, tiles_w] = tiles_hw;
    let v = empty(&input, [36, batch * tiles_h * tiles_w, c]);
    let (count, dim) = launch_dims(&input, batch * tiles_h * tiles_w * c);
    let client = input.client.clone();
    let storage = dtype_to_storage_type(input.dtype);
    unsafe {
        input_transform_kernel::launch_unchecked(
            &client,
            count,
            dim,
            address_type!(input, v),
            input.into_tensor_arg(),
            v.clone().into_tensor_arg(),
            tiles_w as u32,
            tiles_h as u32,
            padding as u32,
            storage,
        )
    };
    v
}

/// U = G g Gᵀ per (in, out) pair for F(4x4, 3x3), G = [[¼, 0, 0],
/// [−⅙, −⅙, −⅙], [−⅙, ⅙, −⅙], [1/24, 1/12, ⅙], [1/24, −1/12, ⅙], [0, 0, 1]].
/// `transposed`: the convolution's in is the weight's out (dim 0), its out
/// the weight's in (dim 3), and the taps are flipped.
#[cube(launch_unchecked, address_type = "dynamic")]
fn weight_transform_kernel<E: Float>(
    weight: &Tensor<E>,
    u: &mut Tensor<E>,
    #[comptime] transposed: bool,
    #[define(E)] _dtype: ElemType,
) {
    // weight [out, 3, 3, in], any strides; u [36, ci, co] contiguous.
    let ci_n = u.shape(1) as u32;
    let co_n = u.shape(2) as u32;
    let pos = ABSOLUTE_POS as u32;
    if pos >= ci_n * co_n {
        terminate!();
    }
    let co = pos % co_n;
    let ci = pos / co_n;
    let base = if transposed {
        ci as usize * weight.stride(0) + co as usize * weight.stride(3)
    } else {
        co as usize * weight.stride(0) + ci as usize * weight.stride(3)
    };
    let (s1, s2) = (weight.stride(1), weight.stride(2));

    // g [3, 3] as read by this convolution.
    let mut g = Array::<E>::new(9usize);
    #[unroll]
    for a in 0..3usize {
        #[unroll]
        for b in 0..3usize {
            let ky = comptime![if transposed { 2 - a } else { a }];
            let kx = comptime![if transposed { 2 - b } else { b }];
            g[a * 3 + b] = weight[base + ky * s1 + kx * s2];
        }
    }
    let quarter = E::new(0.25);
    let sixth = E::new(1.0 / 6.0);
    let twelfth = E::new(1.0 / 12.0);
    let twenty_fourth = E::new(1.0 / 24.0);
    // G g: [6, 3]
    let mut h = Array::<E>::new(18usize);
    #[unroll]
    for b in 0..3usize {
        let (g0, g1, g2) = (g[b], g[3 + b], g[6 + b]);
        h[b] = g0 * quarter;
        h[3 + b] = E::from_int(0) - (g0 + g1 + g2) * sixth;
        h[6 + b] = E::from_int(0) - (g0 - g1 + g2) * sixth;
        h[9 + b] = g0 * twenty_fourth + g1 * twelfth + g2 * sixth;
        h[12 + b] = g0 * twenty_fourth - g1 * twelfth + g2 * sixth;
        h[15 + b] = g2;
    }
    // (G g) Gᵀ: [6, 6], written as u[ξ = 6i + j][ci][co].
    let plane = (ci_n * co_n) as usize;
    let at = pos as usize;
    #[unroll]
    for i in 0..6usize {
        let (g0, g1, g2) = (h[3 * i], h[3 * i + 1], h[3 * i + 2]);
        u[at + (6 * i) * plane] = g0 * quarter;
        u[at + (6 * i + 1) * plane] = E::from_int(0) - (g0 + g1 + g2) * sixth;
        u[at + (6 * i + 2) * plane] = E::from_int(0) - (g0 - g1 + g2) * sixth;
        u[at + (6 * i + 3) * plane] = g0 * twenty_fourth + g1 * twelfth + g2 * sixth;
        u[at + (6 * i + 4) * plane] = g0 * twenty_fourth - g1 * twelfth + g2 * sixth;
        u[at + (6 * i + 5) * plane] = g2;
    }
}

/// V = Bᵀ d B per (tile, channel) for F(4x4, 3x3), Bᵀ = [[4, 0, −5, 0, 1,
/// 0], [0, −4, −4, 1, 1, 0], [0, 4, −4, −1, 1, 0], [0, −2, −1, 2, 1, 0],
/// [0, 2, −1, −2, 1, 0], [0, 4, 0, −5, 0, 1]]; d the 6x6 input patch at
/// (4·ty − p, 4·tx − p), zero outside the input. One invocation per tile
/// and channel: each row of d is read and multiplied by B as it comes, so
/// only the 36 values of d B are held.
#[cube(launch_unchecked, address_type = "dynamic")]
fn input_transform_kernel<E: Float>(
    input: &Tensor<E>,
    v: &mut Tensor<E>,
    tiles_w: u32,
    tiles_h: u32,
    padding: u32,
    #[define(E)] _dtype: ElemType,
) {
    // input [n, h, w, c], any strides; v [36, tiles, c] contiguous.
    let c_n = input.shape(3) as u32;
    let in_h = input.shape(1) as i32;
    let in_w = input.shape(2) as i32;
    let tiles = v.shape(1) as u32;
    let pos = ABSOLUTE_POS as u32;
    let c = pos % c_n;
    let t = pos / c_n;
    if t >= tiles {
        terminate!();
    }
    let tx = t % tiles_w;
    let rest = t / tiles_w;
    let ty = rest % tiles_h;
    let b = rest / tiles_h;
    let y0 = (4 * ty) as i32 - padding as i32;
    let x0 = (4 * tx) as i32 - padding as i32;
    let base = b as usize * input.stride(0) + c as usize * input.stride(3);
    let (sy, sx) = (input.stride(1), input.stride(2));
    let (two, four, five) = (E::new(2.0), E::new(4.0), E::new(5.0));
    let zero = E::from_int(0);

    // d B: [6, 6], a row of d at a time. Outside the input: read a valid
    // address and drop the value.
    let mut r = Array::<E>::new(36usize);
    #[unroll]
    for i in 0..6usize {
        let y = y0 + i as i32;
        let row_ok = y >= 0 && y < in_h;
        let row_at = base + select(row_ok, y, 0) as usize * sy;
        let x = x0;
        let ok = row_ok && x >= 0 && x < in_w;
        let d0 = select(ok, input[row_at + select(ok, x, 0) as usize * sx], zero);
        let x = x0 + 1;
        let ok = row_ok && x >= 0 && x < in_w;
        let d1 = select(ok, input[row_at + select(ok, x, 0) as usize * sx], zero);
        let x = x0 + 2;
        let ok = row_ok && x >= 0 && x < in_w;
        let d2 = select(ok, input[row_at + select(ok, x, 0) as usize * sx], zero);
        let x = x0 + 3;
        let ok = row_ok && x >= 0 && x < in_w;
        let d3 = select(ok, input[row_at + select(ok, x, 0) as usize * sx], zero);
        let x = x0 + 4;
        let ok = row_ok && x >= 0 && x < in_w;
        let d4 = select(ok, input[row_at + select(ok, x, 0) as usize * sx], zero);
        let x = x0 + 5;
        let ok = row_ok && x >= 0 && x < in_w;
        let d5 = select(ok, input[row_at + select(ok, x, 0) as usize * sx], zero);
        r[6 * i] = d0 * four - d2 * five + d4;
        r[6 * i + 1] = d3 + d4 - (d1 + d2) * four;
        r[6 * i + 2] = d4 - d3 + (d1 - d2) * four;
        r[6 * i + 3] = d4 - d2 + (d3 - d1) * two;
        r[6 * i + 4] = d4 - d2 - (d3 - d1) * two;
        r[6 * i + 5] = d1 * four - d3 * five + d5;
    }
    // Bᵀ (d B), written as v[ξ = 6i + j][t][c].
    let plane = (tiles * c_n) as usize;
    let at = pos as usize;
    #[unroll]
    for j in 0..6usize {
        let (d0, d1, d2, d3, d4, d5) = (r[j], r[6 + j], r[12 + j], r[18 + j], r[24 + j], r[30 + j]);
        v[at + j * plane] = d0 * four - d2 * five + d4;
        v[at + (6 + j) * plane] = d3 + d4 - (d1 + d2) * four;
        v[at + (12 + j) * plane] = d4 - d3 + (d1 - d2) * four;
        v[at + (18 + j) * plane] = d4 - d2 + (d3 - d1) * two;
        v[at + (24 + j) * plane] = d4 - d2 - (d3 - d1) * two;
        v[at + (30 + j) * plane] = d1 * four - d3 * five + d5;
    }
}

/// M[ξ] = V[ξ] · U[ξ] for the 36 tile elements ξ. An invocation owns one ξ,
/// `xb` tiles and `cb` vectors of output channels, blocked as the direct
/// kernel is (`software.rs`: 8 x 4 vector accumulators, `ub` input
/// channels per trip of the channel loop).
#[cube(launch_unchecked, address_type = "dynamic")]
fn tile_product_kernel<E: Numeric, N: Size>(
    v: &Tensor<E>,
    u: &Tensor<Vector<E, N>>,
    m: &mut Tensor<Vector<E, N>>,
    t_blocks: u32,
    c_blocks: u32,
    #[comptime] xb: usize,
    #[comptime] cb: usize,
    #[comptime] ub: usize,
    #[define(E)] _dtype: ElemType,
) {
    // v [36, tiles, ci]; u [36, ci, co] and m [36, tiles, co] in vectors.
    let line = u.vector_size();
    let tiles = v.shape(1) as u32;
    let ci_n = v.shape(2) as u32;
    let ov = (m.shape(2) / line) as u32;
    let pos = ABSOLUTE_POS as u32;
    let c_block = pos % c_blocks;
    let rest = pos / c_blocks;
    let t_block = rest % t_blocks;
    let xi = rest / t_blocks;
    if xi >= v.shape(0) as u32 {
        terminate!();
    }
    let t0 = t_block * xb as u32;
    let o0 = c_block * cb as u32;

    let mut acc = Array::<Vector<E, N>>::new(comptime![xb * cb]);
    #[unroll]
    for k in 0..xb * cb {
        acc[k] = Vector::broadcast(E::from_int(0));
    }
    // A block's tiles past the last one read the last one; their sums are dropped.
    let mut rows = Array::<usize>::new(xb);
    #[unroll]
    for p in 0..xb {
        let mut t = t0 + p as u32;
        if t >= tiles {
            t = tiles - 1;
        }
        rows[p] = ((xi * tiles + t) * ci_n) as usize;
    }
    let u_base = (xi * ci_n * ov + o0) as usize;
    let mut w = Array::<Vector<E, N>>::new(cb);
    for icu in 0..ci_n / ub as u32 {
        #[unroll]
        for uu in 0..ub {
            let i = icu * ub as u32 + uu as u32;
            let w_row = u_base + (i * ov) as usize;
            #[unroll]
            for j in 0..cb {
                w[j] = u[w_row + j];
            }
            #[unroll]
            for p in 0..xb {
                let x = Vector::broadcast(v[rows[p] + i as usize]);
                #[unroll]
                for j in 0..cb {
                    acc[p * cb + j] += x * w[j];
                }
            }
        }
    }

    #[unroll]
    for p in 0..xb {
        let t = t0 + p as u32;
        if t < tiles {
            let at = ((xi * tiles + t) * ov + o0) as usize;
            #[unroll]
            for j in 0..cb {
                m[at + j] = acc[p * cb + j];
            }
        }
    }
}

/// Y = Aᵀ M A (+ bias) per (tile, vector of output channels) for F(4x4,
/// 3x3), Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, −1, 2, −2, 0], [0, 1, 1, 4, 4, 0],
/// [0, 1, −1, 8, −8, 1]], written to the tile's 4x4 outputs that exist.
#[cube(launch_unchecked, address_type = "dynamic")]
fn output_transform_kernel<E: Numeric, N: Size>(
    m: &Tensor<Vector<E, N>>,
    bias: ComptimeOption<&[Vector<E, N>]>,
    output: &mut Tensor<Vector<E, N>>,
    tiles_w: u32,
    tiles_h: u32,
    #[define(E)] _dtype: ElemType,
) {
    // m [36, tiles, co], output [n, oh, ow, co], contiguous, in vectors.
    let line = output.vector_size();
    let ov = (output.shape(3) / line) as u32;
    let out_h = output.shape(1) as u32;
    let out_w = output.shape(2) as u32;
    let tiles = m.shape(1) as u32;
    let pos = ABSOLUTE_POS as u32;
    let o = pos % ov;
    let t = pos / ov;
    if t >= tiles {
        terminate!();
    }
    let tx = t % tiles_w;
    let rest = t / tiles_w;
    let ty = rest % tiles_h;
    let b = rest / tiles_h;

    let plane = (tiles * ov) as usize;
    let at = pos as usize;
    let mut s = Array::<Vector<E, N>>::new(36usize);
    #[unroll]
    for k in 0..36usize {
        s[k] = m[at + k * plane];
    }
    let two = Vector::broadcast(E::from_int(2));
    let four = Vector::broadcast(E::from_int(4));
    let eight = Vector::broadcast(E::from_int(8));
    // Aᵀ M: [4, 6]
    let mut r = Array::<Vector<E, N>>::new(24usize);
    #[unroll]
    for j in 0..6usize {
        let (p, q) = (s[6 + j] + s[12 + j], s[6 + j] - s[12 + j]);
        let (u, w) = (s[18 + j] + s[24 + j], s[18 + j] - s[24 + j]);
        r[j] = s[j] + p + u;
        r[6 + j] = q + w * two;
        r[12 + j] = p + u * four;
        r[18 + j] = q + w * eight + s[30 + j];
    }
    let bv: ComptimeOption<Vector<E, N>> = bias.as_ref().map(|bias| bias[o as usize]);
    let init = bv.unwrap_or(Vector::broadcast(E::from_int(0)));
    let ox = 4 * tx;
    let ovs = ov as usize;
    // (Aᵀ M) A: [4, 4]
    #[unroll]
    for i in 0..4usize {
        let oy = 4 * ty + i as u32;
        if oy < out_h {
            let (p, q) = (r[6 * i + 1] + r[6 * i + 2], r[6 * i + 1] - r[6 * i + 2]);
            let (u, w) = (r[6 * i + 3] + r[6 * i + 4], r[6 * i + 3] - r[6 * i + 4]);
            let row = ((b * out_h + oy) * out_w + ox) as usize * ovs + o as usize;
            output[row] = r[6 * i] + p + u + init;
            if ox + 1 < out_w {
                output[row + ovs] = q + w * two + init;
            }
            if ox + 2 < out_w {
                output[row + 2 * ovs] = p + u * four + init;
            }
            if ox + 3 < out_w {
                output[row + 3 * ovs] = q + w * eight + r[6 * i + 5] + init;
            }
        }
    }
}

/// A 3x3, stride-1 convolution by F(4x4, 3x3): `input` NHWC (any strides),
/// `weight` `[out, 3, 3, in]` (Burn's NHWC view, any strides), output NHWC
/// `[n, out_hw, co]`, contiguous. `transposed`: the convolution that gives
/// the input gradient from the output gradient `input`; `padding` is then
/// the caller's 2 − p.
pub(crate) fn conv2d_winograd(
    input: CubeTensor,
    weight: CubeTensor,
    bias: Option<CubeTensor>,
    out_hw: [usize; 2],
    padding: usize,
    transposed: bool,
) -> CubeTensor {
    let [batch, _, _, ci] = input.meta.shape().dims();
    let [w_out, _, _, w_in] = weight.meta.shape().dims();
    let co = if transposed { w_in } else { w_out };
    let [out_h, out_w] = out_hw;
    let (tiles_h, tiles_w) = (out_h.div_ceil(4), out_w.div_ceil(4));
    let tiles = batch * tiles_h * tiles_w;
    let client = input.client.clone();
    let storage = dtype_to_storage_type(input.dtype);

    let u = empty(&input, [36, ci, co]);
    let (count, dim) = launch_dims(&input, ci * co);
    unsafe {
        weight_transform_kernel::launch_unchecked(
            &client,
            count,
            dim,
            address_type!(weight, u),
            weight.into_tensor_arg(),
            u.clone().into_tensor_arg(),
            transposed,
            storage,
        )
    };

    let output = empty(&input, [batch, out_h, out_w, co]);
    let v = input_transform(input, [tiles_h, tiles_w], padding);

    let line = [4usize, 2, 1].into_iter().find(|l| co % l == 0).unwrap();
    let vectors = co / line;
    let cb = [4usize, 2, 1].into_iter().find(|c| vectors % c == 0).unwrap();
    let xb = 8usize;
    let ub = if ci % 2 == 0 { 2 } else { 1 };
    let (t_blocks, c_blocks) = (tiles.div_ceil(xb), vectors / cb);
    let m = empty(&output, [36, tiles, co]);
    let (count, dim) = launch_dims(&output, 36 * t_blocks * c_blocks);
    unsafe {
        tile_product_kernel::launch_unchecked(
            &client,
            count,
            dim,
            address_type!(v, u, m),
            line,
            v.into_tensor_arg(),
            u.into_tensor_arg(),
            m.clone().into_tensor_arg(),
            t_blocks as u32,
            c_blocks as u32,
            xb,
            cb,
            ub,
            storage,
        )
    };

    let (count, dim) = launch_dims(&output, tiles * vectors);
    unsafe {
        output_transform_kernel::launch_unchecked(
            &client,
            count,
            dim,
            address_type!(m, output),
            line,
            m.into_tensor_arg(),
            bias.map(|b| b.into_buffer_arg()).into(),
            output.clone().into_tensor_arg(),
            tiles_w as u32,
            tiles_h as u32,
            storage,
        )
    };
    output
}

// The weight gradient, by F(3x3, 4x4): a tile's 4x4 output gradients q act
// as a 4x4 filter over the tile's 6x6 inputs d, giving the tile's share of
// the 3x3 weight gradient as Gᵀ [(A q Aᵀ) ⊙ (Bᵀ d B)] G, with the B, G and
// Aᵀ of F(4x4, 3x3) above (the same trilinear form, read with the roles of
// the weights and the outputs swapped). Summed over tiles the products
// become, per ξ, a product V[ξ]ᵀ · W[ξ] over the tiles: 36 multiply-adds
// per tile of 16 outputs where the direct sum does 144. V is the forward's
// input transform over the output's tiles.

/// W = A q Aᵀ per (tile, vector of output channels): q the tile's 4x4
/// output gradients (zero past the edge), A = (Aᵀ)ᵀ with the Aᵀ of
/// `output_transform_kernel`.
#[cube(launch_unchecked, address_type = "dynamic")]
fn grad_transform_kernel<E: Numeric, N: Size>(
    out_grad: &Tensor<Vector<E, N>>,
    w: &mut Tensor<Vector<E, N>>,
    tiles_w: u32,
    tiles_h: u32,
    #[define(E)] _dtype: ElemType,
) {
    // out_grad [n, oh, ow, co] and w [36, tiles, co], contiguous, in vectors.
    let line = out_grad.vector_size();
    let ov = (out_grad.shape(3) / line) as u32;
    let out_h = out_grad.shape(1) as u32;
    let out_w = out_grad.shape(2) as u32;
    let tiles = w.shape(1) as u32;
    let pos = ABSOLUTE_POS as u32;
    let o = pos % ov;
    let t = pos / ov;
    if t >= tiles {
        terminate!();
    }
    let tx = t % tiles_w;
    let rest = t / tiles_w;
    let ty = rest % tiles_h;
    let b = rest / tiles_h;

    let zero = Vector::broadcast(E::from_int(0));
    let two = Vector::broadcast(E::from_int(2));
    let four = Vector::broadcast(E::from_int(4));
    let eight = Vector::broadcast(E::from_int(8));
    // q Aᵀ: [4, 6], a row of q at a time.
    let mut r = Array::<Vector<E, N>>::new(24usize);
    #[unroll]
    for i in 0..4usize {
        let y = 4 * ty + i as u32;
        let row = ((b * out_h + y) * out_w + 4 * tx) as usize * ov as usize + o as usize;
        let mut q = Array::<Vector<E, N>>::new(4usize);
        #[unroll]
        for j in 0..4usize {
            let mut value = zero;
            if y < out_h && 4 * tx + (j as u32) < out_w {
                value = out_grad[row + j * ov as usize];
            }
            q[j] = value;
        }
        let (p, m) = (q[0] + q[2], q[1] + q[3]);
        r[6 * i] = q[0];
        r[6 * i + 1] = p + m;
        r[6 * i + 2] = p - m;
        r[6 * i + 3] = q[0] + q[1] * two + q[2] * four + q[3] * eight;
        r[6 * i + 4] = q[0] - q[1] * two + q[2] * four - q[3] * eight;
        r[6 * i + 5] = q[3];
    }
    // A (q Aᵀ), written as w[ξ = 6k + l][t][o].
    let plane = (tiles * ov) as usize;
    let at = pos as usize;
    #[unroll]
    for l in 0..6usize {
        let (q0, q1, q2, q3) = (r[l], r[6 + l], r[12 + l], r[18 + l]);
        let (p, m) = (q0 + q2, q1 + q3);
        w[at + l * plane] = q0;
        w[at + (6 + l) * plane] = p + m;
        w[at + (12 + l) * plane] = p - m;
        w[at + (18 + l) * plane] = q0 + q1 * two + q2 * four + q3 * eight;
        w[at + (24 + l) * plane] = q0 - q1 * two + q2 * four - q3 * eight;
        w[at + (30 + l) * plane] = q3;
    }
}

/// partials[chunk][ξ] = Σ over the chunk's tiles t of V[ξ][t]ᵀ · W[ξ][t]
/// (`[in, out]`). An invocation owns one chunk and ξ, `ib` input channels
/// and `cb` vectors of output channels, and takes `tu` tiles per trip (a
/// trip's tile past the chunk's end re-reads its first and adds zero), as
/// the direct weight-gradient kernel in `software.rs` does.
#[cube(launch_unchecked, address_type = "dynamic")]
fn tile_weight_product_kernel<E: Numeric, N: Size>(
    v: &Tensor<E>,
    w: &Tensor<Vector<E, N>>,
    partials: &mut Tensor<Vector<E, N>>,
    tiles_per_chunk: u32,
    i_blocks: u32,
    c_blocks: u32,
    #[comptime] ib: usize,
    #[comptime] cb: usize,
    #[comptime] tu: usize,
    #[define(E)] _dtype: ElemType,
) {
    // v [36, tiles, ci]; w [36, tiles, co] and partials [chunks, 36, ci, co] in vectors.
    let line = w.vector_size();
    let xis = v.shape(0) as u32;
    let tiles = v.shape(1) as u32;
    let ci_n = v.shape(2) as u32;
    let ov = (w.shape(2) / line) as u32;
    let pos = ABSOLUTE_POS as u32;
    let c_block = pos % c_blocks;
    let rest = pos / c_blocks;
    let i_block = rest % i_blocks;
    let rest = rest / i_blocks;
    let xi = rest % xis;
    let chunk = rest / xis;
    if chunk >= partials.shape(0) as u32 {
        terminate!();
    }
    let i0 = i_block * ib as u32;
    let o0 = c_block * cb as u32;
    let t0 = chunk * tiles_per_chunk;
    let mut t1 = t0 + tiles_per_chunk;
    if t1 > tiles {
        t1 = tiles;
    }

    let mut acc = Array::<Vector<E, N>>::new(comptime![ib * cb]);
    #[unroll]
    for k in 0..ib * cb {
        acc[k] = Vector::broadcast(E::from_int(0));
    }
    let mut g = Array::<Vector<E, N>>::new(cb);
    let n = t1 - t0;
    let (v_step, g_step) = (ci_n as usize, ov as usize);
    let mut at = ((xi * tiles + t0) * ci_n + i0) as usize;
    let mut g_at = ((xi * tiles + t0) * ov + o0) as usize;
    for trip in 0..(n + tu as u32 - 1) / tu as u32 {
        #[unroll]
        for uu in 0..tu {
            let valid = (trip * tu as u32 + uu as u32) < n;
            let a = select(valid, at + uu * v_step, at);
            let ga = select(valid, g_at + uu * g_step, g_at);
            #[unroll]
            for j in 0..cb {
                g[j] = w[ga + j];
            }
            #[unroll]
            for i in 0..ib {
                let x = Vector::broadcast(select(valid, v[a + i], E::from_int(0)));
                #[unroll]
                for j in 0..cb {
                    acc[i * cb + j] += x * g[j];
                }
            }
        }
        at += tu * v_step;
        g_at += tu * g_step;
    }

    let base = (((chunk * xis + xi) * ci_n + i0) * ov + o0) as usize;
    #[unroll]
    for i in 0..ib {
        #[unroll]
        for j in 0..cb {
            partials[base + i * ov as usize + j] = acc[i * cb + j];
        }
    }
}

/// The 3x3 gradient Gᵀ M G per (input channel, vector of output channels),
/// M `[36, ci, co]` (the chunks' sum), written as `[3, 3, ci, co]`; G as in
/// `weight_transform_kernel`.
#[cube(launch_unchecked, address_type = "dynamic")]
fn weight_output_kernel<E: Float, N: Size>(
    m: &Tensor<Vector<E, N>>,
    grad: &mut Tensor<Vector<E, N>>,
    count: u32,
    #[define(E)] _dtype: ElemType,
) {
    let pos = ABSOLUTE_POS as u32;
    if pos >= count {
        terminate!();
    }
    let at = pos as usize;
    let plane = count as usize;
    let quarter = Vector::broadcast(E::new(0.25));
    let sixth = Vector::broadcast(E::new(1.0 / 6.0));
    let twelfth = Vector::broadcast(E::new(1.0 / 12.0));
    let twenty_fourth = Vector::broadcast(E::new(1.0 / 24.0));
    // Gᵀ M: [3, 6], a column of M at a time.
    let mut t = Array::<Vector<E, N>>::new(18usize);
    #[unroll]
    for l in 0..6usize {
        let (m0, m1, m2) = (m[at + l * plane], m[at + (6 + l) * plane], m[at + (12 + l) * plane]);
        let (m3, m4, m5) = (m[at + (18 + l) * plane], m[at + (24 + l) * plane], m[at + (30 + l) * plane]);
        let (p, q) = (m1 + m2, m3 + m4);
        t[l] = m0 * quarter - p * sixth + q * twenty_fourth;
        t[6 + l] = (m2 - m1) * sixth + (m3 - m4) * twelfth;
        t[12 + l] = (q - p) * sixth + m5;
    }
    // (Gᵀ M) G: [3, 3], written as grad[ky][kx][i][o].
    #[unroll]
    for a in 0..3usize {
        let (m0, m1, m2) = (t[6 * a], t[6 * a + 1], t[6 * a + 2]);
        let (m3, m4, m5) = (t[6 * a + 3], t[6 * a + 4], t[6 * a + 5]);
        let (p, q) = (m1 + m2, m3 + m4);
        grad[at + (3 * a) * plane] = m0 * quarter - p * sixth + q * twenty_fourth;
        grad[at + (3 * a + 1) * plane] = (m2 - m1) * sixth + (m3 - m4) * twelfth;
        grad[at + (3 * a + 2) * plane] = (q - p) * sixth + m5;
    }
}

/// The weight gradient of a 3x3, stride-1 convolution by F(3x3, 4x4):
/// `input` NHWC (any strides), `out_grad` NHWC contiguous; returned as a
/// contiguous `[3, 3, in, out]` buffer.
pub(crate) fn conv2d_weight_grad_winograd(input: CubeTensor, out_grad: CubeTensor, padding: usize) -> CubeTensor {
    let [batch, _, _, ci] = input.meta.shape().dims();
    let [_, out_h, out_w, co] = out_grad.meta.shape().dims();
    let (tiles_h, tiles_w) = (out_h.div_ceil(4), out_w.div_ceil(4));
    let tiles = batch * tiles_h * tiles_w;
    let client = input.client.clone();
    let storage = dtype_to_storage_type(input.dtype);
    let line = [4usize, 2, 1].into_iter().find(|l| co % l == 0).unwrap();
    let vectors = co / line;

    let v = input_transform(input, [tiles_h, tiles_w], padding);

    let w = empty(&out_grad, [36, tiles, co]);
    let (count, dim) = launch_dims(&out_grad, tiles * vectors);
    unsafe {
        grad_transform_kernel::launch_unchecked(
            &client,
            count,
            dim,
            address_type!(out_grad, w),
            line,
            out_grad.into_tensor_arg(),
            w.clone().into_tensor_arg(),
            tiles_w as u32,
            tiles_h as u32,
            storage,
        )
    };

    // Chunks of 64 tiles (1,024 output positions): on each of ResNet-20's
    // layers at batch 32, 2,304 invocations.
    let cb = [4usize, 2, 1].into_iter().find(|c| vectors % c == 0).unwrap();
    let ib = [8usize, 4, 2, 1].into_iter().find(|i| ci % i == 0).unwrap();
    let tiles_per_chunk = 64usize.min(tiles);
    let chunks = tiles.div_ceil(tiles_per_chunk);
    let (i_blocks, c_blocks) = (ci / ib, vectors / cb);
    let tu = 2usize;
    let partials = empty(&v, [chunks, 36, ci, co]);
    let (count, dim) = launch_dims(&v, chunks * 36 * i_blocks * c_blocks);
    unsafe {
        tile_weight_product_kernel::launch_unchecked(
            &client,
            count,
            dim,
            address_type!(v, w, partials),
            line,
            v.into_tensor_arg(),
            w.into_tensor_arg(),
            partials.clone().into_tensor_arg(),
            tiles_per_chunk as u32,
            i_blocks as u32,
            c_blocks as u32,
            ib,
            cb,
            tu,
            storage,
        )
    };
    let m = super::conv::sum_chunks(partials, Shape::new([36, ci, co]), line);

    let grad = empty(&m, [3, 3, ci, co]);
    let count = ci * vectors;
    let (cube_count, dim) = launch_dims(&m, count);
    unsafe {
        weight_output_kernel::launch_unchecked(
            &client,
            cube_count,
            dim,
            address_type!(m, grad),
            line,
            m.into_tensor_arg(),
            grad.clone().into_tensor_arg(),
            count as u32,
            storage,
        )
    };
    grad
}
