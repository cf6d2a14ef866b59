//! One experiment, as one flat serde type.
//!
//! The same JSON is used by the page (its controls and its URL), by the CLI
//! (`--config FILE.json` and flags) and is embedded in every result file, so a
//! run can always be reproduced from its result. Flat on purpose: every field
//! maps to one control and one URL parameter.

use serde::{Deserialize, Serialize};

use crate::data::images::{self, ImportOptions};
use crate::data::DatasetKind;
pub use crate::data::ImageFit;
pub use crate::model::{ModelId, ModelSpec, Shortcut, Stem};
use crate::model::Net;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Sgd,
    Momentum,
    Nesterov,
    Adam,
    Adamw,
    Adagrad,
    Rmsprop,
}

impl OptimizerKind {
    pub const ALL: [OptimizerKind; 7] = [
        OptimizerKind::Sgd,
        OptimizerKind::Momentum,
        OptimizerKind::Nesterov,
        OptimizerKind::Adam,
        OptimizerKind::Adamw,
        OptimizerKind::Adagrad,
        OptimizerKind::Rmsprop,
    ];
    pub fn id(&self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Momentum => "momentum",
            OptimizerKind::Nesterov => "nesterov",
            OptimizerKind::Adam => "adam",
            OptimizerKind::Adamw => "adamw",
            OptimizerKind::Adagrad => "adagrad",
            OptimizerKind::Rmsprop => "rmsprop",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.id() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "SGD",
            OptimizerKind::Momentum => "SGD with momentum",
            OptimizerKind::Nesterov => "SGD with Nesterov momentum",
            OptimizerKind::Adam => "Adam",
            OptimizerKind::Adamw => "AdamW",
            OptimizerKind::Adagrad => "Adagrad",
            OptimizerKind::Rmsprop => "RMSprop",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Constant,
    /// Multiply by `gamma` at each of `milestones` (steps). Paper: ÷10 at 32k and 48k.
    Multistep,
    /// Cosine decay from `lr` to 0 over the run.
    Cosine,
}

impl Schedule {
    pub const ALL: [Schedule; 3] = [Schedule::Constant, Schedule::Multistep, Schedule::Cosine];

    pub fn label(self) -> &'static str {
        match self {
            Schedule::Constant => "Constant",
            Schedule::Multistep => "Step decay",
            Schedule::Cosine => "Cosine",
        }
    }
}

