//! The model zoo of the ResNet ablation study.
//!
//! Canonical ids (config, URL, CLI): `resnet{6n+2}` / `plain{6n+2}` (the
//! paper's CIFAR-10 nets, Sec. 4.2), `resnet{18,34,50,101,152}` and their plain
//! twins (ImageNet nets, Table 1), `vgg11`, `vgg16` (with BN), `mlp`, `cnn`.
//!
//! Every net takes `[batch, channels, height, width]` and returns logits
//! `[batch, 10]`. BatchNorm momentum/epsilon come from the config (Burn and
//! PyTorch: momentum is the weight of the new batch; Keras' 0.99 is 0.01 here).
//!
//! The zoo builds from a [`ModelSpec`] alone (no experiment config: the
//! config makes the spec, not the other way round). A trained net is saved
//! with its config by `crate::model_file`; [`response_std`] measures its
//! layer responses (the paper's Fig. 7).

mod blocks;
mod describe;
mod inside;
pub(crate) mod layers;
mod layout;
mod nets;
mod responses;
mod spec;

pub use blocks::{BasicBlock, Bottleneck, ConvBn};
pub use describe::{Description, Edge, Layer};
pub use inside::{FeatureMaps, Filters, feature_maps, first_filters};
pub use responses::{LayerStd, layer_names, response_std};
pub use nets::{CifarResNet, Cnn, ImageNetResNet, Mlp, Vgg};
pub use spec::{ModelSpec, Shortcut, Stem};

use burn::prelude::*;


/// Blocks per stage of the ImageNet nets (paper, Table 1).
const IMAGENET_DEPTHS: [(usize, [usize; 4], bool); 5] = [
    (18, [2, 2, 2, 2], false),
    (34, [3, 4, 6, 3], false),
    (50, [3, 4, 6, 3], true),
    (101, [3, 4, 23, 3], true),
    (152, [3, 8, 36, 3], true),
];

/// Deepest CIFAR net accepted: the paper's ResNet-1202 (n = 200).
pub const MAX_CIFAR_DEPTH: usize = 1202;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Family {
    /// 6n+2 layers: 3 stages of n two-layer blocks at 16/32/64 filters.
    Cifar { n: usize, residual: bool },
    /// ImageNet-style: 4 stages at 64/128/256/512 (x4 for bottlenecks).
    ImageNet { blocks: [usize; 4], bottleneck: bool, residual: bool },
    Vgg { depth: usize },
    Mlp,
    Cnn,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelId {
    pub id: String,
    pub family: Family,
}

/// The ids offered in the page's model list (any other 6n+2 depth works too).
pub const MODEL_IDS: [&str; 23] = [
    "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet1202", "plain20", "plain32", "plain44",
    "plain56", "plain110", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "plain18",
    "plain34", "plain50", "vgg11", "vgg16", "mlp", "cnn",
];

impl ModelId {
    pub fn parse(id: &str) -> Result<Self, String> {
        let family = match id {
            "mlp" => Family::Mlp,
            "cnn" => Family::Cnn,
            "vgg11" => Family::Vgg { depth: 11 },
            "vgg16" => Family::Vgg { depth: 16 },
            _ => {
                let (residual, digits) = if let Some(d) = id.strip_prefix("resnet") {
                    (true, d)
                } else if let Some(d) = id.strip_prefix("plain") {
                    (false, d)
                } else {
                    return Err(format!(
                        "unknown model '{id}' (try resnet20, plain56, resnet50, vgg16, mlp, cnn)"
                    ));
                };
                let depth: usize = digits
                    .parse()
                    .map_err(|_| format!("unknown model '{id}': expected a depth after '{}'", &id[..id.len() - digits.len()]))?;
                if let Some((_, blocks, bottleneck)) = IMAGENET_DEPTHS.iter().find(|d| d.0 == depth) {
                    Family::ImageNet { blocks: *blocks, bottleneck: *bottleneck, residual }
                } else if depth >= 8 && (depth - 2) % 6 == 0 {
                    if depth > MAX_CIFAR_DEPTH {
                        return Err(format!("depth {depth} is too deep (at most {MAX_CIFAR_DEPTH}, the paper's deepest)"));
                    }
                    Family::Cifar { n: (depth - 2) / 6, residual }
                } else {
                    return Err(format!(
                        "depth {depth} is not 6n+2 (CIFAR nets: 20, 32, 44, 56, 110, …) nor an ImageNet depth (18, 34, 50, 101, 152)"
                    ));
                }
            }
        };
        Ok(Self { id: id.to_string(), family })
    }

    /// The group the page's model list shows it under.
    pub fn list_group(&self) -> &'static str {
        match self.family {
            Family::Cifar { residual: true, .. } => "ResNets for CIFAR (paper §4.2)",
            Family::Cifar { residual: false, .. } => "Plain nets for CIFAR",
            Family::ImageNet { residual: true, .. } => "ResNets, ImageNet layout",
            Family::ImageNet { residual: false, .. } => "Plain nets, ImageNet layout",
            _ => "Baselines",
        }
    }

    /// The model list's text: the id, and what it is where the id does not say.
    pub fn list_label(&self) -> String {
        match self.family {
            Family::Mlp => format!("{} (multilayer perceptron)", self.id),
            Family::Cnn => format!("{} (small convnet)", self.id),
            Family::Vgg { depth } => format!("{} (VGG-{depth})", self.id),
            _ => self.id.clone(),
        }
    }

    pub fn is_residual(&self) -> bool {
        match self.family {
            Family::Cifar { residual, .. } | Family::ImageNet { residual, .. } => residual,
            _ => false,
        }
    }
}

