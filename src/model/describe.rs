//! The description API: layers in order with output shapes and parameter
//! counts, and the graph's shortcut edges. The page draws the architecture
//! diagram from it; `reslab describe` prints it as a table.
//!
//! Shapes are computed from each layer's own settings (kernel, stride,
//! padding), so they follow the modules, not a second copy of the plan.

use burn::module::Module;
use serde::Serialize;

use super::blocks::{Block, ConvBn};
use super::Net;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Layer {
    /// e.g. `stage2.block1.conv1`
    pub name: String,
    /// conv, pool, fc, add, flatten …
    pub kind: String,
    /// Output shape without the batch axis: `[c, h, w]` or `[features]`.
    pub shape: Vec<usize>,
    pub params: usize,
    /// Stage index (1-based) for collapsing deep nets in the diagram; 0 = none.
    pub stage: usize,
}

/// A shortcut: from the output of layer `from` to the addition at layer `to`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    /// identity, zero-pad (option A) or projection (option B)
    pub kind: String,
    pub params: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Description {
    pub model: String,
    pub input: Vec<usize>,
    pub params: usize,
    pub layers: Vec<Layer>,
    pub edges: Vec<Edge>,
}

impl Description {
    /// The table `reslab describe` prints; its last line is `params: N`.
    pub fn table(&self) -> String {
        let mut out = format!("{:<32} {:<10} {:<16} {:>12}\n", "layer", "kind", "output", "params");
        out += &format!("{:<32} {:<10} {:<16} {:>12}\n", "input", "", fmt_shape(&self.input), 0);
        for l in &self.layers {
            out += &format!("{:<32} {:<10} {:<16} {:>12}\n", l.name, l.kind, fmt_shape(&l.shape), l.params);
        }
        for e in &self.edges {
            if e.params > 0 {
                out += &format!("{:<32} {:<10} {:<16} {:>12}\n", format!("shortcut → {}", self.layers[e.to].name), e.kind, "", e.params);
            }
        }
        out += &format!("shortcuts: {}\n", self.edges.len());
        out += &format!("params: {}", self.params);
        out
    }
}

fn fmt_shape(s: &[usize]) -> String {
    s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x")
}

struct Walker {
    layers: Vec<Layer>,
    edges: Vec<Edge>,
    shape: [usize; 3],
    stage: usize,
}

impl Walker {
    fn push(&mut self, name: String, kind: &str, shape: Vec<usize>, params: usize) -> usize {
        self.layers.push(Layer { name, kind: kind.into(), shape, params, stage: self.stage });
        self.layers.len() - 1
    }

    fn conv_shape(&self, cout: usize, k: usize, stride: usize, pad: usize) -> [usize; 3] {
        let o = |s: usize| super::layers::out_len(s, k, stride, pad);
        [cout, o(self.shape[1]), o(self.shape[2])]
    }

    fn conv_bn(&mut self, name: String, cb: &ConvBn) -> usize {
        let [cout, _, k, _] = cb.conv.weight.shape().dims::<4>();
        self.shape = self.conv_shape(cout, k, cb.stride(), k / 2);
        let kind = format!("conv{k}x{k}");
        self.push(name, &kind, self.shape.to_vec(), conv_bn_params(cb))
    }

    fn pool(&mut self, name: String, k: usize, stride: usize, pad: usize) {
        self.shape = self.conv_shape(self.shape[0], k, stride, pad);
        self.push(name, "maxpool", self.shape.to_vec(), 0);
    }

    fn block(&mut self, name: &str, block: &Block) {
        let input = self.layers.len().checked_sub(1);
        for (i, cb) in block.layers().into_iter().enumerate() {
            self.conv_bn(format!("{name}.conv{}", i + 1), cb);
        }
        let (residual, projection) = block.shortcut();
        if residual {
            let add = self.push(format!("{name}.add"), "add", self.shape.to_vec(), 0);
            let (kind, params) = projection.map_or(("identity", 0), |p| (p.kind(), p.conv.as_ref().map_or(0, conv_bn_params)));
            self.edges.push(Edge { from: input.unwrap_or(0), to: add, kind: kind.into(), params });
        }
    }

