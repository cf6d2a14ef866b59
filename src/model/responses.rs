//! Layer responses, the paper's Fig. 7: the standard deviation of each 3x3
//! layer's response, "the outputs of each 3x3 layer, after BN and before other
//! nonlinearity (ReLU/addition)", in evaluation mode.
//!
//! Convention: for each layer, the std of its response per channel, over the
//! images and the spatial positions (population std, i.e. divided by N), then
//! averaged over the channels. The paper plots one number per layer and does
//! not say how channels are combined; averaging per-channel stds is the
//! reading that makes the number independent of the layer's width.
//!
//! Layers: the stem convolution (3x3 on the CIFAR nets and the small stem,
//! the paper's 7x7 on the ImageNet stem) and the 3x3 convolutions of every
//! block: both of a basic block, the middle one of a bottleneck (its 1x1
//! convolutions are left out, as in the paper). For VGG, every convolution
//! (all are 3x3). The MLP and the small CNN have no such layers.
//!
//! This is a separate forward pass that mirrors the nets' own `forward`s and
//! taps the responses on the way, so the training path pays nothing for it.

use burn::prelude::*;
use burn::tensor::TensorData;
use super::layers::relu;
use serde::Serialize;

use super::blocks::{Block, merge};
use super::{CifarResNet, ImageNetResNet, Net, Vgg};
use crate::data::{self, ImageSet};

/// One layer of Fig. 7.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerStd {
    /// The layer's name in `describe`: "conv1" (the stem), "stage1.block2.conv1", …
    pub name: String,
    /// Position among the 3x3 layers, from 0 (the x axis of Fig. 7).
    pub index: usize,
    /// Mean over channels of the per-channel std (see the module comment).
    pub std: f64,
}

/// Images per forward pass: bounds the memory the taps hold at once.
const CHUNK: usize = 100;

/// Fig. 7 for `net` on the first `n` images of `images`, preprocessed as in
/// training evaluation (`mean`: the training split's per-pixel mean, or empty).
/// `device` is the plain (non-autodiff) device the net lives on.
pub async fn response_std(net: &Net, images: &ImageSet, mean: &[f32], n: usize, device: &Device) -> Result<Vec<LayerStd>, String> {
    let names = layer_names(net)?;
    let n = n.min(images.len());
    if n == 0 {
        return Err("layer responses need at least one image".into());
    }
    let model = net.valid();
    let plain = device.clone().inner();
    // Per layer: per-channel sums of x and x² over everything seen, and the count.
    let mut sums: Vec<Option<(Tensor<1>, Tensor<1>, usize)>> = vec![None; names.len()];
    let order: Vec<usize> = (0..n).collect();
    for idx in order.chunks(CHUNK) {
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        data::fill_batch(images, idx, mean, None, &mut pixels, &mut labels);
        let shape = [idx.len(), images.channels, images.height, images.width];
        let x = Tensor::<4>::from_data(TensorData::new(pixels, shape), &plain);
        let mut layer = 0;
        trace(&model, x, &mut |r: Tensor<4>| {
            let [b, c, h, w] = r.dims();
            let flat: Tensor<2> = r.swap_dims(0, 1).reshape([c, b * h * w]); // [c, b·h·w]
            let s = flat.clone().sum_dim(1).reshape([c]);
            let s2 = (flat.clone() * flat).sum_dim(1).reshape([c]);
            let slot = &mut sums[layer];
            *slot = Some(match slot.take() {
                Some((a, a2, k)) => (a + s, a2 + s2, k + b * h * w),
                None => (s, s2, b * h * w),
            });
            layer += 1;
        });
        if layer != names.len() {
            return Err(format!("internal: {layer} responses traced for {} layers", names.len()));
        }
    }
    let stds: Vec<Tensor<1>> = sums
        .into_iter()
        .map(|slot| {
            let (s, s2, k) = slot.expect("every layer traced");
            let m = s.div_scalar(k as f64);
            let var = s2.div_scalar(k as f64) - m.clone() * m; // E[x²] − E[x]², per channel
            var.clamp_min(0.0).sqrt().mean() // [1]
        })
        .collect();
    let data = Tensor::cat(stds, 0).into_data_async().await.map_err(|e| format!("device read-back failed: {e:?}"))?;
    let values = data.convert::<f32>().try_into_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    Ok(names.into_iter().zip(values).enumerate().map(|(index, (name, std))| LayerStd { name, index, std: std as f64 }).collect())
}

/// Names of the traced layers, in order, as `describe` names them.
pub fn layer_names(net: &Net) -> Result<Vec<String>, String> {
    let blocks = |blocks: &[Block]| {
        let mut names = vec!["conv1".to_string()];
        let (mut stage, mut idx) = (0, 0);
        for (i, b) in blocks.iter().enumerate() {
            if i == 0 || super::describe::block_stride(b) > 1 {
                stage += 1;
                idx = 0;
            }
            idx += 1;
            match b {
                Block::Basic(_) => {
                    names.push(format!("stage{stage}.block{idx}.conv1"));
                    names.push(format!("stage{stage}.block{idx}.conv2"));
                }
                Block::Bottleneck(_) => names.push(format!("stage{stage}.block{idx}.conv2")),
            }
        }
        names
    };
    match net {
        Net::Cifar(m) => Ok(blocks(&m.blocks)),
        Net::ImageNet(m) => Ok(blocks(&m.blocks)),
        Net::Vgg(m) => Ok((1..=m.convs.len()).map(|i| format!("conv{i}")).collect()),
        Net::Mlp(_) | Net::Cnn(_) => Err("layer responses (Fig. 7) are defined for the ResNet/plain nets and VGG".into()),
    }
}

/// The forward pass of `net` (logits dropped), calling `tap` with each traced
/// response in order. Mirrors `CifarResNet::forward` and the others.
fn trace(net: &Net, x: Tensor<4>, tap: &mut dyn FnMut(Tensor<4>)) {
    match net {
        Net::Cifar(CifarResNet { stem, blocks, .. }) => {
            let s = stem.forward(x);
            tap(s.clone());
            trace_blocks(blocks, relu(s), tap);
        }
        Net::ImageNet(ImageNetResNet { stem, pool, blocks, .. }) => {
            let s = stem.forward(x);
            tap(s.clone());
            let mut x = relu(s);
            if let Some(pool) = pool {
                x = pool.forward(x);
            }
            trace_blocks(blocks, x, tap);
        }
        Net::Vgg(Vgg { convs, pool_after, pool, .. }) => {
            let mut x = x;
            for (conv, &p) in convs.iter().zip(pool_after) {
                let r = conv.forward(x);
                tap(r.clone());
                x = relu(r);
                if p {
                    x = pool.forward(x);
                }
            }
        }
        Net::Mlp(_) | Net::Cnn(_) => {}
    }
}

fn trace_blocks(blocks: &[Block], mut x: Tensor<4>, tap: &mut dyn FnMut(Tensor<4>)) {
    for block in blocks {
        x = match block {
            Block::Basic(b) => {
                let r1 = b.conv1.forward(x.clone());
                tap(r1.clone());
                let r2 = b.conv2.forward(relu(r1));
                tap(r2.clone());
                merge(r2, x, b.residual, b.shortcut.as_ref())
            }
            Block::Bottleneck(b) => {
                let out = relu(b.conv1.forward(x.clone()));
                let r = b.conv2.forward(out);
                tap(r.clone());
                let out = b.conv3.forward(relu(r));
                merge(out, x, b.residual, b.shortcut.as_ref())
            }
        };
    }
}
