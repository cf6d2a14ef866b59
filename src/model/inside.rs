//! Looking inside a trained net, for the page's "Use the net" panel and the
//! CLI's `predict --maps`: what each convolution stage makes of one input
//! (its feature maps) and the first layer's filters, as 8-bit images.
//!
//! Stages (the grids the page draws, one per stage):
//! - ResNets and plain nets: the stem ("conv1", after its ReLU) and the
//!   output of each stage (after the last block's ReLU): 3 stages on the
//!   CIFAR nets, 4 on the ImageNet layout;
//! - VGG: each group of convolutions up to its max-pool (after the ReLU);
//! - the small CNN: its two convolutions (after the ReLU, before the pool);
//! - the MLP has no convolutions: no feature maps, and its "filters" are the
//!   input weights of its first hidden units, drawn as images.
//!
//! Scaling: a feature map is post-ReLU (≥ 0) and is scaled per channel by
//! its own maximum, so a weak channel is still visible (an all-zero channel
//! stays black: the ReLU killed it for this input). A filter is scaled per
//! filter around grey: 128 is 0, white the filter's largest |weight| positive,
//! black negative, so its sign pattern shows.

use burn::prelude::*;
use super::layers::{self, relu};
use serde::Serialize;

use super::blocks::Block;
use super::describe::block_stride;
use super::{CifarResNet, Cnn, ImageNetResNet, Mlp, Net, Vgg};
use crate::backend::read_f32;

/// The MLP's first-layer units shown as filters (it has 512).
const MLP_UNITS_SHOWN: usize = 64;

/// One stage's feature maps for one input.
#[derive(Clone, Debug, Serialize)]
pub struct FeatureMaps {
    /// "conv1", "stage1", … (`describe`'s names for the stem and stages).
    pub name: String,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// `channels·height·width` bytes, channel-major, each channel scaled to 0..=255.
    #[serde(skip)]
    pub pixels: Vec<u8>,
}

/// The first layer's filters as images.
#[derive(Clone, Debug, Serialize)]
pub struct Filters {
    /// The layer: "conv1", or "fc1" for the MLP.
    pub name: String,
    /// Filters shown (all of a convolution's; the MLP's first units).
    pub count: usize,
    /// Of how many the layer has.
    pub total: usize,
    /// Channels per filter (1: grey, 3: RGB).
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// `count·channels·height·width` bytes, 128 = 0 (see the module comment).
    #[serde(skip)]
    pub pixels: Vec<u8>,
}

/// The feature maps of every convolution stage of `net` for one input `x`
/// (`[1, c, h, w]`, preprocessed as in training, on the plain device); none
/// for the MLP.
pub async fn feature_maps(net: &Net, x: Tensor<4>) -> Result<Vec<FeatureMaps>, String> {
    if x.dims()[0] != 1 {
        return Err(format!("feature maps are shown for one input, not {}", x.dims()[0]));
    }
    let mut taps: Vec<(String, Tensor<4>)> = Vec::new();
    match net {
        Net::Cifar(CifarResNet { stem, blocks, .. }) => {
            let s = relu(stem.forward(x));
            taps.push(("conv1".into(), s.clone()));
            stages(blocks, s, &mut taps);
        }
        Net::ImageNet(ImageNetResNet { stem, pool, blocks, .. }) => {
            let s = relu(stem.forward(x));
            taps.push(("conv1".into(), s.clone()));
            let s = match pool {
                Some(p) => p.forward(s),
                None => s,
            };
            stages(blocks, s, &mut taps);
        }
        Net::Vgg(Vgg { convs, pool_after, pool, .. }) => {
            let (mut x, mut group) = (x, 1);
            for (i, (conv, &p)) in convs.iter().zip(pool_after).enumerate() {
                x = relu(conv.forward(x));
                if p || i + 1 == convs.len() {
                    taps.push((format!("block{group}"), x.clone()));
                    group += 1;
                }
                if p {
                    x = pool.forward(x);
                }
            }
        }
        Net::Cnn(Cnn { conv1, conv2, pool, .. }) => {
            let a = relu(layers::conv2d(conv1, x)); // [1, 32, 26, 26] on MNIST
            taps.push(("conv1".into(), a.clone()));
            let b = relu(layers::conv2d(conv2, pool.forward(a))); // [1, 64, 11, 11]
            taps.push(("conv2".into(), b));
        }
        // No convolutions: no feature maps (its first layer's units are its filters).
        Net::Mlp(_) => return Ok(vec![]),
    }
    let mut out = Vec::with_capacity(taps.len());
    for (name, t) in taps {
        let [_, c, h, w] = t.dims();
        let values = read_f32(t.reshape([c * h * w])).await?;
        let mut pixels = Vec::with_capacity(values.len());
        for ch in values.chunks(h * w) {
            let max = ch.iter().cloned().fold(0.0f32, f32::max);
            let k = if max > 0.0 && max.is_finite() { 255.0 / max } else { 0.0 };
            pixels.extend(ch.iter().map(|v| (v.max(0.0) * k).round().min(255.0) as u8));
        }
        out.push(FeatureMaps { name, channels: c, height: h, width: w, pixels });
    }
    Ok(out)
}

