//! Parameters laid out in GPU memory as their gradients will be.
//!
//! On a GPU with Burn's own kernels (the hardware path), the optimizer's
//! update of a parameter is one fused kernel reading the parameter, its
//! gradient and its state. How that kernel reads them (as `vec4` rows in one
//! shared order, or element by element through strides) is compiled into it.
//! A parameter as created is a host upload whose rows CubeCL pads to an
//! aligned pitch, while its gradient comes in the layout of the op that made
//! it (a convolution's weight gradient channels-last). The first update then
//! ran other kernels than every later one, which read tensors the update
//! itself wrote; a GPU compiled the update twice, the second time at step 2.
//!
//! Laid out like their gradients before the first step, with the optimizer's
//! zero state made from them (`optim::build`), the first update is the steady
//! one. Values are unchanged: only where they sit in memory moves. On the CPU
//! and on a software adapter, where ResLab's kernels run, nothing is done.

use burn::module::{Module, ModuleMapper, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::prelude::*;

use super::Net;
use super::layers::out_len;
use super::blocks::{Block, ConvBn, Projection};

impl Net {
    /// This net with every parameter laid out as its gradient will come
    /// (the module docs), for inputs of `input` (`[c, h, w]`, square); on
    /// the CPU or a software adapter, unchanged.
    pub fn lay_out_like_gradients(mut self, device: &Device, input: [usize; 3]) -> Self {
        if reslab_kernels::applies(device) {
            return self;
        }
        for (conv, size) in self.convs_mut(input[1]) {
            let geometry = reslab_kernels::ConvGeometry {
                input: size,
                kernel: conv.kernel_size[0],
                stride: conv.stride[0],
                padding: padding(&conv.padding),
                out_channels: conv.weight.shape().dims::<4>()[0],
            };
            if let Some(order) = reslab_kernels::conv_weight_grad_order(device, geometry) {
                conv.weight = conv.weight.clone().map(|w| relaid(w, order));
            }
        }
        // Everything else (dense layers' weights, biases, BN's scales and
        // shifts) gets its gradient dense in logical order.
        self.map(&mut Dense)
    }

    /// Every convolution of the net, with the size of its input maps for
    /// inputs of size `h`.
    fn convs_mut(&mut self, h: usize) -> Vec<(&mut Conv2d, usize)> {
        match self {
            Net::Cifar(m) => resnet_convs(&mut m.stem, h, None, &mut m.blocks),
            Net::ImageNet(m) => resnet_convs(&mut m.stem, h, m.pool.as_ref(), &mut m.blocks),
            // Stride 1 throughout: the input size does not matter.
            Net::Vgg(m) => m.convs.iter_mut().map(|c| (&mut c.conv, h)).collect(),
            Net::Cnn(m) => vec![(&mut m.conv1, h), (&mut m.conv2, h)],
            Net::Mlp(_) => Vec::new(),
        }
    }
}

impl Block {
    /// The block's convolutions with their input sizes, and its output size.
    fn convs_mut(&mut self, h: usize) -> (Vec<(&mut Conv2d, usize)>, usize) {
        let (layers, shortcut) = match self {
            Block::Basic(b) => (vec![&mut b.conv1, &mut b.conv2], &mut b.shortcut),
            Block::Bottleneck(b) => (vec![&mut b.conv1, &mut b.conv2, &mut b.conv3], &mut b.shortcut),
        };
        let mut convs = Vec::new();
        let mut size = h;
        for layer in layers {
            let next = out_size(size, &layer.conv);
            convs.push((&mut layer.conv, size));
            size = next;
        }
        if let Some(Projection { conv: Some(p), .. }) = shortcut {
            convs.push((&mut p.conv, h));
        }
        (convs, size)
    }
}

/// A ResNet's convolutions (stem, then blocks) with their input sizes.
fn resnet_convs<'a>(stem: &'a mut ConvBn, h: usize, pool: Option<&MaxPool2d>, blocks: &'a mut [Block]) -> Vec<(&'a mut Conv2d, usize)> {
    let mut next = out_size(h, &stem.conv);
    if let Some(p) = pool {
        next = out_len(next, p.kernel_size[0], p.stride[0], padding(&p.padding));
    }
    let mut convs = vec![(&mut stem.conv, h)];
    let mut h = next;
    for block in blocks.iter_mut() {
        let (mut c, out) = block.convs_mut(h);
        convs.append(&mut c);
        h = out;
    }
    convs
}

/// A convolution's output size for inputs of size `h`.
fn out_size(h: usize, conv: &Conv2d) -> usize {
    out_len(h, conv.kernel_size[0], conv.stride[0], padding(&conv.padding))
}

/// The (symmetric) padding of a layer of the zoo.
fn padding(p: &PaddingConfig2d) -> usize {
    match p {
        PaddingConfig2d::Explicit(top, ..) => *top,
        _ => 0,
    }
}

/// Re-lays the parameters of more than one dimension, except convolution
/// weights (4-D, done above), dense in logical order.
struct Dense;

impl ModuleMapper for Dense {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if D == 1 || D == 4 {
            return param;
        }
        param.map(|t| relaid(t, std::array::from_fn(|i| i)))
    }
}

/// `t` with the same values, in a dense buffer holding its dimensions in
/// `order` (outermost first). Untracked by autodiff: a parameter's new value.
pub(crate) fn relaid<const D: usize>(t: Tensor<D>, order: [usize; D]) -> Tensor<D> {
    let require_grad = t.is_require_grad();
    let shape = t.dims();
    let n: usize = shape.iter().product();
    let stored: [usize; D] = std::array::from_fn(|i| shape[order[i]]);
    let mut back = [0isize; D];
    for (i, &o) in order.iter().enumerate() {
        back[o] = i as isize;
    }
    // Flattening the permuted view writes it out in `order`; the product by
    // one makes it a kernel's own dense output whatever the input's layout.
    let flat: Tensor<1> = t.inner().permute(order.map(|a| a as isize)).reshape([n]).mul_scalar(1.0);
    let laid = flat.reshape(stored).permute(back);
    Tensor::from_inner(laid).set_require_grad(require_grad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The values stay where they were, for every order of a shape whose
    /// dimensions all differ (a wrong inverse permutation would move them).
    #[test]
    fn relaid_keeps_every_value_in_place() {
        let device = Device::flex();
        let mut rng = Rng::new(7);
        let values: Vec<f32> = (0..2 * 3 * 4 * 5).map(|_| rng.next_f32()).collect();
        let t = Tensor::<4>::from_data(TensorData::new(values.clone(), [2, 3, 4, 5]), &device);
        for order in [[1, 2, 3, 0], [0, 2, 3, 1], [3, 2, 1, 0], [0, 1, 2, 3]] {
            let got = relaid(t.clone(), order).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
            assert_eq!(got, values, "order {order:?}");
        }
        let m = Tensor::<2>::from_data(TensorData::new(values[..12].to_vec(), [3, 4]), &device);
        assert_eq!(relaid(m, [1, 0]).into_data().convert::<f32>().try_to_vec::<f32>().unwrap(), values[..12]);
    }

    /// A parameter that requires a gradient still does, and gets one.
    #[test]
    fn relaid_parameters_still_train() {
        let device = Device::flex().autodiff();
        let w = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]), &device).require_grad();
        let w = relaid(w, [1, 0]);
        assert!(w.is_require_grad());
        let grads = (w.clone() * w.clone()).sum().backward();
        let g = w.grad(&grads).expect("a gradient").into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        assert_eq!(g, vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
    }
}
