//! The one training loop, used by the page (in a Web Worker) and the CLI.
//!
//! It is async because every read-back from a WebGPU device is; natively it is
//! driven by `pollster`. It reads back only what a listener needs: the losses
//! of the last `log_every` steps in one transfer, the predictions of a whole
//! evaluation pass in one transfer.

mod checkpoint;
mod events;

pub use checkpoint::{Checkpoint, Progress};
pub use events::{Control, EpochMetrics, Event, RunResult, Status, StepPoint};

use burn::nn::loss::CrossEntropyLoss;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::TensorData;

use crate::backend::read_f32;
use crate::config::ExperimentConfig;
use crate::data::{self, Augment, Batcher, Dataset, ImageSet};
use crate::model::Net;
use crate::optim;
use crate::platform::{now_seconds, sleep_ms};
use crate::rng::Rng;

/// The splits a run trains and evaluates on, after limits and the seeded
/// train/validation split; `mean` is the training split's per-pixel mean.
pub struct Prepared {
    pub train: ImageSet,
    pub val: ImageSet,
    pub test: ImageSet,
    pub mean: Vec<f32>,
}

pub fn prepare(cfg: &ExperimentConfig, data: &Dataset) -> Prepared {
    let train = match cfg.train_limit {
        Some(n) => data.train.take(n),
        None => data.train.clone(),
    };
    let test = match cfg.test_limit {
        Some(n) => data.test.take(n),
        None => data.test.clone(),
    };
    let (train, val) = data::split_train_val(&train, cfg.val_size, cfg.seed);
    let mean = if cfg.mean_subtraction { data::pixel_mean(&train) } else { vec![] };
    Prepared { train, val, test, mean }
}

/// Tensors of one batch: images `[b, c, h, w]` and labels `[b]`.
fn batch_tensors(
    set: &ImageSet,
    idx: &[usize],
    mean: &[f32],
    aug: Option<(Augment, &mut Rng)>,
    device: &Device,
) -> (Tensor<4>, Tensor<1, Int>) {
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    data::fill_batch(set, idx, mean, aug, &mut pixels, &mut labels);
    let shape = [idx.len(), set.channels, set.height, set.width];
    let x = Tensor::<4>::from_data(TensorData::new(pixels, shape), device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [idx.len()]), device);
    (x, y)
}

/// Result of one pass over a split in evaluation mode.
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub predictions: Vec<usize>,
}

/// Evaluate with running BN statistics and no autodiff graph. One read-back.
pub async fn evaluate(model: &Net, set: &ImageSet, mean: &[f32], batch: usize, device: &Device) -> Result<Evaluation, String> {
    if set.is_empty() {
        return Ok(Evaluation { loss: f64::NAN, accuracy: f64::NAN, predictions: vec![] });
    }
    let model = model.valid();
    let plain = device.clone().inner();
    let ce = CrossEntropyLoss::new(None, &plain);
    let order: Vec<usize> = (0..set.len()).collect();
    let (mut losses, mut preds) = (Vec::new(), Vec::new());
    for idx in order.chunks(batch.max(1)) {
        let (x, y) = batch_tensors(set, idx, mean, None, &plain);
        let logits = model.forward(x); // [b, 10]
        losses.push(ce.forward(logits.clone(), y).mul_scalar(idx.len() as f64)); // sum over the batch
        let n = idx.len();
        preds.push(logits.argmax(1).reshape([n]));
    }
    let loss_sum: f64 = read_f32(Tensor::cat(losses, 0)).await?.iter().map(|&v| v as f64).sum();
    let predictions: Vec<usize> = read_i64(Tensor::cat(preds, 0)).await?.into_iter().map(|p| p as usize).collect();
    let correct = predictions.iter().zip(&set.labels).filter(|(p, l)| **p == **l as usize).count();
    Ok(Evaluation { loss: loss_sum / set.len() as f64, accuracy: correct as f64 / set.len() as f64, predictions })
}

