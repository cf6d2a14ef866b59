//! The ops on Flex, Burn's CPU backend (the CLI, and both CPU engines of the
//! page). f32 tensors take ResLab's kernels; other dtypes Flex's own ops.

use burn::backend::ops::{ActivationOps, ConvOptions, FloatTensorOps, ModuleOps};
use burn::backend::{Flex, tensor::FloatTensor};
use burn_flex::FlexTensor;

use crate::{ResLabOps, count};

mod batch_norm;
mod conv2d_gemm;
mod relu;


impl ResLabOps for Flex {
    fn reslab_conv2d(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        if !conv2d_gemm::applicable(&[&x, &weight]) {
            return <Flex as ModuleOps<Flex>>::conv2d(x, weight, None, options);
        }
        count();
        conv2d_gemm::conv2d(x, weight, None, &options)
    }

    fn reslab_conv2d_bias(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        if !conv2d_gemm::applicable(&[&x, &weight, &bias]) {
            return <Flex as ModuleOps<Flex>>::conv2d(x, weight, Some(bias), options);
        }
        count();
        conv2d_gemm::conv2d(x, weight, Some(bias), &options)
    }

    fn reslab_conv2d_x_backward(x: FlexTensor, weight: FlexTensor, output_grad: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        if !conv2d_gemm::applicable(&[&weight, &output_grad]) {
            return <Flex as ModuleOps<Flex>>::conv2d_x_backward(x, weight, output_grad, options);
        }
        count();
        conv2d_gemm::conv2d_x_backward(x, weight, output_grad, &options)
    }

    fn reslab_conv2d_weight_backward(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        if !conv2d_gemm::applicable(&[&x, &output_grad]) {
            return <Flex as ModuleOps<Flex>>::conv2d_weight_backward(x, weight, output_grad, options);
        }
        count();
        conv2d_gemm::conv2d_weight_backward(x, weight, output_grad, &options)
    }

    fn reslab_conv2d_bias_backward(x: FlexTensor, bias: FlexTensor, output_grad: FlexTensor) -> FlexTensor {
        if !conv2d_gemm::applicable(&[&output_grad]) {
            return <Flex as ModuleOps<Flex>>::conv2d_bias_backward(x, bias, output_grad);
        }
        count();
        conv2d_gemm::conv2d_bias_backward(output_grad)
    }

    fn reslab_batch_norm_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        if !batch_norm::applicable(&[&x, &gamma, &beta]) {
            let r = <Flex as ModuleOps<Flex>>::batch_norm_train(x, gamma, beta, epsilon);
            return (r.output, r.mean, r.variance);
        }
        count();
        batch_norm::train_forward(x, gamma, beta, epsilon)
    }

    fn reslab_batch_norm_train_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        output_grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        if !batch_norm::applicable(&[&x, &gamma, &mean, &variance, &output_grad]) {
            let r = <Flex as ModuleOps<Flex>>::batch_norm_train_backward(x, gamma, mean, variance, epsilon, output_grad);
            return (r.x_grad, r.gamma_grad, r.beta_grad);
        }
        count();
        batch_norm::train_backward(x, gamma, mean, variance, epsilon, output_grad)
    }

    fn reslab_batch_norm(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
    ) -> FlexTensor {
        if !batch_norm::applicable(&[&x, &gamma, &beta, &mean, &variance]) {
            return <Flex as ModuleOps<Flex>>::batch_norm(x, gamma, beta, mean, variance, epsilon);
        }
        count();
        batch_norm::inference(x, gamma, beta, mean, variance, epsilon)
    }

    fn reslab_relu(x: FlexTensor) -> FlexTensor {
        count();
        match relu::parallel(x) {
            Ok(y) => y,
            Err(x) => <Flex as ActivationOps<Flex>>::relu(x),
        }
    }

    fn reslab_relu_backward(output: FlexTensor, grad: FlexTensor) -> FlexTensor {
        count();
        match relu::parallel_backward(output, grad) {
            Ok(dx) => dx,
            Err((output, grad)) => <Flex as ActivationOps<Flex>>::relu_backward(output, grad),
        }
    }

    /// Flex's own matmul (gemm already): ResLab replaces it only on software
    /// GPU adapters, and the tensor-level `matmul` does not route Flex here.
    fn reslab_matmul(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
        <Flex as FloatTensorOps<Flex>>::float_matmul(lhs, rhs)
    }
}

// Keeps FloatTensor<Flex> and FlexTensor visibly the same type.
const _: fn(FlexTensor) -> FloatTensor<Flex> = |t| t;
