//! A 2-D convolution for software adapters (SwiftShader,
//! llvmpipe), where a "GPU" invocation is a lane of the CPU's SIMD registers
//! and every storage read is a gather.
//!
//! cubek's direct kernel gives each invocation one vector of output channels
//! at one output position: for every input channel it reads the input once
//! and a weight vector per output channel, about one read per multiply-add.
//! Here an invocation owns a block of `xb` neighbouring output positions
//! along x times `cb` vectors of output channels. Per input channel it reads
//! `xb` inputs and `cb` weight vectors and does `xb * cb` vector
//! multiply-adds, so a read feeds several times more arithmetic. The weights
//! are laid out `[kh, kw, in, out]`, so a weight read is a vector of
//! consecutive output channels, broadcast against one input value.
//!
//! The same kernel, in its transposed form, serves the input gradient; the
//! weight gradient has a kernel of its own (below), so all three passes of
//! a layer run here.

use super::address_type;
use burn_cubecl::{
    kernel::into_contiguous,
    ops::{numeric::empty_device_contiguous_dtype, permute, reshape},
    tensor::CubeTensor,
};
use burn_backend::cubecl::dtype_to_storage_type;
use burn::backend::ops::ConvOptions;
use burn::tensor::Shape;
use cubecl::{calculate_cube_count_elemwise, prelude::*};


use super::winograd::{conv2d_weight_grad_winograd, conv2d_winograd, winograd_applies};

#[derive(CubeLaunch, CubeType)]
struct BlockedArgs {
    stride_0: u32,
    stride_1: u32,
    dilation_0: u32,
    dilation_1: u32,
    padding_0: u32,
    padding_1: u32,
    /// Blocks of `xb` output positions along x.
    x_blocks: u32,
    /// Blocks of `cb` output channel vectors.
    c_blocks: u32,
}

