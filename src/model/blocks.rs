//! Building blocks: conv+BN, the basic (two 3x3) block and the bottleneck
//! (1x1, 3x3, 1x1) block, each with or without its shortcut.
//!
//! A plain block is the residual block with the addition removed (paper,
//! Sec. 4.1: "the plain counterpart ... without shortcuts"), so a plain net and
//! its option-A residual twin have exactly the same parameters.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::s;

use super::layers::{self, relu};
use super::{BuildCfg, Shortcut};

/// He et al. 2015 ("Delving deep into rectifiers") initialisation, as the
/// paper uses: normal with std sqrt(2 / fan_in).
pub fn he_normal() -> Initializer {
    Initializer::KaimingNormal { gain: std::f64::consts::SQRT_2, fan_out_only: false }
}

/// Convolution (no bias: the BN that follows has its own shift) + BatchNorm.
#[derive(Module, Debug)]
pub struct ConvBn {
    pub conv: Conv2d,
    pub bn: BatchNorm,
}

impl ConvBn {
    pub fn new(cin: usize, cout: usize, kernel: usize, stride: usize, b: BuildCfg, device: &Device) -> Self {
        let pad = kernel / 2;
        let conv = Conv2dConfig::new([cin, cout], [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .with_bias(false)
            .with_initializer(he_normal())
            .init(device);
        let bn = BatchNormConfig::new(cout)
            .with_momentum(b.bn_momentum)
            .with_epsilon(b.bn_epsilon)
            .init(device);
        Self { conv, bn }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = layers::batch_norm(&self.bn, layers::conv2d(&self.conv, x));
        // In training Burn's BN files its new running statistics under the
        // calling thread and folds them in at the next step's read, if that
        // step runs on the same thread. Folded in here, on the thread that
        // computed them: the threaded engine runs each step on whichever pool
        // thread is free, and the statistics of two threads would otherwise be
        // averaged. Every step, the first included, then also runs the same
        // operations (on a GPU, the same kernels).
        if self.bn.training.is_enabled() && y.device().is_autodiff() {
            self.bn.running_mean.value_sync();
            self.bn.running_var.value_sync();
        }
        y
    }

    pub fn out_channels(&self) -> usize {
        self.conv.weight.shape().dims::<4>()[0]
    }

    pub fn stride(&self) -> usize {
        self.conv.stride[0]
    }
}

/// The shortcut of a block whose input and output shapes differ.
#[derive(Module, Debug)]
pub struct Projection {
    /// Option B: 1x1 convolution with the block's stride, then BN.
    pub conv: Option<ConvBn>,
    /// Option A: subsample by `stride` and append `pad_channels` zero channels.
    pub stride: usize,
    pub pad_channels: usize,
}

impl Projection {
    fn new(cin: usize, cout: usize, stride: usize, b: BuildCfg, device: &Device) -> Option<Self> {
        if cin == cout && stride == 1 {
            return None; // identity
        }
        Some(match b.shortcut {
            Shortcut::B => Self { conv: Some(ConvBn::new(cin, cout, 1, stride, b, device)), stride, pad_channels: 0 },
            Shortcut::A => Self { conv: None, stride, pad_channels: cout.saturating_sub(cin) },
        })
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        if let Some(conv) = &self.conv {
            return conv.forward(x);
        }
        // [b, c, h, w] → [b, c, h/s, w/s]: the strided identity.
        let x = if self.stride > 1 { x.slice(s![.., .., ..;self.stride as isize, ..;self.stride as isize]) } else { x };
        if self.pad_channels == 0 {
            return x;
        }
        let [b, _, h, w] = x.dims();
        let zeros = Tensor::zeros([b, self.pad_channels, h, w], &x.device());
        Tensor::cat(vec![x, zeros], 1) // [b, c + pad, h/s, w/s]
    }

    pub fn kind(&self) -> &'static str {
        if self.conv.is_some() { "projection" } else { "zero-pad" }
    }
}

/// The end of every block: ReLU(F(x) + shortcut(x)), or ReLU(F(x)) for a plain block.
pub(super) fn merge(out: Tensor<4>, x: Tensor<4>, residual: bool, shortcut: Option<&Projection>) -> Tensor<4> {
    if !residual {
        return relu(out);
    }
    let skip = match shortcut {
        Some(p) => p.forward(x),
        None => x,
    };
    relu(out + skip)
}

/// Two 3x3 conv+BN layers; ReLU after the first and after the (optional) addition.
#[derive(Module, Debug)]
pub struct BasicBlock {
    pub conv1: ConvBn,
    pub conv2: ConvBn,
    pub shortcut: Option<Projection>,
    pub residual: bool,
}

impl BasicBlock {
    pub fn new(cin: usize, cout: usize, stride: usize, residual: bool, b: BuildCfg, device: &Device) -> Self {
        Self {
            conv1: ConvBn::new(cin, cout, 3, stride, b, device),
            conv2: ConvBn::new(cout, cout, 3, 1, b, device),
            // A plain block has no shortcut at all, not even a projection.
            shortcut: if residual { Projection::new(cin, cout, stride, b, device) } else { None },
            residual,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = relu(self.conv1.forward(x.clone())); // [b, cout, h/s, w/s]
        let out = self.conv2.forward(out);
        merge(out, x, self.residual, self.shortcut.as_ref())
    }
}

/// 1x1 reduce, 3x3, 1x1 expand (x4). Deviation from the paper: the stride sits
/// on the 3x3 convolution (as in torchvision's "ResNet v1.5"), not on the
/// first 1x1, which keeps more information at the downsampling step.
#[derive(Module, Debug)]
pub struct Bottleneck {
    pub conv1: ConvBn,
    pub conv2: ConvBn,
    pub conv3: ConvBn,
    pub shortcut: Option<Projection>,
    pub residual: bool,
}

pub const EXPANSION: usize = 4;

impl Bottleneck {
    pub fn new(cin: usize, width: usize, stride: usize, residual: bool, b: BuildCfg, device: &Device) -> Self {
        let cout = width * EXPANSION;
        Self {
            conv1: ConvBn::new(cin, width, 1, 1, b, device),
            conv2: ConvBn::new(width, width, 3, stride, b, device),
            conv3: ConvBn::new(width, cout, 1, 1, b, device),
            shortcut: if residual { Projection::new(cin, cout, stride, b, device) } else { None },
            residual,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = relu(self.conv1.forward(x.clone()));
        let out = relu(self.conv2.forward(out));
        let out = self.conv3.forward(out);
        merge(out, x, self.residual, self.shortcut.as_ref())
    }
}

/// A stage's block, basic or bottleneck.
#[derive(Module, Debug)]
pub enum Block {
    Basic(BasicBlock),
    Bottleneck(Bottleneck),
}

impl Block {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Block::Basic(b) => b.forward(x),
            Block::Bottleneck(b) => b.forward(x),
        }
    }