/// Everything that defines a run. Defaults: a quick MNIST `cnn` with Adam.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentConfig {
    /// What the net reads: mnist, fashion-mnist, cifar10, cifar100, cifar100-coarse, or images (your own pictures in class folders). Sets the input shape.
    pub dataset: DatasetKind,
    /// Side of the square input your pictures are resized to (dataset images): 32, 64, 96, 128 or 224 pixels.
    pub image_size: usize,
    /// How a picture that is not square becomes square (dataset images): crop (its centre square) or pad (the whole picture on a black border).
    pub image_fit: ImageFit,
    /// Share of each class held out as test pictures when your pictures have no test/ folder (dataset images).
    pub test_fraction: f64,
    /// Classes of your pictures (dataset images): set from their class folders when they are imported. `None` for the standard sets, whose class count is fixed.
    pub classes: Option<usize>,
    /// Canonical model id: resnet20, plain56, resnet50, vgg16, mlp, cnn, …
    pub model: String,
    /// Shortcut where the shape changes (paper §3.3): a = identity + zero-pad, b = 1×1 projection.
    pub shortcut: Shortcut,
    /// First layers of the ImageNet-style nets: auto (by image size), imagenet (7×7 conv + pool) or small (3×3 conv).
    pub stem: Stem,
    /// Weight of the NEW batch in the running statistics (Burn/PyTorch
    /// convention). Keras' `momentum=0.99` is 0.01 here.
    pub bn_momentum: f64,
    /// Added to BN's variance before the square root (PyTorch 1e-5, Keras 1e-3).
    pub bn_epsilon: f64,
    /// sgd, momentum, nesterov, adam, adamw, adagrad or rmsprop.
    pub optimizer: OptimizerKind,
    /// Learning rate (after warm-up, before the schedule's decay). Paper: 0.1.
    pub lr: f64,
    /// Momentum of sgd `momentum`/`nesterov` (ignored by the others).
    pub momentum: f64,
    /// L2 penalty (decoupled for AdamW). Paper: 1e-4.
    pub weight_decay: f64,
    /// Adam/AdamW's decay of the first moment.
    pub beta1: f64,
    /// Adam/AdamW's decay of the second moment.
    pub beta2: f64,
    /// Numerical epsilon of Adam/AdamW/Adagrad/RMSprop.
    pub epsilon: f64,
    /// Learning-rate schedule: constant, multistep (÷ at milestones) or cosine.
    pub schedule: Schedule,
    /// Steps at which `multistep` multiplies the rate by `gamma`.
    pub milestones: Vec<usize>,
    /// Factor of multistep at each milestone. Paper: 0.1.
    pub gamma: f64,
    /// Steps of warm-up at the start (paper: ResNet-110 starts at 0.01).
    pub warmup_steps: usize,
    /// Learning rate the warm-up starts from.
    pub warmup_lr: f64,
    /// Images per step. Paper: 128.
    pub batch_size: usize,
    /// Passes over the training split (unless max_steps is set).
    pub epochs: usize,
    /// Budget in iterations; overrides `epochs` when set.
    pub max_steps: Option<usize>,
    /// Training images held out for validation (paper: 5k of CIFAR-10's 50k).
    pub val_size: usize,
    /// Pad-4 random crop + horizontal flip. `None`: on for CIFAR-10/100 and your pictures, off for MNIST.
    pub augment: Option<bool>,
    /// Subtract the per-pixel mean of the training split (paper).
    pub mean_subtraction: bool,
    /// Early stopping: epochs without a better validation loss.
    pub patience: Option<usize>,
    /// Fixes the initialisation, the validation split, the batches and the augmentation.
    pub seed: u64,
    /// Use only the first N training images (quick runs, tests).
    pub train_limit: Option<usize>,
    /// Use only the first N test images.
    pub test_limit: Option<usize>,
    /// Steps between loss read-backs (each read-back waits for the device).
    pub log_every: usize,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetKind::Mnist,
            image_size: images::DEFAULT_SIZE,
            image_fit: ImageFit::Crop,
            test_fraction: 0.2,
            classes: None,
            model: "cnn".into(),
            shortcut: Shortcut::A,
            stem: Stem::Auto,
            bn_momentum: 0.1,
            bn_epsilon: 1e-5,
            optimizer: OptimizerKind::Adam,
            lr: 1e-3,
            momentum: 0.9,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            schedule: Schedule::Constant,
            milestones: vec![],
            gamma: 0.1,
            warmup_steps: 0,
            warmup_lr: 0.01,
            batch_size: 64,
            epochs: 1,
            max_steps: None,
            val_size: 0,
            augment: None,
            mean_subtraction: true,
            patience: None,
            seed: 1,
            train_limit: None,
            test_limit: None,
            log_every: 10,
        }
    }
}

/// One problem with a config, tied to the field (the page shows it next to
/// that control, the CLI prints `field: message`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn err(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError { field, message: message.into() }
}