#[cube(launch_unchecked, address_type = "dynamic")]
fn conv2d_blocked_kernel<E: Numeric, N: Size>(
    input: &Tensor<E>,
    weight: &Tensor<Vector<E, N>>,
    bias: ComptimeOption<&[Vector<E, N>]>,
    output: &mut Tensor<Vector<E, N>>,
    args: BlockedArgs,
    #[comptime] xb: usize,
    #[comptime] cb: usize,
    #[comptime] ub: usize,
    #[comptime] transposed: bool,
    #[comptime] divide: bool,
    #[define(E)] _dtype: ElemType,
) {
    // input [batch, h, w, in], any strides; weight [kh, kw, in, out] and
    // output [batch, oh, ow, out], contiguous, indexed in vectors of `line`.
    let line = weight.vector_size();
    let out_h = output.shape(1) as u32;
    let out_w = output.shape(2) as u32;
    let in_h = input.shape(1) as u32;
    let in_w = input.shape(2) as u32;
    let in_c = input.shape(3) as u32;
    let k_h = weight.shape(0) as u32;
    let k_w = weight.shape(1) as u32;
    let out_vectors = (output.shape(3) / line) as u32;

    let pos = ABSOLUTE_POS as u32;
    let c_block = pos % args.c_blocks;
    let rest = pos / args.c_blocks;
    let x_block = rest % args.x_blocks;
    let rest = rest / args.x_blocks;
    let out_y = rest % out_h;
    let batch = rest / out_h;
    if batch >= output.shape(0) as u32 {
        terminate!();
    }
    let out_x0 = x_block * xb as u32;
    let oc_vec0 = c_block * cb as u32;

    let mut acc = Array::<Vector<E, N>>::new(comptime![xb * cb]);
    #[unroll]
    for j in 0..cb {
        let b: ComptimeOption<Vector<E, N>> =
            bias.as_ref().map(|bias| bias[(oc_vec0 + j as u32) as usize]);
        let init = b.unwrap_or(Vector::broadcast(E::from_int(0)));
        #[unroll]
        for p in 0..xb {
            acc[p * cb + j] = init;
        }
    }

    let in_batch = batch as usize * input.stride(0);
    let in_stride_c = input.stride(3);
    let mut offs = Array::<usize>::new(xb);
    let mut inside = Array::<bool>::new(xb);
    let mut w = Array::<Vector<E, N>>::new(cb);

    let stride_0 = args.stride_0 as i32;
    let stride_1 = args.stride_1 as i32;
    for ky in 0..k_h {
        // Forward: the input row this tap reads. Transposed: the row whose
        // output this tap wrote, if one did (divisible by the stride).
        let t_y = if transposed {
            (out_y + args.padding_0) as i32 - (ky * args.dilation_0) as i32
        } else {
            (out_y * args.stride_0 + ky * args.dilation_0) as i32 - args.padding_0 as i32
        };
        // `divide`: transposed with a stride other than 1. At stride 1 the
        // division and remainder are skipped: a SIMD lane's integer division
        // is a scalar `idiv` each, a few % of the kernel's time.
        let in_y = if divide { t_y / stride_0 } else { t_y };
        let row_ok = if divide {
            t_y >= 0 && t_y % stride_0 == 0 && (in_y as u32) < in_h
        } else {
            t_y >= 0 && (t_y as u32) < in_h
        };
        if row_ok {
            let row = in_batch + in_y as usize * input.stride(1);
            for kx in 0..k_w {
                #[unroll]
                for p in 0..xb {
                    let ox = out_x0 + p as u32;
                    let t_x = if transposed {
                        (ox + args.padding_1) as i32 - (kx * args.dilation_1) as i32
                    } else {
                        (ox * args.stride_1 + kx * args.dilation_1) as i32 - args.padding_1 as i32
                    };
                    let in_x = if divide { t_x / stride_1 } else { t_x };
                    let ok = if divide {
                        ox < out_w && t_x >= 0 && t_x % stride_1 == 0 && (in_x as u32) < in_w
                    } else {
                        ox < out_w && t_x >= 0 && (t_x as u32) < in_w
                    };
                    inside[p] = ok;
                    // Out of range: read a valid address (the row's start) and drop the value.
                    offs[p] = row + select(ok, in_x as usize, 0usize) * input.stride(2);
                }
                let w_base = ((ky * k_w + kx) * in_c * out_vectors + oc_vec0) as usize;
                // `ub` input channels per trip (2 when in_c is even). SwiftShader
                // carries a loop's values (here the 32 accumulators, 128 SIMD
                // registers) across the back edge by merging each under the lanes'
                // mask, ~10 instructions apiece, more than the multiply-adds they
                // carry: two channels per trip halves that. Four per trip measured
                // ~30 % slower, likely as the body's code and stack
                // frame (every value has a slot there) outgrow the core's caches.
                for icu in 0..in_c / ub as u32 {
                    #[unroll]
                    for u in 0..ub {
                        let ic = icu * ub as u32 + u as u32;
                        let w_row = w_base + (ic * out_vectors) as usize;
                        #[unroll]
                        for j in 0..cb {
                            w[j] = weight[w_row + j];
                        }
                        let c_offs = ic as usize * in_stride_c;
                        #[unroll]
                        for p in 0..xb {
                            let v = select(inside[p], input[offs[p] + c_offs], E::from_int(0));
                            let v = Vector::broadcast(v);
                            #[unroll]
                            for j in 0..cb {
                                acc[p * cb + j] += v * w[j];
                            }
                        }
                    }
                }
            }
        }
    }

    let out_row = ((batch * out_h + out_y) * out_w) as usize;
    #[unroll]
    for p in 0..xb {
        let ox = out_x0 + p as u32;
        if ox < out_w {
            let base = (out_row + ox as usize) * out_vectors as usize + oc_vec0 as usize;
            #[unroll]
            for j in 0..cb {
                output[base + j] = acc[p * cb + j];
            }
        }
    }
}

