//! What a net is, apart from its weights: the model id, the input it takes,
//! the classes it predicts and the few architecture switches. The model zoo
//! builds from this alone, so it does not depend on the experiment config
//! (the config produces a `ModelSpec`; see `ExperimentConfig::model_spec`).

use serde::{Deserialize, Serialize};

/// Shortcut connections of the residual nets (paper, Sec. 3.3 and Table 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shortcut {
    /// Identity; zero-padded extra channels and strided subsampling where the
    /// shape changes. No extra parameters. The paper's default for CIFAR-10.
    A,
    /// Identity where shapes match, 1x1 convolution + BN projection where they
    /// change. The paper's choice for the ImageNet nets.
    B,
}

impl Shortcut {
    pub const ALL: [Shortcut; 2] = [Shortcut::A, Shortcut::B];

    pub fn label(self) -> &'static str {
        match self {
            Shortcut::A => "A: identity + zero-pad",
            Shortcut::B => "B: 1×1 projection",
        }
    }
}

/// First layers of the ImageNet-style nets (resnet18…152, plain18…50).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stem {
    /// `imagenet` for images larger than 64 pixels, `small` otherwise.
    Auto,
    /// The paper's: 7x7 stride-2 convolution and 3x3 stride-2 max-pool.
    Imagenet,
    /// 3x3 stride-1 convolution, no pool: keeps 28/32-pixel maps usable.
    Small,
}

impl Stem {
    pub const ALL: [Stem; 3] = [Stem::Auto, Stem::Imagenet, Stem::Small];

    pub fn label(self) -> &'static str {
        match self {
            Stem::Auto => "Auto (by model and image size)",
            Stem::Imagenet => "ImageNet (7×7 conv + max-pool)",
            Stem::Small => "Small images (3×3 conv)",
        }
    }
}

/// Everything [`super::Net::new`] needs.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    /// Canonical model id: resnet20, plain56, resnet50, vgg16, mlp, cnn, …
    pub model: String,
    /// Input `[channels, height = width]`.
    pub channels: usize,
    pub size: usize,
    pub classes: usize,
    pub shortcut: Shortcut,
    pub stem: Stem,
    /// Weight of the new batch in BN's running statistics (Burn/PyTorch convention).
    pub bn_momentum: f64,
    pub bn_epsilon: f64,
}

impl ModelSpec {
    /// `[channels, height, width]` of one input image.
    pub fn input(&self) -> [usize; 3] {
        [self.channels, self.size, self.size]
    }
}
