//! ResLab patch: a 2-D convolution for software adapters (SwiftShader,
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
//! The same kernel serves the weight gradient (Burn's fallback frames it as
//! a convolution of the input by the output gradient) and, in its transposed
//! form, the input gradient, so all three passes of a layer run here.

use crate::{
    kernel::utils::address_type,
    ops::{numeric::empty_device_contiguous_dtype, permute},
    tensor::CubeTensor,
};
use burn_backend::cubecl::dtype_to_storage_type;
use burn_backend::ops::ConvOptions;
use burn_std::Shape;
use cubecl::{calculate_cube_count_elemwise, prelude::*};

use crate::kernel::into_contiguous;

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
    #[comptime] transposed: bool,
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
        let in_y = if transposed { t_y / stride_0 } else { t_y };
        let row_ok = if transposed {
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
                    let in_x = if transposed { t_x / stride_1 } else { t_x };
                    let ok = if transposed {
                        ox < out_w && t_x >= 0 && t_x % stride_1 == 0 && (in_x as u32) < in_w
                    } else {
                        ox < out_w && t_x >= 0 && (t_x as u32) < in_w
                    };
                    inside[p] = ok;
                    // Out of range: read a valid address (the row's start) and drop the value.
                    offs[p] = row + select(ok, in_x as usize, 0usize) * input.stride(2);
                }
                let w_base = ((ky * k_w + kx) * in_c * out_vectors + oc_vec0) as usize;
                for ic in 0..in_c {
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
    // the fastest or within noise of it (see RESLAB-PATCH.md); the register
    // file spills, but a spill is cheaper there than a gathered read.
    let cb = [4usize, 2, 1].into_iter().find(|c| vectors % c == 0).unwrap();
    let xb = out_w.min(8);
    let x_blocks = out_w.div_ceil(xb);
    let c_blocks = vectors / cb;

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
            transposed,
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
        && input.dtype == burn_backend::DType::F32
        && crate::kernel::software_kernels()
}

/// The forward pass: `input` NHWC, `weight` `[out, kh, kw, in]` (Burn's NHWC view of it).
pub(crate) fn conv_forward_blocked<const N: usize>(
    input: CubeTensor,
    weight: CubeTensor,
    bias: Option<CubeTensor>,
    options: &ConvOptions<N>,
) -> CubeTensor {
    let pad = options.padding_begin();
    let [_, in_h, in_w, _] = input.meta.shape().dims();
    let [_, k_h, k_w, _] = weight.meta.shape().dims();
    let size = |i: usize, k: usize, d: usize| (i + 2 * pad[d] - options.dilation[d] * (k - 1) - 1) / options.stride[d] + 1;
    conv2d_blocked(
        input,
        // [out, kh, kw, in] -> [kh, kw, in, out]
        permute(weight, &[1, 2, 3, 0]),
        bias,
        [size(in_h, k_h, 0), size(in_w, k_w, 1)],
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