/// A 2-D convolution, NHWC in and out, with weights given as `[kh, kw, in,
/// out]` (any strides; copied to contiguous) and the output's height and
/// width. `transposed`: the transposed convolution (each input position
/// spreads over the output, as the input gradient needs) instead.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_blocked(
    input: CubeTensor,
    weight_hwio: CubeTensor,
    bias: Option<CubeTensor>,
    out_hw: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    transposed: bool,
) -> CubeTensor {
    let weight = into_contiguous(weight_hwio);
    let batch = input.meta.shape()[0];
    let out_c = weight.meta.shape()[3];
    let [out_h, out_w] = out_hw;
    let output = empty_device_contiguous_dtype(
        input.client.clone(),
        input.device.clone(),
        Shape::new([batch, out_h, out_w, out_c]),
        input.dtype,
    );

    let line = [4usize, 2, 1].into_iter().find(|l| out_c % l == 0).unwrap();
    let vectors = out_c / line;
    // Eight positions times four vectors of channels: 32 vector accumulators.
    // On SwiftShader, against 4x1, 4x2, 4x4, 2x2, 2x4, 8x1, 8x2 and 16x2 it was
    // the fastest or within noise of it (BENCHMARKS.md); the register
    // file spills, but a spill is cheaper there than a gathered read.
    let cb = [4usize, 2, 1].into_iter().find(|c| vectors % c == 0).unwrap();
    let xb = out_w.min(8);
    let x_blocks = out_w.div_ceil(xb);
    let c_blocks = vectors / cb;
    let in_c = input.meta.shape()[3];
    let ub = if in_c % 2 == 0 { 2 } else { 1 };

    let working_units = batch * out_h * x_blocks * c_blocks;
    let cube_dim = CubeDim::new(&input.client, working_units);
    let cube_count = calculate_cube_count_elemwise(&input.client, working_units, cube_dim);
    let dtype = input.dtype;
    let client = input.client.clone();

    unsafe {
        conv2d_blocked_kernel::launch_unchecked(
            &client,
            cube_count,
            cube_dim,
            address_type!(input, weight, output),
            line,
            input.into_tensor_arg(),
            weight.into_tensor_arg(),
            bias.map(|b| b.into_buffer_arg()).into(),
            output.clone().into_tensor_arg(),
            BlockedArgsLaunch::new(
                stride[0] as u32,
                stride[1] as u32,
                dilation[0] as u32,
                dilation[1] as u32,
                padding[0] as u32,
                padding[1] as u32,
                x_blocks as u32,
                c_blocks as u32,
            ),
            xb,
            cb,
            ub,
            transposed,
            transposed && stride != [1, 1],
            dtype_to_storage_type(dtype),
        )
    };
    output
}

/// Whether a convolution is one `conv2d_blocked` takes: 2-D, one group,
/// symmetric padding, f32.
pub(crate) fn blocked_applies<const N: usize>(input: &CubeTensor, options: &ConvOptions<N>) -> bool {
    N == 2
        && options.groups == 1
        && !options.is_asymmetric()
        && input.dtype == burn::backend::DType::F32
}

/// The forward pass: `input` NHWC, `weight` `[out, kh, kw, in]` (Burn's NHWC view of it).
pub(crate) fn conv_forward_blocked<const N: usize>(
    input: CubeTensor,
    weight: CubeTensor,
    bias: Option<CubeTensor>,
    options: &ConvOptions<N>,
) -> CubeTensor {
    let pad = options.padding_begin();
    let [_, in_h, in_w, in_c] = input.meta.shape().dims();
    let [out_c, k_h, k_w, _] = weight.meta.shape().dims();
    let size = |i: usize, k: usize, d: usize| (i + 2 * pad[d] - options.dilation[d] * (k - 1) - 1) / options.stride[d] + 1;
    let out_hw = [size(in_h, k_h, 0), size(in_w, k_w, 1)];
    if winograd_applies(in_c, out_c, [k_h, k_w], options) {
        return conv2d_winograd(input, weight, bias, out_hw, pad[0], false);
    }
    conv2d_blocked(
        input,
        // [out, kh, kw, in] -> [kh, kw, in, out]
        permute(weight, &[1, 2, 3, 0]),
        bias,
        out_hw,
        [options.stride[0], options.stride[1]],
        [pad[0], pad[1]],
        [options.dilation[0], options.dilation[1]],
        false,
    )
}

