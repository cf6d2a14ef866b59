//! The nets: CIFAR ResNets (6n+2), ImageNet ResNets (Table 1), VGG with BN,
//! an MLP and a small CNN baseline.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use super::layers::{self, relu};
use burn::tensor::module::adaptive_avg_pool2d;

use super::blocks::{BasicBlock, Block, Bottleneck, ConvBn, EXPANSION};
use super::BuildCfg;

/// Global average pool + flatten: `[b, c, h, w]` → `[b, c]`.
fn global_avg_pool(x: Tensor<4>) -> Tensor<2> {
    let [b, c, _, _] = x.dims();
    adaptive_avg_pool2d(x, [1, 1]).reshape([b, c])
}

/// The paper's CIFAR-10 nets (Sec. 4.2): a 3x3 conv with 16 filters, then
/// 3 stages of n blocks on 32/16/8 maps with 16/32/64 filters, stride-2 at the
/// start of stages 2 and 3, global average pool, 10-way linear layer.
#[derive(Module, Debug)]
pub struct CifarResNet {
    pub stem: ConvBn,
    pub blocks: Vec<Block>,
    pub fc: Linear,
}

impl CifarResNet {
    pub fn new(cin: usize, classes: usize, n: usize, residual: bool, b: BuildCfg, device: &Device) -> Self {
        let stem = ConvBn::new(cin, 16, 3, 1, b, device);
        let mut blocks = Vec::with_capacity(3 * n);
        let mut c = 16;
        for (stage, width) in [16, 32, 64].into_iter().enumerate() {
            for i in 0..n {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                blocks.push(Block::Basic(BasicBlock::new(c, width, stride, residual, b, device)));
                c = width;
            }
        }
        Self { stem, blocks, fc: LinearConfig::new(64, classes).init(device) }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = relu(self.stem.forward(x)); // [b, 16, 32, 32]
        for block in &self.blocks {
            x = block.forward(x); // … [b, 64, 8, 8]
        }
        layers::linear(&self.fc, global_avg_pool(x)) // [b, 10]
    }
}

/// ImageNet-style ResNets (Table 1) at 64/128/256/512 filters.
#[derive(Module, Debug)]
pub struct ImageNetResNet {
    pub stem: ConvBn,
    /// The paper's stem has a 3x3 stride-2 max-pool; the small stem has none.
    pub pool: Option<MaxPool2d>,
    pub blocks: Vec<Block>,
    pub fc: Linear,
}

impl ImageNetResNet {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cin: usize,
        classes: usize,
        depths: [usize; 4],
        bottleneck: bool,
        residual: bool,
        small_stem: bool,
        b: BuildCfg,
        device: &Device,
    ) -> Self {
        let (stem, pool) = if small_stem {
            (ConvBn::new(cin, 64, 3, 1, b, device), None)
        } else {
            let pool = MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init();
            (ConvBn::new(cin, 64, 7, 2, b, device), Some(pool))
        };
        let mut blocks = Vec::new();
        let mut c = 64;
        for (stage, (&n, width)) in depths.iter().zip([64, 128, 256, 512]).enumerate() {
            for i in 0..n {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                if bottleneck {
                    blocks.push(Block::Bottleneck(Bottleneck::new(c, width, stride, residual, b, device)));
                    c = width * EXPANSION;
                } else {
                    blocks.push(Block::Basic(BasicBlock::new(c, width, stride, residual, b, device)));
                    c = width;
                }
            }
        }
        Self { stem, pool, blocks, fc: LinearConfig::new(c, classes).init(device) }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = relu(self.stem.forward(x));
        if let Some(pool) = &self.pool {
            x = pool.forward(x);
        }
        for block in &self.blocks {
            x = block.forward(x);
        }
        layers::linear(&self.fc, global_avg_pool(x))
    }
}

/// VGG (Simonyan & Zisserman) with BN after every convolution; 'M' = 2x2 max-pool.
/// For 28/32-pixel inputs a pool is skipped once the map is 1x1, and the
/// classifier is global average pool + one linear layer (the usual CIFAR VGG).
#[derive(Module, Debug)]
pub struct Vgg {
    pub convs: Vec<ConvBn>,
    /// `pool_after[i]`: a max-pool follows conv i.
    pub pool_after: Vec<bool>,
    pub pool: MaxPool2d,
    pub fc: Linear,
}

pub fn vgg_plan(depth: usize) -> &'static [usize] {
    // 0 stands for a max-pool.
    match depth {
        11 => &[64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        _ => &[64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
    }
}

impl Vgg {
    pub fn new(cin: usize, size: usize, classes: usize, depth: usize, b: BuildCfg, device: &Device) -> Self {
        let (mut convs, mut pool_after) = (Vec::new(), Vec::new());
        let (mut c, mut s) = (cin, size);
        for &v in vgg_plan(depth) {
            if v == 0 {
                if s >= 2 {
                    *pool_after.last_mut().expect("a conv precedes every pool") = true;
                    s /= 2;
                }
            } else {
                convs.push(ConvBn::new(c, v, 3, 1, b, device));
                pool_after.push(false);
                c = v;
            }
        }
        let pool = MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init();
        Self { convs, pool_after, pool, fc: LinearConfig::new(c, classes).init(device) }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = x;
        for (conv, &pool) in self.convs.iter().zip(&self.pool_after) {
            x = relu(conv.forward(x));
            if pool {
                x = self.pool.forward(x);
            }
        }
        layers::linear(&self.fc, global_avg_pool(x))
    }
}

/// Two hidden ReLU layers (512, 256) on the flattened image.
#[derive(Module, Debug)]
pub struct Mlp {
    pub fc1: Linear,
    pub fc2: Linear,
    pub fc3: Linear,
}

impl Mlp {
    pub fn new(inputs: usize, classes: usize, device: &Device) -> Self {
        Self {
            fc1: LinearConfig::new(inputs, 512).init(device),
            fc2: LinearConfig::new(512, 256).init(device),
            fc3: LinearConfig::new(256, classes).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x: Tensor<2> = x.flatten(1, 3); // [b, c*h*w]
        let x = relu(layers::linear(&self.fc1, x));
        let x = relu(layers::linear(&self.fc2, x));
        layers::linear(&self.fc3, x)
    }
}

/// The small baseline conv net (the `mnist-cnn` of the TF.js/PyTorch reference harnesses): conv3x3 32,
/// ReLU, max-pool 2, conv3x3 64, ReLU, max-pool 2, dense 128, ReLU, dense 10.
/// Valid padding; 225,034 parameters on MNIST.
#[derive(Module, Debug)]
pub struct Cnn {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub pool: MaxPool2d,
    pub fc1: Linear,
    pub fc2: Linear,
}

impl Cnn {
    pub fn new(cin: usize, size: usize, classes: usize, device: &Device) -> Self {
        let s = ((size - 2) / 2 - 2) / 2; // 28 → 26 → 13 → 11 → 5
        Self {
            conv1: Conv2dConfig::new([cin, 32], [3, 3]).init(device),
            conv2: Conv2dConfig::new([32, 64], [3, 3]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            fc1: LinearConfig::new(64 * s * s, 128).init(device),
            fc2: LinearConfig::new(128, classes).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.pool.forward(relu(layers::conv2d(&self.conv1, x))); // [b, 32, 13, 13]
        let x = self.pool.forward(relu(layers::conv2d(&self.conv2, x))); // [b, 64, 5, 5]
        let x: Tensor<2> = x.flatten(1, 3); // [b, 1600]
        layers::linear(&self.fc2, relu(layers::linear(&self.fc1, x)))
    }
}