/// Hyper-parameters every layer builder needs.
#[derive(Clone, Copy, Debug)]
pub struct BuildCfg {
    pub bn_momentum: f64,
    pub bn_epsilon: f64,
    pub shortcut: Shortcut,
}

/// Any net of the zoo.
#[derive(Module, Debug)]
pub enum Net {
    Cifar(CifarResNet),
    ImageNet(ImageNetResNet),
    Vgg(Vgg),
    Mlp(Mlp),
    Cnn(Cnn),
}

impl Net {
    /// Build the net a spec describes. Errors are the spec's model id problems.
    pub fn new(spec: &ModelSpec, device: &Device) -> Result<Self, String> {
        let id = ModelId::parse(&spec.model)?;
        let b = BuildCfg { bn_momentum: spec.bn_momentum, bn_epsilon: spec.bn_epsilon, shortcut: spec.shortcut };
        let (c, size, classes) = (spec.channels, spec.size, spec.classes);
        Ok(match id.family {
            Family::Cifar { n, residual } => Net::Cifar(CifarResNet::new(c, classes, n, residual, b, device)),
            Family::ImageNet { blocks, bottleneck, residual } => {
                let small = match spec.stem {
                    Stem::Auto => size <= 64,
                    Stem::Small => true,
                    Stem::Imagenet => false,
                };
                Net::ImageNet(ImageNetResNet::new(c, classes, blocks, bottleneck, residual, small, b, device))
            }
            Family::Vgg { depth } => Net::Vgg(Vgg::new(c, size, classes, depth, b, device)),
            Family::Mlp => Net::Mlp(Mlp::new(c * size * size, classes, device)),
            Family::Cnn => Net::Cnn(Cnn::new(c, size, classes, device)),
        })
    }

    /// `[batch, c, h, w]` → logits `[batch, classes]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Net::Cifar(m) => m.forward(x),
            Net::ImageNet(m) => m.forward(x),
            Net::Vgg(m) => m.forward(x),
            Net::Mlp(m) => m.forward(x),
            Net::Cnn(m) => m.forward(x),
        }
    }
}

impl Net {
    /// Creates every parameter now and waits until the device has run all
    /// that is queued. Burn creates parameters lazily, at their first use: on
    /// a fused GPU backend the initialisation ops were then queued in the
    /// middle of the first forward pass and fused with it, into kernels no
    /// later step uses, and the step's own kernels were compiled at step 2.
    /// Settled, the first step starts on an empty queue as every later one
    /// does, and compiles what they reuse.
    pub async fn settle(&self) -> Result<(), String> {
        use burn::module::{ModuleVisitor, Param};
        #[derive(Default)]
        struct Touch(Option<Tensor<1>>);
        impl ModuleVisitor for Touch {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let t = param.val(); // creates it
                let n = t.dims().iter().product::<usize>();
                self.0 = Some(t.inner().reshape([n]));
            }
        }
        let mut touched = Touch::default();
        self.visit(&mut touched);
        match touched.0 {
            // A read-back runs everything queued before it (BN statistics' initial values too).
            Some(last) => crate::backend::read_f32(last).await.map(|_| ()),
            None => Ok(()),
        }
    }
}

/// Trainable parameters (BN running statistics excluded).
pub fn trainable_params(net: &Net, model: &str, input: [usize; 3]) -> usize {
    describe::describe(model, net, input).params
}

/// Layers, shapes, parameter counts and shortcut edges of a spec's net.
pub fn describe(spec: &ModelSpec) -> Result<Description, String> {
    // Built on the plain CPU device: parameters are lazily initialised, so even
    // resnet152 is described without allocating its weights.
    let device = crate::backend::cpu_device();
    let net = Net::new(spec, &device)?;
    Ok(describe::describe(&spec.model, &net, spec.input()))
}
