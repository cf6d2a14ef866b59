//! ResLab patch: ReLU forward and backward as one elementwise kernel each,
//! for software adapters.
//!
//! Burn's default (`burn-backend`'s `ActivationOps`) builds both from a
//! comparison into a bool tensor and a `mask_fill`: two kernels each way,
//! and neither walks its operands in memory order, so on a convolution's
//! channels-last output (seen as `[n, c, h, w]`) they read with a stride,
//! cannot vectorise, and write their result back in NCHW order, which the
//! next convolution then reads strided in turn. Here each direction is one
//! kernel through the elementwise launchers (`launch_unary_float`,
//! `launch_binop`), which walk the operands in the order they sit in memory
//! and keep that layout. The results are the default's, NaN included: an
//! input `x <= 0` gives 0 (a NaN is not `<= 0`, so it passes through).

use super::{BinaryOp, BinaryOpFamily, FloatUnaryOp, FloatUnaryOpFamily, launch_binop, launch_unary_float};
use crate::tensor::CubeTensor;
use cubecl::num_traits::Zero;
use cubecl::prelude::*;

struct ReluOp;

impl FloatUnaryOpFamily for ReluOp {
    type Options = ();
    type Unary<F: Float, N: Size> = Self;
}

#[cube]
impl<F: Float, N: Size> FloatUnaryOp<F, N> for ReluOp {
    type Options = ();

    fn execute(input: Vector<F, N>, _options: &Self::Options) -> Vector<F, N> {
        let zero = Vector::zero();
        select_many(input.less_equal(&zero), zero, input)
    }
}

/// `lhs` the layer's input, `rhs` the output's gradient.
struct ReluBackwardOp;

impl BinaryOpFamily for ReluBackwardOp {
    type BinaryOp<C: Numeric, N: Size> = Self;
}

#[cube]
impl<T: Numeric, N: Size> BinaryOp<T, N> for ReluBackwardOp {
    fn execute(lhs: Vector<T, N>, rhs: Vector<T, N>) -> Vector<T, N> {
        let zero = Vector::new(T::from_int(0));
        select_many(lhs.less_equal(&zero), zero, rhs)
    }
}

/// max(x, 0), NaN kept.
pub(crate) fn relu(x: CubeTensor) -> CubeTensor {
    launch_unary_float::<ReluOp, _>(x, |_| ())
}

/// The gradient where the ReLU's input (or output) `x` is positive, else 0.
pub(crate) fn relu_backward(x: CubeTensor, grad: CubeTensor) -> CubeTensor {
    launch_binop::<ReluBackwardOp>(x, grad)
}