/// The input gradient: the output gradient through the transposed
/// convolution, out to the layer's input shape `in_shape` (NHWC).
pub(crate) fn conv_data_backward_blocked<const N: usize>(
    out_grad: CubeTensor,
    weight: CubeTensor,
    in_shape: &Shape,
    options: &ConvOptions<N>,
) -> CubeTensor {
    let pad = options.padding_begin();
    let [out_c, k_h, k_w, in_c] = weight.meta.shape().dims();
    if winograd_applies(out_c, in_c, [k_h, k_w], options) {
        // The flipped taps' padding: k − 1 − p.
        return conv2d_winograd(out_grad, weight, None, [in_shape[1], in_shape[2]], 2 - pad[0], true);
    }
    conv2d_blocked(
        out_grad,
        // [out, kh, kw, in] -> [kh, kw, out, in]: this convolution's in is the layer's out.
        permute(weight, &[1, 2, 0, 3]),
        None,
        [in_shape[1], in_shape[2]],
        [options.stride[0], options.stride[1]],
        [pad[0], pad[1]],
        [options.dilation[0], options.dilation[1]],
        true,
    )
}

// The weight gradient.
//
// Burn's fallback frames it as a convolution of the input (each input
// channel an image, the batch its channels) by the output gradient (each
// output channel a filter as large as the output): on ResNet-20's 32x32
// layers that is a few dozen invocations with 3 output positions each, each
// walking a 32x32 "kernel" with gathered reads, about twice the forward
// pass's time. Here an invocation owns
// one tap (ky, kx), a block of `ib` input channels and `cb` vectors of
// output channels, and sums over a chunk of output rows (at least 256
// positions): per position it reads `ib` inputs and `cb`
// gradient vectors for `ib * cb` vector multiply-adds, as the forward
// kernel does. The chunks' partial sums are added by a second kernel.

#[derive(CubeLaunch, CubeType)]
struct WeightGradArgs {
    stride_0: u32,
    stride_1: u32,
    dilation_0: u32,
    dilation_1: u32,
    padding_0: u32,
    padding_1: u32,
    /// Output rows (an `(n, oy)` pair) per chunk.
    rows: u32,
    /// Blocks of `ib` input channels.
    i_blocks: u32,
    /// Blocks of `cb` output channel vectors.
    c_blocks: u32,
}

