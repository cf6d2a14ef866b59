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
    /// When > 0, train on to this many steps (whatever warm-up and timed
    /// steps need) and sample memory at step 100 and at this step: a leak
    /// of device buffers or wasm heap shows as growth between the two.
    pub memory_steps: usize,
}

/// Memory after a step (its loss read back, so its work has finished).
#[derive(Clone, Debug, Serialize)]
pub struct MemorySample {
    pub step: usize,
    /// The wasm module's linear memory (it only grows); None natively.
    pub wasm_bytes: Option<u64>,
    /// In the browser: the engine's heap in use (what the allocator handed
    /// out and did not get back; the memory above is its high-water mark).
    pub heap_bytes: Option<u64>,
    /// Natively (Linux): the process's resident memory (VmRSS).
    pub process_rss_bytes: Option<u64>,
    /// What the device's allocator holds for live tensors, and in all
    /// (pages kept for reuse included); None on a backend that does not say
    /// (Flex, the CPU backend, allocates from the wasm heap above).
    pub device_bytes_in_use: Option<u64>,
    pub device_bytes_reserved: Option<u64>,
}

fn memory_sample(step: usize, device: &Device) -> MemorySample {
    #[cfg(target_family = "wasm")]
    let wasm_bytes = Some(core::arch::wasm32::memory_size(0) as u64 * 65_536);
    #[cfg(not(target_family = "wasm"))]
    let wasm_bytes = None;
    // VmRSS in /proc/self/status, "VmRSS:   123456 kB"; absent off Linux.
    let process_rss_bytes = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    });
    let usage = device.memory_pool_usage();
    MemorySample {
        step,
        wasm_bytes,
        heap_bytes: crate::platform::heap_in_use(),
        process_rss_bytes,
        device_bytes_in_use: usage.as_ref().map(|u| u.bytes_in_use),
        device_bytes_reserved: usage.map(|u| u.bytes_reserved),
    }
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
    /// With `memory_steps`: samples after step 100 and after the last step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub memory: Vec<MemorySample>,
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
    run_observed(spec, device, backend, &mut |_| {}).await
}

/// [`run`], calling `after_step(i)` once step `i` (0-based, warm-up
/// included) has finished, its loss read back: the page's measuring mode
/// counts what each step asked of the GPU between two calls.
pub async fn run_observed(spec: &BenchSpec, device: &Device, backend: &str, after_step: &mut dyn FnMut(usize)) -> Result<BenchResult, String> {
    let cfg = experiment(spec)?;
    time_steps(&cfg, spec, device, backend, after_step).await
}

/// Time training steps of a run's own config (its net, dataset shape, batch
/// size and optimizer) on synthetic data: how the page measures this
/// machine's speed before a study, to say how long the study will take.
/// `spec.model`/`spec.optimizer` only label the result.
pub async fn run_config(cfg: &ExperimentConfig, warmup: usize, steps: usize, budget: f64, device: &Device, backend: &str) -> Result<BenchResult, String> {
    let problems = cfg.validate();
    if !problems.is_empty() {
        return Err(problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "));
    }
    let spec = BenchSpec {
        model: cfg.model.clone(),
        optimizer: cfg.optimizer.id().into(),
        batch: cfg.batch_size,
        warmup,
        steps,
        budget,
        memory_steps: 0,
    };
    time_steps(cfg, &spec, device, backend, &mut |_| {}).await
}

async fn time_steps(
    cfg: &ExperimentConfig,
    spec: &BenchSpec,
    device: &Device,
    backend: &str,
    after_step: &mut dyn FnMut(usize),
) -> Result<BenchResult, String> {
    let cfg = cfg.clone();
    let ad = device.clone().autodiff();
    ad.seed(1234);
    let model = cfg.build_net(&ad)?;
    let input = cfg.model_spec().input();
    let params = crate::model::trainable_params(&model, &cfg.model, input);
    // On a GPU, the parameters where their gradients will be (model/layout.rs).
    let mut model = model.lay_out_like_gradients(&ad, input);
    let mut optim = crate::optim::build(&cfg, Some(&model));
    let ce = CrossEntropyLoss::new(None, &ad);

    // The synthetic batch, made once.
    let mut rng = Rng::new(1234);
    let n = spec.batch * input.iter().product::<usize>();
    let pixels: Vec<f32> = (0..n).map(|_| rng.next_f32()).collect();
    // Labels of the net's own classes (a picture set may have 2, or 1,000).
    let labels: Vec<i64> = (0..spec.batch).map(|_| rng.below(cfg.num_classes()) as i64).collect();
    let shape = [spec.batch, input[0], input[1], input[2]];
    let upload = || {
        let x = Tensor::<4>::from_data(TensorData::new(pixels.clone(), shape), &ad);
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels.clone(), [spec.batch]), &ad);
        (x, y)
    };
    let (mut x, mut y) = upload();
    // The first step starts on an empty queue, as every later one (Net::settle).
    model.settle().await?;

    let start = now_seconds();
    let (mut first_step_ms, mut times, mut memory) = (0.0, Vec::new(), Vec::new());
    let total = (spec.warmup + spec.steps).max(spec.memory_steps);
    let sample_at = [spec.memory_steps.min(100), spec.memory_steps];
    for i in 0..total {
        // Past the timed steps of a memory run, the batch is uploaded anew each
        // step, as training does with every new batch: a leaked upload shows.
        if i >= spec.warmup + spec.steps {
            (x, y) = upload();
        }
        let t0 = now_seconds();
        let (optim, ce, x, y) = (&mut optim, &ce, &x, &y);
        let (next, loss) = crate::platform::on_pool(move || {
            let loss = ce.forward(model.forward(x.clone()), y.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            (optim.step(cfg.lr, model, grads), loss)
        });
        model = next;
        // As training does (train/mod.rs): the update runs in its own step.
        let _ = ad.flush();
        let _: f32 = loss.into_scalar_async().await.map_err(|e| format!("read-back failed: {e:?}"))?;
        let ms = (now_seconds() - t0) * 1000.0;
        after_step(i);
        if i == 0 {
            first_step_ms = ms;
        }
        if i >= spec.warmup && times.len() < spec.steps {
            times.push(ms);
        }
        if spec.memory_steps > 0 && sample_at.contains(&(i + 1)) && memory.last().is_none_or(|m: &MemorySample| m.step != i + 1) {
            memory.push(memory_sample(i + 1, device));
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
        _ if spec.memory_steps > 0 && memory.last().is_none_or(|m| m.step != spec.memory_steps) => "partial",
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
        memory,
    })
}
