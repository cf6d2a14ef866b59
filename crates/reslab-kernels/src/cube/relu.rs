//! ReLU forward and backward as one element-wise kernel each, for software
//! adapters.
//!
//! Burn's default (`burn-backend`'s `ActivationOps`) builds both from a
//! comparison into a bool tensor and a `mask_fill`: two kernels each way
//! that walk a convolution's channels-last output (seen as `[n, c, h, w]`)
//! in logical order, reading with a stride and writing NCHW, which the next
//! convolution then reads strided in turn. Here each direction is one kernel
//! that walks the buffer in memory order and keeps its layout. The results
//! are the default's, NaN included: `x <= 0` gives 0, a NaN passes through.

use burn_backend::cubecl::dtype_to_storage_type;
use burn_cubecl::{
    kernel::into_contiguous,
    ops::permute,
    tensor::CubeTensor,
};
use cubecl::{num_traits::Zero, prelude::*};

use super::{address_type, empty, launch_dims};

#[cube(launch_unchecked, address_type = "dynamic")]
fn relu_kernel<F: Float, N: Size>(
    input: &Tensor<Vector<F, N>>,
    output: &mut Tensor<Vector<F, N>>,
    count: u32,
    #[define(F)] _dtype: ElemType,
) {
    let pos = ABSOLUTE_POS as u32;
    if pos >= count {
        terminate!();
    }
    let x = input[pos as usize];
    let zero = Vector::zero();
    output[pos as usize] = select_many(x.less_equal(&zero), zero, x);
}

/// `grad` where `output` > 0 (or NaN), else 0.
#[cube(launch_unchecked, address_type = "dynamic")]
fn relu_backward_kernel<F: Float, N: Size>(
    output: &Tensor<Vector<F, N>>,
    grad: &Tensor<Vector<F, N>>,
    result: &mut Tensor<Vector<F, N>>,
    count: u32,
    #[define(F)] _dtype: ElemType,
) {
    let pos = ABSOLUTE_POS as u32;
    if pos >= count {
        terminate!();
    }
    let zero = Vector::zero();
    result[pos as usize] = select_many(output[pos as usize].less_equal(&zero), zero, grad[pos as usize]);
}

/// The axes that order `t`'s dimensions by decreasing stride, if `t` then
/// is contiguous (a dense buffer in some dimension order, as a
/// convolution's channels-last output seen as NCHW is).
fn memory_order(t: &CubeTensor) -> Option<Vec<usize>> {
    let (shape, strides) = (t.meta.shape(), t.meta.strides());
    let mut axes: Vec<usize> = (0..shape.num_dims()).collect();
    axes.sort_by_key(|&a| core::cmp::Reverse(strides[a]));
    let mut expected = 1;
    for &a in axes.iter().rev() {
        if shape[a] != 1 && strides[a] != expected {
            return None;
        }
        expected *= shape[a];
    }
    Some(axes)
}

/// `t` as a dense buffer: its memory-order axes and the tensor permuted to
/// them (a view, or a contiguous copy when `t` has gaps or broadcasts).
fn dense(t: CubeTensor) -> (Vec<usize>, CubeTensor) {
    match memory_order(&t) {
        Some(axes) => {
            let permuted = permute(t, &axes);
            (axes, permuted)
        }
        None => {
            let axes = (0..t.meta.shape().num_dims()).collect();
            (axes, into_contiguous(t))
        }
    }
}

/// The inverse of the permutation `axes`.
fn inverse(axes: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; axes.len()];
    for (i, &a) in axes.iter().enumerate() {
        inv[a] = i;
    }
    inv
}

fn launch_size(like: &CubeTensor) -> (usize, usize, CubeCount, CubeDim) {
    let len = like.meta.shape().num_elements();
    let line = [4usize, 2, 1].into_iter().find(|l| len % l == 0).unwrap();
    let count = len / line;
    let (cube_count, cube_dim) = launch_dims(like, count);
    (line, count, cube_count, cube_dim)
}

/// max(x, 0), NaN kept; the result has `x`'s memory layout.
pub(crate) fn relu(x: CubeTensor) -> CubeTensor {
    let (axes, x) = dense(x);
    let output = empty(&x, x.meta.shape().clone());
    let (line, count, cube_count, cube_dim) = launch_size(&x);
    let client = x.client.clone();
    let dtype = dtype_to_storage_type(x.dtype);
    unsafe {
        relu_kernel::launch_unchecked(
            &client,
            cube_count,
            cube_dim,
            address_type!(x, output),
            line,
            x.into_tensor_arg(),
            output.clone().into_tensor_arg(),
            count as u32,
            dtype,
        )
    };
    permute(output, &inverse(&axes))
}

/// The gradient where the ReLU's `output` is positive (or NaN), else 0;
/// the result has `output`'s memory layout.
pub(crate) fn relu_backward(output: CubeTensor, grad: CubeTensor) -> CubeTensor {
    let (axes, output) = dense(output);
    // The gradient walked in the same order: a view if it shares the layout,
    // else one copy into it.
    let grad = permute(grad, &axes);
    let grad = if grad.meta.strides() == output.meta.strides() { grad } else { into_contiguous(grad) };
    let result = empty(&output, output.meta.shape().clone());
    let (line, count, cube_count, cube_dim) = launch_size(&output);
    let client = output.client.clone();
    let dtype = dtype_to_storage_type(output.dtype);
    unsafe {
        relu_backward_kernel::launch_unchecked(
            &client,
            cube_count,
            cube_dim,
            address_type!(output, grad, result),
            line,
            output.into_tensor_arg(),
            grad.into_tensor_arg(),
            result.clone().into_tensor_arg(),
            count as u32,
            dtype,
        )
    };
    permute(result, &inverse(&axes))
}