    /// The conv+BN layers in order.
    pub fn layers(&self) -> Vec<&ConvBn> {
        match self {
            Block::Basic(b) => vec![&b.conv1, &b.conv2],
            Block::Bottleneck(b) => vec![&b.conv1, &b.conv2, &b.conv3],
        }
    }

    pub fn shortcut(&self) -> (bool, Option<&Projection>) {
        match self {
            Block::Basic(b) => (b.residual, b.shortcut.as_ref()),
            Block::Bottleneck(b) => (b.residual, b.shortcut.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn batch(seed: u64, device: &Device) -> Tensor<4> {
        let mut rng = Rng::new(seed);
        let v: Vec<f32> = (0..2 * 3 * 5 * 5).map(|_| rng.next_f32() * 4.0 - 1.0).collect();
        Tensor::from_data(burn::tensor::TensorData::new(v, [2, 3, 5, 5]), device)
    }

    /// BN's running mean after three training steps is the same whether the
    /// steps ran on one thread or each on its own (as the threaded engine's
    /// pool runs them): each step's statistics are folded in by the step.
    #[test]
    fn running_statistics_do_not_depend_on_the_thread() {
        let device = Device::flex().autodiff();
        let b = BuildCfg { bn_momentum: 0.1, bn_epsilon: 1e-5, shortcut: Shortcut::A };
        // Two nets alike (a clone would share its running state), their
        // weights given: drawn from the device's generator after seeding it,
        // they differed whenever another test drew from it in between (the
        // unit tests run on parallel threads and share the device).
        let mut rng = Rng::new(3);
        let weight: Vec<f32> = (0..4 * 3 * 3 * 3).map(|_| rng.next_f32() - 0.5).collect();
        let net = || {
            let mut c = ConvBn::new(3, 4, 3, 1, b, &device);
            c.conv.weight = burn::module::Param::from_data(burn::tensor::TensorData::new(weight.clone(), [4, 3, 3, 3]), &device);
            c
        };
        let (one, hopping) = (net(), net());
        for seed in 1..=3 {
            let _ = one.forward(batch(seed, &device));
            let (m, d) = (&hopping, &device);
            std::thread::scope(|s| s.spawn(move || drop(m.forward(batch(seed, d)))).join().unwrap());
        }
        let read = |c: &ConvBn| c.bn.running_mean.value().into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        let (a, h) = (read(&one), read(&hopping));
        assert!(a.iter().any(|v| v.abs() > 1e-3), "the running mean moved: {a:?}");
        for (x, y) in a.iter().zip(&h) {
            assert!((x - y).abs() < 1e-6, "one thread {a:?}, a thread per step {h:?}");
        }
    }
}
