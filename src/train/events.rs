//! What the loop tells its listener, how it is steered, and what a run leaves
//! behind (the result JSON shared by the page and the CLI).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::{Deserialize, Serialize};

use crate::config::ExperimentConfig;
use crate::model::Net;
use crate::platform::{now_seconds, sleep_ms};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Finished,
    Diverged,
    Stopped,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepPoint {
    pub step: usize,
    pub loss: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    /// Seconds since the run started.
    pub elapsed: f64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    /// `resumed_at`: `(epoch, step)` of the checkpoint a resumed run goes on
    /// from (its curves up to there come with the result); `optimizer_state`:
    /// false when that checkpoint had no optimizer state (momentum restarts).
    Start {
        total_steps: usize,
        steps_per_epoch: usize,
        epochs: usize,
        params: usize,
        train: usize,
        val: usize,
        test: usize,
        resumed_at: Option<(usize, usize)>,
        optimizer_state: bool,
    },
    /// A group of steps read back at once.
    /// `train_accuracy`: running top-1 over the epoch's batches so far.
    Steps { points: Vec<StepPoint>, epoch: usize, train_accuracy: f64, img_per_s: f64, elapsed: f64, lr: f64 },
    Epoch(EpochMetrics),
    Paused,
    Resumed,
    Finished { status: Status, message: String, test_accuracy: Option<f64>, test_loss: Option<f64> },
}

impl Event {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("events serialise")
    }
}

/// Pause/resume/stop flags, shared between the loop and whoever steers it
/// (the worker's message handler, the CLI's Ctrl-C).
#[derive(Clone, Default)]
pub struct Control(Arc<AtomicU8>);

const RUNNING: u8 = 0;
const PAUSED: u8 = 1;
const STOPPED: u8 = 2;

impl Control {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn pause(&self) {
        let _ = self.0.compare_exchange(RUNNING, PAUSED, Ordering::SeqCst, Ordering::SeqCst);
    }
    pub fn resume(&self) {
        let _ = self.0.compare_exchange(PAUSED, RUNNING, Ordering::SeqCst, Ordering::SeqCst);
    }
    pub fn stop(&self) {
        self.0.store(STOPPED, Ordering::SeqCst);
    }
    pub fn is_paused(&self) -> bool {
        self.0.load(Ordering::SeqCst) == PAUSED
    }
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst) == STOPPED
    }

    /// Returns a status to end the run with, if it was stopped; waits while paused.
    pub(crate) async fn wait_if_paused(&self, on_event: &mut dyn FnMut(&Event)) -> Option<(Status, String)> {
        if self.is_paused() {
            on_event(&Event::Paused);
            while self.is_paused() {
                sleep_ms(100).await;
            }
            if !self.is_stopped() {
                on_event(&Event::Resumed);
            }
        }
        self.is_stopped().then(|| (Status::Stopped, "stopped by the user".to_string()))
    }
}

/// Everything a run produced. Serialised as the result JSON (the CLI writes
/// it, the page keeps and exports it).
#[derive(Debug, Serialize, Deserialize)]
pub struct RunResult {
    pub config: ExperimentConfig,
    /// The dataset's classes in label order: what the confusion matrix's
    /// rows and the predictions' numbers stand for ("cat", "dog", …).
    #[serde(default)]
    pub class_names: Vec<String>,
    pub status: Status,
    pub message: String,
    pub backend: String,
    pub params: usize,
    pub epochs: Vec<EpochMetrics>,
    pub steps: Vec<StepPoint>,
    pub steps_done: usize,
    pub test_loss: Option<f64>,
    /// Fraction 0..1.
    pub test_accuracy: Option<f64>,
    pub best_val_accuracy: Option<f64>,
    pub final_val_accuracy: Option<f64>,
    /// `None` for a class absent from the test split.
    pub per_class_accuracy: Vec<Option<f64>>,
    /// `[true class][predicted class]`
    pub confusion_matrix: Vec<Vec<usize>>,
    /// Predicted class of each test image, in test-set order.
    pub test_predictions: Vec<usize>,
    pub wall_seconds: f64,
    /// Training throughput (evaluation excluded).
    pub img_per_s: f64,
    #[serde(skip)]
    pub started_at: f64,
    /// The per-pixel mean the run subtracted (empty if none): saved with the
    /// model, so that a prediction prepares a picture as training did.
    #[serde(skip)]
    pub pixel_mean: Vec<f32>,
    /// The trained model (kept in memory for saving/continuing; not in JSON).
    #[serde(skip)]
    pub model: Option<Net>,
}

impl RunResult {
    pub fn new(config: ExperimentConfig, backend: &str) -> Self {
        Self {
            config,
            class_names: vec![],
            status: Status::Failed,
            message: String::new(),
            backend: backend.into(),
            params: 0,
            epochs: vec![],
            steps: vec![],
            steps_done: 0,
            test_loss: None,
            test_accuracy: None,
            best_val_accuracy: None,
            final_val_accuracy: None,
            per_class_accuracy: vec![],
            confusion_matrix: vec![],
            test_predictions: vec![],
            wall_seconds: 0.0,
            img_per_s: 0.0,
            started_at: now_seconds(),
            pixel_mean: vec![],
            model: None,
        }
    }

    pub(crate) fn end(mut self, status: Status, message: String, started: f64, on_event: &mut dyn FnMut(&Event)) -> Self {
        self.status = status;
        self.message = message;
        self.wall_seconds = now_seconds() - started;
        let vals = self.epochs.iter().filter_map(|e| e.val_accuracy);
        self.best_val_accuracy = vals.clone().reduce(f64::max);
        self.final_val_accuracy = vals.last();
        if self.steps_done == 0 {
            self.steps_done = self.steps.last().map_or(0, |p| p.step);
        }
        on_event(&Event::Finished {
            status: self.status,
            message: self.message.clone(),
            test_accuracy: self.test_accuracy,
            test_loss: self.test_loss,
        });
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("results serialise")
    }

    /// What the trained model's file should carry: the classes and the
    /// pixel mean of this run.
    pub fn model_info(&self) -> crate::model_file::ModelInfo {
        crate::model_file::ModelInfo::new(&self.config, self.class_names.clone(), Some(self.pixel_mean.clone()))
    }
}
