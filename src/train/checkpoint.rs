//! A run's checkpoint: everything the loop needs to go on as if it had never
//! stopped — the net, the optimizer's state (momentum, Adam's moments and
//! step count), the step and epoch reached, the augmentation generator, the
//! early-stopping counters and the curves so far.
//!
//! The schedule needs nothing saved: the learning rate is a pure function of
//! the step and the run's unchanged config (`optim::lr_at`). Batches need
//! nothing either: epoch `e`'s order is drawn from `(seed, e)` alone.
//!
//! File layout:
//!
//! ```text
//! RESLABCKPT1\n                  12 bytes of magic
//! u32 little-endian H            length of the header JSON
//! H bytes                        `Progress` as JSON
//! u64 little-endian M            length of the model file
//! M bytes                        the net and its config (`model_file`, RESLABMODEL1)
//! the rest                       the optimizer state (Burn's burnpack); empty
//!                                when `Progress::optimizer_state` is false
//! ```
//!
//! The model file keeps every parameter's id, and the optimizer state is keyed
//! by those ids, so the two find each other again after loading.

use burn::optim::ModuleOptimizer;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

use super::{EarlyStop, EpochMetrics, StepPoint};
use crate::config::ExperimentConfig;
use crate::model::Net;
use crate::model_file;
use crate::optim;
use crate::rng::Rng;

pub const MAGIC: &[u8; 12] = b"RESLABCKPT1\n";

/// Where a run stood at the end of an epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Epochs completed (1-based: the checkpoint is taken at the end of this one).
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: usize,
    pub aug_rng: [u64; 4],
    /// Early stopping's best validation loss and epochs without a better one.
    pub early_best: Option<f64>,
    pub early_bad: usize,
    pub steps: Vec<StepPoint>,
    pub epochs: Vec<EpochMetrics>,
    /// Training images and seconds so far (throughput), and the run's elapsed time.
    pub train_images: usize,
    pub train_seconds: f64,
    pub elapsed: f64,
    /// Whether the optimizer state is in the file. A WebGPU engine cannot read
    /// it back while training (its read-backs are asynchronous and Burn's
    /// optimizer record is taken synchronously), so its checkpoints hold the
    /// weights only and a resume from one restarts momentum/Adam's moments.
    pub optimizer_state: bool,
}

/// A checkpoint in memory.
#[derive(Clone)]
pub struct Checkpoint {
    pub config: ExperimentConfig,
    /// The net in evaluation form (`valid()`), on the device it trained on.
    pub net: Net,
    pub optimizer: Option<ModuleOptimizer>,
    pub progress: Progress,
}

impl Checkpoint {
    pub(crate) fn early_stop(&self, patience: usize) -> EarlyStop {
        EarlyStop::restore(patience, self.progress.early_best, self.progress.early_bad)
    }

    pub(crate) fn aug_rng(&self) -> Result<Rng, String> {
        Rng::from_state(self.progress.aug_rng).ok_or_else(|| "the checkpoint's augmentation state is invalid (all zero)".to_string())
    }

    /// The optimizer to continue with: the saved state, or a fresh one if
    /// there is none.
    pub(crate) fn optimizer(&self) -> ModuleOptimizer {
        self.optimizer.clone().unwrap_or_else(|| optim::build(&self.config, None))
    }

    /// The file's bytes. `with_optimizer`: read the optimizer state back
    /// (synchronous: only on an engine that can, see [`Progress::optimizer_state`]).
    pub async fn to_bytes(&self, with_optimizer: bool) -> Result<Vec<u8>, String> {
        let model = model_file::save_model_async(&self.net, &self.config).await?;
        let optimizer = match (&self.optimizer, with_optimizer) {
            (Some(o), true) => o.into_bytes().map_err(|e| format!("saving the optimizer state: {e}"))?.to_vec(),
            _ => vec![],
        };
        let progress = Progress { optimizer_state: !optimizer.is_empty(), ..self.progress.clone() };
        let header = serde_json::to_vec(&progress).expect("progress serialises");
        let mut out = Vec::with_capacity(MAGIC.len() + 12 + header.len() + model.len() + optimizer.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&(model.len() as u64).to_le_bytes());
        out.extend_from_slice(&model);
        out.extend_from_slice(&optimizer);
        Ok(out)
    }

    /// Reads a checkpoint file; the net is built on `device` (not autodiff).
    /// Every problem is an error with a message, never a panic.
    pub fn from_bytes(bytes: &[u8], device: &burn::prelude::Device) -> Result<Self, String> {
        let rest = bytes.strip_prefix(&MAGIC[..]).ok_or("not a ResLab checkpoint (it does not start with RESLABCKPT1)")?;
        let (len, rest) = rest.split_first_chunk::<4>().ok_or("the checkpoint is truncated (it ends inside its header)")?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(format!("the checkpoint is truncated (its header needs {len} bytes, {} are left)", rest.len()));
        }
        let (header, rest) = rest.split_at(len);
        let progress: Progress =
            serde_json::from_slice(header).map_err(|e| format!("the checkpoint's header cannot be read: {e}"))?;
        let (mlen, rest) = rest.split_first_chunk::<8>().ok_or("the checkpoint is truncated (it ends before its model)")?;
        let mlen = usize::try_from(u64::from_le_bytes(*mlen)).map_err(|_| "the checkpoint's model length is too large")?;
        if rest.len() < mlen {
            return Err(format!("the checkpoint is truncated (its model needs {mlen} bytes, {} are left)", rest.len()));
        }
        let (model, optimizer) = rest.split_at(mlen);
        let (net, config) = model_file::load_model(model, device).map_err(|e| format!("the checkpoint's model: {e}"))?;
        let optimizer = match (progress.optimizer_state, optimizer.is_empty()) {
            (true, false) => Some(
                optim::build(&config, None)
                    .from_bytes(Bytes::from_bytes_vec(optimizer.to_vec()))
                    .map_err(|e| format!("the checkpoint's optimizer state cannot be read: {e}"))?,
            ),
            (true, true) => return Err("the checkpoint is truncated (its optimizer state is missing)".into()),
            (false, _) => None,
        };
        Ok(Checkpoint { config, net, optimizer, progress })
    }
}