/// Class probabilities (softmax of the logits) of the net for `pixels`:
/// whole pictures of `info.input`, one after the other, prepared as training
/// prepared its images (scaled to [0, 1], the pixel mean subtracted when the
/// file carries one). One row of `info.class_names.len()` values per picture.
pub async fn class_probabilities(net: &Net, info: &crate::model_file::ModelInfo, pixels: &[u8], device: &Device) -> Result<Vec<Vec<f32>>, String> {
    let [c, h, w] = info.input;
    let ppi = c * h * w;
    if ppi == 0 || pixels.len() % ppi != 0 {
        return Err(format!("{} bytes are not whole {c}x{h}x{w} pictures", pixels.len()));
    }
    let n = pixels.len() / ppi;
    let set = ImageSet { images: pixels.to_vec(), labels: vec![0; n], channels: c, height: h, width: w };
    let mean = info.pixel_mean.as_deref().unwrap_or(&[]);
    let plain = device.clone().inner();
    let model = net.valid();
    let order: Vec<usize> = (0..n).collect();
    let mut out = Vec::with_capacity(n);
    for idx in order.chunks(64) {
        let (x, _) = batch_tensors(&set, idx, mean, None, &plain);
        let p = burn::tensor::activation::softmax(model.forward(x), 1);
        let k = p.dims()[1];
        let flat = read_f32(p.reshape([idx.len() * k])).await?;
        out.extend(flat.chunks(k.max(1)).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// What the net makes of one picture (`info.input`, channel-major bytes,
/// prepared as [`class_probabilities`] prepares it): its class probabilities
/// and, when `maps`, the feature maps of every convolution stage.
pub async fn look_inside(
    net: &Net,
    info: &crate::model_file::ModelInfo,
    pixels: &[u8],
    maps: bool,
    device: &Device,
) -> Result<(Vec<f32>, Vec<crate::model::FeatureMaps>), String> {
    let [c, h, w] = info.input;
    if pixels.len() != c * h * w {
        return Err(format!("{} bytes are not one {c}x{h}x{w} picture", pixels.len()));
    }
    let set = ImageSet { images: pixels.to_vec(), labels: vec![0], channels: c, height: h, width: w };
    let mean = info.pixel_mean.as_deref().unwrap_or(&[]);
    let plain = device.clone().inner();
    let model = net.valid();
    let (x, _) = batch_tensors(&set, &[0], mean, None, &plain);
    let p = burn::tensor::activation::softmax(model.forward(x.clone()), 1);
    let k = p.dims()[1];
    let probabilities = read_f32(p.reshape([k])).await?;
    let maps = if maps { crate::model::feature_maps(&model, x).await? } else { vec![] };
    Ok((probabilities, maps))
}

async fn read_i64(t: Tensor<1, Int>) -> Result<Vec<i64>, String> {
    let data = t.into_data_async().await.map_err(|e| format!("device read-back failed: {e:?}"))?;
    data.convert::<i64>().try_into_vec::<i64>().map_err(|e| format!("{e:?}"))
}

/// Whether `net` has the architecture `cfg` builds: the same parameter names
/// and shapes (so continuing with a net of another model, dataset, shortcut
/// or stem is refused with a message instead of failing inside a layer).
pub fn check_architecture(net: &Net, cfg: &ExperimentConfig) -> Result<(), String> {
    let fresh = cfg.build_net(&crate::backend::cpu_device())?;
    let (want, have) = (param_shapes(&fresh), param_shapes(net));
    if want != have {
        let diff = want.iter().zip(&have).find(|(a, b)| a != b).map(|(a, b)| format!(" (first difference: {} {:?} vs {} {:?})", a.0, a.1, b.0, b.1));
        return Err(format!(
            "the initial model does not match the config's architecture ({} on {}, shortcut {:?}, stem {:?}): {} vs {} parameter tensors{}",
            cfg.model,
            cfg.dataset.id(),
            cfg.shortcut,
            cfg.stem,
            want.len(),
            have.len(),
            diff.unwrap_or_default()
        ));
    }
    Ok(())
}

/// Module paths and shapes of the float parameters, without reading any
/// values (lazy parameters stay lazy).
fn param_shapes(net: &Net) -> Vec<(String, Vec<usize>)> {
    use burn::module::{Module, ModuleVisitor, Param};
    #[derive(Default)]
    struct Shapes {
        path: Vec<String>,
        out: Vec<(String, Vec<usize>)>,
    }
    impl ModuleVisitor for Shapes {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.out.push((self.path.join("."), param.lazy_shape().to_vec()));
        }
    }
    let mut v = Shapes::default();
    net.visit(&mut v);
    v.out
}

/// What a model file should carry about a run of `cfg` on `data`: the
/// class names, and the per-pixel mean its training subtracts (of the same
/// training images as [`prepare`]'s, without copying them).
pub fn model_info(cfg: &ExperimentConfig, data: &Dataset) -> crate::model_file::ModelInfo {
    let n = cfg.train_limit.map_or(data.train.len(), |n| n.min(data.train.len()));
    let mean = if cfg.mean_subtraction {
        let (train, _) = data::split_indices(n, cfg.val_size, cfg.seed);
        data::pixel_mean_of(&data.train, &train)
    } else {
        vec![]
    };
    crate::model_file::ModelInfo::new(cfg, data.class_names.clone(), Some(mean))
}

/// A net's figures on the test split, as a run reports them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TestReport {
    pub test_accuracy: f64,
    pub test_loss: f64,
    pub confusion_matrix: Vec<Vec<usize>>,
    pub per_class_accuracy: Vec<Option<f64>>,
    pub test_predictions: Vec<usize>,
}

/// Evaluate `net` on the test split of `data` exactly as a run of `cfg` does
/// at its end: `test_limit`, and the training split's mean subtracted (the
/// mean of the same training images and validation split as the run's), so
/// the numbers match the run's result.
pub async fn evaluate_test(net: &Net, cfg: &ExperimentConfig, data: &Dataset, device: &Device) -> Result<TestReport, String> {
    if let Some(m) = cfg.input_mismatch(data) {
        return Err(format!("the model is for {} images but the dataset is {} ({m})", cfg.dataset.display_name(), data.kind.display_name()));
    }
    check_architecture(net, cfg)?;
    let prep = prepare(cfg, data);
    if prep.test.is_empty() {
        return Err("the dataset has no test images".into());
    }
    let ev = evaluate(net, &prep.test, &prep.mean, cfg.batch_size, device).await?;
    let (confusion_matrix, per_class_accuracy) = confusion(&prep.test.labels, &ev.predictions, data.num_classes());
    Ok(TestReport {
        test_accuracy: ev.accuracy,
        test_loss: ev.loss,
        confusion_matrix,
        per_class_accuracy,
        test_predictions: ev.predictions,
    })
}

/// A cross-entropy above this has diverged even while it is still finite:
/// chance level is ln(classes) ≈ 2.3, so 1000 means logits hundreds of units
/// wrong (Adam at lr = 10 bounces around 1e6 without ever reaching NaN).
pub const DIVERGED_LOSS: f32 = 1000.0;

/// Early stopping on the validation loss (seed 002 used patience 2).
pub struct EarlyStop {
    pub patience: usize,
    best: f64,
    bad: usize,
}

impl EarlyStop {
    pub fn new(patience: usize) -> Self {
        Self { patience, best: f64::INFINITY, bad: 0 }
    }

    /// The state a checkpoint kept (`best` is `None` before any epoch).
    pub(crate) fn restore(patience: usize, best: Option<f64>, bad: usize) -> Self {
        Self { patience, best: best.unwrap_or(f64::INFINITY), bad }
    }

    /// Best validation loss so far and epochs since, for a checkpoint.
    pub(crate) fn state(&self) -> (Option<f64>, usize) {
        (self.best.is_finite().then_some(self.best), self.bad)
    }

    /// Feed one epoch's validation loss; true when the run should stop.
    pub fn should_stop(&mut self, val_loss: f64) -> bool {
        if val_loss < self.best {
            self.best = val_loss;
            self.bad = 0;
        } else {
            self.bad += 1;
        }
        self.bad >= self.patience
    }
}

/// Confusion matrix `[true][predicted]` and per-class accuracy.
pub fn confusion(labels: &[u16], predictions: &[usize], classes: usize) -> (Vec<Vec<usize>>, Vec<Option<f64>>) {
    let mut m = vec![vec![0usize; classes]; classes];
    for (&l, &p) in labels.iter().zip(predictions) {
        if (l as usize) < classes && p < classes {
            m[l as usize][p] += 1;
        }
    }
    let per_class = m
        .iter()
        .enumerate()
        .map(|(c, row)| {
            let n: usize = row.iter().sum();
            (n > 0).then(|| row[c] as f64 / n as f64)
        })
        .collect();
    (m, per_class)
}

/// How a run begins.
pub enum Start {
    /// A fresh initialisation from the config's seed.
    Fresh,
    /// The weights of a trained or loaded net (which must have the config's
    /// architecture, checked), with a fresh optimizer and the schedule from
    /// step 0: fine-tuning, not continuing.
    Weights(Net),
    /// The same run, continued from its checkpoint: the result is the one an
    /// uninterrupted run would have given (same batches, augmentation,
    /// learning rates and optimizer state). The config must be the run's own.
    Resume(Checkpoint),
}

/// Train a model as the config says, reporting to `on_event`.
///
/// `device` is a plain (non-autodiff) device: Flex or wgpu. The result always
/// comes back, whatever happened: a bad config, divergence, a stop, a failed
/// read-back all end as a `RunResult` with a status and a message, and the
/// curves so far.
pub async fn train(
    cfg: &ExperimentConfig,
    data: &Dataset,
    device: &Device,
    backend: &str,
    control: &Control,
    on_event: &mut dyn FnMut(&Event),
) -> RunResult {
    train_checkpointed(cfg, data, device, backend, control, on_event, Start::Fresh, &mut |_| {}).await
}

/// [`train`], continuing from `init` (a trained or loaded net) instead of a
/// fresh initialisation: [`Start::Weights`].
pub async fn train_from(
    cfg: &ExperimentConfig,
    data: &Dataset,
    device: &Device,
    backend: &str,
    control: &Control,
    on_event: &mut dyn FnMut(&Event),
    init: Option<Net>,
) -> RunResult {
    let start = init.map_or(Start::Fresh, Start::Weights);
    train_checkpointed(cfg, data, device, backend, control, on_event, start, &mut |_| {}).await
}

/// [`train`] from `start`, handing a [`Checkpoint`] to `on_checkpoint` at the
/// end of every epoch (after its `Epoch` event), so a caller can keep it: the
/// page saves it, and a run cut off by a reload resumes from there.
#[allow(clippy::too_many_arguments)]
pub async fn train_checkpointed(
    cfg: &ExperimentConfig,
    data: &Dataset,
    device: &Device,
    backend: &str,
    control: &Control,
    on_event: &mut dyn FnMut(&Event),
    start: Start,
    on_checkpoint: &mut dyn FnMut(Checkpoint),
) -> RunResult {
    let started = now_seconds();
    let mut result = RunResult::new(cfg.clone(), backend);
    result.class_names = data.class_names.clone();
    let mut problems: Vec<String> = cfg.validate_against(data).iter().map(|p| p.to_string()).collect();
    if let Start::Resume(ck) = &start {
        if let Some(field) = first_difference(&ck.config, cfg) {
            problems.push(format!("the checkpoint belongs to another run ({field} differs); a resume continues the same run"));
        }
    }
    if !problems.is_empty() {
        return result.end(Status::Failed, problems.join("; "), started, on_event);
    }
    match train_inner(cfg, data, device, control, on_event, &mut result, start, on_checkpoint).await {
        Ok((status, msg)) => result.end(status, msg, started, on_event),
        Err(msg) => result.end(Status::Failed, msg, started, on_event),
    }
}

/// The first config field whose value differs, if any.
fn first_difference(a: &ExperimentConfig, b: &ExperimentConfig) -> Option<String> {
    let (serde_json::Value::Object(a), serde_json::Value::Object(b)) =
        (serde_json::to_value(a).expect("config serialises"), serde_json::to_value(b).expect("config serialises"))
    else {
        unreachable!("a config serialises as an object")
    };
    a.iter().find(|(k, v)| b.get(*k) != Some(v)).map(|(k, _)| k.clone())
}

#[allow(clippy::too_many_arguments)]
async fn train_inner(
    cfg: &ExperimentConfig,
    data: &Dataset,
    device: &Device,
    control: &Control,
    on_event: &mut dyn FnMut(&Event),
    result: &mut RunResult,
    start: Start,
    on_checkpoint: &mut dyn FnMut(Checkpoint),
) -> Result<(Status, String), String> {
    let prep = prepare(cfg, data);
    result.pixel_mean = prep.mean.clone();
    device.seed(cfg.seed);
    let ad = device.clone().autodiff();
    // valid() then train(): whatever state a given net was kept in, it comes
    // back as a fresh autodiff leaf on this device (its parameter ids kept,
    // which the optimizer state of a checkpoint is keyed by).
    let onto_device = |net: Net| -> Result<Net, String> {
        check_architecture(&net, cfg)?;
        Ok(net.valid().to_device(&device.clone().inner()).train())
    };
    let mut resumed: Option<Checkpoint> = None;
    let mut model = match start {
        Start::Fresh => cfg.build_net(&ad)?,
        Start::Weights(net) => onto_device(net)?,
        Start::Resume(ck) => {
            let net = onto_device(ck.net.clone())?;
            resumed = Some(ck);
            net
        }
    };
    // On a GPU, the parameters where their gradients will be, so the first
    // optimizer update is the steady one (model/layout.rs).
    model = model.lay_out_like_gradients(&ad, cfg.model_spec().input());
    let mut optimizer = resumed.as_ref().map_or_else(|| optim::build(cfg, Some(&model)), Checkpoint::optimizer);
    model.settle().await?;
    let ce = CrossEntropyLoss::new(None, &ad);
    let input = cfg.model_spec().input();
    result.params = crate::model::trainable_params(&model, &cfg.model, input);

    let mut batcher = Batcher::new(prep.train.len(), cfg.batch_size, true, cfg.seed);
    let per_epoch = batcher.batches_per_epoch();
    let total = cfg.max_steps.unwrap_or(cfg.epochs * per_epoch);
    let epochs = total.div_ceil(per_epoch);
    let augment = cfg.augment_enabled().then_some(Augment::PAPER);
    let mut aug_rng = Rng::new(cfg.seed ^ 0x5EED_A06);
    let (mut step, mut train_images, mut train_seconds) = (0usize, 0usize, 0.0f64);
    let mut early = cfg.patience.map(EarlyStop::new);
    let mut first_epoch = 1;
    if let Some(ck) = &resumed {
        let p = &ck.progress;
        aug_rng = ck.aug_rng()?;
        early = cfg.patience.map(|n| ck.early_stop(n));
        (step, train_images, train_seconds, first_epoch) = (p.step, p.train_images, p.train_seconds, p.epoch + 1);
        result.steps = p.steps.clone();
        result.epochs = p.epochs.clone();
        result.started_at = now_seconds() - p.elapsed;
    }
    on_event(&Event::Start {
        total_steps: total,
        steps_per_epoch: per_epoch,
        epochs,
        params: result.params,
        train: prep.train.len(),
        val: prep.val.len(),
        test: prep.test.len(),
        resumed_at: resumed.as_ref().map(|ck| (ck.progress.epoch, ck.progress.step)),
        optimizer_state: resumed.as_ref().is_none_or(|ck| ck.optimizer.is_some()),
    });
    drop(resumed);

    let mut stop: Option<(Status, String)> = None;
    'epochs: for epoch in first_epoch..=epochs {
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        let mut pending: Vec<(usize, usize, Tensor<1>, Tensor<1, Int>)> = Vec::new();
        let batches = batcher.epoch(epoch - 1);
        let mut t0 = now_seconds();
        for (i, idx) in batches.iter().enumerate() {
            if step >= total {
                break;
            }
            if let Some(s) = control.wait_if_paused(on_event).await {
                stop = Some(s);
                break 'epochs;
            }
            let lr = optim::lr_at(cfg, step, total);
            let aug = augment.map(|a| (a, &mut aug_rng));
            let (x, y) = batch_tensors(&prep.train, idx, &prep.mean, aug, &ad);
            let n = idx.len();
            // The step's compute, on a pool thread in the browser's threaded engine (see `on_pool`).
            let (opt, ce) = (&mut optimizer, &ce);
            let (next, loss, hits) = crate::platform::on_pool(move || {
                let logits = model.forward(x); // [b, 10]
                let loss = ce.forward(logits.clone(), y.clone()); // [1]
                let hits = logits.argmax(1).reshape([n]).equal(y).int().sum(); // [1]
                let kept = loss.clone().detach();
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                (opt.step(lr, model, grads), kept, hits)
            });
            model = next;
            // The step's last operations go to the device now: a fused backend
            // would otherwise hold the update back to fuse it with the next
            // step, and compile it then.
            let _ = ad.flush();
            pending.push((step + 1, n, loss, hits));
            step += 1;
            train_images += n;

            let last = i + 1 == batches.len() || step >= total;
            if pending.len() >= cfg.log_every || last {
                // One read-back for the whole group of steps.
                let steps: Vec<(usize, usize)> = pending.iter().map(|p| (p.0, p.1)).collect();
                let (losses, hits): (Vec<_>, Vec<_>) = pending.drain(..).map(|p| (p.2, p.3)).unzip();
                let losses = read_f32(Tensor::cat(losses, 0)).await?;
                let hits = read_i64(Tensor::cat(hits, 0)).await?;
                let t1 = now_seconds();
                train_seconds += t1 - t0;
                t0 = t1;
                let mut points = Vec::with_capacity(steps.len());
                let mut diverged = None;
                for (((s, n), l), h) in steps.iter().zip(&losses).zip(&hits) {
                    if !l.is_finite() {
                        diverged = Some(format!("diverged at step {s} (loss is {l})"));
                        break;
                    }
                    if *l > DIVERGED_LOSS {
                        diverged = Some(format!("diverged at step {s} (loss is {l:.3e}, above {DIVERGED_LOSS})"));
                        break;
                    }
                    loss_sum += *l as f64 * *n as f64;
                    correct += *h as usize;
                    seen += n;
                    points.push(StepPoint { step: *s, loss: *l });
                }
                // The steps before a divergence are kept and drawn.
                result.steps.extend(points.iter().cloned());
                let img_per_s = if train_seconds > 0.0 { train_images as f64 / train_seconds } else { 0.0 };
                let train_accuracy = correct as f64 / seen.max(1) as f64;
                if !points.is_empty() {
                    on_event(&Event::Steps { points, epoch, train_accuracy, img_per_s, elapsed: now_seconds() - result.started_at, lr });
                }
                if let Some(msg) = diverged {
                    return Ok((Status::Diverged, msg));
                }
            }
            // Give the worker's event loop a turn (pause/stop messages).
            sleep_ms(0).await;
        }
        // Epoch metrics: training figures are averages over the epoch's
        // batches in training mode (as Keras reports them).
        let mut m = EpochMetrics {
            epoch,
            train_loss: loss_sum / seen.max(1) as f64,
            train_accuracy: correct as f64 / seen.max(1) as f64,
            val_loss: None,
            val_accuracy: None,
            elapsed: 0.0,
        };
        if !prep.val.is_empty() {
            let ev = evaluate(&model, &prep.val, &prep.mean, cfg.batch_size, device).await?;
            m.val_loss = Some(ev.loss);
            m.val_accuracy = Some(ev.accuracy);
        }
        m.elapsed = now_seconds() - result.started_at;
        on_event(&Event::Epoch(m.clone()));
        result.epochs.push(m.clone());
        let early_stop = match (early.as_mut(), m.val_loss) {
            (Some(es), Some(vl)) => es.should_stop(vl).then(|| {
                let p = es.patience;
                (Status::Finished, format!("early stop after epoch {epoch}: no better validation loss for {p} epochs"))
            }),
            _ => None,
        };
        let (early_best, early_bad) = early.as_ref().map_or((None, 0), EarlyStop::state);
        on_checkpoint(Checkpoint {
            config: cfg.clone(),
            net: model.valid(),
            optimizer: Some(optimizer.clone()),
            progress: Progress {
                epoch,
                step,
                aug_rng: aug_rng.state(),
                early_best,
                early_bad,
                steps: result.steps.clone(),
                epochs: result.epochs.clone(),
                train_images,
                train_seconds,
                elapsed: m.elapsed,
                optimizer_state: true,
            },
        });
        if early_stop.is_some() {
            stop = early_stop;
            break;
        }
        if step >= total {
            break;
        }
    }
    result.steps_done = step;
    result.img_per_s = if train_seconds > 0.0 { train_images as f64 / train_seconds } else { 0.0 };

    // The test set is evaluated even after a stop: a stopped run still shows
    // how far it got.
    let ev = evaluate(&model, &prep.test, &prep.mean, cfg.batch_size, device).await?;
    let (cm, per_class) = confusion(&prep.test.labels, &ev.predictions, data.num_classes());
    result.test_loss = Some(ev.loss);
    result.test_accuracy = Some(ev.accuracy);
    result.confusion_matrix = cm;
    result.per_class_accuracy = per_class;
    result.test_predictions = ev.predictions;
    result.model = Some(model);
    Ok(stop.unwrap_or((Status::Finished, format!("finished after {step} steps"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_stop_counts_epochs_without_improvement() {
        let mut es = EarlyStop::new(2);
        assert!(!es.should_stop(1.0));
        assert!(!es.should_stop(0.8));
        assert!(!es.should_stop(0.9)); // 1 bad epoch
        assert!(!es.should_stop(0.7)); // improvement resets
        assert!(!es.should_stop(0.7)); // equal is not better: 1
        assert!(es.should_stop(0.75)); // 2 → stop
    }

    #[test]
    fn confusion_matrix_and_per_class() {
        let (m, pc) = confusion(&[0, 0, 1, 2], &[0, 1, 1, 1], 3);
        assert_eq!(m, vec![vec![1, 1, 0], vec![0, 1, 0], vec![0, 1, 0]]);
        assert_eq!(pc, vec![Some(0.5), Some(1.0), Some(0.0)]);
        let (_, pc) = confusion(&[0], &[0], 2);
        assert_eq!(pc[1], None);
    }
}