    fn blocks(&mut self, blocks: &[Block], stage_starts: impl Fn(usize) -> bool) {
        let (mut stage, mut idx) = (0, 0);
        for (i, b) in blocks.iter().enumerate() {
            if i == 0 || stage_starts(i) {
                stage += 1;
                idx = 0;
            }
            idx += 1;
            self.stage = stage;
            self.block(&format!("stage{stage}.block{idx}"), b);
        }
        self.stage = 0;
    }

    fn gap_fc(&mut self, fc_params: usize, classes: usize) {
        self.push("avgpool".into(), "avgpool", vec![self.shape[0]], 0);
        self.push("fc".into(), "fc", vec![classes], fc_params);
    }
}

/// Trainable parameters of conv + BN: Burn's `num_params` also counts the BN
/// running mean and variance, which the paper's (and everyone's) counts leave out.
fn conv_bn_params(cb: &ConvBn) -> usize {
    cb.conv.num_params() + cb.bn.gamma.num_params() + cb.bn.beta.num_params()
}

pub(super) fn block_stride(b: &Block) -> usize {
    b.layers().iter().map(|c| c.stride()).max().unwrap_or(1)
}

pub fn describe(model: &str, net: &Net, input: [usize; 3]) -> Description {
    let mut w = Walker { layers: vec![], edges: vec![], shape: input, stage: 0 };
    match net {
        Net::Cifar(m) => {
            w.conv_bn("conv1".into(), &m.stem);
            w.blocks(&m.blocks, |i| block_stride(&m.blocks[i]) > 1);
            w.gap_fc(m.fc.num_params(), m.fc.weight.shape().dims::<2>()[1]);
        }
        Net::ImageNet(m) => {
            w.conv_bn("conv1".into(), &m.stem);
            if m.pool.is_some() {
                w.pool("pool1".into(), 3, 2, 1);
            }
            w.blocks(&m.blocks, |i| block_stride(&m.blocks[i]) > 1);
            w.gap_fc(m.fc.num_params(), m.fc.weight.shape().dims::<2>()[1]);
        }
        Net::Vgg(m) => {
            for (i, (cb, &pool)) in m.convs.iter().zip(&m.pool_after).enumerate() {
                w.conv_bn(format!("conv{}", i + 1), cb);
                if pool {
                    w.pool(format!("pool{}", i + 1), 2, 2, 0);
                }
            }
            w.gap_fc(m.fc.num_params(), m.fc.weight.shape().dims::<2>()[1]);
        }
        Net::Mlp(m) => {
            let flat = input.iter().product();
            w.push("flatten".into(), "flatten", vec![flat], 0);
            for (name, fc) in [("fc1", &m.fc1), ("fc2", &m.fc2), ("fc3", &m.fc3)] {
                let out = fc.weight.shape().dims::<2>()[1];
                w.push(name.into(), "fc", vec![out], fc.num_params());
            }
        }
        Net::Cnn(m) => {
            for (name, conv) in [("conv1", &m.conv1), ("conv2", &m.conv2)] {
                let cout = conv.weight.shape().dims::<4>()[0];
                w.shape = w.conv_shape(cout, 3, 1, 0);
                w.push(name.into(), "conv3x3", w.shape.to_vec(), conv.num_params());
                w.pool(format!("pool{}", &name[4..]), 2, 2, 0);
            }
            let flat = w.shape.iter().product();
            w.push("flatten".into(), "flatten", vec![flat], 0);
            for (name, fc) in [("fc1", &m.fc1), ("fc2", &m.fc2)] {
                let out = fc.weight.shape().dims::<2>()[1];
                w.push(name.into(), "fc", vec![out], fc.num_params());
            }
        }
    }
    let params = w.layers.iter().map(|l| l.params).sum::<usize>() + w.edges.iter().map(|e| e.params).sum::<usize>();
    Description { model: model.into(), input: input.to_vec(), params, layers: w.layers, edges: w.edges }
}
