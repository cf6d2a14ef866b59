//! Training-step timing with the protocol of the TF.js and PyTorch reference harnesses:
//! one synthetic seeded batch (uniform [0,1) images, random labels) made once
//! and reused, 3 warm-up steps, then timed steps, each a full train step
//! (forward, backward, update) that awaits its loss value so queued GPU work
//! has really finished; the median is reported. A per-combination time budget
//! stops a slow combination early (its median is then over fewer steps).
//!
//! Model names follow those harnesses: `resnet20` is the CIFAR ResNet-20 with
//! option-B (projection) shortcuts, as their harnesses build it; `plain20` its
//! plain twin; `mnist-cnn` our `cnn` on 28x28x1.

use burn::nn::loss::CrossEntropyLoss;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::TensorData;
use serde::Serialize;

use crate::config::{ExperimentConfig, OptimizerKind, Shortcut};
use crate::data::DatasetKind;
use crate::model::Net;
use crate::platform::now_seconds;
use crate::rng::Rng;

#[derive(Clone, Debug)]
pub struct BenchSpec {
    /// resnet20 | plain20 | mnist-cnn (or any model id, on CIFAR-sized input)
    pub model: String,
    /// sgdm (momentum 0.9, lr 0.1) | adam (lr 1e-3)
    pub optimizer: String,
    pub batch: usize,
    pub warmup: usize,
    pub steps: usize,
    /// Seconds for the whole combination, warm-up included.
    pub budget: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub model: String,
    pub optimizer: String,
    pub backend: String,
    pub batch: usize,
    /// Median of the timed steps (milliseconds); None if none ran.
    pub ms_per_step: Option<f64>,
    pub img_per_s: Option<f64>,
    pub first_step_ms: f64,
    pub step_ms: Vec<f64>,
    /// ok | partial (budget hit after some timed steps) | over budget
    pub status: String,
    pub params: usize,
}

fn experiment(spec: &BenchSpec) -> Result<ExperimentConfig, String> {
    let (model, dataset) = match spec.model.as_str() {
        "mnist-cnn" => ("cnn", DatasetKind::Mnist),
        m => (m, DatasetKind::Cifar10),
    };
    let (optimizer, lr) = match spec.optimizer.as_str() {
        "sgdm" => (OptimizerKind::Momentum, 0.1),
        "adam" => (OptimizerKind::Adam, 1e-3),
        o => return Err(format!("unknown bench optimizer '{o}' (sgdm, adam)")),
    };
    let cfg = ExperimentConfig {
        model: model.into(),
        dataset,
        shortcut: Shortcut::B,
        optimizer,
        lr,
        momentum: 0.9,
        batch_size: spec.batch,
        ..Default::default()
    };
    let problems = cfg.validate();
    if !problems.is_empty() {
        return Err(problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "));
    }
    Ok(cfg)
}

/// Time training steps of one combination on `device` (a plain device).
pub async fn run(spec: &BenchSpec, device: &Device, backend: &str) -> Result<BenchResult, String> {
    let cfg = experiment(spec)?;
    let ad = device.clone().autodiff();
    ad.seed(1234);
    let mut model = Net::from_config(&cfg, &ad)?;
    let input = [cfg.dataset.channels(), cfg.dataset.size(), cfg.dataset.size()];
    let params = crate::model::trainable_params(&model, &cfg.model, input);
    let mut optim = crate::optim::build(&cfg);
    let ce = CrossEntropyLoss::new(None, &ad);

    // The synthetic batch, made once.
    let mut rng = Rng::new(1234);
    let n = spec.batch * input.iter().product::<usize>();
    let pixels: Vec<f32> = (0..n).map(|_| rng.next_f32()).collect();
    let labels: Vec<i64> = (0..spec.batch).map(|_| rng.below(10) as i64).collect();
    let shape = [spec.batch, input[0], input[1], input[2]];
    let x = Tensor::<4>::from_data(TensorData::new(pixels, shape), &ad);
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [spec.batch]), &ad);

    let start = now_seconds();
    let (mut first_step_ms, mut times) = (0.0, Vec::new());
    let total = spec.warmup + spec.steps;
    for i in 0..total {
        let t0 = now_seconds();
        let (optim, ce, x, y) = (&mut optim, &ce, &x, &y);
        let (next, loss) = crate::platform::on_pool(move || {
            let loss = ce.forward(model.forward(x.clone()), y.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            (optim.step(cfg.lr, model, grads), loss)
        });
        model = next;
        let _: f32 = loss.into_scalar_async().await.map_err(|e| format!("read-back failed: {e:?}"))?;
        let ms = (now_seconds() - t0) * 1000.0;
        if i == 0 {
            first_step_ms = ms;
        }
        if i >= spec.warmup {
            times.push(ms);
        }
        // Stop early when the remaining steps would not fit in the budget.
        let elapsed = now_seconds() - start;
        if i + 1 < total && elapsed + ms / 1000.0 * (total - i - 1) as f64 > spec.budget && i >= 1 {
            break;
        }
    }
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    };
    let status = match times.len() {
        n if n == spec.steps => "ok",
        0 => "over budget",
        _ => "partial",
    };
    Ok(BenchResult {
        model: spec.model.clone(),
        optimizer: spec.optimizer.clone(),
        backend: backend.into(),
        batch: spec.batch,
        ms_per_step: median,
        img_per_s: median.map(|m| spec.batch as f64 * 1000.0 / m),
        first_step_ms,
        step_ms: times,
        status: status.into(),
        params,
    })
}
