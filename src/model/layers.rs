//! Burn's `Conv2d`, `BatchNorm` and `Linear` modules run through ResLab's
//! kernels (`reslab-kernels`). The modules keep holding the parameters, so
//! saved `.reslab` files read as before; only their `forward` is replaced,
//! by the same computation as Burn's: with ResLab's kernels on the CPU
//! backend and on a software GPU adapter, with Burn's own ops on a hardware
//! GPU.

use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;

pub use reslab_kernels::relu;

/// The output length along one axis of a convolution or pool (no dilation,
/// floor rounding) over an input of length `size`.
pub(crate) fn out_len(size: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    (size + 2 * padding).saturating_sub(kernel) / stride + 1
}

/// `Conv2d::forward`: `[b, c_in, h, w]` → `[b, c_out, h', w']`.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let (rows, cols) = match conv.padding {
        PaddingConfig2d::Valid => ((0, 0), (0, 0)),
        PaddingConfig2d::Explicit(top, left, bottom, right) => ((top, bottom), (left, right)),
        // Not used by ResLab's nets; Burn computes it (privately).
        PaddingConfig2d::Same => return conv.forward(x),
    };
    let options = ConvOptions::new_with_padding(conv.stride, [rows, cols], conv.dilation, conv.groups);
    reslab_kernels::conv2d(x, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()), options)
}

/// `BatchNorm::forward`: in training (an autodiff device and the layer not
/// frozen) with the batch's statistics, folded into the running ones with
/// the layer's momentum; otherwise with the running statistics.
pub fn batch_norm(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    if !(device.is_autodiff() && bn.training.is_enabled()) {
        let mean = bn.running_mean.value().to_device(&device);
        let var = bn.running_var.value().to_device(&device);
        return reslab_kernels::batch_norm(x, bn.gamma.val(), bn.beta.val(), mean, var, bn.epsilon);
    }
    let (y, mean, var) = reslab_kernels::batch_norm_train(x, bn.gamma.val(), bn.beta.val(), bn.epsilon);
    let m = bn.momentum;
    let running_mean = bn.running_mean.value_sync().to_device(&device);
    let running_var = bn.running_var.value_sync().to_device(&device);
    let running_mean = running_mean.mul_scalar(1.0 - m).add(mean.detach().mul_scalar(m));
    let running_var = running_var.mul_scalar(1.0 - m).add(var.detach().mul_scalar(m));
    bn.running_mean.update(running_mean.detach());
    bn.running_var.update(running_var.detach());
    y
}

/// `Linear::forward` on `[b, d_input]` → `[b, d_output]` (the weight is
/// `[d_input, d_output]`).
pub fn linear(fc: &Linear, x: Tensor<2>) -> Tensor<2> {
    let y = reslab_kernels::matmul(x, fc.weight.val());
    match &fc.bias {
        Some(bias) => y + bias.val().unsqueeze(),
        None => y,
    }
}