#[cube(launch_unchecked, address_type = "dynamic")]
fn conv2d_weight_grad_kernel<E: Numeric, N: Size>(
    input: &Tensor<E>,
    out_grad: &Tensor<Vector<E, N>>,
    partials: &mut Tensor<Vector<E, N>>,
    args: WeightGradArgs,
    #[comptime] ib: usize,
    #[comptime] cb: usize,
    #[comptime] xu: usize,
    #[define(E)] _dtype: ElemType,
) {
    // input [batch, h, w, in], any strides; out_grad [batch, oh, ow, out]
    // and partials [chunks, kh, kw, in, out], contiguous, indexed in vectors.
    let line = out_grad.vector_size();
    let batch = input.shape(0) as u32;
    let in_h = input.shape(1) as u32;
    let in_w = input.shape(2) as u32;
    let in_c = input.shape(3) as u32;
    let out_h = out_grad.shape(1) as u32;
    let out_w = out_grad.shape(2) as u32;
    let k_h = partials.shape(1) as u32;
    let k_w = partials.shape(2) as u32;
    let out_vectors = (out_grad.shape(3) / line) as u32;

    // Neighbouring invocations: neighbouring channel blocks of one tap, so
    // they take the same branches and read neighbouring addresses.
    let pos = ABSOLUTE_POS as u32;
    let c_block = pos % args.c_blocks;
    let rest = pos / args.c_blocks;
    let i_block = rest % args.i_blocks;
    let rest = rest / args.i_blocks;
    let kx = rest % k_w;
    let rest = rest / k_w;
    let ky = rest % k_h;
    let chunk = rest / k_h;
    if chunk >= partials.shape(0) as u32 {
        terminate!();
    }
    let ci0 = i_block * ib as u32;
    let oc_vec0 = c_block * cb as u32;

    let mut acc = Array::<Vector<E, N>>::new(comptime![ib * cb]);
    #[unroll]
    for i in 0..ib {
        #[unroll]
        for j in 0..cb {
            acc[i * cb + j] = Vector::broadcast(E::from_int(0));
        }
    }
    let mut g = Array::<Vector<E, N>>::new(cb);

    // The output columns whose tap kx reads inside the input: t_x = ox * s
    // + kx * d - p in [0, in_w), so the loop below needs no test.
    let shift = (kx * args.dilation_1) as i32 - args.padding_1 as i32;
    let s1 = args.stride_1 as i32;
    let mut ox0 = 0i32;
    if shift < 0 {
        ox0 = (-shift + s1 - 1) / s1;
    }
    let mut ox1 = (in_w as i32 - shift + s1 - 1) / s1;
    if ox1 > out_w as i32 {
        ox1 = out_w as i32;
    }
    let step = args.stride_1 as usize * input.stride(2);

    let rows = batch * out_h;
    let r0 = chunk * args.rows;
    let mut r1 = r0 + args.rows;
    if r1 > rows {
        r1 = rows;
    }
    let in_stride_c = input.stride(3);
    let channel0 = ci0 as usize * in_stride_c;
    for r in r0..r1 {
        let n = r / out_h;
        let oy = r % out_h;
        let t_y = (oy * args.stride_0 + ky * args.dilation_0) as i32 - args.padding_0 as i32;
        if t_y >= 0 && (t_y as u32) < in_h && ox0 < ox1 {
            let mut at = n as usize * input.stride(0)
                + channel0
                + t_y as usize * input.stride(1)
                + (ox0 * s1 + shift) as usize * input.stride(2);
            let mut g_at = ((r * out_w + ox0 as u32) * out_vectors + oc_vec0) as usize;
            // `xu` positions per trip, for the reason given in the forward
            // kernel; a trip's positions past the row's end re-read the trip's
            // first position and add zeros, a few selects instead of a tail
            // loop that would repeat the body's code. xu = 4 measured within
            // noise of 2.
            let n = (ox1 - ox0) as u32;
            let g_step = out_vectors as usize;
            for q in 0..(n + xu as u32 - 1) / xu as u32 {
                #[unroll]
                for u in 0..xu {
                    let valid = (q * xu as u32 + u as u32) < n;
                    let a = select(valid, at + u * step, at);
                    let ga = select(valid, g_at + u * g_step, g_at);
                    #[unroll]
                    for j in 0..cb {
                        g[j] = out_grad[ga + j];
                    }
                    #[unroll]
                    for i in 0..ib {
                        let x = select(valid, input[a + i * in_stride_c], E::from_int(0));
                        let v = Vector::broadcast(x);
                        #[unroll]
                        for j in 0..cb {
                            acc[i * cb + j] += v * g[j];
                        }
                    }
                }
                at += xu * step;
                g_at += xu * g_step;
            }
        }
    }

    let base = ((((chunk * k_h + ky) * k_w + kx) * in_c + ci0) * out_vectors + oc_vec0) as usize;
    #[unroll]
    for i in 0..ib {
        #[unroll]
        for j in 0..cb {
            partials[base + i * out_vectors as usize + j] = acc[i * cb + j];
        }
    }
}

/// output = Σ over the first dimension of partials `[chunks, …]`; `count`
/// is the output's length in vectors. Written here rather than through
/// Burn's `sum_dim`: it is a few lines, reads whole vectors in memory order,
/// and the weight kernel's vector size and layout need no reshaping for it.
#[cube(launch_unchecked, address_type = "dynamic")]
fn sum_chunks_kernel<E: Numeric, N: Size>(
    partials: &Tensor<Vector<E, N>>,
    output: &mut Tensor<Vector<E, N>>,
    count: u32,
    #[define(E)] _dtype: ElemType,
) {
    let pos = ABSOLUTE_POS as u32;
    if pos >= count {
        terminate!();
    }
    let mut sum = partials[pos as usize];
    for chunk in 1..partials.shape(0) as u32 {
        sum += partials[(chunk * count + pos) as usize];
    }
    output[pos as usize] = sum;
}