/// Taps the output of each stage: a stage ends before a block that
/// downsamples (as `describe` and Fig. 7 count stages) and at the end.
fn stages(blocks: &[Block], mut x: Tensor<4>, taps: &mut Vec<(String, Tensor<4>)>) {
    let mut stage = 1;
    for (i, b) in blocks.iter().enumerate() {
        if i > 0 && block_stride(b) > 1 {
            taps.push((format!("stage{stage}"), x.clone()));
            stage += 1;
        }
        x = b.forward(x);
    }
    taps.push((format!("stage{stage}"), x));
}

/// The first layer's filters of `net` (see the module comment for the MLP).
pub async fn first_filters(net: &Net) -> Result<Filters, String> {
    let conv = match net {
        Net::Cifar(m) => &m.stem.conv,
        Net::ImageNet(m) => &m.stem.conv,
        Net::Vgg(m) => &m.convs[0].conv,
        Net::Cnn(m) => &m.conv1,
        Net::Mlp(Mlp { fc1, .. }) => {
            // Linear weight: [inputs, units]; unit u's weights are column u.
            let [inputs, units] = fc1.weight.shape().dims::<2>();
            let count = units.min(MLP_UNITS_SHOWN);
            let w = read_f32(fc1.weight.val().slice([0..inputs, 0..count]).swap_dims(0, 1).reshape([count * inputs])).await?;
            // The MLP's inputs are a flattened c·h·w image; h = w.
            let (channels, side) = [1usize, 3].iter().find_map(|&c| {
                let s = ((inputs / c) as f64).sqrt().round() as usize;
                (c * s * s == inputs).then_some((c, s))
            }).ok_or_else(|| format!("the MLP's {inputs} inputs are not a square picture"))?;
            return Ok(Filters { name: "fc1".into(), count, total: units, channels, height: side, width: side, pixels: centred(&w, inputs) });
        }
    };
    let [out, cin, kh, kw] = conv.weight.shape().dims::<4>();
    let w = read_f32(conv.weight.val().reshape([out * cin * kh * kw])).await?;
    Ok(Filters { name: "conv1".into(), count: out, total: out, channels: cin, height: kh, width: kw, pixels: centred(&w, cin * kh * kw) })
}

/// Each `per` values scaled around 128 by their largest magnitude.
fn centred(values: &[f32], per: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len());
    for f in values.chunks(per) {
        let max = f.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let k = if max > 0.0 && max.is_finite() { 127.0 / max } else { 0.0 };
        out.extend(f.iter().map(|v| (128.0 + v * k).round().clamp(0.0, 255.0) as u8));
    }
    out
}
