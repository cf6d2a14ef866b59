//! The ops on Burn's CubeCL backend (the page's WebGPU engine), for
//! software adapters: SwiftShader, llvmpipe and the like, whose "GPU" is the
//! CPU's cores, where an invocation is a lane of a SIMD register and every
//! storage read a gather. Burn's kernels, written for GPUs, ran several
//! times slower there than these, which do more arithmetic per read
//! (BENCHMARKS.md, the "on a software adapter" sections). The tensor-level
//! functions in `lib.rs` call them only for a device marked as a software
//! adapter (`set_software_adapter`); a hardware GPU keeps Burn's own ops,
//! which Burn's fusion can merge (an extension op is opaque to it).
//!
//! Each op takes ResLab's kernel for the cases it was written for (2-D,
//! f32, one group, symmetric padding) and Burn's own op otherwise.

use burn::backend::ops::{ActivationOps, ConvOptions, FloatTensorOps, ModuleOps};
use burn::tensor::Shape;
use burn_cubecl::{CubeBackend, ops::numeric::empty_device_contiguous_dtype, ops::permute, tensor::CubeTensor};
use cubecl::{CubeCount, CubeDim, calculate_cube_count_elemwise};

use crate::{ResLabOps, count};

mod batch_norm;
mod conv;
mod matmul;
mod relu;
mod winograd;

/// The widest address type (32- or 64-bit indices) any of the tensors
/// needs, for a kernel launch.
macro_rules! address_type {
    ($($tensor: expr),*) => {
        [$($tensor.required_address_type()),*].into_iter().max().unwrap_or_default()
    };
}
pub(crate) use address_type;

/// A fresh contiguous tensor shaped `shape`, on `like`'s device, in its dtype.
fn empty(like: &CubeTensor, shape: impl Into<Shape>) -> CubeTensor {
    empty_device_contiguous_dtype(like.client.clone(), like.device.clone(), shape.into(), like.dtype)
}

/// Cube count and dimension for `units` invocations.
fn launch_dims(like: &CubeTensor, units: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new(&like.client, units);
    (calculate_cube_count_elemwise(&like.client, units, cube_dim), cube_dim)
}

type Cb = CubeBackend;

// Burn's NCHW tensors seen channels-last, and back: views, no copy (the
// convolutions' outputs are channels-last buffers).
fn nhwc(t: CubeTensor) -> CubeTensor {
    permute(t, &[0, 2, 3, 1])
}
fn nchw(t: CubeTensor) -> CubeTensor {
    permute(t, &[0, 3, 1, 2])
}

fn conv(x: CubeTensor, weight: CubeTensor, bias: Option<CubeTensor>, options: ConvOptions<2>) -> CubeTensor {
    if !conv::blocked_applies(&x, &options) {
        return <Cb as ModuleOps<Cb>>::conv2d(x, weight, bias, options);
    }
    count();
    nchw(conv::conv_forward_blocked(nhwc(x), nhwc(weight), bias, &options))
}

impl ResLabOps for CubeBackend {
    fn reslab_conv2d(x: CubeTensor, weight: CubeTensor, options: ConvOptions<2>) -> CubeTensor {
        conv(x, weight, None, options)
    }

    fn reslab_conv2d_bias(x: CubeTensor, weight: CubeTensor, bias: CubeTensor, options: ConvOptions<2>) -> CubeTensor {
        conv(x, weight, Some(bias), options)
    }

    fn reslab_conv2d_x_backward(x: CubeTensor, weight: CubeTensor, output_grad: CubeTensor, options: ConvOptions<2>) -> CubeTensor {
        if !conv::blocked_applies(&output_grad, &options) {
            return <Cb as ModuleOps<Cb>>::conv2d_x_backward(x, weight, output_grad, options);
        }
        count();
        let in_shape = nhwc(x).meta.shape().clone();
        nchw(conv::conv_data_backward_blocked(nhwc(output_grad), nhwc(weight), &in_shape, &options))
    }

    fn reslab_conv2d_weight_backward(
        x: CubeTensor,
        weight: CubeTensor,
        output_grad: CubeTensor,
        options: ConvOptions<2>,
    ) -> CubeTensor {
        if !conv::blocked_applies(&x, &options) {
            return <Cb as ModuleOps<Cb>>::conv2d_weight_backward(x, weight, output_grad, options);
        }
        count();
        let weight_shape = nhwc(weight).meta.shape().clone();
        nchw(conv::conv_weight_backward_blocked(nhwc(x), nhwc(output_grad), &weight_shape, &options))
    }

    fn reslab_conv2d_bias_backward(x: CubeTensor, bias: CubeTensor, output_grad: CubeTensor) -> CubeTensor {
        <Cb as ModuleOps<Cb>>::conv2d_bias_backward(x, bias, output_grad)
    }

    fn reslab_batch_norm_train(
        x: CubeTensor,
        gamma: CubeTensor,
        beta: CubeTensor,
        epsilon: f64,
    ) -> (CubeTensor, CubeTensor, CubeTensor) {
        if !batch_norm::applies(&x) {
            let r = <Cb as ModuleOps<Cb>>::batch_norm_train(x, gamma, beta, epsilon);
            return (r.output, r.mean, r.variance);
        }
        count();
        batch_norm::train_forward(x, gamma, beta, epsilon)
    }

    fn reslab_batch_norm_train_backward(
        x: CubeTensor,
        gamma: CubeTensor,
        mean: CubeTensor,
        variance: CubeTensor,
        epsilon: f64,
        output_grad: CubeTensor,
    ) -> (CubeTensor, CubeTensor, CubeTensor) {
        if !batch_norm::applies(&x) {
            let r = <Cb as ModuleOps<Cb>>::batch_norm_train_backward(x, gamma, mean, variance, epsilon, output_grad);
            return (r.x_grad, r.gamma_grad, r.beta_grad);
        }
        count();
        batch_norm::train_backward(x, gamma, mean, variance, epsilon, output_grad)
    }

    fn reslab_batch_norm(
        x: CubeTensor,
        gamma: CubeTensor,
        beta: CubeTensor,
        mean: CubeTensor,
        variance: CubeTensor,
        epsilon: f64,
    ) -> CubeTensor {
        // Evaluation only: Burn's composition.
        <Cb as ModuleOps<Cb>>::batch_norm(x, gamma, beta, mean, variance, epsilon)
    }

    fn reslab_relu(x: CubeTensor) -> CubeTensor {
        if x.dtype != burn::backend::DType::F32 {
            return <Cb as ActivationOps<Cb>>::relu(x);
        }
        count();
        relu::relu(x)
    }

    fn reslab_relu_backward(output: CubeTensor, grad: CubeTensor) -> CubeTensor {
        if output.dtype != burn::backend::DType::F32 || grad.dtype != output.dtype {
            return <Cb as ActivationOps<Cb>>::relu_backward(output, grad);
        }
        count();
        relu::relu_backward(output, grad)
    }

    fn reslab_matmul(lhs: CubeTensor, rhs: CubeTensor) -> CubeTensor {
        match matmul::cpu_gemm(&lhs, &rhs) {
            Some(out) => {
                count();
                out
            }
            None => <Cb as FloatTensorOps<Cb>>::float_matmul(lhs, rhs),
        }
    }
}