/// Σ over the first dimension of contiguous `partials` `[chunks, …]`, as a
/// contiguous tensor of `shape`; `line` divides the last dimension.
pub(super) fn sum_chunks(partials: CubeTensor, shape: Shape, line: usize) -> CubeTensor {
    if partials.meta.shape()[0] == 1 {
        return reshape(partials, shape);
    }
    let client = partials.client.clone();
    let output = empty_device_contiguous_dtype(client.clone(), partials.device.clone(), shape.clone(), partials.dtype);
    let count = shape.num_elements() / line;
    let cube_dim = CubeDim::new(&client, count);
    let cube_count = calculate_cube_count_elemwise(&client, count, cube_dim);
    let dtype = partials.dtype;
    unsafe {
        sum_chunks_kernel::launch_unchecked(
            &client,
            cube_count,
            cube_dim,
            address_type!(partials, output),
            line,
            partials.into_tensor_arg(),
            output.clone().into_tensor_arg(),
            count as u32,
            dtype_to_storage_type(dtype),
        )
    };
    output
}

/// The weight gradient: `input` NHWC, `out_grad` NHWC, `weight_shape`
/// `[out, kh, kw, in]`; returned as an `[out, kh, kw, in]` view of a
/// `[kh, kw, in, out]` buffer.
pub(crate) fn conv_weight_backward_blocked<const N: usize>(
    input: CubeTensor,
    out_grad: CubeTensor,
    weight_shape: &Shape,
    options: &ConvOptions<N>,
) -> CubeTensor {
    let pad = options.padding_begin();
    let out_grad = into_contiguous(out_grad);
    let [batch, out_h, out_w, out_c] = out_grad.meta.shape().dims();
    let [_, k_h, k_w, in_c] = weight_shape.dims();
    if winograd_applies(in_c, out_c, [k_h, k_w], options) {
        // [3, 3, in, out] -> [out, kh, kw, in]
        return permute(conv2d_weight_grad_winograd(input, out_grad, pad[0]), &[3, 0, 1, 2]);
    }

    let line = [4usize, 2, 1].into_iter().find(|l| out_c % l == 0).unwrap();
    let vectors = out_c / line;
    // As in the forward kernel: up to 8 x 4 vector accumulators.
    let cb = [4usize, 2, 1].into_iter().find(|c| vectors % c == 0).unwrap();
    let ib = [8usize, 4, 3, 2, 1].into_iter().find(|i| in_c % i == 0).unwrap();
    // A chunk is at least 256 output positions: on ResNet-20's layers
    // (32x32x16, 16x16x32, 8x8x64 at batch 32) 2,304 invocations each, enough
    // to keep every core busy.
    let rows = 256usize.div_ceil(out_w.max(1)).min((batch * out_h).max(1));
    let chunks = (batch * out_h).div_ceil(rows).max(1);
    let (i_blocks, c_blocks) = (in_c / ib, vectors / cb);
    // Output positions per trip of the kernel's inner loop (why: see there).
    let xu = 2usize;

    let client = input.client.clone();
    let device = input.device.clone();
    let dtype = input.dtype;
    let partials = empty_device_contiguous_dtype(
        client.clone(),
        device.clone(),
        Shape::new([chunks, k_h, k_w, in_c, out_c]),
        dtype,
    );
    let units = chunks * k_h * k_w * i_blocks * c_blocks;
    let cube_dim = CubeDim::new(&client, units);
    let cube_count = calculate_cube_count_elemwise(&client, units, cube_dim);
    unsafe {
        conv2d_weight_grad_kernel::launch_unchecked(
            &client,
            cube_count,
            cube_dim,
            address_type!(input, out_grad, partials),
            line,
            input.into_tensor_arg(),
            out_grad.into_tensor_arg(),
            partials.clone().into_tensor_arg(),
            WeightGradArgsLaunch::new(
                options.stride[0] as u32,
                options.stride[1] as u32,
                options.dilation[0] as u32,
                options.dilation[1] as u32,
                pad[0] as u32,
                pad[1] as u32,
                rows as u32,
                i_blocks as u32,
                c_blocks as u32,
            ),
            ib,
            cb,
            xu,
            dtype_to_storage_type(dtype),
        )
    };

    let grad = sum_chunks(partials, Shape::new([k_h, k_w, in_c, out_c]), line);
    // [kh, kw, in, out] -> [out, kh, kw, in]
    permute(grad, &[3, 0, 1, 2])
}