impl ExperimentConfig {
    /// The paper's CIFAR-10 recipe (Sec. 4.2): batch 128, lr 0.1 divided by 10
    /// at 32k and 48k iterations, stop at 64k, weight decay 1e-4, momentum
    /// 0.9, 45k/5k split, augmentation.
    pub fn paper_cifar(model: &str) -> Self {
        Self {
            dataset: DatasetKind::Cifar10,
            model: model.into(),
            optimizer: OptimizerKind::Momentum,
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 1e-4,
            schedule: Schedule::Multistep,
            milestones: vec![32_000, 48_000],
            gamma: 0.1,
            batch_size: 128,
            max_steps: Some(64_000),
            val_size: 5_000,
            augment: Some(true),
            ..Self::default()
        }
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("invalid experiment config: {e}"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("config serialises")
    }

    pub fn augment_enabled(&self) -> bool {
        self.augment.unwrap_or(self.dataset.is_cifar() || self.dataset == DatasetKind::Images)
    }

    /// Side of the net's square input: the dataset's (28, 32), or for your
    /// pictures `image_size`.
    pub fn input_size(&self) -> usize {
        match self.dataset {
            DatasetKind::Images => self.image_size,
            kind => kind.size(),
        }
    }

    /// Classes the net predicts: the dataset's, or for your pictures
    /// `classes` (2, the least there can be, until the pictures are imported
    /// and fill it in; `validate` refuses to train before that).
    pub fn num_classes(&self) -> usize {
        match self.dataset {
            DatasetKind::Images => self.classes.unwrap_or(images::MIN_CLASSES),
            kind => kind.num_classes(),
        }
    }

    /// How to import pictures for this config (dataset images).
    pub fn import_options(&self) -> ImportOptions {
        ImportOptions { size: self.image_size, fit: self.image_fit, test_fraction: self.test_fraction, seed: self.seed }
    }

    /// The net this config trains: its id, the dataset's input shape and
    /// class count, and the architecture switches.
    pub fn model_spec(&self) -> ModelSpec {
        ModelSpec {
            model: self.model.clone(),
            channels: self.dataset.channels(),
            size: self.input_size(),
            classes: self.num_classes(),
            shortcut: self.shortcut,
            stem: self.stem,
            bn_momentum: self.bn_momentum,
            bn_epsilon: self.bn_epsilon,
        }
    }

    /// A freshly initialised net for this config on `device`.
    pub fn build_net(&self, device: &burn::prelude::Device) -> Result<Net, String> {
        Net::new(&self.model_spec(), device)
    }

    pub fn model_id(&self) -> Result<ModelId, FieldError> {
        ModelId::parse(&self.model).map_err(|m| err("model", m))
    }

    /// Every problem at once, so a form can mark all offending controls.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        if let Err(x) = self.model_id() {
            e.push(x);
        }
        let pos = |v: f64| v.is_finite() && v > 0.0;
        if !pos(self.lr) {
            e.push(err("lr", format!("learning rate must be a positive number (got {})", self.lr)));
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            e.push(err("momentum", "momentum must be in [0, 1)"));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            e.push(err("weight_decay", "weight decay must be ≥ 0"));
        }
        if !(self.bn_momentum.is_finite() && self.bn_momentum > 0.0 && self.bn_momentum <= 1.0) {
            e.push(err(
                "bn_momentum",
                "BN momentum is the weight of the new batch and must be in (0, 1] (Keras' 0.99 is 0.01 here)",
            ));
        }
        if !(pos(self.bn_epsilon) && self.bn_epsilon < 1.0) {
            e.push(err("bn_epsilon", "BN epsilon must be in (0, 1)"));
        }
        for (field, v) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(v.is_finite() && (0.0..1.0).contains(&v)) {
                e.push(err(field, format!("{field} must be in [0, 1)")));
            }
        }
        if !(pos(self.epsilon) && self.epsilon < 1.0) {
            e.push(err("epsilon", "epsilon must be in (0, 1)"));
        }
        if !(pos(self.gamma) && self.gamma <= 1.0) {
            e.push(err("gamma", "gamma must be in (0, 1]"));
        }
        if self.schedule == Schedule::Multistep && self.milestones.is_empty() {
            e.push(err("milestones", "multistep needs at least one milestone (a step number)"));
        }
        if self.milestones.contains(&0) {
            e.push(err("milestones", "milestones are step numbers from 1 (a milestone at 0 would just be a lower lr)"));
        }
        if self.milestones.windows(2).any(|w| w[0] >= w[1]) {
            e.push(err("milestones", "milestones must be increasing"));
        }
        if self.warmup_steps > 0 && !pos(self.warmup_lr) {
            e.push(err("warmup_lr", "warm-up learning rate must be positive"));
        }
        if self.batch_size == 0 {
            e.push(err("batch_size", "batch size must be at least 1"));
        } else if self.batch_size > 4096 {
            e.push(err("batch_size", format!("batch size {} is too large (at most 4096)", self.batch_size)));
        }
        match self.max_steps {
            Some(0) => e.push(err("max_steps", "max_steps must be at least 1")),
            None if self.epochs == 0 => e.push(err("epochs", "epochs must be at least 1")),
            _ => {}
        }
        if self.epochs > 10_000 {
            e.push(err("epochs", "epochs must be at most 10000"));
        }
        if self.patience.is_some() && self.val_size == 0 {
            e.push(err("patience", "early stopping needs a validation split (val_size > 0)"));
        }
        if self.patience == Some(0) {
            e.push(err("patience", "patience must be at least 1 epoch"));
        }
        if self.log_every == 0 {
            e.push(err("log_every", "log_every must be at least 1"));
        }
        if matches!(self.train_limit, Some(n) if n == 0) {
            e.push(err("train_limit", "train_limit must be at least 1"));
        }
        if matches!(self.test_limit, Some(n) if n == 0) {
            e.push(err("test_limit", "test_limit must be at least 1"));
        }
        if let Some(n) = self.train_limit {
            if self.val_size >= n {
                e.push(err("val_size", format!("val_size ({}) must be smaller than train_limit ({n})", self.val_size)));
            }
        }
        if !images::SIZES.contains(&self.image_size) {
            e.push(err("image_size", format!("image size must be 32, 64, 96, 128 or 224 pixels (got {})", self.image_size)));
        }
        if !(self.test_fraction.is_finite() && self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            e.push(err("test_fraction", format!("the test share must be between 0 and 1, e.g. 0.2 (got {})", self.test_fraction)));
        }
        let (lo, hi) = (images::MIN_CLASSES, images::MAX_CLASSES);
        match (self.dataset, self.classes) {
            (_, Some(n)) if !(lo..=hi).contains(&n) => e.push(err("classes", format!("classes must be {lo} to {hi} (got {n})"))),
            (DatasetKind::Images, None) => e.push(err(
                "classes",
                "the class count comes from your pictures' class folders: import them first (or set classes)",
            )),
            (DatasetKind::Images, Some(_)) | (_, None) => {}
            (kind, Some(n)) if n != kind.num_classes() => e.push(err(
                "classes",
                format!("{} has {} classes, not {n} (leave classes empty for the standard sets)", kind.display_name(), kind.num_classes()),
            )),
            _ => {}
        }
        e
    }

    /// Whether `data` fits the net this config builds (channels, size,
    /// classes, and pictures for a config of pictures); if not, a sentence
    /// naming both.
    pub fn input_mismatch(&self, data: &crate::data::Dataset) -> Option<String> {
        let (c, s, k) = (self.dataset.channels(), self.input_size(), self.num_classes());
        let pictures = (self.dataset == DatasetKind::Images) != (data.kind == DatasetKind::Images);
        (pictures || data.channels() != c || data.size() != s || data.num_classes() != k).then(|| {
            format!("the config is for {} ({c}x{s}x{s}, {k} classes) but the loaded data is {}", self.dataset.id(), data.shape_text())
        })
    }

    /// Problems that only show with a dataset in hand (sizes, channels,
    /// classes).
    pub fn validate_against(&self, data: &crate::data::Dataset) -> Vec<FieldError> {
        let mut e = self.validate();
        if let Some(m) = self.input_mismatch(data) {
            // Your pictures at another size or class count: the fields to change are those.
            let field = match (self.dataset, data.kind) {
                (DatasetKind::Images, DatasetKind::Images) if data.size() != self.input_size() => "image_size",
                (DatasetKind::Images, DatasetKind::Images) => "classes",
                _ => "dataset",
            };
            e.push(err(field, m));
        }
        let train = self.train_limit.map_or(data.train.len(), |n| n.min(data.train.len()));
        if self.val_size >= train {
            e.push(err("val_size", format!("val_size ({}) leaves no training images (of {train})", self.val_size)));
        }
        e
    }
}
